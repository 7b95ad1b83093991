"""Long input lists: listing files, and shards cut to fit Prefect's cap on a flow run's parameters."""

from __future__ import annotations

import json

from prefect.settings.models.server.api import ServerAPISettings

from flows.listings import PREFECT_PARAMETER_CAP, cut_within, parameter_bytes, read_listing, write_listing


def test_the_cap_assumed_is_the_installed_prefects_default():
    assert ServerAPISettings.model_fields["max_parameter_size"].default == PREFECT_PARAMETER_CAP


def test_shards_keep_every_item_in_order_within_both_limits():
    items = [f"/data/corpus/{'x' * (i % 37)}/doc-{i:05d}.txt" for i in range(5000)]
    budget = 15_000
    shards = cut_within(items, 400, budget)
    assert [item for shard in shards for item in shard] == items
    assert all(1 <= len(shard) <= 400 for shard in shards)
    assert all(parameter_bytes(shard) <= budget for shard in shards)
    assert any(len(shard) < 400 for shard in shards[:-1])  # the byte budget cut some short
    assert [len(s) for s in cut_within(items, 400, 0)] == [400] * 12 + [200]  # 0: no byte limit


def test_an_item_larger_than_the_budget_is_a_shard_of_its_own():
    assert cut_within(["a", "b" * 50, "c"], 10, 20) == [["a"], ["b" * 50], ["c"]]


def test_parameter_bytes_is_prefects_measure():
    items = ["/tmp/é.txt", 'quote".txt']
    assert parameter_bytes(items) == len(json.dumps(items, separators=(",", ":")).encode())


def test_a_listing_round_trips_and_skips_blank_lines_and_comments(tmp_path):
    listing = write_listing(["/a/one.txt", "/b/two words.txt"], str(tmp_path))
    with listing.open("a", encoding="utf-8") as handle:
        handle.write("\n# a comment\n  /c/three.txt  \n")
    assert read_listing(["/given.txt"], str(listing)) == ["/given.txt", "/a/one.txt", "/b/two words.txt",
                                                           "/c/three.txt"]
