"""The supervisor's page (``/supervise``): counters, the table by township × handler, filtered
lists with bulk reassignment, the approvals waiting, and the charts.

One job: the supervisor's screen, for supervisors only (anyone else gets 403). Filters live in
the query string (``?sla=breached|at_risk|paused|stuck&green=1&approval=1&township=&handler=
&review=review|siu&docs=1&page=``) so Back works and a view can be bookmarked; the reads and
the bulk action are ``claims.services.supervision`` (scoped by the session's county in SQL). ``POST
/supervise/reassign`` (form fields ``claim_numbers`` (repeated) and ``handler``; CSRF checked
by the app's middleware) is Post/Redirect/Get: the per-claim results are kept briefly on the
server (:class:`ResultStore`: at most :data:`KEPT_RESULTS` sets, :data:`RESULTS_TTL` seconds,
each bound to the supervisor who asked; the session cookie holds only the set's random key)
and the answer is a 303 to ``GET /supervise/reassigned`` (with the list's filters), which shows
the page with a result on every selected claim, so a browser refresh reads the results again
and does not reassign again. A refused selection or handler (422, nothing performed) is
answered at once. The charts'
numbers are in the page (a ``<script type="application/json">`` block read by
``/static/supervise.js``, which draws them with the vendored ECharts) and at
``/supervise/charts.json``; a table of the same numbers sits under each chart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from claims.errors import InputError
from claims.models import Actor
from claims.services import supervision
from claims.services.context import Services
from claims.services.supervision import Filter, Overview, Reassigned
from claims.web import present
from claims.web.deps import current_actor, get_services
from claims.web.i18n import error_message, gettext_for
from claims.web.kept import KeptForRedirect
from claims.web.routes.inbox import MAX_PAGE, calendar_of, now_utc
from claims.web.templating import env, locale_of, render

router = APIRouter()

COUNTERS: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("overdue", "已超期", "Overdue", {"sla": "breached"}),
    ("at_risk", "临近超期", "At risk", {"sla": "at_risk"}),
    ("paused", "暂停·等待资料", "Paused · waiting for documents", {"sla": "paused"}),
    ("stuck", "处理受阻", "Stuck", {"sla": "stuck"}),
    ("green", "绿色通道", "Green channel", {"green": "1"}),
    ("approval", "待审批赔付", "Waiting for approval", {"approval": "1"}),
    ("in_review", "复核中", "In review", {"review": "review"}),
    ("referred", "特调", "SIU hold", {"review": "siu"}),
    ("documents", "待审核资料", "Documents to check", {"docs": "1"}),
    ("withdrawn", "撤案", "Withdrawn", {}),
    ("reopened", "重开·重新核定", "Reopened · being decided again", {}),
    ("advance_paid", "预付已付·待终付", "Advance paid · final payment to come", {}),
    ("receivable_open", "待追回", "Receivable open", {}),
)
"""The counters: attribute of ``Counters``, Chinese, English, the list's query (empty: no
list; the list holds open claims, and withdrawn claims are closed, while advance and receivable
are counted in the ledger, not listed: the count alone)."""

OUTCOMES = {
    "reassigned": ("已改派", "reassigned"),
    "refused": ("被拒绝", "refused"),
    "not_found": ("未找到", "not found"),
    "no_answer": ("无应答", "no answer"),
}
"""A bulk reassignment's result words by outcome."""


KEPT_RESULTS = 200
"""Most sets of bulk-reassignment results kept at once (the oldest is dropped first)."""

RESULTS_TTL = 900.0
"""Seconds a set of results stays readable at ``/supervise/reassigned``."""

RESULTS_KEY = "reassigned"
"""The session's key holding the newest set's random key."""


@dataclass(frozen=True)
class KeptResults:
    """A bulk reassignment's results as kept for the redirect: who asked, when, what."""

    staff_id: str
    at: float
    results: list[Reassigned]
    handler: str


