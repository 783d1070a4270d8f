"""Bounds on every input, from one place (``claims/models/bounds.py``, issue 12): nothing a person
types or a file carries can kill, freeze or forge a claim.

Each case goes through the command line (with the stand-in for Temporal of the bad-input
catalogue), checks the message names the field, and that nothing recorded changed and no step
reached a claim.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from claims.cli.render import print_state
from claims.models.bounds import MAX_YUAN, one_line, printable
from claims.models import (
    Actor,
    ClaimState,
    DeclineInput,
    LossFacts,
    ReceiveDocumentsInput,
    RecordInvestigationInput,
    Role,
    Stage,
    StepInput,
    TimelineEntry,
)
from claims.store import RegisterFile
from tests.test_bad_input import REGISTER, World, j, report, world  # noqa: F401 - the fixture

HANDLER = Actor(id="handler.a", role=Role.HANDLER)

# --------------------------------------------------------------------------- steps

STEP_CASES: list[tuple[str, list[str], str]] = [
    (
        "a handler id of 3,000 characters (would overflow the search attributes)",
        ["register", "C1", "--assign-to", "h" * 3000],
        "assign_to: String should have at most 64 characters",
    ),
    (
        "a document name of 100 KB (would freeze the claim: payload too large)",
        ["request-documents", "C1", "--doc", "d" * 100_000],
        "documents.0: String should have at most 64 characters",
    ),
    (
        "51 documents in one step",
        ["request-documents", "C1", *[a for i in range(51) for a in ("--doc", f"doc_{i}")]],
        "documents: List should have at most 50 items",
    ),
    (
        "a right-to-left override in a document name",
        ["receive-documents", "C1", "--doc", "death\u202ecertificate"],
        "documents.0: Value error, contains the character U+202E (RIGHT-TO-LEFT OVERRIDE)",
    ),
    (
        "a line break in a transfer reference",
        ["pay", "C1", "--transfer-ref", "TRF-1\npaid twice"],
        "transfer_ref: Value error, contains the character U+000A",
    ),
    (
        "a cause of 65 characters",
        ["adjudicate", "C1", "--outcome", "death", "--cause", "c" * 65],
        "cause: String should have at most 64 characters",
    ),
    (
        "a death date in the year 9999",
        ["adjudicate", "C1", "--outcome", "death", "--cause", "drowning", "--death-date", "9999-01-01"],
        "death_date: Value error, 9999-01-01 is outside 1900-01-01 .. 2100-12-31",
    ),
    (
        "medical expenses of 1e308 yuan",
        ["adjudicate", "C1", "--outcome", "medical", "--cause", "fall", "--medical", "1e308"],
        "medical_expenses: Value error, amount 1E+308 is above 999999999999.99 yuan",
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), STEP_CASES, ids=[c[0] for c in STEP_CASES])
def test_a_step_input_beyond_its_bounds_is_refused_before_it_reaches_the_claim(
    world: World,  # noqa: F811
    case: str,
    args: list[str],
    message: str,
) -> None:
    before = world.snapshot()
    out = world.run("step", *args)
    assert out.exit_code != 0 and message in out.output, out.output
    assert "Traceback" not in out.output
    assert world.temporal.updates == [] and world.snapshot() == before


# --------------------------------------------------------------------------- report files

REPORT_CASES: list[tuple[str, dict, str]] = [
    (
        "a claimed amount of 1e308",
        report(claimed_amount="1e308"),
        "claimed_amount: Value error, amount 1E+308",
    ),
    (
        "a claimed amount above what the ledger holds",
        report(claimed_amount="99999999999999.99"),
        "claimed_amount: Value error, amount 99999999999999.99 is above 999999999999.99 yuan",
    ),
    (
        "eleven policy numbers",
        report(policy_numbers=[f"P{i}" for i in range(11)]),
        "policy_numbers: List should",
    ),
    (
        "a policy number with a line break",
        report(policy_numbers=["FA2021NX0001\nX"]),
        "policy_numbers.0: Value error, contains the character U+000A",
    ),
    (
        "an accident in the year 1",
        report(accident_date="0001-01-01"),
        "accident_date: Value error, 0001-01-01 is outside 1900-01-01 .. 2100-12-31",
    ),
]


@pytest.mark.parametrize(("case", "data", "message"), REPORT_CASES, ids=[c[0] for c in REPORT_CASES])
def test_a_report_beyond_its_bounds_is_refused_and_changes_nothing(
    world: World,  # noqa: F811
    case: str,
    data: dict,
    message: str,
) -> None:
    before = world.snapshot()
    f = world.tmp / "bad.json"
    f.write_bytes(j(data))
    out = world.run("report", "--file", str(f))
    assert out.exit_code != 0 and message in out.output, out.output
    assert "Traceback" not in out.output and "InvalidOperation" not in out.output
    assert world.snapshot() == before


# --------------------------------------------------------------------------- register files


def _register(**changes: object) -> dict:
    data = copy.deepcopy(REGISTER)
    h = data["households"][0]
    for key, value in changes.items():
        if key in ("premium", "sum_insured"):
            h["policies"][0][key] = value
        else:
            h[key] = value
    return data


REGISTER_CASES: list[tuple[str, dict, str]] = [
    (
        "a county of 1,000 characters (would kill the claim's first workflow task)",
        _register(county="县" * 1000),
        "households.0.county: String should have at most 64 characters",
    ),
    (
        "a county of 70 characters (a traceback on PostgreSQL)",
        _register(county="x" * 70),
        "households.0.county: String should have at most 64 characters",
    ),
    (
        "a village name with a line break",
        _register(village="示范村\n甲"),
        "households.0.village: Value error, contains the character U+000A",
    ),
    (
        "a sum insured of 99,999,999,999,999.99 (read back wrong on SQLite)",
        _register(sum_insured="99999999999999.99"),
        "households.0.policies.0.sum_insured: Value error, amount 99999999999999.99 is above",
    ),
    (
        "a premium of 1e308",
        _register(premium="1e308"),
        "households.0.policies.0.premium: Value error, amount 1E+308 is above",
    ),
]


@pytest.mark.parametrize(("case", "data", "message"), REGISTER_CASES, ids=[c[0] for c in REGISTER_CASES])
def test_a_register_beyond_the_columns_is_refused_and_nothing_is_written(
    world: World,  # noqa: F811
    case: str,
    data: dict,
    message: str,
) -> None:
    before = world.snapshot()
    f = world.tmp / "register.json"
    f.write_bytes(j(data))
    out = world.run("register", "load", str(f))
    assert out.exit_code != 0 and message in out.output, out.output
    assert "Traceback" not in out.output
    assert world.snapshot() == before


def test_the_largest_amount_the_ledger_holds_is_accepted_exactly() -> None:
    data = _register(sum_insured=str(MAX_YUAN))
    policy = RegisterFile.model_validate(data).households[0].policies[0]
    assert policy.sum_insured == Decimal("999999999999.99")


# --------------------------------------------------------------------------- durations and periods


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["overdue", "--due-within", "99999999d"], "--due-within: '99999999d' is more than 3660 days"),
        (
            ["sla-report", "--from", "0001-01-01", "--to", "2026-11-30"],
            "--from: 0001-01-01 is outside 1900-01-01 .. 2100-12-31",
        ),
    ],
    ids=["overdue within 99,999,999 days", "sla-report from the year 1"],
)
def test_a_duration_or_period_out_of_range_is_refused_with_a_message(
    world: World,  # noqa: F811
    args: list[str],
    message: str,
) -> None:
    out = world.run(*args)
    assert out.exit_code != 0 and message in out.output, out.output
    assert "OverflowError" not in out.output and "Traceback" not in out.output


# --------------------------------------------------------------------------- free text stays on one line


def test_free_text_is_kept_on_one_line_without_direction_controls() -> None:
    fake = "ok\n2026-12-01 10:00  payout_approved   supervisor:boss  50000 yuan"
    step = StepInput(actor=HANDLER, note=fake)
    assert "\n" not in step.note and step.note.startswith("ok 2026-12-01 10:00 payout_approved")
    decline = DeclineInput(actor=HANDLER, reasons=["no\r\nproof\u202e of injury"])
    assert decline.reasons == ["no proof of injury"]
    found = RecordInvestigationInput(actor=HANDLER, findings="fight\tnot\x00a fall")
    assert found.findings == "fight not a fall"
    assert one_line("  a\u2066b\u2069  ") == "ab"


def test_blank_reasons_are_refused_after_the_control_characters_are_removed() -> None:
    with pytest.raises(ValidationError, match="reasons.0"):
        DeclineInput(actor=HANDLER, reasons=["\n\t "])


def test_an_identifier_refuses_what_a_free_text_would_strip() -> None:
    with pytest.raises(ValidationError, match="U\\+202E"):
        ReceiveDocumentsInput(actor=HANDLER, documents=["bank\u202ecard"])
    with pytest.raises(ValidationError, match="circumstances.0"):
        LossFacts(outcome="death", cause="x", circumstances=["drink\ndriving"])


def test_claims_show_prints_recorded_control_characters_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    # a note recorded before the bounds (or by any other path) cannot draw a line of its own
    forged = "documents ok\n2026-12-01 10:00  payout_approved  supervisor:boss  \u202eevil"
    state = ClaimState(
        claim_number="JS20261201-X",
        stage=Stage.DOCUMENTS,
        county="宁乡市",
        township="大成桥镇",
        village="示范村甲",
        accident_date=date(2026, 11, 30),
        reported_at=datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
        policies=["FA2021NX0001"],
        timeline=[
            TimelineEntry(
                at=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
                event="registered",
                actor=HANDLER,
                stage=Stage.DOCUMENTS,
                detail=forged,
            )
        ],
    )
    print_state(state)
    out = capsys.readouterr().out
    assert "\\u000a2026-12-01 10:00  payout_approved" in out and "\\u202eevil" in out
    assert not any(line.lstrip().startswith("2026-12-01 10:00  payout_approved") for line in out.splitlines())
    assert printable("a\nb\u202ec") == "a\\u000ab\\u202ec"
