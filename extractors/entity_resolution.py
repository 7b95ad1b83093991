"""Canonical entities: one name, label and id per real-world thing, across articles and runs.

Resolution is deterministic and does not depend on the order of articles in a batch:

1. within an article, a surname or other short form takes the full name written nearest
   before it (else first after it): a story introduces "Sam Greene" and then says "Greene";
2. across the batch, a name joins an entity the warehouse already knows when its key is
   equal or a near-spelling (`entity_names.similar_names`); the other names join each other
   the same way, and a bare surname joins the one full name that clearly dominates it in the
   batch and the warehouse ("Trump" -> "Donald Trump" unless "Melania Trump" is about as common);
3. an entity's label is the alias file's label, else the majority of its mentions' labels.

The entity id is derived from the key alone, not the label: the small model tags one name ORG in
one sentence and PERSON in the next, and an id that followed the vote would not be stable.
Entities the warehouse passes in as `KnownEntity` keep their key, name and id for good.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from extractors.entities import Mention
from extractors.entity_names import canonical_key, curated, curated_name, is_short_form, similar_names
from extractors.grouping import connected_groups

LABEL_ORDER = ("PERSON", "GPE", "ORG", "LOC", "NORP", "FAC", "EVENT")
"""Tie-break of the label vote."""
T = TypeVar("T")
SURNAME_DOMINANCE = 2
"""A bare surname joins the commonest full name with it only when that one has more than
this many times the articles of the next: otherwise it stays its own entity."""


@dataclass(frozen=True, slots=True)
class KnownEntity:
    """An entity the warehouse already holds; new spellings join it and its id never changes."""

    key: str
    name: str
    label: str
    n_mentions: int = 0
    n_articles: int = 0


@dataclass(frozen=True, slots=True)
class ResolvedMention:
    """A mention with the entity it names: `name`, `label` (the vote) and `key` are the entity's."""

    text: str
    raw_label: str
    start_char: int
    end_char: int
    in_title: bool
    name: str
    label: str
    key: str

    @property
    def entity_id(self) -> str:
        return entity_id(self.key)


def entity_id(key: str) -> str:
    """A stable 16-hex-digit id for an entity key, the same in every run and process."""
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def vote_label(votes: Mapping[str, int], curated_label: str | None = None) -> str:
    """The alias file's label, else the commonest label (ties by LABEL_ORDER)."""
    if curated_label:
        return curated_label
    rank = {label: i for i, label in enumerate(LABEL_ORDER)}
    return min(votes, key=lambda label: (-votes[label], rank.get(label, len(rank)), label))


def article_names(mentions: Sequence[Mention]) -> list[str]:
    """Each mention's name within its article: curated, or the full name a short form stands for."""
    names = [curated_name(m.text) for m in mentions]
    keys = [canonical_key(n) for n in names]
    order = sorted(range(len(mentions)), key=lambda i: (not mentions[i].in_title, mentions[i].start_char))
    rank = {i: r for r, i in enumerate(order)}
    full_by_token = _by_end_token((keys[j], j) for j in order if mentions[j].label == "PERSON")
    resolved = list(names)
    for i, m in enumerate(mentions):
        if curated(m.text) or not keys[i]:
            continue
        candidates = [j for j in full_by_token.get(keys[i].split()[-1], ()) if is_short_form(keys[i], keys[j])]
        if candidates:
            before = [j for j in candidates if rank[j] < rank[i]]
            resolved[i] = names[before[-1] if before else candidates[0]]
    return resolved


@dataclass(slots=True)
class _NameStats:
    names: Counter[str] = field(default_factory=Counter)
    labels: Counter[str] = field(default_factory=Counter)
    articles: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class _Entity:
    key: str
    name: str
    label: str


def canonical_entities(
    articles: Sequence[Sequence[Mention]], known: Iterable[KnownEntity] = ()
) -> list[list[ResolvedMention]]:
    """Resolve the mentions of a batch of articles to canonical entities, joining `known` ones."""
    names = [article_names(ms) for ms in articles]
    stats: dict[str, _NameStats] = defaultdict(_NameStats)
    for i, (ms, ns) in enumerate(zip(articles, names)):
        for m, n in zip(ms, ns):
            s = stats[canonical_key(n)]
            s.names[n] += 1
            s.labels[m.label] += 1
            s.articles.add(i)
    entities = _entities(stats, {k.key: k for k in known})
    return [
        [
            ResolvedMention(m.text, m.label, m.start_char, m.end_char, m.in_title, e.name, e.label, e.key)
            for m, n in zip(ms, ns)
            for e in (entities[canonical_key(n)],)
        ]
        for ms, ns in zip(articles, names)
    ]


