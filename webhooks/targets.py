"""Where a webhook may be sent (the SSRF guard) and the pinned connection that sends it.

Production accepts only `https` URLs whose host resolves to public addresses; loopback, private,
link-local (cloud metadata at 169.254.169.254), shared, multicast and reserved addresses are refused.
The check runs when an endpoint is saved and again at every delivery, and the delivery connects to
the very address that passed the check (the host name goes only into SNI, certificate checks and
the Host header), so a DNS answer that changes between the check and the connection (rebinding)
cannot redirect it. Redirects are not followed. WEBHOOK_ALLOW_PRIVATE_TARGETS (development and
tests) admits `http` and private addresses.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why, without internal detail."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (SNI, certificate, Host header)
    address: str  # the checked IP address the connection goes to
    port: int
    path: str  # path and query


def _parts(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeTarget("The URL must use https.")
    if scheme == "http" and not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        raise UnsafeTarget("The URL must use https.")
    if parts.username or parts.password:
        raise UnsafeTarget("The URL must not carry credentials; the signature authenticates deliveries.")
    if not parts.hostname:
        raise UnsafeTarget("The URL needs a host.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeTarget("The URL's port is not valid.") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, parts.hostname, port, path


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


def check_url(url: str) -> None:
    """Refuse a URL that could never be a production target (scheme, credentials, a literal private IP).

    Name resolution is left to `resolve` at delivery time: an endpoint whose DNS is not set up yet
    may be registered."""
    _scheme, host, _port, _path = _parts(url)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS and not _is_public(literal):
        raise UnsafeTarget("The URL points to a private, loopback or link-local address.")


def resolve(url: str) -> Target:
    """The checked address to deliver `url` to, or UnsafeTarget."""
    scheme, host, port, path = _parts(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UnsafeTarget("The URL's host does not resolve.") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS and not all(_is_public(a) for a in addresses):
        # Every answer must be public: a mixed answer is how rebinding attacks start.
        raise UnsafeTarget("The URL resolves to a private, loopback or link-local address.")
    return Target(scheme=scheme, host=host, address=str(addresses[0]), port=port, path=path)


# One keep-alive pool per checked target and worker process.
_pools: dict[Target, urllib3.HTTPConnectionPool] = {}


def pool_for(target: Target) -> urllib3.HTTPConnectionPool:
    key = Target(target.scheme, target.host, target.address, target.port, "")
    pool = _pools.get(key)
    if pool is None:
        timeout = urllib3.Timeout(
            connect=settings.WEBHOOK_TIMEOUT_SECONDS, read=settings.WEBHOOK_TIMEOUT_SECONDS
        )
        common = {"maxsize": 16, "block": False, "timeout": timeout, "retries": False}
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                target.address,
                target.port,
                server_hostname=target.host,
                assert_hostname=target.host,
                cert_reqs=ssl.CERT_REQUIRED,
                **common,
            )
        else:
            pool = urllib3.HTTPConnectionPool(target.address, target.port, **common)
        _pools[key] = pool
    return pool


def host_header(target: Target) -> str:
    default = 443 if target.scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    return host if target.port == default else f"{host}:{target.port}"
