"""The step registry (``claims.models.STEP_RULES``) is the one list of steps: every entry has a
workflow Update with a validator taking its input model and a ``claims step`` command; the
allowed steps follow from stage, role, assignment and scope; rejections reach callers with a
stable code (``claims.errors.StepRejected.code``), not only a message."""

from __future__ import annotations

import inspect
import typing

import click
import pytest
from temporalio import workflow

from claims.cli.steps import step_group
from claims.errors import ClaimNotFound, ClaimsError, StepRejected
from claims.models import (
    STEP_RULES,
    Actor,
    AdjudicateInput,
    ApprovePayoutInput,
    ClaimState,
    LossFacts,
    RegisterInput,
    RejectionCode,
    Role,
    Stage,
    StepInput,
    StepRule,
    allowed_steps,
    refusal,
    rule_for,
)
from claims.services.client import ONCE_STEPS, STEP_NAMES, NoAnswer, perform_step
from tests.support.harness import Harness
from workflows.claim import ClaimWorkflow

COUNTY, VILLAGE = "长沙市雨花区", "示范社区丙"
HANDLER = Actor(id="handler.yuhua", role=Role.HANDLER)
SUPERVISOR = Actor(id="sup.yuhua", role=Role.SUPERVISOR, county=COUNTY)
AUDITOR = Actor(id="aud.1", role=Role.AUDITOR)


def names(rules: list[StepRule]) -> list[str]:
    """The registry names of ``rules``, in order."""
    return [r.name for r in rules]


def test_every_step_has_an_update_with_a_validator_taking_its_input_model() -> None:
    defn = workflow._Definition.must_from_class(ClaimWorkflow)
    assert set(defn.updates) == set(STEP_RULES)
    for name, rule in STEP_RULES.items():
        update = defn.updates[name]
        assert update.validator is not None, name
        hints = typing.get_type_hints(update.fn)
        assert hints["step"] is rule.input, name
        assert typing.get_type_hints(update.validator)["step"] is rule.input, name
        assert issubclass(rule.input, StepInput) and rule.input is not StepInput


def test_every_step_has_a_command_named_from_the_registry() -> None:
    group = step_group(lambda state, as_json: None)
    assert isinstance(group, click.Group)
    assert list(group.commands) == [r.cli_name for r in STEP_RULES.values()]
    assert STEP_RULES["approve_payout"].cli_name == "approve-payout"
    params = {c: {p.name for p in group.commands[c].params} for c in group.commands}
    for common in ("claim_number", "note", "as_json", "timeout_s"):
        assert all(common in p for p in params.values()), common
    assert "waive" in params["complete-documents"]
    assert "doc" in params["request-documents"] and "doc" in params["receive-documents"]
    assert "transfer_ref" in params["pay"]
    assert params["approve-payout"] == {"claim_number", "note", "as_json", "timeout_s"}


def test_each_input_model_names_one_step() -> None:
    inputs = [r.input for r in STEP_RULES.values()]
    assert len(set(inputs)) == len(inputs) == len(STEP_RULES) >= 15
    assert {"clear_review", "refer_to_siu"} <= set(STEP_RULES)  # issue 17: review hold
    assert {"withdraw", "close", "reopen", "pay_advance"} <= set(STEP_RULES)  # issue 17: lifecycle
    for name, rule in STEP_RULES.items():
        fields = {f: v for f, v in rule.input.model_fields.items() if v.is_required()}
        assert "actor" in fields, name
    assert rule_for(ApprovePayoutInput(actor=SUPERVISOR)).name == "approve_payout"
    assert rule_for(RegisterInput(actor=HANDLER)).label_zh == "立案"
    with pytest.raises(TypeError, match="StepInput is not the input of a step"):
        rule_for(StepInput(actor=HANDLER))


def test_client_names_and_once_steps_come_from_the_registry() -> None:
    assert STEP_NAMES == tuple(STEP_RULES)
    assert ONCE_STEPS == {
        "register",
        "complete_documents",
        "approve_payout",
        "override_finding",
        "pay",
        "decline",
        "clear_review",  # issue 17: one review hold per claim
        "refer_to_siu",
        "withdraw",  # issue 17: the claim ends
        "close",
    }
    assert issubclass(NoAnswer, ClaimsError)
    assert list(inspect.signature(perform_step).parameters)[:3] == ["client", "claim_number", "inp"]


