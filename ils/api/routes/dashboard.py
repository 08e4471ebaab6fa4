"""The live ops dashboard: a static page at ``/`` and its three assets, no build step.

The page logs in through ``/auth/login``, reads the REST routes and follows the tenant's events
over the WebSocket (``/ws`` on the same origin, or the URL given as ``?ws=``). These routes serve
HTML, CSS and JavaScript, so they stay out of the OpenAPI document of the JSON API.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from ils.errors import NotFound

router = APIRouter(include_in_schema=False)

#: The only files served: name -> media type. Nothing else of the package is reachable.
ASSETS = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
#: Same-origin everything; sockets to any ws/wss origin (the gateway may sit on another port).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _read(name: str) -> str:
    return resources.files("ils.api.static").joinpath(name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    return HTMLResponse(_read("index.html"), headers={"Content-Security-Policy": CSP})


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no asset {name!r}")
    return Response(_read(name), media_type=media_type)
