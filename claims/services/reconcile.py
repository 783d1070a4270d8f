"""Reconcile the store with Temporal: claims recorded on one side only (issue 12).

A claim lives in two places: its intake row and reporting projection in the store, and its
workflow in Temporal. A crash between the two writes of ``report_claim`` (intake commits, then
the workflow starts) leaves a row without a workflow; a workflow started by hand, or a store
restored from an older backup, leaves a workflow without a row. Neither may stay unnoticed.

:func:`reconcile` lists both. A row whose workflow is gone because it closed and its history
was archived (``claim_archives``) is not missing. A missing workflow is started again by
reporting the claim again (``claims report`` / ``claims import`` find the row and start its
workflow): the store does not keep everything the report said (cause, reporter), so it is
not restarted from the row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client

from claims.models import Actor
from claims.services.context import Services
from claims.store.db import Claim, ClaimArchive

CLAIM_WORKFLOWS = "WorkflowType = 'ClaimWorkflow'"
"""The visibility query of every claim workflow (running or closed, within retention)."""


@dataclass
class ReconcileReport:
    """What :func:`reconcile` found.

    Attributes:
        rows: store rows read.
        workflows: claim workflows listed by Temporal's visibility.
        rows_without_workflow: claim numbers whose workflow Temporal does not know (and whose
            history was not archived), with the row's stage.
        workflows_without_row: workflow ids of claim workflows with no store row.
    """

    rows: int = 0
    workflows: int = 0
    rows_without_workflow: list[tuple[str, str]] = field(default_factory=list)
    workflows_without_row: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        """True when every row has its workflow and every workflow its row."""
        return not self.rows_without_workflow and not self.workflows_without_row


async def reconcile(client: Client, session: Session) -> ReconcileReport:
    """Compare the store's claims with Temporal's claim workflows.

    Args:
        client: a Temporal client (visibility: ``list_workflows``).
        session: a store session (read only).

    Returns:
        The claims on one side only; the store is not changed.
    """
    rows = {
        wid: (number, stage)
        for number, wid, stage in session.execute(select(Claim.claim_number, Claim.workflow_id, Claim.stage))
    }
    archived = set(session.scalars(select(ClaimArchive.workflow_id)))
    session.rollback()
    seen: set[str] = set()
    async for wf in client.list_workflows(CLAIM_WORKFLOWS):
        seen.add(wf.id)
    report = ReconcileReport(rows=len(rows), workflows=len(seen))
    report.rows_without_workflow = sorted(
        (number, stage) for wid, (number, stage) in rows.items() if wid not in seen and wid not in archived
    )
    report.workflows_without_row = sorted(w for w in seen if w not in rows)
    return report


async def reconcile_claims(services: Services, actor: Actor | None) -> ReconcileReport:
    """:func:`reconcile` for a person: the store's rows against Temporal's claim workflows.

    Args:
        actor: who asks (None: the command line's unidentified caller). The comparison is
            of the whole store: it names claim numbers and workflow ids only.

    Raises:
        claims.errors.Unavailable: Temporal does not answer.
    """
    client = await services.client()
    with services.sessions() as session:
        return await reconcile(client, session)
