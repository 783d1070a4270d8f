"""Payout batches (现场理赔) in the console: the county's page of batches (``/batches``) and the
printable batch sheet (现场理赔发放表, ``/batches/{batch_id}``) with its pay form.

One job: a supervisor's screens for on-site payout events, for supervisors only (anyone else
gets 403), all reads and writes through ``claims.services.batches`` (scoped by the session's
county; the actor is always the session's, never a form field).

* ``GET /batches`` (``?township=&page=``): a form to create a batch (the event, 活动, and a
  checkbox per claim of the county that a new batch may take, the insured's name masked) and
  the county's batches, newest first, each linking to its sheet.
* ``POST /batches`` (``event``, ``claim_numbers`` repeated, ``township`` to come back to;
  CSRF checked by the app's middleware): ``create_batch``; 303 to the new sheet, or the page
  again with 422 naming the field or the claim (nothing is created).
* ``GET /batches/{batch_id}``: the sheet to print and sign: the batch, its claims in order with
  the insured person (in full: the recipient signs against the name), place and what was paid
  under the batch, the total, a signature and date cell per claim, the signature lines. An open
  batch also shows (not in print) a form to pay it with one transfer reference. Another
  county's batch is 404 (as if absent).
* ``POST /batches/{batch_id}/pay`` (``transfer_ref``): ``pay_batch``, then Post/Redirect/Get as
  ``/supervise/reassign`` does: the per-claim refusals are kept briefly on the server
  (:class:`PayResults`, bound to the supervisor and the batch; the session cookie holds only
  the random key) and the answer is a 303 to the sheet, which shows them; a refresh pays
  nothing again. A bad reference or a batch paid with another one is answered at once (422);
  no answer from a claim's workflow in time is 504 (paying again with the same reference
  finishes the rest, nothing twice).
* ``POST /batches/{batch_id}/cancel`` (``reason``): ``cancel_batch`` (取消批次: the event did not
  take place; only before any payment was tried); 303 to the sheet, marked cancelled, its
  claims ready for a new batch; a missing reason or a batch whose payment was tried → 422.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from claims.errors import ClaimNotFound, ClaimsError, InputError, StepRejected, Unavailable
from claims.models import Actor, Role, Stage
from claims.models.bounds import PLACE_LEN, REASON_LEN, TRANSFER_REF_LEN
from claims.services.batches import (
    MAX_BATCH_CLAIMS,
    BatchPage,
    NotPayable,
    ReadyClaim,
    ReadyClaims,
    batch_sheet,
    cancel_batch,
    county_batches,
    create_batch,
    pay_batch,
    ready_for_batch,
)
from claims.services.client import NoAnswer
from claims.services.context import Services
from claims.web import present
from claims.web.deps import current_actor, get_services
from claims.web.i18n import error_message, gettext_for
from claims.web.kept import KeptForRedirect
from claims.web.templating import locale_of, render

router = APIRouter()

PAY_TIMEOUT = timedelta(seconds=20)
"""How long each claim's pay step may wait for an answer (as a step from the claim page)."""

MAX_PAGE = 10_000
"""The highest page number of the batch list accepted in the query string."""

STATUS = {"open": ("待发放", "to be paid"), "paid": ("已发放", "paid"), "cancelled": ("已取消", "cancelled")}
"""A batch's status in words."""

FIELDS = {
    "event": (
        f"活动：请填写活动名称（一行，不超过 {REASON_LEN} 字）",
        f"Event: give the event's name (one line, at most {REASON_LEN} characters)",
    ),
    "claims": (
        f"赔案：请勾选 1 至 {MAX_BATCH_CLAIMS} 件赔案（每件一次）",
        f"Claims: tick 1 to {MAX_BATCH_CLAIMS} claims (each once)",
    ),
    "township": (f"乡镇：名称不超过 {PLACE_LEN} 字", f"Township: at most {PLACE_LEN} characters"),
    "page": (f"页码：1 至 {MAX_PAGE}", f"Page: a number from 1 to {MAX_PAGE}"),
    "reason": (
        f"取消原因：请填写原因（一行，不超过 {REASON_LEN} 字）",
        f"Reason: say why the batch is cancelled (one line, at most {REASON_LEN} characters)",
    ),
    "transfer_ref": (
        f"转账批次号：请填写银行转账批次号（一行，不超过 {TRANSFER_REF_LEN} 字）",
        f"Transfer reference: give the bank transfer's reference (one line, at most {TRANSFER_REF_LEN} "
        "characters)",
    ),
}
"""What an input error says, by the field it names (the field's label first)."""

