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


# ---- scripts without stopword lists, and CJK (issue 10 point 6)

JAPANESE = (
    "気象庁によると、13日午後9時19分ごろ、日向灘を震源とする地震があり、宮崎県で震度5弱の揺れを観測した。"
    "この地震で、高知県と宮崎県に津波注意報が発表され、沿岸の住民に海岸から離れるよう呼びかけている。"
)
CHINESE = "国家航天局表示，首届中国与拉美和加勒比国家航天合作论坛在武汉开幕，各国代表就卫星应用和人才培养进行了深入交流。"


def test_japanese_chinese_korean_by_script():
    assert detect_language(JAPANESE) == "ja"
    assert detect_language(CHINESE) == "zh"
    assert detect_language("민주당은 선호투표제 도입을 또다시 보류했고 친청계는 당규 개정을 왜 밀어붙이냐고 반발했다") == "ko"


def test_a_few_kanji_alone_decide_nothing():
    """Japanese headlines and names are often all kanji: too little to tell Japanese from Chinese."""
    assert detect_language("気象庁") is None
    assert detect_language("東京都知事選挙") is None


def test_other_scripts_and_languages():
    assert detect_language("Президент заявил, что переговоры будут продолжены и что это было его решение") == "ru"
    assert detect_language("Η κυβέρνηση ανακοίνωσε νέα μέτρα για την οικονομία της χώρας σήμερα") == "el"
    assert detect_language("Rząd przyjął projekt ustawy, który ma zostać przedstawiony w Sejmie już w przyszłym tygodniu") == "pl"
