"""Security: encrypted payloads with key rotation, roles and scopes, no personal data in
logs, search attributes or messages."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from claims import store
from claims.store.db import unit_of_work
from claims.domain.timeutil import today_in_shanghai
from claims.cli.common import actor_of
from claims.errors import StepRejected
from claims.services.client import claim_state, perform_step
from claims.infra.codec import ENCODING, KEY_ID, AesGcmCodec, PayloadKeyError, parse_keys
from claims.models import (
    Actor,
    AdjudicateInput,
    ApprovePayoutInput,
    CompleteDocumentsInput,
    PayInput,
    ReassignInput,
    ReceiveDocumentsInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    Stage,
)
from claims.infra.settings import ActorSettings, Settings
from tests.conftest import BIN, REPO, TEST_PAYLOAD_KEYS
from tests.support.harness import complete_documents
from tests.test_workflow import Harness, unique_cases

OLD = "k2025:" + base64.b64encode(b"o" * 32).decode()
NEW = "k2026:" + base64.b64encode(b"n" * 32).decode()

# --------------------------------------------------------------------------- payload codec


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


def test_a_payload_is_encrypted_with_the_active_key_and_decrypts_to_the_same_payload() -> None:
    codec = AesGcmCodec.from_spec(f"{NEW},{OLD}")
    sealed = codec.encrypt(payload('{"claim_number":"JS20220518-P0004"}'))
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"k2026"
    assert b"JS20220518" not in sealed.data
    assert codec.decrypt(sealed) == payload('{"claim_number":"JS20220518-P0004"}')
    assert codec.encrypt(payload("x")).data != codec.encrypt(payload("x")).data  # fresh nonce each time


def test_keys_rotate_old_payloads_still_decrypt_and_a_removed_key_is_named() -> None:
    before = AesGcmCodec.from_spec(OLD).encrypt(payload("written in 2025"))
    rotated = AesGcmCodec.from_spec(f"{NEW},{OLD}")
    assert rotated.decrypt(before) == payload("written in 2025")
    assert rotated.encrypt(payload("x")).metadata[KEY_ID] == b"k2026"
    with pytest.raises(PayloadKeyError, match="key 'k2025', which is not in CLAIMS_PAYLOAD_KEYS") as e:
        AesGcmCodec.from_spec(NEW).decrypt(before)
    assert base64.b64encode(b"o" * 32).decode() not in str(e.value)


def test_a_tampered_or_relabelled_payload_does_not_decrypt() -> None:
    codec = AesGcmCodec.from_spec(f"{NEW},{OLD}")
    sealed = codec.encrypt(payload("pay 40000"))
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(PayloadKeyError, match="does not authenticate"):
        codec.decrypt(flipped)
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k2025"}, data=sealed.data)
    with pytest.raises(PayloadKeyError, match="does not authenticate"):
        codec.decrypt(relabelled)


def test_a_payload_written_before_encryption_is_read_as_it_is() -> None:
    assert AesGcmCodec.from_spec(NEW).decrypt(payload("plain")) == payload("plain")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "no key given"),
        ("nokey", "entry 1 is not kid:base64key"),
        ("k1:!!!", "key 'k1' is not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "key 'k1' is 5 bytes"),
        (f"{NEW},{NEW}", "key id 'k2026' is listed twice"),
        ("bad id:" + base64.b64encode(b"n" * 32).decode(), "key id must be"),
    ],
)
def test_malformed_keys_are_refused_without_showing_key_material(spec: str, message: str) -> None:
    with pytest.raises(PayloadKeyError, match=message) as e:
        parse_keys(spec)
    assert base64.b64encode(b"n" * 32).decode() not in str(e.value)


# --------------------------------------------------------------------------- workflows


async def test_history_payloads_are_unreadable_without_the_key(harness: Harness) -> None:
    case = harness.cases[1]
    number = await harness.report(case)
    # one step: its Update returns after its projection activity completed
    handler = Actor(id=case.handler, role=Role.HANDLER)
    await perform_step(harness.client, number, RegisterInput(actor=handler))
    plain = Client(harness.client.service_client, namespace=harness.client.namespace)
    history = await plain.get_workflow_handle(f"claim-{number}").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (sealed,) = started.input.payloads
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"test-2026"
    assert number.encode() not in sealed.data and "醴陵".encode() not in sealed.data
    results = [
        p
        for e in history.events
        if e.HasField("activity_task_completed_event_attributes")
        for p in e.activity_task_completed_event_attributes.result.payloads
    ]
    local_markers = [
        e.marker_recorded_event_attributes
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    ]
    local_results = [p for m in local_markers for p in m.details["result"].payloads]
    assert results and all(p.metadata["encoding"] == ENCODING for p in results)
    # short steps (triage, SLA target, deadlines) run as local activities: their results are
    # sealed too; the marker's own data is the SDK's bookkeeping (type, attempt, times)
    assert local_results and all(p.metadata["encoding"] == ENCODING for p in local_results)
    for m in local_markers:
        (data,) = m.details["data"].payloads
        assert set(json.loads(data.data)) <= {
            "seq",
            "attempt",
            "activity_id",
            "activity_type",
            "complete_time",
            "backoff",
            "original_schedule_time",
            "activation_index",
        }
    opened = AesGcmCodec(parse_keys(TEST_PAYLOAD_KEYS)).decrypt(sealed)
    assert json.loads(opened.data)["claim_number"] == number
    # A client without the key cannot read the claim either.
    wrong = Client(
        harness.client.service_client,
        namespace=harness.client.namespace,
        data_converter=pydantic_data_converter,
    )
    with pytest.raises(Exception):  # noqa: B017 - any decoding failure will do
        await claim_state(wrong, number)


async def test_search_attributes_hold_no_personal_data(harness: Harness) -> None:
    state = await harness.drive(harness.cases[1])
    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest

    desc = await harness.client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=harness.client.namespace,
            execution=WorkflowExecution(workflow_id=f"claim-{state.claim_number}"),
        )
    )
    fields = desc.workflow_execution_info.search_attributes.indexed_fields
    values = json.dumps({k: json.loads(v.data or b"null") for k, v in fields.items()}, ensure_ascii=False)
    assert "醴陵市" in values and "ClaimStage" in values  # county is there on purpose
    for secret in pii_of_register(harness.register.model_dump()):
        assert secret not in values


def pii_of_register(register: dict[str, Any]) -> list[str]:
    """Every identity number, phone, bank account and name of a register."""
    out = []
    for h in register["households"]:
        for m in h["members"]:
            out += [v for v in (m["id_number"], m.get("phone"), m.get("bank_account"), m["name"]) if v]
    return out


async def advance_to_payout(harness: Harness, case_index: int) -> tuple[str, Actor]:
    case = harness.cases[case_index]
    number = await harness.report(case)
    handler = Actor(id=case.handler, role=Role.HANDLER)
    for inp in (
        RegisterInput(actor=handler),
        RequestDocumentsInput(actor=handler, documents=["claim_form"]),
        ReceiveDocumentsInput(actor=handler, documents=["claim_form"]),
    ):
        await perform_step(harness.client, number, inp)
    await complete_documents(harness.client, number, handler)
    await perform_step(harness.client, number, AdjudicateInput(actor=handler, facts=case.facts))
    return number, handler


async def test_a_payout_above_the_authority_limit_needs_a_supervisors_approval(harness: Harness) -> None:
    number, handler = await advance_to_payout(harness, 1)  # 132,000 > 50,000
    with pytest.raises(StepRejected, match="132000.00 yuan is above the handler authority limit of 50000.00"):
        await perform_step(harness.client, number, PayInput(actor=handler, transfer_ref="T1"))
    with pytest.raises(StepRejected, match="role 'handler' may not do this"):
        await perform_step(harness.client, number, ApprovePayoutInput(actor=handler))
    elsewhere = Actor(id="sup.ningxiang", role=Role.SUPERVISOR, county="宁乡市")
    with pytest.raises(StepRejected, match="claim is in 醴陵市; sup.ningxiang acts for 宁乡市 only"):
        await perform_step(harness.client, number, ApprovePayoutInput(actor=elsewhere))
    supervisor = Actor(id="sup.liling", role=Role.SUPERVISOR, county="醴陵市")
    await perform_step(harness.client, number, ApprovePayoutInput(actor=supervisor))
    with pytest.raises(StepRejected, match="already approved"):
        await perform_step(harness.client, number, ApprovePayoutInput(actor=supervisor))
    state = await perform_step(harness.client, number, PayInput(actor=handler, transfer_ref="T1"))
    assert state.stage == Stage.CLOSED and sum(p.amount for p in state.payments) == Decimal("132000.00")
    approval = next(t for t in state.timeline if t.event == "payout_approved")
    assert approval.actor == supervisor


async def test_a_payout_within_the_limit_needs_no_approval(harness: Harness) -> None:
    number, handler = await advance_to_payout(harness, 2)  # 45,000
    supervisor = Actor(id="sup.yuhua", role=Role.SUPERVISOR)
    with pytest.raises(
        StepRejected, match="within the handler authority limit of 50000.00 yuan; no approval"
    ):
        await perform_step(harness.client, number, ApprovePayoutInput(actor=supervisor))
    state = await perform_step(harness.client, number, PayInput(actor=handler, transfer_ref="T2"))
    assert state.stage == Stage.CLOSED


async def test_roles_and_scopes_are_enforced_on_every_step(harness: Harness) -> None:
    case = harness.cases[2]  # 长沙市雨花区, 示范社区丙
    number = await harness.report(case)
    auditor = Actor(id="aud.1", role=Role.AUDITOR)
    for inp in (
        RegisterInput(actor=auditor),
        ReassignInput(actor=auditor, handler="handler.x"),
        ApprovePayoutInput(actor=auditor),
    ):
        with pytest.raises(StepRejected):
            await perform_step(harness.client, number, inp)
    outsider = Actor(id="handler.ningxiang", role=Role.HANDLER, county="宁乡市")
    with pytest.raises(
        StepRejected, match="claim is in 长沙市雨花区; handler.ningxiang acts for 宁乡市 only"
    ):
        await perform_step(harness.client, number, RegisterInput(actor=outsider))
    handler = Actor(id="handler.yuhua", role=Role.HANDLER, county="长沙市雨花区")
    await perform_step(harness.client, number, RegisterInput(actor=handler))
    await perform_step(
        harness.client,
        number,
        RequestDocumentsInput(actor=handler, documents=["claim_form"]),
    )
    other_village = Actor(id="sec.other", role=Role.VILLAGE_SECRETARY, village="示范村甲")
    with pytest.raises(StepRejected, match="claim is from 示范社区丙; sec.other acts for 示范村甲 only"):
        await perform_step(
            harness.client,
            number,
            ReceiveDocumentsInput(actor=other_village, documents=["x"]),
        )
    secretary = Actor(id="sec.litou", role=Role.VILLAGE_SECRETARY, village="示范社区丙")
    with pytest.raises(StepRejected, match="role 'village_secretary' may not do this"):
        await perform_step(harness.client, number, CompleteDocumentsInput(actor=secretary))
    await perform_step(
        harness.client,
        number,
        ReceiveDocumentsInput(actor=secretary, documents=["claim_form"]),
    )
    far_supervisor = Actor(id="sup.ningxiang", role=Role.SUPERVISOR, county="宁乡市")
    with pytest.raises(StepRejected, match="acts for 宁乡市 only"):
        await perform_step(harness.client, number, ReassignInput(actor=far_supervisor, handler="handler.b"))
    supervisor = Actor(id="sup.yuhua", role=Role.SUPERVISOR, county="长沙市雨花区")
    state = await perform_step(harness.client, number, ReassignInput(actor=supervisor, handler="handler.b"))
    assert state.assigned_handler == "handler.b"
    with pytest.raises(StepRejected, match="assigned to handler.b, not handler.yuhua"):
        await perform_step(harness.client, number, CompleteDocumentsInput(actor=handler))
    events = [(t.event, t.actor.id) for t in state.timeline]
    assert ("documents_received", "sec.litou") in events and ("reassigned", "sup.yuhua") in events


def test_a_village_secretary_may_report_only_for_their_own_village(sqlite_sessions: Any) -> None:
    reg, cases = unique_cases()
    with unit_of_work(sqlite_sessions) as s:
        store.load_register(s, reg)
    report = cases[2].report
    stranger = report.model_copy(
        update={"reporter": Actor(id="sec.x", role=Role.VILLAGE_SECRETARY, village="示范村甲")}
    )
    today = today_in_shanghai()  # intake's "today" is the Asia/Shanghai date, as the service passes it
    with sqlite_sessions() as s, pytest.raises(store.ReportError) as e:
        store.intake_report(s, stranger, store.utcnow(), today)
    assert (
        str(e.value)
        == "reporter: sec.x reports for 示范村甲 only; this insured person is registered elsewhere"
    )
    own = report.model_copy(
        update={"reporter": Actor(id="sec.litou", role=Role.VILLAGE_SECRETARY, village="示范社区丙")}
    )
    with unit_of_work(sqlite_sessions) as s:
        assert store.intake_report(s, own, store.utcnow(), today).created


def test_the_configured_identity_carries_county_and_village(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        actor=ActorSettings(
            id="sec.litou", role=Role.VILLAGE_SECRETARY, county="长沙市雨花区", village="示范社区丙"
        )
    )
    ctx = click.Context(click.Command("x"), obj={"settings": settings, "actor": None, "role": None})
    assert actor_of(ctx) == Actor(
        id="sec.litou", role=Role.VILLAGE_SECRETARY, county="长沙市雨花区", village="示范社区丙"
    )


# --------------------------------------------------------------------------- logs of a full run


def test_the_logs_of_a_full_demo_run_hold_no_personal_data(tmp_path: Path) -> None:
    from tests.test_e2e import free_port

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CLAIMS_") and k not in ("TEMPORAL_ADDRESS", "DATABASE_URL")
    }
    env.update(
        CLAIMS_DATA_DIR=str(tmp_path),
        CLAIMS_EMBEDDED_PORT=str(free_port()),
        CLAIMS_UI_PORT=str(free_port()),
        CLAIMS_LOG_LEVEL="DEBUG",
        CLAIMS_PAYLOAD_KEYS=TEST_PAYLOAD_KEYS,
    )
    out = subprocess.run(
        [str(BIN / "claims"), "demo"], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "3 claims, 217,000.00 yuan paid" in out.stdout
    register = json.loads((REPO / "data/demo/register.json").read_text("utf-8"))
    logs = out.stderr + out.stdout + (tmp_path / "temporal-server.log").read_text("utf-8", "replace")
    assert "claim_number" in out.stderr  # the logs are there, and say something
    leaked = [v for v in pii_of_register(register) if v in logs]
    assert not leaked, f"{len(leaked)} personal values in the logs"
