"""A county supervisor's work: the counters, the table by township × handler, filtered lists,
bulk reassignment with a result per claim, and the numbers behind the charts.

One job: what the supervisor's page (``/supervise``) reads and the one bulk action it takes,
for supervisors only (anyone else: ``NotAllowed``), scoped by the supervisor's county **in
SQL** (``claims.store.supervision``). Definitions of the counters:

* **overdue** (breached): the deadline passed or the engine marked the SLA breached;
* **at risk**: not overdue, and **either** the engine's state is ``at_risk`` (80 % of the
  target's time used) **or** the deadline falls before the close of the next working day
  (due within one working day, on the working-day calendar);
* **paused**: the resolution clock is paused waiting for documents the claimant owes;
* **stuck**: a store step of the claim keeps failing (``stuck_activity``);
* **green channel**: open claims on the green channel;
* **waiting for approval**: at stage payout with a decided total above the claim's handler
  authority limit and no supervisor's ``approve_payout`` yet;
* **in review** (复核) and **referred** (特调): an open review hold (``ClaimState.review`` with
  status ``open``) in queue ``review`` or ``siu``: read from the claims' states at stage payout
  (a hold is placed at adjudication and keeps the claim at payout until cleared or referred);
* **withdrawn** (撤案), **reopened** (重开·重新核定: reopened by a supervisor, not yet ended
  again), **advance paid** (预付已付: an advance paid, the final payment still to
  come) and **receivable open** (待追回): ``claims.store.lifecycle_counts`` for the county;
* **documents to check** (待审核资料): files uploaded and not yet accepted or rejected, on the
  open claims in scope (``claims.services.documents.awaiting_check``).

"Paused", "waiting for approval" and the review holds come from the projection for claims
started since ``lean-history`` (``claims.paused``, ``awaiting_approval``, ``review_queue``,
migration 0016: one SQL read, ``claims.store.supervision.known_facts``, with the conditions
the filtered lists use). Older claims' rows
leave them NULL, so for those the facts are read from the claims' own state (the ``state``
Query): claims at stage documents (only there is the clock paused for documents) and at
stage payout, at most :data:`STATE_READS` of each; a claim whose state does not answer in
time is counted as "no answer". Asking every candidate's workflow cost 2 s a page (p95 20 s)
with 500 such claims in the county among 10,000 open (``bench/bench_open_claims.py``).

Bulk reassignment performs one ``reassign`` step per claim through
``claims.services.steps.perform`` as the supervisor: the workflow's validator stays the
authority (a closed claim refuses it), and each claim gets its own result.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import WorkingCalendar
from claims.errors import ClaimNotFound, ClaimsError, InputError, NotAllowed, StepRejected, Unavailable
from claims.models import Actor, ClaimState, ReassignInput, Role, Stage, supervision_facts
from claims.models.bounds import STAFF_ID_LEN
from claims.services.client import NoAnswer
from claims.services.context import Services
from claims.services.documents import awaiting_check
from claims.services.steps import perform
from claims.services.views import claim_view, scope_of
from claims.store import lifecycle_counts
from claims.store import supervision as sql
from claims.store.db import unit_of_work
from claims.store.supervision import Counts, ListFilter, SuperviseRow, TeamLine, Windows

PER_PAGE = 50
"""Rows of a page of the supervisor's list."""

MAX_BULK = 100
"""Most claims one bulk reassignment takes."""

STATE_READS = 500
"""Most claims (started before ``lean-history``, their projection without the facts) whose state
is read for the "paused" and "waiting for approval" counters, per stage."""

STATE_TIMEOUT = 5.0
"""Seconds a claim's state query may take before the claim counts as "no answer"."""

STEP_TIMEOUT = dt.timedelta(seconds=30)
"""How long each reassignment of a bulk action waits for a worker."""

SLA_FILTERS = ("breached", "at_risk", "paused", "stuck")
"""The ``sla`` filter's values."""

REVIEW_FILTERS = ("review", "siu")
"""The ``review`` filter's values: the queue of an open review hold (复核, 特调)."""

FACTS = ("paused", "approval", *(f"review:{q}" for q in REVIEW_FILTERS))
"""The supervisor's facts the projection carries (``claims.store.supervision.fact_condition``)."""

