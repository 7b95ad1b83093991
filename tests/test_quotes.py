"""Quotations and their speakers: on the seeds' cleaned text and on short texts of our own."""

from __future__ import annotations

from pathlib import Path

import pytest

from extractors.entities import extract_mentions
from extractors.entity_resolution import canonical_entities
from extractors.quotes import extract_quotes
from extractors.text_cleaning import clean_text

SEEDS = Path(__file__).resolve().parent.parent / "data" / "seeds"


def quotes_of(*bodies: str):
    """Quotes of each body, after NER and resolution over all of them as one batch."""
    resolved = canonical_entities(extract_mentions([(None, b) for b in bodies]))
    return [extract_quotes(b, ms) for b, ms in zip(bodies, resolved)]


@pytest.fixture(scope="module")
def seed_quotes():
    articles = [clean_text(p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]
    return quotes_of(*(a.body for a in articles))


def test_peskov_quote_is_attributed_to_dmitry_peskov(seed_quotes):
    said = {(q.speaker, q.quote) for q in seed_quotes[0]}
    assert ("Dmitry Peskov", "a peace agreement must be concluded with Ukraine, not with America") in said


def test_seed_quote_after_the_speakers_surname_takes_the_full_name(seed_quotes):
    by_quote = {q.quote: q for q in seed_quotes[1]}
    greene = by_quote["A strong army is central to Ukraine’s survival"]
    assert (greene.speaker, greene.speaker_mention_text) == ("Sergey Radchenko", "Radchenko")


def test_offsets_point_at_the_quoted_text(seed_quotes):
    bodies = [clean_text(p.read_text(encoding="utf-8")).body for p in sorted(SEEDS.glob("*.txt"))]
    for body, quotes in zip(bodies, seed_quotes):
        for q in quotes:
            assert " ".join(body[q.start_char:q.end_char].split()) == q.quote


@pytest.mark.parametrize(
    ("body", "speaker"),
    [
        ("Kremlin spokesman Dmitry Peskov said: “We will not sign anything today.”", "Dmitry Peskov"),
        ("“We will not sign anything today,” said Kremlin spokesman Dmitry Peskov.", "Dmitry Peskov"),
        ("“We will not sign anything today,” Dmitry Peskov told reporters in Moscow.", "Dmitry Peskov"),
        ("Dmitry Peskov, the Kremlin spokesman, said \"we will not sign anything today\".", "Dmitry Peskov"),
        ("The talks are over, and “nobody will sign anything today,” according to Reuters.", "Reuters"),
        ("Kremlin spokesman Dmitry Peskov: “We will not sign anything today.”", "Dmitry Peskov"),
        ("“We will not sign anything today.” Dmitry Peskov said.", "Dmitry Peskov"),
    ],
)
def test_speech_patterns_name_the_speaker(body, speaker):
    [[quote]] = quotes_of(body)
    assert quote.speaker == speaker
    assert quote.quote.lower().rstrip(".") in {"we will not sign anything today", "nobody will sign anything today"}


def test_pronoun_takes_the_nearest_person_before_and_surname_the_full_name():
    body = (
        "Tammy Bruce spoke in Washington on Thursday.\n\n"
        "“The United States will no longer fly around the world at the drop of a hat,” she said.\n\n"
        "“It is up to them now,” Bruce added."
    )
    [quotes] = quotes_of(body)
    assert [(q.speaker, q.speaker_mention_text) for q in quotes] == [("Tammy Bruce", "Tammy Bruce"), ("Tammy Bruce", "Bruce")]


def test_quote_without_a_stated_speaker_is_kept_with_none():
    [[quote]] = quotes_of("The mood in the capital was grim. “Nobody expects a deal this year” was the common refrain.")
    assert quote.speaker is None and quote.speaker_mention_text is None
    assert quote.quote == "Nobody expects a deal this year"


def test_quote_spanning_a_line_break_is_one_quote_with_offsets_into_the_body():
    body = "Sam Greene said that “the deal is a win\nfor Moscow, not for Kyiv” on Friday."
    [[quote]] = quotes_of(body)
    assert quote.quote == "the deal is a win for Moscow, not for Kyiv"
    assert body[quote.start_char:quote.end_char] == "the deal is a win\nfor Moscow, not for Kyiv"
    assert quote.speaker == "Sam Greene"


def test_quotes_do_not_cross_paragraphs_and_apostrophes_are_not_quote_marks():
    body = "Trump’s envoys’ plan was “dead on arrival.\n\nOthers disagreed.” Kyiv’s mood lifted."
    assert quotes_of(body) == [[]]


def test_single_curly_quotes_and_scare_quotes():
    body = "Dmitry Medvedev called it a ‘sell-off of the national wealth’ on Telegram. Critics called the deal a “win-win”."
    [quotes] = quotes_of(body)
    assert [(q.quote, q.speaker) for q in quotes] == [("sell-off of the national wealth", None)]


def speakers_of(body: str) -> list[tuple[str | None, str | None]]:
    [quotes] = quotes_of(body)
    return [(q.speaker, q.speaker_role) for q in quotes]


def test_the_listener_of_told_is_not_the_speaker():
    body = "“We are open to economic cooperation with Washington,” a Kremlin spokesman told CNN on Sunday."
    assert speakers_of(body) == [(None, "a Kremlin spokesman")]


def test_a_participle_takes_the_subject_of_its_verb():
    body = ("Vladimir Putin compared his country's reserves with those of Ukraine on Monday, saying, "
            "“We certainly have much more of such resources than anyone else.”")
    assert speakers_of(body) == [("Vladimir Putin", None)]


def test_a_response_after_a_question_belongs_to_whom_it_was_put():
    body = ("Donald Trump was asked by Sean Hannity whether he would walk away from the talks.\n\n"
            "His response was: “I will walk away if there is no deal within two weeks.”")
    assert speakers_of(body) == [("Donald Trump", None)]


def test_a_quote_continued_in_the_next_paragraph_keeps_its_speaker():
    body = ("“The talks have reached a dead end and we will not return to them soon,” Marco Rubio said on Friday.\n\n"
            "“It is now up to the two parties to present concrete ideas for an end to this war.”")
    assert speakers_of(body) == [("Marco Rubio", None), ("Marco Rubio", None)]


def test_a_pronoun_takes_the_nearest_person_of_its_gender():
    body = ("Kaja Kallas said she would meet Antony Blinken in Brussels on Monday. The meeting with Blinken "
            "was delayed by a storm.\n\n"
            "“Europe will not accept a deal made over the heads of Ukrainians,” she said.")
    [(speaker, role)] = speakers_of(body)
    assert speaker.endswith("Kallas") and role is None


def test_a_title_resolves_to_the_person_the_article_names_with_it():
    body = ("Ukrainian President Volodymyr Zelensky arrived in Washington on Thursday for talks with "
            "Secretary of State Marco Rubio.\n\n"
            "“We will never recognise the occupation of our land,” the president told reporters.")
    assert speakers_of(body) == [("Volodymyr Zelenskyy", None)]  # the alias file's spelling


def test_an_unnamed_source_keeps_its_role_and_no_entity():
    body = ("“There will be no agreement before the summer,” a senior official said on condition of anonymity.")
    [[quote]] = quotes_of(body)
    assert (quote.speaker, quote.speaker_key, quote.speaker_role) == (None, None, "a senior official")


def test_an_informal_like_introduces_the_speaker():
    body = "Vladimir Putin's all like, “I have all the cards and nobody can make me sign anything.”"
    assert speakers_of(body) == [("Vladimir Putin", None)]


def test_a_pronoun_skips_a_name_in_the_possessive():
    body = ("Rob Edwards’ team lost on Saturday, and Gareth Southgate was pleased with his players.\n\n"
            "“It will be a very demanding match next week,” he said.")
    assert speakers_of(body) == [("Gareth Southgate", None)]


def test_a_pronoun_prefers_the_person_a_sentence_starts_with():
    body = ("Joe Biden spoke on television on Monday.\n\nBiden took a swipe on the show when joking that "
            "Donald Trump and he are both old men.\n\n"
            "“You got to take a look at the other guy, he can’t remember his wife’s name,” he said.")
    assert speakers_of(body) == [("Joe Biden", None)]


def test_a_title_the_article_never_attaches_to_a_name_is_the_person_in_focus():
    body = ("Rishi Sunak on Friday hinted at a cut to national insurance.\n\n"
            "Asked if there could be further reductions, the Prime Minister said: “It is a tax on work, "
            "and cutting it rewards hard work.”")
    assert speakers_of(body) == [("Rishi Sunak", None)]


def test_a_definite_description_that_is_no_title_stays_a_role():
    body = ("A department employee sent a letter to the senator.\n\n"
            "“Hallways are mostly empty, and offices are unoccupied,” the employee wrote.")
    assert speakers_of(body) == [(None, "the employee")]


def test_the_speakers_head_word_beats_a_place_in_its_apposition():
    body = ("James Comer chairs the House Oversight Committee.\n\n"
            "Comer, R-Ky., made a public statement on Wednesday, saying that the hearing "
            "“was a great deposition for us and for the country.”")
    assert speakers_of(body) == [("James Comer", None)]
