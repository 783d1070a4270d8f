"""FastAPI dependencies of the console's routes: the services context and the actor.

One job: who is asking, from the session, on every request. The session cookie holds only the
account id and a nonce; :func:`current_actor` reads the account from the store each time
(``claims.services.accounts.actor_for_session``), so a disabled account or an ended session
is out at its next click. No form field or header ever names the actor.

Without a valid session a page request is redirected to ``/login?next=<path>``; an htmx or
JSON request gets 401 (an ``HX-Redirect`` header tells htmx to go to the login page).
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from claims.models import Actor
from claims.services.accounts import actor_for_session
from claims.services.context import Services


def get_services(request: Request) -> Services:
    """The process's services context (``app.state.services``, set by ``create_app``)."""
    return request.app.state.services


class LoginRequired(HTTPException):
    """No valid session: the app's handler redirects pages to the login page, answers 401 to
    htmx and JSON requests."""

    def __init__(self, next_url: str) -> None:
        super().__init__(status_code=401, detail="login required")
        self.next_url = next_url


def wants_html_page(request: Request) -> bool:
    """True for an ordinary page request (not htmx, not JSON)."""
    if request.headers.get("hx-request"):
        return False
    accept = request.headers.get("accept", "")
    return not ("application/json" in accept and "text/html" not in accept)


def login_url(next_url: str) -> str:
    """``/login?next=...`` for a local path (anything else is dropped)."""
    if not next_url.startswith("/") or next_url.startswith("//") or next_url.startswith("/login"):
        return "/login"
    return "/login?next=" + quote(next_url, safe="/")


def safe_next(next_url: str | None, *, allow_login: bool = False) -> str | None:
    """``next_url`` when it is a local path on this site (the login page itself only with
    ``allow_login``), else None (no open redirect)."""
    if not next_url or not next_url.startswith("/") or next_url.startswith("//") or "\\" in next_url:
        return None
    if any(ord(c) < 32 for c in next_url) or (next_url.startswith("/login") and not allow_login):
        return None
    return next_url


async def optional_actor(request: Request) -> Actor | None:
    """The session's actor, or None (no session, unknown or disabled account, ended session).
    An invalid session is cleared."""
    session = request.session
    uid, nonce = session.get("uid"), session.get("nonce")
    if not isinstance(uid, str) or not isinstance(nonce, str):
        return None
    actor = await run_in_threadpool(actor_for_session, get_services(request), uid, nonce)
    if actor is None:
        session.clear()
    request.state.actor = actor
    return actor


async def current_actor(request: Request) -> Actor:
    """The actor of the request, from its session and the store (see the module docstring).

    Raises:
        LoginRequired: no valid session.
    """
    actor = await optional_actor(request)
    if actor is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path if request.method == "GET" else "/")
    return actor
