"""One word count for every script: CJK by characters, other text by what spaces separate."""

import datetime as dt

from extractors.words import has_cjk, token_count, word_count, words


def test_cjk_counts_characters():
    assert word_count("宮崎県で震度5弱") == 8  # 宮 崎 県 で 震 度 5 弱
    assert words("東京 Tokyo 2025") == ["東", "京", "Tokyo", "2025"]


def test_other_scripts_count_what_spaces_separate():
    assert word_count("The council voted 6–1 on Monday.") == 6
    assert word_count("March 1 2024, 2:14 p.m.") == len("March 1 2024, 2:14 p.m.".split())
    assert word_count("") == 0 and word_count("— | —") == 0


def test_korean_counts_its_spaced_words():
    assert word_count("민주당 선호투표제 도입") == 3


def test_has_cjk():
    assert has_cjk("Tokyo 東京") and not has_cjk("Tokyo") and not has_cjk("서울")


def test_tokens_split_elsewhere_count_the_same_way():
    assert token_count(["宮崎県で震度5弱", "Tokyo", "o"]) == 10
    assert token_count(["council", "6", "1"]) == 3


JAPANESE_PARAGRAPHS = [
    "気象庁によると、13日午後9時19分ごろ、日向灘を震源とする地震があり、宮崎県で震度5弱の揺れを観測した。",
    "この地震で、高知県と宮崎県に津波注意報が発表され、沿岸の住民に海岸から離れるよう呼びかけている。",
    "政府は首相官邸の危機管理センターに官邸対策室を設置し、被害状況の確認を急いでいる。",
    "宮崎市内では一時停電が発生したほか、一部の鉄道で運転の見合わせが続いた。",
    "専門家は、今後1週間程度は同じ程度の地震に注意するよう呼びかけている。",
]


def test_a_japanese_dump_lands_with_its_language():
    """Counted by whitespace this story was "9 words" and refused as no story; its language was NULL."""
    from extractors.dispatch import extract_many

    dump = "\n".join(["ホーム", "ニュース", "ログイン", "宮崎県で震度5弱、高知と宮崎に1メートルの津波注意報", "2025年1月13日 21時37分",
                      *JAPANESE_PARAGRAPHS, "Copyright © The Newspaper Company. All rights reserved."])
    (result,) = extract_many([("text", dump, None)])
    assert result.article is not None, result.error
    assert result.article.language == "ja"
    assert all(p in result.article.body for p in JAPANESE_PARAGRAPHS)
    assert word_count(result.article.body) >= sum(word_count(p) for p in JAPANESE_PARAGRAPHS) > 150
    assert result.article.published_at == dt.datetime(2025, 1, 13, 21, 37)  # a time, no offset stated
    assert not result.article.published_date_only


def test_a_japanese_page_lands_with_its_language_and_time():
    from extractors.dispatch import extract_checked

    paragraphs = "".join(f"<p>{p}</p>" for p in JAPANESE_PARAGRAPHS)
    page = ("<html><head><title>宮崎県で震度5弱：朝日新聞デジタル</title>"
            '<meta property="og:site_name" content="朝日新聞デジタル">'
            '<meta property="article:published_time" content="2025-01-13T21:37:00+09:00"></head>'
            f"<body><article><h1>宮崎県で震度5弱</h1>{paragraphs}</article></body></html>")
    result = extract_checked("html", page)
    assert result.article is not None, result.error
    assert result.article.language == "ja" and result.article.title == "宮崎県で震度5弱"
    assert result.article.published_at.utcoffset().total_seconds() == 9 * 3600


def test_a_few_cjk_characters_are_still_no_story():
    from extractors.dispatch import extract_many

    (result,) = extract_many([("text", "ホーム\nログイン\n", None)])
    assert result.article is None and "no story text" in result.error
