"""Each furniture rule: a line it must cut and a similar story line it must keep."""

import pytest

from extractors import furniture_rules as fr
from extractors.furniture_rules import LineView

ALL_RULES = {rule.name: rule for rule in fr.LABEL_RULES + fr.PREDICATE_RULES}

# rule name -> (furniture line, similar story line)
CASES = {
    "lone_punctuation": ("*", "A."),
    "navigation_label": ("Menu", "The menu at the state dinner included lobster."),
    "share_button": ("Share", "Share prices fell 3% on Monday."),
    "advertisement_label": ("Advertisement", "Advertisement spending rose sharply in the quarter."),
    "read_also_label": ("Read also:", "Read also the small print, she advised."),
    "title_list_header": ("More on US News", "More on that later, he said."),
    "previous_next_link": ("Previous Article", "The previous article of the treaty was struck out."),
    "relative_timestamp": ("16 mins ago", "16 minutes ago, the shooting began, police said."),
    "reply_button": ("Reply", "Reply to the minister came within hours, his office said."),
    "gallery_counter": ("1 of 4", "1 of 4 voters backed the plan."),
    "reading_time": ("Lesezeit: 3 Minuten", "Reading time fell among teenagers, the survey found."),
    "credit_line": ("Photo: Tom Reilly/Getty Images", "Photos of the crash spread quickly online, police said."),
    "photo_credit": (
        "Flavio Briatore walks the paddock Credit: Bryn Lennon/Getty Images",
        "He gave credit to his team for the win.",
    ),
    "credit_in_parentheses": (
        "Hunter Biden arrives for a closed door deposition in Washington. (Jemal Countess/Getty Images)",
        "The bill passed the House (and the Senate) last year.",
    ),
    "embedded_social_post": (
        "— Joe Concha (@JoeConchaTV) February 28, 2024",
        "Joe Concha wrote on February 28, 2024 that ratings fell.",
    ),
    "read_also_inline": (
        "Read also: What is Trump doing with Russia and Ukraine? | Defend Democracy Press",
        "Read also the report, which was released on Monday.",
    ),
    "all_caps_headline_link": (
        "HUNTER BIDEN TESTIFIES HE 'DID NOT INVOLVE' HIS FATHER IN HIS BUSINESSES",
        "THE FACTS: The account that made the post is not affiliated with Mossad.",
    ),
    "rating_widget": ("How useful was this article?", "How useful the deal will be remains unclear, analysts said."),
    "comment_prompt": ("Please leave your comment below!", "He declined to comment on the meeting."),
    "newsletter_promo": (
        "Sign up for our daily newsletter to receive the best stories.",
        "The newsletter, founded in 2019, reported the leak first.",
    ),
    "call_to_action": (
        "Cryptopolitan Academy: Coming Soon - A New Way to Earn Passive Income with DeFi in 2025. Learn More",
        "Investors want to learn more about the fund before committing.",
    ),
    "video_promo": (
        "Watch Reuters’ report on the incident at Putin is open to peace, but not on U.S. terms.",
        "Watchdogs say the report was never published.",
    ),
    "truncated_teaser": (
        "Ukraine has reportedly struck a deal with President Donald Trump. The New York Times reports that some…",
        "“I don’t know,” he said, and paused.",
    ),
    "doubled_headline": (
        "Nikki Haley Just Won’t Quit Nikki Haley Just Won’t Quit",
        "Haley said she would stay in the race, and stay in the race she did.",
    ),
    "site_disclaimer": (
        "We remind our readers that publication of articles on our site does not mean that we agree with what is written.",
        "The minister said she does not agree with the ruling.",
    ),
    "cookie_notice": (
        "When you visit our website, we store cookies on your browser to collect information.",
        "Google said it would stop tracking users with third-party cookies in its Chrome browser next year.",
    ),
    "copyright_credit": ("© Imago/Zoonar/Phil Bird", "He and/or she said the copyright case failed."),
    "copyright_notice": ("© 2024 The Associated Press. All rights reserved.", "The copyright case went to trial."),
    "consent_and_legal_links": ("Privacy Policy", "The company changed its privacy policy after the fine, regulators said."),
    "about_publisher": (
        "The Associated Press is an independent global news organization dedicated to factual reporting.",
        "The Associated Press is an independent witness in the case, the judge said.",
    ),
    "author_bio": (
        "Naomi Fry is a staff writer at The New Yorker.",
        "Naomi Fry met the directors in Albuquerque last month.",
    ),
}


def test_every_rule_has_a_case_and_a_doc():
    assert set(CASES) == set(ALL_RULES)
    for rule in ALL_RULES.values():
        assert rule.doc.strip(), rule.name
        assert rule.reason, rule.name


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_cuts_furniture(name):
    furniture, _ = CASES[name]
    assert ALL_RULES[name].matches(LineView.of(0, furniture))


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_keeps_story_line(name):
    _, story = CASES[name]
    assert not ALL_RULES[name].matches(LineView.of(0, story))
    assert fr.first_matching_rule(LineView.of(0, story)) is None


