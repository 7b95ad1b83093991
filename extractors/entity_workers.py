"""The entity stage's per-article work, and worker processes that share one loaded model.

`analyse` is what a worker does with a chunk of articles: NER and the speech
cues of their quotes, both from the one pipeline of the process. Resolution
and attribution need the whole batch (and the warehouse), so they stay with
the caller; what crosses the process boundary is small (mentions and cues).

Workers come from a fork server (`pool_context`) that has imported
`extractors.entity_preload`, which loads the English pipeline and the stage's
tables (`warm_up`): each worker
is forked from that clean, single-threaded process, so the model's pages are
shared copy-on-write instead of loaded once per worker, and a worker starts
in milliseconds. The flow's own process (threads of Prefect's client and
logging) is never forked.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from multiprocessing.context import BaseContext

from extractors.entities import PARSED_LANGUAGES, Mention, extract_mentions
from extractors.quotes import SpeechCue, speech_cues

PRELOAD_MODULE = "extractors.entity_preload"


def analyse(docs: Sequence[tuple[str | None, str]], language: str = "en") -> list[tuple[list[Mention], list[SpeechCue]]]:
    """Mentions and speech cues of each (title, body) in `language`."""
    mentions = extract_mentions(docs, language)
    if language in PARSED_LANGUAGES:
        cues = speech_cues([body for _, body in docs])
    else:
        cues = [[] for _ in docs]
    return list(zip(mentions, cues))


def warm_up() -> None:
    """Load the English pipeline and the lazily built tables of the stage (a tiny article through `analyse`)."""
    analyse([("Talks in Kyiv", "“We will see,” the minister told reporters in Kyiv.")])


def pool_context() -> BaseContext:
    """A multiprocessing context whose workers fork from a server that preloaded the English pipeline."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([PRELOAD_MODULE])
    return context
