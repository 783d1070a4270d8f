"""The console's ASGI application: :func:`create_app`.

One job: assemble the app from the services context: the middlewares
(``claims.web.security``: headers, CSRF, session), ``/static``, every router in
``claims.web.routes``, ``GET /`` to the role's landing page, and the answers to typed errors
(a claim not found or out of scope → 404, not allowed → 403, Temporal or the store not
answering → 503, login required → the login page or 401), rendered as pages in the reader's
language; and a request whose cookie header is not UTF-8 is refused with 400 before the
middlewares read it.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from claims.errors import ClaimNotFound, NotAllowed, Unavailable
from claims.models import Actor
from claims.models.bounds import printable
from claims.services.context import Services
from claims.web import routes, security
from claims.web.deps import LoginRequired, current_actor, login_url, wants_html_page
from claims.web.i18n import N_, error_message, gettext_for
from claims.web.templating import landing_page, locale_of, render

STATIC_DIR = Path(__file__).resolve().parent / "static"

TITLES = {
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    422: N_("Invalid input"),
    503: N_("Not available"),
}


def _error_page(request: Request, status: int, message: str | None = None) -> Response:
    _ = gettext_for(locale_of(request))
    title = _(TITLES.get(status, N_("Error")))
    if not wants_html_page(request) and not request.headers.get("hx-request"):
        return Response(message or title, status_code=status, media_type="text/plain; charset=utf-8")
    return render(request, "error.html", status_code=status, status=status, title=title, message=message)


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


async def refuse_control_characters(request: Request) -> None:
    """Every route's first dependency: a path with a control character (``%00`` … ``%1F``,
    ``%7F``) names no page: 404; a query value with one is invalid input: 422. No claim number,
    batch id, user name or search term holds one (``claims.models.bounds``), and PostgreSQL's
    driver cannot carry a NUL in a string at all (it raised a 500 before).

    Raises:
        starlette.exceptions.HTTPException: 404 or 422, rendered by the app's error page.
    """
    if _has_control(request.url.path):
        raise StarletteHTTPException(404)
    for key, value in request.query_params.multi_items():
        if _has_control(key) or _has_control(value):
            raise StarletteHTTPException(422, f"{printable(key)}: control characters are not accepted")


def create_app(services: Services) -> FastAPI:
    """The console on ``services`` (the caller owns the context and closes it)."""
    app = FastAPI(
        title="计生保险理赔 console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.services = services
    settings = services.settings
    security.install(app, settings.web.session_secret(settings.store.data_dir))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    for info in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def home(actor: Annotated[Actor, Depends(current_actor)]) -> Response:
        return RedirectResponse(landing_page(actor), status_code=303)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if wants_html_page(request):
            return RedirectResponse(login_url(exc.next_url), status_code=303)
        return Response("login required", status_code=401, headers={"HX-Redirect": login_url(exc.next_url)})

    @app.exception_handler(ClaimNotFound)
    async def _not_found(request: Request, exc: ClaimNotFound) -> Response:
        return _error_page(request, 404, error_message(exc, gettext_for(locale_of(request))))

    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, exc: Unavailable) -> Response:
        # Temporal or the store did not answer where a route does not say so itself
        return _error_page(request, 503, error_message(exc, gettext_for(locale_of(request))))

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, exc: NotAllowed) -> Response:
        return _error_page(request, 403, error_message(exc, gettext_for(locale_of(request))))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (301, 302, 303, 307, 308):
            return HTMLResponse("", status_code=exc.status_code, headers=exc.headers)
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code not in (404, 405) else None
        return _error_page(request, exc.status_code, detail)

    return app
