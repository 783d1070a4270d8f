"""The audit story of one claim: its workflow history decoded into an :class:`AuditReport`.

The history is the audit trail: every step (an Update with its input: who, which role,
which documents, which facts), every activity the workflow ran with its recorded input
and result (triage, SLA target, each deadline with its calendar version, the coverage
decision with the clause ids that fired and the amounts, each payout, each breach
escalation) and how the workflow ended. :func:`build_audit` walks the events in order;
:func:`audit_from_bundle` rebuilds what it can from an archived decision bundle once the
history is gone; :func:`audit_claim` chooses between them.

Payloads are decoded with a ``temporalio.converter.DataConverter`` passed in (default
``pydantic_data_converter``; with a client use ``client.data_converter``, which carries a
payload codec when one is configured, e.g. encryption). Which model decodes which payload
comes from the code itself: step inputs from the step registry
(``claims.models.steps.STEP_RULES``), activity inputs and results from the ``@activity.defn``
methods of the activity classes, so a new step or activity is decoded without an edit here.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, ValidationError
from temporalio import activity
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import (
    ActivityTaskCompletedEventAttributes,
    ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes,
    ActivityTaskTimedOutEventAttributes,
    HistoryEvent,
    MarkerRecordedEventAttributes,
    WorkflowExecutionSignaledEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowExecutionUpdateAcceptedEventAttributes,
    WorkflowExecutionUpdateCompletedEventAttributes,
    WorkflowTaskFailedEventAttributes,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from activities.archive import ArchiveActivities
from activities.deadlines import CalendarActivities
from activities.letters import LetterActivities
from activities.review import ReviewActivities
from activities.rules import RulesActivities
from activities.store import StoreActivities
from claims import models as m
from claims.audit.history import Json, check_claim_history, decode_payload, find_claim_history
from claims.audit.report import AuditEntry, AuditReport, RecordedDeadline, RecordedDecision
from claims.domain.timeutil import local
from claims.errors import ClaimNotFound
from claims.infra.logging import get_logger
from claims.models.steps import STEP_RULES
from claims.store import workflow_id_for
from claims.store.archive import DecisionBundle, terms_used
from claims.store.db import Sessions

LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker the SDK records for a local activity (details ``data``: type and attempt; ``result``)."""

ACTIVITY_CLASSES: tuple[type, ...] = (
    RulesActivities,
    CalendarActivities,
    StoreActivities,
    ArchiveActivities,
    ReviewActivities,
    LetterActivities,
)
"""The classes whose ``@activity.defn`` methods the claim workflow runs."""

Decoded = BaseModel | Json
"""A decoded payload: its model when one describes it, else plain JSON."""


def activity_payload_types(
    classes: Sequence[type] = ACTIVITY_CLASSES,
) -> dict[str, tuple[type[BaseModel] | None, type[BaseModel] | None]]:
    """Activity name -> (input model, result model), read from the ``@activity.defn`` methods.

    A parameter or result that is not a pydantic model maps to None (decoded as plain JSON).
    """

    def model(t: object) -> type[BaseModel] | None:
        return t if isinstance(t, type) and issubclass(t, BaseModel) else None

    found: dict[str, tuple[type[BaseModel] | None, type[BaseModel] | None]] = {}
    for cls in classes:
        for fn in vars(cls).values():
            # the SDK's reader of its own decorator: name and resolved type hints
            defn = activity._Definition.from_callable(fn) if callable(fn) else None
            if defn is not None and defn.name:
                found[defn.name] = (
                    model(defn.arg_types[0]) if defn.arg_types else None,
                    model(defn.ret_type),
                )
    return found


ACTIVITY_TYPES = activity_payload_types()
"""Activity name -> (input model, result model); unknown names decode to plain JSON."""

UPDATE_TYPES: dict[str, type[BaseModel]] = {name: rule.input for name, rule in STEP_RULES.items()}
"""Update (step) name -> input model, from the step registry; unknown steps decode to plain JSON."""