CLAIM_NUMBER_LEN = 48
"""A claim number's longest form (the ``claims.claim_number`` column)."""


@dataclass(frozen=True)
class StateFacts:
    """What the supervisor's counters need from a claim's state."""

    paused: bool
    awaiting_approval: bool
    review: str | None = None
    """The queue (``review`` or ``siu``) of the claim's open review hold; None without one."""


def facts_of(state: ClaimState) -> StateFacts:
    """Paused for documents (an open resolution clock paused), waiting for a supervisor's
    approval (payout stage, decided total above the authority limit, not approved) and the
    queue of an open review hold (``claims.models.supervision_facts``)."""
    paused, awaiting, review = supervision_facts(
        stage=state.stage,
        clocks=state.clocks,
        decision_total=state.decision.total if state.decision is not None else None,
        authority_limit=state.payout_authority_limit,
        approved=state.payout_approved,
        review=state.review,
    )
    return StateFacts(paused=paused, awaiting_approval=awaiting, review=review)


FactsReader = Callable[[Services, Actor, list[str]], Awaitable[dict[str, StateFacts | None]]]
"""Reads the facts of claims (None: no answer); tests give their own."""


async def read_facts(services: Services, actor: Actor, numbers: list[str]) -> dict[str, StateFacts | None]:
    """The facts of each claim from its state query, at once; None when it does not answer
    within :data:`STATE_TIMEOUT`."""
    gate = asyncio.Semaphore(20)

    async def one(number: str) -> StateFacts | None:
        async with gate:
            try:
                return facts_of(await asyncio.wait_for(claim_view(services, actor, number), STATE_TIMEOUT))
            except (ClaimsError, TimeoutError):
                return None

    answers = await asyncio.gather(*(one(n) for n in numbers))
    return dict(zip(numbers, answers, strict=True))


@dataclass(frozen=True)
class Filter:
    """The list's filters, as the query string gives them (see :func:`parse_filter`)."""

    sla: str | None = None
    green: bool = False
    approval: bool = False
    township: str | None = None
    handler: str | None = None
    review: str | None = None
    docs: bool = False

    @property
    def any(self) -> bool:
        """True when some filter is set (the page then shows the list)."""
        return bool(
            self.sla
            or self.green
            or self.approval
            or self.township
            or self.handler
            or self.review
            or self.docs
        )


def _text(name: str, value: str | None, limit: int = STAFF_ID_LEN) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > limit or any(
        ord(c) < 32 or c in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in value
    ):
        raise InputError(name, f"at most {limit} characters, on one line")
    return value


def parse_filter(
    sla: str | None,
    green: str | None,
    approval: str | None,
    township: str | None,
    handler: str | None,
    review: str | None = None,
    docs: str | None = None,
) -> Filter:
    """The filters from query-string values; each bad value refused with its name.

    Raises:
        claims.errors.InputError: ``sla`` not one of :data:`SLA_FILTERS`, ``review`` not one of
            :data:`REVIEW_FILTERS`, ``green``, ``approval`` or ``docs`` not ``1``/``0``,
            ``township`` or ``handler`` too long or with control characters.
    """
    if sla and sla not in SLA_FILTERS:
        raise InputError("sla", f"{sla[:40]!r} is not one of {', '.join(SLA_FILTERS)}")
    if review and review not in REVIEW_FILTERS:
        raise InputError("review", f"{review[:40]!r} is not one of {', '.join(REVIEW_FILTERS)}")
    for name, value in (("green", green), ("approval", approval), ("docs", docs)):
        if value not in (None, "", "0", "1"):
            raise InputError(name, "1 or 0")
    return Filter(
        sla=sla or None,
        green=green == "1",
        approval=approval == "1",
        township=_text("township", township),
        handler=_text("handler", handler),
        review=review or None,
        docs=docs == "1",
    )


@dataclass(frozen=True)
class Counters:
    """The page's counters (``no_answer``: claims whose state did not answer, so "paused",
    "waiting for approval", "in review" and "referred" may be short by that many)."""

    open: int
    overdue: int
    at_risk: int
    paused: int
    stuck: int
    green: int
    approval: int
    no_answer: int
    in_review: int = 0
    referred: int = 0
    documents: int = 0
    withdrawn: int = 0
    reopened: int = 0
    advance_paid: int = 0
    receivable_open: int = 0


