"""Audit of claims from their Temporal workflow histories: read, tell, replay, render, archive.

One module per job, this package's door re-exporting what callers use:

- :mod:`claims.audit.history`: read a claim's history (JSON file, Temporal, or the archive);
  the visibility-query guards of bulk replays.
- :mod:`claims.audit.report`: the typed, frozen :class:`AuditReport` and its parts.
- :mod:`claims.audit.timeline`: the audit story (:func:`build_audit`, :func:`audit_claim`).
- :mod:`claims.audit.replay`: replay against the current workflow code and rules.
- :mod:`claims.audit.format`: text for people, JSON for scripts.
- :mod:`claims.audit.archiver`: the sweep that copies closed claims' histories into the store.

The package sits above ``workflows`` and ``rules`` (it replays with the current
``ClaimWorkflow`` and re-decides with the current rules) and below the services and the
command line. The archive rows and the decision bundle live in ``claims.store.archive``,
below the activities, so the ``archive_decision`` activity never imports this package.
"""

from __future__ import annotations

from claims.audit.format import audit_json, format_audit, format_replay, replay_json
from claims.audit.history import (
    CLAIM_WORKFLOWS,
    HistoryError,
    check_claim_history,
    claim_workflows_query,
    export_history,
    fetch_claim_history,
    histories_from_claims,
    histories_from_files,
    histories_from_query,
    parse_history_json,
    read_history,
    visibility_literal,
)
from claims.audit.replay import (
    OUTCOMES,
    DecisionCheck,
    ReplayReport,
    check_decisions,
    replay_history,
    replay_many,
    summarize,
)
from claims.audit.report import AuditEntry, AuditReport, RecordedDeadline, RecordedDecision
from claims.audit.timeline import audit_claim, audit_from_bundle, build_audit
from claims.errors import ClaimNotFound

__all__ = [
    "CLAIM_WORKFLOWS",
    "OUTCOMES",
    "AuditEntry",
    "AuditReport",
    "ClaimNotFound",
    "DecisionCheck",
    "HistoryError",
    "RecordedDeadline",
    "RecordedDecision",
    "ReplayReport",
    "audit_claim",
    "audit_from_bundle",
    "audit_json",
    "build_audit",
    "check_claim_history",
    "check_decisions",
    "claim_workflows_query",
    "export_history",
    "fetch_claim_history",
    "format_audit",
    "format_replay",
    "histories_from_claims",
    "histories_from_files",
    "histories_from_query",
    "parse_history_json",
    "read_history",
    "replay_history",
    "replay_json",
    "replay_many",
    "summarize",
    "visibility_literal",
]