NOT_PAYABLE = {
    "stage": (
        "赔案 {claim} 处于“{stage}”阶段，不在赔付阶段",
        "Claim {claim} is at stage “{stage}”, not payout",
    ),
    "closed": ("赔案 {claim} 已结案（已赔付），不能再列入批次", "Claim {claim} is closed (already paid)"),
    "no_decision": ("赔案 {claim} 尚未核定", "Claim {claim} has no decision yet"),
    "above_limit": (
        "赔案 {claim}：核定金额 {total} 元超过经办人审批权限 {limit} 元，"
        "尚未经主管审批（在赔案页面“审批赔付”）",
        "Claim {claim}: {total} yuan is above the handlers' authority limit of {limit} yuan and not "
        "approved (step “approve payout” on the claim's page)",
    ),
    "review": (
        "赔案 {claim} 赔付前复核中：复核通过后才能列入批次",
        "Claim {claim} is held for review before payment: clear the review first",
    ),
    "in_batch": (
        "赔案 {claim} 已在待发放的批次 {batch} 中",
        "Claim {claim} is already in open batch {batch}",
    ),
    "cancelled": ("本批次已取消，不能发放", "This batch was cancelled; it cannot be paid"),
    "payment_started": (
        "本批次已用转账批次号 {transfer_ref} 提交过发放，不能取消：请用同一转账批次号完成发放",
        "Payment of this batch was tried with transfer {transfer_ref}; it cannot be cancelled: "
        "finish it with the same reference",
    ),
    "paid": ("本批次已发放，不能取消", "This batch is paid; it cannot be cancelled"),
    "paid_other_ref": (
        "本批次的转账批次号是 {transfer_ref}（首次提交时确定），不能用另一个转账批次号发放",
        "This batch's transfer is {transfer_ref} (fixed by the first submission); "
        "it cannot be paid with another",
    ),
}
"""Why a claim cannot be in (or be paid with) a batch, by ``NotPayable``'s ``reason`` param."""


# --------------------------------------------------------------------------- kept pay results

KEPT_RESULTS = 200
"""Most sets of pay results kept at once (the oldest is dropped first)."""

RESULTS_TTL = 900.0
"""Seconds a set of pay results stays readable on the sheet."""

RESULTS_KEY = "batch_paid"
"""The session's key holding the newest set's random key."""


@dataclass(frozen=True)
class KeptPayment:
    """A batch payment's outcome as kept for the redirect: who paid which batch, when, with
    which reference, and each refused claim's typed error."""

    staff_id: str
    batch_id: str
    at: float
    transfer_ref: str
    refused: dict[str, StepRejected]


class PayResults(KeptForRedirect[KeptPayment]):
    """Pay results between ``POST /batches/{id}/pay`` and the sheet it redirects to
    (``claims.web.kept``); a set is read only by the supervisor who paid, on that batch's sheet."""

    def __init__(self, cap: int = KEPT_RESULTS, ttl: float = RESULTS_TTL) -> None:
        super().__init__(cap, ttl)

    def put(self, staff_id: str, batch_id: str, transfer_ref: str, refused: dict[str, StepRejected]) -> str:
        """Keep one payment's outcome; answers its random key."""
        return self.keep(KeptPayment(staff_id, batch_id, time.monotonic(), transfer_ref, dict(refused)))

    def get(self, key: object, staff_id: str, batch_id: str) -> KeptPayment | None:
        """The set kept under ``key`` for ``staff_id`` and ``batch_id``; None when unknown,
        expired, another's or of another batch."""
        kept = self.find(key, staff_id)
        return kept if kept is not None and kept.batch_id == batch_id else None


