"""The fetcher's parts on their own: address guard, robots rules, content sniffing (no network needed)."""

from __future__ import annotations

import pytest

from extractors.fetching.address_guard import AddressGuard, non_public_address
from extractors.fetching.client import Refused, next_hop
from extractors.fetching.robots import CRAWL_DELAY_MAX, allows, crawl_delay, parse_robots, robots_key
from extractors.sniffing import binary_kind, body_type_problem, declared_type_problem, mime_type


@pytest.mark.parametrize("host, kind", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("169.254.169.254", "link-local"),
    ("::1", "loopback"), ("::ffff:c0a8:1", "private"), ("0.0.0.0", "unspecified"),
])
def test_non_public_addresses_are_named(host, kind):
    assert non_public_address(host) == f"refused: {host} is a {kind} address (use --allow-private)"


def test_ipv4_mapped_ipv6_is_judged_by_its_ipv4_address():
    assert "private address" in non_public_address("::ffff:192.168.0.1")


def test_public_literal_and_allow_private_pass():
    assert non_public_address("93.184.216.34") is None
    assert AddressGuard(allow_private=True).refusal("http://127.0.0.1:8080/x") is None
    assert "loopback" in AddressGuard(allow_private=False).refusal("http://127.0.0.1:8080/x")


def test_robots_rules_and_crawl_delay_cap():
    rules = parse_robots("User-agent: newsflow\nDisallow: /private/\nCrawl-delay: 600\n")
    assert not allows(rules, "https://a.example/private/x") and allows(rules, "https://a.example/news/x")
    assert crawl_delay(rules, 1.0) == CRAWL_DELAY_MAX
    assert crawl_delay(parse_robots(""), 1.5) == 1.5 and allows(parse_robots(""), "https://a.example/x")
    assert robots_key("HTTPS://user@News.Example:8443/a?b") == "https://news.example:8443"


def test_redirect_hops_are_checked():
    assert next_hop(["http://a.example/x"], "/y", 301, 5) == "http://a.example/y"
    with pytest.raises(Refused, match="redirect loop: http://a.example/x -> http://a.example/x"):
        next_hop(["http://a.example/x"], "/x", 302, 5)
    with pytest.raises(Refused, match="only http"):
        next_hop(["http://a.example/x"], "ftp://a.example/y", 302, 5)


def test_sniffing_trusts_magic_over_labels():
    assert binary_kind(b"%PDF-1.7") == "a PDF document" and binary_kind(b"<html>") is None
    assert mime_type("Text/HTML; charset=utf-8") == "text/html"
    assert declared_type_problem("page", "application/pdf") == "unsupported content type application/pdf"
    assert declared_type_problem("feed", "application/atom+xml") is None
    assert body_type_problem("page", "text/html", b"\x89PNG....") == "unsupported content type: a PNG image served as text/html"
    assert body_type_problem("feed", "text/html", b"<!doctype html><p>hi</p>") is not None
    assert body_type_problem("feed", "text/html", b"<html><body><feed xmlns='http://www.w3.org/2005/Atom'>") is None