@dataclass(frozen=True)
class Overview:
    """Everything ``/supervise`` shows but the charts."""

    counters: Counters
    team: list[TeamLine]
    filter: Filter
    rows: list[SuperviseRow]
    total: int
    page: int
    pages: int
    handlers: list[str]
    townships: list[str]
    awaiting: frozenset[str] = field(default_factory=frozenset)
    paused: frozenset[str] = field(default_factory=frozenset)


def require_supervisor(actor: Actor) -> None:
    """Raises ``NotAllowed`` unless ``actor`` is a supervisor."""
    if actor.role != Role.SUPERVISOR:
        raise NotAllowed(
            f"the supervisor's page is for supervisors; you are {actor.role.value}",
            code="role.not_allowed",
            params={"role": actor.role.value, "allowed": Role.SUPERVISOR.value},
        )


def windows(now: dt.datetime, cal: WorkingCalendar) -> Windows:
    """``now`` and the at-risk horizon: the close of the next working day after today."""
    day = now.astimezone(SHANGHAI).date() + dt.timedelta(days=1)
    while not cal.is_working_day(day):
        day += dt.timedelta(days=1)
    horizon = dt.datetime.combine(day, cal.closing_time, tzinfo=SHANGHAI).astimezone(dt.UTC)
    return Windows(now=now, horizon=horizon)


async def overview(
    services: Services,
    actor: Actor,
    now: dt.datetime,
    cal: WorkingCalendar,
    flt: Filter = Filter(),
    page: int = 1,
    per_page: int = PER_PAGE,
    facts: FactsReader | None = None,
) -> Overview:
    """The counters, the table by township × handler and (when a filter is set) a page of the
    filtered list, for a supervisor's county.

    Args:
        facts: how the claims' states are read (default :func:`read_facts`, looked up when
            called, so a test may replace the module attribute).

    Raises:
        claims.errors.NotAllowed: the actor is not a supervisor.
    """
    require_supervisor(actor)
    scope = scope_of(actor)
    w = windows(now, cal)
    facts = facts or read_facts

    def read_sql() -> tuple[
        Counts,
        list[TeamLine],
        dict[str, list[str]],
        list[str],
        list[str],
        list[str],
        list[str],
        dict[str, int],
        dict[str, int],
    ]:
        with unit_of_work(services.sessions) as s:
            read = (
                sql.counts(s, scope, w),
                sql.team_table(s, scope, w),
                sql.known_facts(s, scope, FACTS),
                sql.open_numbers_at(s, scope, Stage.DOCUMENTS, STATE_READS, facts_unknown=True),
                sql.open_numbers_at(s, scope, Stage.PAYOUT, STATE_READS, facts_unknown=True),
                sql.county_handlers(s, actor.county),
                sql.townships(s, scope),
                lifecycle_counts(s, actor.county),
            )
        return (*read, awaiting_check(services, actor))

    c, team, known, in_documents, in_payout, handlers, towns, life, to_check = await asyncio.to_thread(read_sql)
    # the projection carries the facts of claims since lean-history; older ones are asked
    answers = await facts(services, actor, in_documents + in_payout) if in_documents or in_payout else {}
    asked_paused = [n for n in in_documents if (f := answers.get(n)) is not None and f.paused]
    asked_awaiting = [n for n in in_payout if (f := answers.get(n)) is not None and f.awaiting_approval]
    asked_held = {
        q: [n for n in in_payout if (f := answers.get(n)) is not None and f.review == q] for q in REVIEW_FILTERS
    }
    paused = known["paused"] + asked_paused
    awaiting = known["approval"] + asked_awaiting
    held = {q: known[f"review:{q}"] + asked_held[q] for q in REVIEW_FILTERS}
    counters = Counters(
        open=c.open,
        overdue=c.overdue,
        at_risk=c.at_risk,
        paused=len(paused),
        stuck=c.stuck,
        green=c.green,
        approval=len(awaiting),
        no_answer=sum(1 for v in answers.values() if v is None),
        in_review=len(held["review"]),
        referred=len(held["siu"]),
        documents=sum(to_check.values()),
        withdrawn=life["withdrawn"],
        reopened=life["reopened"],
        advance_paid=life["advance_paid"],
        receivable_open=life["receivable_open"],
    )
    rows: list[SuperviseRow] = []
    total, pages = 0, 1
    if flt.any:
        # the projection's facts filter in SQL; only the claims asked (no columns) go by number
        facts_wanted: list[tuple[str, list[str]]] = []
        if flt.sla == "paused":
            facts_wanted.append(("paused", asked_paused))
        if flt.approval:
            facts_wanted.append(("approval", asked_awaiting))
        if flt.review:
            facts_wanted.append((f"review:{flt.review}", asked_held[flt.review]))
        where = ListFilter(
            sla=flt.sla if flt.sla != "paused" else None,
            green=flt.green,
            township=flt.township,
            handler=flt.handler,
            numbers=set(to_check) if flt.docs else None,
            facts=tuple(facts_wanted),
        )

        def read_list(offset: int) -> tuple[int, list[SuperviseRow]]:
            with unit_of_work(services.sessions) as s:
                return sql.claim_list(s, scope, where, w, per_page, offset)

        total, rows = await asyncio.to_thread(read_list, (max(1, page) - 1) * per_page)
        pages = max(1, math.ceil(total / per_page))
        if page > pages:
            page = pages
            total, rows = await asyncio.to_thread(read_list, (page - 1) * per_page)
    return Overview(
        counters=counters,
        team=team,
        filter=flt,
        rows=rows,
        total=total,
        page=max(1, page),
        pages=pages,
        handlers=handlers,
        townships=towns,
        awaiting=frozenset(awaiting),
        paused=frozenset(paused),
    )


