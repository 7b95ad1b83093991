"""Metadata as a person would write it: titles without site names, people as authors, dates as stated."""

import datetime as dt
import json

import pytest

from extractors.html_extraction import extract_html
from extractors.metadata import clean_authors, host_keys, html_metadata, parse_published, strip_site_name, text_key


def _page(*, title="", og="", site="", h1="", ld=None, metas="", url="", body_words=200) -> str:
    head = f"<title>{title}</title>" if title else ""
    head += f'<meta property="og:title" content="{og}">' if og else ""
    head += f'<meta property="og:site_name" content="{site}">' if site else ""
    head += f'<meta property="og:url" content="{url}">' if url else ""
    head += metas
    head += f'<script type="application/ld+json">{json.dumps(ld)}</script>' if ld else ""
    story = " ".join(f"Der Zentralbankrat hat am Donnerstag die Zinsen zum {i}. Mal gesenkt, und die Märkte reagierten."
                     for i in range(body_words // 15))
    return f"<html lang='de'><head>{head}</head><body><article><h1>{h1}</h1><p>{story}</p></article></body></html>"


@pytest.mark.parametrize(
    ("title", "sites", "expected"),
    [
        ("Steigende US-Zinsen setzen Dax zu | Börsen-Zeitung", {"Börsen-Zeitung"}, "Steigende US-Zinsen setzen Dax zu"),
        ("US, Manila launch war games after PRC’s Taiwan drills - Taipei Times", set(),
         "US, Manila launch war games after PRC’s Taiwan drills"),
        ("What's next for Gaza? | CBC News", {"CBC"}, "What's next for Gaza?"),
        ("宮崎県で震度5弱、高知と宮崎に1メートルの津波注意報　気象庁：朝日新聞デジタル", {"朝日新聞デジタル"},
         "宮崎県で震度5弱、高知と宮崎に1メートルの津波注意報 気象庁"),
        ("イスラエルとハマスの停戦「最も合意に近い」 | 毎日新聞", {"毎日新聞"}, "イスラエルとハマスの停戦「最も合意に近い」"),
        ("Ukrainische Gegenoffensive: Ziele, Chancen, Risiken | DW | 28.04.2023", set(),
         "Ukrainische Gegenoffensive: Ziele, Chancen, Risiken"),
        ("Russia hits Kyiv with ballistic missile - National | Globalnews.ca", {"Global News"},
         "Russia hits Kyiv with ballistic missile"),
        ("«Die Zurückhaltung hat viel mit den USA zu tun» - News - SRF", {"Schweizer Radio und Fernsehen (SRF)"},
         "«Die Zurückhaltung hat viel mit den USA zu tun»"),
        ("Le Monde | La réforme des retraites adoptée", {"Le Monde"}, "La réforme des retraites adoptée"),
        ("민주당 도입 또다시 불발-정치ᅵ한국일보", {"한국일보"}, "민주당 도입 또다시 불발-정치"),
    ],
)
def test_site_names_leave_titles_in_any_language(title, sites, expected):
    urls = {"Taipei Times": "https://www.taipeitimes.com/News/1", "DW": "https://www.dw.com/de/x",
            "Global News": "https://globalnews.ca/news/1"}
    keys = {text_key(s) for s in sites} | host_keys(urls.get("Taipei Times") if "Taipei" in title else None)
    keys |= host_keys("https://www.dw.com/de/x") if "DW" in title else set()
    keys |= host_keys("https://globalnews.ca/news/1") if "Globalnews" in title else set()
    assert strip_site_name(title, keys) == expected


@pytest.mark.parametrize(
    "title",
    [
        "Epstein raped girl and model in same bed - then ‘asked to meet her 11-year-old sister’",
        "Bericht: Aktivistin getötet - Irans Justiz dementiert",
        "Taipei Times",  # all site name: nothing else to keep
    ],
)
def test_titles_without_a_site_name_stay_whole(title):
    keys = {text_key("Daily Star"), text_key("Mitteldeutsche Zeitung")} | host_keys("https://www.taipeitimes.com/")
    assert strip_site_name(title, keys) == title


def test_page_title_compares_statements_and_drops_the_site():
    page = _page(title="Steigende US-Zinsen setzen Dax zu | Börsen-Zeitung",
                 og="Steigende US-Zinsen setzen Dax zu | Börsen-Zeitung", site="Börsen-Zeitung",
                 h1="Steigende US-Zinsen setzen Dax zu")
    assert extract_html(page).title == "Steigende US-Zinsen setzen Dax zu"
    tail_only = _page(og="Bubi-Bomber wieder da: Thioune fordert Geduld | Sport", site="BILD",
                      h1="Bubi-Bomber wieder da: Thioune fordert Geduld")
    assert html_metadata(tail_only).title == "Bubi-Bomber wieder da: Thioune fordert Geduld"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["You, Xiaoying; Lenharo, Mariana; Castelvecchi, Davide"], ["Xiaoying You", "Mariana Lenharo", "Davide Castelvecchi"]),
        (["N-Tv Nachrichten"], []),
        (["Lesotho Times"], []),
        (["Condé Nast", "Philipp Wehsack"], ["Philipp Wehsack"]),
        (["Frankfurt", "Germany", "Nairobi"], []),
        (["Redaktion"], []),
        (["BR24 Redaktion"], []),
        (["@jroe", "Jo Roe and Al Li"], ["Jo Roe", "Al Li"]),
        (["Felix Schröder, Jörg Soldwisch, dpa"], ["Felix Schröder", "Jörg Soldwisch"]),
        (["Trine Juncher Jørgensen og Tôrtia Reimer-Johansen"], ["Trine Juncher Jørgensen", "Tôrtia Reimer-Johansen"]),
        (["JÖRG ZSCHOCHE"], ["Jörg Zschoche"]),
        (["Bill MCCARTHY", "viktor hedlund"], ["Bill McCarthy", "Viktor Hedlund"]),
        (["Dr. Max Kolter"], ["Max Kolter"]),
        (["By Jo Roe, Senior Correspondent"], ["Jo Roe"]),
        (["Autor Monika Bolliger"], ["Monika Bolliger"]),
        (["Capital Von Jemima Kelly"], ["Jemima Kelly"]),
        (["Miguel A. Herguedas"], ["Miguel A. Herguedas"]),
        (["Alberto Órfão", "Ursula von der Leyen"], ["Alberto Órfão", "Ursula von der Leyen"]),
        (["ssi", "dan", "kesm"], []),
        (["Emma Mackenzie", "(Image: Getty Images/iStockphoto)"], ["Emma Mackenzie"]),
        (["AFP, MANILA"], []),
        (["松岡大地"], ["松岡大地"]),
    ],
)
def test_authors_are_people_only(raw, expected):
    assert clean_authors(raw, {text_key("Börsen-Zeitung")}) == expected


