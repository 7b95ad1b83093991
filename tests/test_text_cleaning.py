"""clean_text on small pages built from real dump lines."""

import datetime as dt

import pytest

from extractors.text_cleaning import RECURRING_MIN_DOCS, clean_text, line_key, recurring_keys

P1 = (
    "The Kremlin is demanding direct negotiations with Ukraine, rejecting U.S.-led diplomatic channels, "
    "a spokesperson said on Thursday."
)
P2 = (
    "However, a 2022 decree signed by Ukrainian President Volodymyr Zelenskyy makes such talks illegal, "
    "according to Reuters."
)
P3 = (
    "The deal is already drawing interest from U.S. defense and energy firms, with proceeds earmarked "
    "exclusively for rebuilding Ukraine’s postwar economy."
)
SUBHEAD = "Kremlin Blasts ‘Sell-Off’ of Ukrainian Wealth"

PAGE = "\n".join(
    [
        "Menu",
        "World",
        "Politics",
        "",
        "US pulling out of Ukraine-Russia peace talks after mineral deal",
        "",
        "by Craig Nigrelli",
        "",
        "May 2, 2025",
        "",
        P1,
        "",
        "Read also:",
        "D’un président à l’autre : Emmanuel Macron versus Napoléon III",
        "",
        P2,
        "",
        SUBHEAD,
        "",
        P3,
        "",
        "Please leave your comment below!",
        "",
        "How useful was this article?",
        "Privacy Policy",
    ]
)


def non_blank_positions(text):
    return {i for i, line in enumerate(text.split("\n")) if line.strip()}


class TestPage:
    article = clean_text(PAGE)

    def test_body_is_the_story_in_order(self):
        assert self.article.paragraphs == [P1, P2, SUBHEAD, P3]

    def test_metadata(self):
        assert self.article.title == "US pulling out of Ukraine-Russia peace talks after mineral deal"
        assert self.article.authors == ["Craig Nigrelli"]
        assert self.article.published_at == dt.datetime(2025, 5, 2)
        assert self.article.language == "en"
        assert self.article.extractor == "text-labeller"
        assert self.article.subtitle is None

    def test_cut_reasons(self):
        reasons = {c.position: c.reason for c in self.article.cut}
        assert reasons[4] == "title"
        assert reasons[6] == "byline"
        assert reasons[8] == "dateline"
        assert reasons[12] == reasons[13] == "related_links"
        assert reasons[21] == "comments"
        assert reasons[23] == "rating"

    def test_body_and_cuts_account_for_every_line(self):
        lines = PAGE.split("\n")
        kept = {i for i, line in enumerate(lines) if line.strip() in self.article.paragraphs}
        cut = {c.position for c in self.article.cut}
        assert kept | cut == non_blank_positions(PAGE)
        assert not kept & cut
        assert all(lines[c.position] == c.text for c in self.article.cut)


def test_first_line_paragraph_is_not_promoted_to_title():
    text = "\n".join([P1, P2, "Ukraine nears deal with the US, but Russian-occupied territories block access", P3])
    article = clean_text(text)
    assert article.title is None
    assert article.paragraphs[0] == P1
    assert len(article.paragraphs) == 4


def test_standfirst_after_title():
    text = "\n".join(
        [
            "Kremlin ERUPTS Over Trump’s Backdoor Diplomacy!",
            "As Russia demands direct peace talks with Ukraine, a lucrative mineral pact ignites Kremlin fury.",
            "At a Glance",
            P1,
            P2,
        ]
    )
    article = clean_text(text)
    assert article.title == "Kremlin ERUPTS Over Trump’s Backdoor Diplomacy!"
    assert article.subtitle.startswith("As Russia demands")
    assert article.paragraphs == ["At a Glance", P1, P2]


