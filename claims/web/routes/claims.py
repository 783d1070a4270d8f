"""The claim screens: the claim page (``GET /claims/{number}``) with a form for each step the
reader may take now (``POST /claims/{number}/steps/{step}``), and the report form
(``GET /claims/new``, ``POST /claims``); the timeline alone for polling
(``GET /claims/{number}/timeline``).

One job: show a claim and hand its steps and reports to the services in the session's name.
The actor is always the session's (``claims.web.deps.current_actor``), never a form field; a
claim outside the reader's county or village answers 404 on the page and on a step; only the
steps ``claims.models.steps.allowed_steps`` allows for the reader now get a form, and the
workflow's validators stay the final authority. After a step the page shows the claim's state
read after it (the ``state`` Query; the step itself answers with a small ``StepResult``): a
plain form gets a 303 back to the page, an htmx request the page's panel. A
refused step re-renders the page with 422 and the reason beside that step's form (by its
code, in the reader's language); a bad form value gives 422 naming the field. An auditor's
step gets 403. A refused report keeps what was typed and names every bad field.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from claims.domain.workdays import WorkingCalendar
from claims.errors import NotAllowed, StepRejected, Unavailable
from claims.models import Actor, ClaimState, ReassignInput, RegisterInput, Role, Stage, StepInput
from claims.models.bounds import printable
from claims.models.steps import STEP_RULES, allowed_steps
from claims.services import accounts, console, intake, steps, views
from claims.services.client import NoAnswer
from claims.services.context import Services
from claims.web import forms, present
from claims.web.deps import current_actor, get_services
from claims.web.i18n import error_message, gettext_for
from claims.web.routes.inbox import REPORTERS, calendar_of, now_utc
from claims.web.templating import locale_of, render

router = APIRouter()

REPORT_OUTCOMES = ("death", "disability", "medical", "illness")

REVIEW_STEPS = frozenset({"clear_review", "refer_to_siu"})
"""Steps the claim page offers only while the claim's review hold is open."""

FILE_STEPS = frozenset({"reject_document"})
"""Steps taken on one file from the documents panel (its 退回 button), not as a form here."""

STEP_TIMEOUT = timedelta(seconds=20)
"""How long a step waits for a worker before the page says so (the step may still be
performed; sending the form again attaches to it, never performs it twice)."""


# --------------------------------------------------------------------------- the report form


def _may_report(actor: Actor) -> None:
    if actor.role not in REPORTERS:
        raise NotAllowed(
            f"report: role '{actor.role.value}' may not report claims "
            f"(roles: {', '.join(sorted(r.value for r in REPORTERS))})",
            params={"role": actor.role.value, "allowed": ", ".join(sorted(r.value for r in REPORTERS))},
        )


def _report_page(
    request: Request, actor: Actor, values: dict[str, list[str]], problems: dict[str, list[str]], status: int
) -> Response:
    locale = locale_of(request)
    return render(
        request,
        "claim_new.html",
        status_code=status,
        actor=actor,
        L=present.Words(locale),
        lang=locale,
        P=present,
        outcomes=REPORT_OUTCOMES,
        values=values,
        problems=problems,
    )