@pytest.mark.parametrize(
    "line",
    [
        "Anzeige",
        "Meistgelesen",
        "Lire aussi : Canicule : la ville prolonge les horaires des piscines municipales",
        "Abonnez-vous pour 1 € le premier mois",
        "© 2025 Berliner Morgenblatt GmbH. Alle Rechte vorbehalten.",
        "Impressum",
    ],
)
def test_rules_know_common_labels_in_other_languages(line):
    assert fr.first_matching_rule(LineView.of(0, line)) is not None


@pytest.mark.parametrize(
    ("rule", "furniture", "story"),
    [
        ("newsletter_promo", "Get the Morning Report", "Get the report to the minister by Friday, she told staff."),
        (
            "call_to_action",
            "Fox News Flash top headlines are here. Check out what's clicking on Foxnews.com.",
            "Fans can check out the new stadium on opening day, the club said.",
        ),
        (
            "credit_in_parentheses",
            "Emmanuel Macron speaks during a press conference in Paris. (Gonzalo Fuentes/Pool via AP)",
            "The deal was struck via the Paris office (and approved by the board).",
        ),
    ],
)
def test_rule_variants(rule, furniture, story):
    """Further shapes of a rule's furniture, each with a similar story line it keeps."""
    assert ALL_RULES[rule].matches(LineView.of(0, furniture))
    assert fr.first_matching_rule(LineView.of(0, story)) is None


@pytest.mark.parametrize(
    "line",
    ["3 Kommentare", "Kommentare (12)", "10 commentaires", "5 comentarios", "Commenti", "Kommentieren",
     "Die Kommentarfunktion unter diesem Artikel ist geschlossen.", "Les commentaires sont fermés."],
)
def test_comment_threads_in_other_languages_end_the_story(line):
    rule = fr.first_matching_rule(LineView.of(0, line))
    assert rule is ALL_RULES["comment_prompt"]
    assert rule.region_cost == fr.STORY_END_REGION_COST


@pytest.mark.parametrize(
    "line", ["Kommentar", "Kommentar von Nicole Opitz", "Der Kommentar des Ministers fiel knapp aus.",
             "Le commentaire du ministre a surpris."],
)
def test_opinion_labels_and_story_lines_about_comments_are_kept(line):
    """Alone, "Kommentar" labels an opinion piece (a section kicker), not a comment thread."""
    assert fr.first_matching_rule(LineView.of(0, line)) is None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("© Jeff Schmaltz/MODIS Rapid Response Team/NASA GSFC", "photo_credit"),
        ("Der Sicherheitsrat tagt am Montag im UN-Hauptquartier Frank Franklin II/Copyright 2026 The AP. "
         "All rights reserved.", "photo_credit"),
        ("© 2024 CBC/Radio-Canada. All rights reserved.", "copyright"),
        ("Copyright 2024 The Associated Press. All Rights Reserved.", "copyright"),
    ],
)
def test_image_credits_in_copyright_form_do_not_end_the_story(line, reason):
    """A credit under a picture inside the story is no footer: it must not stop the story region."""
    rule = fr.first_matching_rule(LineView.of(0, line))
    assert rule.reason == reason
    assert (rule.region_cost == fr.STORY_END_REGION_COST) == (reason == "copyright")


def test_sign_up_in_a_story_is_kept():
    line = "Residents can sign up for text alerts about the closures on the city’s website."
    assert fr.first_matching_rule(LineView.of(0, line)) is None


def test_first_matching_rule_uses_label_then_predicates():
    assert fr.first_matching_rule(LineView.of(0, "Advertisement")).reason == "advertisement"
    assert fr.first_matching_rule(LineView.of(0, "Average rating 0 / 5. Vote count: 0")).reason == "rating"


def test_triggers_cover_predicates():
    """A predicate rule must not match a line that lacks all its trigger words."""
    for name, (furniture, _) in CASES.items():
        rule = ALL_RULES[name]
        if rule.triggers:
            assert not rule.triggers.isdisjoint(LineView.of(0, furniture).tokens), name


def test_story_end_rules_cost_more_than_lists():
    assert ALL_RULES["comment_prompt"].region_cost > ALL_RULES["title_list_header"].region_cost > 0
    assert ALL_RULES["photo_credit"].region_cost == 0


def test_line_shapes():
    assert LineView.of(0, "The Kremlin is demanding direct negotiations with Ukraine, officials said.").is_prose
    assert not LineView.of(0, "Russia Rejects U.S. Mediation, Wants Ukraine at Table").is_prose
    assert LineView.of(0, "Russia Rejects U.S. Mediation, Wants Ukraine at Table").is_title_like
    assert not LineView.of(0, "Menu").is_title_like
