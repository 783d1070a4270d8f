"""The decision record of closed claims, kept in the store beyond Temporal's history retention.

Two writers fill ``claim_archives`` (one row per claim):

- ``archive_decision`` (activity, ``activities/archive.py``): the workflow calls it once
  when the claim reaches ``closed`` or ``declined``; it stores the decision bundle
  (:class:`DecisionBundle`) built from :class:`claims.models.ArchiveInput`.
- :func:`archive_closed_claims` (the archiver; ``claims archive`` and every
  :data:`SWEEP_INTERVAL` in the worker): stores the full history of every closed claim
  workflow not yet archived, and builds the bundle from the history when the activity
  never wrote one (claims closed before the activity existed, terminated workflows).

The namespace retention must be longer than the sweep interval by a wide margin (the
engine configures 3650 days on the embedded server; see the README, "Audit and retention").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from claims import models as m
from claims.audit import AuditReport, build_audit
from claims.store.db import ClaimArchive
from claims.infra.logging import get_logger

SWEEP_INTERVAL = timedelta(minutes=5)
"""How often the worker's archiver looks for newly closed claims."""

CLOSED_CLAIMS_QUERY = "WorkflowType = 'ClaimWorkflow' AND ExecutionStatus != 'Running'"
"""Visibility query of closed claim workflows."""


class TermsUsed(BaseModel):
    """A policy's terms version and the sha256 of the terms file that decided it (None: no line)."""

    model_config = ConfigDict(extra="forbid")

    policy_number: str
    terms_version: str
    terms_hash: str | None = None


class DecisionBundle(BaseModel):
    """Everything an auditor needs about a closed claim's decision, without the history.

    Times are aware UTC. Amounts are yuan (``Decimal`` as strings in JSON).

    Attributes:
        source: ``activity`` (written by ``archive_decision``) or ``history`` (rebuilt
            from the workflow history by the archiver).
        claim: the facts as reported (workflow start input; no names or id numbers).
        facts: the facts established at adjudication, when known.
        coverage_request / decision: the last ``evaluate_coverage`` input and result.
        terms: per policy the terms version and hash in force.
        calendar_versions: calendar versions of every recorded deadline.
        sla_policy_version: the SLA policy the target was chosen from.
    """

    model_config = ConfigDict(extra="forbid")

    bundle_version: int = 1
    source: str
    claim_number: str
    workflow_id: str
    run_id: str
    closed_at: datetime | None
    stage: str
    claim: m.ClaimInput | None = None
    facts: m.LossFacts | None = None
    triage: m.TriageResult | None = None
    sla_target: m.SlaTarget | None = None
    coverage_request: m.CoverageRequest | None = None
    decision: m.CoverageDecision | None = None
    decline_reasons: list[str] = Field(default_factory=list)
    terms: list[TermsUsed] = Field(default_factory=list)
    calendar_versions: list[str] = Field(default_factory=list)
    sla_policy_version: str | None = None
    clocks: list[m.SlaClock] = Field(default_factory=list)
    payouts: list[m.PaymentRecord] = Field(default_factory=list)
    timeline: list[m.TimelineEntry] = Field(default_factory=list)


@dataclass
class ArchivedClaim:
    """A row of ``claim_archives`` as read back: the bundle parsed, the history as JSON text."""

    claim_number: str
    workflow_id: str
    run_id: str
    stage: str
    closed_at: datetime | None
    bundle: DecisionBundle
    history_json: str | None
    history_sha256: str | None


def _terms(claim: m.ClaimInput | None, decision: m.CoverageDecision | None) -> list[TermsUsed]:
    if claim is None:
        return []
    hashes = {ln.policy_number: ln.terms_hash for ln in (decision.lines if decision else [])}
    return [
        TermsUsed(
            policy_number=p.policy_number,
            terms_version=p.terms_version,
            terms_hash=hashes.get(p.policy_number),
        )
        for p in claim.policies
    ]


