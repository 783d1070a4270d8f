"""Audit of a claim from its Temporal workflow history: a timeline in plain words, export, replay.

The history is the audit trail: every step (an Update with its input: who, which role,
which documents, which facts), every activity the workflow ran with its recorded input
and result (triage, SLA target, each deadline with its calendar version, the coverage
decision with the clause ids that fired and the amounts, each payout, each breach
escalation) and how the workflow ended. :func:`build_audit` decodes it into an
:class:`AuditReport`; :func:`format_audit` prints it for people (times in Asia/Shanghai).

Payloads are decoded with a ``temporalio.converter.DataConverter`` passed in (default
``pydantic_data_converter``; with a client use ``client.data_converter``, which carries a
payload codec when one is configured, e.g. encryption).

:func:`replay_history` replays a history against the current :class:`ClaimWorkflow`
(non-determinism shows up as ``nondeterministic``) and re-evaluates every recorded
``evaluate_coverage`` input with the current rules, listing every difference from the
recorded decision (amounts, rule ids, terms hashes ...).

Bad input raises :class:`HistoryError` with a message naming the problem; an unknown claim
raises :class:`ClaimNotFound`. Workflow code is imported lazily (this module is imported
by the archive activity, which the workflow imports).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from google.protobuf.json_format import ParseError
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from claims import models as m
from claims.models.bounds import printable
from claims.infra.logging import get_logger
from claims.store import workflow_id_for
from claims.domain.timeutil import local

WORKFLOW_TYPE = "ClaimWorkflow"
"""The workflow type every claim history must have."""
LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker the SDK records for a local activity (details ``data``: type and attempt; ``result``)."""

SYSTEM_ACTOR = m.Actor(id="engine", role=m.Role.SYSTEM)


class HistoryError(ValueError):
    """A history that cannot be audited or replayed; the message names the source and the problem."""


class ClaimNotFound(LookupError):
    """Neither Temporal nor the archive knows the claim number."""


# --------------------------------------------------------------------------- payload types

_ACTIVITY_TYPES: dict[str, tuple[type[BaseModel] | None, type[BaseModel] | None]] = {
    "triage_claim": (m.TriageRequest, m.TriageResult),
    "choose_sla_target": (m.SlaTargetRequest, m.SlaTarget),
    "evaluate_coverage": (m.CoverageRequest, m.CoverageDecision),
    "compute_deadline": (m.DeadlineRequest, m.Deadline),
    "compute_statutory_deadline": (getattr(m, "StatutoryDeadlineRequest", None), m.Deadline),
    "count_working_days": (getattr(m, "WorkingDaysRequest", None), getattr(m, "WorkingDaysResult", None)),
    "project_claim": (m.ClaimProjection, m.Ack),
    "record_payout": (m.PayoutRequest, m.PayoutResult),
    "escalate_breach": (m.EscalationInput, m.Ack),
    "send_notice": (getattr(m, "NoticeInput", None), m.Ack),
    "archive_decision": (m.ArchiveInput, m.Ack),
    "find_prior_benefits": (m.PriorBenefitsRequest, m.PriorBenefitsResult),
    "reserve_benefits": (m.ReserveBenefitsRequest, m.ReserveBenefitsResult),
    "document_checklist": (m.ChecklistRequest, m.ChecklistResult),
}
"""Activity name -> (input model, result model); unknown names decode to plain JSON."""

_UPDATE_TYPES: dict[str, type[BaseModel]] = {
    "register": m.RegisterInput,
    "request_documents": m.RequestDocumentsInput,
    "receive_documents": m.ReceiveDocumentsInput,
    "complete_documents": m.CompleteDocumentsInput,
    "request_investigation": m.InvestigationRequestInput,
    "record_investigation": m.InvestigationResultInput,
    "adjudicate": m.AdjudicateInput,
    "decline": m.DeclineInput,
    "pay": m.PayInput,
    "reassign": m.ReassignInput,
    "refer_to_consultation": m.InvestigationRequestInput,
    "approve_payout": m.StepInput,
    "override_finding": m.OverrideFindingInput,
}
"""Update (step) name -> input model; unknown steps decode to plain JSON."""

_CLOSED = {
    "workflow_execution_completed_event_attributes": "completed",
    "workflow_execution_failed_event_attributes": "failed",
    "workflow_execution_terminated_event_attributes": "terminated",
    "workflow_execution_canceled_event_attributes": "canceled",
    "workflow_execution_timed_out_event_attributes": "timed_out",
    "workflow_execution_continued_as_new_event_attributes": "continued_as_new",
}


# --------------------------------------------------------------------------- report models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuditEntry(_Model):
    """One line of the audit timeline.

    Attributes:
        at: when it happened (aware UTC; shown in Asia/Shanghai).
        event_id: the history event it comes from (the completion event for activities
            and steps); 0 for entries rebuilt from an archived decision bundle.
        kind: ``reported``, ``step``, ``step_failed``, ``triaged``, ``sla_target``,
            ``sla_started``, ``sla_recomputed``, ``sla_breached``, ``notice``, ``decision``,
            ``payout``, ``archived``, ``activity``, ``activity_failed``, ``signal``,
            ``marker``, ``workflow_task_failed``, ``closed`` or a timeline event name.
        name: the step, activity or signal name where there is one.
        actor: who did it (the engine for rules, clocks and store work).
        stage_before / stage_after: the claim's stage around a step (equal when it did
            not move the claim).
        summary: the plain-words description.
        rule_ids: ids of the rules (clauses) that fired.
        documents: documents requested or received by this step.
        amount: yuan, for decisions (total) and payouts.
        deadline: aware UTC instant, for clock starts, recomputations and breaches.
    """

    at: datetime
    event_id: int
    kind: str
    name: str = ""
    actor: m.Actor | None = None
    stage_before: str | None = None
    stage_after: str | None = None
    summary: str = ""
    rule_ids: list[str] = Field(default_factory=list)
    documents: list[str] = Field(default_factory=list)
    amount: Decimal | None = None
    deadline: datetime | None = None


class RecordedDeadline(_Model):
    """A deadline the workflow recorded (the result of a deadline activity).

    ``clock`` is the clock's name as the workflow's state names it (``registration``,
    ``resolution``, statutory clocks ...), or ``clock`` when no recorded state names it.
    """

    clock: str
    recomputed: bool
    recorded_at: datetime
    deadline: m.Deadline
    calendar_days: int | None = None
    pause_cap: bool = False


class RecordedDecision(_Model):
    """One ``evaluate_coverage`` call as recorded: its input, its result, when, for whom."""

    event_id: int
    at: datetime
    actor: m.Actor | None = None
    request: m.CoverageRequest
    decision: m.CoverageDecision