class ResultStore(KeptForRedirect[KeptResults]):
    """Bulk-reassignment results between the POST and the GET it redirects to
    (``claims.web.kept``); a set is read only by the supervisor who made it."""

    def __init__(self, cap: int = KEPT_RESULTS, ttl: float = RESULTS_TTL) -> None:
        super().__init__(cap, ttl)

    def put(self, staff_id: str, results: list[Reassigned], handler: str) -> str:
        """Keep ``results`` and answer their random key."""
        return self.keep(KeptResults(staff_id, time.monotonic(), results, handler))

    def get(self, key: object, staff_id: str) -> KeptResults | None:
        """The set kept under ``key`` for ``staff_id``; None when unknown, expired or another's."""
        return self.find(key, staff_id)


def result_store(request: Request) -> ResultStore:
    """The app's store of bulk-reassignment results (made on first use)."""
    store = getattr(request.app.state, "reassign_results", None)
    if store is None:
        store = request.app.state.reassign_results = ResultStore()
    return store


def link(flt: Filter, **change: str | None) -> str:
    """``/supervise`` with the filter ``flt`` changed by ``change`` (None or '' drops a key)."""
    q: dict[str, str | None] = {
        "sla": flt.sla,
        "green": "1" if flt.green else None,
        "approval": "1" if flt.approval else None,
        "township": flt.township,
        "handler": flt.handler,
        "review": flt.review,
        "docs": "1" if flt.docs else None,
    }
    q.update(change)
    kept = {k: v for k, v in q.items() if v}
    return "/supervise" + ("?" + urlencode(kept) if kept else "")


def _page(value: str | None) -> int:
    if not value:
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value[:7]) <= MAX_PAGE:
        raise InputError("page", f"a page number from 1 to {MAX_PAGE}")
    return int(value)


def counter_links(ov: Overview, words: present.Words) -> list[tuple[str, str, int, str | None]]:
    """The counters as shown: key, words, number, the filtered list's link (None: no list)."""
    return [
        (key, words(zh, en), getattr(ov.counters, key), link(Filter(), **q) if q else None)
        for key, zh, en, q in COUNTERS
    ]


class Line:
    """A row of the list as shown: masked name, stage and SLA badge in words."""

    def __init__(
        self, row: supervision.SuperviseRow, badge: present.Badge, locale: str, awaiting: bool
    ) -> None:
        self.row = row
        self.insured = present.mask_name(row.insured_name)
        self.stage = present.stage_name(row.stage, locale)
        self.badge = badge
        self.awaiting = awaiting