def pay_results(request: Request) -> PayResults:
    """The app's store of batch pay results (made on first use)."""
    kept = getattr(request.app.state, "batch_pay_results", None)
    if kept is None:
        kept = request.app.state.batch_pay_results = PayResults()
    return kept


# --------------------------------------------------------------------------- words


def status_words(status: str, words: present.Words) -> str:
    """``open`` → 待发放, ``paid`` → 已发放, ``cancelled`` → 已取消 (in the reader's language)."""
    zh, en = STATUS.get(status, (status, status))
    return words(zh, en)


def problem_of(e: ClaimsError, locale: str) -> tuple[str | None, str]:
    """A refused create or pay in the reader's language: the form field it concerns (``event``,
    ``transfer_ref``, ``township``, ``page``; ``claims`` for the selection and for a claim
    that cannot be taken; None otherwise) and the message, naming the field or the claim.

    Args:
        e: an ``InputError`` (by its ``field``), a ``NotPayable`` (by its ``reason`` param),
            or another typed error (by its code, ``claims.web.i18n.ERRORS``).
        locale: the reader's locale.
    """
    words = present.Words(locale)
    if isinstance(e, InputError):
        zh_en = FIELDS.get(e.field)
        return e.field, (words(*zh_en) if zh_en else e.message)
    if isinstance(e, NotPayable):
        reason = str(e.params.get("reason", ""))
        params = {k: str(v) for k, v in e.params.items()}
        if reason == "stage" and params.get("stage") == Stage.CLOSED.value:
            reason = "closed"
        if "stage" in params:
            params["stage"] = present.stage_name(params["stage"], locale)
        zh_en = NOT_PAYABLE.get(reason)
        try:
            return "claims", (words(*zh_en).format(**params) if zh_en else e.message)
        except (KeyError, IndexError):
            return "claims", e.message
    field = "claims" if isinstance(e, ClaimNotFound) else None
    return field, error_message(e, gettext_for(locale), in_words=True)


def _page_number(value: str | None) -> int:
    if not value:
        return 1
    if not value.isascii() or not value.isdigit() or not 1 <= int(value[:7]) <= MAX_PAGE:
        raise InputError("page", f"a page number from 1 to {MAX_PAGE}")
    return int(value)


class ReadyLine:
    """A claim a new batch may take, as the page lists it: the insured's name masked, the
    decided amount in yuan (None: the store has none), what may still stop its payment."""

    def __init__(self, row: ReadyClaim, words: present.Words) -> None:
        self.claim_number = row.claim_number
        self.insured = present.mask_name(row.insured_name)
        self.township = row.township
        self.village = row.village
        self.decided = row.decided
        holds = []
        if row.awaiting_approval:
            holds.append(words("待主管审批", "awaiting approval"))
        if row.review_queue == "siu":
            holds.append(words("特调", "SIU hold"))
        elif row.review_queue:
            holds.append(words("复核中", "in review"))
        self.holds = holds


