"""RabbitMQ virtual hosts for the lab: the demo and the test runs each use their own, so they never consume another
installation's wake-ups and commands, and purging or deleting their queues touches nothing else.

Through the management HTTP API (https://www.rabbitmq.com/docs/management#http-api: ``PUT /api/vhosts/{name}``,
``PUT /api/permissions/{vhost}/{user}``, ``DELETE /api/vhosts/{name}``), with the credentials of the AMQP URL.
Synchronous on purpose: called once at start-up and at exit, outside any event loop.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

TIMEOUT = 10.0


class VhostUnavailable(RuntimeError):
    """The management API cannot create or delete the vhost (not enabled, unreachable, or refused)."""


def url_with_vhost(amqp_url: str, vhost: str) -> str:
    """The AMQP URL with its vhost replaced (the path is the percent-encoded vhost name)."""
    return urlunsplit(urlsplit(amqp_url)._replace(path="/" + quote(vhost, safe="")))


def _call(amqp_url: str, management_url: str, method: str, path: str, body: Any = None) -> Any:
    amqp = urlsplit(amqp_url)
    token = base64.b64encode(f"{amqp.username or 'guest'}:{amqp.password or 'guest'}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the configured management URL (http or https)
        management_url.rstrip("/") + "/api" + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            text = response.read()
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise VhostUnavailable(f"RabbitMQ management API {method} {path}: {exc}") from None
    return json.loads(text) if text else None


def create_vhost(amqp_url: str, management_url: str, vhost: str) -> str:
    """Create ``vhost`` (idempotent), let the URL's user use it, and return the AMQP URL that points at it."""
    user = urlsplit(amqp_url).username or "guest"
    name = quote(vhost, safe="")
    _call(amqp_url, management_url, "PUT", f"/vhosts/{name}")
    _call(amqp_url, management_url, "PUT", f"/permissions/{name}/{quote(user, safe='')}", _ALL)
    return url_with_vhost(amqp_url, vhost)


def delete_vhost(amqp_url: str, management_url: str, vhost: str) -> None:
    """Delete ``vhost`` and everything in it; a vhost that is already gone is not an error."""
    try:
        _call(amqp_url, management_url, "DELETE", f"/vhosts/{quote(vhost, safe='')}")
    except VhostUnavailable as exc:
        if "404" not in str(exc):
            raise


def list_vhosts(amqp_url: str, management_url: str) -> list[str]:
    return [str(v["name"]) for v in _call(amqp_url, management_url, "GET", "/vhosts") or []]


_ALL = {"configure": ".*", "write": ".*", "read": ".*"}
