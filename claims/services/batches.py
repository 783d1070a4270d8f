"""Payout batches (现场理赔): a supervisor batches payable claims of a county and pays them with one transfer.

One job: check who may create and pay a batch and which claims may be in it, then pay each claim
through its own ``pay`` step (``claims.services.steps.perform``, ``PayInput.batch_id``), so the
workflow's validators stay the final authority, and write the batch id on each claim's ledger
rows (``claims.store.batches``). A claim fits a batch when it is of the batch's county, in stage
payout, approved where its amount is above the authority limit, not held for review and not in
another open batch; anything else is refused, naming the claim. For the console's page of a
county's batches: :func:`ready_for_batch` (the claims a new batch may take) and
:func:`county_batches` (the county's batches, newest first), both read-only and scoped to the
supervisor's county.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from sqlalchemy.exc import IntegrityError
from temporalio.service import RPCError

from claims.domain.timeutil import today_in_shanghai
from claims.errors import ClaimNotFound, ClaimsError, InputError, NotAllowed, StepRejected, Unavailable
from claims.models import Actor, ClaimState, PayInput, Role, Stage
from claims.models.bounds import PlaceName, Reason, TransferRef
from claims.services.client import NoAnswer, claim_state
from claims.services.context import Services
from claims.services.steps import perform
from claims.store import batches as store
from claims.store.batches import BatchClaimRow, BatchLine, ReadyClaim
from claims.store.db import unit_of_work

__all__ = [
    "BATCHES_PER_PAGE",
    "MAX_BATCH_CLAIMS",
    "NOT_PAYABLE_REASONS",
    "BatchClaimRow",
    "BatchLine",
    "BatchPage",
    "BatchPayResult",
    "BatchRequest",
    "BatchSheet",
    "NotPayable",
    "ReadyClaim",
    "ReadyClaims",
    "batch_id_for",
    "batch_sheet",
    "cancel_batch",
    "county_batches",
    "create_batch",
    "pay_batch",
    "ready_for_batch",
]
"""What callers use; the row shapes (``BatchClaimRow``, ``BatchLine``, ``ReadyClaim``) are the
store's, answered as they are."""

MAX_BATCH_CLAIMS = 200
"""At most this many claims on one batch sheet."""
PAY_CONCURRENCY = 8
"""Claims of a batch paid at once (each its own workflow's ``pay`` step): a 200-claim sheet is
paid in one request of seconds, not minutes behind a reverse proxy's timeout."""
CLAIM_NUMBER_LEN = 48
"""The longest claim number a batch accepts (as the supervisor's bulk steps)."""
BATCHES_PER_PAGE = 50
"""Batches on one page of :func:`county_batches`."""
_REF: TypeAdapter[str] = TypeAdapter(TransferRef)
_PLACE: TypeAdapter[str] = TypeAdapter(PlaceName)
_REASON: TypeAdapter[str] = TypeAdapter(Reason)


