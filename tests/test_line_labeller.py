"""The learned line labeller: shipped in the package, deterministic, explained, and picking the right region."""

from __future__ import annotations

import importlib.resources
import re
import sys
from pathlib import Path

import numpy as np

from extractors.dispatch import extract_checked
from extractors.line_labeller import FEATURE_NAMES, MODEL_PATH, STORY_THRESHOLD, _booster, judge, line_features
from extractors.text_cleaning import clean_text, rule_view

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "data" / "seeds").glob("*.txt"))
sys.path.insert(0, str(ROOT / "scripts"))

STORY = [
    "The Kremlin is demanding direct negotiations with Ukraine, rejecting U.S.-led diplomatic channels, "
    "a spokesperson said on Thursday, adding that talks must begin without preconditions.",
    "However, a 2022 decree signed by Ukrainian President Volodymyr Zelenskyy makes such talks illegal, "
    "according to Reuters, and officials in Kyiv said the decree would stand.",
    "The deal is already drawing interest from U.S. defense and energy firms, with proceeds earmarked "
    "exclusively for rebuilding Ukraine’s postwar economy over the next decade.",
    "Analysts said the agreement could reshape the region’s economy, but warned that the war made any "
    "forecast uncertain and that investors would wait for a ceasefire before committing money.",
]
COOKIE_NOTICE = [
    "We value your privacy",
    "We and our partners use cookies and similar technologies to store and access information on your device, "
    "to measure audiences, to personalise the content and the advertising you see and to improve our services.",
    "By clicking accept you agree to the processing of your personal data by us and our 143 partners, "
    "and you can change your choices at any time by visiting the privacy settings linked in the footer of every page.",
    "Some partners process data on the basis of legitimate interest, which you can object to in the settings, "
    "and the list of partners with the purposes they pursue is available from the same settings page.",
    "Accept all",
    "Manage preferences",
]
COMMENTS = [
    "Comments (214)",
    "patriot_dave",
    "3 hours ago",
    "This is exactly what I have been saying for years and nobody listens, the whole thing is a setup "
    "from start to finish and the media will never admit it, wake up people before it is too late!!",
    "Reply",
    "MaryK",
    "2 hours ago",
    "Totally agree with you Dave, my brother told me the same thing last week and he was right about "
    "everything so far, they just do not want us to know what is really going on over there.",
    "Reply",
    "jimbo77",
    "1 hour ago",
    "You people believe anything you read on the internet, go and check the facts for once in your life "
    "instead of repeating what some random account posted, it is embarrassing to read this every day.",
    "Reply",
    "Load more comments",
]
TEASERS = [
    "More videos",
    "Watch: Floods hit the north as rivers burst their banks",
    "32M ago",
    "Watch: Minister defends budget in heated interview",
    "1H ago",
    "Watch: Fans celebrate late winner in cup final",
    "2H ago",
    "Watch: What the new rules mean for your energy bill",
    "5H ago",
]


def test_model_ships_in_the_package_small_and_loads():
    shipped = importlib.resources.files("extractors") / "data" / "line_labeller.txt"
    assert Path(str(shipped)) == MODEL_PATH and MODEL_PATH.stat().st_size < 10_000_000
    _, _, view = rule_view("\n".join(STORY))
    scores = judge(line_features(view)).scores
    assert scores.shape == (len(STORY),) and np.all((0 <= scores) & (scores <= 1))
    assert line_features(view).shape[1] == len(FEATURE_NAMES)


def test_scores_read_from_the_leaves_are_the_models_own_predictions():
    """`judge` sums the leaf values it reached instead of predicting twice: the same probabilities."""
    pages = [seed.read_text() for seed in SEEDS] + [_page(COOKIE_NOTICE, STORY, TEASERS, COMMENTS)]
    for text in pages:
        features = line_features(rule_view(text)[2])
        judged = judge(features)
        assert judged.leaves.shape == (len(features), _booster(MODEL_PATH).num_trees())
        np.testing.assert_allclose(judged.scores, _booster(MODEL_PATH).predict(features, num_threads=1), rtol=0, atol=1e-12)


