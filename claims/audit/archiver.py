"""The archive sweep: closed claims' full histories copied into the store beyond Temporal's retention.

Two writers fill ``claim_archives`` (one row per claim; the rows are read and written by
:mod:`claims.store.archive`):

- ``archive_decision`` (activity, ``activities/archive.py``): the workflow calls it once
  when the claim reaches ``closed`` or ``declined``; it stores the decision bundle built
  from :class:`claims.models.ArchiveInput` (the coverage request the claim was decided on).
- :func:`archive_closed_claims` (here; ``claims archive`` and every :data:`SWEEP_INTERVAL`
  in the worker): stores the full history of every closed claim workflow not yet archived,
  and builds the bundle from the history (:func:`bundle_from_audit`) when the activity
  never wrote one (claims closed before the activity existed, terminated workflows).

The namespace retention must be longer than the sweep interval by a wide margin (the
engine configures 3650 days on the embedded server; see the README, "Audit and retention").
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.converter import DataConverter

from claims.audit.history import Json
from claims.audit.report import AuditReport
from claims.audit.timeline import build_audit
from claims.infra.logging import get_logger
from claims.models import ClaimState
from claims.store import utcnow
from claims.store.archive import DecisionBundle, history_archived, record_history
from claims.store.db import ClaimArchive, Sessions, unit_of_work

SWEEP_INTERVAL = timedelta(minutes=5)
"""How often the worker's archiver looks for newly closed claims."""

CLOSED_CLAIMS_QUERY = "WorkflowType = 'ClaimWorkflow' AND ExecutionStatus != 'Running'"
"""Visibility query of closed claim workflows."""


def bundle_from_audit(
    report: AuditReport, closed_at: datetime | None, state: ClaimState | None = None
) -> DecisionBundle:
    """The decision bundle of a claim rebuilt from its decoded history.

    The coverage request is the last ``evaluate_coverage`` input the history recorded: the
    request decided, never rebuilt. Clocks, documents and the workflow's timeline come from
    the last state the history records (the workflow's result of a claim started before
    ``lean-history``); a lean claim's history records none, so the caller passes ``state``
    (the closed workflow's ``state`` Query) or those stay empty.
    """
    last = report.decisions[-1] if report.decisions else None
    st = report.final_state or state
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
        terms=report.terms,
        calendar_versions=report.calendar_versions,
        sla_policy_version=report.sla_policy_versions[-1] if report.sla_policy_versions else None,
        clocks=list(st.clocks) if st else [],
        documents=list(st.decision_documents or []) if st else [],
        payouts=report.payouts,
        timeline=report.workflow_timeline or (list(st.timeline) if st else []),
    )


@dataclass
class SweepResult:
    """What one sweep did: counts, and the workflow ids that failed with the reason."""

    archived: int = 0
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)


StateReader = Callable[[], Awaitable[ClaimState | None]]
"""Reads a closed claim's whole state (its workflow's ``state`` Query); None when it cannot."""


async def archive_history(
    sessions: Sessions,
    history: WorkflowHistory,
    data_converter: DataConverter | None = None,
    read_state: StateReader | None = None,
) -> bool:
    """Archive one closed claim's history (and a bundle rebuilt from it when none exists).

    Args:
        read_state: asked only when the bundle must be rebuilt (no ``archive_decision`` record)
            and the history records no final state (a claim started since ``lean-history``),
            so the rebuilt bundle keeps the clocks, documents and timeline.

    Returns:
        True when written, False when it was already archived.

    Raises:
        claims.audit.history.HistoryError: not a claim history or undecodable payloads.
    """
    report = await build_audit(history, data_converter, "archive")
    last = history.events[-1]
    closed_at = last.event_time.ToDatetime(tzinfo=UTC) if report.status != "running" else None
    state: ClaimState | None = None
    if report.final_state is None and read_state is not None:

        def has_bundle() -> bool:
            with sessions() as s:
                row = s.get(ClaimArchive, report.claim_number)
                return row is not None and row.decision_bundle is not None

        if not await asyncio.to_thread(has_bundle):
            state = await read_state()
    bundle = bundle_from_audit(report, closed_at, state)
    text = history.to_json()

    def write() -> bool:
        with unit_of_work(sessions) as s:
            return record_history(
                s,
                history_json=text,
                run_id=history.run_id,
                events=len(history.events),
                bundle=bundle,
                closed_at=closed_at,
                now=utcnow(),
            )

    return await asyncio.to_thread(write)


async def archive_closed_claims(
    client: Client,
    sessions: Sessions,
    closed_since: datetime | None = None,
    data_converter: DataConverter | None = None,
) -> SweepResult:
    """Archive the full history of every closed claim workflow not yet archived.

    Args:
        client: a Temporal client (visibility queries need a server with visibility: the
            dev server or a cluster; not the time-skipping test server).
        sessions: the store's session factory.
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
                return history_archived(s, wid, rid)

        if await asyncio.to_thread(known):
            result.already += 1
            continue
        try:
            handle = client.get_workflow_handle(wf.id, run_id=wf.run_id)
            history = await handle.fetch_history()

            async def read_state(handle: WorkflowHandle[Any, Any] = handle) -> ClaimState | None:
                try:
                    return await handle.query("state", result_type=ClaimState)
                except Exception as e:  # noqa: BLE001 - no worker, or the query failed: rebuild without it
                    log.warning("state of a closed claim not read", workflow_id=handle.id, error=str(e))
                    return None

            if await archive_history(sessions, history, dc, read_state):
                result.archived += 1
            else:
                result.already += 1
        except Exception as e:  # noqa: BLE001 - one bad workflow must not stop the sweep
            result.failed[wf.id] = f"{type(e).__name__}: {e}"
            log.warning("archive failed", workflow_id=wf.id, error=str(e))
    log.info("archive sweep", archived=result.archived, already=result.already, failed=len(result.failed))
    return result


async def run_archiver(
    client: Client, sessions: Sessions, stop: asyncio.Event, interval: timedelta = SWEEP_INTERVAL
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


def bundle_json(bundle: DecisionBundle) -> Json:
    """The bundle as JSON-ready data (amounts as strings, instants ISO 8601 UTC)."""
    data: Json = json.loads(bundle.model_dump_json())
    return data
