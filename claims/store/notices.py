"""The notice outbox: escalations and notices queued for supervisors and claimants.

One job: :func:`add_notification`, one ``notifications`` row per ``dedupe_key``. Sending is
someone else's (the outbox is read by the notifier). Nothing here commits: the activity that
queues a notice owns the transaction (``claims.store.db.unit_of_work``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from claims.store.db import Notification, insert_unless_present


def add_notification(
    session: Session,
    claim_number: str,
    kind: str,
    county: str,
    message: str,
    dedupe_key: str,
    now: datetime,
    recipient_role: str = "supervisor",
) -> bool:
    """Queue a notice in the outbox (default to the county's supervisors), in the caller's
    transaction; does not commit. Idempotent on ``dedupe_key`` (a retried activity, or two
    racing, queue one notice: see ``claims.store.db.insert_unless_present``).

    Returns:
        False when a notice with the same ``dedupe_key`` was already queued.
    """
    return insert_unless_present(
        session,
        Notification,
        dict(
            claim_number=claim_number,
            kind=kind,
            recipient_role=recipient_role,
            county=county,
            message=message,
            dedupe_key=dedupe_key,
            created_at=now,
        ),
    )
