"""HTML pages through trafilatura, on real pages from fundus-eval (MIT) kept in tests/fixtures/html."""

import datetime as dt
import gzip
from pathlib import Path

from extractors.dispatch import extract_many
from extractors.html_extraction import extract_html, html_language

PAGES = Path(__file__).parent / "fixtures" / "html"


def _page(name: str) -> str:
    path = PAGES / name
    return gzip.decompress(path.read_bytes()).decode("utf-8") if name.endswith(".gz") else path.read_text("utf-8")


def test_real_page_gives_story_and_metadata():
    article = extract_html(_page("FreeBeacon_2.html.gz"))
    assert article.extractor == "trafilatura"
    assert article.title and article.site and article.published_at is not None
    assert article.language == "en"
    assert len(article.paragraphs) >= 5 and "\n\n" in article.body
    assert article.title not in article.paragraphs


def test_page_without_a_story_is_refused_by_the_dispatcher():
    (result,) = extract_many([("html", "<html lang='de'><body><nav><a href='/'>Start</a></nav></body></html>", None)])
    assert result.article is None and "no story text" in result.error


def test_language_falls_back_to_the_text_when_the_page_does_not_declare_it():
    story = "".join(
        f"<p>Le gouvernement a présenté mercredi un projet de loi sur les retraites numéro {i}, "
        "et les syndicats ont annoncé une journée de grève dans tout le pays.</p>"
        for i in range(6)
    )
    article = extract_html(f"<html><body><article><h1>Retraites</h1>{story}</article></body></html>")
    assert article.body and article.language == "fr"


def test_helpers():
    assert html_language('<html class="x" lang="en-GB">') == "en"
    assert html_language("<html>") is None


WEB_PAGES = Path(__file__).parent / "fixtures" / "web" / "pages"


def _web_page(name: str) -> str:
    return gzip.decompress((WEB_PAGES / name).read_bytes()).decode("utf-8")


def test_live_blog_falls_back_to_readability_and_keeps_the_page_metadata():
    """TheTelegraph_1 (fundus-eval), a live blog: its posts sit in markup trafilatura's precision
    mode drops, so it keeps the ~100-word standfirst; readability scores the posts' container
    highest and finds the story (ground truth ~5,300 words; bench: recall 0.02 -> 0.91)."""
    article = extract_html(_web_page("TheTelegraph_1.html.gz"))
    assert article.extractor == "readability"
    assert len(article.body.split()) > 4000 and len(article.paragraphs) > 100
    assert "Pop goes to Dua Lipa, which is fair enough" in article.body
    assert article.title.startswith("Brit Awards 2024 Live")  # the page's metadata, kept
    assert article.site == "The Telegraph" and article.language == "en"
    assert article.published_at == dt.datetime(2024, 3, 2, 21, 44, tzinfo=dt.timezone.utc)  # as its meta tags state it


def test_story_in_markup_trafilatura_drops_is_rescued_by_readability():
    """A real story (FoxNews_0's paragraphs) served the way some CMSs do: each paragraph a
    <div class="share-tools-paragraph"> inside an <aside>. trafilatura discards asides and
    "share" blocks as furniture and keeps nothing; readability scores the container by its
    text and commas and returns the paragraphs."""
    import html as html_lib

    import trafilatura

    paragraphs = [p for p in extract_html(_web_page("FoxNews_0.html.gz")).paragraphs if len(p.split()) > 12][:8]
    divs = "".join(f'<div class="share-tools-paragraph">{html_lib.escape(p)}</div>' for p in paragraphs)
    page = (
        "<html lang='en'><head><title>Andy Kim gains traction in New Jersey Senate bid | Fox News</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/politics'>Politics</a></nav>"
        f"<aside class='article-share'>{divs}</aside>"
        "<footer><a href='/privacy'>Privacy</a> <a href='/terms'>Terms of use</a></footer></body></html>"
    )
    assert len((trafilatura.extract(page, favor_precision=True) or "").split()) < 50
    article = extract_html(page)
    assert article.extractor == "readability"
    assert article.paragraphs == paragraphs
    assert article.title == "Andy Kim gains traction in New Jersey Senate bid"  # site suffix cut
    assert article.language == "en"


def test_short_story_trafilatura_reads_well_stays_trafilatura():
    """Reuters_0 is a real 83-word wire brief: short, but readability finds no more of it."""
    article = extract_html(_web_page("Reuters_0.html.gz"))
    assert article.extractor == "trafilatura"
    assert 50 < len(article.body.split()) < 150


def test_pages_trafilatura_handles_well_keep_their_body():
    for name in ("APNews_0.html.gz", "TheGuardian_1.html.gz", "TheNewYorker_0.html.gz"):
        article = extract_html(_web_page(name))
        assert article.extractor == "trafilatura" and len(article.body.split()) > 150, name