def test_heading_above_a_story_list_scores_as_the_list():
    """The sequence step: a heading over key points opens the story with them (seed 000's "At a Glance")."""
    import numpy as np

    from extractors.line_labeller import STORY_THRESHOLD
    from extractors.text_cleaning import _headings_follow_paragraphs, rule_view

    points = [
        "Russia calls for peace talks directly with Ukraine, excluding U.S. negotiators",
        "Ukraine signs a joint investment pact granting the U.S. access to strategic minerals",
        "A 2022 Ukrainian decree blocks any peace with Russia under Vladimir Putin",
    ]
    _, _, view = rule_view("\n\n".join(["At a Glance", *points, P1]))
    listed = _headings_follow_paragraphs(view, np.array([0.45, 0.7, 0.7, 0.6, 0.99]))
    assert listed[0] == pytest.approx(np.mean([0.7, 0.7, 0.6]))
    assert listed[0] > STORY_THRESHOLD
    one_teaser = _headings_follow_paragraphs(view, np.array([0.45, 0.7, 0.3, 0.6, 0.99]))
    assert one_teaser[0] == 0.45


def test_kanji_only_lines_of_a_japanese_story_are_not_another_language():
    """Japanese writes place lists and names in kanji alone, which read as Chinese; on a Japanese page they stay."""
    places = "大分県：大分市、臼杵市、佐伯市、竹田市"
    text = "\n".join([
        "気象庁は13日、午後9時19分ごろ、日向灘で震度5弱の地震があったと発表した。震源の深さは約30キロで、"
        "津波注意報が出されたが、その後解除された。",
        "各地の震度は次のとおり。",
        places,
        "宮崎県では一時、停電が発生したが、けが人の情報は入っていないという。気象庁は今後の地震に注意するよう呼びかけている。",
    ])
    article = clean_text(text)
    assert article.language == "ja"
    assert "foreign_language" not in {c.reason for c in article.cut if c.text == places}


def test_caption_date_is_not_the_publication_date():
    caption = (
        "FILE – Vice President JD Vance speaks with Ukrainian President Volodymyr Zelenskyy at the White House, "
        "Feb. 28, 2025, in Washington. (AP Photo/ Mystyslav Chernov, File)"
    )
    article = clean_text("\n".join(["US-Led Ukraine Talks Offer Kremlin Strategic Gains", caption, P1, P2]))
    assert article.published_at is None
    assert {c.reason for c in article.cut if c.text == caption} == {"photo_credit"}


def test_sidebar_in_another_language_is_cut():
    sidebar = "Tempo Libero 24 ore ago “Teatri Aperti 2025”: un viaggio tra i palcoscenici della storia e del cuore"
    article = clean_text("\n".join([P1, P2, P3, sidebar]))
    assert sidebar not in article.body
    assert {c.reason for c in article.cut if c.text == sidebar} == {"foreign_language"}


def test_menus_outside_the_story_are_cut():
    menu = ["World", "Israel-Hamas War", "Russia-Ukraine War", "Latin America", "Europe"]
    article = clean_text("\n".join(menu + [P1, P2] + menu))
    assert article.paragraphs == [P1, P2]


def test_orphan_heading_over_cut_teasers_is_cut():
    text = "\n".join(
        [
            P1,
            "Timeline",
            "Trump aims for Ukraine peace deal in ‘two weeks or less’",
            "President Donald Trump said he hopes to finalize a Russia-Ukraine peace agreement. What did Trump…",
            SUBHEAD,
            P2,
        ]
    )
    article = clean_text(text)
    assert article.paragraphs == [P1, SUBHEAD, P2]
    reasons = {c.text: c.reason for c in article.cut}
    assert reasons["Timeline"].split(":")[0] in {"orphan_heading", "model"}
    assert reasons["Trump aims for Ukraine peace deal in ‘two weeks or less’"] == "teaser"


class TestRecurrence:
    footer = "Contact Us"

    def test_line_key_ignores_case_punctuation_and_numbers(self):
        assert line_key("Updated 5 mins ago") == line_key("updated  16 MINS ago!")
        assert line_key("Contact Us") != line_key("Contact Them")

    def test_recurring_keys_count_distinct_documents(self):
        docs = ["Contact Us\nContact Us\nA", "Contact Us\nB", "B\nC"]
        assert recurring_keys(docs, min_docs=2) == {line_key("Contact Us"), line_key("B")}
        assert recurring_keys(docs, min_docs=3) == frozenset()
        assert RECURRING_MIN_DOCS >= 2

    def test_short_recurring_line_is_cut(self):
        text = "\n".join([P1, self.footer, P2])
        article = clean_text(text, recurring={line_key(self.footer)})
        assert self.footer not in article.body
        assert {c.reason for c in article.cut if c.text == self.footer} == {"recurring"}

    def test_syndicated_prose_is_kept(self):
        recurring = {line_key(p) for p in (P1, P2, P3)}
        article = clean_text("\n".join(["Menu", P1, P2, P3]), recurring=recurring)
        assert article.paragraphs == [P1, P2, P3]


