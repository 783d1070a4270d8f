"""Archive rows: a closed claim's decision bundle and full history in ``claim_archives``.

One job: read and write :class:`claims.store.db.ClaimArchive` rows, and build the
decision bundle a workflow hands to ``archive_decision``. Nothing here commits: callers
own the transaction (``with claims.store.db.unit_of_work(sessions) as s: ...``). The
archive sweep that copies histories out of Temporal lives above the workflows
(``claims.audit.archiver``); this module sits below the activities so the
``archive_decision`` activity needs nothing higher.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from claims import models as m
from claims.store.db import ClaimArchive, ColumnValue, insert_unless_present

BUNDLE_VERSION = 3
"""Version 2 bundles say whether their coverage request was rebuilt (``coverage_request_rebuilt``);
in version 1 bundles written by the activity it always was, from the claim input. Version 3
bundles list the document files accepted when the claim was decided (``documents``)."""


class TermsUsed(BaseModel):
    """A policy's terms version and the sha256 of the terms file that decided it (None: no line)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
        coverage_request_rebuilt: True when ``coverage_request`` was rebuilt from the claim
            input and the facts (claims recorded before the workflow passed the request it
            evaluated): such a request has no ``prior_benefits`` and may differ from the one
            decided. False when it is the recorded input itself.
        terms: per policy the terms version and hash in force.
        calendar_versions: calendar versions of every recorded deadline.
        sla_policy_version: the SLA policy the target was chosen from.
        documents: the accepted document files (id, checklist item, sha256) on the claim when
            it was last decided; empty for claims decided before files were recorded.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle_version: int = BUNDLE_VERSION
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
    coverage_request_rebuilt: bool = False
    decision: m.CoverageDecision | None = None
    decline_reasons: list[str] = Field(default_factory=list)
    terms: list[TermsUsed] = Field(default_factory=list)
    calendar_versions: list[str] = Field(default_factory=list)
    sla_policy_version: str | None = None
    clocks: list[m.SlaClock] = Field(default_factory=list)
    payouts: list[m.PaymentRecord] = Field(default_factory=list)
    timeline: list[m.TimelineEntry] = Field(default_factory=list)
    refusal_letter_sha256: str | None = None
    """sha256 of the refusal letter (拒赔通知书, art. 24) the claim issued, when it issued one."""
    documents: list[m.DocumentFile] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _version_1_requests_were_rebuilt(cls, data: Any) -> Any:
        """A version 1 bundle from the activity rebuilt its request: say so when reading it
        (stored bundles always carry their version; one built in code is the current one)."""
        if (
            isinstance(data, dict)
            and data.get("bundle_version") == 1
            and data.get("source") == "activity"
            and data.get("coverage_request") is not None
        ):
            return {**data, "coverage_request_rebuilt": True}
        return data


@dataclass(frozen=True)
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


class ArchiveDamaged(ValueError):
    """A stored history no longer matches its sha256 (tampered with or damaged)."""


def terms_used(claim: m.ClaimInput | None, decision: m.CoverageDecision | None) -> list[TermsUsed]:
    """Per policy of the claim: its terms version and the hash of the terms that decided it.

    The hash comes from the decision's benefit lines (None for a policy without a line).
    """
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


def rebuilt_coverage_request(claim: m.ClaimInput, facts: m.LossFacts) -> m.CoverageRequest:
    """The coverage request rebuilt from the claim input and the established facts.

    Only for histories recorded before the workflow passed the request it evaluated: it
    lacks ``prior_benefits`` (earlier payments of other claims), so for a follow-up claim it
    is not the request that was decided.
    """
    return claim.coverage_request(facts)


def bundle_from_input(inp: m.ArchiveInput) -> DecisionBundle:
    """The decision bundle of a claim from the workflow's ``archive_decision`` input.

    The coverage request is the one the workflow evaluated (``inp.coverage_request``);
    inputs recorded before it was passed fall back to :func:`rebuilt_coverage_request`,
    marked ``coverage_request_rebuilt``.
    """
    st = inp.state
    decision = st.decision
    request = inp.coverage_request if decision is not None else None
    rebuilt = False
    if request is None and decision is not None and inp.facts is not None:
        request, rebuilt = rebuilt_coverage_request(inp.claim, inp.facts), True
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
        coverage_request_rebuilt=rebuilt,
        decision=decision,
        decline_reasons=list(st.decline_reasons),
        refusal_letter_sha256=st.refusal_letter.sha256 if st.refusal_letter is not None else None,
        documents=list(st.decision_documents or []),
        terms=terms_used(inp.claim, decision),
        calendar_versions=sorted({c.deadline.calendar_version for c in st.clocks}),
        sla_policy_version=inp.sla_target.policy_version if inp.sla_target else None,
        clocks=list(st.clocks),
        payouts=list(st.payments),
        timeline=list(st.timeline),
    )


