"""Single sign-on: ``GET /auth/oidc/login`` and ``GET /auth/oidc/callback`` (OpenID Connect,
Authlib's Starlette client).

One job: the round trip to the provider. Both answer 404 unless ``CLAIMS_WEB_OIDC_ISSUER`` is
set (the login page then shows "统一身份认证登录"). ``/auth/oidc/login?next=`` keeps the local
``next`` path in the session and redirects to the provider (Authlib keeps its state and nonce
in the session too). The callback exchanges the code (Authlib checks the state), maps the
provider's claims to staff id, role, county and village (``claims.web.oidc``), creates or
updates the local account (``claims.services.sso.sign_in``) and starts the same session a
password login starts (the account id and its nonce only), then answers 303 to ``next`` or the
role's landing page. A refusal shows the login page with the reason: 403 when the provider's
answer does not make a console identity or the account is disabled, 400 when the protocol
failed (a stale or forged state, an error from the provider), 502 when the provider cannot be
reached.

No real provider was run against these routes: the tests stand in Authlib's token result.
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from claims.services.sso import SsoRefused, sign_in
from claims.web.deps import get_services, safe_next
from claims.web.i18n import N_, format_message, gettext_for
from claims.web.oidc import CLIENT_NAME, identity_from_claims, oauth_registry
from claims.web.templating import landing_page, locale_of, render

router = APIRouter()

NEXT_KEY = "oidc_next"
"""Session key of the local path to return to after the provider."""

MESSAGES: dict[str, str] = {
    "oidc.staff_id": N_(
        "The staff ID the identity provider gave ({value}, claim {claim}) is not a staff ID: ASCII "
        "letters, digits and _ . - @, at most 64 characters. Ask the identity provider's "
        "administrator to correct it."
    ),
    "oidc.no_staff_id": N_("The identity provider gave no staff ID (claim {claim})."),
    "oidc.no_role": N_(
        "None of your roles at the identity provider is a role of this console (claim {claim}). "
        "Ask the administrator to give you one."
    ),
    "oidc.roles_conflict": N_(
        "Your roles at the identity provider map to several console roles ({roles}); an account has one role."
    ),
    "oidc.claim_type": N_(
        "The identity provider's claim {claim} ({field}) cannot be read: one text value is needed."
    ),
    "oidc.place": N_("The {field} the identity provider gave cannot be used: {reason}"),
    "oidc.scope": N_(
        "The identity provider gave no {field}: a village needs its county, "
        "a village secretary needs a village."
    ),
    "oidc.disabled": N_("Your account {id} is disabled in this console. Ask the operator to enable it."),
}
"""Refusals by code (``claims.services.sso.SsoRefused``), in the reader's language."""

FAILED = N_("Single sign-on failed ({error}). Try again, or log in with your password.")
UNREACHABLE = N_("The identity provider cannot be reached. Try again later, or log in with your password.")


def _enabled(request: Request) -> Any:
    web = get_services(request).settings.web
    if not web.oidc_enabled:
        raise HTTPException(status_code=404)
    return web


def _client(request: Request) -> Any:
    """The provider's Authlib client, built once per app."""
    oauth = getattr(request.app.state, "oidc_oauth", None)
    if oauth is None:
        oauth = oauth_registry(get_services(request).settings.web)
        request.app.state.oidc_oauth = oauth
    return oauth.create_client(CLIENT_NAME)


def _refused(request: Request, status: int, message: str) -> Response:
    return render(request, "login.html", status_code=status, error=message, next="", username="")


def refusal_message(error: SsoRefused, locale: str) -> str:
    """``error`` in the reader's language (its own English message when the code has none)."""
    _ = gettext_for(locale)
    template = MESSAGES.get(error.code)
    return (format_message(_(template), error.params) if template else "") or error.message


@router.get("/auth/oidc/login")
async def oidc_login(request: Request, next: str | None = None) -> Response:
    """Off to the provider (module docstring)."""
    web = _enabled(request)
    request.session[NEXT_KEY] = safe_next(next) or ""
    redirect_uri = web.oidc_redirect_url or str(request.url_for("oidc_callback"))
    try:
        return await _client(request).authorize_redirect(request, redirect_uri)
    except httpx.HTTPError:
        return _refused(request, 502, gettext_for(locale_of(request))(UNREACHABLE))


@router.get("/auth/oidc/callback", name="oidc_callback")
async def oidc_callback(request: Request) -> Response:
    """Back from the provider (module docstring)."""
    from authlib.integrations.base_client import OAuthError

    web = _enabled(request)
    _ = gettext_for(locale_of(request))
    client = _client(request)
    try:
        token = await client.authorize_access_token(request)
        claims = token.get("userinfo") if isinstance(token, dict) else None
        if not claims:
            claims = await client.userinfo(token=token)
    except OAuthError as e:
        return _refused(request, 400, format_message(_(FAILED), {"error": str(e.error or "error")[:100]}))
    except httpx.HTTPError:
        return _refused(request, 502, _(UNREACHABLE))
    next_url = safe_next(request.session.pop(NEXT_KEY, None))
    try:
        identity = identity_from_claims(claims, web)
        grant = await run_in_threadpool(
            sign_in,
            get_services(request),
            staff_id=identity.staff_id,
            staff_id_claim=web.oidc_staff_id_claim,
            role=identity.role,
            county=identity.county,
            village=identity.village,
        )
    except SsoRefused as e:
        request.session.clear()
        return _refused(request, 403, refusal_message(e, locale_of(request)))
    request.session.clear()
    request.session.update({"uid": grant.user_id, "nonce": grant.nonce})
    return RedirectResponse(next_url or landing_page(grant.actor), status_code=303)
