"""Where outbound HTTP may go (DESIGN invariant 13).

A platform's API base URL must be https on one of the platform's published hosts (``PlatformSpec.api_hosts``), or,
for a platform the merchant hosts (WooCommerce), on any host with public addresses. Whatever the URL, every
connection is refused when its host resolves only to loopback, private, link-local (cloud metadata such as
169.254.169.254), shared, multicast or reserved addresses - checked after DNS resolution, so a public name pointing
inward does not pass. The operator may allow named hosts (``NFSYNC_OUTBOUND_ALLOWED_HOSTS``: the local sandboxes in
tests and the demo, an egress proxy); nothing a tenant sets can.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from nfsync.connectors.base.errors import PermanentError


class OutboundRefused(PermanentError):
    """The address is not one nfsync may call."""


class ResolvedInward(OSError):
    """A host that resolves only to addresses nfsync may not call (raised inside aiohttp's resolver)."""


@dataclass(frozen=True)
class OutboundPolicy:
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, text: str) -> OutboundPolicy:
        """A comma list of host names or IP addresses (no ports)."""
        return cls(frozenset(part.strip().lower() for part in text.split(",") if part.strip()))

    def allows_host(self, host: str) -> bool:
        return host.lower().strip("[]") in self.allowed_hosts


def is_public_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def check_url(url: str, api_hosts: Iterable[str] | None, policy: OutboundPolicy, what: str = "api_base_url") -> None:
    """Refuse a URL nfsync must not call (OutboundRefused, a permanent error with a reason for the caller).
    ``api_hosts``: the platform's hosts; None for a platform on the merchant's own host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise OutboundRefused(f"{what} must be an absolute URL with a host")
    if policy.allows_host(host):
        return
    if parts.scheme != "https":
        raise OutboundRefused(f"{what} must use https")
    if api_hosts is not None and host not in set(api_hosts):
        raise OutboundRefused(f"{what}: {host} is not one of the platform's API hosts")
    if _is_ip_literal(host) and not is_public_address(host):
        raise OutboundRefused(f"{what}: {host} is not a public address")


def check_connect_target(host: str, policy: OutboundPolicy) -> None:
    """For a request about to go out: an IP-literal host is never resolved, so it is checked here."""
    if _is_ip_literal(host) and not policy.allows_host(host) and not is_public_address(host):
        raise OutboundRefused(f"outbound calls to {host} are not allowed")


class GuardedResolver(AbstractResolver):
    """DNS for every outbound session: drops every non-public address of a host the operator has not allowed, and
    refuses the host when none is left."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self._policy = policy
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if self._policy.allows_host(host):
            return found
        public = [entry for entry in found if is_public_address(entry["host"])]
        if not public:
            raise ResolvedInward(f"{host} resolves to no public address; outbound calls there are not allowed")
        return public

    async def close(self) -> None:
        await self._inner.close()
