"""Language identification from stopword profiles and scripts: offline, no model, fast.

News text is dense in function words, so counting hits against a short
stopword list per language is enough to tell the article language and to
spot sidebar lines written in another language. Languages with a script of
their own need no stopwords: Hangul is Korean, kana is Japanese, Greek,
Hebrew and Thai letters name their language. Chinese characters alone are
Chinese, but Japanese writes them too, so a short run of them without kana
(a headline, a name) decides nothing. No network, no download.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_STOPWORDS: dict[str, str] = {
    "en": "the of and to in is that for it was on with as he his by at from"
    " are be this have has had not but or an they which were their been will"
    " would who said its after more about than also",
    "it": "il lo la gli le e a di del della dei delle che è per non una un con"
    " sono nel nella alla al dal degli anche come più ma ha ore si tra questo",
    "fr": "le la les des du de et est une un que qui dans pour pas sur au aux"
    " avec ce cette sont par plus ont été mais il elle à ses leur",
    "es": "el la los las del de y que en un una es por con para no se su al"
    " lo como más pero sus ha fue son está este esta entre",
    "de": "der die das und ist nicht ein eine den dem des zu mit sich auf für"
    " von im auch es wird wurde sind bei nach aus wie oder aber",
    "pt": "o a os as do da dos das e que em um uma é para com não se por mais"
    " ao na no foi são como mas seu sua pelo pela",
    "nl": "de het een en van is dat op te in zijn voor met niet aan er ook als"
    " bij door maar om dan nog wordt werd",
    "pl": "i w na z do się nie że to jest o jak po przez dla od przy jego ich oraz być który która które został"
    " już tylko może także",
    "tr": "ve bir bu için ile olarak çok daha gibi olan sonra kadar ama değil ise şu her en",
    "id": "yang dan di ini itu dengan untuk dari dalam tidak akan pada juga ke karena oleh ada sebagai telah bahwa",
    "sv": "och är inte från också när efter eller jag hon vi sig men kan ett av för med till på om var det som att",
    "da": "og ikke af fra også når efter eller jeg hun vi sig men kan et for med til på om var blev det som at",
    "no": "og ikke av fra også når etter eller jeg hun vi seg men kan et for med til på om var ble det som at",
    "is": "og að er í á sem til það ekki við fyrir með hann hún var eru um frá eftir",
    "lt": "ir kad yra su iš į tai bet kaip jo buvo nuo dėl apie jau taip pat bei",
    "ru": "и в не на что с по это как он к но из от за же о его она так был для было были они уже только",
    "uk": "і в не на що з та це як до він у але від за його про вона так був для було були вони вже також",
    "ar": "في من على أن إلى التي الذي عن مع هذا هذه كان ما لا بين أو بعد كما قد وقد",
    "fa": "در و به از که این را با است برای آن یک شد می ها کرد شده خود",
    "hi": "के है में की और से को का एक पर यह भी कि था हैं नहीं लिए ने",
}
_SCRIPT_LANGUAGES = (
    # a letter of these scripts names its language; a run of them counts as one word
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")),
    ("el", re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
KANA = "_kana"
HAN = "_han"
"""Pseudo-languages in `language_scores`: characters counted, resolved to ja / zh by `dominant_language`."""
MIN_HAN_FOR_CHINESE = 12
"""Chinese characters without any kana say "Chinese" only from this many on: Japanese headlines,
names and labels are often all kanji."""
JAPANESE_MIN_KANA_SHARE = 0.1
"""Japanese prose is at least this share kana (usually a half); Chinese has none."""


def _languages_by_stopword() -> dict[str, tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    for lang, words in _STOPWORDS.items():
        for word in words.split():
            index[word] = (*index.get(word, ()), lang)
    return index


_LANGUAGES_OF = _languages_by_stopword()
_WORD = re.compile(r"[^\W\d_]+")


def language_scores(words: Iterable[str]) -> Counter[str]:
    """Stopword hits per language code for lowercased `words`, plus script evidence.

    Kana and Chinese characters are counted one by one under KANA and HAN
    (text without spaces has no words to count); other scripts of a single
    language count one hit per word.
    """
    languages_of = _LANGUAGES_OF
    hits: list[str] = []  # counted once at the end: a Counter update per word costs more than the lookups
    for word in words:
        languages = languages_of.get(word)
        if languages is not None:
            hits.extend(languages)
        elif not word.isascii():
            hits.extend(_script_evidence(word))
    return Counter(hits)


def _script_evidence(word: str) -> list[str]:
    """One hit per Chinese or Japanese character, else one for the word's single-language script."""
    han = len(_HAN.findall(word))
    kana = len(_KANA.findall(word))
    if han or kana:
        return [HAN] * han + [KANA] * kana
    for language, script in _SCRIPT_LANGUAGES:
        if script.search(word):
            return [language]
    return []


def detect_language(text: str, min_hits: int = 3) -> str | None:
    """ISO 639-1 code of the dominant language, None without enough evidence."""
    return dominant_language(language_scores(_WORD.findall(text.lower())), min_hits)


def dominant_language(scores: Counter[str], min_hits: int = 3) -> str | None:
    """The clear winner of `scores`: at least `min_hits` and 1.5x the runner-up.

    Short or ambiguous text (names, headlines) gives None rather than a guess.
    """
    scores = _resolve_cjk(scores)
    if not scores:
        return None
    hits = sorted(scores.values(), reverse=True)
    if hits[0] < min_hits or (len(hits) > 1 and hits[1] * 1.5 >= hits[0]):
        return None
    return max(scores, key=scores.__getitem__)


def _resolve_cjk(scores: Counter[str]) -> Counter[str]:
    """KANA and HAN counts as Japanese or Chinese evidence (or neither, for a few kanji alone)."""
    if KANA not in scores and HAN not in scores:
        return scores
    resolved = Counter({lang: n for lang, n in scores.items() if lang not in (KANA, HAN)})
    kana, han = scores.get(KANA, 0), scores.get(HAN, 0)
    if kana and kana >= JAPANESE_MIN_KANA_SHARE * (kana + han):
        resolved["ja"] += kana + han
    elif han >= MIN_HAN_FOR_CHINESE and not kana:
        resolved["zh"] += han
    return resolved