def test_site_own_name_is_no_author():
    keys = {text_key("Ilanga News")} | host_keys("https://ilanganews.co.za/x")
    assert clean_authors(["Ilanga News", "Ilanga D", "Mthobisi Sithole"], keys) == ["Mthobisi Sithole"]
    hessenschau = host_keys("https://www.hessenschau.de/politik/x.html")
    assert clean_authors(["Hessenschau De", "Frankfurt", "Germany"], hessenschau) == []


def test_json_ld_organisation_authors_are_dropped_and_people_kept():
    ld = {"@type": "NewsArticle", "headline": "Zinsen sinken",
          "author": [{"@type": "Organization", "name": "Lesotho Times"}, {"@type": "Person", "name": "Ann Lee"}],
          "datePublished": "2025-05-14T20:28:12+03:00"}
    meta = html_metadata(_page(ld=ld, h1="Zinsen sinken"))
    assert meta.authors == ["Ann Lee"] and meta.title == "Zinsen sinken"


def test_offsets_are_kept():
    kommersant = parse_published("2025-05-14T20:28:12+03:00")
    assert kommersant.at == dt.datetime(2025, 5, 14, 20, 28, 12, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    assert not kommersant.date_only
    taipei = parse_published("2024-10-16T00:00:00+08:00")
    assert taipei.at.astimezone(dt.timezone.utc) == dt.datetime(2024, 10, 15, 16, 0, tzinfo=dt.timezone.utc)
    assert taipei.day == dt.date(2024, 10, 16)  # the page's own day
    assert parse_published("2024-04-22T10:05:00Z").at.tzinfo == dt.timezone.utc
    assert parse_published("2024-04-22 10:05").at == dt.datetime(2024, 4, 22, 10, 5)  # a time, no offset: naive
    assert parse_published("soon") is None


def test_a_date_only_statement_stays_a_date():
    stated = parse_published("2024-10-16")
    assert stated.date_only and stated.at == dt.datetime(2024, 10, 16)
    article = extract_html(_page(h1="Zinsen sinken", metas='<meta property="article:published_time" content="2024-10-16">'))
    assert article.published_date_only and article.published_at == dt.datetime(2024, 10, 16)


def test_published_time_with_offset_reaches_the_article_and_is_never_the_modified_date():
    ld = {"@type": "NewsArticle", "dateModified": "2025-05-15T09:00:00+03:00",
          "datePublished": "2025-05-14T20:28:12+03:00", "headline": "Zinsen sinken"}
    metas = '<meta property="article:modified_time" content="2025-05-16T10:00:00+03:00">'
    article = extract_html(_page(ld=ld, metas=metas, h1="Zinsen sinken"))
    assert article.published_at == dt.datetime(2025, 5, 14, 17, 28, 12, tzinfo=dt.timezone.utc)
    assert article.published_at.utcoffset() == dt.timedelta(hours=3) and not article.published_date_only
    only_modified = _page(h1="Zinsen sinken", metas='<meta property="article:modified_time" content="2025-05-16T10:00:00+03:00">')
    assert html_metadata(only_modified).published is None


def test_section_and_publisher_come_from_the_articles_json_ld():
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Zinsen sinken",
          "articleSection": ["Märkte", "Zinsen"], "publisher": {"@type": "Organization", "name": "Börsen-Zeitung"}}
    article = extract_html(_page(ld=ld, h1="Zinsen sinken", metas='<meta property="article:section" content="news">'))
    assert (article.section, article.site) == ("Märkte", "Börsen-Zeitung")
    stated = extract_html(_page(ld=ld, site="BöZ", h1="Zinsen sinken"))
    assert stated.site == "BöZ"  # the site's own og:site_name first
    assert extract_html(_page(h1="Zinsen sinken", metas='<meta property="article:section" content="Märkte">')).section == "Märkte"