def _story_page(description: str, standfirst_block: str) -> str:
    story = "".join(
        f"<p>The council approved the new budget on Tuesday after a long debate about schools number {i}, "
        "and the mayor said the plan would be published in full next week.</p>"
        for i in range(6)
    )
    return (f'<html><head><meta name="description" content="{description}"></head><body><article>'
            f"<h1>Council approves budget</h1>{standfirst_block}{story}</article></body></html>")


def test_the_meta_description_is_the_standfirst_only_where_the_page_shows_it():
    shown = "After months of wrangling, the city has a budget for next year."
    article = extract_html(_story_page(shown, f'<p class="standfirst">{shown}</p>'))
    assert article.subtitle == shown
    seo_blurb = "Read the latest news on the council budget, schools and taxes in our city."
    assert extract_html(_story_page(seo_blurb, "")).subtitle is None
    # shown with its words in links and emphasis, inside a block of a few children: still shown
    linked = '<p><a href="/city">After</a> months of <b>wrangling</b>, the city has a budget for next year.</p>'
    assert extract_html(_story_page(shown, linked)).subtitle == shown
    # a script that holds the text (structured data, a tracking call) is no block a reader sees
    in_script = f'<div><script>dataLayer.push({{"description": "{shown}"}})</script></div>'
    assert extract_html(_story_page(shown, in_script)).subtitle is None


def test_furniture_inside_the_story_markup_is_cut_with_its_reason():
    """trafilatura keeps what sits inside <article>: the headline again, a photo credit, an embedded
    post's signature, a related story's link set in capitals. The furniture line rules cut them,
    each a segment with its reason, and the story paragraphs stay, in order."""
    paragraphs = [f"The council approved the new budget on Tuesday after a long debate about schools number {i}, "
                  "and the mayor said the plan would be published in full next week." for i in range(6)]
    furniture = {
        "Council approves budget": "title",
        "The mayor at the town hall on Tuesday. Photo: Jane Doe/Reuters": "photo_credit",
        "Taxes in the city — Mayor Smith (@mayorsmith) May 2, 2024": "embedded_post",
        "HUNTER BIDEN TESTIFIES BEFORE CONGRESS ON TAXES": "related_links",
    }
    blocks = ["Council approves budget", *paragraphs[:3], *list(furniture)[1:3], *paragraphs[3:], list(furniture)[3]]
    html = ("<html><head><title>Council approves budget</title></head><body><article>"
            + "".join(f"<p>{block}</p>" for block in blocks) + "</article></body></html>")
    article = extract_html(html)
    assert article.title == "Council approves budget"
    assert article.paragraphs == paragraphs
    assert {segment.text: segment.reason for segment in article.cut} == furniture


def test_trafilatura_findings_are_what_extract_metadata_finds(monkeypatch):
    """The on-demand findings (byline and date searched only when asked) agree field by field with
    trafilatura's own extract_metadata, its JSON-LD reader left out as the findings leave it out, on
    every stored page, the on-demand ones included."""
    import trafilatura
    import trafilatura.metadata
    from trafilatura.utils import load_html

    monkeypatch.setattr(trafilatura.metadata, "extract_meta_json", lambda tree, metadata: metadata)

    from extractors.html_extraction import TrafilaturaFindings

    pages = [_page(p.name) for p in sorted(PAGES.iterdir())] + [_web_page(p.name) for p in sorted(WEB_PAGES.glob("*.html.gz"))]
    assert len(pages) >= 10
    for html in pages:
        url = "https://news.example/story"
        expected = trafilatura.extract_metadata(html, default_url=url)
        found = TrafilaturaFindings(load_html(html), url)
        for field in ("title", "description", "url", "hostname", "sitename", "categories", "author", "date"):
            assert getattr(found, field) == getattr(expected, field), (field, html[:200])


def test_code_is_dropped_before_trafilatura_but_json_ld_and_following_text_stay():
    from trafilatura.utils import load_html

    from extractors.html_extraction import _drop_code

    tree = load_html('<html><head><style>p{}</style><script type="application/ld+json">{"@type": "NewsArticle"}'
                     '</script></head><body><p>Erster Satz.<script>var x = "not text";</script> Zweiter Satz.</p>'
                     '<noscript>Bitte JavaScript aktivieren</noscript><div>Ende</div></body></html>')
    _drop_code(tree)
    assert [s.get("type") for s in tree.iter("script")] == ["application/ld+json"]
    assert not list(tree.iter("style", "noscript"))
    assert tree.find(".//p").text_content() == "Erster Satz. Zweiter Satz."
    assert tree.find(".//div").text == "Ende"