async def _page_response(
    request: Request,
    actor: Actor,
    services: Services,
    flt: Filter,
    page: int,
    results: list[Reassigned] | None = None,
    chosen_handler: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    words = present.Words(locale)
    _ = gettext_for(locale)
    now = now_utc()
    cal = calendar_of(services)
    ov: Overview = await supervision.overview(services, actor, now, cal, flt, page)
    charts = await run_in_threadpool(supervision.charts, services, actor, now)
    lines = [
        Line(
            r,
            present.sla_badge(
                r.sla_deadline, now, cal, sla_state=r.sla_state, paused=r.claim_number in ov.paused
            ),
            locale,
            r.claim_number in ov.awaiting,
        )
        for r in ov.rows
    ]
    shown = []
    for r in results or []:
        zh, en = OUTCOMES[r.outcome]
        shown.append(
            {
                "claim_number": r.claim_number,
                "outcome": r.outcome,
                "words": words(zh, en),
                "detail": (
                    words(f"改派给 {r.handler}", f"now with {r.handler}")
                    if r.outcome == "reassigned"
                    else error_message(r.error, _, in_words=True)
                    if r.error is not None
                    else ""
                ),
            }
        )
    context = dict(
        L=words,
        lang=locale,
        ov=ov,
        flt=flt,
        counters=counter_links(ov, words),
        lines=lines,
        link=link,
        Filter=Filter,
        results=shown,
        chosen_handler=chosen_handler,
        problem=problem,
        charts=charts,
        chart_json=charts.as_json(),
        yuan=present.yuan,
        Decimal=present.Decimal,
    )
    return render(request, "supervise.html", status_code=status_code, **context)


@router.get("/supervise")
async def supervise(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    sla: str | None = None,
    green: str | None = None,
    approval: str | None = None,
    township: str | None = None,
    handler: str | None = None,
    review: str | None = None,
    docs: str | None = None,
    page: str | None = None,
) -> Response:
    """The supervisor's page; a bad filter value → 422 naming it; not a supervisor → 403."""
    supervision.require_supervisor(actor)
    try:
        flt = supervision.parse_filter(sla, green, approval, township, handler, review, docs)
        number = _page(page)
    except InputError as e:
        words = present.Words(locale_of(request))
        return render(
            request,
            "error.html",
            status_code=422,
            status=422,
            title=words("输入有误", "Invalid input"),
            message=str(e),
        )
    return await _page_response(request, actor, services, flt, number)


@router.post("/supervise/reassign")
async def bulk_reassign(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Reassign the selected claims to the chosen handler, keep the per-claim results and
    answer 303 to ``/supervise/reassigned`` (422 with the field named, nothing performed, when
    the selection or handler is bad)."""
    supervision.require_supervisor(actor)
    form = await request.form()
    numbers = [str(v) for v in form.getlist("claim_numbers")]
    handler = str(form.get("handler") or "")
    back = {
        k: str(form.get(k) or "") or None
        for k in ("sla", "green", "approval", "township", "handler_filter", "review", "docs")
    }
    try:
        flt = supervision.parse_filter(
            back["sla"],
            back["green"],
            back["approval"],
            back["township"],
            back["handler_filter"],
            back["review"],
            back["docs"],
        )
    except InputError:
        flt = Filter()
    try:
        results = await supervision.reassign(services, actor, numbers, handler)
    except InputError as e:
        return await _page_response(
            request, actor, services, flt, 1, chosen_handler=handler or None, problem=str(e), status_code=422
        )
    request.session[RESULTS_KEY] = result_store(request).put(actor.id, results, handler)
    return RedirectResponse(link(flt).replace("/supervise", "/supervise/reassigned", 1), status_code=303)


@router.get("/supervise/reassigned")
async def reassigned(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    sla: str | None = None,
    green: str | None = None,
    approval: str | None = None,
    township: str | None = None,
    handler: str | None = None,
    review: str | None = None,
    docs: str | None = None,
) -> Response:
    """The page after a bulk reassignment, with the newest results kept for this supervisor
    (refreshing reads them again and performs nothing); gone or expired: the page says so."""
    supervision.require_supervisor(actor)
    try:
        flt = supervision.parse_filter(sla, green, approval, township, handler, review, docs)
    except InputError:
        flt = Filter()
    kept = result_store(request).get(request.session.get(RESULTS_KEY), actor.id)
    if kept is None:
        words = present.Words(locale_of(request))
        gone = words(
            "改派结果已过期或不存在；请在列表中查看各赔案的经办人",
            "These results have expired: see each claim's handler in the list",
        )
        return await _page_response(request, actor, services, flt, 1, problem=gone)
    return await _page_response(
        request, actor, services, flt, 1, results=kept.results, chosen_handler=kept.handler
    )


@router.get("/supervise/counters")
async def counters_fragment(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The counters alone (the page polls them every 60 s while the tab is visible)."""
    supervision.require_supervisor(actor)
    words = present.Words(locale_of(request))
    ov = await supervision.overview(services, actor, now_utc(), calendar_of(services))
    return render(request, "_supervise_counters.html", L=words, ov=ov, counters=counter_links(ov, words))


@router.get("/supervise/charts.json")
async def charts_json(
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The charts' numbers as JSON (supervisors only)."""
    charts = await run_in_threadpool(supervision.charts, services, actor, now_utc())
    return JSONResponse(charts.as_json())


@router.get("/assets/supervise.css", include_in_schema=False)
async def stylesheet() -> Response:
    """The supervisor's page's styles, served from this site (the Content-Security-Policy is
    ``default-src 'self'``: no inline styles)."""
    css = env.get_template("_supervise_css.html").render()
    return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=300"})
