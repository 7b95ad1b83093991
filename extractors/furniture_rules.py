"""Page-furniture rules for plain-text dumps, declared as data.

Each rule is a named `FurnitureRule`: a reason code (what lands in
`boilerplate_segments.reason`), a docstring saying which furniture it
targets, and a predicate. Line rules look at one line's text; page rules
look at the whole page (position, structure, language, recurrence across
documents). The machinery that applies them lives in `text_cleaning`; rules
stay thin and general: nothing here may be tuned to one publisher or page.

`takes` says which neighbours go with a matched line: a "Read also:" label
takes the linked title next to it, a "Most viewed" header takes the list of
titles that follows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import NamedTuple

from extractors.text_metadata import parse_meta_line
from extractors.words import token_count

_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]]*$")
_WORD = re.compile(r"[^\W_]+")


class LineView(NamedTuple):
    """One non-blank input line with the shape features rules look at.

    A named tuple: one is built per input line, so construction cost counts.
    """

    position: int
    text: str
    tokens: list[str]
    """Lowercased words (letters and digits)."""
    words: int
    is_prose: bool
    """Reads like story text: a sentence of some length, not a label."""
    is_title_like: bool
    """Shaped like a linked headline: short, no closing full stop."""

    @classmethod
    def of(cls, position: int, text: str) -> LineView:
        stripped = text.strip()
        tokens = _WORD.findall(stripped.lower())
        words = token_count(tokens)
        is_prose = words >= 20 or (words >= 8 and _SENTENCE_END.search(stripped) is not None)
        is_title_like = 2 <= words <= 24 and not stripped.endswith((".", "!", ":", ";"))
        return cls(position, stripped, tokens, words, is_prose, is_title_like)


UNLIMITED = 10_000
LABEL_MAX_WORDS = 10
STORY_END_REGION_COST = 1000
LIST_REGION_COST = 50
_LABEL_END = r"\s*:?"

METADATA_REASONS = ("title", "subtitle", "byline", "dateline", "section")
"""Reason codes of header lines moved into the article's metadata (not furniture)."""


class Takes(Enum):
    """Neighbouring lines a rule cuts together with the line it matched."""

    NOTHING = "nothing"
    LINKED_TITLE = "linked_title"
    """The adjacent title-shaped line (the link a label introduces or closes)."""
    TITLE_LIST = "title_list"
    """The following run of short lines (a list of linked headlines)."""
    TEASER_TITLE = "teaser_title"
    """The title-shaped line before it (the headline of a teaser)."""
    PREVIOUS_LINE = "previous_line"
    """The line before it, whatever its shape (the text of an embedded post)."""
    CAPTION = "caption"
    """The caption-length line right above it (a photo caption above its credit)."""


@dataclass(frozen=True, slots=True)
class FurnitureRule:
    """A named, documented test that marks a line as page furniture.

    Either `labels` (regexes one of which the whole line must match,
    case-insensitive) or `predicate` (a function of the line) decides; `doc`
    says what furniture the rule targets.
    """

    name: str
    reason: str
    doc: str
    labels: tuple[str, ...] = ()
    predicate: Callable[[LineView], bool] | None = None
    takes: Takes = Takes.NOTHING
    max_words: int = UNLIMITED
    """Longer lines are never this furniture; lets long prose skip the rule."""
    region_cost: int = 0
    """How many words of story prose the main-content region must gain to
    extend across this furniture: high for what sits where a story ends
    (comment box, rating widget), moderate for headline lists, which also
    appear as boxes inside a story."""
    triggers: frozenset[str] = frozenset()
    """Words one of which every matching line contains (empty: no such word).
    The predicate runs only on lines containing a trigger, so testing a page
    costs a dictionary lookup per word instead of every regex on every line."""

    def matches(self, line: LineView) -> bool:
        if line.words > self.max_words:
            return False
        if self.labels:
            return re.fullmatch("(?:" + "|".join(self.labels) + ")" + _LABEL_END, line.text, re.IGNORECASE) is not None
        if self.triggers and self.triggers.isdisjoint(line.tokens):
            return False
        return self.predicate is not None and self.predicate(line)