def _bundle_row(bundle: DecisionBundle, now: datetime) -> dict[str, ColumnValue]:
    """The archive row of a decision bundle, before any history is added."""
    return {
        "claim_number": bundle.claim_number,
        "workflow_id": bundle.workflow_id,
        "run_id": bundle.run_id,
        "stage": bundle.stage,
        "closed_at": bundle.closed_at,
        "decision_bundle": bundle.model_dump_json(),
        "decision_archived_at": now,
    }


def record_decision(session: Session, bundle: DecisionBundle, now: datetime) -> bool:
    """Add or bring up to date a claim's decision bundle; idempotent (a retried activity with
    the same bundle writes nothing more).

    A claim with a reopen period is archived when it closes and again when the period ends
    (or after a reopen and a new decision): a later bundle that differs replaces the kept one
    while the row holds no history yet; once the history is archived the row is final. Does
    not commit. A row written concurrently by a duplicate attempt is kept
    (``insert_unless_present``: no error, nothing of the caller's transaction rolled back).

    Returns:
        True when a row was added or its bundle replaced, False when nothing changed.
    """
    row = session.get(ClaimArchive, bundle.claim_number)
    if row is None:
        return insert_unless_present(session, ClaimArchive, _bundle_row(bundle, now))
    payload = bundle.model_dump_json()
    if row.history_json is not None or row.decision_bundle == payload:
        return False
    row.decision_bundle = payload
    row.stage = bundle.stage
    row.run_id = bundle.run_id
    row.closed_at = bundle.closed_at
    row.decision_archived_at = now
    return True


def record_history(
    session: Session,
    *,
    history_json: str,
    run_id: str,
    events: int,
    bundle: DecisionBundle,
    closed_at: datetime | None,
    now: datetime,
) -> bool:
    """Add a closed claim's full history (Temporal JSON form) beside its bundle.

    A row written by ``archive_decision`` keeps its bundle; what it lacks is filled in from
    ``bundle`` (rebuilt from the history): the established facts, and the coverage request
    when the kept one is missing or was rebuilt (the history records the request decided).
    Otherwise ``bundle`` is stored. Does not commit.

    Args:
        history_json: ``WorkflowHistory.to_json()`` of the closed run.
        run_id: that run's id; events: its number of events.

    Returns:
        True when the history was added, False when it was already archived.
    """
    row = session.get(ClaimArchive, bundle.claim_number)
    if row is not None and row.history_json is not None:
        return False
    if row is None:
        # No bundle yet (the claim closed before archive_decision ran, or an old claim): store
        # this one; a sweep racing on the same claim keeps the first row and fills it below.
        insert_unless_present(session, ClaimArchive, _bundle_row(bundle, now))
        row = session.get(ClaimArchive, bundle.claim_number, populate_existing=True)
        assert row is not None
    else:
        kept = DecisionBundle.model_validate_json(row.decision_bundle)
        fill: dict[str, object] = {}
        if kept.facts is None and bundle.facts is not None:
            fill["facts"] = bundle.facts
        if (kept.coverage_request is None or kept.coverage_request_rebuilt) and (
            bundle.coverage_request is not None and not bundle.coverage_request_rebuilt
        ):
            fill |= {"coverage_request": bundle.coverage_request, "coverage_request_rebuilt": False}
        if fill:
            row.decision_bundle = kept.model_copy(update=fill).model_dump_json()
    row.run_id = run_id
    row.closed_at = closed_at or row.closed_at
    row.history_json = history_json
    row.history_sha256 = hashlib.sha256(history_json.encode("utf-8")).hexdigest()
    row.history_events = events
    row.history_archived_at = now
    return True


def load_archive(session: Session, claim_number: str) -> ArchivedClaim | None:
    """The archived record of a claim, or None when it has none.

    Raises:
        ArchiveDamaged: the stored history no longer matches its sha256.
    """
    row = session.get(ClaimArchive, claim_number)
    if row is None:
        return None
    if row.history_json is not None and row.history_sha256 is not None:
        digest = hashlib.sha256(row.history_json.encode("utf-8")).hexdigest()
        if digest != row.history_sha256:
            raise ArchiveDamaged(f"archive of {claim_number}: the stored history does not match its sha256")
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


def history_archived(session: Session, workflow_id: str, run_id: str) -> bool:
    """True when this run's full history is already in the archive."""
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
