"""The app's cookie routes (served by Streamlit's Starlette server through ``st.App(routes=…)``).

Streamlit's script cannot set an HttpOnly cookie, so the sign-in page mints a one-time exchange token
(:meth:`scoring.store.StaffSessions.begin`) and the browser POSTs it here (same origin, in the body — never
in the URL); the answer sets ``psyscore_staff`` = the session secret with ``Secure; HttpOnly;
SameSite=Strict; Path=/``. Pages read it back with ``st.context.cookies`` (:func:`ui.state.staff`).
``/_psyscore/signout`` expires the cookie (the session itself is revoked in the store by the page).

Secure cookies: Chromium and Firefox accept them on ``http://localhost``; on any other plain-http host the
browser drops the cookie, so a reload signs the user out (the tab itself stays signed in). Serve the app
behind a TLS proxy (https) for sessions that survive a reload; the proxy must pass the ``Cookie`` header.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ui import resources
from ui.settings import load_settings

COOKIE = "psyscore_staff"
MAX_BODY = 2048


def _same_origin(request: Request) -> bool:
    """A browser POST from the app itself: its Origin (when sent) names this host."""
    origin = request.headers.get("origin")
    if not origin:
        return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def exchange(request: Request) -> Response:
    """POST ``{"token": …}`` → ``Set-Cookie: psyscore_staff=…`` (204), or 403 for a bad or used token."""
    if not _same_origin(request):
        return Response(status_code=403)
    body = await request.body()
    if len(body) > MAX_BODY:
        return Response(status_code=413)
    try:
        token = str(json.loads(body or b"{}").get("token", ""))
    except (ValueError, AttributeError):
        return Response(status_code=400)
    cfg = load_settings()
    secret = resources.clinic(cfg.database_url).sessions.exchange(token)
    response = Response(status_code=204 if secret else 403, headers={"Cache-Control": "no-store"})
    if secret:
        response.set_cookie(COOKIE, secret, max_age=int(cfg.staff_max.total_seconds()), path="/", secure=True,
                            httponly=True, samesite="strict")
    return response


async def signout(request: Request) -> Response:
    """POST → the cookie is expired in this browser (every tab)."""
    if not _same_origin(request):
        return Response(status_code=403)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


def routes() -> list[Route]:
    return [Route("/_psyscore/session", exchange, methods=["POST"]),
            Route("/_psyscore/signout", signout, methods=["POST"])]
