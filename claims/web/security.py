"""The console's protections around every request: the signed session cookie, CSRF on every
state-changing request, and the security headers.

One job: the middlewares and their settings, in one place.

- **Session** (Starlette ``SessionMiddleware``, itsdangerous-signed, not encrypted): the
  cookie ``claims_session`` holds only ``uid`` (the staff id) and ``nonce``; role and scope
  are read from the store on every request (``claims.web.deps``). ``HttpOnly``,
  ``SameSite=Lax``, 12 hours.
- **CSRF** (``asgi-csrf``, double-submit): every POST/PUT/PATCH/DELETE must carry the
  ``csrftoken`` cookie's value in the form field ``csrftoken`` or the header ``x-csrftoken``
  (htmx sends it from ``hx-headers`` on ``<body>``), else 403. asgi-csrf lets through a
  request with no cookies at all; here every path is protected (:class:`_EveryPath`), so the
  login POST and a forged POST without cookies are refused too. One exemption: a POST to a
  path of :data:`CSRF_EXEMPT_JSON` whose ``Content-Type`` is exactly ``application/json`` (the
  Temporal codec endpoint, called by Temporal's UI from another origin; it is protected by
  the auditor session, CORS and that content type instead: ``claims.web.routes.codec``).
- **Headers** (:class:`SecurityHeaders`): ``Content-Security-Policy`` (``default-src 'self'``:
  htmx is served from ``/static``; no inline script, no ``eval``), ``X-Content-Type-Options:
  nosniff``, ``Referrer-Policy: same-origin``, ``X-Frame-Options: DENY``. Over https (the
  request's scheme, also from a trusted proxy's ``X-Forwarded-Proto`` through uvicorn) every
  cookie set gets ``Secure`` and responses carry ``Strict-Transport-Security``; every cookie
  is ``HttpOnly`` (the CSRF token reaches forms and htmx through the page, not the cookie).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from asgi_csrf import asgi_csrf
from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse

from claims.web import csrf_multipart

SESSION_COOKIE = "claims_session"
SESSION_MAX_AGE = 12 * 3600
CSRF_COOKIE = "csrftoken"
CSRF_FIELD = "csrftoken"
CSRF_HEADER = "x-csrftoken"

HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
"""The security headers every response carries."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def derive_key(secret: str, purpose: str) -> str:
    """A key for one purpose (``session``, ``csrf``) from the console's one secret."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


CSRF_EXEMPT_JSON = frozenset({"/codec/decode"})
"""Paths whose ``application/json`` POSTs skip the CSRF token (see the module docstring)."""


def _json_exempt(scope: Scope) -> bool:
    """asgi-csrf's ``skip_if_scope``: a POST to a :data:`CSRF_EXEMPT_JSON` path with a JSON body."""
    if scope.get("path") not in CSRF_EXEMPT_JSON:
        return False
    headers = dict(scope.get("headers") or [])
    return headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower() == b"application/json"


class _EveryPath:
    """asgi-csrf's ``always_protect``: every path, so a POST without cookies is checked too."""

    def __contains__(self, path: object) -> bool:
        return True


async def _csrf_failed(scope: Scope, send: Send, message_id: object) -> None:
    body = (
        '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>403</title>'
        "<p>请求未通过安全校验（CSRF），请刷新页面后重试。</p>"
        '<p lang="en">The request failed its security check (CSRF): reload the page and try again.</p>'
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/html; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RefuseUndecodableCookies:
    """Answers 400 to a request whose ``Cookie`` header is not UTF-8, before any middleware
    reads it (the CSRF middleware decodes cookies as UTF-8 and raised on every route: a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", []):
                if name == b"cookie":
                    try:
                        value.decode("utf-8")
                    except UnicodeDecodeError:
                        response = PlainTextResponse("cookie: not UTF-8", status_code=400)
                        await response(scope, receive, send)
                        return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds :data:`HEADERS` to every response; over https also ``Secure`` on every cookie set
    and ``Strict-Transport-Security``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = []
                for key, value in message.get("headers") or []:
                    if key.lower() == b"set-cookie":
                        if b"; httponly" not in value.lower():  # the CSRF cookie: the page holds the token
                            value = value + b"; HttpOnly"
                        if https and b"; secure" not in value.lower():
                            value = value + b"; Secure"
                    headers.append((key, value))
                present = {k.lower() for k, _ in headers}
                for name, value in HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, secret: str) -> None:
    """Put the middlewares on ``app``, outermost first: headers, CSRF, session; CSRF tokens of
    multipart (file upload) forms are read by ``claims.web.csrf_multipart``."""
    csrf_multipart.install()
    app.add_middleware(
        SessionMiddleware,
        secret_key=derive_key(secret, "session"),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=False,  # Secure is added per request over https (SecurityHeaders)
    )
    app.add_middleware(
        asgi_csrf,
        signing_secret=derive_key(secret, "csrf"),
        cookie_name=CSRF_COOKIE,
        http_header=CSRF_HEADER,
        always_protect=_EveryPath(),
        skip_if_scope=_json_exempt,
        send_csrf_failed=_csrf_failed,
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RefuseUndecodableCookies)  # outermost: before the CSRF middleware reads cookies


def csrf_token(request: Request) -> str:
    """The CSRF token for forms (``<input name="csrftoken">``) and htmx (``x-csrftoken``)."""
    get = request.scope.get("csrftoken")
    return get() if callable(get) else ""
