"""The reporting projection: the workflow's view of a claim written into its ``claims`` row.

One job: :func:`update_projection`, the conditional write of stage, handler, SLA state and
deadline, times, amounts and the stuck columns (a store step that keeps failing, migration
0007) that ``claims tasks``, ``claims overdue`` and the reports read. Nothing here commits:
the ``project_claim`` activity owns the transaction (``claims.store.db.unit_of_work``).
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from claims.models import ClaimProjection
from claims.store.db import Claim, ColumnValue


def update_projection(session: Session, proj: ClaimProjection, now: datetime) -> bool:
    """Write the workflow's view of a claim into its reporting row.

    One conditional ``UPDATE ... WHERE projection_seq < :seq``, so of two writes racing (an
    activity retried after a worker crash lands after a later one) the row keeps the later
    view whatever the order they commit in. ``proj.seq == 0`` (activity inputs recorded
    before the counter) writes unconditionally. Runs in the caller's transaction; does not
    commit.

    Returns:
        True if the row was written, False if it already held a later view (skipped).

    Raises:
        KeyError: no intake row for the claim number (it was never reported through intake).
    """
    values: dict[str, ColumnValue] = {}
    for field in (
        "stage",
        "assigned_handler",
        "green_channel",
        "case_class",
        "sla_state",
        "sla_deadline",
        "target_working_days",
        "registered_at",
        "decided_at",
        "paid_at",
        "total_paid",
        "stuck_activity",
        "stuck_since",
        "reopened",
        "paused",
        "awaiting_approval",
        "review_queue",
    ):
        value = getattr(proj, field)
        values[field] = value.value if isinstance(value, Enum) else value
    values["updated_at"] = now
    stmt = update(Claim).where(Claim.claim_number == proj.claim_number)
    if proj.seq:
        values["projection_seq"] = proj.seq
        stmt = stmt.where(Claim.projection_seq < proj.seq)
    written = session.execute(stmt.values(**values), execution_options={"synchronize_session": False})
    assert isinstance(written, CursorResult)
    if written.rowcount == 1:
        return True
    if session.get(Claim, proj.claim_number) is None:
        raise KeyError(f"claim {proj.claim_number} has no intake record")
    return False