class AuditReport(_Model):
    """A claim's audit: who did what and when, under which rules, deadlines and terms.

    Attributes:
        source: ``temporal`` (live history), ``archive`` (history kept in the store),
            ``archive-bundle`` (only the decision bundle survives) or ``file``.
        status: ``running``, ``completed``, ``failed``, ``terminated``, ``canceled``,
            ``timed_out`` or ``continued_as_new``.
        stage: the last stage the history records.
        claim: the workflow's start input (facts as reported; no names or id numbers).
        facts: the facts established at the last adjudication, if any.
        entries: the timeline, in history order.
        decisions, deadlines, payouts, escalations: the recorded activity results.
        sla_policy_versions, calendar_versions, terms: versions in force for this claim
            (terms: ``{policy_number, terms_version, terms_hash}``; the hash is null for a
            policy with no benefit line).
        workflow_timeline: the workflow's own timeline from the last recorded state.
    """

    claim_number: str
    workflow_id: str
    run_id: str
    source: str
    status: str
    stage: str
    event_count: int
    claim: m.ClaimInput | None = None
    facts: m.LossFacts | None = None
    entries: list[AuditEntry] = Field(default_factory=list)
    triage: m.TriageResult | None = None
    sla_targets: list[m.SlaTarget] = Field(default_factory=list)
    decisions: list[RecordedDecision] = Field(default_factory=list)
    deadlines: list[RecordedDeadline] = Field(default_factory=list)
    payouts: list[m.PaymentRecord] = Field(default_factory=list)
    escalations: list[m.EscalationInput] = Field(default_factory=list)
    decline_reasons: list[str] = Field(default_factory=list)
    sla_policy_versions: list[str] = Field(default_factory=list)
    calendar_versions: list[str] = Field(default_factory=list)
    terms: list[dict[str, str | None]] = Field(default_factory=list)
    final_state: m.ClaimState | None = None
    workflow_timeline: list[m.TimelineEntry] = Field(default_factory=list)

    @property
    def total_paid(self) -> Decimal:
        """Sum of the recorded payouts, yuan."""
        return sum((p.amount for p in self.payouts), Decimal("0"))


# --------------------------------------------------------------------------- reading histories


