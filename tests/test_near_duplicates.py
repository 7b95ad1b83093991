"""Near-duplicate stories on real article bodies from fundus-eval (MIT; a copy lives in tests/fixtures/web/pages).

Copies are made the way syndication makes them (other furniture, a new
headline, a paragraph more or less, a word changed here and there); distinct
stories are the dataset's 80 articles, pairwise, and pairs of one
publisher's articles given the same quoted sentences.
"""

import datetime as dt
import functools
import gzip
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from extractors.near_duplicates import (
    BANDS,
    NEAR_DUPLICATE_THRESHOLD,
    StoryMember,
    matching_pairs,
    representative,
    signature_bands,
    similarity,
    story_signature,
)

ROOT = Path(__file__).resolve().parent.parent
GROUND_TRUTH = ROOT / "tests" / "fixtures" / "web" / "pages" / "ground_truth.json.gz"
"""fundus-eval's ground truth (MIT, see the LICENSE beside it): the story bodies of its 80 pages."""

FURNITURE_TOP = ["Read more: Five things to know before markets open",
                 "Sign up for our morning newsletter to get the day's top stories"]
FURNITURE_END = ["Photograph: Jane Smith/Reuters",
                 "Copyright 2024 The Associated Press. All rights reserved.",
                 "Join the conversation in the comments below"]
QUOTE = ("“We will not stand by while families are forced to choose between heating their homes and feeding their "
         "children,” the minister told reporters on Tuesday. “This government has a plan, and we will see it "
         "through to the end.”")


@functools.cache
def bodies() -> dict[str, tuple[str, ...]]:
    truth = json.loads(gzip.decompress(GROUND_TRUTH.read_bytes()))
    return {key.removesuffix(".html.gz"): tuple(entry["body"]) for key, entry in sorted(truth.items())}


@functools.cache
def signature(name: str) -> tuple[int, ...]:
    return tuple(story_signature("\n\n".join(bodies()[name])))


