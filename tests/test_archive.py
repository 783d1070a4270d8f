"""The archive keeps the coverage request a claim was decided on, prior benefits included.

Before issue 13 the archive rebuilt the request from the claim input and dropped
``prior_benefits``, so a follow-up claim's archived decision bundle was not the request the
rules had decided. Now the workflow passes the request it evaluated; a bundle that had to
be rebuilt (histories recorded before) says so, and the archiver's sweep replaces a rebuilt
request with the one the history recorded.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from claims.audit import build_audit, read_history
from claims.audit.archiver import bundle_from_audit
from claims.models import ArchiveInput, ClaimReport, LossFacts, Stage
from claims.store import utcnow, workflow_id_for
from claims.store.archive import (
    DecisionBundle,
    bundle_from_input,
    load_archive,
    record_decision,
    record_history,
)
from claims.store.db import Sessions, unit_of_work
from tests.support.harness import Harness, ended_state
from tests.test_followup import _adjudicate_and_pay

GOLDEN = Path(__file__).resolve().parent / "golden"


async def test_a_follow_up_claims_archived_request_carries_the_benefit_already_paid(harness: Harness) -> None:
    # The greenhouse fall, assessed grade 5 first: 40,000 × 60 % = 24,000 paid.
    case = harness.cases[0].model_copy(
        update={
            "report": harness.cases[0].report.model_copy(
                update={"disability_grade": 5, "reported_on": date(2021, 7, 1), "third_party_record": True}
            )
        }
    )
    first = await harness.report(case)
    await _adjudicate_and_pay(
        harness,
        first,
        LossFacts(outcome="disability", cause="fall_from_height", disability_grades=[5]),  # type: ignore[arg-type]
        "TRF-1",
    )
    # The insured dies of the injury: the follow-up claim is decided with the 24,000 already paid.
    death = case.model_copy(
        update={
            "report": ClaimReport.model_validate(
                {
                    **case.report.model_dump(),
                    "outcome": "death",
                    "disability_grade": None,
                    "reported_on": "2021-09-30",
                }
            )
        }
    )
    second = await harness.report(death)
    await _adjudicate_and_pay(
        harness,
        second,
        LossFacts(
            outcome="death", cause="fall_from_height", death_date=date(2021, 6, 26) + timedelta(days=90)
        ),  # type: ignore[arg-type]
        "TRF-2",
    )
    final = await ended_state(harness.client, second)  # archive_decision runs just before the workflow completes
    assert final.stage == Stage.CLOSED and final.decision is not None
    assert final.decision.total == Decimal("16000.00")

    with harness.sessions() as s:
        archived = load_archive(s, second)
    assert archived is not None
    bundle = archived.bundle
    assert (bundle.source, bundle.coverage_request_rebuilt) == ("activity", False)
    assert bundle.coverage_request is not None
    prior = [(b.claim_number, b.amount, b.reserved) for b in bundle.coverage_request.prior_benefits]
    assert prior == [(first, Decimal("24000.00"), False)]
    assert bundle.decision == final.decision

    # exactly the request the rules were given: the evaluate_coverage input the history recorded
    handle = harness.client.get_workflow_handle(workflow_id_for(second))
    audit = await build_audit(await handle.fetch_history(), harness.client.data_converter)
    assert bundle.coverage_request == audit.decisions[-1].request
    assert bundle_from_audit(audit, None).coverage_request == bundle.coverage_request


async def _golden_archive_input(name: str) -> tuple[WorkflowHistory, ArchiveInput]:
    """A golden history and the archive_decision input it recorded (``v4/``: recorded before the
    workflow passed the coverage request it decided)."""
    history = await read_history((GOLDEN / f"{name}.json").read_bytes(), name)
    scheduled = next(
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == "archive_decision"
    )
    (raw,) = await pydantic_data_converter.decode(list(scheduled.input.payloads), [ArchiveInput])
    assert isinstance(raw, ArchiveInput)
    return history, raw


async def test_an_archive_input_recorded_without_the_request_is_rebuilt_and_says_so() -> None:
    history, inp = await _golden_archive_input("v4/ordinary_paid")
    assert inp.coverage_request is None
    bundle = bundle_from_input(inp)
    assert bundle.coverage_request_rebuilt and bundle.coverage_request is not None
    assert bundle.coverage_request.prior_benefits == []
    # a first claim's rebuild equals the request decided; a follow-up's would lack its prior benefits
    audit = await build_audit(history)
    assert bundle.coverage_request == audit.decisions[-1].request
    # a version 1 bundle (written before the flag existed) reads as rebuilt
    old = json.loads(bundle.model_dump_json())
    old["bundle_version"] = 1
    del old["coverage_request_rebuilt"]
    assert DecisionBundle.model_validate(old).coverage_request_rebuilt


async def test_the_sweep_replaces_a_rebuilt_request_with_the_one_the_history_recorded(
    store_sessions: Sessions,
) -> None:
    history, inp = await _golden_archive_input("v4/ordinary_paid")
    rebuilt = bundle_from_input(inp)
    recorded = bundle_from_audit(await build_audit(history), None)
    assert not recorded.coverage_request_rebuilt and recorded.coverage_request is not None
    with unit_of_work(store_sessions) as s:
        assert record_decision(s, rebuilt, utcnow())
        assert not record_decision(s, rebuilt, utcnow())  # idempotent: a retried activity adds nothing
    for written in (True, False):  # the second sweep finds the history archived and adds nothing
        with unit_of_work(store_sessions) as s:
            assert written == record_history(
                s,
                history_json=history.to_json(),
                run_id=history.run_id,
                events=len(history.events),
                bundle=recorded,
                closed_at=None,
                now=utcnow(),
            )
    with store_sessions() as s:
        archived = load_archive(s, rebuilt.claim_number)
    assert archived is not None and archived.history_json is not None
    kept = archived.bundle
    assert (kept.source, kept.coverage_request_rebuilt) == ("activity", False)
    assert kept.coverage_request == recorded.coverage_request
