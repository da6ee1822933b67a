"""`GET /ops`: the page a person on call keeps open. Its script and style are served by the app itself (no
internet needed); the data comes from the /ops JSON endpoints with the token the page asks for (or ?token=)."""

from __future__ import annotations

from importlib.resources import files

from aiohttp import web

from nfsync.connectors.base.errors import NotFound
from nfsync.workers.api.framework import Api, Call

api = Api()
_STATIC = files("nfsync.workers.api") / "static"
_TYPES = {"dashboard.js": "text/javascript", "dashboard.css": "text/css"}


@api.route("GET", "/ops", summary="The ops dashboard (HTML)", scope=None, public=True, tags=("ops",))
async def dashboard(_call: Call) -> web.Response:
    return web.Response(
        text=(_STATIC / "dashboard.html").read_text(), content_type="text/html", headers={"Cache-Control": "no-store"}
    )


@api.route(
    "GET", "/ops/static/{name}", summary="The dashboard's script and style", scope=None, public=True, tags=("ops",)
)
async def static(call: Call) -> web.Response:
    name = call.path("name")
    if name not in _TYPES:
        raise NotFound(f"no asset {name!r}")
    return web.Response(text=(_STATIC / name).read_text(), content_type=_TYPES[name])
