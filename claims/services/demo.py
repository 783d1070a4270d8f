"""The demo on the seed's three real cases: report, drive as handlers would, print the table.

Input files (both in ``data/demo/``, documented in the README):
- ``register.json``: the policy register (:class:`claims.store.RegisterFile`).
- ``claims.json``: the claim reports and what the handlers established (:class:`DemoFile`).

Driving is idempotent by stage: run it again and it finds the same claims (their claim
numbers derive from the event) and only performs the steps still missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from temporalio.client import Client

from claims.domain.workdays import WorkingCalendar
from claims.models import (
    Actor,
    AdjudicateInput,
    ApprovePayoutInput,
    ClaimReport,
    ClaimState,
    ClearReviewInput,
    CompleteDocumentsInput,
    LossFacts,
    PayInput,
    ReceiveDocumentsInput,
    RecordInvestigationInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    Stage,
)
from claims.services.client import perform_step, report_claim, wait_until_open
from claims.store import RegisterFile, load_register
from claims.store.db import Sessions, unit_of_work

_M = TypeVar("_M", bound=BaseModel)


class DemoInvestigation(BaseModel):
    """What the investigator found."""

    model_config = ConfigDict(extra="forbid")

    investigator: str
    findings: str
    covered_event: bool = True


class DemoClaim(BaseModel):
    """One case: the report, the handler, the documents, the facts and the transfer reference.

    ``supervisor`` approves a payout above the handlers' authority limit (default
    ``supervisor.demo``).
    """

    model_config = ConfigDict(extra="forbid")

    title: str
    report: ClaimReport
    handler: str
    documents: list[str] = Field(min_length=1)
    investigation: DemoInvestigation | None = None
    facts: LossFacts
    transfer_ref: str
    supervisor: str = "supervisor.demo"


class DemoFile(BaseModel):
    """``claims.json``: the cases to carry end to end."""

    model_config = ConfigDict(extra="forbid")

    claims: list[DemoClaim]


@dataclass
class DemoRow:
    """One line of the demo table."""

    claim_number: str
    policies: str
    benefit: str
    amount: Decimal
    stage: str
    green_channel: bool
    working_days_taken: int | None
    target: int | None
    met: bool | None


def _read(path: Path, model: type[_M]) -> _M:
    """One JSON input file validated as ``model`` (``ValueError`` naming the file on bad content)."""
    try:
        return model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from e


def load_files(register_path: Path, claims_path: Path) -> tuple[RegisterFile, DemoFile]:
    """Read and validate both input files (``ValueError`` naming the file on bad content)."""
    return _read(register_path, RegisterFile), _read(claims_path, DemoFile)


async def drive_claim(client: Client, session: Session, case: DemoClaim, task_queue: str) -> ClaimState:
    """Report one case and perform every step it still needs, as its handlers would."""
    intake = await report_claim(client, session, case.report, task_queue=task_queue)
    number = intake.claim.claim_number
    state = await wait_until_open(client, number)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    if state.stage == Stage.REPORTED:
        state = await perform_step(client, number, RegisterInput(actor=handler))
    if state.stage == Stage.DOCUMENTS:
        if not state.documents_requested:
            # one notice naming everything (art. 22): the claim's checklist and the case's papers
            wanted = list(dict.fromkeys(state.documents_required + case.documents))
            state = await perform_step(
                client,
                number,
                RequestDocumentsInput(actor=handler, documents=wanted),
            )
        missing = [d for d in state.documents_requested if d not in state.documents_received]
        if missing:
            state = await perform_step(
                client,
                number,
                ReceiveDocumentsInput(actor=case.report.reporter, documents=missing),
            )
        state = await perform_step(client, number, CompleteDocumentsInput(actor=handler))
    if state.stage == Stage.INVESTIGATION:
        if case.investigation is None:
            raise ValueError(f"{case.title}: the claim needs an investigation but the demo file has none")
        inv = case.investigation
        state = await perform_step(
            client,
            number,
            RecordInvestigationInput(
                actor=Actor(id=inv.investigator, role=Role.INVESTIGATOR),
                findings=inv.findings,
                covered_event=inv.covered_event,
            ),
        )
    if state.stage == Stage.ADJUDICATION:
        state = await perform_step(client, number, AdjudicateInput(actor=handler, facts=case.facts))
    if state.stage == Stage.PAYOUT:
        limit = state.payout_authority_limit
        if (
            state.decision is not None
            and limit is not None
            and state.decision.total > limit
            and not state.payout_approved
        ):
            # Above the handlers' authority limit: the county's supervisor approves first.
            supervisor = Actor(id=case.supervisor, role=Role.SUPERVISOR)
            state = await perform_step(client, number, ApprovePayoutInput(actor=supervisor))
        if state.review is not None and state.review.open:
            # Held for review before payment (rules/review.json): the county's supervisor clears it.
            supervisor = Actor(id=case.supervisor, role=Role.SUPERVISOR)
            cleared = ClearReviewInput(actor=supervisor, note="reviewed: documents and amount checked")
            state = await perform_step(client, number, cleared)
        state = await perform_step(client, number, PayInput(actor=handler, transfer_ref=case.transfer_ref))
    return state


def row_of(state: ClaimState, calendar: WorkingCalendar) -> DemoRow:
    """The table row of a claim: amounts from the ledger, working days from the calendar."""
    resolution = next((c for c in state.clocks if c.name == "resolution"), None)
    taken = met = None
    if resolution is not None and resolution.stopped_at is not None:
        taken = calendar.working_days_between(resolution.deadline.start, resolution.stopped_at)
        met = not resolution.breached and resolution.stopped_at <= resolution.deadline.due_at
    benefits = sorted({ln.kind for ln in state.decision.lines}) if state.decision else []
    paid = sum((p.amount for p in state.payments), Decimal("0"))
    return DemoRow(
        claim_number=state.claim_number,
        policies="+".join(state.policies),
        benefit=",".join(benefits) or "-",
        amount=paid,
        stage=state.stage.value,
        green_channel=state.green_channel,
        working_days_taken=taken,
        target=resolution.target_working_days if resolution else None,
        met=met,
    )


def format_table(rows: list[DemoRow]) -> str:
    """The demo table as fixed-width text."""
    head = (
        "claim number",
        "policies",
        "benefit",
        "amount (yuan)",
        "stage",
        "green",
        "taken (wd)",
        "target (wd)",
        "met",
    )
    cells = [head] + [
        (
            r.claim_number,
            r.policies,
            r.benefit,
            f"{r.amount:,.2f}",
            r.stage,
            "yes" if r.green_channel else "no",
            "-" if r.working_days_taken is None else str(r.working_days_taken),
            "-" if r.target is None else str(r.target),
            "-" if r.met is None else ("yes" if r.met else "no"),
        )
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    lines = [
        "  ".join(c[i].ljust(widths[i]) if i != 3 else c[i].rjust(widths[i]) for i in range(len(head)))
        for c in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    total = sum((r.amount for r in rows), Decimal("0"))
    lines.append(f"{len(rows)} claims, {total:,.2f} yuan paid")
    return "\n".join(lines)


async def run_demo(
    client: Client,
    sessions: Sessions,
    register_path: Path,
    claims_path: Path,
    calendar: WorkingCalendar,
    task_queue: str,
) -> list[DemoRow]:
    """Load the register, carry every case end to end, return the table rows."""
    register, demo = load_files(register_path, claims_path)
    with unit_of_work(sessions) as s:
        load_register(s, register)
    rows = []
    for case in demo.claims:
        with sessions() as s:
            state = await drive_claim(client, s, case, task_queue)
        rows.append(row_of(state, calendar))
    return rows