def change_words(paragraphs: list[str], sentences: int = 3) -> list[str]:
    """One word changed in each of the first few paragraphs, as a sub-editor would."""
    edited = list(paragraphs)
    for i in range(min(sentences, len(edited))):
        words = edited[i].split()
        if len(words) > 6:
            words[len(words) // 2] = "reportedly"
        edited[i] = " ".join(words)
    return edited


EDITS = {
    "furniture": lambda p: FURNITURE_TOP + p + FURNITURE_END,
    "new headline": lambda p: ["EXCLUSIVE: What they are not telling you about this story"] + p,
    "paragraph removed": lambda p: p[:-1] if len(p) > 2 else p,
    "paragraph added": lambda p: p[: len(p) // 2] + ["Editor's note: this story has been updated with comment."] + p[len(p) // 2 :],
    "words changed": change_words,
}


def shares_band(sig_a, sig_b) -> bool:
    return any(a == b for a, b in zip(signature_bands(sig_a), signature_bands(sig_b)))


@pytest.mark.parametrize("edit", EDITS)
def test_every_article_survives_each_typical_edit(edit):
    misses = []
    for name, paragraphs in bodies().items():
        copy = story_signature("\n\n".join(EDITS[edit](list(paragraphs))))
        score = similarity(signature(name), copy)
        if score < NEAR_DUPLICATE_THRESHOLD or not shares_band(signature(name), copy):
            misses.append((name, score))
    assert not misses, f"copies with '{edit}' missed: {misses}"


def test_all_edits_at_once_on_articles_of_ordinary_length():
    """Furniture, headline, a paragraph less, one more, words changed: together on stories of 300+ words.

    Shorter wire briefs can fall under the threshold with all of these at once
    (estimated Jaccard down to 0.34): half the text differs.
    """
    scores = {}
    for name, paragraphs in bodies().items():
        if len(" ".join(paragraphs).split()) < 300:
            continue
        edited = list(paragraphs)
        for edit in ("words changed", "paragraph removed", "paragraph added", "new headline", "furniture"):
            edited = EDITS[edit](edited)
        scores[name] = similarity(signature(name), story_signature("\n\n".join(edited)))
        assert shares_band(signature(name), story_signature("\n\n".join(edited))), name
    assert len(scores) >= 40 and min(scores.values()) >= NEAR_DUPLICATE_THRESHOLD, sorted(scores.items(), key=lambda kv: kv[1])[:3]


def test_distinct_articles_never_reach_the_threshold():
    scores = sorted(((similarity(signature(a), signature(b)), a, b) for a, b in itertools.combinations(bodies(), 2)), reverse=True)
    assert len(scores) == 80 * 79 // 2
    assert scores[0][0] < NEAR_DUPLICATE_THRESHOLD, f"max over distinct pairs: {scores[0]}"
    everything = {name: list(signature(name)) for name in bodies()}
    assert matching_pairs(candidate_pairs(everything), everything) == []


def test_same_event_different_stories_stay_apart():
    """The Independent and The Telegraph on the Brit Awards nominations: same lists of names, different stories."""
    score = similarity(signature("TheIndependent_0"), signature("TheTelegraph_2"))
    assert 0.05 < score < NEAR_DUPLICATE_THRESHOLD, score


def test_different_stories_sharing_the_same_quotes_stay_apart():
    """Two articles of one publisher, the same two quoted sentences (39 words) inserted mid-story in both."""
    by_publisher: dict[str, list[str]] = {}
    for name in bodies():
        by_publisher.setdefault(name.rsplit("_", 1)[0], []).append(name)
    scores = []
    for names in by_publisher.values():
        for a, b in itertools.combinations(names, 2):
            quoted = []
            for name in (a, b):
                paragraphs = list(bodies()[name])
                quoted.append(story_signature("\n\n".join(paragraphs[: len(paragraphs) // 2] + [QUOTE] + paragraphs[len(paragraphs) // 2 :])))
            scores.append((similarity(*quoted), a, b))
    assert len(scores) == 160
    assert max(scores)[0] < NEAR_DUPLICATE_THRESHOLD, f"max over quote-sharing pairs: {max(scores)}"


def test_batch_pairs_find_the_copies_and_do_not_depend_on_order():
    names = ["APNews_1", "TheGuardian_2", "CNBC_0", "Reuters_1"]
    signatures = {name: list(signature(name)) for name in names}
    for name in names[:2]:
        signatures[f"{name}-syndicated"] = story_signature("\n\n".join(EDITS["furniture"](list(bodies()[name]))))
    pairs = matching_pairs(candidate_pairs(signatures), signatures)
    assert pairs == [("APNews_1", "APNews_1-syndicated"), ("TheGuardian_2", "TheGuardian_2-syndicated")]
    assert all(similarity(signatures[a], signatures[b]) >= NEAR_DUPLICATE_THRESHOLD for a, b in pairs)
    reversed_order = dict(reversed(list(signatures.items())))
    assert matching_pairs(candidate_pairs(reversed_order), reversed_order) == pairs


def candidate_pairs(signatures: dict[str, list[int]]) -> list[tuple[str, str]]:
    """Pairs sharing a band key, as the warehouse's join on story_bands finds them (sorted)."""
    buckets: dict[int, list[str]] = {}
    for name, sig in signatures.items():
        for key in signature_bands(sig):
            buckets.setdefault(key, []).append(name)
    return sorted({tuple(sorted(pair)) for names in buckets.values() for pair in itertools.combinations(names, 2)})


def test_signature_shape_and_stability_across_processes():
    text = "\n\n".join(bodies()["TheNation_1"])
    sig = story_signature(text)
    assert len(sig) == 128 and all(type(v) is int and 0 <= v < 2**32 for v in sig)
    bands = signature_bands(sig)
    assert len(bands) == BANDS and all(-(2**63) <= key < 2**63 for key in bands)
    script = (
        "import json, sys; from extractors.near_duplicates import story_signature, signature_bands; "
        "s = story_signature(sys.stdin.read()); print(json.dumps([s, signature_bands(s)]))"
    )
    fresh = subprocess.run([sys.executable, "-c", script], input=text, capture_output=True, text=True,
                           cwd=ROOT, check=True, env={"PYTHONHASHSEED": "random", "PATH": ""})
    assert json.loads(fresh.stdout) == [sig, bands]


def test_case_and_punctuation_do_not_matter_and_short_texts_get_a_signature():
    assert story_signature("Fire at the DOCKS, police say!") == story_signature("fire at the docks police say")
    short = story_signature("Storm warning")
    assert len(short) == 128 and short != story_signature("Storm warning lifted")
    assert similarity(short, short) == 1.0


def test_representative_is_the_earliest_published():
    members = [
        StoryMember("b", dt.datetime(2024, 2, 27, 9)),
        StoryMember("c", None),
        StoryMember("a", dt.datetime(2024, 2, 27, 9)),
        StoryMember("d", dt.datetime(2024, 2, 27, 10)),
    ]
    assert representative(members) == "a"  # earliest time; tie broken by id
    assert representative(members[::-1]) == "a"
    assert representative([StoryMember("z", None), StoryMember("y", None)]) == "y"
    earlier, later = dt.datetime(2024, 3, 1, 8), dt.datetime(2024, 3, 2, 8)
    undated = [StoryMember("a-later-copy", None, later), StoryMember("z-original", None, earlier)]
    assert representative(undated) == "z-original"  # undated: first seen wins, not the id


def test_signatures_are_datasketch_minhashes():
    """Our NumPy MinHash is datasketch's (legacy scheme, same seed), on real story shingles."""
    from datasketch import MinHash

    text = "\n\n".join(bodies()["APNews_0"])
    words = re.findall(r"\w+", text.lower())
    shingles = {" ".join(words[i : i + 5]) for i in range(len(words) - 4)}
    reference = MinHash(num_perm=128, seed=1, scheme="legacy")
    reference.update_batch([s.encode("utf-8") for s in shingles])
    assert story_signature(text) == [int(v) for v in reference.hashvalues]


def test_representative_compares_publication_instants_across_offsets():
    taipei = dt.timezone(dt.timedelta(hours=8))
    members = [
        StoryMember("london", dt.datetime(2024, 10, 15, 17, 0, tzinfo=dt.timezone.utc)),
        StoryMember("taipei", dt.datetime(2024, 10, 16, 0, 0, tzinfo=taipei)),  # 15 Oct, 16:00 UTC
        StoryMember("no-offset", dt.datetime(2024, 10, 15, 16, 30)),  # counted as UTC
    ]
    assert representative(members) == "taipei"
    assert representative(members[1:]) == "taipei" and representative([members[0], members[2]]) == "no-offset"
