"""Story clustering: linking near-duplicate articles (syndicated, lightly edited copies) to one story.

Runs inside the batch load's transaction: it reads and writes the
`story_signatures` / `story_bands` index and the articles' `duplicate_of`,
and marks the entities whose stories changed in the load's `touched` table.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from extractors.grouping import connected_groups
from extractors.near_duplicates import StoryMember, matching_pairs, representative, signature_bands
from warehouse.frames import frames, strings
from warehouse.records import CleanedDocument

def link_near_duplicates(con: duckdb.DuckDBPyConnection, cleaned: list[CleanedDocument]) -> None:
    """Store the batch's story signatures and link copies of one story to its earliest article.

    Candidates share an LSH band with a stored or batch article and are kept
    when their MinHash similarity reaches the threshold. Each match stands
    for its whole story, so stories merge; the representative is the
    earliest article (by publication, then first seen, then id), whatever order runs and
    batches brought them in.
    """
    signed = [d for d in cleaned if d.signature]
    if not signed:
        return
    signatures = {d.article_id: d.signature for d in signed}
    bands = [(key, d.article_id) for d in signed for key in signature_bands(d.signature)]
    tables = {
        "new_signatures": pd.DataFrame({"article_id": strings(signatures),
                                        "minhash": [list(sig) for sig in signatures.values()]}),
        "new_bands": pd.DataFrame({"band_key": pd.array([k for k, _ in bands], dtype="int64"),
                                   "article_id": strings(a for _, a in bands)}),
    }
    with frames(con, **tables):
        con.execute("INSERT INTO story_signatures SELECT article_id, minhash::UINTEGER[] FROM new_signatures")
        con.execute("INSERT INTO story_bands SELECT band_key, article_id FROM new_bands")
        candidates = con.execute(
            "SELECT DISTINCT n.article_id, s.article_id FROM new_bands n JOIN story_bands s USING (band_key)"
            " WHERE s.article_id <> n.article_id"
        ).fetchall()
    if not candidates:
        return
    others = pd.DataFrame({"article_id": strings({b for _, b in candidates} - signatures.keys())})
    with frames(con, others=others):
        signatures.update(con.execute(
            "SELECT article_id, minhash FROM story_signatures JOIN others USING (article_id)"
        ).fetchall())
    matches = matching_pairs(candidates, signatures)
    if not matches:
        return
    involved = pd.DataFrame({"article_id": strings({x for pair in matches for x in pair})})
    with frames(con, involved=involved):
        story_of = dict(con.execute(
            "SELECT article_id, coalesce(duplicate_of, article_id) FROM articles JOIN involved USING (article_id)"
        ).fetchall())
    stories = [g for g in connected_groups((story_of[a], story_of[b]) for a, b in matches) if len(g) > 1]
    heads = pd.DataFrame({"article_id": strings(story for group in stories for story in group)})
    with frames(con, heads=heads):
        dated = {aid: (published, first_seen) for aid, published, first_seen in con.execute(
            "SELECT article_id, published_at, first_seen_at FROM articles JOIN heads USING (article_id)"
        ).fetchall()}
    moves = [(story, head) for group in stories
             for head in [representative([StoryMember(story, *dated.get(story, (None, None))) for story in group])]
             for story in sorted(group - {head})]
    frame = pd.DataFrame({"story": strings(s for s, _ in moves), "head": strings(h for _, h in moves)})
    with frames(con, moves=frame):
        con.execute(
            "UPDATE articles SET duplicate_of = m.head,"
            " duplicate_kind = CASE WHEN articles.article_id = m.story THEN 'near' ELSE articles.duplicate_kind END"
            " FROM moves m WHERE articles.article_id = m.story OR articles.duplicate_of = m.story"
        )
        con.execute(  # their entities now share stories: recount them at commit
            "INSERT INTO touched SELECT DISTINCT m.entity_id FROM entity_mentions m JOIN articles a USING (article_id)"
            " WHERE a.duplicate_of IN (SELECT head FROM moves) OR a.article_id IN (SELECT head FROM moves)"
        )