# --------------------------------------------------------------------------- bulk reassignment


@dataclass(frozen=True)
class Reassigned:
    """The result of one claim of a bulk reassignment.

    ``outcome``: ``reassigned``, ``refused`` (the claim's validator said no: ``error`` has its
    code), ``not_found`` (no such claim in the supervisor's county) or ``no_answer`` (no worker
    answered in time, or Temporal is unreachable: the step may still be performed).
    """

    claim_number: str
    outcome: str
    handler: str | None = None
    error: ClaimsError | None = None


def parse_numbers(values: list[str]) -> list[str]:
    """The selected claim numbers, once each in the order given.

    Raises:
        claims.errors.InputError: none selected, more than :data:`MAX_BULK`, or a number too
            long or not of letters, digits and ``-`` (field ``claim_numbers``).
    """
    out: list[str] = []
    for v in values:
        v = v.strip()
        if (
            not v
            or len(v) > CLAIM_NUMBER_LEN
            or not all(c.isascii() and (c.isalnum() or c in "-_") for c in v)
        ):
            raise InputError("claim_numbers", f"not a claim number: {v[:CLAIM_NUMBER_LEN]!r}")
        if v not in out:
            out.append(v)
    if not out:
        raise InputError("claim_numbers", "select at least one claim")
    if len(out) > MAX_BULK:
        raise InputError("claim_numbers", f"at most {MAX_BULK} claims at once")
    return out


