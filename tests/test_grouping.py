"""Union-find once: the groups stories and entity spellings are merged by."""

from extractors.grouping import connected_groups


def test_links_chain_into_one_group_and_loose_items_stay_alone():
    groups = connected_groups([("c", "b"), ("b", "a"), ("x", "y")], items=["a", "lonely"])
    assert groups == [{"a", "b", "c"}, {"lonely"}, {"x", "y"}]


def test_link_order_does_not_change_the_groups():
    links = [("d", "e"), ("a", "b"), ("e", "a"), ("q", "r")]
    assert connected_groups(links) == connected_groups(reversed(links)) == [{"a", "b", "d", "e"}, {"q", "r"}]


def test_a_self_link_is_a_group_of_one():
    assert connected_groups([("a", "a")]) == [{"a"}]
