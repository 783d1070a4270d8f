"""The inbox (``/inbox``): a person's open claims by deadline window, paginated, with SLA
badges in words and colours; also the stylesheet of the claim screens (``/assets/claims.css``).

One job: the list screen of handlers, investigators, supervisors and village secretaries.
Views live in the query string (``?view=overdue|today|upcoming|all|new&page=``) so Back works
and a view can be bookmarked; the rows come from the SQL projection through
``claims.services.console``, scoped by the session's county and village in the query. An htmx
request (the table's 60-second poll) gets the table only. A village secretary's list also
says which documents each claim still lacks (the claims' states, asked at once).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from claims.domain.workdays import CalendarSource, WorkingCalendar, calendar_dir
from claims.errors import InputError
from claims.models import Actor, Role, Stage
from claims.models.steps import allowed_steps
from claims.services import console
from claims.services.console import InboxRow, InboxView
from claims.services.context import Services
from claims.web import present
from claims.web.deps import current_actor, get_services
from claims.web.templating import env, locale_of, render

router = APIRouter()

MAX_PAGE = 100_000
"""Highest page number accepted in the query string."""

TABS: tuple[tuple[str, str, str], ...] = (
    (InboxView.OVERDUE.value, "已超期", "Overdue"),
    (InboxView.TODAY.value, "今日到期", "Due today"),
    (InboxView.UPCOMING.value, "即将到期", "Upcoming"),
    (InboxView.ALL.value, "全部", "All"),
    (InboxView.NEW.value, "待立案", "New reports"),
)
"""The inbox's tabs: view, Chinese, English."""

REPORTERS = frozenset({Role.VILLAGE_SECRETARY, Role.HANDLER, Role.SUPERVISOR})
"""Roles that may file a claim report (the README's "Identity")."""

_calendars: dict[Path, CalendarSource] = {}


def calendar_of(services: Services) -> WorkingCalendar:
    """The working-day calendar of the workers' folder (rebuilt when a schedule is loaded)."""
    folder = calendar_dir(services.settings.calendar.folder)
    source = _calendars.get(folder)
    if source is None:
        source = _calendars[folder] = CalendarSource(folder)
    return source.get()


def now_utc() -> datetime:
    """The wall clock (a test replaces this module attribute to fix the time)."""
    return datetime.now(UTC)


NextSteps = dict[tuple[str, str | None, str | None, str | None], str]
"""A page's next steps already worked out, by stage, assigned handler and the claim's county
and village where the reader's scope looks at them (``allowed_steps`` compares a claim's
county or village only with an actor who carries one)."""


class Line:
    """An inbox row as shown: the row, the masked insured name, the stage, the badge and the
    reader's next step (the first ``allowed_steps`` offers; empty when none). ``seen`` keeps the
    page's next steps: rows alike in what the step registry looks at share one answer (the
    registry's check of every step costs about 40 µs a row)."""

    def __init__(
        self,
        row: InboxRow,
        actor: Actor,
        now: datetime,
        cal: WorkingCalendar,
        locale: str,
        seen: NextSteps | None = None,
    ) -> None:
        self.row = row
        self.insured = present.mask_name(row.insured_name)
        self.stage = present.stage_name(row.stage, locale)
        self.badge = present.sla_badge(row.sla_deadline, now, cal, sla_state=row.sla_state)
        seen = {} if seen is None else seen
        key = (
            row.stage,
            row.assigned_handler,
            row.county if actor.county is not None else None,
            row.village if actor.village is not None else None,
        )
        if key not in seen:
            offered = allowed_steps(Stage(row.stage), actor, row.assigned_handler, row.county, row.village)
            seen[key] = present.Words(locale)(offered[0].label_zh, offered[0].label_en) if offered else ""
        self.next_step = seen[key]


def _view(value: str | None, actor: Actor) -> InboxView:
    if not value:
        return InboxView.ALL
    try:
        return InboxView(value)
    except ValueError:
        raise InputError("view", f"{value[:40]!r} is not a view ({', '.join(v.value for v in InboxView)})") from None


def _page(value: str | None) -> int:
    if not value:
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value[:7]) <= MAX_PAGE:
        raise InputError("page", f"a page number from 1 to {MAX_PAGE}")
    return int(value)


def _documents_in_words(docs: list[str] | None, locale: str) -> str | None:
    """银行卡、死亡证明 (``-`` for none; None when the claim did not answer)."""
    if docs is None:
        return None
    if not docs:
        return "-"
    return ("、" if present.is_zh(locale) else ", ").join(present.document_name(d, locale) for d in docs)


@router.get("/inbox")
async def inbox(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    view: str | None = None,
    page: str | None = None,
) -> Response:
    """The inbox page (or its table, for htmx); a bad ``view`` or ``page`` → 422 naming it."""
    locale = locale_of(request)
    words = present.Words(locale)
    try:
        chosen, number = _view(view, actor), _page(page)
    except InputError as e:
        return render(request, "error.html", status_code=422, status=422, title=words("输入有误", "Invalid input"), message=str(e))
    now = now_utc()
    cal = calendar_of(services)
    result = await run_in_threadpool(console.inbox_page, services, actor, chosen, now, cal, number)
    missing: dict[str, list[str] | None] = {}
    if actor.role == Role.VILLAGE_SECRETARY and result.rows:  # what the village still has to bring
        missing = await console.missing_documents_of(services, actor, [r.claim_number for r in result.rows])
    seen: NextSteps = {}  # the rows' next steps, worked out once per kind of row
    context = dict(
        L=words,
        missing={n: _documents_in_words(docs, locale) for n, docs in missing.items()},
        show_missing=actor.role == Role.VILLAGE_SECRETARY,
        lang=locale,
        tabs=TABS,
        view=result.view.value,
        counts={v.value: n for v, n in result.counts.items()},
        rows=[Line(r, actor, now, cal, locale, seen) for r in result.rows],
        page=result.page,
        pages=result.pages,
        total=result.total,
        can_report=actor.role in REPORTERS,
        heading=("本村案件", "Village claims") if actor.role == Role.VILLAGE_SECRETARY else ("我的待办", "My tasks"),
    )
    if request.headers.get("hx-request"):
        return render(request, "_inbox_table.html", **context)
    return render(request, "inbox.html", **context)


@router.get("/assets/claims.css", include_in_schema=False)
async def stylesheet() -> Response:
    """The claim screens' styles (badges, tags, step forms), served from this site so the
    Content-Security-Policy (``default-src 'self'``) allows them."""
    css = env.get_template("_claims_css.html").render()
    return Response(css, media_type="text/css; charset=utf-8", headers={"Cache-Control": "max-age=300"})