def bundle_from_input(inp: m.ArchiveInput) -> DecisionBundle:
    """The bundle of a claim from the workflow's ``archive_decision`` input."""
    st = inp.state
    decision = st.decision
    request = None
    if decision is not None and inp.facts is not None:
        request = m.CoverageRequest(
            claim_number=inp.claim.claim_number,
            accident_date=inp.claim.accident_date,
            reported_on=inp.claim.reported_on,
            insured=inp.claim.insured,
            facts=inp.facts,
            policies=inp.claim.policies,
        )
    return DecisionBundle(
        source="activity",
        claim_number=inp.claim.claim_number,
        workflow_id=inp.workflow_id,
        run_id=inp.run_id,
        closed_at=inp.closed_at,
        stage=st.stage.value,
        claim=inp.claim,
        facts=inp.facts,
        triage=st.triage,
        sla_target=inp.sla_target,
        coverage_request=request,
        decision=decision,
        decline_reasons=list(st.decline_reasons),
        terms=_terms(inp.claim, decision),
        calendar_versions=sorted({c.deadline.calendar_version for c in st.clocks}),
        sla_policy_version=inp.sla_target.policy_version if inp.sla_target else None,
        clocks=list(st.clocks),
        payouts=list(st.payments),
        timeline=list(st.timeline),
    )


def bundle_from_audit(report: AuditReport, closed_at: datetime | None) -> DecisionBundle:
    """The bundle of a claim rebuilt from its decoded history."""
    last = report.decisions[-1] if report.decisions else None
    st = report.final_state
    return DecisionBundle(
        source="history",
        claim_number=report.claim_number,
        workflow_id=report.workflow_id,
        run_id=report.run_id,
        closed_at=closed_at,
        stage=report.stage,
        claim=report.claim,
        facts=report.facts,
        triage=report.triage,
        sla_target=report.sla_targets[-1] if report.sla_targets else None,
        coverage_request=last.request if last else None,
        decision=last.decision if last else None,
        decline_reasons=report.decline_reasons,
        terms=_terms(report.claim, last.decision if last else None),
        calendar_versions=report.calendar_versions,
        sla_policy_version=report.sla_policy_versions[-1] if report.sla_policy_versions else None,
        clocks=list(st.clocks) if st else [],
        payouts=report.payouts,
        timeline=report.workflow_timeline,
    )


