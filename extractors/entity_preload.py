"""Imported once, by the worker pool's fork server (`entity_workers.pool_context`): loads the English
pipeline and every table the entity stage reads lazily (gazetteer, aliases, stop words) there, before
any worker is forked, so that all workers share their pages copy-on-write instead of each building them.
`gc.freeze()` keeps the collector of each worker from writing to those objects (and so copying their pages)."""

import gc

from extractors.entity_workers import warm_up

warm_up()
gc.freeze()