def test_the_regular_expressions_skipped_by_their_cheap_checks_would_not_have_matched():
    """`_text_shape` runs the time-stamp, date and URL expressions only where their literal parts
    occur; on every line of the seeds and on lines made to match them, the shapes equal those the
    expressions give when run on every line."""
    from extractors import line_labeller as labeller
    from extractors.furniture_rules import LineView
    from extractors.language import language_scores

    tricky = ["Updated 5 min ago", "32M ago", "Posted yesterday", "TODAY", "il y a 3 heures", "il y a une heure",
              "a moment ago", "vor 2 Stunden", "hace 4 horas", "14:05", "2024-01-31", "Jan 5", "5. März 2024", "Follow @newsdesk", "#breaking",
              "https://example.org/a", "www.example", "example.co.uk", "bbc.com", "spiegel.de", "lemonde.fr",
              "A plain line with no stamp, link or number in it"]
    lines = [line for seed in SEEDS for line in seed.read_text().split("\n") if line.strip()] + tricky
    for position, text in enumerate(lines):
        line = LineView.of(position, text)
        shape = labeller._text_shape(line, language_scores(line.tokens), "en")
        expected = (labeller._TIME_STAMP.search(line.text) is not None, labeller._DATE.search(line.text) is not None,
                    len(labeller._HANDLE_OR_URL.findall(line.text)))
        assert shape[12:15] == expected, text
    assert sum(shape[12] for shape in [labeller._text_shape(LineView.of(0, t), language_scores([]), None)
                                       for t in tricky]) >= 8


def test_training_is_deterministic():
    """Two trainings on the same rows give the same model text, byte for byte (the full run: --check)."""
    import train_labeller

    documents = [d for d in train_labeller.load_seed_documents()]
    rows = [train_labeller.document_rows(d, frozenset()) for d in documents]
    first, second = (train_labeller.train(rows, rounds=20).model_to_string() for _ in range(2))
    assert first == second and "tree" in first


def test_every_model_cut_reads_as_its_score_and_strongest_features():
    pattern = re.compile(r"^model: story score (\d\.\d\d); strongest: (\w+(?:@[+-]\d)?=[-\d.]+)(, \w+(?:@[+-]\d)?=[-\d.]+)*$")
    model_cuts = []
    for seed in SEEDS:
        model_cuts += [c.reason for c in clean_text(seed.read_text()).cut if c.reason.startswith("model")]
    assert model_cuts, "no line of the seeds was cut by the model"
    for reason in model_cuts:
        match = pattern.match(reason)
        assert match, reason
        assert float(match.group(1)) < STORY_THRESHOLD


def _page(*blocks: list[str]) -> str:
    return "\n".join(line for block in blocks for line in (*block, ""))


def test_the_story_wins_over_a_cookie_notice_comments_and_teasers():
    text = _page(["Menu", "World", "Politics"], COOKIE_NOTICE, ["Ukraine talks stall as Kremlin demands direct deal"],
                 STORY, TEASERS, COMMENTS, ["About us", "Contact"])
    article = clean_text(text)
    assert article.paragraphs == STORY
    furniture = set(COOKIE_NOTICE + COMMENTS + TEASERS)
    assert not furniture & set(article.paragraphs)


def test_a_comment_thread_longer_than_the_story_is_not_the_story():
    """Readers' prose under a comment counter ("12 Kommentare") can outweigh a short story; the story still wins.

    Scores are set by hand (all prose sure story) so the region step alone is judged.
    """
    from extractors.text_cleaning import _evidence_run, _model_region

    thread = []
    for n in range(3):
        for comment in (COMMENTS[3], COMMENTS[7], COMMENTS[11]):
            thread += [f"reader_{n}", comment]
    text = _page(["Ukraine talks stall as Kremlin demands direct deal"], STORY, ["12 Kommentare"], thread)
    _, page, view = rule_view(text)
    scores = np.array([0.95 if line.is_prose else 0.05 for line in view.lines])
    _, best_run = _evidence_run(page, view, scores, len(view.lines))
    assert best_run[0] > 1 + len(STORY), "the thread alone must outweigh the story for this test to mean anything"
    assert _model_region(page, view, scores) == (1, 1 + len(STORY))


def test_a_page_without_a_story_is_a_failure_not_an_article():
    text = _page(["Menu", "World", "Politics"], COOKIE_NOTICE, TEASERS, COMMENTS, ["About us", "Contact"])
    result = extract_checked("text", text)
    assert result.article is None
    assert result.error.startswith("no story text found: ")
