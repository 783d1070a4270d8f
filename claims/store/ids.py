"""Identifiers the store derives, and the clock it stamps rows with.

One job: the claim number of an event, the Temporal workflow id of a claim, and ``utcnow``
(outside workflow code only). Pure functions: no session, no database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def claim_number_for(accident_date: date, person_ref: str, sequence: int = 1) -> str:
    """The claim number of an event: ``JS<accident yyyymmdd>-<person_ref>``, and ``-<n>`` for
    the n-th claim (n >= 2) on the same accident with another outcome.

    Derived from the event, so a second report of it finds the same claim.
    """
    base = f"JS{accident_date:%Y%m%d}-{person_ref}"
    return base if sequence <= 1 else f"{base}-{sequence}"


def workflow_id_for(claim_number: str) -> str:
    """The Temporal workflow id of a claim: ``claim-<claim number>``."""
    return f"claim-{claim_number}"


def utcnow() -> datetime:
    """Now, aware UTC (outside workflow code only)."""
    return datetime.now(UTC)