def _walk_payloads(node: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "payloads" and isinstance(v, list):
                for i, item in enumerate(v):
                    yield f"{path}.payloads[{i}]", item
            else:
                yield from _walk_payloads(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_payloads(v, f"{path}[{i}]")


def parse_history_json(text: str | bytes, source: str = "history") -> WorkflowHistory:
    """Parse a history in the Temporal CLI / web UI JSON form and check it is a claim's.

    The workflow id is not part of that form: it is derived later from the claim number
    in the start input (see :func:`read_history`); here it is ``source``.

    Raises:
        HistoryError: not valid JSON (corrupted or truncated: line and column named), no
            ``events`` list, payloads exported decoded (plain JSON in place of
            ``metadata``/``data``), events not numbered 1..n (truncated or edited), first
            event not a workflow start, or another workflow type than ``ClaimWorkflow``.
    """
    try:
        data = json.loads(text)
    except UnicodeDecodeError:
        raise HistoryError(f"{source}: not UTF-8 text; a history export is UTF-8 JSON") from None
    except json.JSONDecodeError as e:
        raise HistoryError(
            f"{source}: not valid JSON at line {e.lineno} column {e.colno} ({e.msg}): "
            "the file is corrupted or truncated; export it again"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list) or not data["events"]:
        raise HistoryError(
            f"{source}: no 'events' list: not a Temporal workflow history "
            "(export one with `claims history export` or `temporal workflow show --output json`)"
        )
    for path, item in _walk_payloads(data["events"], "events"):
        if not (
            isinstance(item, dict)
            and "metadata" in item
            and set(item) <= {"metadata", "data", "externalPayloads"}
        ):
            raise HistoryError(
                f"{source}: {path} holds a decoded payload (plain JSON in place of metadata and "
                "data): the history was exported with decoded payloads, which cannot be replayed "
                "or decoded again; export it without decoding (`claims history export`, or "
                "`temporal workflow show --output json` without a codec server)"
            )
    try:
        history = WorkflowHistory.from_json(source, data)
    except (ParseError, ValueError, TypeError, KeyError) as e:
        raise HistoryError(f"{source}: not a Temporal workflow history: {e}") from None
    check_claim_history(history, source)
    return history


def check_claim_history(history: WorkflowHistory, source: str = "history") -> None:
    """Check a history is a complete-from-the-start ``ClaimWorkflow`` history.

    Raises:
        HistoryError: empty, events not numbered 1..n, first event not a workflow start,
            or another workflow type.
    """
    events = history.events
    if not events:
        raise HistoryError(f"{source}: the history has no events")
    for i, ev in enumerate(events, start=1):
        if ev.event_id != i:
            raise HistoryError(
                f"{source}: event {ev.event_id} is at position {i}: events are missing "
                "(truncated or edited history); export it again"
            )
    first = events[0]
    if not first.HasField("workflow_execution_started_event_attributes"):
        raise HistoryError(f"{source}: the first event is not a workflow start: not a whole history")
    wtype = first.workflow_execution_started_event_attributes.workflow_type.name
    if wtype != WORKFLOW_TYPE:
        raise HistoryError(f"{source}: a history of workflow type {wtype!r}, not {WORKFLOW_TYPE!r}")


async def _decode(
    dc: DataConverter, payloads: Sequence[Any], hint: type[BaseModel] | None, where: str
) -> Any:
    if not payloads:
        return None
    try:
        raw = (await dc.decode(list(payloads), None))[0]
    except Exception as e:  # noqa: BLE001 - codec and converter errors come in many types
        encoding = payloads[0].metadata.get("encoding", b"").decode("utf-8", "replace")
        raise HistoryError(
            f"{where}: payload (encoding {encoding!r}) cannot be decoded: {e}; "
            "pass the data converter with the payload codec the claims were written with"
        ) from None
    if hint is None:
        return raw
    try:
        return hint.model_validate(raw)
    except ValidationError:
        return raw  # written by another version of the models: keep the plain JSON


async def read_history(
    text: str | bytes, source: str = "history", data_converter: DataConverter | None = None
) -> WorkflowHistory:
    """:func:`parse_history_json`, then name the history by its claim's workflow id.

    Raises:
        HistoryError: as :func:`parse_history_json`, or the start input is not a claim.
    """
    history = parse_history_json(text, source)
    start = history.events[0].workflow_execution_started_event_attributes
    inp = await _decode(data_converter or pydantic_data_converter, start.input.payloads, m.ClaimInput, source)
    if not isinstance(inp, m.ClaimInput):
        raise HistoryError(f"{source}: the start input is not a claim (ClaimInput)")
    return WorkflowHistory(workflow_id_for(inp.claim_number), history.events)


async def fetch_claim_history(client: Client, claim_number: str) -> WorkflowHistory:
    """The claim's whole history from Temporal (running or closed, while retained).

    Raises:
        ClaimNotFound: Temporal has no workflow for the claim number (never existed, or
            deleted after the retention period).
    """
    handle = client.get_workflow_handle(workflow_id_for(claim_number))
    try:
        history = await handle.fetch_history()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise ClaimNotFound(f"no claim {claim_number!r} in Temporal") from None
        raise
    check_claim_history(history, f"claim {claim_number}")
    return history


# --------------------------------------------------------------------------- building the audit


def _t(ev: HistoryEvent) -> datetime:
    return ev.event_time.ToDatetime(tzinfo=UTC)


def _actor_of(value: Any) -> m.Actor | None:
    if isinstance(value, m.StepInput):
        return value.actor
    if isinstance(value, dict) and isinstance(value.get("actor"), dict):
        try:
            return m.Actor.model_validate(value["actor"])
        except ValidationError:
            return None
    return None


def _step_details(name: str, inp: Any) -> tuple[str, list[str]]:
    """Plain words for a step's input and the documents it names."""
    data = (
        inp.model_dump(mode="json") if isinstance(inp, BaseModel) else (inp if isinstance(inp, dict) else {})
    )
    parts: list[str] = []
    docs = [str(d) for d in data.get("documents", [])]
    if docs:
        parts.append(("requested: " if name == "request_documents" else "documents: ") + ", ".join(docs))
    facts = data.get("facts")
    if isinstance(facts, dict):
        f = [f"outcome {facts.get('outcome')}", f"cause {facts.get('cause')}"]
        if facts.get("disability_grades"):
            f.append(f"grades {facts['disability_grades']}")
        if facts.get("circumstances"):
            f.append(f"circumstances {facts['circumstances']}")
        if facts.get("medical_expenses") not in (None, "0", "0.00"):
            f.append(f"medical expenses {facts['medical_expenses']} yuan")
        parts.append("facts: " + ", ".join(f))
    labels = {
        "assign_to": "assign to",
        "handler": "to handler",
        "reason": "reason",
        "reasons": "reasons",
        "findings": "findings",
        "transfer_ref": "transfer",
        "covered_event": "event as reported",
    }
    for key, value in data.items():
        if key in ("actor", "note", "documents", "facts") or value in (None, "", []):
            continue
        label = labels.get(key, key.replace("_", " "))
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        parts.append(f"{label}: {value}")
    if data.get("note"):
        parts.append(f"note: {data['note']}")
    return "; ".join(parts), docs


class _Builder:
    def __init__(self, history: WorkflowHistory, dc: DataConverter, source: str) -> None:
        self.h = history
        self.dc = dc
        self.source = source
        self.entries: list[AuditEntry] = []
        self.stage = m.Stage.REPORTED.value
        self.states: list[m.ClaimState] = []
        self.scheduled: dict[int, tuple[str, Any, HistoryEvent]] = {}
        self.open_updates: dict[str, AuditEntry] = {}
        self.deadline_entries: list[tuple[AuditEntry, m.Deadline, int | None]] = []
        self.report: dict[str, Any] = {
            "decisions": [],
            "payouts": [],
            "escalations": [],
            "sla_targets": [],
            "triage": None,
            "facts": None,
        }
        self.status = "running"
        self.claim: m.ClaimInput | None = None

    def actor_now(self) -> m.Actor:
        if len(self.open_updates) == 1:
            actor = next(iter(self.open_updates.values())).actor
            if actor is not None:
                return actor
        return SYSTEM_ACTOR

    def add(self, ev: HistoryEvent, kind: str, summary: str, **kw: Any) -> AuditEntry:
        kw.setdefault("stage_before", self.stage)
        kw.setdefault("stage_after", self.stage)
        entry = AuditEntry(at=kw.pop("at", _t(ev)), event_id=ev.event_id, kind=kind, summary=summary, **kw)
        self.entries.append(entry)
        return entry

    def note_state(self, value: Any) -> None:
        if isinstance(value, m.ClaimState):
            self.states.append(value)
            self.stage = value.stage.value

    async def run(self) -> AuditReport:
        for ev in self.h.events:
            which = ev.WhichOneof("attributes") or ""
            where = f"{self.source}: event {ev.event_id}"
            handler = getattr(self, "_" + which.removesuffix("_event_attributes"), None)
            if handler is not None:
                await handler(ev, getattr(ev, which), where)
            elif which in _CLOSED:
                await self._closed(ev, which, where)
        return self.finish()

    # -- workflow start and end

    async def _workflow_execution_started(self, ev: HistoryEvent, a: Any, where: str) -> None:
        inp = await _decode(self.dc, a.input.payloads, m.ClaimInput, where)
        if isinstance(inp, m.ClaimInput):
            self.claim = inp
            grade = f", reported grade {inp.disability_grade}" if inp.disability_grade else ""
            green = ", nominated for the green channel" if inp.nominate_green_channel else ""
            self.add(
                ev,
                "reported",
                f"claim reported: {inp.outcome.value}, cause {inp.cause}{grade}; accident "
                f"{inp.accident_date}, reported on {inp.reported_on}; {inp.county} {inp.township} "
                f"{inp.village}; insured {inp.insured.person_ref}; policies "
                + ", ".join(
                    f"{p.policy_number} ({p.terms_version}, {p.sum_insured} yuan)" for p in inp.policies
                )
                + green,
                actor=inp.reporter,
                stage_before=None,
            )

    async def _closed(self, ev: HistoryEvent, which: str, where: str) -> None:
        self.status = _CLOSED[which]
        a = getattr(ev, which)
        if which == "workflow_execution_completed_event_attributes":
            state = await _decode(self.dc, a.result.payloads, m.ClaimState, where)
            before = self.stage
            self.note_state(state)
            self.add(ev, "closed", f"workflow completed; claim {self.stage}", stage_before=before)
        elif which == "workflow_execution_terminated_event_attributes":
            self.add(ev, "closed", f"workflow TERMINATED by {a.identity or 'unknown'}: {a.reason}")
        elif which == "workflow_execution_failed_event_attributes":
            self.add(ev, "closed", f"workflow FAILED: {a.failure.message}")
        else:
            self.add(ev, "closed", f"workflow {self.status.replace('_', ' ')}")

    async def _workflow_task_failed(self, ev: HistoryEvent, a: Any, where: str) -> None:
        self.add(ev, "workflow_task_failed", f"workflow task failed ({a.cause}): {a.failure.message}")

    async def _workflow_execution_signaled(self, ev: HistoryEvent, a: Any, where: str) -> None:
        value = await _decode(self.dc, a.input.payloads, None, where)
        actor = _actor_of(value)
        detail = json.dumps(value, ensure_ascii=False, default=str) if value is not None else ""
        self.add(ev, "signal", f"signal {a.signal_name} {detail}".strip(), name=a.signal_name, actor=actor)

    async def _marker_recorded(self, ev: HistoryEvent, a: Any, where: str) -> None:
        if a.marker_name == LOCAL_ACTIVITY_MARKER:
            await self._local_activity(ev, a, where)
            return
        if a.marker_name == "core_patch":
            patch = ""
            # the SDK core writes the patch id under "patch-data"
            key = next((k for k in ("patch-data", "patch_data") if k in a.details), None)
            if key is not None and a.details[key].payloads:
                raw = await _decode(self.dc, a.details[key].payloads, None, where)
                patch = str(raw.get("id") if isinstance(raw, dict) else raw)
            self.add(ev, "marker", f"code change marker (workflow.patched) {patch}".strip())

    # -- steps (Updates)

    async def _workflow_execution_update_accepted(self, ev: HistoryEvent, a: Any, where: str) -> None:
        req = a.accepted_request
        name = req.input.name
        inp = await _decode(self.dc, req.input.args.payloads, _UPDATE_TYPES.get(name), where)
        summary, docs = _step_details(name, inp)
        if name == "adjudicate" and isinstance(inp, m.AdjudicateInput):
            self.report["facts"] = inp.facts
        entry = self.add(
            ev,
            "step",
            f"{name.replace('_', ' ')}" + (f": {summary}" if summary else ""),
            name=name,
            actor=_actor_of(inp),
            documents=docs,
        )
        self.open_updates[req.meta.update_id or a.protocol_instance_id] = entry

    async def _workflow_execution_update_completed(self, ev: HistoryEvent, a: Any, where: str) -> None:
        entry = self.open_updates.pop(a.meta.update_id, None)
        if a.outcome.HasField("failure"):
            self.add(
                ev,
                "step_failed",
                f"{entry.name if entry else 'step'} refused after acceptance: {a.outcome.failure.message}",
                name=entry.name if entry else "",
                actor=entry.actor if entry else None,
            )
            return
        state = await _decode(self.dc, a.outcome.success.payloads, m.ClaimState, where)
        self.note_state(state)
        if entry is not None:
            idx = self.entries.index(entry)
            self.entries[idx] = entry.model_copy(update={"stage_after": self.stage})
            if self.stage != entry.stage_before:
                text = f"{entry.summary}; stage {entry.stage_before} -> {self.stage}"
                if (
                    isinstance(state, m.ClaimState)
                    and self.stage == m.Stage.DECLINED
                    and state.decline_reasons
                ):
                    self.report["decline_reasons"] = state.decline_reasons
                    text += " (" + "; ".join(state.decline_reasons) + ")"
                self.entries[idx] = self.entries[idx].model_copy(update={"summary": text})

    # -- activities

    async def _activity_task_scheduled(self, ev: HistoryEvent, a: Any, where: str) -> None:
        name = a.activity_type.name
        hint = _ACTIVITY_TYPES.get(name, (None, None))[0]
        inp = await _decode(self.dc, a.input.payloads, hint, where)
        self.scheduled[ev.event_id] = (name, inp, ev)

    async def _activity_task_failed(self, ev: HistoryEvent, a: Any, where: str) -> None:
        name = self.scheduled.get(a.scheduled_event_id, ("activity", None, ev))[0]
        self.add(ev, "activity_failed", f"{name} failed: {a.failure.message}", name=name)

    async def _activity_task_timed_out(self, ev: HistoryEvent, a: Any, where: str) -> None:
        name = self.scheduled.get(a.scheduled_event_id, ("activity", None, ev))[0]
        self.add(ev, "activity_failed", f"{name} timed out: {a.failure.message}", name=name)

    async def _local_activity(self, ev: HistoryEvent, a: Any, where: str) -> None:
        """A short step run as a local activity (``workflows/short_steps.py``): its marker holds
        the activity type and the result (the input is not recorded), or the failure."""
        data = a.details["data"].payloads if "data" in a.details else []
        meta = await _decode(self.dc, data, None, where)
        name = (
            str(meta.get("activity_type") or meta.get("activityType") or "activity")
            if isinstance(meta, dict)
            else "activity"
        )
        if a.HasField("failure"):
            self.add(ev, "activity_failed", f"{name} failed: {a.failure.message}", name=name)
            return
        hint = _ACTIVITY_TYPES.get(name, (None, None))[1]
        payloads = a.details["result"].payloads if "result" in a.details else []
        result = await _decode(self.dc, payloads, hint, where)
        await self._activity_result(ev, name, None, ev, result)

    async def _activity_task_completed(self, ev: HistoryEvent, a: Any, where: str) -> None:
        name, inp, sched = self.scheduled.get(a.scheduled_event_id, ("activity", None, ev))
        hint = _ACTIVITY_TYPES.get(name, (None, None))[1]
        result = await _decode(self.dc, a.result.payloads, hint, where)
        await self._activity_result(ev, name, inp, sched, result)

    async def _activity_result(
        self, ev: HistoryEvent, name: str, inp: Any, sched: HistoryEvent, result: Any
    ) -> None:
        """One activity's outcome as audit entries; ``inp`` is None for a local activity."""
        at = _t(sched)
        if name == "triage_claim" and isinstance(result, m.TriageResult):
            self.report["triage"] = result
            self.add(
                ev,
                "triaged",
                f"triage: green channel {'yes' if result.green_channel else 'no'}, case class "
                f"{result.case_class.value}, investigation "
                f"{'needed' if result.needs_investigation else 'not needed'}"
                + (f"; {'; '.join(result.reasons)}" if result.reasons else ""),
                at=at,
                name=name,
                actor=SYSTEM_ACTOR,
                rule_ids=result.rule_ids,
            )
        elif name == "choose_sla_target" and isinstance(result, m.SlaTarget):
            self.report["sla_targets"].append(result)
            self.add(
                ev,
                "sla_target",
                f"SLA target {result.working_days} working days to payment, registration within "
                f"{result.registration_working_days}; SLA policy {result.policy_version}: {result.reason}",
                at=at,
                name=name,
                actor=SYSTEM_ACTOR,
            )
        elif isinstance(result, m.Deadline):
            entry = self.add(
                ev,
                "sla_started",
                "",
                at=at,
                name=name,
                actor=self.actor_now(),
                deadline=result.due_at,
            )
            days = result.calendar_days
            if days is None and isinstance(inp, BaseModel):  # histories before Deadline.calendar_days
                days = inp.model_dump().get("calendar_days")
            self.deadline_entries.append((entry, result, days))
        elif name == "evaluate_coverage" and isinstance(result, m.CoverageDecision):
            actor = self.actor_now()
            if isinstance(inp, m.CoverageRequest):
                self.report["decisions"].append(
                    RecordedDecision(event_id=ev.event_id, at=at, actor=actor, request=inp, decision=result)
                )
            self.add(
                ev,
                "decision",
                _decision_words(result),
                at=at,
                name=name,
                actor=actor,
                rule_ids=sorted(
                    {r for ln in result.lines for r in ln.rule_ids} | {r.clause_id for r in result.refusals}
                ),
                amount=result.total,
            )
        elif name == "record_payout" and isinstance(result, m.PayoutResult):
            self.report["payouts"] = list(result.payments)
            total = sum((p.amount for p in result.payments), Decimal("0"))
            self.add(
                ev,
                "payout",
                f"paid {total} yuan in {len(result.payments)} payment(s): "
                + "; ".join(
                    f"no. {p.payment_number} {p.amount} yuan on {p.policy_number}, transfer {p.transfer_ref}"
                    for p in result.payments
                ),
                at=at,
                name=name,
                actor=self.actor_now(),
                amount=total,
            )
        elif name == "escalate_breach" and isinstance(inp, m.EscalationInput):
            self.report["escalations"].append(inp)
            self.add(
                ev,
                "sla_breached",
                f"SLA BREACHED: {inp.clock} deadline {local(inp.deadline)} passed; escalated to the "
                f"supervisors of {inp.county} {inp.township}; handler {inp.assigned_handler or '-'}",
                at=at,
                name=name,
                actor=SYSTEM_ACTOR,
                deadline=inp.deadline,
            )
        elif name == "send_notice" and isinstance(inp, BaseModel):
            d = inp.model_dump(mode="json")
            self.add(
                ev,
                "notice",
                f"notice {d.get('kind')} to {d.get('recipient_role')} ({d.get('county')}): "
                f"{d.get('message')}",
                at=at,
                name=name,
                actor=SYSTEM_ACTOR,
            )
        elif name == "archive_decision":
            self.add(
                ev, "archived", "decision record archived in the store", at=at, name=name, actor=SYSTEM_ACTOR
            )
        elif name in ("project_claim", "count_working_days"):
            return  # bookkeeping: the reporting projection, elapsed-day counts
        else:
            shown = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
            self.add(
                ev,
                "activity",
                f"{name}: {json.dumps(shown, ensure_ascii=False, default=str)}",
                at=at,
                name=name,
                actor=SYSTEM_ACTOR,
            )

    # -- end

    def finish(self) -> AuditReport:
        names: dict[tuple[datetime, datetime, int], str] = {}
        caps: dict[datetime, str] = {}
        for st in self.states:
            for c in st.clocks:
                names[(c.deadline.start, c.deadline.due_at, c.deadline.working_days)] = c.name
                cap = getattr(c, "pause_cap_at", None)
                if cap is not None:
                    caps[cap] = c.name
        deadlines: list[RecordedDeadline] = []
        seen: set[str] = set()
        for i, (entry, d, calendar_days) in enumerate(self.deadline_entries):
            key = (d.start, d.due_at, d.working_days)
            pause_cap = key not in names and d.due_at in caps
            clock = names.get(key) or caps.get(d.due_at) or ("registration" if i == 0 else "clock")
            recomputed = not pause_cap and clock in seen
            if not pause_cap:
                seen.add(clock)
            prov = " (provisional: no published holiday schedule)" if d.provisional else ""
            days = f"{calendar_days} calendar days" if calendar_days else f"{d.working_days} working days"
            idx = self.entries.index(entry)
            if pause_cap:
                kind, text = (
                    "sla_paused",
                    (
                        f"SLA clock {clock} paused (waiting on the claimant); the pause ends at the latest "
                        f"{local(d.due_at)} ({days} from {local(d.start)}); calendar {d.calendar_version}"
                    ),
                )
            else:
                kind = "sla_recomputed" if recomputed else "sla_started"
                text = (
                    f"SLA clock {clock} {'recomputed' if recomputed else 'started'}: {days} from "
                    f"{local(d.start)}, due {local(d.due_at)}{prov}; calendar {d.calendar_version}"
                )
            self.entries[idx] = entry.model_copy(update={"kind": kind, "summary": text})
            deadlines.append(
                RecordedDeadline(
                    clock=clock,
                    recomputed=recomputed,
                    recorded_at=entry.at,
                    deadline=d,
                    calendar_days=calendar_days,
                    pause_cap=pause_cap,
                )
            )
        final = self.states[-1] if self.states else None
        decisions: list[RecordedDecision] = self.report["decisions"]
        terms: list[dict[str, str | None]] = []
        if self.claim is not None:
            hashes = {ln.policy_number: ln.terms_hash for dec in decisions[-1:] for ln in dec.decision.lines}
            terms = [
                {
                    "policy_number": p.policy_number,
                    "terms_version": p.terms_version,
                    "terms_hash": hashes.get(p.policy_number),
                }
                for p in self.claim.policies
            ]
        claim_number = self.claim.claim_number if self.claim else self.h.workflow_id.removeprefix("claim-")
        return AuditReport(
            claim_number=claim_number,
            workflow_id=self.h.workflow_id
            if self.h.workflow_id.startswith("claim-")
            else workflow_id_for(claim_number),
            run_id=self.h.run_id,
            source=self.source_kind,
            status=self.status,
            stage=self.stage,
            event_count=len(self.h.events),
            claim=self.claim,
            facts=self.report["facts"],
            entries=self.entries,
            triage=self.report["triage"],
            sla_targets=self.report["sla_targets"],
            decisions=decisions,
            deadlines=deadlines,
            payouts=self.report["payouts"],
            escalations=self.report["escalations"],
            decline_reasons=self.report.get("decline_reasons") or (final.decline_reasons if final else []),
            sla_policy_versions=sorted({t.policy_version for t in self.report["sla_targets"]}),
            calendar_versions=sorted({d.deadline.calendar_version for d in deadlines}),
            terms=terms,
            final_state=final,
            workflow_timeline=list(final.timeline) if final else [],
        )

    source_kind = "temporal"


def _decision_words(d: m.CoverageDecision) -> str:
    parts = [
        f"{ln.policy_number} {ln.benefit_id}: {ln.formula} = {ln.amount} yuan "
        f"[{', '.join(ln.rule_ids)}] (terms {ln.terms_version}, sha256 {ln.terms_hash[:12]})"
        for ln in d.lines
    ]
    parts += [f"refused {r.policy_number} [{r.clause_id}]: {r.reason}" for r in d.refusals]
    if d.needs_handler:
        parts.append("needs a handler: " + "; ".join(d.needs_handler))
    return f"rules decision ({d.engine}): total {d.total} yuan; " + "; ".join(parts)


async def build_audit(
    history: WorkflowHistory, data_converter: DataConverter | None = None, source: str = "temporal"
) -> AuditReport:
    """Decode a claim's history into an :class:`AuditReport`.

    Args:
        history: a whole ``ClaimWorkflow`` history (running or closed).
        data_converter: decodes the payloads; default ``pydantic_data_converter``. Pass
            ``client.data_converter`` to use the client's payload codec.
        source: recorded in the report (``temporal``, ``archive``, ``file``).

    Raises:
        HistoryError: not a claim history, or a payload cannot be decoded (e.g. encrypted
            and no codec given).
    """
    check_claim_history(history, source)
    builder = _Builder(history, data_converter or pydantic_data_converter, source)
    builder.source_kind = source
    return await builder.run()


def audit_from_bundle(bundle: Any) -> AuditReport:
    """An audit rebuilt from an archived decision bundle alone (the history is gone).

    Args:
        bundle: a ``claims.audit.archiver.DecisionBundle``.
    """
    entries = [
        AuditEntry(
            at=t.at,
            event_id=0,
            kind=t.event,
            actor=t.actor,
            stage_after=t.stage.value,
            summary=t.detail,
            rule_ids=t.rule_ids,
        )
        for t in bundle.timeline
    ]
    decisions = []
    if bundle.decision is not None and bundle.coverage_request is not None:
        decisions.append(
            RecordedDecision(
                event_id=0, at=bundle.closed_at, request=bundle.coverage_request, decision=bundle.decision
            )
        )
    return AuditReport(
        claim_number=bundle.claim_number,
        workflow_id=bundle.workflow_id,
        run_id=bundle.run_id,
        source="archive-bundle",
        status="completed",
        stage=bundle.stage,
        event_count=0,
        claim=bundle.claim,
        facts=bundle.facts,
        entries=entries,
        triage=bundle.triage,
        sla_targets=[bundle.sla_target] if bundle.sla_target else [],
        decisions=decisions,
        deadlines=[
            RecordedDeadline(
                clock=c.name, recomputed=False, recorded_at=c.deadline.start, deadline=c.deadline
            )
            for c in bundle.clocks
        ],
        payouts=bundle.payouts,
        decline_reasons=bundle.decline_reasons,
        sla_policy_versions=[bundle.sla_policy_version] if bundle.sla_policy_version else [],
        calendar_versions=bundle.calendar_versions,
        terms=[t.model_dump() for t in bundle.terms],
        workflow_timeline=bundle.timeline,
    )


async def audit_claim(
    client: Client,
    sessions: Any,
    claim_number: str,
    actor: m.Actor,
    data_converter: DataConverter | None = None,
) -> AuditReport:
    """Audit one claim: from Temporal's history, or from the archive once Temporal has none.

    Every call is logged (``claims.audit``) with the actor's id and role.

    Args:
        sessions: a SQLAlchemy ``sessionmaker`` for the store (the archive), or None to
            read Temporal only.
        data_converter: default ``client.data_converter``.

    Raises:
        ClaimNotFound: neither Temporal nor the archive knows the claim.
        HistoryError: a history that cannot be decoded.
    """
    from claims.audit.archiver import load_archive

    log = get_logger("claims.audit", claim_number=claim_number, actor=actor.id, role=actor.role.value)
    dc = data_converter or client.data_converter
    try:
        report = await build_audit(await fetch_claim_history(client, claim_number), dc, "temporal")
    except ClaimNotFound:
        archived = None
        if sessions is not None:
            with sessions() as s:
                archived = load_archive(s, claim_number)
        if archived is None:
            log.info("claim audit: not found")
            raise ClaimNotFound(
                f"no claim {claim_number!r} in Temporal or in the archive: check the claim number"
            ) from None
        if archived.history_json:
            report = await build_audit(
                await read_history(archived.history_json, f"archive of {claim_number}", dc), dc, "archive"
            )
        else:
            report = audit_from_bundle(archived.bundle)
    log.info("claim audited", source=report.source, status=report.status, events=report.event_count)
    return report


def format_audit(report: AuditReport) -> str:
    """The audit as text for people: header, timeline (Asia/Shanghai), decision, payouts, versions."""
    lines = [
        f"claim {report.claim_number}  workflow {report.workflow_id}  run {report.run_id}",
        f"  status {report.status}, stage {report.stage}; source: {report.source}"
        + (f" ({report.event_count} history events)" if report.event_count else ""),
    ]
    if report.claim:
        c = report.claim
        lines.append(
            f"  {c.county} {c.township} {c.village}; accident {c.accident_date}; policies "
            + ", ".join(p.policy_number for p in c.policies)
        )
    lines.append("timeline (Asia/Shanghai):")
    for e in report.entries:
        who = f"{e.actor.role.value}:{e.actor.id}" if e.actor else "-"
        stage = (
            f"{e.stage_before}->{e.stage_after}"
            if e.stage_before and e.stage_after and e.stage_before != e.stage_after
            else (e.stage_after or "")
        )
        rules = f" [{', '.join(e.rule_ids)}]" if e.rule_ids else ""
        lines.append(f"  {local(e.at)}  {e.kind:<15} {who:<32} {stage:<24} {e.summary}{rules}")
    if report.decisions:
        d = report.decisions[-1].decision
        lines.append(f"decision: total {d.total} yuan")
        for ln in d.lines:
            lines.append(
                f"  {ln.policy_number} {ln.benefit_id}: {ln.formula} = {ln.amount} yuan "
                f"[{', '.join(ln.rule_ids)}]"
            )
        for r in d.refusals:
            lines.append(f"  refused {r.policy_number} [{r.clause_id}]: {r.reason}")
    if report.decline_reasons:
        lines.append("declined: " + "; ".join(report.decline_reasons))
    if report.payouts:
        lines.append(f"payouts: {report.total_paid} yuan")
        for p in report.payouts:
            lines.append(
                f"  no. {p.payment_number}: {p.amount} yuan on {p.policy_number}, transfer {p.transfer_ref}, "
                f"paid {local(p.paid_at)}"
            )
    if report.deadlines:
        lines.append("deadlines (Asia/Shanghai):")
        for dl in report.deadlines:
            days = (
                f"{dl.calendar_days} calendar days"
                if dl.calendar_days
                else f"{dl.deadline.working_days} working days"
            )
            what = " pause cap" if dl.pause_cap else (" (recomputed)" if dl.recomputed else "")
            lines.append(
                f"  {dl.clock}{what}: {days}, due {local(dl.deadline.due_at)}; "
                f"calendar {dl.deadline.calendar_version}"
            )
    for b in report.escalations:
        lines.append(f"breach: {b.clock} due {local(b.deadline)} escalated ({b.county})")
    versions = [
        f"terms {t['terms_version']} ({t['policy_number']}, sha256 {(t['terms_hash'] or '-')[:12]})"
        for t in report.terms
    ]
    versions += [f"SLA policy {v}" for v in report.sla_policy_versions]
    versions += [f"calendar {v}" for v in report.calendar_versions]
    if versions:
        lines.append("versions: " + "; ".join(versions))
    # recorded text is shown, never obeyed: a line break or direction override in a note prints escaped
    return "\n".join(printable(line) for line in lines)


# --------------------------------------------------------------------------- export


async def export_history(
    client: Client, claim_number: str, actor: m.Actor, sessions: Any = None
) -> tuple[str, str]:
    """The claim's history as Temporal CLI/web UI JSON (``WorkflowHistory.to_json()``).

    Falls back to the archived copy when Temporal has none. Logged with the actor.

    Returns:
        ``(json_text, source)`` with source ``temporal`` or ``archive``.

    Raises:
        ClaimNotFound: neither Temporal nor the archive holds the history.
    """
    from claims.audit.archiver import load_archive

    log = get_logger("claims.audit", claim_number=claim_number, actor=actor.id, role=actor.role.value)
    try:
        text, source = (await fetch_claim_history(client, claim_number)).to_json(), "temporal"
    except ClaimNotFound:
        archived = None
        if sessions is not None:
            with sessions() as s:
                archived = load_archive(s, claim_number)
        if archived is None or not archived.history_json:
            raise ClaimNotFound(
                f"no history of claim {claim_number!r} in Temporal or in the archive"
            ) from None
        text, source = archived.history_json, "archive"
    log.info("history exported", source=source)
    return text, source


# --------------------------------------------------------------------------- replay

Outcome = Literal["ok", "decision_differs", "nondeterministic", "replay_failed", "unreadable", "not_found"]
OUTCOMES: tuple[str, ...] = (
    "ok",
    "decision_differs",
    "nondeterministic",
    "replay_failed",
    "unreadable",
    "not_found",
)
"""Replay outcomes, in the order the summary lists them."""


class DecisionCheck(_Model):
    """A recorded ``evaluate_coverage`` result compared with what the current rules decide.

    ``differences`` lists ``path: recorded X, now Y`` for every field that differs
    (amounts, rule ids, terms hashes, refusals ...); ``error`` is set when the current rules
    cannot evaluate the recorded input at all.
    """

    event_id: int
    at: datetime
    differences: list[str] = Field(default_factory=list)
    error: str | None = None


class ReplayReport(_Model):
    """The outcome of replaying one claim (or one history file)."""

    source: str
    claim_number: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    outcome: str
    message: str = ""
    decision_checks: list[DecisionCheck] = Field(default_factory=list)


def diff_json(recorded: Any, now: Any, path: str = "") -> list[str]:
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


def check_decisions(report: AuditReport, engine: Any = None) -> list[DecisionCheck]:
    """Re-evaluate every recorded coverage request with the current rules and compare.

    Args:
        engine: anything with ``evaluate_coverage(CoverageRequest) -> CoverageDecision``;
            default ``rules.engine.RulesEngine.shared()`` (the shipped terms). Nothing is
            ignored in the comparison: a changed terms file changes ``terms_hash`` at least.
    """
    if engine is None:
        from rules.engine import RulesEngine

        engine = RulesEngine.shared()
    checks = []
    for rec in report.decisions:
        try:
            now = engine.evaluate_coverage(rec.request)
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


def _replayer(data_converter: DataConverter, workflows: Sequence[type] | None) -> Any:
    from temporalio.worker import Replayer

    if workflows is None:
        from workflows.claim import ClaimWorkflow

        workflows = [ClaimWorkflow]
    return Replayer(workflows=list(workflows), data_converter=data_converter)


async def replay_history(
    history: WorkflowHistory,
    source: str,
    *,
    data_converter: DataConverter | None = None,
    engine: Any = None,
    workflows: Sequence[type] | None = None,
    replayer: Any = None,
) -> ReplayReport:
    """Replay one claim history against the current workflow code and re-check its decisions.

    Never raises for a bad history: the outcome says what happened.

    Args:
        source: what to call the history in the report (claim number, file name).
        data_converter: default ``pydantic_data_converter``.
        engine: the rules engine to re-decide with (see :func:`check_decisions`).
        workflows: workflow classes to replay with (default ``[ClaimWorkflow]``; tests pass
            changed variants).
        replayer: a ``temporalio.worker.Replayer`` to reuse across histories.

    Returns:
        ``outcome``: ``nondeterministic`` (the code no longer produces the recorded
        commands), ``replay_failed`` (another workflow task failure), ``decision_differs``
        (the current rules decide otherwise), ``unreadable`` (payloads cannot be decoded)
        or ``ok``.
    """
    from temporalio.workflow import NondeterminismError

    dc = data_converter or pydantic_data_converter
    report = ReplayReport(source=source, workflow_id=history.workflow_id, outcome="ok")
    try:
        check_claim_history(history, source)
        report.run_id = history.run_id
        audit = await build_audit(history, dc, "replay")
        report.claim_number = audit.claim_number
    except HistoryError as e:
        report.outcome, report.message = "unreadable", str(e)
        return report
    result = await (replayer or _replayer(dc, workflows)).replay_workflow(
        history, raise_on_replay_failure=False
    )
    report.decision_checks = check_decisions(audit, engine)
    failure = result.replay_failure
    if failure is not None:
        report.outcome = "nondeterministic" if isinstance(failure, NondeterminismError) else "replay_failed"
        report.message = f"{type(failure).__name__}: {failure}"
    elif any(c.differences or c.error for c in report.decision_checks):
        report.outcome = "decision_differs"
        report.message = "the current rules decide differently from the recorded decision"
    return report


async def replay_many(
    sources: AsyncIterator[tuple[str, WorkflowHistory | Exception]],
    actor: m.Actor,
    *,
    data_converter: DataConverter | None = None,
    engine: Any = None,
    workflows: Sequence[type] | None = None,
) -> list[ReplayReport]:
    """Replay every history the iterator yields; a failure on one never stops the others.

    Args:
        sources: ``(name, history)`` pairs, or ``(name, exception)`` for a history that
            could not be read (``ClaimNotFound`` → ``not_found``, others → ``unreadable``).

    Every replay is logged with the actor.
    """
    dc = data_converter or pydantic_data_converter
    replayer = _replayer(dc, workflows)
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
        get_logger("claims.audit", actor=actor.id, role=actor.role.value).info(
            "claim replayed", source=name, claim_number=rep.claim_number, outcome=rep.outcome
        )
        reports.append(rep)
    return reports


async def histories_from_files(
    paths: Sequence[Path], data_converter: DataConverter | None = None
) -> AsyncIterator[tuple[str, WorkflowHistory | Exception]]:
    """``(file name, history or error)`` for each history file."""
    for p in paths:
        try:
            yield str(p), await read_history(p.read_bytes(), str(p), data_converter)
        except (HistoryError, OSError) as e:
            yield str(p), HistoryError(str(e)) if isinstance(e, OSError) else e


async def histories_from_claims(
    client: Client, claim_numbers: Sequence[str]
) -> AsyncIterator[tuple[str, WorkflowHistory | Exception]]:
    """``(claim number, history or error)`` fetched from Temporal."""
    for n in claim_numbers:
        try:
            yield n, await fetch_claim_history(client, n)
        except (ClaimNotFound, HistoryError, RPCError) as e:
            yield n, e


CLAIM_WORKFLOWS = "WorkflowType = 'ClaimWorkflow'"
"""The visibility clause every query of claims starts with."""
_FORBIDDEN_IN_VALUE = ("'", '"', "\\", "`")
_FORBIDDEN_OUTSIDE_STRINGS = (";", "--", "/*", "*/", "#", "`")


def visibility_literal(value: str, option: str) -> str:
    """``value`` as a string literal of a Temporal visibility query (``'宁乡市'``).

    Temporal's SQL-like list filter parses quotes and backslash escapes inside literals;
    rather than rely on one escaping rule, a value holding a quote, backslash or control
    character is refused (no county, township or staff id has one), so a printed query can
    never say more than the filter the user gave.

    Raises:
        HistoryError: naming ``option`` (e.g. ``--county``) and the character refused.
    """
    bad = next((c for c in value if c in _FORBIDDEN_IN_VALUE or ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise HistoryError(
            f"{option}: {bad!r} is not allowed in a value used in a visibility query; "
            "give the name without quotes, backslashes or control characters"
        )
    return f"'{value}'"


def claim_workflows_query(user_query: str) -> str:
    """Confine a user's visibility query to claim workflows: ``WorkflowType = 'ClaimWorkflow'
    AND (<query>)``.

    The query is checked first so it cannot leave its parentheses: brackets balanced outside
    string literals (never closing one it did not open), literals closed, no comments,
    statement separators or clauses after a bracket (``ORDER BY``, ``GROUP BY``, ``LIMIT``).

    Raises:
        HistoryError: ``--query: …`` saying what was refused.
    """
    text = user_query.strip()
    if not text:
        raise HistoryError("--query: the query is empty")
    if any(ord(c) < 32 and c not in "\t" for c in text):
        raise HistoryError("--query: control characters (line breaks) are not allowed")
    depth, quote, i, outside = 0, "", 0, []
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                if text[i + 1 : i + 2] == quote:  # a doubled quote inside the literal
                    i += 2
                    continue
                quote = ""
            i += 1
            continue
        if c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise HistoryError(
                    "--query: a ')' closes a bracket the query did not open; the query must stay "
                    "within claim workflows"
                )
        outside.append(c if not quote else " ")
        i += 1
    if quote:
        raise HistoryError(f"--query: a string literal opened with {quote} is not closed")
    if depth:
        raise HistoryError(f"--query: {depth} '(' not closed")
    bare = "".join(outside)
    found = next((t for t in _FORBIDDEN_OUTSIDE_STRINGS if t in bare), None)
    if found:
        raise HistoryError(f"--query: {found!r} is not allowed outside a string literal")
    words = " ".join(bare.upper().split())
    for clause in ("ORDER BY", "GROUP BY", "LIMIT"):
        if clause in words:
            raise HistoryError(f"--query: {clause} is not allowed; the query selects claims only")
    return f"{CLAIM_WORKFLOWS} AND ({text})"


async def histories_from_query(
    client: Client, query: str
) -> AsyncIterator[tuple[str, WorkflowHistory | Exception]]:
    """``(workflow id, history or error)`` for every workflow a visibility query finds.

    Workflows of other types are reported as unreadable, not replayed.

    Raises:
        HistoryError: the query itself is rejected by the server (message says why).
    """
    try:
        async for wf in client.list_workflows(query):
            try:
                history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
                check_claim_history(history, wf.id)
                yield wf.id, history
            except (HistoryError, RPCError) as e:
                yield wf.id, e
    except RPCError as e:
        if e.status == RPCStatusCode.INVALID_ARGUMENT:
            raise HistoryError(f"--query: the server rejected the visibility query: {e.message}") from None
        raise


def summarize(reports: Sequence[ReplayReport]) -> dict[str, int]:
    """Count of each outcome (every outcome listed, zeros included) plus ``total``."""
    counts = {o: 0 for o in OUTCOMES}
    for r in reports:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    counts["total"] = len(reports)
    return counts


def format_replay(reports: Sequence[ReplayReport]) -> str:
    """Per-claim lines (with each decision difference) and the summary line."""
    lines = []
    for r in reports:
        name = r.claim_number or r.source
        lines.append(f"{name}: {r.outcome}" + (f" - {r.message}" if r.message else ""))
        if r.source != name:
            lines.append(f"  source: {r.source}")
        for c in r.decision_checks:
            if c.error:
                lines.append(f"  decision recorded {local(c.at)}: cannot be re-evaluated now: {c.error}")
            for d in c.differences:
                lines.append(f"  decision recorded {local(c.at)} differs: {d}")
    counts = summarize(reports)
    lines.append(
        f"{counts['total']} replayed: " + ", ".join(f"{counts[o]} {o.replace('_', ' ')}" for o in OUTCOMES)
    )
    return "\n".join(lines)