def resolve(name: str, label: str, known: Mapping[str, KnownEntity]) -> KnownEntity | None:
    """The known entity (by key) that `name`, labelled `label`, names, if any.

    Same rules as `canonical_entities` against the warehouse alone: exact key, near-spelling,
    then a bare PERSON surname to its dominant full name.
    """
    key = canonical_key(curated_name(name))
    hit = _spelling_match(key, label, known)
    if hit is None and label == "PERSON":
        weights = {k: e.n_articles for k, e in known.items() if e.label == "PERSON"}
        hit = _surname_match(key, weights, _by_end_token((k, k) for k in weights))
    return known.get(hit) if hit else None


def _spelling_match(key: str, label: str, known: Mapping[str, KnownEntity]) -> str | None:
    """The known key equal to `key`, else the commonest near-spelling with the same label
    ("Russia" GPE and "Russian" NORP are one letter apart)."""
    if key in known:
        return key
    near = [k for k, e in known.items() if e.label == label and similar_names(key, k)]
    return min(near, key=lambda k: (-known[k].n_articles, k)) if near else None


def _by_end_token(pairs: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    """First and last token -> the values of the keys of several tokens that start or end with it: where
    the full names a one-word key can be the short form of are (instead of a scan through every key)."""
    index: dict[str, list[T]] = defaultdict(list)
    for key, value in pairs:
        tokens = key.split()
        if len(tokens) > 1:
            for token in {tokens[0], tokens[-1]}:
                index[token].append(value)
    return index


def _surname_match(key: str, weights: Mapping[str, int], by_end_token: Mapping[str, list[str]]) -> str | None:
    """The full name that one-word `key` stands for: the only candidate, or one that dominates the next."""
    if " " in key:
        return None
    ranked = sorted((k for k in by_end_token.get(key, ()) if is_short_form(key, k)), key=lambda k: (-weights[k], k))
    if len(ranked) == 1 or (ranked and weights[ranked[0]] > SURNAME_DOMINANCE * weights[ranked[1]]):
        return ranked[0]
    return None


def _entities(stats: Mapping[str, _NameStats], known: Mapping[str, KnownEntity]) -> dict[str, _Entity]:
    """Entity of every name key in `stats`."""
    labels = {key: _label(key, s.labels, {}) for key, s in stats.items()}
    root = {key: _spelling_match(key, labels[key], known) or key for key in sorted(stats)}
    _join_near_spellings(root, labels, known)
    groups: dict[str, list[str]] = defaultdict(list)
    for key, r in root.items():
        groups[r].append(key)
    votes = {r: sum((stats[k].labels for k in ks), Counter()) for r, ks in groups.items()}
    articles = {r: set().union(*(stats[k].articles for k in ks)) for r, ks in groups.items()}
    weights = {k: e.n_articles for k, e in known.items() if e.label == "PERSON"}
    for r in groups:
        if " " in r and _label(r, votes[r], known) == "PERSON":
            weights[r] = weights.get(r, 0) + len(articles[r])
    by_end_token = _by_end_token((k, k) for k in weights)
    for r in sorted(groups):
        if r not in known and _label(r, votes[r], known) == "PERSON":
            target = _surname_match(r, weights, by_end_token)
            if target:
                for k in groups.pop(r):
                    root[k] = target
                    groups[target].append(k)
                votes[target] = votes.get(target, Counter()) + votes.pop(r)
    entities = {r: _entity(r, ks, stats, votes[r], known) for r, ks in groups.items()}
    return {key: entities[r] for key, r in root.items()}


def _join_near_spellings(root: dict[str, str], labels: Mapping[str, str], known: Mapping[str, KnownEntity]) -> None:
    """Merge the names that joined no known entity with their same-label near-spellings (union-find)."""
    buckets: dict[tuple[str, int, str], list[str]] = defaultdict(list)
    for key in sorted(k for k, r in root.items() if r == k and k not in known):
        tokens = key.split()
        buckets[(labels[key], len(tokens), tokens[-1][:1] if tokens else "")].append(key)
    pairs = ((a, b) for ks in buckets.values() for i, a in enumerate(ks) for b in ks[i + 1:] if similar_names(a, b))
    for group in connected_groups(pairs, items=(k for ks in buckets.values() for k in ks)):
        for k in group:
            root[k] = min(group)


def _label(key: str, votes: Counter[str], known: Mapping[str, KnownEntity]) -> str:
    if key in known:
        votes = votes + Counter({known[key].label: max(known[key].n_mentions, 1)})
    entry = curated(key)
    return vote_label(votes, entry.label if entry else None)


def _entity(
    r: str, keys: list[str], stats: Mapping[str, _NameStats], votes: Counter[str], known: Mapping[str, KnownEntity]
) -> _Entity:
    label = _label(r, votes, known)
    if r in known:
        return _Entity(r, known[r].name, label)
    best = min(keys, key=lambda k: (-len(stats[k].articles), -stats[k].names.total(), k))
    name = min(stats[best].names, key=lambda n: (-stats[best].names[n], n))
    return _Entity(canonical_key(name), name, label)
