"""Replay of claim histories against the current workflow code and the current rules.

One job: say whether a recorded claim still replays. :func:`replay_history` replays a
history with the current :class:`workflows.claim.ClaimWorkflow` (a changed command
sequence shows up as ``nondeterministic``) and re-evaluates every recorded
``evaluate_coverage`` input with the current rules, listing every difference from the
recorded decision (amounts, rule ids, terms hashes ...). :func:`replay_many` does it for
a stream of histories, one failure never stopping the others.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from claims import models as m
from claims.audit.history import HistoryError, HistorySource, Json, check_claim_history
from claims.audit.report import AuditReport
from claims.audit.timeline import build_audit
from claims.errors import ClaimNotFound
from claims.infra.logging import get_logger
from rules.engine import RulesEngine
from workflows.claim import ClaimWorkflow
from workflows.sandbox import workflow_runner

Outcome = Literal["ok", "decision_differs", "nondeterministic", "replay_failed", "unreadable", "not_found"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
"""Replay outcomes, in the order the summary lists them."""


class CoverageEvaluator(Protocol):
    """What re-decides a recorded coverage request (``rules.engine.RulesEngine``, ``rules.pure``)."""

    def evaluate_coverage(self, req: m.CoverageRequest) -> m.CoverageDecision: ...


class DecisionCheck(BaseModel):
    """A recorded ``evaluate_coverage`` result compared with what the current rules decide.

    ``differences`` lists ``path: recorded X, now Y`` for every field that differs
    (amounts, rule ids, terms hashes, refusals ...); ``error`` is set when the current rules
    cannot evaluate the recorded input at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: int
    at: datetime
    differences: list[str] = Field(default_factory=list)
    error: str | None = None


class ReplayReport(BaseModel):
    """The outcome of replaying one claim (or one history file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    claim_number: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    outcome: Outcome
    message: str = ""
    decision_checks: list[DecisionCheck] = Field(default_factory=list)


def diff_json(recorded: Json, now: Json, path: str = "") -> list[str]:
    """Every difference between two JSON-like values, as ``path: recorded X, now Y``."""
    if isinstance(recorded, dict) and isinstance(now, dict):
        out: list[str] = []
        for k in list(recorded) + [k for k in now if k not in recorded]:
            sub = f"{path}.{k}" if path else str(k)
            if k not in now:
                out.append(f"{sub}: recorded {json.dumps(recorded[k], ensure_ascii=False)}, now absent")
            elif k not in recorded:
                out.append(f"{sub}: recorded absent, now {json.dumps(now[k], ensure_ascii=False)}")
            else:
                out += diff_json(recorded[k], now[k], sub)
        return out
    if isinstance(recorded, list) and isinstance(now, list):
        out = []
        if len(recorded) != len(now):
            out.append(f"{path}: {len(recorded)} recorded, {len(now)} now")
        for i, (a, b) in enumerate(zip(recorded, now, strict=False)):
            out += diff_json(a, b, f"{path}[{i}]")
        return out
    if recorded != now:
        return [
            f"{path}: recorded {json.dumps(recorded, ensure_ascii=False)}, "
            f"now {json.dumps(now, ensure_ascii=False)}"
        ]
    return []


def check_decisions(report: AuditReport, engine: CoverageEvaluator | None = None) -> list[DecisionCheck]:
    """Re-evaluate every recorded coverage request with the current rules and compare.

    Args:
        engine: default ``RulesEngine.shared()`` (the shipped terms). Nothing is ignored in
            the comparison: a changed terms file changes ``terms_hash`` at least.
    """
    rules = engine if engine is not None else RulesEngine.shared()
    checks = []
    for rec in report.decisions:
        try:
            now = rules.evaluate_coverage(rec.request)
        except Exception as e:  # noqa: BLE001 - an unknown terms version, a bad file ...
            checks.append(DecisionCheck(event_id=rec.event_id, at=rec.at, error=f"{type(e).__name__}: {e}"))
            continue
        checks.append(
            DecisionCheck(
                event_id=rec.event_id,
                at=rec.at,
                differences=diff_json(rec.decision.model_dump(mode="json"), now.model_dump(mode="json")),
            )
        )
    return checks


def new_replayer(data_converter: DataConverter, workflows: Sequence[type] | None = None) -> Replayer:
    """A replayer of claim histories (default workflow class: the current ``ClaimWorkflow``), in
    the workers' sandbox (``workflows.sandbox.workflow_runner``)."""
    return Replayer(
        workflows=list(workflows or [ClaimWorkflow]),
        data_converter=data_converter,
        workflow_runner=workflow_runner(),
    )


