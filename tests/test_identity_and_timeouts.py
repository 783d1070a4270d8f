"""Issue 12: identity from the caller, honest step timeouts, confined visibility queries,
errors without personal data.

The command-line cases run ``claims`` in process against the bad-input world (a store with
the demo register, a stand-in for Temporal that records the workflows started); the timeout
cases run the real ``claims`` command against a dev server, with the worker stopped and then
started again.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from claims import store
from claims.audit import CLAIM_WORKFLOWS, HistoryError, claim_workflows_query, visibility_literal
from claims.services.client import (
    ONCE_STEPS,
    STEP_NAMES,
    UpdateStatus,
    perform_step,
    step_update_id,
    update_status,
)
from claims.store.db import InsuredPerson
from claims.domain.timeutil import today_in_shanghai
from claims.models import (
    Actor,
    AdjudicateInput,
    ClaimReport,
    CompleteDocumentsInput,
    PayInput,
    ReceiveDocumentsInput,
    RegisterInput,
    RequestDocumentsInput,
    Role,
    Stage,
)
from claims.infra.settings import get_settings
from tests import test_bad_input as bad
from tests.conftest import BIN, REPO, TEST_PAYLOAD_KEYS
from tests.support.harness import CALENDAR, Harness
from tests.test_bad_input import GOOD, REGISTER, World, j, report
from worker import build_worker

world = bad.world  # the bad-input world: demo register, a stand-in for Temporal

# --------------------------------------------------------------------------- identity


def as_caller(world: World, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """Run the next commands as another caller (environment, as a person would set it)."""
    for var in ("CLAIMS_ACTOR", "CLAIMS_ROLE", "CLAIMS_COUNTY", "CLAIMS_VILLAGE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    get_settings.cache_clear()


def test_a_village_secretary_cannot_file_a_report_as_a_supervisor_through_a_file(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    as_caller(
        world, monkeypatch, CLAIMS_ACTOR="sec.x", CLAIMS_ROLE="village_secretary", CLAIMS_VILLAGE="别村"
    )
    forged = tmp_path / "forged.json"
    forged.write_bytes(j(report(reporter={"id": "sec.x", "role": "supervisor"})))
    before = world.snapshot()
    out = world.run("report", "--file", str(forged))
    assert out.exit_code == 2
    assert out.output.strip() == (
        f"Error: {forged}: reporter: the report names sec.x (supervisor) but you are sec.x "
        "(village_secretary); a report is filed in the name of who files it: leave the reporter out "
        "or file it as that person"
    )
    assert world.snapshot() == before


def test_a_village_secretarys_scope_applies_to_a_report_from_a_file_as_to_flags(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    as_caller(
        world, monkeypatch, CLAIMS_ACTOR="sec.x", CLAIMS_ROLE="village_secretary", CLAIMS_VILLAGE="别村"
    )
    own_name = tmp_path / "own.json"
    own_name.write_bytes(j(report(reporter=None)))
    before = world.snapshot()
    from_file = world.run("report", "--file", str(own_name))
    from_flags = world.run(
        "report",
        *("--policy", "FA2021NX0001", "--id-number", GOOD["id_number"]),
        *("--accident-date", "2021-11-20", "--outcome", "death", "--cause", "drowning"),
    )
    expected = "reporter: sec.x reports for 别村 only; this insured person is registered elsewhere"
    assert from_file.exit_code == from_flags.exit_code == 2
    assert expected in from_file.output and expected in from_flags.output, (
        from_file.output,
        from_flags.output,
    )
    assert world.snapshot() == before


@pytest.mark.parametrize(
    "command",
    [
        ["show", "JS20210801-P0003"],
        ["tasks"],
        ["report", "--file", "recorded.json"],
        ["step", "register", "C1"],
    ],
    ids=["show", "tasks", "report", "step"],
)
def test_the_engines_system_role_is_refused_for_every_command(world: World, command: list[str]) -> None:
    before = world.snapshot()
    args = [str(world.tmp / a) if a.endswith(".json") else a for a in command]
    out = world.run("--actor", "engine", "--role", "system", *args)
    assert out.exit_code == 2
    assert out.output.strip() == (
        "Error: --role: 'system' is the engine's own role and cannot be claimed at the command line"
    )
    assert world.temporal.updates == [] and world.snapshot() == before


def test_system_from_the_environment_is_refused_too(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    as_caller(world, monkeypatch, CLAIMS_ACTOR="engine", CLAIMS_ROLE="system")
    out = world.run("tasks")
    assert out.exit_code == 2 and "--role: 'system' is the engine's own role" in out.output


@pytest.mark.parametrize("role", ["auditor", "investigator"])
def test_auditors_and_investigators_may_not_report(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, role: str
) -> None:
    as_caller(world, monkeypatch, CLAIMS_ACTOR="staff.a", CLAIMS_ROLE=role)
    path = tmp_path / "r.json"
    path.write_bytes(j(report(reporter=None)))
    before = world.snapshot()
    out = world.run("report", "--file", str(path))
    assert out.exit_code == 2
    assert (
        f"reporter: role '{role}' may not report claims (roles: handler, supervisor, village_secretary)"
        in out.output
    ), out.output
    assert world.snapshot() == before


def test_an_import_row_naming_another_reporter_is_refused_by_its_line(world: World, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    forged = report(reporter={"id": "supervisor.a", "role": "supervisor"})
    batch.write_bytes(j(report(reporter=None)) + b"\n" + j(forged) + b"\n")
    before = world.snapshot()
    out = world.run("import", str(batch))
    assert out.exit_code == 1
    assert (
        "line 2: reporter: the report names supervisor.a (supervisor) but you are handler.ningxiang (handler)"
        in out.output
    ), out.output
    claims_before, payouts_before, started_before = before
    claims_after, payouts_after, started_after = world.snapshot()
    assert [c[0] for c in claims_after if c not in claims_before] == ["JS20211120-P0002"]
    assert started_after == (*started_before, "claim-JS20211120-P0002") and payouts_after == payouts_before


def test_intake_takes_the_reporter_and_its_scope_from_the_caller(world: World) -> None:
    """The service rule the web console will use: the caller's scope, not the payload's."""
    caller = Actor(id="sec.x", role=Role.VILLAGE_SECRETARY, village="别村")
    unscoped = ClaimReport.model_validate(report(reporter={"id": "sec.x", "role": "village_secretary"}))
    forged = ClaimReport.model_validate(report(reporter={"id": "sec.x", "role": "supervisor"}))
    now = datetime.now(UTC)
    today = today_in_shanghai(now)  # intake's "today" is the Asia/Shanghai date, as the service passes it
    before = world.snapshot()
    with world.sessions() as s:
        with pytest.raises(store.ReportError) as scope:
            store.intake_report(s, unscoped, now, today, caller=caller)
        with pytest.raises(store.ReportError) as role:
            store.intake_report(s, forged, now, today, caller=caller)
    assert str(scope.value) == (
        "reporter: sec.x reports for 别村 only; this insured person is registered elsewhere"
    )
    assert role.value.field == "reporter" and "names sec.x (supervisor) but you are sec.x" in str(role.value)
    assert world.snapshot() == before
    assert store.REPORTING_ROLES == {Role.VILLAGE_SECRETARY, Role.HANDLER, Role.SUPERVISOR}


# --------------------------------------------------------------------------- personal data in errors


def _register_with(members_of_first: list[dict[str, Any]]) -> dict[str, Any]:
    reg = copy.deepcopy(REGISTER)
    reg["households"] = [reg["households"][0]]
    reg["households"][0]["members"] = members_of_first
    reg["households"][0]["policies"] = []
    return reg


def _persons(world: World) -> list[tuple[str, str]]:
    with world.sessions() as s:
        return sorted(s.execute(select(InsuredPerson.person_ref, InsuredPerson.id_number)).tuples().all())


def test_one_identity_number_on_two_members_is_refused_without_personal_data(
    world: World, tmp_path: Path
) -> None:
    twin = "430182197805200424"
    members = [
        {"person_ref": "X0001", "name": "王小明", "id_number": twin, "phone": "13812345678"},
        {
            "person_ref": "X0002",
            "name": "李秀英",
            "id_number": twin,
            "phone": "13987654321",
            "bank_account": "6222021234567890123",
        },
    ]
    path = tmp_path / "register.json"
    path.write_bytes(j(_register_with(members)))
    persons, before = _persons(world), world.snapshot()
    out = world.run("register", "load", str(path))
    assert out.exit_code == 2
    assert out.output.strip() == (
        f"Error: {path}: household {REGISTER['households'][0]['household_no']}, member X0002: "
        "id_number 430182********0424 is also given to member X0001; one person, one identity number: "
        "nothing was loaded"
    )
    for secret in (
        "王小明",
        "李秀英",
        twin,
        "13812345678",
        "13987654321",
        "6222021234567890123",
        "Traceback",
    ):
        assert secret not in out.output
    assert _persons(world) == persons and world.snapshot() == before


def test_an_identity_number_already_on_the_register_under_another_person_is_refused(
    world: World, tmp_path: Path
) -> None:
    taken = GOOD["id_number"]  # P0002's
    members = [
        {"person_ref": "X0009", "name": "赵大", "id_number": taken, "bank_account": "6222029876543210"}
    ]
    path = tmp_path / "register.json"
    path.write_bytes(j(_register_with(members)))
    persons = _persons(world)
    out = world.run("register", "load", str(path))
    assert out.exit_code == 2
    assert out.output.strip() == (
        f"Error: {path}: member X0009: id_number 430182********0424 is already on the register as "
        "person P0002; one person, one identity number: nothing was loaded"
    )
    for secret in ("赵大", taken, "6222029876543210", "Traceback"):
        assert secret not in out.output
    assert _persons(world) == persons


# --------------------------------------------------------------------------- visibility queries


def test_overdue_refuses_a_quote_in_a_filter_value_and_prints_no_query(world: World) -> None:
    out = world.run("overdue", "--county", "x' OR ClaimCounty != 'y")
    assert out.exit_code == 2
    assert out.output.strip() == (
        'Error: --county: "\'" is not allowed in a value used in a visibility query; '
        "give the name without quotes, backslashes or control characters"
    )
    assert "visibility query" not in out.output.replace("used in a visibility query", "")


def test_overdue_prints_a_plain_value_quoted(world: World) -> None:
    out = world.run("overdue", "--county", "宁乡市", "--handler", "handler.a")
    assert out.exit_code == 0, out.output
    assert "ClaimCounty = '宁乡市' AND AssignedHandler = 'handler.a'" in out.output.splitlines()[-1]


@pytest.mark.parametrize(
    ("value", "bad"),
    [("a\\", "'\\\\'"), ('a"b', "'\"'"), ("a\nb", "'\\n'")],
    ids=["backslash", "double quote", "line break"],
)
def test_a_visibility_value_with_a_backslash_quote_or_control_character_is_refused(
    value: str, bad: str
) -> None:
    with pytest.raises(HistoryError) as e:
        visibility_literal(value, "--township")
    assert str(e.value).startswith(f"--township: {bad} is not allowed")


def test_a_replay_query_stays_inside_claim_workflows() -> None:
    assert (
        claim_workflows_query("ClaimCounty = '宁乡市'") == f"{CLAIM_WORKFLOWS} AND (ClaimCounty = '宁乡市')"
    )
    # brackets inside a literal do not count
    assert claim_workflows_query("ClaimTownship = 'a) OR (b'").endswith("(ClaimTownship = 'a) OR (b')")
    refused = {
        "ClaimCounty = 'a' ) OR ( ClaimCounty != 'a'": "--query: a ')' closes a bracket the query",
        "WorkflowType = 'Other') OR (WorkflowType != 'x'": "--query: a ')' closes a bracket",
        "(ClaimCounty = 'a'": "--query: 1 '(' not closed",
        "ClaimCounty = 'a": "--query: a string literal opened with ' is not closed",
        "ClaimCounty = 'a' /* x */": "--query: '/*' is not allowed outside a string literal",
        "ClaimCounty = 'a' ORDER BY StartTime": "--query: ORDER BY is not allowed",
        "ClaimCounty = 'a'\n OR true": "--query: control characters",
        "  ": "--query: the query is empty",
    }
    for query, message in refused.items():
        with pytest.raises(HistoryError) as e:
            claim_workflows_query(query)
        assert str(e.value).startswith(message), (query, str(e.value))


def test_replay_refuses_a_query_that_escapes_its_brackets(world: World) -> None:
    out = world.run("--role", "auditor", "replay", "--query", "ClaimCounty = 'a' ) OR ( ClaimCounty != 'a'")
    assert out.exit_code == 2
    assert out.output.strip() == (
        "Error: --query: a ')' closes a bracket the query did not open; the query must stay within "
        "claim workflows"
    )


# --------------------------------------------------------------------------- honest timeouts


def test_once_only_steps_share_one_update_id_and_repeatable_steps_one_per_input() -> None:
    handler = Actor(id="handler.a", role=Role.HANDLER)
    assert ONCE_STEPS <= set(STEP_NAMES)
    first = step_update_id("JS1-P1", "pay", PayInput(actor=handler, transfer_ref="TRF-1"))
    other = step_update_id("JS1-P1", "pay", PayInput(actor=handler, transfer_ref="TRF-2"))
    assert first == other == "JS1-P1/pay"
    assert step_update_id("JS1-P1", "pay", PayInput(actor=handler, transfer_ref="T"), 2) == "JS1-P1/pay/2"
    a = step_update_id("JS1-P1", "receive_documents", ReceiveDocumentsInput(actor=handler, documents=["a"]))
    b = step_update_id("JS1-P1", "receive_documents", ReceiveDocumentsInput(actor=handler, documents=["b"]))
    assert a != b and a.startswith("JS1-P1/receive_documents/") and len(a.rsplit("/", 1)[1]) == 16
    assert a == step_update_id(
        "JS1-P1", "receive_documents", ReceiveDocumentsInput(actor=handler, documents=["a"])
    )


async def claims_cli(env: WorkflowEnvironment, tmp: Path, actor: str, *args: str) -> tuple[int, str, str]:
    """Run the real ``claims`` command against the dev server; (exit code, stdout, stderr)."""
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("CLAIMS_", "TEMPORAL_", "DATABASE_URL"))},
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "CLAIMS_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,  # the dev server's payloads are encrypted
        "CLAIMS_ACTOR": actor,
        "CLAIMS_ROLE": "handler",
        "CLAIMS_DATA_DIR": str(tmp),
        "CLAIMS_LOG_FORMAT": "json",
    }
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "claims"),
        *args,
        cwd=REPO,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def _accepted_updates(history: Any, name: str) -> list[str]:
    return [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name == name
    ]


async def test_a_pay_no_worker_answers_says_so_in_one_line_exits_3_and_is_performed_once_later(
    dev_env: WorkflowEnvironment,
    sqlite_sessions: Any,
    tmp_path: Path,
) -> None:
    h = Harness(dev_env.client, sqlite_sessions)
    case = h.cases[2]  # 45,000 yuan: within the handler's authority, no approval needed
    handler = Actor(id=case.handler, role=Role.HANDLER)
    async with build_worker(dev_env.client, sqlite_sessions, task_queue=h.task_queue, calendar=CALENDAR):
        number = await h.report(case)
        client = dev_env.client
        await perform_step(client, number, RegisterInput(actor=handler))
        docs = RequestDocumentsInput(actor=handler, documents=["claim_form"])
        state = await perform_step(client, number, docs)
        needed = list(dict.fromkeys(state.documents_requested + state.documents_required))
        received = ReceiveDocumentsInput(actor=handler, documents=needed)
        await perform_step(client, number, received)
        await perform_step(client, number, CompleteDocumentsInput(actor=handler))
        adjudicate = AdjudicateInput(actor=handler, facts=case.facts)
        state = await perform_step(client, number, adjudicate)
        assert state.stage == Stage.PAYOUT

    # No worker polls the claim's task queue now.
    code, out, err = await claims_cli(
        dev_env, tmp_path, case.handler, "step", "pay", number, "--transfer-ref", "TRF-1", "--timeout", "2"
    )
    assert (code, out) == (3, "")
    assert err.strip().splitlines() == [
        "error: pay: no worker answered in 2 s; the step may still be performed "
        f"— check `claims show {number}`"
    ]
    assert await update_status(dev_env.client, number, f"{number}/pay") == UpdateStatus.PENDING

    code, out, err = await claims_cli(
        dev_env, tmp_path, case.handler, "step", "pay", number, "--transfer-ref", "TRF-2", "--timeout", "2"
    )
    assert (code, out) == (3, "")
    assert err.strip().splitlines() == [
        f"error: pay: no worker answered in 2 s; an earlier attempt (update {number}/pay) is still waiting "
        "and will be performed with its own input, not this one's; the step may still be performed "
        f"— check `claims show {number}`"
    ]

    async with build_worker(dev_env.client, sqlite_sessions, task_queue=h.task_queue, calendar=CALENDAR):
        for _ in range(300):
            if await update_status(dev_env.client, number, f"{number}/pay") == UpdateStatus.SUCCEEDED:
                break
            await asyncio.sleep(0.1)
        # The same pay again answers with the first outcome; another transfer ref is refused,
        # naming the first.
        code, out, err = await claims_cli(
            dev_env, tmp_path, case.handler, "step", "pay", number, "--transfer-ref", "TRF-1", "--json"
        )
        assert code == 0, err[-2000:]
        repeated = json.loads(out)
        assert repeated["stage"] == "closed"
        assert [(p["transfer_ref"], p["amount"]) for p in repeated["payments"]] == [("TRF-1", "45000.00")]
        assert f"pay: joined an earlier attempt (update {number}/pay); its outcome:" in err
        code, out, err = await claims_cli(
            dev_env, tmp_path, case.handler, "step", "pay", number, "--transfer-ref", "TRF-2"
        )
        assert (code, out) == (1, "")
        assert err.strip().splitlines()[-1] == (
            f"error: pay: claim {number} was already paid by an earlier attempt (update {number}/pay) "
            "with transfer ref TRF-1; transfer ref TRF-2 was not used"
        )

    history = await dev_env.client.get_workflow_handle(f"claim-{number}").fetch_history()
    assert _accepted_updates(history, "pay") == [f"{number}/pay"]
    with sqlite_sessions() as s:
        assert [(p.transfer_ref, str(p.amount)) for p in store.payments_of(s, number)] == [
            ("TRF-1", "45000.00")
        ]