_CLOSED = {
    "workflow_execution_completed_event_attributes": "completed",
    "workflow_execution_failed_event_attributes": "failed",
    "workflow_execution_terminated_event_attributes": "terminated",
    "workflow_execution_canceled_event_attributes": "canceled",
    "workflow_execution_timed_out_event_attributes": "timed_out",
    "workflow_execution_continued_as_new_event_attributes": "continued_as_new",
}


def _t(ev: HistoryEvent) -> datetime:
    return ev.event_time.ToDatetime(tzinfo=UTC)


def _actor_of(value: Decoded) -> m.Actor | None:
    if isinstance(value, m.StepInput):
        return value.actor
    if isinstance(value, dict) and isinstance(value.get("actor"), dict):
        try:
            return m.Actor.model_validate(value["actor"])
        except ValidationError:
            return None
    return None


def _as_model(model: type[BaseModel], raw: dict[str, Json]) -> Decoded:
    """``raw`` as ``model`` when it validates, else as it is (written by another version)."""
    try:
        return model.model_validate(raw)
    except ValidationError:
        return raw


def _step_details(name: str, inp: Decoded) -> tuple[str, list[str]]:
    """Plain words for a step's input and the documents it names."""
    data = (
        inp.model_dump(mode="json") if isinstance(inp, BaseModel) else (inp if isinstance(inp, dict) else {})
    )
    parts: list[str] = []
    documents = data.get("documents")
    docs = [str(d) for d in documents] if isinstance(documents, list) else []
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
        shown = "; ".join(str(v) for v in value) if isinstance(value, list) else value
        parts.append(f"{label}: {shown}")
    if data.get("note"):
        parts.append(f"note: {data['note']}")
    return "; ".join(parts), docs


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