async def replay_history(
    history: WorkflowHistory,
    source: str,
    *,
    data_converter: DataConverter | None = None,
    engine: CoverageEvaluator | None = None,
    workflows: Sequence[type] | None = None,
    replayer: Replayer | None = None,
) -> ReplayReport:
    """Replay one claim history against the current workflow code and re-check its decisions.

    Never raises for a bad history: the outcome says what happened.

    Args:
        source: what to call the history in the report (claim number, file name).
        data_converter: default ``pydantic_data_converter``.
        engine: the rules engine to re-decide with (see :func:`check_decisions`).
        workflows: workflow classes to replay with (default ``[ClaimWorkflow]``; tests pass
            changed variants).
        replayer: a replayer to reuse across histories (:func:`new_replayer`).

    Returns:
        ``outcome``: ``nondeterministic`` (the code no longer produces the recorded
        commands), ``replay_failed`` (another workflow task failure), ``decision_differs``
        (the current rules decide otherwise), ``unreadable`` (payloads cannot be decoded)
        or ``ok``.
    """
    dc = data_converter or pydantic_data_converter
    try:
        check_claim_history(history, source)
    except HistoryError as e:
        return ReplayReport(
            source=source, workflow_id=history.workflow_id, outcome="unreadable", message=str(e)
        )
    try:
        audit = await build_audit(history, dc, "replay")
    except HistoryError as e:
        return ReplayReport(
            source=source,
            workflow_id=history.workflow_id,
            run_id=history.run_id,
            outcome="unreadable",
            message=str(e),
        )
    result = await (replayer or new_replayer(dc, workflows)).replay_workflow(
        history, raise_on_replay_failure=False
    )
    checks = check_decisions(audit, engine)
    outcome: Outcome = "ok"
    message = ""
    failure = result.replay_failure
    if failure is not None:
        outcome = "nondeterministic" if isinstance(failure, NondeterminismError) else "replay_failed"
        message = f"{type(failure).__name__}: {failure}"
    elif any(c.differences or c.error for c in checks):
        outcome = "decision_differs"
        message = "the current rules decide differently from the recorded decision"
    return ReplayReport(
        source=source,
        claim_number=audit.claim_number,
        workflow_id=history.workflow_id,
        run_id=history.run_id,
        outcome=outcome,
        message=message,
        decision_checks=checks,
    )


async def replay_many(
    sources: HistorySource,
    actor: m.Actor,
    *,
    data_converter: DataConverter | None = None,
    engine: CoverageEvaluator | None = None,
    workflows: Sequence[type] | None = None,
) -> list[ReplayReport]:
    """Replay every history the iterator yields; a failure on one never stops the others.

    Args:
        sources: ``(name, history)`` pairs, or ``(name, exception)`` for a history that
            could not be read (``ClaimNotFound`` → ``not_found``, others → ``unreadable``).

    Every replay is logged with the actor.
    """
    dc = data_converter or pydantic_data_converter
    replayer = new_replayer(dc, workflows)
    log = get_logger("claims.audit", actor=actor.id, role=actor.role.value)
    reports: list[ReplayReport] = []
    async for name, item in sources:
        if isinstance(item, Exception):
            rep = ReplayReport(
                source=name,
                outcome="not_found" if isinstance(item, ClaimNotFound) else "unreadable",
                message=str(item),
            )
        else:
            try:
                rep = await replay_history(item, name, data_converter=dc, engine=engine, replayer=replayer)
            except Exception as e:  # noqa: BLE001 - one bad history must not stop a bulk replay
                rep = ReplayReport(source=name, outcome="replay_failed", message=f"{type(e).__name__}: {e}")
        log.info("claim replayed", source=name, claim_number=rep.claim_number, outcome=rep.outcome)
        reports.append(rep)
    return reports


def summarize(reports: Sequence[ReplayReport]) -> dict[str, int]:
    """Count of each outcome (every outcome listed, zeros included) plus ``total``."""
    counts = {o: 0 for o in OUTCOMES}
    for r in reports:
        counts[r.outcome] += 1
    return {**counts, "total": len(reports)}