async def _batches_response(
    request: Request,
    actor: Actor,
    services: Services,
    township: str | None,
    page: int,
    *,
    event: str = "",
    chosen: list[str] | None = None,
    problem: str | None = None,
    problem_field: str | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    words = present.Words(locale)
    ready: ReadyClaims = await run_in_threadpool(ready_for_batch, services, actor, township)
    listed: BatchPage = await run_in_threadpool(county_batches, services, actor, page)
    lines = [ReadyLine(r, words) for r in ready.claims]
    return render(
        request,
        "batches.html",
        status_code=status_code,
        actor=actor,
        L=words,
        ready=ready,
        lines=lines,
        listed=listed,
        event=event,
        chosen=set(chosen or []),
        problem=problem,
        problem_field=problem_field,
        status_words=status_words,
        yuan=present.yuan,
        when=present.when,
        max_event=REASON_LEN,
        max_claims=MAX_BATCH_CLAIMS,
    )


# --------------------------------------------------------------------------- the county's batches


@router.get("/batches")
async def batches_page(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
    township: str | None = None,
    page: str | None = None,
) -> Response:
    """The county's batches and the form to create one; a bad ``township`` or ``page`` → 422
    naming it; not a supervisor → 403."""
    try:
        number = _page_number(page)
        return await _batches_response(request, actor, services, township or None, number)
    except InputError as e:
        words = present.Words(locale_of(request))
        return render(
            request,
            "error.html",
            status_code=422,
            status=422,
            title=words("输入有误", "Invalid input"),
            message=problem_of(e, locale_of(request))[1],
        )


@router.post("/batches")
async def create(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Create a batch of the ticked claims for the event, in the session's supervisor's name
    and county; 303 to its sheet, or the page again with 422 naming the field or the claim
    (nothing created); 503 when a claim's workflow cannot be asked."""
    form = await request.form()
    numbers = [str(v).strip() for v in form.getlist("claim_numbers")]
    event = str(form.get("event") or "")
    township = str(form.get("township") or "") or None
    try:  # the county is the session's; the service refuses anyone but a supervisor (403)
        sheet = await create_batch(services, actor, actor.county or "", numbers, event)
    except (InputError, NotPayable, ClaimNotFound) as e:
        field, message = problem_of(e, locale_of(request))

        async def again(town: str | None) -> Response:
            return await _batches_response(
                request,
                actor,
                services,
                town,
                1,
                event=event,
                chosen=numbers,
                problem=message,
                problem_field=field,
                status_code=422,
            )

        try:
            return await again(township)
        except InputError:  # the township to come back to was bad: the whole county
            return await again(None)
    except Unavailable as e:
        return _unavailable(request, e)
    return RedirectResponse(f"/batches/{sheet.batch_id}", status_code=303)


def _unavailable(request: Request, e: ClaimsError) -> Response:
    locale = locale_of(request)
    words = present.Words(locale)
    return render(
        request,
        "error.html",
        status_code=503,
        status=503,
        title=words("暂时无法办理", "Not available"),
        message=error_message(e, gettext_for(locale)),
    )


# --------------------------------------------------------------------------- one batch's sheet


def _county_batch_id(actor: Actor, batch_id: str) -> None:
    """The console's batch pages are a county supervisor's: an over-long id, or a supervisor
    without a county (whom the service would let read every county's batches), get 404 as if
    the batch were absent; other roles go on to the service's 403."""
    if len(batch_id) > 32 or (actor.role == Role.SUPERVISOR and actor.county is None):
        raise ClaimNotFound(batch_id[:32])


async def _sheet_response(
    request: Request,
    actor: Actor,
    services: Services,
    batch_id: str,
    *,
    problem: str | None = None,
    problem_field: str | None = None,
    transfer_ref: str = "",
    reason: str = "",
    status_code: int = 200,
) -> Response:
    _county_batch_id(actor, batch_id)
    try:
        sheet = await run_in_threadpool(batch_sheet, services, actor, batch_id)
    except InputError:
        raise ClaimNotFound(batch_id) from None
    locale = locale_of(request)
    words = present.Words(locale)
    _ = gettext_for(locale)
    kept = pay_results(request).get(request.session.get(RESULTS_KEY), actor.id, batch_id)
    refused = []
    if kept is not None:
        refused = [(number, error_message(error, _, in_words=True)) for number, error in kept.refused.items()]
    paid_rows = [r for r in sheet.rows if r.paid > 0]
    return render(
        request,
        "batch_sheet.html",
        status_code=status_code,
        actor=actor,
        L=words,
        sheet=sheet,
        status_words=status_words,
        kept=kept,
        refused=refused,
        paid_rows=paid_rows,
        problem=problem,
        problem_field=problem_field,
        transfer_ref=transfer_ref or (kept.transfer_ref if kept is not None else ""),
        reason=reason,
        max_reason=REASON_LEN,
        max_ref=TRANSFER_REF_LEN,
        yuan=present.yuan,
        when=present.when,
    )


async def _sheet_with_problem(
    request: Request,
    actor: Actor,
    services: Services,
    batch_id: str,
    e: InputError | NotPayable,
    field: str,
    **typed: str,
) -> Response:
    """A refused form on the sheet (pay: ``transfer_ref``; cancel: ``reason``): the sheet again
    with 422, the problem named at ``field`` and what was typed kept. An ``InputError`` of
    another field is no such batch in the reader's county: 404.

    Raises:
        ClaimNotFound: no such batch (in the reader's county).
    """
    if isinstance(e, InputError) and e.field != field:
        raise ClaimNotFound(batch_id[:32]) from None
    _, message = problem_of(e, locale_of(request))
    return await _sheet_response(
        request, actor, services, batch_id, problem=message, problem_field=field, status_code=422, **typed
    )


@router.get("/batches/{batch_id}")
async def batch_page(
    request: Request,
    batch_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """The batch sheet (with the pay form while it is open, and the supervisor's latest pay
    results on it); 404 when there is no such batch in the reader's county, 403 for
    non-supervisors."""
    return await _sheet_response(request, actor, services, batch_id)


@router.post("/batches/{batch_id}/pay")
async def pay(
    request: Request,
    batch_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Pay every claim of the batch with one transfer reference (each claim's pay step, in the
    session's supervisor's name); keep the refusals and answer 303 to the sheet. A bad
    reference or a batch paid with another one → the sheet with 422; no answer in time → 504."""
    _county_batch_id(actor, batch_id)
    form = await request.form()
    ref = str(form.get("transfer_ref") or "")
    try:
        result = await pay_batch(services, actor, batch_id, ref, timeout=PAY_TIMEOUT)
    except (InputError, NotPayable) as e:
        # a bad reference, or the batch's transfer is another one: both are the reference's problem
        return await _sheet_with_problem(
            request, actor, services, batch_id, e, "transfer_ref", transfer_ref=ref
        )
    except NoAnswer as e:
        words = present.Words(locale_of(request))
        message = error_message(e, gettext_for(locale_of(request))) + words(
            "。其余赔案已处理（见下表）；未应答的赔案稍后用同一转账批次号再提交一次即可发放，已发放的不会重复发放。",
            ". The other claims were processed (see the sheet); submit again later with the same "
            "transfer reference to pay the one without answer; nothing paid is paid twice.",
        )
        return await _sheet_response(
            request, actor, services, batch_id, problem=message, transfer_ref=ref, status_code=504
        )
    except Unavailable as e:
        return _unavailable(request, e)
    request.session[RESULTS_KEY] = pay_results(request).put(
        actor.id, result.sheet.batch_id, ref.strip(), result.rejections
    )
    return RedirectResponse(f"/batches/{result.sheet.batch_id}", status_code=303)


@router.post("/batches/{batch_id}/cancel")
async def cancel(
    request: Request,
    batch_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    services: Annotated[Services, Depends(get_services)],
) -> Response:
    """Cancel the batch (取消批次, field ``reason``) before any payment was tried, in the session's
    supervisor's name; 303 to its sheet, which then shows it cancelled. A missing or too long
    reason, or a batch whose payment was tried or done → the sheet with 422 naming why."""
    _county_batch_id(actor, batch_id)
    form = await request.form()
    reason = str(form.get("reason") or "")
    try:
        await run_in_threadpool(cancel_batch, services, actor, batch_id, reason)
    except (InputError, NotPayable) as e:
        return await _sheet_with_problem(request, actor, services, batch_id, e, "reason", reason=reason)
    return RedirectResponse(f"/batches/{batch_id}", status_code=303)
