"""Imported once, by the worker pool's fork server (`entity_workers.pool_context`): loads the English
pipeline there, before any worker is forked, so that all workers share its pages copy-on-write.
`gc.freeze()` keeps the collector of each worker from writing to those objects (and so copying their pages)."""

import gc

from extractors.entities import load_pipeline

load_pipeline("en")
gc.freeze()