def test_allowed_steps_for_a_handler_at_documents_and_for_others() -> None:
    mine = allowed_steps(Stage.DOCUMENTS, HANDLER, "handler.yuhua", COUNTY, VILLAGE)
    assert names(mine) == [
        "request_documents",
        "receive_documents",
        "reject_document",  # issue 15: a file sent back (offered per file in the console)
        "complete_documents",
        "request_investigation",
        "refer_to_consultation",
        "withdraw",  # issue 17
    ]
    # another handler's claim: only receiving documents is not the assigned handler's alone
    other = Actor(id="handler.other", role=Role.HANDLER)
    assert names(allowed_steps(Stage.DOCUMENTS, other, "handler.yuhua", COUNTY, VILLAGE)) == [
        "receive_documents"
    ]
    # an auditor reads and replays only
    for stage in Stage:
        assert allowed_steps(stage, AUDITOR, "handler.yuhua", COUNTY, VILLAGE) == []
    # a supervisor of the county at payout; of another county nothing
    assert names(allowed_steps(Stage.PAYOUT, SUPERVISOR, "handler.yuhua", COUNTY, VILLAGE)) == [
        "approve_payout",
        "override_finding",
        "pay",
        "clear_review",  # issue 17: refused unless the claim is held for review
        "refer_to_siu",
        "withdraw",  # issue 17: before payment
        "close",
        "pay_advance",
        "reassign",
    ]
    elsewhere = Actor(id="sup.ningxiang", role=Role.SUPERVISOR, county="宁乡市")
    assert allowed_steps(Stage.PAYOUT, elsewhere, "handler.yuhua", COUNTY, VILLAGE) == []
    secretary = Actor(id="sec.1", role=Role.VILLAGE_SECRETARY, county=COUNTY, village=VILLAGE)
    assert names(allowed_steps(Stage.INVESTIGATION, secretary, "handler.yuhua", COUNTY, VILLAGE)) == [
        "receive_documents",
        "withdraw",  # issue 17: the claimant withdraws through the village secretary
    ]
    # issue 17: a closed or declined claim may be reopened by a supervisor; a withdrawn one not
    assert names(allowed_steps(Stage.CLOSED, SUPERVISOR, "handler.yuhua", COUNTY, VILLAGE)) == ["reopen"]
    assert allowed_steps(Stage.WITHDRAWN, SUPERVISOR, "handler.yuhua", COUNTY, VILLAGE) == []


def test_a_refusal_has_a_code_the_message_people_read_and_params() -> None:
    r = refusal(STEP_RULES["adjudicate"], Stage.REPORTED, HANDLER, None, COUNTY, VILLAGE)
    assert r is not None and r.code == RejectionCode.STAGE_NOT_ALLOWED == "stage.not_allowed"
    assert r.message == "adjudicate: not allowed at stage 'reported' (allowed at: adjudication)"
    assert r.params == {"stage": "reported", "allowed": "adjudication"}
    r = refusal(STEP_RULES["register"], Stage.REPORTED, AUDITOR, None, COUNTY, VILLAGE)
    assert r is not None and r.code == "role.not_allowed"
    assert r.message == "register: role 'auditor' may not do this (roles: handler, supervisor)"
    outsider = Actor(id="handler.ningxiang", role=Role.HANDLER, county="宁乡市")
    r = refusal(STEP_RULES["register"], Stage.REPORTED, outsider, None, COUNTY, VILLAGE)
    assert r is not None and r.code == "scope.county"
    assert r.message == "register: claim is in 长沙市雨花区; handler.ningxiang acts for 宁乡市 only"
    r = refusal(
        STEP_RULES["pay"], Stage.PAYOUT, Actor(id="h2", role=Role.HANDLER), "handler.yuhua", COUNTY, VILLAGE
    )
    assert r is not None and r.code == "assignment.other_handler" and r.params["handler"] == "handler.yuhua"
    assert refusal(STEP_RULES["pay"], Stage.PAYOUT, HANDLER, "handler.yuhua", COUNTY, VILLAGE) is None


async def test_a_rejected_step_reaches_the_caller_with_its_code_and_params(harness: Harness) -> None:
    number = await harness.report(harness.cases[2])
    with pytest.raises(StepRejected) as refused:
        await perform_step(harness.client, number, RegisterInput(actor=AUDITOR))
    assert refused.value.code == "role.not_allowed"
    assert refused.value.step == "register"
    assert refused.value.params == {"step": "register", "role": "auditor", "allowed": "handler, supervisor"}
    assert str(refused.value) == "register: role 'auditor' may not do this (roles: handler, supervisor)"
    facts = LossFacts(outcome="disability", cause="road_accident", disability_grades=[1])  # type: ignore[arg-type]
    with pytest.raises(StepRejected) as refused:
        await perform_step(harness.client, number, AdjudicateInput(actor=HANDLER, facts=facts))
    assert refused.value.code == "stage.not_allowed" and refused.value.params["stage"] == "reported"
    state = await perform_step(harness.client, number, RegisterInput(actor=HANDLER))
    assert isinstance(state, ClaimState) and state.stage == Stage.DOCUMENTS
    with pytest.raises(StepRejected) as refused:
        await perform_step(harness.client, number, RegisterInput(actor=HANDLER))
    assert refused.value.code == "stage.not_allowed"
    with pytest.raises(ClaimNotFound) as missing:
        await perform_step(harness.client, "JS19990101-NONE", RegisterInput(actor=HANDLER))
    assert missing.value.code == "claim.not_found"