async def reassign(services: Services, actor: Actor, numbers: list[str], handler: str) -> list[Reassigned]:
    """Give each claim of ``numbers`` to ``handler``: one ``reassign`` step per claim,
    performed as ``actor``, all at once; a result per claim, in the order given.

    Raises:
        claims.errors.NotAllowed: the actor is not a supervisor.
        claims.errors.InputError: ``handler`` is not an enabled handler account of the
            supervisor's county (field ``handler``); bad ``numbers`` (see :func:`parse_numbers`).
    """
    require_supervisor(actor)
    numbers = parse_numbers(numbers)

    def read() -> tuple[list[str], set[str]]:
        with unit_of_work(services.sessions) as s:
            return sql.county_handlers(s, actor.county), sql.scope_numbers(s, scope_of(actor), numbers)

    handlers, in_scope = await asyncio.to_thread(read)
    if handler not in handlers:
        raise InputError("handler", f"{handler[:STAFF_ID_LEN]!r} is not a handler of your county")

    async def one(number: str) -> Reassigned:
        if number not in in_scope:
            return Reassigned(number, "not_found", error=ClaimNotFound(number))
        try:
            attempt = await perform(
                services, actor, number, ReassignInput(actor=actor, handler=handler), STEP_TIMEOUT
            )
        except StepRejected as e:
            return Reassigned(number, "refused", error=e)
        except ClaimNotFound as e:
            return Reassigned(number, "not_found", error=e)
        except (NoAnswer, Unavailable) as e:
            return Reassigned(number, "no_answer", error=e)
        return Reassigned(number, "reassigned", handler=attempt.result.assigned_handler)

    return list(await asyncio.gather(*(one(n) for n in numbers)))


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Charts:
    """The charts' numbers over the last ``len(months)`` months (``YYYY-MM``, Asia/Shanghai).

    ``paid_claims[township][i]``: claims with a payment in month i; ``paid_amounts[township][i]``:
    yuan paid in month i (strings, two decimals); ``closed[i]``, ``met[i]``: claims closed or
    declined in month i and those within their target; ``met_pct[i]``: the percentage (one
    decimal), None for a month without closed claims.
    """

    months: list[str]
    townships: list[str]
    paid_claims: dict[str, list[int]]
    paid_amounts: dict[str, list[str]]
    total_amounts: list[str]
    closed: list[int]
    met: list[int]
    met_pct: list[float | None]

    def as_json(self) -> dict[str, object]:
        """A JSON-ready dict (what ``/supervise/charts.json`` answers)."""
        return {
            "months": self.months,
            "townships": self.townships,
            "paid_claims": self.paid_claims,
            "paid_amounts": self.paid_amounts,
            "total_amounts": self.total_amounts,
            "closed": self.closed,
            "met": self.met,
            "met_pct": self.met_pct,
        }


def _months(now: dt.datetime, n: int) -> list[tuple[int, int]]:
    local = now.astimezone(SHANGHAI)
    y, m = local.year, local.month
    out = []
    for _ in range(n):
        out.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def charts(services: Services, actor: Actor, now: dt.datetime, months: int = 12) -> Charts:
    """Claims paid and amounts by township by month, and SLA compliance by month, for the
    supervisor's county over the ``months`` months up to ``now``'s (Asia/Shanghai).

    Raises:
        claims.errors.NotAllowed: the actor is not a supervisor.
    """
    require_supervisor(actor)
    span = _months(now, months)
    start = dt.datetime(span[0][0], span[0][1], 1, tzinfo=SHANGHAI).astimezone(dt.UTC)
    end_y, end_m = span[-1]
    end_y, end_m = (end_y, end_m + 1) if end_m < 12 else (end_y + 1, 1)
    end = dt.datetime(end_y, end_m, 1, tzinfo=SHANGHAI).astimezone(dt.UTC)
    index = {ym: i for i, ym in enumerate(span)}
    scope = scope_of(actor)
    with unit_of_work(services.sessions) as s:
        paid = sql.payouts_between(s, scope, start, end)
        closed = sql.closed_between(s, scope, start, end)
    towns = sorted({p.township for p in paid})
    claims_by: dict[str, list[set[str]]] = {t: [set() for _ in span] for t in towns}
    amounts_by: dict[str, list[Decimal]] = {t: [Decimal("0")] * len(span) for t in towns}
    for p in paid:
        local = p.paid_at.astimezone(SHANGHAI)
        i = index[(local.year, local.month)]
        claims_by[p.township][i].add(p.claim_number)
        amounts_by[p.township][i] += p.amount
    n_closed, n_met = [0] * len(span), [0] * len(span)
    for c in closed:
        local = c.closed_at.astimezone(SHANGHAI)
        i = index[(local.year, local.month)]
        n_closed[i] += 1
        n_met[i] += c.sla_state == "met"
    return Charts(
        months=[f"{y:04d}-{m:02d}" for y, m in span],
        townships=towns,
        paid_claims={t: [len(x) for x in claims_by[t]] for t in towns},
        paid_amounts={t: [f"{a:.2f}" for a in amounts_by[t]] for t in towns},
        total_amounts=[
            f"{sum((amounts_by[t][i] for t in towns), Decimal('0')):.2f}" for i in range(len(span))
        ],
        closed=n_closed,
        met=n_met,
        met_pct=[round(100 * m / c, 1) if c else None for m, c in zip(n_met, n_closed, strict=True)],
    )
