"""Login, logout and the language switch: ``GET/POST /login``, ``POST /logout``, ``POST /lang``.

One job: start and end a session. A successful login keeps only the account id and its nonce
in the signed session cookie and answers 303 to ``next`` (a local path) or the role's landing
page; a failed one answers 200 with one message for a wrong name or password ("用户名或密码错误")
and sets no session. After five failures in a row the account is locked for 15 minutes and
the page says so, for a name without an account just the same.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from claims.models import Actor
from claims.services.accounts import LoginFailed, login, logout
from claims.web.deps import get_services, optional_actor, safe_next
from claims.web.i18n import LANG_COOKIE, LOCALES, error_message, gettext_for
from claims.web.templating import landing_page, locale_of, render

router = APIRouter()

LANG_MAX_AGE = 365 * 24 * 3600


@router.get("/login")
async def login_page(
    request: Request, actor: Annotated[Actor | None, Depends(optional_actor)], next: str | None = None
) -> Response:
    """The login form; someone logged in already goes to their landing page."""
    if actor is not None:
        return RedirectResponse(safe_next(next) or landing_page(actor), status_code=303)
    return render(request, "login.html", next=safe_next(next) or "", username="")


@router.post("/login")
async def login_submit(
    request: Request,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the name and password (see the module docstring)."""
    services = get_services(request)
    try:
        grant = await run_in_threadpool(login, services, username, password)
    except LoginFailed as e:
        _ = gettext_for(locale_of(request))
        request.session.clear()
        return render(
            request,
            "login.html",
            error=error_message(e, _),
            next=safe_next(next) or "",
            username=username[:64],
        )
    request.session.clear()
    request.session.update({"uid": grant.user_id, "nonce": grant.nonce})
    return RedirectResponse(safe_next(next) or landing_page(grant.actor), status_code=303)


@router.post("/logout")
async def logout_submit(request: Request) -> Response:
    """End the session (and every other session of the account); back to the login page."""
    uid, nonce = request.session.get("uid"), request.session.get("nonce")
    if isinstance(uid, str) and isinstance(nonce, str):
        await run_in_threadpool(logout, get_services(request), uid, nonce)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/lang")
async def switch_language(lang: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "") -> Response:
    """Keep the chosen language in a cookie (a year) and go back to the page."""
    response = RedirectResponse(safe_next(next, allow_login=True) or "/", status_code=303)
    if lang in LOCALES:
        response.set_cookie(LANG_COOKIE, lang, max_age=LANG_MAX_AGE, httponly=True, samesite="lax")
    return response