def record_decision(session: Session, bundle: DecisionBundle, now: datetime) -> bool:
    """Store a claim's decision bundle; idempotent (a retried activity writes nothing more).

    Returns:
        True when a row was written, False when the claim was already archived.
    """
    if session.get(ClaimArchive, bundle.claim_number) is not None:
        return False
    session.add(
        ClaimArchive(
            claim_number=bundle.claim_number,
            workflow_id=bundle.workflow_id,
            run_id=bundle.run_id,
            stage=bundle.stage,
            closed_at=bundle.closed_at,
            decision_bundle=bundle.model_dump_json(),
            decision_archived_at=now,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # written concurrently by a duplicate attempt: keep theirs
        return False
    return True


def record_history(
    session: Session,
    history: WorkflowHistory,
    bundle: DecisionBundle,
    closed_at: datetime | None,
    now: datetime,
) -> bool:
    """Store a closed claim's full history (Temporal JSON form) beside its bundle.

    A row written by ``archive_decision`` keeps its bundle (the established facts are
    filled in from the history when the activity had none); otherwise ``bundle`` is stored.

    Returns:
        True when the history was written, False when it was already archived.
    """
    text = history.to_json()
    row = session.get(ClaimArchive, bundle.claim_number)
    if row is not None and row.history_json is not None:
        return False
    if row is None:
        row = ClaimArchive(
            claim_number=bundle.claim_number,
            workflow_id=bundle.workflow_id,
            run_id=bundle.run_id,
            stage=bundle.stage,
            decision_bundle=bundle.model_dump_json(),
            decision_archived_at=now,
        )
        session.add(row)
    else:
        kept = DecisionBundle.model_validate_json(row.decision_bundle)
        missing = {k: getattr(bundle, k) for k in ("facts", "coverage_request") if getattr(kept, k) is None}
        if any(v is not None for v in missing.values()):
            row.decision_bundle = kept.model_copy(update=missing).model_dump_json()
    row.run_id = history.run_id
    row.closed_at = closed_at or row.closed_at
    row.history_json = text
    row.history_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    row.history_events = len(history.events)
    row.history_archived_at = now
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def load_archive(session: Session, claim_number: str) -> ArchivedClaim | None:
    """The archived record of a claim, or None.

    Raises:
        ValueError: the stored history no longer matches its sha256 (tampered or damaged).
    """
    row = session.get(ClaimArchive, claim_number)
    if row is None:
        return None
    if row.history_json is not None and row.history_sha256 is not None:
        digest = hashlib.sha256(row.history_json.encode("utf-8")).hexdigest()
        if digest != row.history_sha256:
            raise ValueError(f"archive of {claim_number}: the stored history does not match its sha256")
    return ArchivedClaim(
        claim_number=row.claim_number,
        workflow_id=row.workflow_id,
        run_id=row.run_id,
        stage=row.stage,
        closed_at=row.closed_at,
        bundle=DecisionBundle.model_validate_json(row.decision_bundle),
        history_json=row.history_json,
        history_sha256=row.history_sha256,
    )


def _history_archived(session: Session, workflow_id: str, run_id: str) -> bool:
    return (
        session.scalar(
            select(ClaimArchive.claim_number).where(
                ClaimArchive.workflow_id == workflow_id,
                ClaimArchive.run_id == run_id,
                ClaimArchive.history_json.is_not(None),
            )
        )
        is not None
    )


@dataclass
class SweepResult:
    """What one sweep did: counts, and the workflow ids that failed with the reason."""

    archived: int = 0
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)


async def archive_history(
    sessions: Any, history: WorkflowHistory, data_converter: DataConverter | None = None
) -> bool:
    """Archive one closed claim's history (and a bundle rebuilt from it when none exists).

    Returns:
        True when written, False when it was already archived.

    Raises:
        claims.audit.HistoryError: not a claim history or undecodable payloads.
    """
    report = await build_audit(history, data_converter, "archive")
    last = history.events[-1]
    closed_at = last.event_time.ToDatetime(tzinfo=UTC) if report.status != "running" else None
    bundle = bundle_from_audit(report, closed_at)

    def write() -> bool:
        with sessions() as s:
            return record_history(s, history, bundle, closed_at, datetime.now(UTC))

    return await asyncio.to_thread(write)


async def archive_closed_claims(
    client: Client,
    sessions: Any,
    closed_since: datetime | None = None,
    data_converter: DataConverter | None = None,
) -> SweepResult:
    """Archive the full history of every closed claim workflow not yet archived.

    Args:
        client: a Temporal client (visibility queries need a server with visibility: the
            dev server or a cluster; not the time-skipping test server).
        sessions: a SQLAlchemy ``sessionmaker`` for the store.
        closed_since: only workflows closed at or after this instant (aware); None: all.
        data_converter: default ``client.data_converter``.

    A failure on one workflow is recorded in ``failed`` and the sweep goes on.
    """
    dc = data_converter or client.data_converter
    query = CLOSED_CLAIMS_QUERY
    if closed_since is not None:
        query += f" AND CloseTime >= '{closed_since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    result = SweepResult()
    log = get_logger("claims.audit.archiver")
    async for wf in client.list_workflows(query):

        def known(wid: str = wf.id, rid: str = wf.run_id) -> bool:
            with sessions() as s:
                return _history_archived(s, wid, rid)

        if await asyncio.to_thread(known):
            result.already += 1
            continue
        try:
            history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
            if await archive_history(sessions, history, dc):
                result.archived += 1
            else:
                result.already += 1
        except Exception as e:  # noqa: BLE001 - one bad workflow must not stop the sweep
            result.failed[wf.id] = f"{type(e).__name__}: {e}"
            log.warning("archive failed", workflow_id=wf.id, error=str(e))
    log.info("archive sweep", archived=result.archived, already=result.already, failed=len(result.failed))
    return result


async def run_archiver(
    client: Client, sessions: Any, stop: asyncio.Event, interval: timedelta = SWEEP_INTERVAL
) -> None:
    """Sweep every ``interval`` until ``stop`` is set: first everything, then what closed since
    the previous sweep (with an hour's overlap for visibility lag). Errors are logged, never raised."""
    log = get_logger("claims.audit.archiver")
    since: datetime | None = None
    while not stop.is_set():
        started = datetime.now(UTC)
        try:
            await archive_closed_claims(client, sessions, closed_since=since)
            since = started - timedelta(hours=1)
        except Exception as e:  # noqa: BLE001 - keep the worker running; try again next time
            log.warning("archive sweep failed", error=str(e))
        try:
            await asyncio.wait_for(stop.wait(), interval.total_seconds())
        except TimeoutError:
            pass


def bundle_json(bundle: DecisionBundle) -> dict[str, Any]:
    """The bundle as JSON-ready data (amounts as strings, instants ISO 8601 UTC)."""
    return json.loads(bundle.model_dump_json())