@router.get("/claims/new")
async def new_report_form(request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> Response:
    """The phone-width report form (village secretaries, handlers, supervisors)."""
    _may_report(actor)
    return _report_page(request, actor, {"third_party_record": ["1"]}, {}, 200)


@router.post("/claims")
@router.post("/claims/new")
async def new_report(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """File the report in the session's name; 303 to the claim page, or 422 with every
    problem by field and the typed values kept."""
    _may_report(actor)
    form = forms.group((await request.form()).multi_items())
    form.pop("csrftoken", None)
    problems: dict[str, list[str]] = {}
    try:
        report = intake.read_report(forms.report_data(form), actor)
        result = await intake.report(services, actor, report)
    except forms.FormInvalid as e:
        problems = e.by_field()
    except intake.ReportInvalid as e:
        for p in e.problems:
            field = p.field or e.field
            problems.setdefault(forms.report_field(field), []).append(printable(str(p)))
    if problems:
        return _report_page(request, actor, form, problems, 422)
    again = "" if result.created else "?reported=again"  # the same event was reported before
    return RedirectResponse(f"/claims/{result.claim.claim_number}{again}", status_code=303)


# --------------------------------------------------------------------------- the claim page


def _page_context(
    request: Request,
    services: Services,
    actor: Actor,
    summary: console.InboxRow,
    state: ClaimState,
    cal: WorkingCalendar,
    *,
    errors: dict[str, str] | None = None,
    form_errors: dict[str, dict[str, list[str]]] | None = None,
    values: dict[str, dict[str, list[str]]] | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    locale = locale_of(request)
    now = now_utc()
    clock = present.current_clock(state)
    if clock is not None:
        badge = present.clock_badge(clock, now, cal)
    elif state.stage in (Stage.CLOSED, Stage.DECLINED, Stage.WITHDRAWN):
        badge = present.Badge(present.stage_name(state.stage), present.stage_name(state.stage, "en"), "done")
    else:
        badge = present.sla_badge(summary.sla_deadline, now, cal, sla_state=summary.sla_state)
    # a closed or declined claim inside its reopen period (issue 17) still offers 重开 to supervisors
    reopenable = state.reopen_until is not None and now < state.reopen_until
    offered = [] if state.stage.terminal and not reopenable else allowed_steps(
        state.stage, actor, state.assigned_handler, state.county, state.village
    )
    # 复核通过 / 移送特调 only while a review hold is open (the registry offers them at payout)
    if state.review is None or not state.review.open:
        offered = [r for r in offered if r.name not in REVIEW_STEPS]
    offered = [r for r in offered if r.name not in FILE_STEPS]
    names = {r.name for r in offered}
    handlers = _county_handlers(services, state.county) if names & {"register", "reassign"} else []
    return dict(
        actor=actor,
        L=present.Words(locale),
        lang=locale,
        P=present,
        printable=printable,
        state=state,
        insured=present.mask_name(summary.insured_name),
        outcome=(state.adjudicated_outcome or state.reported_outcome or summary.outcome),
        badge=badge,
        clocks=[(c, present.clock_badge(c, now, cal)) for c in state.clocks],
        steps=offered,
        checklist=present.checklist(state),
        missing=present.missing_documents(state),
        doc_codes=present.document_codes(),
        errors=errors or {},
        form_errors=form_errors or {},
        values=values or {},
        notice=notice,
        handlers=handlers,
    )


def _check_assignee(services: Services, inp: StepInput, county: str) -> None:
    """A claim is given (立案 ``assign_to``, 改派 ``handler``) only to an enabled handler account
    of the claim's county: the workflow knows no accounts, and a claim given to anyone else
    would sit with someone who cannot open it (the bulk reassignment checks the same).

    Raises:
        forms.FormInvalid: the name is not one of those accounts (field ``assign_to``/``handler``).
    """
    field, name = (
        ("assign_to", inp.assign_to)
        if isinstance(inp, RegisterInput)
        else ("handler", inp.handler)
        if isinstance(inp, ReassignInput)
        else ("", None)
    )
    if name and name not in _county_handlers(services, county):
        problem = f"{name!r} is not an active handler account of {county} (不是本县理赔员账号)"
        raise forms.FormInvalid([forms.FormProblem(field, problem)])


def _county_handlers(services: Services, county: str) -> list[str]:
    """The active handler accounts of ``county`` (choices offered when assigning a claim; the
    workflow checks the name given)."""
    return sorted(
        a.id
        for a in accounts.list_users(services)
        if a.role == Role.HANDLER and a.county == county and not a.disabled
    )


async def _read(services: Services, actor: Actor, number: str) -> tuple[console.InboxRow, ClaimState]:
    """The claim's summary row and state, if the reader's scope holds it.

    Raises:
        ClaimNotFound: no such claim or none in scope (404).
        Unavailable: no worker answered the state query, or Temporal is down.
    """
    summary = await run_in_threadpool(console.claim_summary, services, actor, number)
    state = await views.claim_view(services, actor, number)
    return summary, state


def _unavailable(request: Request, e: Unavailable) -> Response:
    locale = locale_of(request)
    words = present.Words(locale)
    return render(
        request,
        "error.html",
        status_code=503,
        status=503,
        title=words("暂时无法读取", "Not available"),
        message=error_message(e, gettext_for(locale)),
    )


@router.get("/claims/{number}")
async def claim_page(
    request: Request,
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    reported: str | None = None,
) -> Response:
    """The claim page: header, clocks, the reader's steps, documents, payments, timeline.
    ``?reported=again``: the report just filed was of an event already reported (this claim)."""
    try:
        summary, state = await _read(services, actor, number)
    except Unavailable as e:
        return _unavailable(request, e)
    cal = calendar_of(services)
    words = present.Words(locale_of(request))
    notice = (
        words(f"该事故已报案：赔案 {number}，未重复报案", f"Already reported: claim {number}; no second claim was made")
        if reported == "again"
        else None
    )
    return render(request, "claim.html", **_page_context(request, services, actor, summary, state, cal, notice=notice))


@router.get("/claims/{number}/timeline")
async def claim_timeline(
    request: Request,
    number: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The claim's timeline alone (the open claim page polls it every 15 s while visible)."""
    try:
        state = await views.claim_view(services, actor, number)
    except Unavailable as e:
        return _unavailable(request, e)
    locale = locale_of(request)
    return render(
        request, "_timeline.html", L=present.Words(locale), lang=locale, P=present, printable=printable, state=state
    )


@router.post("/claims/{number}/steps/{step}")
async def perform_step(
    request: Request,
    number: str,
    step: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Perform ``step`` on the claim as the session's actor (see the module docstring)."""
    if actor.role == Role.AUDITOR:
        raise NotAllowed(
            f"{step}: role 'auditor' may not perform steps", params={"role": actor.role.value, "allowed": "-"}
        )
    summary = await run_in_threadpool(console.claim_summary, services, actor, number)  # 404 out of scope
    if step not in STEP_RULES:
        raise HTTPException(status_code=404)
    form = forms.group((await request.form()).multi_items())
    form.pop("csrftoken", None)
    htmx = bool(request.headers.get("hx-request"))
    locale = locale_of(request)
    cal = calendar_of(services)
    status = 422
    errors: dict[str, str] = {}
    form_errors: dict[str, dict[str, list[str]]] = {}
    try:
        inp = forms.step_input(step, form, actor)
        await run_in_threadpool(_check_assignee, services, inp, summary.county)
        await steps.perform(services, actor, number, inp, timeout=STEP_TIMEOUT)
    except forms.FormInvalid as e:
        form_errors[step] = e.by_field()
    except StepRejected as e:  # stages and roles named in the reader's language
        errors[step] = error_message(e, gettext_for(locale), in_words=True)
    except NoAnswer as e:  # not refused: it may still be performed
        errors[step] = error_message(e, gettext_for(locale))
        status = 504
    except Unavailable as e:
        return _unavailable(request, e)
    else:
        if not htmx:
            return RedirectResponse(f"/claims/{number}", status_code=303)
        # The step answers small (a StepResult); the panel shows the whole state: the Query.
        try:
            summary, state = await _read(services, actor, number)
        except Unavailable as e:
            return _unavailable(request, e)
        words = present.Words(locale)
        context = _page_context(
            request,
            services,
            actor,
            summary,
            state,
            cal,
            notice=words(
                f"已完成：{STEP_RULES[step].label_zh}", f"Done: {STEP_RULES[step].label_en}"
            ),
        )
        return render(request, "_claim_panel.html", **context)
    try:
        summary, state = await _read(services, actor, number)
    except Unavailable as e:
        return _unavailable(request, e)
    context = _page_context(
        request, services, actor, summary, state, cal, errors=errors, form_errors=form_errors, values={step: form}
    )
    if step not in {r.name for r in context["steps"]}:
        context["steps"] = [STEP_RULES[step], *context["steps"]]  # the refused form first, with its reason
    # htmx 2 does not swap a 4xx answer: it gets the panel with the reason as a 200
    if htmx:
        return render(request, "_claim_panel.html", **context)
    return render(request, "claim.html", status_code=status, **context)
