"""Language identification from stopword profiles: offline, no model, fast.

News text is dense in function words, so counting hits against a short
stopword list per language is enough to tell the article language and to
spot sidebar lines written in another language. No network, no download.
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
}



def _languages_by_stopword() -> dict[str, tuple[str, ...]]:
    index: dict[str, tuple[str, ...]] = {}
    for lang, words in _STOPWORDS.items():
        for word in words.split():
            index[word] = (*index.get(word, ()), lang)
    return index


_LANGUAGES_OF = _languages_by_stopword()
_WORD = re.compile(r"[^\W\d_]+")


def language_scores(words: Iterable[str]) -> Counter[str]:
    """Stopword hits per language code for lowercased `words`."""
    languages_of = _LANGUAGES_OF
    return Counter([lang for word in words if word in languages_of for lang in languages_of[word]])


def detect_language(text: str, min_hits: int = 3) -> str | None:
    """ISO 639-1 code of the dominant language, None without enough evidence."""
    return dominant_language(language_scores(_WORD.findall(text.lower())), min_hits)


def dominant_language(scores: Counter[str], min_hits: int = 3) -> str | None:
    """The clear winner of `scores`: at least `min_hits` stopwords and 1.5x the runner-up.

    Short or ambiguous text (names, headlines) gives None rather than a guess.
    """
    if not scores:
        return None
    hits = sorted(scores.values(), reverse=True)
    if hits[0] < min_hits or (len(hits) > 1 and hits[1] * 1.5 >= hits[0]):
        return None
    return max(scores, key=scores.__getitem__)