def test_teaser_card_inside_the_story_is_cut():
    card = [
        "Lifestyle",
        "11 ideas perfect for solo dates in L.A.",
        "From self-care treatments to intentional creative play, we selected solo activities for you.",
        "Feb. 26, 2024",
    ]
    article = clean_text("\n".join([P1, *card, P2, P3]))
    assert article.paragraphs == [P1, P2, P3]
    reasons = {c.text: c.reason for c in article.cut}
    assert reasons["Feb. 26, 2024"] == "dateline"
    assert reasons["11 ideas perfect for solo dates in L.A."] == "teaser"


def test_read_more_box_takes_all_its_headlines():
    box = [
        "READ MORE",
        "Judge rules Prince Harry was not unfairly stripped of UK security detail",
        "Pope Francis is taken briefly to a Rome hospital for tests after his weekly audience",
        "A top EU official calls for a new defense industry strategy with locally made arms",
    ]
    article = clean_text("\n\n".join([P1, "\n".join(box), P2, P3]))
    assert article.paragraphs == [P1, P2, P3]
    assert {c.reason for c in article.cut} == {"related_links"}


def test_story_subheading_under_a_read_more_link_is_kept():
    link = "Read more\nJudge rules Prince Harry was not unfairly stripped of UK security detail"
    article = clean_text("\n\n".join([P1, link + "\n" + SUBHEAD, P2, P3]))
    assert article.paragraphs == [P1, SUBHEAD, P2, P3]


def test_caption_above_a_credit_line_is_cut():
    caption = "Volunteers hand out water at the 20-kilometre mark in Eastport."
    article = clean_text("\n".join([P1, caption, "Photo: Ana Ruiz/Getty Images", P2]))
    assert article.paragraphs == [P1, P2]
    assert {c.text: c.reason for c in article.cut}[caption] == "photo_credit"


def test_kicker_and_byline_with_role():
    text = "\n".join(
        [
            "Obituaries",
            "Local",
            "Water main replacement will close parts of Front Street for six weeks",
            "By Karen Liu, Staff Writer",
            "March 4, 2025",
            P1,
            P2,
        ]
    )
    article = clean_text(text)
    assert article.section == "Local"
    assert article.authors == ["Karen Liu"]
    assert article.published_at == dt.datetime(2025, 3, 4)
    assert article.title == "Water main replacement will close parts of Front Street for six weeks"


def test_metadata_nearest_the_story_wins_over_a_sidebar():
    text = "\n".join(
        [
            "Latest News",
            "White House in Panic Mode Over Michigan Ballot Protest Against Biden: Report",
            "Matthew Xiao",
            "February 27, 2024",
            "Texas Senator Throws Hat in the Ring To Replace McConnell as GOP Leader",
            "Charles Hilu",
            "February 29, 2024",
            P1,
            P2,
        ]
    )
    article = clean_text(text)
    assert article.title == "Texas Senator Throws Hat in the Ring To Replace McConnell as GOP Leader"
    assert article.authors == ["Charles Hilu"]
    assert article.published_at == dt.datetime(2024, 2, 29)


def test_empty_and_blank_input():
    for text in ("", "\n \n\t\n"):
        article = clean_text(text)
        assert article.body == ""
        assert article.cut == []
        assert article.title is None


def test_names_only_line_under_the_standfirst_is_the_byline():
    text = "\n".join(
        [
            "On the Brink of a Government Shutdown—Again",
            "For the fourth time since January, Congress is facing a deadline to fund essential spending priorities.",
            "Chris Lehmann",
            "Share",
            P1,
            P2,
        ]
    )
    article = clean_text(text)
    assert article.authors == ["Chris Lehmann"]
    assert article.subtitle.startswith("For the fourth time")
    assert article.paragraphs == [P1, P2]
