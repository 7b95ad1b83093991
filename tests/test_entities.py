"""Entity mentions and canonical entities: on the seeds' cleaned text and on short texts of our own."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.entities import Mention, article_mentions, extract_mentions, ner_available
from extractors.entity_names import canonical_key, similar_names
from extractors.entity_resolution import KnownEntity, canonical_entities, entity_id, resolve, vote_label
from extractors.quotes import extract_quotes
from extractors.text_cleaning import clean_text

SEEDS = Path(__file__).resolve().parent.parent / "data" / "seeds"


@pytest.fixture(scope="module")
def seeds():
    """Per seed (in file order): {entity name: (label, entity_id, surface texts)}; the model loads once."""
    articles = [clean_text(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]
    resolved = canonical_entities(extract_mentions([(a.title, a.body) for a in articles]))
    out = []
    for mentions in resolved:
        entities: dict[str, tuple[str, str, set[str]]] = {}
        for m in mentions:
            entities.setdefault(m.name, (m.label, m.entity_id, set()))[2].add(m.text)
        out.append(entities)
    return out


@pytest.mark.parametrize(
    ("seed", "person"),
    [
        (0, "Dmitry Peskov"),
        (0, "Yulia Svyrydenko"),
        (1, "Sam Greene"),
        (1, "Scott Bessent"),
        (2, "Tammy Bruce"),
        (4, "Kirill Dmitriev"),
    ],
)
def test_seed_people_are_person_entities_of_their_article(seeds, seed, person):
    assert seeds[seed][person][0] == "PERSON"


def test_seed_spellings_of_zelenskyy_and_kyiv_are_one_entity_each(seeds):
    assert "Zelensky" in seeds[3]["Volodymyr Zelenskyy"][2]
    assert "Zelenskyy" in seeds[1]["Volodymyr Zelenskyy"][2]
    assert seeds[3]["Volodymyr Zelenskyy"][1] == seeds[1]["Volodymyr Zelenskyy"][1]
    assert seeds[3]["Kyiv"][2] == {"Kiev"} and "Kyiv" in seeds[1]["Kyiv"][2]
    assert seeds[3]["Kyiv"][:2] == seeds[1]["Kyiv"][:2] == ("GPE", entity_id("kiv"))


def test_seed_surnames_resolve_and_headings_give_no_entities(seeds):
    assert seeds[1]["Sam Greene"][2] == {"Sam Greene", "Greene"}
    assert seeds[2]["Tammy Bruce"][2] == {"Tammy Bruce", "Bruce"}
    names = {name for article in seeds for name in article}
    assert not names & {"Glance", "Wants Ukraine", "Putin Offers Ceasefire", "Sight", "Quick Looks"}
    assert seeds[0]["Donald Trump"][0] == "PERSON"  # tagged ORG in places


def test_own_text_surname_and_shared_surnames_kept_apart():
    body = (
        "Sam Greene of King's College London said the talks had stalled. Marjorie Taylor Greene, a "
        "congresswoman, disagreed with him. Later, Greene told reporters that Moscow was stalling."
    )
    [resolved] = canonical_entities(extract_mentions([(None, body)]))
    names = {m.text: m.name for m in resolved if m.label == "PERSON"}
    assert names["Greene"] == "Marjorie Taylor Greene"  # the nearest full name before it
    ids = {m.name: m.entity_id for m in resolved}
    assert ids["Sam Greene"] != ids["Marjorie Taylor Greene"]


def _m(text: str, label: str = "PERSON", start: int = 0) -> Mention:
    return Mention(text, label, start, start + len(text))


def test_people_sharing_a_surname_stay_apart_across_articles():
    a, b, c = canonical_entities([[_m("Donald Trump")], [_m("Melania Trump")], [_m("Trump")]])
    assert a[0].key != b[0].key
    assert c[0].name == "Trump"  # neither full name dominates: the bare surname is left alone
    assert not similar_names("donald trump", "melania trump")
    assert not similar_names("maria lopez", "mario lopez")
    assert similar_names("dmitri peskov", "dmitrii peskov")


def test_bare_surname_joins_the_dominant_full_name():
    batch = [[_m("Vladimir Putin")], [_m("Vladimir Putin")], [_m("Vladimir Putin")], [_m("Putin")]]
    assert {m.name for ms in canonical_entities(batch) for m in ms} == {"Vladimir Putin"}


def test_possessives_titles_bullets_and_the_are_trimmed_with_offsets():
    body = "• Secretary of State Marco Rubio met the State Department’s staff. Trump’s envoy left."
    spans = [
        ("• Secretary of State Marco Rubio", "PERSON", 0),
        ("the State Department’s", "ORG", 37),
        ("Trump’s", "PERSON", 67),
    ]
    mentions = article_mentions("", body, [], spans)
    assert [m.text for m in mentions] == ["Marco Rubio", "State Department", "Trump"]
    assert all(body[m.start_char:m.end_char] == m.text for m in mentions)
    assert canonical_key("Trump’s") == canonical_key("Trump")


def test_heading_and_common_word_mentions_are_dropped():
    body = "At a Glance\n\nRussia said talks would resume. Analysts were doubtful; analysts often are."
    spans = [("Glance", "GPE", 5), ("Russia", "GPE", 13), ("Analysts", "ORG", 46)]
    assert [m.text for m in article_mentions("Russia Wants Talks", body, [("Russia", "GPE", 0)], spans)] == [
        "Russia",
        "Russia",
    ]


@pytest.mark.parametrize(
    "spellings",
    [["Zelensky", "Zelenskyy", "Zelenskiy", "Volodymyr Zelensky"], ["Kiev", "Kyiv"], ["U.S.", "US", "the United States", "USA"]],
)
def test_spelling_variants_are_one_entity(spellings):
    resolved = canonical_entities([[_m(s, "GPE")] for s in spellings])
    assert len({ms[0].key for ms in resolved}) == 1


def test_label_is_the_majority_vote_and_the_alias_file_wins():
    [ms] = canonical_entities([[_m("Trump", "ORG"), _m("Trump", "PERSON", 10), _m("Trump", "PERSON", 20)]])
    assert {m.label for m in ms} == {"PERSON"} and ms[0].raw_label == "ORG"
    [ms] = canonical_entities([[_m("Kiev", "PERSON"), _m("Kyiv", "ORG", 10)]])
    assert {m.label for m in ms} == {"GPE"}
    assert vote_label({"ORG": 2, "PERSON": 2}) == "PERSON"


def test_resolution_does_not_depend_on_article_order():
    batch = [[_m("Dmitri Peskov")], [_m("Dmitrii Peskov"), _m("Peskov", start=20)], [_m("Donald Trump")], [_m("Trump")]]
    forward = canonical_entities(batch)
    backward = canonical_entities(batch[::-1])[::-1]
    assert forward == backward
    assert len({m.key for ms in forward[:2] for m in ms}) == 1


def test_known_entities_keep_their_id_when_new_spellings_arrive():
    known = KnownEntity("volodimir zelenski", "Volodymyr Zelenskyy", "PERSON", 40, 12)
    assert resolve("Zelenskiy", "PERSON", {known.key: known}) == known
    donald = KnownEntity("donald trump", "Donald Trump", "PERSON", 90, 30)
    assert resolve("Trump", "PERSON", {donald.key: donald}) == donald
    assert resolve("Melania Trump", "PERSON", {donald.key: donald}) is None
    [[m]] = canonical_entities([[_m("Dmitrii Peskov")]], [KnownEntity("dmitri peskov", "Dmitry Peskov", "PERSON", 3, 2)])
    assert (m.name, m.key) == ("Dmitry Peskov", "dmitri peskov")


def test_ner_applies_only_where_a_pipeline_is_installed():
    assert ner_available("en")
    assert ner_available("fr")
    assert not ner_available("de")
    assert not ner_available(None)


def test_gazetteer_finds_places_and_institutions_the_model_misses_with_their_ids():
    from extractors.gazetteer import lookup

    body = ("Shelling hit Donetsk again on Monday. Officials in Tallinn and Kiev met, "
            "and the Pentagon’s Foreign Military Sales office approved the order.")
    [mentions] = canonical_entities(extract_mentions([(None, body)]))
    names = {m.name for m in mentions}
    assert {"Donetsk", "Tallinn", "Kyiv", "Pentagon"} <= names
    kyiv, tallinn, pentagon = lookup("Kiev"), lookup("Tallinn"), lookup("the Pentagon")
    assert (kyiv.name, kyiv.geonames_id, kyiv.country_code) == ("Kyiv", 703448, "UA")
    assert (tallinn.geonames_id, tallinn.country_code) == (588409, "EE")
    assert lookup("Donetsk").country_code == "UA"  # the city of 900,000, not the Russian town of the same name
    assert (pentagon.label, pentagon.wikidata_id) == ("ORG", "Q11208")


def test_pool_workers_share_the_preloaded_model_and_analyse_as_this_process_does():
    from concurrent.futures import ProcessPoolExecutor

    from extractors.entity_workers import analyse, pool_context

    docs = [(None, "“We will not sign anything today,” Dmitry Peskov told reporters in Moscow."),
            ("Talks in Kyiv", "Volodymyr Zelensky met envoys in Kiev. “It is up to them now,” he said.")]
    with ProcessPoolExecutor(2, mp_context=pool_context()) as pool:
        preloaded = set(pool.map(_pipelines_loaded_before_any_work, range(2)))
        in_workers = list(pool.map(analyse, [docs[:1], docs[1:]]))
    assert preloaded == {1}
    assert [a for chunk in in_workers for a in chunk] == analyse(docs)


def test_worker_tasks_keep_the_order_and_shrink_to_single_documents_at_the_end():
    from flows.chunking import TASK_SIZE, guided_chunks

    for n in (40, 197, 500):
        items = list(range(n))
        sizes = [len(c) for c in guided_chunks(items)]
        assert [i for c in guided_chunks(items) for i in c] == items
        assert max(sizes) <= TASK_SIZE and sizes == sorted(sizes, reverse=True)
        left = n - sum(sizes[:-TASK_SIZE])
        assert sizes[-TASK_SIZE:] == [1] * TASK_SIZE and left == TASK_SIZE  # no worker idles behind a big last task
    assert [len(c) for c in guided_chunks(list(range(500)))][:10] == [TASK_SIZE] * 10


def test_the_quote_parse_reads_a_neighbour_sentence_only_where_attribution_can_use_it():
    from extractors.quotes import speech_cues

    mid_paragraph = "Smith said the talks had failed. Then “we will see what happens next” was the statement."
    opening_a_line = "Smith said the talks had failed.\n“We will see what happens next” was the statement."
    # the quotation's own sentence names no speaker; the one before is read only for a quotation opening its line
    assert speech_cues([mid_paragraph]) == [[]]
    [[cue]] = speech_cues([opening_a_line])
    assert (cue.frame, cue.kind, cue.head) == (0, "speaker", "Smith")
    bodies = (mid_paragraph, opening_a_line)
    resolved = canonical_entities(extract_mentions([(None, body) for body in bodies]))
    assert [[q.speaker for q in extract_quotes(body, ms)] for body, ms in zip(bodies, resolved)] == [[None], ["Smith"]]


def test_the_quotation_sentences_left_unparsed_are_ones_whose_parse_gives_no_cue():
    from extractors.entities import PARSE_COMPONENTS, load_pipeline
    from extractors.quotes import _may_give_cue, _Plan, _read_cues

    bodies = [clean_text(p.read_text(encoding="utf-8")).body for p in sorted(SEEDS.glob("*.txt"))] + [
        "His response was: “Not today.” Tags: Kyiv, “peace talks” and more.",
        "The statement read “We will see what happens next” loudly. Officials: none replied.",
        "Putin’s all like, “We have enough.” It was like “a dream,” one said."]
    plans = [_Plan.of(body) for body in bodies]
    jobs = [plan.job(i) for plan in plans for i in sorted(plan.holding)]
    nlp = load_pipeline()
    docs = nlp.pipe([text for text, _ in jobs], disable=[c for c in nlp.pipe_names if c not in PARSE_COMPONENTS])
    gives = [bool(_read_cues(doc, 0, offsets, text.rstrip().endswith(":"))) for (text, offsets), doc in zip(jobs, docs)]
    unparsed = [not _may_give_cue(text) for text, _ in jobs]
    assert not any(g and u for g, u in zip(gives, unparsed))
    assert sum(unparsed) >= 2 and sum(gives) >= 20


def _pipelines_loaded_before_any_work(_):
    from extractors.entities import _loaded_pipeline

    return _loaded_pipeline.cache_info().currsize


def test_an_opening_quote_typed_as_apostrophe_is_a_possessive_and_an_honorific_makes_a_person():
    body = "President Biden‘s joke fell flat, said Dr Marcus Neumann of AMS."
    spans = [("Biden‘s", "PERSON", body.index("Biden")), ("Dr Marcus Neumann", "ORG", body.index("Dr"))]
    mentions = article_mentions("", body, [], spans)
    assert [(m.text, m.label) for m in mentions] == [("Biden", "PERSON"), ("Marcus Neumann", "PERSON")]
    assert all(body[m.start_char:m.end_char] == m.text for m in mentions)


def test_no_seed_entity_comes_from_cut_furniture():
    articles = [clean_text(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]
    resolved = canonical_entities(extract_mentions([(a.title, a.body) for a in articles]))
    furniture = [" \n".join(s.text for s in a.cut if s.reason != "title") for a in articles]
    furniture_names = extract_mentions([(None, text) for text in furniture])
    only_in_furniture = 0
    for article, mentions, cut_names in zip(articles, resolved, furniture_names):
        for m in mentions:
            assert (article.title if m.in_title else article.body)[m.start_char:m.end_char] == m.text
        texts = {m.text for m in mentions}
        for name in {n.text for n in cut_names if n.text not in article.body and n.text not in (article.title or "")}:
            only_in_furniture += 1
            assert name not in texts
    assert only_in_furniture > 0  # the seeds' furniture does name things the articles do not


def test_seed_places_and_institutions_carry_their_identifiers(seeds):
    from extractors.gazetteer import lookup

    # Tallinn is named in no seed (the gazetteer test above covers it on a text of our own).
    assert not any("Tallinn" in p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt"))
    for seed, name in [(1, "Kyiv"), (3, "Kyiv"), (3, "Donetsk"), (2, "Pentagon")]:
        assert name in seeds[seed], (seed, name)
        place = lookup(name)
        assert place is not None and (place.geonames_id or place.wikidata_id), name


@pytest.mark.usefixtures("prefect_api")
def test_an_entity_stored_before_the_gazetteer_takes_its_ids_when_mentioned_again(seeds_copy, db_path):
    import duckdb

    from flows.ingest_stored import ingest_stored

    ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    with duckdb.connect(str(db_path)) as con:  # as a warehouse filled before migration 5 holds it
        con.execute("UPDATE entities SET geonames_id = NULL, country_code = NULL, wikidata_id = NULL")
    target = next(seeds_copy.glob("003_*.txt"))
    target.write_text(target.read_text(encoding="utf-8") + "\n\nShelling hit Donetsk again on Monday.\n",
                      encoding="utf-8")
    ingest_stored(paths=[str(seeds_copy)], db=str(db_path))
    with duckdb.connect(str(db_path), read_only=True) as con:
        ids = {name: rest for name, *rest in con.execute(
            "SELECT name, geonames_id, country_code, wikidata_id FROM entities"
            " WHERE name IN ('Kyiv', 'Donetsk', 'Pentagon')").fetchall()}
    assert ids["Kyiv"] == [703448, "UA", None] and ids["Donetsk"] == [709717, "UA", None]  # 003 was read again
    assert ids["Pentagon"] == [None, None, None]  # seed 002 was not: its entity waits for its next mention
