"""The store: the SQL record of the policy register, the claims, the payout ledger and the outbox.

Every store function takes a SQLAlchemy ``Session`` and neither commits nor rolls back: the
caller owns the transaction, one unit of work per operation
(``with claims.store.db.unit_of_work(sessions) as session: ...`` commits when the block ends
and rolls back if it raises). Idempotent writes keep a row already written by a retried or
racing attempt without raising (``db.insert_unless_present``), so a caller's earlier writes
are never rolled back underneath it.

=====================  ===================================================================
module                 its one job
=====================  ===================================================================
``db``                 the schema (typed ORM), engines, ``Sessions``, ``unit_of_work``,
                       migrations, ``insert_unless_present``
``ids``                claim numbers, workflow ids, ``utcnow``
``register``           the policy register file: validate, load, age warnings
``intake``             a claim report checked against the register and recorded
``projection``         the workflow's view of a claim written into its row
``ledger``             payouts, reservations against limits, prior benefits
``notices``            the notice outbox
``reports``            scoped reads for the views and reports (tasks, overdue, SLA)
``queries``            ``overdue_claims`` in its unscoped first shape
``archive``            archive rows of closed claims (decision bundle, history)
``users``              the web console's accounts (add, list, disable, login attempts)
=====================  ===================================================================

This module re-exports the public names of ``ids``, ``register``, ``intake``,
``projection``, ``ledger``, ``notices`` and ``queries`` so that ``from claims.store import
X`` keeps working; new code may import from the module that owns the name.
"""

from __future__ import annotations

from claims.store.db import User
from claims.store.ids import claim_number_for, utcnow, workflow_id_for
from claims.store.intake import REPORTING_ROLES, IntakeResult, ReportError, check_reporter, intake_report
from claims.store.ledger import (
    Reservation,
    cancel_receivables,
    find_prior_benefits,
    lifecycle_counts,
    payments_of,
    prior_benefits,
    receivables_of,
    record_advance,
    record_payment,
    record_payout,
    record_receivable,
    reservations_of,
    reserve_benefits,
)
from claims.store.notices import add_notification
from claims.store.projection import update_projection
from claims.store.queries import overdue_claims
from claims.store.register import (
    HouseholdIn,
    MemberIn,
    PolicyIn,
    RegisterCounts,
    RegisterError,
    RegisterFile,
    age_warnings,
    load_register,
)

__all__ = [
    "REPORTING_ROLES",
    "HouseholdIn",
    "IntakeResult",
    "MemberIn",
    "PolicyIn",
    "RegisterCounts",
    "RegisterError",
    "RegisterFile",
    "ReportError",
    "Reservation",
    "User",
    "add_notification",
    "age_warnings",
    "check_reporter",
    "claim_number_for",
    "find_prior_benefits",
    "intake_report",
    "load_register",
    "overdue_claims",
    "payments_of",
    "prior_benefits",
    "record_payment",
    "record_payout",
    "record_advance",
    "record_receivable",
    "cancel_receivables",
    "lifecycle_counts",
    "receivables_of",
    "reservations_of",
    "reserve_benefits",
    "update_projection",
    "utcnow",
    "workflow_id_for",
]
