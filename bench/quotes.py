"""Quote speaker accuracy on the hand-labelled gold set, per pattern.

The gold set (`bench/data/quotes_gold.json`) names, for each quotation, the
speaker a reader gives it (or, for an unnamed source, the role) and how the
text says it: in the quote's sentence (`same`), by a pronoun, in a neighbouring
sentence or paragraph, or as a role. Texts are the seeds' cleaned bodies and
the short articles of `bench/data/quote_texts.json`. A quote counts as right
when the system found it and gave it that speaker (the same canonical key, or
the same surname when the article never gives the full name), or, for a role,
no entity and a role with the gold role's head word. Figures are printed for
the whole set and for its held-out part (pages never looked at while choosing a rule).

    .venv/bin/python bench/quotes.py [--errors]
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datasets import shared_dataset  # noqa: E402
from extractors.entities import extract_mentions  # noqa: E402
from extractors.entity_names import canonical_key, curated_name  # noqa: E402
from extractors.entity_resolution import canonical_entities  # noqa: E402
from extractors.quotes import Quote, extract_quotes  # noqa: E402
from extractors.text_cleaning import clean_text  # noqa: E402

DATA = ROOT / "bench" / "data"
DATASETS = {"fundus": "fundus-eval", "parsers": "fundus-parsers"}
"""Gold document prefix -> shared dataset whose ground-truth body it names."""
TARGETS = {"same": 0.90, "pronoun": 0.70, "neighbour": 0.70, "role": 0.70}


def documents(names: set[str]) -> dict[str, str]:
    """Body of each gold document: a seed's cleaned body, an own text, or a dataset page's ground-truth paragraphs."""
    own = json.loads((DATA / "quote_texts.json").read_text(encoding="utf-8"))
    truth = {kind: json.loads((shared_dataset(folder) / "ground_truth.json").read_text(encoding="utf-8"))
             for kind, folder in DATASETS.items() if any(n.startswith(kind + ":") for n in names)}
    bodies = {}
    for name in sorted(names):
        kind, _, ref = name.partition(":")
        if kind == "seed":
            bodies[name] = clean_text((ROOT / "data" / "seeds" / ref).read_text(encoding="utf-8")).body
        elif kind == "own":
            bodies[name] = own[ref]
        else:
            paragraphs = truth[kind][ref]["body"]
            bodies[name] = "\n\n".join(ast.literal_eval(paragraphs) if isinstance(paragraphs, str) else paragraphs)
    return bodies


def right(item: dict, quote: Quote | None) -> bool:
    if quote is None:
        return False
    if item["speaker"] is None:
        head = item["role"].lower().split()[-1] if " of " not in item["role"] else item["role"].split()[1]
        return quote.speaker is None and quote.speaker_role is not None and head.lower() in quote.speaker_role.lower()
    if quote.speaker is None:
        return False
    gold, got = canonical_key(curated_name(item["speaker"])), canonical_key(quote.speaker)
    return gold == got or (len(got.split()) == 1 and gold.split()[-1] == got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--errors", action="store_true", help="list the quotes given a wrong speaker")
    args = parser.parse_args()
    items = json.loads((DATA / "quotes_gold.json").read_text(encoding="utf-8"))["items"]
    bodies = documents({i["doc"] for i in items})
    names = list(bodies)
    resolved = canonical_entities(extract_mentions([(None, bodies[n]) for n in names]))
    quotes = {n: extract_quotes(bodies[n], ms) for n, ms in zip(names, resolved)}
    totals, hits = Counter(), Counter()
    for item in items:
        found = next((q for q in quotes[item["doc"]] if q.quote.startswith(item["quote"])), None)
        ok = right(item, found)
        for split in ("all", item["split"]):
            totals[split, item["pattern"]] += 1
            hits[split, item["pattern"]] += ok
        if args.errors and not ok:
            got = "not found" if found is None else f"{found.speaker} / role {found.speaker_role}"
            print(f"  [{item['pattern']}, {item['split']}] {item['doc']} {item['quote']!r}: "
                  f"want {item['speaker'] or item['role']}, got {got}")
    print(f"gold set: {len(items)} quotes in {len(bodies)} texts")
    for split in ("all", "held-out"):
        print(f"{split:<10} {'quotes':>6} {'right':>6} {'accuracy':>9}  target")
        for pattern in TARGETS:
            n, k = totals[split, pattern], hits[split, pattern]
            print(f"  {pattern:<8} {n:>6} {k:>6} {k / max(n, 1):>9.1%}  >= {TARGETS[pattern]:.0%}")
        n = sum(v for (s, _), v in totals.items() if s == split)
        k = sum(v for (s, _), v in hits.items() if s == split)
        print(f"  {'total':<8} {n:>6} {k:>6} {k / max(n, 1):>9.1%}")

if __name__ == "__main__":
    main()