LABEL_RULES: list[FurnitureRule] = []
PREDICATE_RULES: list[FurnitureRule] = []


def label_rule(
    name: str, reason: str, doc: str, *labels: str, takes: Takes = Takes.NOTHING, region_cost: int = 0
) -> FurnitureRule:
    """Declare a rule for lines that are exactly one of `labels` (regexes)."""
    rule = FurnitureRule(name, reason, doc, labels=labels, takes=takes,
                         max_words=LABEL_MAX_WORDS, region_cost=region_cost)
    LABEL_RULES.append(rule)
    return rule


def line_rule(
    reason: str,
    triggers: str = "",
    takes: Takes = Takes.NOTHING,
    max_words: int = UNLIMITED,
    region_cost: int = 0,
) -> Callable[[Callable[[LineView], bool]], FurnitureRule]:
    """Register a line predicate as a rule; its docstring documents the rule.

    `triggers` is a space-separated word list (see `FurnitureRule.triggers`).
    """

    def register(predicate: Callable[[LineView], bool]) -> FurnitureRule:
        rule = FurnitureRule(predicate.__name__, reason, predicate.__doc__ or "", predicate=predicate,
                             takes=takes, max_words=max_words, region_cost=region_cost,
                             triggers=frozenset(triggers.split()))
        PREDICATE_RULES.append(rule)
        return rule

    return register


