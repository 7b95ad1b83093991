"""Stopword-profile language identification."""

from collections import Counter

from extractors.language import detect_language, dominant_language, language_scores


def test_english_news_sentence():
    text = "The president said on Monday that the talks would continue, according to officials who were at the meeting."
    assert detect_language(text) == "en"


def test_italian_sidebar_line():
    assert detect_language("Tempo Libero 24 ore ago: un viaggio tra i palcoscenici della storia e del cuore") == "it"


def test_other_profiles():
    assert detect_language("Le président a dit que la réforme des retraites est une priorité pour le gouvernement") == "fr"
    assert detect_language("Der Kanzler sagte, dass die Regierung nicht mit der Opposition über den Haushalt spricht") == "de"
    assert detect_language("El presidente dijo que la reforma de las pensiones es una prioridad para el gobierno") == "es"


def test_too_little_evidence_is_none():
    assert detect_language("Donald Trump") is None
    assert detect_language("") is None


def test_no_clear_winner_is_none():
    assert dominant_language(Counter({"en": 4, "nl": 3})) is None
    assert dominant_language(Counter({"en": 6, "nl": 3})) == "en"


def test_scores_count_stopword_hits():
    scores = language_scores(["the", "of", "della", "gazza"])
    assert scores["en"] == 2
    assert scores["it"] == 1
