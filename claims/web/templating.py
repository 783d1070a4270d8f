"""Rendering the console's pages: one Jinja2 environment and :func:`render`.

One job: a template and its context in, an ``HTMLResponse`` out, with what every page needs
in the context: ``actor`` (or None), ``csrf_token``, ``_`` / ``gettext`` / ``ngettext`` in the
reader's language, ``locale``, ``locales`` (for the language switch), ``nav`` (the links the
actor's role has) and ``request``. Autoescaping is on for every template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from claims.models import Actor, Role
from claims.web.i18n import (
    LANG_COOKIE,
    LOCALES,
    N_,
    ROLES,
    STAGES,
    STEPS,
    gettext_for,
    ngettext_for,
    pick_locale,
)
from claims.web.security import csrf_token

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(ROLES=ROLES, STAGES=STAGES, STEPS=STEPS)

NAV: dict[Role, list[tuple[str, str]]] = {
    Role.HANDLER: [("/inbox", N_("My tasks"))],
    Role.INVESTIGATOR: [("/inbox", N_("Investigations"))],
    Role.SUPERVISOR: [
        ("/inbox", N_("My tasks")),
        ("/audit", N_("Audit")),
        ("/reports/monthly", N_("Monthly report")),
        ("/reports/loss-ratio", N_("Loss ratio")),
        ("/reports/published", N_("Published reports")),
    ],
    Role.VILLAGE_SECRETARY: [("/inbox", N_("Village claims")), ("/claims/new", N_("New report"))],
    Role.AUDITOR: [
        ("/audit", N_("Audit")),
        ("/reports/monthly", N_("Monthly report")),
        ("/reports/loss-ratio", N_("Loss ratio")),
    ],
}
"""The navigation links of each role (path, message id); screens add theirs here."""


LANDING: dict[Role, str] = {Role.AUDITOR: "/audit", Role.SUPERVISOR: "/supervise"}
"""Landing pages other than the inbox."""


def landing_page(actor: Actor) -> str:
    """Where ``GET /`` sends the actor: ``/audit`` for auditors, ``/supervise`` for supervisors,
    the inbox for everyone else (an investigator's inbox holds the claims under investigation
    in their county)."""
    return LANDING.get(actor.role, "/inbox")


def locale_of(request: Request) -> str:
    """The reader's locale (language cookie, else Chinese)."""
    return pick_locale(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render template ``name`` with the common context (module docstring) and ``context``."""
    locale = locale_of(request)
    actor: Actor | None = context.pop("actor", None) or getattr(request.state, "actor", None)
    _ = gettext_for(locale)
    full = {
        "request": request,
        "actor": actor,
        "csrf_token": csrf_token(request),
        "_": _,
        "gettext": _,
        "ngettext": ngettext_for(locale),
        "locale": locale,
        "html_lang": "zh-CN" if locale == "zh_CN" else locale,
        "locales": LOCALES,
        "nav": NAV.get(actor.role, []) if actor else [],
        **context,
    }
    html = env.get_template(name).render(full)
    return HTMLResponse(html, status_code=status_code)
