"""Refuse hosts outside the public internet: a feed must not make us fetch our own network."""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlsplit


class AddressGuard:
    """Says why a URL's host must not be fetched; verdicts are cached per host for the guard's life.

    Checked before each hop. httpx resolves the name again to connect, so a
    DNS answer that changes in between (rebinding) is not caught: this guards
    against feeds naming internal hosts, not against a hostile DNS server.
    """

    def __init__(self, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._verdicts: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def refusal(self, url: str) -> str | None:
        """The reason `url`'s host is refused (a private, loopback, ... address), or None."""
        if self._allow_private:
            return None
        host = urlsplit(url).hostname or ""
        with self._lock:
            if host in self._verdicts:
                return self._verdicts[host]
        try:
            verdict = non_public_address(host)
        except OSError as exc:  # not cached: DNS may answer next time
            return f"could not resolve host {host}: {getattr(exc, 'strerror', None) or exc}"
        with self._lock:
            self._verdicts[host] = verdict
        return verdict


def non_public_address(host: str) -> str | None:
    """A refusal when `host` is, or resolves to, an address outside the public internet."""
    try:
        addresses = [ipaddress.ip_address(host)]
        literal = True
    except ValueError:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        literal = False
    for address in addresses:
        kind = _address_kind(address)
        if kind:
            where = f"{address} is" if literal else f"{host} resolves to {address},"
            return f"refused: {where} a {kind} address (use --allow-private)"
    return None


def _address_kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind, flag in (("loopback", address.is_loopback), ("unspecified", address.is_unspecified),
                       ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                       ("private", address.is_private), ("reserved", address.is_reserved),
                       ("non-public", not address.is_global)):
        if flag:
            return kind
    return None