class _Builder:
    """Walks a history's events once, in order, collecting the audit's entries and records."""

    def __init__(self, history: WorkflowHistory, dc: DataConverter, source: str) -> None:
        self.h = history
        self.dc = dc
        self.source = source
        self.entries: list[AuditEntry] = []
        self.stage = m.Stage.REPORTED.value
        self.states: list[m.ClaimState] = []
        self.marks: list[m.ClockMark] = []  # clocks in brief from the steps' small results
        self.scheduled: dict[int, tuple[str, Decoded, HistoryEvent]] = {}
        self.open_updates: dict[str, AuditEntry] = {}
        self.deadline_entries: list[tuple[AuditEntry, m.Deadline, int | None]] = []
        self.decisions: list[RecordedDecision] = []
        self.payouts: list[m.PaymentRecord] = []
        self.escalations: list[m.EscalationInput] = []
        self.sla_targets: list[m.SlaTarget] = []
        self.triage: m.TriageResult | None = None
        self.facts: m.LossFacts | None = None
        self.decline_reasons: list[str] = []
        self.status = "running"
        self.claim: m.ClaimInput | None = None
        self.handlers: dict[str, Callable[[HistoryEvent, str], Awaitable[None]]] = {
            "workflow_execution_started_event_attributes": self._started,
            "workflow_task_failed_event_attributes": self._workflow_task_failed,
            "workflow_execution_signaled_event_attributes": self._signaled,
            "marker_recorded_event_attributes": self._marker,
            "workflow_execution_update_accepted_event_attributes": self._update_accepted,
            "workflow_execution_update_completed_event_attributes": self._update_completed,
            "activity_task_scheduled_event_attributes": self._activity_scheduled,
            "activity_task_failed_event_attributes": self._activity_failed,
            "activity_task_timed_out_event_attributes": self._activity_timed_out,
            "activity_task_completed_event_attributes": self._activity_completed,
        }

    def actor_now(self) -> m.Actor:
        """The actor of the one step under way, else the engine."""
        if len(self.open_updates) == 1:
            actor = next(iter(self.open_updates.values())).actor
            if actor is not None:
                return actor
        return m.SYSTEM

    def add(
        self,
        ev: HistoryEvent,
        kind: str,
        summary: str,
        *,
        at: datetime | None = None,
        name: str = "",
        actor: m.Actor | None = None,
        stage_before: str | None = "",
        rule_ids: Sequence[str] = (),
        documents: Sequence[str] = (),
        amount: Decimal | None = None,
        deadline: datetime | None = None,
    ) -> AuditEntry:
        """Append one entry; the stage before and after default to the current stage."""
        entry = AuditEntry(
            at=at or _t(ev),
            event_id=ev.event_id,
            kind=kind,
            name=name,
            actor=actor,
            stage_before=self.stage if stage_before == "" else stage_before,
            stage_after=self.stage,
            summary=summary,
            rule_ids=list(rule_ids),
            documents=list(documents),
            amount=amount,
            deadline=deadline,
        )
        self.entries.append(entry)
        return entry

    def note_state(self, value: Decoded) -> None:
        """Follow the stage (and the clocks' names) through a recorded state or step result."""
        if isinstance(value, m.ClaimState):
            self.states.append(value)
            self.stage = value.stage.value
        elif isinstance(value, m.StepResult):
            self.marks.extend(value.clocks)
            self.stage = value.stage.value

    async def decode(self, payloads: Sequence[Payload], hint: type[BaseModel] | None, where: str) -> Decoded:
        return await decode_payload(self.dc, payloads, hint, where)

    async def run(self) -> AuditReport:
        for ev in self.h.events:
            which = ev.WhichOneof("attributes") or ""
            where = f"{self.source}: event {ev.event_id}"
            handler = self.handlers.get(which)
            if handler is not None:
                await handler(ev, where)
            elif which in _CLOSED:
                await self._closed(ev, which, where)
        return self.finish()

    # -- workflow start and end

    async def _started(self, ev: HistoryEvent, where: str) -> None:
        a: WorkflowExecutionStartedEventAttributes = ev.workflow_execution_started_event_attributes
        inp = await self.decode(a.input.payloads, m.ClaimInput, where)
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
        if which == "workflow_execution_completed_event_attributes":
            a = ev.workflow_execution_completed_event_attributes
            # a lean claim (workflows.patches.LEAN_HISTORY) ends with a StepResult, older ones with the state
            state = await self.decode(a.result.payloads, m.StepResult, where)
            if not isinstance(state, m.StepResult) and isinstance(state, dict):
                state = _as_model(m.ClaimState, state)
            before = self.stage
            self.note_state(state)
            self.add(ev, "closed", f"workflow completed; claim {self.stage}", stage_before=before)
        elif which == "workflow_execution_terminated_event_attributes":
            t = ev.workflow_execution_terminated_event_attributes
            self.add(ev, "closed", f"workflow TERMINATED by {t.identity or 'unknown'}: {t.reason}")
        elif which == "workflow_execution_failed_event_attributes":
            f = ev.workflow_execution_failed_event_attributes
            self.add(ev, "closed", f"workflow FAILED: {f.failure.message}")
        else:
            self.add(ev, "closed", f"workflow {self.status.replace('_', ' ')}")

    async def _workflow_task_failed(self, ev: HistoryEvent, where: str) -> None:
        a: WorkflowTaskFailedEventAttributes = ev.workflow_task_failed_event_attributes
        self.add(ev, "workflow_task_failed", f"workflow task failed ({a.cause}): {a.failure.message}")

    async def _signaled(self, ev: HistoryEvent, where: str) -> None:
        a: WorkflowExecutionSignaledEventAttributes = ev.workflow_execution_signaled_event_attributes
        value = await self.decode(a.input.payloads, None, where)
        detail = json.dumps(value, ensure_ascii=False, default=str) if value is not None else ""
        self.add(
            ev,
            "signal",
            f"signal {a.signal_name} {detail}".strip(),
            name=a.signal_name,
            actor=_actor_of(value),
        )

    async def _marker(self, ev: HistoryEvent, where: str) -> None:
        a: MarkerRecordedEventAttributes = ev.marker_recorded_event_attributes
        if a.marker_name == LOCAL_ACTIVITY_MARKER:
            await self._local_activity(ev, a, where)
            return
        if a.marker_name == "core_patch":
            patch = ""
            # the SDK core writes the patch id under "patch-data"
            key = next((k for k in ("patch-data", "patch_data") if k in a.details), None)
            if key is not None and a.details[key].payloads:
                raw = await self.decode(a.details[key].payloads, None, where)
                patch = str(raw.get("id") if isinstance(raw, dict) else raw)
            note = " (takes every earlier change's new path without a marker of its own)" if patch == "lean-history" else ""
            self.add(ev, "marker", f"code change marker (workflow.patched) {patch}{note}".strip())

    # -- steps (Updates)

    async def _update_accepted(self, ev: HistoryEvent, where: str) -> None:
        a: WorkflowExecutionUpdateAcceptedEventAttributes = (
            ev.workflow_execution_update_accepted_event_attributes
        )
        req = a.accepted_request
        name = req.input.name
        inp = await self.decode(req.input.args.payloads, UPDATE_TYPES.get(name), where)
        summary, docs = _step_details(name, inp)
        if isinstance(inp, m.AdjudicateInput):
            self.facts = inp.facts
        entry = self.add(
            ev,
            "step",
            f"{name.replace('_', ' ')}" + (f": {summary}" if summary else ""),
            name=name,
            actor=_actor_of(inp),
            documents=docs,
        )
        self.open_updates[req.meta.update_id or a.protocol_instance_id] = entry

    async def _update_completed(self, ev: HistoryEvent, where: str) -> None:
        a: WorkflowExecutionUpdateCompletedEventAttributes = (
            ev.workflow_execution_update_completed_event_attributes
        )
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
        # A step answers with a StepResult; claims begun before SMALL_STEP_RESULTS with the state.
        state = await self.decode(a.outcome.success.payloads, m.StepResult, where)
        if not isinstance(state, m.StepResult) and isinstance(state, dict):
            state = _as_model(m.ClaimState, state)
        self.note_state(state)
        if entry is None:
            return
        idx = self.entries.index(entry)
        text = entry.summary
        if self.stage != entry.stage_before:
            text = f"{entry.summary}; stage {entry.stage_before} -> {self.stage}"
            declined = self.stage == m.Stage.DECLINED
            if isinstance(state, m.ClaimState | m.StepResult) and declined and state.decline_reasons:
                self.decline_reasons = list(state.decline_reasons)
                text += " (" + "; ".join(state.decline_reasons) + ")"
        self.entries[idx] = entry.model_copy(update={"stage_after": self.stage, "summary": text})

    # -- activities

    async def _activity_scheduled(self, ev: HistoryEvent, where: str) -> None:
        a: ActivityTaskScheduledEventAttributes = ev.activity_task_scheduled_event_attributes
        name = a.activity_type.name
        inp = await self.decode(a.input.payloads, ACTIVITY_TYPES.get(name, (None, None))[0], where)
        self.scheduled[ev.event_id] = (name, inp, ev)

    def _scheduled_name(self, scheduled_event_id: int) -> str:
        found = self.scheduled.get(scheduled_event_id)
        return found[0] if found else "activity"

    async def _activity_failed(self, ev: HistoryEvent, where: str) -> None:
        a: ActivityTaskFailedEventAttributes = ev.activity_task_failed_event_attributes
        name = self._scheduled_name(a.scheduled_event_id)
        self.add(ev, "activity_failed", f"{name} failed: {a.failure.message}", name=name)

    async def _activity_timed_out(self, ev: HistoryEvent, where: str) -> None:
        a: ActivityTaskTimedOutEventAttributes = ev.activity_task_timed_out_event_attributes
        name = self._scheduled_name(a.scheduled_event_id)
        self.add(ev, "activity_failed", f"{name} timed out: {a.failure.message}", name=name)

    async def _local_activity(self, ev: HistoryEvent, a: MarkerRecordedEventAttributes, where: str) -> None:
        """A short step run as a local activity (``workflows/short_steps.py``): its marker holds
        the activity type and the result (the input is not recorded), or the failure."""
        data = a.details["data"].payloads if "data" in a.details else []
        meta = await self.decode(data, None, where)
        name = (
            str(meta.get("activity_type") or meta.get("activityType") or "activity")
            if isinstance(meta, dict)
            else "activity"
        )
        if a.HasField("failure"):
            self.add(ev, "activity_failed", f"{name} failed: {a.failure.message}", name=name)
            return
        payloads = a.details["result"].payloads if "result" in a.details else []
        result = await self.decode(payloads, ACTIVITY_TYPES.get(name, (None, None))[1], where)
        await self._activity_result(ev, name, None, ev, result)

    async def _activity_completed(self, ev: HistoryEvent, where: str) -> None:
        a: ActivityTaskCompletedEventAttributes = ev.activity_task_completed_event_attributes
        name, inp, sched = self.scheduled.get(a.scheduled_event_id, ("activity", None, ev))
        result = await self.decode(a.result.payloads, ACTIVITY_TYPES.get(name, (None, None))[1], where)
        await self._activity_result(ev, name, inp, sched, result)

    async def _activity_result(
        self, ev: HistoryEvent, name: str, inp: Decoded, sched: HistoryEvent, result: Decoded
    ) -> None:
        """One activity's outcome as audit entries; ``inp`` is None for a local activity."""
        at = _t(sched)
        if name == "triage_claim" and isinstance(result, m.TriageResult):
            self.triage = result
            self.add(
                ev,
                "triaged",
                f"triage: green channel {'yes' if result.green_channel else 'no'}, case class "
                f"{result.case_class.value}, investigation "
                f"{'needed' if result.needs_investigation else 'not needed'}"
                + (f"; {'; '.join(result.reasons)}" if result.reasons else ""),
                at=at,
                name=name,
                actor=m.SYSTEM,
                rule_ids=result.rule_ids,
            )
        elif name == "choose_sla_target" and isinstance(result, m.SlaTarget):
            self.sla_targets.append(result)
            self.add(
                ev,
                "sla_target",
                f"SLA target {result.working_days} working days to payment, registration within "
                f"{result.registration_working_days}; SLA policy {result.policy_version}: {result.reason}",
                at=at,
                name=name,
                actor=m.SYSTEM,
            )
        elif isinstance(result, m.Deadline):
            entry = self.add(
                ev, "sla_started", "", at=at, name=name, actor=self.actor_now(), deadline=result.due_at
            )
            days = result.calendar_days
            if days is None and isinstance(inp, BaseModel):  # histories before Deadline.calendar_days
                recorded = inp.model_dump().get("calendar_days")
                days = recorded if isinstance(recorded, int) else None
            self.deadline_entries.append((entry, result, days))
        elif name == "evaluate_coverage" and isinstance(result, m.CoverageDecision):
            actor = self.actor_now()
            if isinstance(inp, m.CoverageRequest):
                self.decisions.append(
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
            self.payouts = list(result.payments)
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
            self.escalations.append(inp)
            self.add(
                ev,
                "sla_breached",
                f"SLA BREACHED: {inp.clock} deadline {local(inp.deadline)} passed; escalated to the "
                f"supervisors of {inp.county} {inp.township}; handler {inp.assigned_handler or '-'}",
                at=at,
                name=name,
                actor=m.SYSTEM,
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
                actor=m.SYSTEM,
            )
        elif name == "archive_decision":
            self.add(
                ev, "archived", "decision record archived in the store", at=at, name=name, actor=m.SYSTEM
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
                actor=m.SYSTEM,
            )

    # -- end

    def _deadlines(self) -> list[RecordedDeadline]:
        """Name each recorded deadline after the clock the recorded states give it, and say
        whether it started, was recomputed or caps a pause; rewrites their entries' words."""
        names: dict[tuple[datetime, datetime, int], str] = {}
        caps: dict[datetime, str] = {}
        for st in self.states:
            for c in st.clocks:
                names[(c.deadline.start, c.deadline.due_at, c.deadline.working_days)] = c.name
                if c.pause_cap_at is not None:
                    caps[c.pause_cap_at] = c.name
        for mk in self.marks:
            names[(mk.start, mk.due_at, mk.working_days)] = mk.name
            if mk.pause_cap_at is not None:
                caps[mk.pause_cap_at] = mk.name
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
            if pause_cap:
                kind = "sla_paused"
                text = (
                    f"SLA clock {clock} paused (waiting on the claimant); the pause ends at the latest "
                    f"{local(d.due_at)} ({days} from {local(d.start)}); calendar {d.calendar_version}"
                )
            else:
                kind = "sla_recomputed" if recomputed else "sla_started"
                text = (
                    f"SLA clock {clock} {'recomputed' if recomputed else 'started'}: {days} from "
                    f"{local(d.start)}, due {local(d.due_at)}{prov}; calendar {d.calendar_version}"
                )
            idx = self.entries.index(entry)
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
        return deadlines

    def finish(self) -> AuditReport:
        deadlines = self._deadlines()
        final = self.states[-1] if self.states else None
        last = self.decisions[-1].decision if self.decisions else None
        claim_number = self.claim.claim_number if self.claim else self.h.workflow_id.removeprefix("claim-")
        return AuditReport(
            claim_number=claim_number,
            workflow_id=self.h.workflow_id
            if self.h.workflow_id.startswith("claim-")
            else workflow_id_for(claim_number),
            run_id=self.h.run_id,
            source=self.source,
            status=self.status,
            stage=self.stage,
            event_count=len(self.h.events),
            claim=self.claim,
            facts=self.facts,
            entries=self.entries,
            triage=self.triage,
            sla_targets=self.sla_targets,
            decisions=self.decisions,
            deadlines=deadlines,
            payouts=self.payouts,
            escalations=self.escalations,
            decline_reasons=self.decline_reasons or (list(final.decline_reasons) if final else []),
            sla_policy_versions=sorted({t.policy_version for t in self.sla_targets}),
            calendar_versions=sorted({d.deadline.calendar_version for d in deadlines}),
            terms=terms_used(self.claim, last),
            final_state=final,
            workflow_timeline=list(final.timeline) if final else [],
        )


async def build_audit(
    history: WorkflowHistory, data_converter: DataConverter | None = None, source: str = "temporal"
) -> AuditReport:
    """Decode a claim's history into an :class:`AuditReport`.

    Args:
        history: a whole ``ClaimWorkflow`` history (running or closed).
        data_converter: decodes the payloads; default ``pydantic_data_converter``. Pass
            ``client.data_converter`` to use the client's payload codec.
        source: recorded in the report (``temporal``, ``archive``, ``file``, ``replay``).

    Raises:
        HistoryError: not a claim history, or a payload cannot be decoded (e.g. encrypted
            and no codec given).
    """
    check_claim_history(history, source)
    return await _Builder(history, data_converter or pydantic_data_converter, source).run()


def audit_from_bundle(bundle: DecisionBundle) -> AuditReport:
    """An audit rebuilt from an archived decision bundle alone (the history is gone)."""
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
    if bundle.decision is not None and bundle.coverage_request is not None and bundle.closed_at is not None:
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
        terms=bundle.terms,
        workflow_timeline=bundle.timeline,
    )


async def audit_claim(
    client: Client,
    sessions: Sessions | None,
    claim_number: str,
    actor: m.Actor,
    data_converter: DataConverter | None = None,
) -> AuditReport:
    """Audit one claim: from Temporal's history, or from the archive once Temporal has none.

    Every call is logged (``claims.audit``) with the actor's id and role.

    Args:
        sessions: the store's session factory (the archive), or None to read Temporal only.
        data_converter: default ``client.data_converter``.

    Raises:
        ClaimNotFound: neither Temporal nor the archive knows the claim.
        HistoryError: a history that cannot be decoded.
        claims.store.archive.ArchiveDamaged: the archived history does not match its sha256.
    """
    log = get_logger("claims.audit", claim_number=claim_number, actor=actor.id, role=actor.role.value)
    dc = data_converter or client.data_converter
    try:
        found = await find_claim_history(client, sessions, claim_number, dc)
    except ClaimNotFound:
        log.info("claim audit: not found")
        raise
    if found.history is not None:
        report = await build_audit(found.history, dc, found.source)
    else:
        assert found.bundle is not None  # FoundHistory holds one or the other
        report = audit_from_bundle(found.bundle)
    log.info("claim audited", source=report.source, status=report.status, events=report.event_count)
    return report