_PHOTO_CREDIT = re.compile(
    r"\((?:AP|Reuters|AFP|Getty)?\s*Photo|\bPhotograph:|\bPhoto(?:graph)?s?(?: credit)?:|\bCredit:|"
    r"\bImage(?: credit)?:|\bPicture:|\bGetty Images\b|\bShutterstock\b|\bAlamy\b|\bREUTERS/|\bAFP via\b|"
    r"\bIllustration by\b|\bCartoon by\b|\bPhoto by\b|\bPhotos? via\b|^(?:FILE|File)\s*[-–—]|"
    r"^View image in fullscreen$|^Image \d+ of \d+",
)
_RATING = re.compile(
    r"how (?:useful|helpful) was this|click on a star|rate this (?:article|story)|average rating|"
    r"vote count|no votes so far|was this (?:article|story) (?:useful|helpful)|be the first to rate",
    re.IGNORECASE,
)
_COMMENT_WORDS = r"(?:kommentar|kommentare|kommentarer|commentaires?|comentarios?|commenti|commento|komentarze?|reacties|reactie|kommentit|yorumlar?)"
"""A comment counter's noun in other languages ("12 Kommentare", "1 commentaire")."""
_COMMENT_PLURALS = r"(?:kommentare|kommentarer|commentaires|comentarios|commenti|komentarze|reacties|kommentit|yorumlar)"
"""Alone, the heading of a comment thread ("Kommentare (3)"); alone, "Kommentar" labels an opinion piece."""
_COMMENT_VERBS = r"(?:kommentieren|commenter|comentar|commenta|komentuj|kommentér|kommenter)"
_COMMENTS = re.compile(
    r"leave (?:a|your) comments?|join the (?:conversation|discussion)|add a comment|be the first to comment|"
    r"^\d+ comments?$|comments? (?:are|have been) closed|post a comment|values your comments|"
    r"to join the conversation|comments powered by|enable javascript to view the comments|"
    r"^comments?\s*\(\d+\)$|^(?:load|show|view) (?:more|all|\d+) (?:comments|replies)$|"
    rf"^\d+ {_COMMENT_WORDS}$|^(?:{_COMMENT_PLURALS}|{_COMMENT_VERBS})(?: \(?\d+\)?)?$|"
    r"\bkommentarfunktion\b|^(?:beitrag|artikel) kommentieren\b|\bcommentaires? (?:sont )?fermés\b|"
    r"\bcomentarios? (?:están )?cerrados\b",
    re.IGNORECASE,
)
_NEWSLETTER = re.compile(
    r"^(?:sign up|subscribe|get (?:our|the) (?:\w+ )?newsletter|enter your e-?mail|skip past newsletter|"
    r"after newsletter promotion|by signing up|you(?:'ve|’ve| have) (?:successfully )?subscribed|"
    r"already a subscriber|subscribed$|for subscribers$)|\bnewsletters?\b.*\b(?:sign up|subscribe|inbox|delivered)\b|"
    r"\b(?:sign up|subscribe)\b.*\b(?:newsletters?|inbox)\b|\b(?:delivered|straight) to your inbox\b|"
    r"^(?:join|get) (?:our|the) [\w ]{0,30}newsletter|^get (?:our|the) [\w ]{1,30}(?:briefing|digest|report|bulletin|roundup)\W*$|"
    r"valid e-?mail address|"
    r"^by (?:entering|providing|submitting) your e-?mail|^e-?mail address$|^arrives \w+$|\bpremium content\b|"
    r"réservé aux abonnés|abonnez-vous|déjà abonné|jetzt abonnieren|nur für abonnenten|suscríbete|abbonati|"
    r"for access to this content|to continue reading|subscribe to (?:continue|read)|\bdelivered to you\b",
    re.IGNORECASE,
)
_CALL_TO_ACTION = re.compile(
    r"(?:learn more|read more|click here|find out more(?: here)?|download (?:the|our) app|"
    r"shop now|get started|try (?:it )?free|buy now|order now)\W*$|^click (?:to|here)\b|"
    r"\bcheck out\b.{0,60}\b[\w-]+\.(?:com|net|org)\W*$",
    re.IGNORECASE,
)
_VIDEO = re.compile(
    r"^(?:watch|video|play video|watch live|watch now|now playing|listen now)\W*$|"
    r"^watch\b.*\b(?:report|video|clip|footage|live|here|below|interview)\b",
    re.IGNORECASE,
)
_READ_ALSO_INLINE = re.compile(
    r"^(?:read also|also read|see also|read more|related|recommended|more|watch|trending|"
    r"(?:à )?lire aussi|lesen sie auch|mehr zum thema|leggi anche|lee también|ver también)\s*:\s*\S",
    re.IGNORECASE,
)
_ELLIPSES = ("...", "…", "[…]", "[...]")
_DISCLAIMER = re.compile(
    r"(?:views|opinions) expressed (?:in|here|by)|do(?:es)? not necessarily (?:reflect|represent)|"
    r"does not mean that we (?:agree|endorse)|for (?:informational|educational) purposes only|"
    r"(?:does not|do not|nothing here) constitutes? (?:financial|investment|legal) advice|"
    r"we (?:may )?earn (?:a )?commission|affiliate links?|this article (?:is|was) (?:sponsored|paid)",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(
    r"^(?:©|copyright\b|\(c\)\s*\d{4})|all rights reserved|may not be (?:published|reproduced|redistributed)|"
    r"alle rechte vorbehalten|tous droits réservés|todos los derechos reservados|tutti i diritti riservati",
    re.IGNORECASE,
)
_CREDIT_SLASH = re.compile(r"[^\W\d_]\s?/\s?[^\W\d_]")
_GLUED_COPYRIGHT_CREDIT = re.compile(r"[^\W\d_]/(?:©|copyright\b)", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d{2}\b")
_COPYRIGHT_WORDS = frozenset(
    "copyright c reserved published reproduced redistributed rechte droits derechos diritti".split()
)
_CONSENT = re.compile(
    r"\b(?:we|this (?:site|website)|(?:we and )?our partners) uses? cookies\b|^cookie (?:settings|policy|preferences)|"
    r"\b(?:by clicking|click) [\"“]?accept\b.{0,80}\b(?:agree|consent)|\bprocess(?:ing)? (?:of )?(?:your )?personal data\b|"
    r"\bon the basis of legitimate interests?\b|^we value your privacy$|"
    r"^(?:your )?privacy (?:policy|notice|choices)|^terms (?:of|and) (?:use|service|conditions)|"
    r"^accessibility statement|do not sell(?: or share)? my|^manage (?:cookies|consent|preferences)|"
    r"^(?:accept|reject) (?:all )?cookies|^ad (?:policy|choices)$|^(?:impressum|datenschutz\w*|"
    r"mentions légales|aviso legal|informativa sulla privacy)$",
    re.IGNORECASE,
)
_COOKIE_TABLE = re.compile(r"\b(?:this|the) cookies? (?:is|are) (?:set|used|installed|stored|native)\b", re.IGNORECASE)
_COOKIE_VOICE = frozenset("we our us you your these wir unsere ihre ihren ihnen diese nous vous nos vos nosotros usamos utilizamos noi".split())
_COOKIE_TECH = frozenset(
    "browser browsers site website websites device devices functionality personalised personalized tracking consent "
    "analytics preferences webseite navigateur navegador sitio sito".split()
)
_CREDIT_IN_PARENTHESES = re.compile(
    r"\((?:[A-Z][\w.&'’-]*\s?)+(?:/\s?(?:[A-Z][\w.&'’-]*\s?)+(?:via\s(?:[A-Z][\w.&'’-]*\s?)+)?)+\)\s*$"
)
_EMBEDDED_POST = re.compile(r"https?://t\.co/|pic\.twitter\.com/|\(@\w+\)\s+\w+\.?\s+\d{1,2},\s+\d{4}\s*$")
_AUTHOR_BIO = re.compile(
    r"^(?:[A-Z][\w.'’-]+\s+){1,3}(?:(?:is|was) (?:a|an|the)\b.{0,80}?\b(?:writer|reporter|correspondent|editor|"
    r"columnist|journalist|contributor|producer|analyst|author|bureau chief)\b|"
    r"(?:covers|writes about|reports on) [^.]{1,80}\bfor (?:the )?[A-Z])"
)
_ABOUT_PUBLISHER = re.compile(
    r"^(?:The )?[A-Z][\w.&'’ -]{1,40} is (?:an?|the) (?:independent|nonprofit|non-profit|global|leading|award-winning)"
    r"[^.]{0,60}\b(?:news|media|journalism|publishing)\b[^.]{0,20}\b(?:organi[sz]ation|outlet|agency|company|site|publisher)"
)
_CREDIT_LINE = re.compile(
    r"^(?i:photo(?:graph)?s?|credit|image|picture|foto|bild|illustration)\s*(?i:credit)?\s*:\s*\S.{0,80}$|"
    r"^\(\s*[A-Z][^()]{0,80}\)$"
)


LONE_PUNCTUATION = label_rule(
    "lone_punctuation", "punctuation", "Separator lines with no word at all: \"*\", \"-\", \"___\".",
    r"[\W_]*",
)
NAVIGATION_LABEL = label_rule(
    "navigation_label", "navigation",
    "Site navigation controls and appeals: \"Menu\", \"Search\", \"Log in\", \"Donate\", \"Back to top\".",
    r"menu", r"(?:open|close) (?:navigation |side )?menu", r"main menu", r"navigation", r"skip to (?:main )?content",
    r"search(?: query)?(?:\s+submit search)?", r"show search", r"close alert", r"log ?in", r"sign ?in",
    r"register", r"home", r"back to top", r"sections?", r"more", r"close", r"account", r"my account",
    r"my news", r"topics", r"sign out", r"edition", r"current issue", r"\w+ \d{4} issue", r"donate",
    r"support us", r"become a (?:member|subscriber|supporter)", r"i'?m in", r"startseite", r"suche", r"anmelden",
    r"accueil", r"rechercher", r"se connecter", r"inicio", r"buscar", r"iniciar sesión", r"cerca", r"accedi",
)
SHARE_BUTTON = label_rule(
    "share_button", "share", "Share, save, print and social-network buttons rendered as text.",
    r"share(?: this)?(?: article| story)?(?: on \w+)?", r"facebook", r"twitter", r"x", r"e-?mail",
    r"print", r"copy(?: link)?(?: to \w+)?", r"link copied", r"whatsapp", r"linkedin", r"reddit",
    r"pinterest", r"flipboard", r"instagram", r"rss", r"mailto", r"tumblr", r"telegram", r"threads",
    r"save(?: this story| article)?", r"saved", r"bookmark", r"gift(?: this)? article", r"reuse this content",
    r"license this content", r"purchase licensing rights", r"listen(?: to this article)?", r", opens new tab",
    r"youtube", r"tiktok", r"comments?", r"show comments", r"pocket", r"follow us", r"(?:artikel )?teilen",
    r"partager", r"compartir", r"condividi",
)
ADVERTISEMENT_LABEL = label_rule(
    "advertisement_label", "advertisement",
    "Ad slot labels: \"Advertisement\", \"Anzeige\", \"Story continues below advertisement\".",
    r"advertisement", r"advert", r"ad", r"sponsored(?: content)?", r"promoted", r"paid content",
    r"story continues below(?: advertisement)?", r"continue reading below", r"skip ad",
    r"scroll to continue(?: with content)?", r"article continues (?:below|after advertisement)",
    r"anzeige", r"werbung", r"publicité", r"publicidad", r"pubblicità",
)
READ_ALSO_LABEL = label_rule(
    "read_also_label", "related_links", "A bare \"Read also:\" / \"Read more\" label with the headline it links.",
    r"read also", r"also read", r"see also", r"read more", r"related", r"related article", r"recommended",
    r"further reading", r"read (?:our|the) (?:complete|full|latest) coverage", r"(?:à )?lire aussi",
    r"lesen sie auch", r"leggi anche", r"lee también",
    takes=Takes.LINKED_TITLE,
)
TITLE_LIST_HEADER = label_rule(
    "title_list_header", "related_links",
    "Headers of headline lists (\"Most viewed\", \"More on US News\", \"Latest News\") with the list.",
    r"related (?:stories|articles|coverage|topics|content|news|posts|reading)", r"more on [^.!?]{1,40}",
    r"more from [^.!?]{1,40}", r"more (?:stories|news|articles)", r"most (?:viewed|read|popular|shared)",
    r"(?:the )?latest(?: news| stories| headlines)?", r"top (?:stories|news|headlines)",
    r"trending(?: now| stories| news)?", r"popular(?: now| stories)?", r"you (?:may|might) also like",
    r"what to read next", r"read next", r"up next", r"editor'?s picks", r"recommended (?:for you|stories|reading)",
    r"explore more on these topics", r"[\w' ]{1,30} favou?rites", r"don'?t miss", r"in case you missed it",
    r"around the web", r"from our partners", r"keep reading", r"also in [^.!?]{1,30}", r"more to read",
    r"meistgelesen", r"mehr zum thema", r"das könnte sie auch interessieren", r"weitere artikel",
    r"les plus lus", r"sur le même sujet", r"más leídas", r"te puede interesar", r"i più letti",
    takes=Takes.TITLE_LIST,
    region_cost=LIST_REGION_COST,
)
PREVIOUS_NEXT_LINK = label_rule(
    "previous_next_link", "prev_next", "\"Previous Article\" / \"Next Article\" pager labels with their titles.",
    r"previous(?: article| post| story)?", r"next(?: article| post| story)?", r"« previous", r"next »",
    r"older post", r"newer post",
    takes=Takes.LINKED_TITLE,
    region_cost=STORY_END_REGION_COST,
)
GALLERY_COUNTER = label_rule(
    "gallery_counter", "photo_credit", "Slide counters of photo galleries: \"1 of 4\", \"2 / 8\".",
    r"\d{1,3} (?:of|/|von|sur|de|di) \d{1,3}",
)
READING_TIME = label_rule(
    "reading_time", "reading_time", "Reading-time badges: \"5 min read\", \"Lesezeit: 3 Minuten\".",
    r"\d+ min(?:ute)?s? read", r"(?:reading time|lesezeit|temps de lecture|tiempo de lectura)\s*:?\s*\d+ \w+",
)
REPLY_BUTTON = label_rule(
    "reply_button", "comments", "The reply button under a reader comment; it takes the comment text above it.",
    r"reply", r"reply to this comment", r"antworten", r"répondre", r"responder", r"rispondi",
    takes=Takes.PREVIOUS_LINE,
)
RELATIVE_TIMESTAMP = label_rule(
    "relative_timestamp", "timestamp", "Relative times of listed stories: \"16 mins ago\".",
    r"(?:\d+|an?) (?:sec|min|minute|hr|hour|day|week)s? ago", r"updated ago", r"\d+\s?[smhd] ago",
)


@line_rule("photo_credit", takes=Takes.CAPTION, max_words=20)
def credit_line(line: LineView) -> bool:
    """A line that is only a credit ("Photo: Tom Reilly/Getty Images", "(Texas A&M Forest Service)").

    Takes the caption right above it, which carries no credit of its own.
    """
    text = line.text
    return (text.startswith("(") or ":" in text) and _CREDIT_LINE.match(text) is not None


@line_rule(
    "photo_credit",
    "photo photos photograph photographs credit image picture getty shutterstock alamy reuters afp illustration "
    "cartoon file",
    max_words=80,
)
def photo_credit(line: LineView) -> bool:
    """Photo captions carrying a credit ("(AP Photo/...)", "Credit: Getty Images")."""
    return _PHOTO_CREDIT.search(line.text) is not None


@line_rule("photo_credit", max_words=80)
def credit_in_parentheses(line: LineView) -> bool:
    """Captions ending in a "(Photographer/Agency)" or "(Photographer/Pool via AP)" credit, as US outlets print them."""
    return line.text.endswith(")") and _CREDIT_IN_PARENTHESES.search(line.text) is not None


@line_rule("embedded_post", takes=Takes.PREVIOUS_LINE, max_words=80)
def embedded_social_post(line: LineView) -> bool:
    """Embedded tweets: the "— Name (@handle) May 2, 2024" signature or a t.co link, with the post text."""
    text = line.text
    return ("(@" in text or "t.co/" in text or "pic.twitter" in text) and _EMBEDDED_POST.search(text) is not None


@line_rule(
    "related_links", "read also see related recommended more watch trending lire lesen leggi lee ver", max_words=40
)
def read_also_inline(line: LineView) -> bool:
    """A one-line related link: "Read also: <headline> | <site>"."""
    return bool(_READ_ALSO_INLINE.match(line.text))


@line_rule("related_links", max_words=40)
def all_caps_headline_link(line: LineView) -> bool:
    """Inline links to other stories set in capitals ("HUNTER BIDEN TESTIFIES ...").

    A dateline or byline set in capitals is metadata, not a link.
    """
    return line.words >= 5 and line.text.isupper() and not parse_meta_line(line.text)


@line_rule(
    "rating", "useful helpful star rate rating vote votes", max_words=25, region_cost=STORY_END_REGION_COST
)
def rating_widget(line: LineView) -> bool:
    """Article rating widgets: "How useful was this article?", vote counts."""
    return _RATING.search(line.text) is not None


@line_rule(
    "comments",
    "comment comments conversation discussion javascript kommentar kommentare kommentarer commentaire commentaires "
    "comentario comentarios commenti commento komentarz komentarze reacties reactie kommentit yorum yorumlar "
    "kommentieren commenter comentar commenta komentuj kommentér kommenter kommentarfunktion",
    max_words=30,
    region_cost=STORY_END_REGION_COST,
)
def comment_prompt(line: LineView) -> bool:
    """Comment prompts and counters: "Please leave your comment below!"."""
    return _COMMENTS.search(line.text) is not None


@line_rule(
    "promo",
    "sign signing subscribe subscribed subscriber subscribers newsletter newsletters mail email arrives entering "
    "providing premium inbox valid join abonnés abonnez abonné abonnieren abonnenten suscríbete abbonati access "
    "continue delivered get",
    max_words=60,
)
def newsletter_promo(line: LineView) -> bool:
    """Newsletter sign-up boxes and subscription prompts, with the box heading ("Get the Morning Report")."""
    return _NEWSLETTER.search(line.text) is not None


@line_rule("promo", "learn read click find download shop started try buy order check", max_words=40)
def call_to_action(line: LineView) -> bool:
    """Promotional lines ending in a call to action ("... Learn More", "Check out what's new on example.com.")."""
    return _CALL_TO_ACTION.search(line.text) is not None


@line_rule("video", "watch video play now listen", max_words=25)
def video_promo(line: LineView) -> bool:
    """Video players and promos: "Watch Reuters' report on ...", "WATCH LIVE"."""
    return bool(_VIDEO.search(line.text))


@line_rule("teaser", takes=Takes.TEASER_TITLE)
def truncated_teaser(line: LineView) -> bool:
    """Teasers of other stories cut off with "..." or "…", with their title."""
    return line.text.endswith(_ELLIPSES)


@line_rule("teaser", max_words=60)
def doubled_headline(line: LineView) -> bool:
    """Teaser cards whose headline renders twice in one line (image alt text, then the link):
    "Nikki Haley Just Won't Quit Nikki Haley Just Won't Quit". Story text never repeats itself so.
    """
    words = line.words
    half = words // 2
    return words >= 4 and words % 2 == 0 and line.tokens[:half] == line.tokens[half:]


@line_rule(
    "disclaimer",
    "views opinions necessarily agree endorse informational educational constitute constitutes commission "
    "affiliate sponsored paid",
)
def site_disclaimer(line: LineView) -> bool:
    """Site disclaimers: "views expressed ...", "does not mean that we agree"."""
    return _DISCLAIMER.search(line.text) is not None


@line_rule("photo_credit", max_words=60)
def copyright_credit(line: LineView) -> bool:
    """An image credit in copyright form, inside a story as often as under it: "© Imago/Zoonar/Phil Bird",
    or a caption ending "... Frank Franklin II/Copyright 2026 The AP. All rights reserved."

    Credited names separated by slashes, without a year (a dated notice,
    "© 2024 CBC/Radio-Canada", is the site's footer), or a credit glued to
    the notice by a slash.
    """
    text = line.text
    if "©" not in text and "copyright" not in line.tokens:
        return False  # the cheap test first: this rule has no trigger words, it sees every line
    if _GLUED_COPYRIGHT_CREDIT.search(text):
        return True
    return text.startswith("©") and _CREDIT_SLASH.search(text) is not None and _YEAR.search(text) is None


@line_rule("copyright", max_words=60, region_cost=STORY_END_REGION_COST)
def copyright_notice(line: LineView) -> bool:
    """Copyright and redistribution notices."""
    text = line.text
    return ("©" in text or not _COPYRIGHT_WORDS.isdisjoint(line.tokens)) and _COPYRIGHT.search(text) is not None


@line_rule(
    "consent",
    "cookies cookie privacy terms accessibility sell manage accept reject ad impressum datenschutz personal legitimate "
    "datenschutzerklärung mentions aviso informativa",
    max_words=80,
)
def consent_and_legal_links(line: LineView) -> bool:
    """Cookie banners and legal footer links ("Privacy Policy", "Terms of Use")."""
    return _CONSENT.search(line.text) is not None


@line_rule("consent", "cookie cookies", max_words=250)
def cookie_notice(line: LineView) -> bool:
    """Cookie consent text, however long: a site speaking of the cookies it stores on your browser or device
    ("When you visit our website, we store cookies on your browser"), and cookie tables ("This cookie is set
    by Google"). A story about cookies does not address the reader nor name what the site stores."""
    tokens = set(line.tokens)
    return _COOKIE_TABLE.search(line.text) is not None or (
        not _COOKIE_VOICE.isdisjoint(tokens) and not _COOKIE_TECH.isdisjoint(tokens)
    )


@line_rule(
    "author_bio",
    "writer reporter correspondent editor columnist journalist contributor producer analyst author chief covers "
    "writes reports",
    max_words=120, region_cost=LIST_REGION_COST,
)
def author_bio(line: LineView) -> bool:
    """Author blurbs after the story: "Jo Roe is a staff writer at The Daily"."""
    return bool(_AUTHOR_BIO.match(line.text))


@line_rule("about_publisher", "independent nonprofit non global leading award winning", max_words=120)
def about_publisher(line: LineView) -> bool:
    """The publisher's self-description: "The Associated Press is an independent global news organization ..."."""
    return _ABOUT_PUBLISHER.match(line.text) is not None


@cache
def _label_lookup() -> tuple[dict[str, int], re.Pattern[str]]:
    """Label rules as a dictionary of their plain-word labels (most are) and one alternation of the rest.

    Returns (lowercased literal label -> rule index, the alternation with one
    named group per rule, in order). A dictionary lookup and a short regex
    instead of a 200-branch case-insensitive one: label matching runs on
    every short line of every page.
    """
    literals: dict[str, int] = {}
    patterns: dict[int, list[str]] = {}
    for i, rule in enumerate(LABEL_RULES):
        for label in rule.labels:
            if re.escape(label).replace("\\ ", " ") == label:
                literals.setdefault(label, i)
            else:
                patterns.setdefault(i, []).append(label)
    groups = "|".join(f"(?P<r{i}>{'|'.join(labels)})" for i, labels in patterns.items())
    return literals, re.compile(f"(?:{groups}){_LABEL_END}")


def _label_rule(text: str) -> FurnitureRule | None:
    """The first label rule one of whose labels the whole of `text` is (any case, optional colon)."""
    literals, patterns = _label_lookup()
    lowered = text.lower()
    found = [literals.get(lowered[:-1].rstrip() if lowered.endswith(":") else lowered)]
    match = patterns.fullmatch(lowered)
    if match is not None:
        found.append(int(match.lastgroup[1:]))
    indexes = [i for i in found if i is not None]
    return LABEL_RULES[min(indexes)] if indexes else None


@cache
def _trigger_masks() -> tuple[frozenset[str], dict[str, int]]:
    """All trigger words, and the bit mask of the predicate rules each calls for (bit i: PREDICATE_RULES[i])."""
    masks: dict[str, int] = {}
    for i, rule in enumerate(PREDICATE_RULES):
        for word in rule.triggers:
            masks[word] = masks.get(word, 0) | 1 << i
    return frozenset(masks), masks


@cache
def _candidates(mask: int) -> tuple[FurnitureRule, ...]:
    """The predicate rules to try, in order, for a line whose trigger words give `mask`.

    Rules without triggers are always tried; lines share few distinct masks,
    so each ordered tuple is built once.
    """
    return tuple(rule for i, rule in enumerate(PREDICATE_RULES) if not rule.triggers or mask >> i & 1)


def first_matching_rule(line: LineView) -> FurnitureRule | None:
    """The first rule that marks `line` as furniture: label rules, then predicates."""
    if line.words <= LABEL_MAX_WORDS:
        label_rule = _label_rule(line.text)
        if label_rule is not None:
            return label_rule
    words, masks = _trigger_masks()
    mask = 0
    for word in words.intersection(line.tokens):
        mask |= masks[word]
    for rule in _candidates(mask):
        if line.words <= rule.max_words and rule.predicate(line):
            return rule
    return None


@dataclass(frozen=True, slots=True)
class PageRule:
    """A rule that needs the whole page; applied by `text_cleaning`."""

    name: str
    reason: str
    doc: str


RECURRING_LINE = PageRule(
    "recurring_line", "recurring",
    "Short, non-prose lines (menus, footers, labels) whose normalised form occurs in many stored "
    "documents. Long prose lines are never cut for recurrence alone: syndicated copies share them.",
)
OUTSIDE_MAIN_TEXT = PageRule(
    "outside_main_text", "outside_main_text",
    "Lines outside the main-content region: the run of lines with the densest story prose "
    "(maximum-sum run of prose words minus a cost per non-prose line). Catches menus, footers, "
    "sidebars and link lists before and after the story.",
)
FOREIGN_LANGUAGE = PageRule(
    "foreign_language", "foreign_language",
    "Sidebar lines written in a language other than the article's (e.g. Italian teasers beside an "
    "English story), detected from stopword profiles.",
)
ORPHAN_HEADING = PageRule(
    "orphan_heading", "orphan_heading",
    "A short heading whose section was cut entirely (e.g. \"Timeline\" over cut teasers): a "
    "heading with no story text under it is furniture.",
)
MODEL_CUT = PageRule(
    "model_cut", "model",
    "A line inside the story region that the learned line labeller (extractors/line_labeller.py) scores "
    "as furniture and no rule names: the reason carries its story score and the features that weighed most.",
)
PAGE_RULES = (RECURRING_LINE, OUTSIDE_MAIN_TEXT, FOREIGN_LANGUAGE, ORPHAN_HEADING, MODEL_CUT)