class BatchRequest(BaseModel):
    """What a supervisor gives to create a batch (bounded where it enters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    county: PlaceName
    claims: list[str] = Field(min_length=1, max_length=MAX_BATCH_CLAIMS)
    event: Reason

    @field_validator("claims")
    @classmethod
    def _claim_numbers(cls, values: list[str]) -> list[str]:
        """Each a claim number: 1 to :data:`CLAIM_NUMBER_LEN` ASCII letters, digits, ``-``, ``_``."""
        for v in values:
            plain = all(c.isascii() and (c.isalnum() or c in "-_") for c in v)
            if not v or len(v) > CLAIM_NUMBER_LEN or not plain:
                raise ValueError(f"not a claim number: {v[:CLAIM_NUMBER_LEN]!r}")
        return values


class NotPayable(ClaimsError):
    """A claim that cannot be in (or be paid with) a batch; the message names it and why.

    ``params``: ``claim`` (or ``batch`` for a batch paid with another reference) and
    ``reason``, one of :data:`NOT_PAYABLE_REASONS` (``stage`` also gives ``stage``,
    ``in_batch`` gives ``batch``, ``above_limit`` gives ``total`` and ``limit``; a batch
    refused as a whole: ``cancelled`` to pay a cancelled batch, ``payment_started`` (with
    ``transfer_ref``) or ``paid`` to cancel one whose payment was tried or done), so a reader
    can say why in its own language."""

    code = "batch.claim_not_payable"


NOT_PAYABLE_REASONS = (
    "stage",
    "no_decision",
    "above_limit",
    "review",
    "in_batch",
    "paid_other_ref",
    "cancelled",
    "payment_started",
    "paid",
)
"""The ``reason`` param of :class:`NotPayable`."""


@dataclass(frozen=True)
class BatchSheet:
    """A batch as its sheet shows it (现场理赔发放表): the batch, its claims and the total."""

    batch_id: str
    county: str
    event: str
    status: str
    created_by: str
    created_at: datetime
    transfer_ref: str | None
    paid_by: str | None
    paid_at: datetime | None
    rows: list[BatchClaimRow]
    cancelled_by: str | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None

    @property
    def total_paid(self) -> Decimal:
        """What the ledger paid under this batch, yuan."""
        return sum((r.paid for r in self.rows), Decimal("0.00"))

    @property
    def total_amount(self) -> Decimal:
        """The sheet's total, yuan: each claim's paid amount, or before payment what is due
        (``BatchClaimRow.amount``)."""
        return sum((r.amount for r in self.rows), Decimal("0.00"))


@dataclass(frozen=True)
class BatchPayResult:
    """The outcome of paying a batch: the sheet after it, and each claim's refusal (if any):
    ``refused`` the message by claim number, ``rejections`` the typed error by claim number
    (its ``code`` and ``params`` translate it)."""

    sheet: BatchSheet
    refused: dict[str, str]
    rejections: dict[str, StepRejected] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadyClaims:
    """The claims of a supervisor's county that a new batch may take (:func:`ready_for_batch`).

    Attributes:
        county: the supervisor's county.
        township: the township asked for (None: the whole county).
        townships: the townships that have such claims (for a filter).
        claims: the first :data:`MAX_BATCH_CLAIMS` of them, by township, village and number.
        total: how many there are in all (more than ``len(claims)`` when the list is cut).
    """

    county: str
    township: str | None
    townships: list[str]
    claims: list[ReadyClaim]
    total: int


@dataclass(frozen=True)
class BatchPage:
    """A page of a county's batches, newest first (:func:`county_batches`).

    Attributes:
        county: the supervisor's county.
        batches: the page's batches (:data:`BATCHES_PER_PAGE` at most).
        total: how many batches the county has.
        page, pages: this page's number (1-based) and how many there are (at least 1).
    """

    county: str
    batches: list[BatchLine]
    total: int
    page: int
    pages: int


def _supervisor_of(actor: Actor, county: str) -> None:
    if actor.role != Role.SUPERVISOR:
        raise NotAllowed(
            f"payout batches are a supervisor's: you are {actor.role.value}",
            code="role.not_allowed",
            params={"role": actor.role.value},
        )
    if actor.county is not None and actor.county != county:
        raise NotAllowed(
            f"{actor.id} acts for {actor.county} only, not {county}",
            code="scope.county",
            params={"county": county},
        )


def _county_of(actor: Actor) -> str:
    """The supervisor's county, which the console's batch pages read."""
    _supervisor_of(actor, actor.county or "")
    if actor.county is None:
        raise NotAllowed(
            f"{actor.id} has no county: the console's payout batches are a county supervisor's",
            code="batch.no_county",
        )
    return actor.county


def _payable(number: str, state: ClaimState) -> NotPayable | None:
    """Why the claim cannot be paid in a batch now (the error to raise), or None."""
    if state.stage != Stage.PAYOUT:
        already = " (already paid)" if state.stage == Stage.CLOSED else ""
        return NotPayable(
            f"claim {number} is at stage '{state.stage.value}'{already}, not payout",
            params={"claim": number, "reason": "stage", "stage": state.stage.value},
        )
    if state.decision is None:
        return NotPayable(
            f"claim {number} has no decision", params={"claim": number, "reason": "no_decision"}
        )
    limit = state.payout_authority_limit
    if limit is not None and state.decision.total > limit and not state.payout_approved:
        return NotPayable(
            f"claim {number}: {state.decision.total} yuan is above the authority limit of {limit} yuan "
            "and not approved (step approve-payout)",
            params={
                "claim": number,
                "reason": "above_limit",
                "total": str(state.decision.total),
                "limit": str(limit),
            },
        )
    if state.review is not None and state.review.open:
        return NotPayable(
            f"claim {number} is held for {state.review.queue.value} before payment (step clear-review)",
            params={"claim": number, "reason": "review"},
        )
    return None


async def create_batch(
    services: Services, actor: Actor, county: str, claims: list[str], event: str
) -> BatchSheet:
    """Create an open batch of ``claims`` (sheet order as given) for an on-site payout event.

    Raises:
        InputError: a bound (county, 1..200 claims, the event's text) or a claim named twice.
        NotAllowed: not a supervisor, or of another county.
        ClaimNotFound: a claim that does not exist, or of another county (named).
        NotPayable: a claim not in stage payout (closed: already paid), not approved above the
            authority limit, held for review, or in another open batch (named; ``params``
            ``reason`` says which).
        Unavailable: a claim's state query got no answer (no worker, or Temporal away);
            nothing is created.
    """
    try:
        req = BatchRequest(county=county, claims=claims, event=event)
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "batch"
        raise InputError(field, str(err["msg"])) from None
    _supervisor_of(actor, req.county)
    twice = sorted({n for n in req.claims if req.claims.count(n) > 1})
    if twice:
        raise InputError("claims", f"{', '.join(twice)} named twice")
    with services.sessions() as s:
        rows = store.claim_rows(s, req.claims)
        busy = store.open_batches_of(s, req.claims)
    for n in req.claims:
        row = rows.get(n)
        if row is None or row.county != req.county:
            raise ClaimNotFound(n)
        if n in busy:
            raise NotPayable(
                f"claim {n} is already in open batch {busy[n]}",
                params={"claim": n, "reason": "in_batch", "batch": busy[n]},
            )
    client = await services.client()
    for n in req.claims:
        try:
            state = await claim_state(client, n)
        except RPCError as e:  # no worker answered the query, or the server is away
            raise Unavailable(
                f"claim {n}: no answer to the state query ({e.message}); nothing was created",
                params={"claim_number": n, "detail": e.message},
            ) from None
        refusal = _payable(n, state)
        if refusal is not None:
            raise refusal
    now = datetime.now(UTC)
    batch_id = batch_id_for(now)
    try:
        with unit_of_work(services.sessions) as s:
            store.add_batch(s, batch_id, req.county, req.event, actor.id, now, list(req.claims))
    except IntegrityError:
        # another supervisor's batch took one of the claims since the check above (the
        # database keeps one open batch per claim): name it, as the check would have
        with services.sessions() as s:
            busy = store.open_batches_of(s, req.claims)
        if not busy:
            raise
        n = next(n for n in req.claims if n in busy)
        raise NotPayable(
            f"claim {n} is already in open batch {busy[n]}",
            params={"claim": n, "reason": "in_batch", "batch": busy[n]},
        ) from None
    return batch_sheet(services, actor, batch_id)


def batch_id_for(now: datetime) -> str:
    """A new payout batch's id: ``PB`` + the office's date (Asia/Shanghai, not UTC's: from 16:00
    to 24:00 UTC the two differ) + ``-`` + six random hex digits, e.g. ``PB20261202-3F9A1C``.

    Args:
        now: when the batch is made (aware; any zone).
    """
    return f"PB{today_in_shanghai(now):%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


def batch_sheet(services: Services, actor: Actor, batch_id: str) -> BatchSheet:
    """The batch's sheet: its claims in order with the insured's name and what was paid.

    Raises:
        InputError: no such batch (or one of another county: not shown).
        NotAllowed: not a supervisor.
    """
    if actor.role != Role.SUPERVISOR:  # before the lookup: one answer whether the batch exists or not
        _supervisor_of(actor, actor.county or "")
    with services.sessions() as s:
        batch = store.get_batch(s, batch_id)
        if batch is None or (actor.county is not None and actor.county != batch.county):
            raise InputError("batch", f"no batch {batch_id}", code="batch.not_found")
        _supervisor_of(actor, batch.county)
        return BatchSheet(
            batch_id=batch.batch_id,
            county=batch.county,
            event=batch.event,
            status=batch.status,
            created_by=batch.created_by,
            created_at=batch.created_at,
            transfer_ref=batch.transfer_ref,
            paid_by=batch.paid_by,
            paid_at=batch.paid_at,
            rows=store.batch_claims(s, batch_id),
            cancelled_by=batch.cancelled_by,
            cancelled_at=batch.cancelled_at,
            cancel_reason=batch.cancel_reason,
        )


async def pay_batch(
    services: Services,
    actor: Actor,
    batch_id: str,
    transfer_ref: str,
    timeout: timedelta = timedelta(seconds=60),
) -> BatchPayResult:
    """Pay every claim of an open batch with one transfer reference: each claim's ``pay`` step
    (in the supervisor's name, ``PayInput.batch_id``), then the batch id on its ledger rows.
    A claim the workflow refuses is reported (``refused``) and the others are paid; the batch
    is ``paid`` when every claim is. The first attempt fixes the batch's transfer reference;
    any other is refused from then on, even while the batch is still open (a timed-out
    attempt). Paying again with the same reference pays nobody twice: a claim with a ledger
    row under this batch (or any claim of a paid batch) is not paid again, only stamped, even
    when it was reopened and decided again since (that difference is paid on its own).

    Raises:
        InputError: the transfer reference's bounds, or no such batch.
        NotAllowed: not a supervisor of the batch's county.
        NotPayable: the batch's transfer reference is already another one (``reason``
            ``paid_other_ref``), or the batch was cancelled (``cancelled``).
        claims.services.client.NoAnswer: a claim's pay step got no answer within ``timeout``;
            raised once every other claim's step has ended (up to :data:`PAY_CONCURRENCY` are
            paid at once): those are paid, and paying again with the same reference finishes
            the rest (a step already performed is not performed twice). Any other error of a
            claim (``Unavailable``, ``ClaimNotFound``, a store failure) is likewise raised only
            after every claim's step has ended.
        Unavailable: Temporal does not answer.
    """
    try:
        ref = _REF.validate_python(transfer_ref)
    except ValidationError as e:
        raise InputError("transfer_ref", str(e.errors()[0]["msg"])) from None
    sheet = batch_sheet(services, actor, batch_id)
    with unit_of_work(services.sessions) as s:
        # the batch's one transfer: fixed by the first attempt, refused after for any other
        fixed = store.fix_transfer_ref(s, batch_id, ref)
    if fixed is None:
        raise NotPayable(
            f"batch {batch_id} was cancelled: {sheet.cancel_reason or '(cancelled meanwhile)'}",
            params={"batch": batch_id, "reason": "cancelled"},
        )
    if fixed != ref:
        raise NotPayable(
            f"batch {batch_id} is paid with transfer {fixed}",
            params={"batch": batch_id, "reason": "paid_other_ref", "transfer_ref": fixed},
        )
    rejections: dict[str, StepRejected] = {}
    other_errors: list[ClaimsError] = []
    gate = asyncio.Semaphore(PAY_CONCURRENCY)

    async def pay_one(number: str) -> None:
        with unit_of_work(services.sessions) as s:
            done = store.paid_under_batch(s, batch_id, number)
        if done or sheet.status == "paid":
            # paid under this batch already: never a second payment (a claim reopened and
            # decided again since is paid on its own, not under this signed sheet's transfer)
            with unit_of_work(services.sessions) as s:
                store.stamp_payouts(s, batch_id, number, ref)
            return
        inp = PayInput(actor=actor, transfer_ref=ref, batch_id=batch_id, note=f"现场理赔 {batch_id}")
        try:
            async with gate:
                await perform(services, actor, number, inp, timeout=timeout)
        except StepRejected as e:
            rejections[number] = e
            return
        except (NoAnswer, ClaimsError) as e:  # no answer, Temporal away, the claim gone
            other_errors.append(e)
            return
        with unit_of_work(services.sessions) as s:
            store.stamp_payouts(s, batch_id, number, ref)

    # every claim's task ends before anything is raised: none is left paying in the background
    outcomes = await asyncio.gather(
        *(pay_one(row.claim_number) for row in sheet.rows), return_exceptions=True
    )
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    if failures:
        raise failures[0]  # the store or the code failed: the claims paid stay paid and stamped
    if other_errors:
        # the others are paid; paying again with the reference finishes the rest
        raise next((e for e in other_errors if isinstance(e, NoAnswer)), other_errors[0])
    rejections = {
        row.claim_number: rejections[row.claim_number] for row in sheet.rows if row.claim_number in rejections
    }
    refused = {n: e.message for n, e in rejections.items()}
    if not refused:
        with unit_of_work(services.sessions) as s:
            batch = store.get_batch(s, batch_id)
            assert batch is not None
            if batch.status != "paid":
                store.mark_paid(s, batch, ref, actor.id, datetime.now(UTC))
    return BatchPayResult(
        sheet=batch_sheet(services, actor, batch_id), refused=refused, rejections=rejections
    )


def cancel_batch(services: Services, actor: Actor, batch_id: str, reason: str) -> BatchSheet:
    """Cancel an open batch whose on-site event does not take place (取消批次): its claims leave
    it and may go in another batch; the sheet stays, marked cancelled, with who, when and why.
    Cancelling it again answers the same sheet.

    Only before any payment was tried: once a transfer reference is fixed (a pay attempt,
    perhaps without answer, perhaps with some claims paid) the batch is finished by paying it
    with that reference, never cancelled.

    Args:
        reason: why, one line (1 to 500 characters), shown on the sheet.

    Raises:
        InputError: the reason's bounds (field ``reason``), or no such batch.
        NotAllowed: not a supervisor of the batch's county.
        NotPayable: the batch is paid (``reason`` ``paid``) or its payment was tried
            (``payment_started``, with ``transfer_ref``).
    """
    try:
        why = _REASON.validate_python(reason)
    except ValidationError as e:
        raise InputError("reason", str(e.errors()[0]["msg"])) from None
    sheet = batch_sheet(services, actor, batch_id)
    if sheet.status == "cancelled":
        return sheet
    with unit_of_work(services.sessions) as s:
        cancelled = store.mark_cancelled(s, batch_id, actor.id, datetime.now(UTC), why)
    after = batch_sheet(services, actor, batch_id)
    if cancelled or after.status == "cancelled":
        return after
    if after.status == "paid":
        raise NotPayable(f"batch {batch_id} is paid", params={"batch": batch_id, "reason": "paid"})
    raise NotPayable(
        f"batch {batch_id}: payment was tried with transfer {after.transfer_ref}; "
        "pay it with that reference to finish",
        params={"batch": batch_id, "reason": "payment_started", "transfer_ref": str(after.transfer_ref)},
    )


def ready_for_batch(services: Services, actor: Actor, township: str | None = None) -> ReadyClaims:
    """The claims of the supervisor's county that a new batch may take: in stage payout in the
    store's projection and in no open batch (read-only). Whether each may really be paid
    (approved above the authority limit, not held for review) is checked again by
    :func:`create_batch` against the claim's workflow; the projection's word on it is in
    each row (``awaiting_approval``, ``review_queue``).

    Args:
        township: only this township's claims (None or '': the whole county).

    Returns:
        The county, the townships that have such claims, the first :data:`MAX_BATCH_CLAIMS`
        claims and how many there are.

    Raises:
        NotAllowed: not a supervisor, or a supervisor without a county (``batch.no_county``).
        InputError: ``township`` longer than a place name may be.
    """
    county = _county_of(actor)
    town = township or None
    if town is not None:
        try:
            town = _PLACE.validate_python(town)
        except ValidationError as e:
            raise InputError("township", str(e.errors()[0]["msg"])) from None
    with services.sessions() as s:
        townships = store.ready_townships(s, county)
        claims, total = store.ready_claims(s, county, town, limit=MAX_BATCH_CLAIMS)
    return ReadyClaims(county=county, township=town, townships=townships, claims=claims, total=total)


def county_batches(services: Services, actor: Actor, page: int = 1) -> BatchPage:
    """The supervisor's county's batches, newest first, :data:`BATCHES_PER_PAGE` a page, each
    with its status, event, number of claims, creator and time, and what was paid under it
    (read-only).

    Args:
        page: 1-based; a page past the last answers the last.

    Raises:
        NotAllowed: not a supervisor, or a supervisor without a county (``batch.no_county``).
        InputError: ``page`` below 1.
    """
    county = _county_of(actor)
    if page < 1:
        raise InputError("page", "a page number from 1")
    with services.sessions() as s:
        total = store.count_batches(s, county)
        pages = max(1, -(-total // BATCHES_PER_PAGE))
        page = min(page, pages)
        batches = store.county_batches(
            s, county, limit=BATCHES_PER_PAGE, offset=(page - 1) * BATCHES_PER_PAGE
        )
    return BatchPage(county=county, batches=batches, total=total, page=page, pages=pages)
