"""The bad-input catalogue: what village offices, phones and spreadsheets really send.

Each case feeds one bad input to the command line (``claims report --file``,
``claims import``, ``claims step``), the terms loader or the calendar loader, and checks
the clear message expected, that no identity number appears unmasked in it, and that
nothing already recorded changed (store rows, workflows started, calendar, terms catalogue).
The command line runs with a stand-in for Temporal that records what would be started.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import claims.cli.common
import starter
from claims.store.db import Claim, Payout, make_engine, make_sessionmaker, unit_of_work, upgrade_database
from claims.domain.identity import check_digit
from claims.infra.settings import get_settings
from claims.store import RegisterFile, load_register
from claims.domain.workdays import CalendarError, WorkingCalendar
from rules.terms import TermsError, load_catalogue, load_terms_file
from tests.conftest import REPO

REGISTER = json.loads((REPO / "data/demo/register.json").read_text("utf-8"))
IDS = [m["id_number"] for h in REGISTER["households"] for m in h["members"]]
UNKNOWN_ID = "11010119900307001" + check_digit("11010119900307001")  # valid, not on the register
UNKNOWN_MASKED = "110101********" + UNKNOWN_ID[-4:]

GOOD = {
    "policy_numbers": ["FA2021NX0001"],
    "id_number": "430182197805200424",  # P0002, not used by any other case
    "accident_date": "2021-11-20",
    "reported_on": "2021-11-21",
    "outcome": "death",
    "cause": "drowning",
    "reporter": {"id": "handler.ningxiang", "role": "handler"},  # the caller (CLAIMS_ACTOR/ROLE)
}
RECORDED = {
    **GOOD,
    "id_number": "430182200209150533",
    "accident_date": "2021-08-01",
    "reported_on": "2021-08-02",
}


def report(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(GOOD)
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def j(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


# --------------------------------------------------------------------------- the world


class FakeTemporal:
    """Stands in for the Temporal client: records the workflows that would be started."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.updates: list[str] = []

    async def start_workflow(self, *args: Any, id: str, **kw: Any) -> None:
        self.started.append(id)

    def get_workflow_handle(self, workflow_id: str) -> Any:  # a step that got past the CLI
        self.updates.append(workflow_id)
        raise AssertionError("a bad step reached Temporal")


@dataclass
class World:
    tmp: Path
    temporal: FakeTemporal
    sessions: Any

    def run(self, *args: str) -> Any:
        return CliRunner().invoke(starter.cli, list(args), catch_exceptions=False)

    def snapshot(self) -> tuple[Any, ...]:
        with self.sessions() as s:
            claims = [
                (c.claim_number, c.stage, c.policy_numbers, c.reported_on, c.outcome)
                for c in s.scalars(select(Claim).order_by(Claim.claim_number))
            ]
            payouts = [(p.claim_number, p.payment_number) for p in s.scalars(select(Payout))]
        return tuple(claims), tuple(payouts), tuple(self.temporal.started)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    for var in ("DATABASE_URL", "CLAIMS_DATABASE_URL", "TEMPORAL_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CLAIMS_ACTOR", "handler.ningxiang")
    monkeypatch.setenv("CLAIMS_ROLE", "handler")
    get_settings.cache_clear()
    temporal = FakeTemporal()

    async def fake_client(settings: Any) -> FakeTemporal:
        return temporal

    monkeypatch.setattr(claims.cli.common, "connect_client", fake_client)
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    with unit_of_work(sessions) as s:
        load_register(s, RegisterFile.model_validate(REGISTER))
    w = World(tmp_path, temporal, sessions)
    (tmp_path / "recorded.json").write_bytes(j(RECORDED))
    first = w.run("report", "--file", str(tmp_path / "recorded.json"))
    assert first.exit_code == 0 and "reported: claim JS20210801-P0003" in first.output, first.output
    yield w
    engine.dispose()
    get_settings.cache_clear()


# --------------------------------------------------------------------------- report files

REPORT_FILES: list[tuple[str, bytes, str]] = [
    ("truncated JSON", j(GOOD)[:60], "not valid JSON at line 1"),
    ("empty file", b"", "not valid JSON at line 1"),
    (
        "GBK encoding",
        json.dumps(report(description="在稻田里溺水"), ensure_ascii=False).encode("gbk"),
        "not UTF-8",
    ),
    ("a list, not an object", j([GOOD]), "a claim report must be a JSON object"),
    (
        "full-width digits in the identity number",
        j(report(id_number="４３０１８２１９７８０５２００４２４")),
        "id_number: contains full-width characters; re-type it with ASCII digits 0-9 and X",
    ),
    (
        "identity number with a wrong check digit",
        j(report(id_number="430182197805200425")),
        "id_number: check digit does not match (430182********0425)",
    ),
    (
        "identity number of 17 characters",
        j(report(id_number="43018219780520042")),
        "id_number: must be 17 digits followed by a digit or X (18 characters), got 17 characters",
    ),
    (
        "identity number with an impossible birth date",
        j(report(id_number="430182197802300421")),
        "id_number: birth date 1978-02-30 in the number is not a real date",
    ),
    (
        "identity number not on the register",
        j(report(id_number=UNKNOWN_ID)),
        f"id_number: no insured person {UNKNOWN_MASKED} on the policy register",
    ),
    (
        "accident on 2021-02-30",
        j(report(accident_date="2021-02-30")),
        "accident_date: Input should be a valid date or datetime, day value is outside expected range",
    ),
    (
        "date written 2021/11/20",
        j(report(accident_date="2021/11/20")),
        "accident_date: Input should be a valid date",
    ),
    (
        "amount with thousands separators",
        j(report(claimed_amount="40,000.00")),
        "claimed_amount: Value error, '40,000.00' is not an amount in yuan",
    ),
    (
        "amount in full-width digits",
        j(report(claimed_amount="４００００")),
        "claimed_amount: Value error, '４００００' is not an amount in yuan",
    ),
    (
        "amount as a JSON number with a fraction",
        j(report(claimed_amount=40000.5)),
        "claimed_amount: Value error, write amounts as a string in yuan",
    ),
    (
        "amount with three decimals",
        j(report(claimed_amount="40000.001")),
        "claimed_amount: Value error, amounts are in yuan with at most two decimals (fen)",
    ),
    (
        "negative amount",
        j(report(claimed_amount="-1")),
        "claimed_amount: Input should be greater than or equal to 0",
    ),
    (
        "cause over 64 characters",
        j(report(cause="x" * 65)),
        "cause: String should have at most 64 characters",
    ),
    (
        "description over 2000 characters",
        j(report(description="长" * 2001)),
        "description: String should have at most 2000 characters",
    ),
    ("unknown field", j(report(phone="13900000000")), "phone: Extra inputs are not permitted"),
    ("no policy", j(report(policy_numbers=[])), "policy_numbers: List should have at least 1 item"),
    (
        "unknown outcome",
        j(report(outcome="injury")),
        "outcome: Input should be 'death', 'disability', 'medical'",
    ),
    ("missing accident date", j(report(accident_date=None)), "accident_date: Field required"),
    (
        "unknown policy",
        j(report(policy_numbers=["FA2021XX9999"])),
        "policy_numbers[0]: unknown policy 'FA2021XX9999'",
    ),
    (
        "policy that does not insure the person",
        j(report(policy_numbers=["FA2022YH0003"])),
        "policy_numbers[0]: the insured person P0002 is not insured by policy FA2022YH0003",
    ),
    (
        "policy listed twice",
        j(report(policy_numbers=["FA2021NX0001", "FA2021NX0001"])),
        "policy_numbers: a policy number is listed twice",
    ),
    (
        "accident outside the policy period",
        j(report(accident_date="2022-01-05", reported_on="2022-01-06")),
        "accident_date: 2022-01-05 is outside the period of policy FA2021NX0001 (2021-01-01 to 2021-12-31)",
    ),
    (
        "accident in the future",
        j(report(accident_date=str(date.today() + timedelta(days=30)), reported_on=None)),
        "is in the future",
    ),
    (
        "reported before the accident",
        j(report(reported_on="2021-11-19")),
        "reported_on: 2021-11-19 is before the accident date 2021-11-20",
    ),
    (
        "disability grade 11",
        j(report(outcome="disability", disability_grade=11)),
        "disability_grade: 11 is not a JR/T 0083-2013 grade (1 to 10)",
    ),
    (
        "reporter of another village",
        j(report(reporter={"id": "sec.x", "role": "village_secretary", "village": "别村"})),
        "reporter: the report names sec.x (village_secretary) but you are handler.ningxiang (handler)",
    ),
    (
        "reporter id in Chinese characters",
        j(report(reporter={"id": "张书记", "role": "village_secretary"})),
        "reporter.id: String should match pattern",
    ),
]


@pytest.mark.parametrize(("case", "content", "message"), REPORT_FILES, ids=[c[0] for c in REPORT_FILES])
def test_a_bad_report_file_is_refused_with_a_clear_message_and_changes_nothing(
    world: World, case: str, content: bytes, message: str
) -> None:
    before = world.snapshot()
    path = world.tmp / "report.json"
    path.write_bytes(content)
    out = world.run("report", "--file", str(path))
    assert out.exit_code != 0, out.output
    assert message in out.output, out.output
    assert not any(number in out.output for number in [*IDS, UNKNOWN_ID])
    assert world.snapshot() == before


# --------------------------------------------------------------------------- batch imports


def lines(*rows: Any) -> bytes:
    return b"\n".join(r if isinstance(r, bytes) else j(r) for r in rows) + b"\n"


GOOD_2 = report(id_number="430182197503120314", accident_date="2021-03-03", reported_on="2021-03-04")  # P0001
GOOD_3 = report(
    id_number="430111198604230917",
    policy_numbers=["FA2022YH0003"],
    accident_date="2022-02-02",
    reported_on="2022-02-03",
)  # P0006

BATCHES: list[tuple[str, bytes, list[str], list[str]]] = [
    # (case, file, extra CLI flags, expected messages); rows marked good are imported
    (
        "one bad row among good ones",
        lines(GOOD, report(accident_date="2021-02-30"), GOOD_2),
        [],
        ["line 2: accident_date: Input should be a valid date", "2 imported, 1 bad row(s)"],
    ),
    ("a truncated row", lines(GOOD, j(GOOD_2)[:40]), [], ["line 2: ", "1 imported, 1 bad row(s)"]),
    (
        "a row that is not an object",
        lines(b"[1, 2]", GOOD),
        [],
        ["line 1: a row must be a JSON object", "1 imported, 1 bad row(s)"],
    ),
    (
        "a row not matching the register, every bad row with its line",
        lines(GOOD, report(id_number=UNKNOWN_ID), b"", {**GOOD_2, "policy_numbers": ["NOPE"]}, GOOD_3),
        [],
        [
            f"line 2: id_number: no insured person {UNKNOWN_MASKED}",
            "line 4: policy_numbers[0]: unknown policy",
            "2 imported, 2 bad row(s)",
        ],
    ),
    (
        "all or nothing with one bad row",
        lines(GOOD, GOOD_2, report(claimed_amount="1,000")),
        ["--all-or-nothing"],
        [
            "line 3: claimed_amount: Value error, '1,000' is not an amount in yuan",
            "1 bad row(s); nothing imported (--all-or-nothing)",
        ],
    ),
    (
        "all or nothing with a row not matching the register",
        lines(GOOD, report(id_number="４３０１８２１９７８０５２００４２４"), GOOD_3),
        ["--all-or-nothing"],
        ["line 2: id_number: contains full-width characters", "nothing imported"],
    ),
    (
        "a batch in neither UTF-8 nor GB18030 (a GBK batch is read: tests/test_tabular.py)",
        b'{"a": "\x80"}\n',
        [],
        ["line 1: neither UTF-8 nor GB18030/GBK"],
    ),
]


@pytest.mark.parametrize(("case", "content", "flags", "messages"), BATCHES, ids=[b[0] for b in BATCHES])
def test_a_batch_reports_every_bad_row_by_line_and_imports_the_good_ones_or_none(
    world: World, case: str, content: bytes, flags: list[str], messages: list[str]
) -> None:
    before = world.snapshot()
    path = world.tmp / "batch.jsonl"
    path.write_bytes(content)
    out = world.run("import", str(path), *flags)
    assert out.exit_code != 0, out.output
    for message in messages:
        assert message in out.output, out.output
    assert not any(number in out.output for number in [*IDS, UNKNOWN_ID])
    imported = int(out.output.split(" imported")[0].split()[-1]) if " imported," in out.output else 0
    claims, payouts, started = world.snapshot()
    assert claims[: len(before[0])] == before[0] or set(before[0]) <= set(claims)  # recorded claims unchanged
    assert len(claims) == len(before[0]) + imported and payouts == before[1]
    assert len(started) == len(before[2]) + imported
    if "--all-or-nothing" in flags or any("neither UTF-8" in m for m in messages):
        assert world.snapshot() == before


# --------------------------------------------------------------------------- handler steps

STEPS: list[tuple[str, list[str], str]] = [
    (
        "transfer reference over 64 characters",
        ["pay", "C1", "--transfer-ref", "T" * 65],
        "transfer_ref: String should have at most 64 characters",
    ),
    (
        "medical expenses with thousands separators",
        ["adjudicate", "C1", "--outcome", "medical", "--cause", "fall", "--medical", "1,000.00"],
        "medical_expenses: Value error, '1,000.00' is not an amount in yuan",
    ),
    (
        "negative medical expenses",
        ["adjudicate", "C1", "--outcome", "medical", "--cause", "fall", "--medical", "-5"],
        "medical_expenses: Input should be greater than or equal to 0",
    ),
    (
        "a grade that is not a number",
        ["adjudicate", "C1", "--outcome", "disability", "--cause", "fall", "--grade", "一"],
        "'一' is not a valid integer",
    ),
    (
        "a note over 2000 characters",
        ["complete-documents", "C1", "--note", "注" * 2001],
        "note: String should have at most 2000 characters",
    ),
    (
        "a handler id with spaces",
        ["reassign", "C1", "--handler", "handler b"],
        "handler: String should match pattern",
    ),
    ("no document named", ["request-documents", "C1"], "Missing option '--doc'"),
    (
        "a file sent back by hand, not from the store",
        ["reject-document", "C1"],
        "use `claims doc reject N DOC_ID --reason R`",
    ),
    (
        "an unknown outcome",
        ["adjudicate", "C1", "--outcome", "injury", "--cause", "x"],
        "'injury' is not one of",
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), STEPS, ids=[s[0] for s in STEPS])
def test_a_bad_handler_step_is_refused_before_it_reaches_the_claim(
    world: World, case: str, args: list[str], message: str
) -> None:
    before = world.snapshot()
    out = world.run("step", *args)
    assert out.exit_code != 0 and message in out.output, out.output
    assert world.temporal.updates == [] and world.snapshot() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "king"], "--role: 'king' is not a role"),
        (["--actor", "张三"], "--actor/--role: id: String should match pattern"),
    ],
    ids=["an unknown role", "a staff id in Chinese characters"],
)
def test_a_bad_identity_is_refused_before_any_step(world: World, args: list[str], message: str) -> None:
    before = world.snapshot()
    out = world.run(*args, "step", "register", "C1")
    assert out.exit_code != 0 and message in out.output, out.output
    assert world.temporal.updates == [] and world.snapshot() == before


# --------------------------------------------------------------------------- terms files

TERMS = json.loads((REPO / "rules/terms/family_accident@2020.json").read_text("utf-8"))


def terms(**changes: Any) -> bytes:
    out = copy.deepcopy(TERMS)
    out.update(changes)
    return j(out)


TERMS_FILES: list[tuple[str, str, bytes, str]] = [
    (
        "truncated JSON",
        "family_accident@2020.json",
        j(TERMS)[:300],
        "not valid UTF-8 JSON (Unterminated string",
    ),
    (
        "GBK encoding",
        "family_accident@2020.json",
        json.dumps(TERMS, ensure_ascii=False).encode("gbk"),
        "not valid UTF-8 JSON ('utf-8' codec can't decode",
    ),
    (
        "amount with thousands separators",
        "family_accident@2020.json",
        terms(sum_insured_options=["40,000.00"]),
        "sum_insured_options[0] (clause '40,000.00'): an amount in yuan '40,000.00' is not a number",
    ),
    (
        "a date like 2019-02-30",
        "family_accident@2020.json",
        terms(effective_from="2019-02-30"),
        "effective_from: Input should be a valid date or datetime, day value is outside expected range",
    ),
    (
        "unknown field",
        "family_accident@2020.json",
        terms(colour="red"),
        "colour: Extra inputs are not permitted; fix: remove the field",
    ),
    (
        "file named for another version",
        "family_accident@2021.json",
        terms(),
        "file defines 'family_accident@2020'; fix: rename the file to family_accident@2020.json",
    ),
    (
        "negative age",
        "family_accident@2020.json",
        terms(eligibility={"min_age": 0, "max_age": -3}),
        "eligibility.max_age: Input should be greater than or equal to 0",
    ),
]


@pytest.mark.parametrize(("case", "name", "content", "message"), TERMS_FILES, ids=[t[0] for t in TERMS_FILES])
def test_a_bad_terms_file_is_refused_and_the_catalogue_is_unchanged(
    tmp_path: Path, case: str, name: str, content: bytes, message: str
) -> None:
    before = {t.terms_version: t.sha256 for t in load_catalogue()}
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TermsError) as e:
        load_terms_file(path)
    assert message in str(e.value)
    assert {t.terms_version: t.sha256 for t in load_catalogue()} == before


# --------------------------------------------------------------------------- calendar files

NOTICE = {
    "version": "gov-2027",
    "notice_title": "国务院办公厅关于2027年部分节假日安排的通知",
    "notice_date": "2026-11-01",
    "year": 2027,
    "holidays": [{"date": "2027-10-01", "name": "国庆节"}],
    "workdays": [],
}


def notice(**changes: Any) -> bytes:
    out = copy.deepcopy(NOTICE)
    out.update(changes)
    return j(out)


CALENDAR_FILES: list[tuple[str, bytes, str]] = [
    ("truncated JSON", j(NOTICE)[:50], "Invalid JSON: EOF while parsing"),
    ("GBK encoding", json.dumps(NOTICE, ensure_ascii=False).encode("gbk"), "save the file as UTF-8 JSON"),
    (
        "a date like 2027-02-30",
        notice(holidays=[{"date": "2027-02-30", "name": "春节"}]),
        "holidays[0].date: '2027-02-30': Input should be a valid date in the format YYYY-MM-DD",
    ),
    (
        "a date outside the year",
        notice(holidays=[{"date": "2028-10-01", "name": "国庆节"}]),
        "2028-10-01 (Sunday) lies outside the file's year 2027",
    ),
    (
        "a date both holiday and working day",
        notice(workdays=["2027-10-01"]),
        "2027-10-01 (Friday) is listed both as a holiday and as a working day",
    ),
    ("unknown field", notice(colour=1), "colour: 1: Extra inputs are not permitted"),
    (
        "a version with spaces",
        notice(version="gov 2027!"),
        "version: 'gov 2027!': String should match pattern",
    ),
    ("a title over 300 characters", notice(notice_title="通" * 301), "notice_title:"),
    (
        "a year in Chinese numerals",
        notice(year="二〇二七"),
        "year: '二〇二七': Input should be a valid integer",
    ),
]


@pytest.mark.parametrize(("case", "content", "message"), CALENDAR_FILES, ids=[c[0] for c in CALENDAR_FILES])
def test_a_bad_calendar_file_is_refused_and_the_calendar_is_unchanged(
    tmp_path: Path, case: str, content: bytes, message: str
) -> None:
    cal = WorkingCalendar()
    version = cal.calendar_version
    days = [date(2027, 10, 1) + timedelta(days=i) for i in range(10)]
    before = [cal.is_working_day(d) for d in days]
    path = tmp_path / "gov-2027.json"
    path.write_bytes(content)
    with pytest.raises(CalendarError) as e:
        cal.load_file(path)
    assert message in str(e.value)
    assert cal.calendar_version == version and [cal.is_working_day(d) for d in days] == before


def test_the_catalogue_has_at_least_forty_bad_inputs() -> None:
    total = len(REPORT_FILES) + len(BATCHES) + len(STEPS) + 2 + len(TERMS_FILES) + len(CALENDAR_FILES)
    assert total >= 40


# --------------------------------------------------------------------------- issue 17: lifecycle steps (helper L1)

LIFECYCLE_STEPS: list[tuple[str, list[str], str]] = [
    ("a withdrawal without a reason", ["withdraw", "C1"], "Missing option '--reason'"),
    (
        "a close with an unknown reason code",
        ["close", "C1", "--reason-code", "mistake"],
        "'mistake' is not one of 'duplicate', 'error'",
    ),
    (
        "a reopen with an unknown reason code",
        ["reopen", "C1", "--reason-code", "appeal2"],
        "'appeal2' is not one of",
    ),
    (
        "an advance of nothing",
        ["pay-advance", "C1", "--amount", "0", "--transfer-ref", "ADV-1"],
        "amount: Input should be greater than 0",
    ),
    (
        "a negative advance",
        ["pay-advance", "C1", "--amount", "-100", "--transfer-ref", "ADV-1"],
        "amount: Input should be greater than 0",
    ),
    (
        "an advance in fen fractions",
        ["pay-advance", "C1", "--amount", "100.005", "--transfer-ref", "ADV-1"],
        "amount:",
    ),
    (
        "an advance without a transfer reference",
        ["pay-advance", "C1", "--amount", "100"],
        "Missing option '--transfer-ref'",
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), LIFECYCLE_STEPS, ids=[s[0] for s in LIFECYCLE_STEPS])
def test_a_bad_lifecycle_step_is_refused_before_it_reaches_the_claim(
    world: World, case: str, args: list[str], message: str
) -> None:
    before = world.snapshot()
    out = world.run("step", *args)
    assert out.exit_code != 0 and message in out.output, out.output
    assert world.temporal.updates == [] and world.snapshot() == before


async def test_an_advance_above_what_can_be_established_is_refused_and_nothing_is_paid(harness: Any) -> None:
    from decimal import Decimal

    from claims.models import PayAdvanceInput, RejectionCode
    from tests.test_lifecycle import HANDLER, refused, road, to_adjudication

    number = await harness.report(road(harness, date(2022, 10, 4)))
    await to_adjudication(harness, number)
    e = await refused(
        harness, number, PayAdvanceInput(actor=HANDLER, amount=Decimal("36000.01"), transfer_ref="ADV-X")
    )
    assert e.code == RejectionCode.ADVANCE_ABOVE_ESTABLISHED.value
    assert "more than can be established now (36000.00 yuan)" in str(e)
    with harness.sessions() as s:
        assert list(s.scalars(select(Payout).where(Payout.claim_number == number))) == []


async def test_a_reopen_outside_the_reopen_period_is_refused(skipping: Any, sqlite_sessions: Any) -> None:
    from claims.domain.workdays import WorkingCalendar
    from claims.models import DeclineInput, ReopenInput, ReopenReason, RejectionCode
    from claims.services.client import perform_step
    from rules.engine import RulesEngine
    from tests.support.harness import Harness
    from tests.test_lifecycle import HANDLER, REOPEN_POLICY, SUPERVISOR, refused, road, to_adjudication
    from worker import build_worker

    h = Harness(skipping.client, sqlite_sessions)
    async with build_worker(
        skipping.client,
        sqlite_sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=WorkingCalendar(),
        sla_policy=REOPEN_POLICY,  # 90 days
    ):
        number = await h.report(road(h, date(2022, 10, 11)))
        await to_adjudication(h, number)
        await perform_step(h.client, number, DeclineInput(actor=HANDLER, reasons=["not covered"]))
        await skipping.sleep(timedelta(days=91))  # the SLA policy's 90 days
        e = await refused(h, number, ReopenInput(actor=SUPERVISOR, reason_code=ReopenReason.APPEAL))
        assert e.code == RejectionCode.CLAIM_ENDED.value
        with sqlite_sessions() as s:
            assert s.get(Claim, number).stage == "declined"  # type: ignore[union-attr]


# ----------------------------------------------------------------------- issue 17: review, batches (L2)

SUPERVISOR = ["--actor", "sup.ningxiang", "--role", "supervisor"]
REVIEW_AND_BATCH: list[tuple[str, list[str], str]] = [
    (
        "a referral to investigation without a reason",
        ["step", "refer-to-siu", "C1"],
        "Missing option '--reason'",
    ),
    (
        "a referral to investigation with an empty reason",
        ["step", "refer-to-siu", "C1", "--reason", ""],
        "reason:",
    ),
    (
        "a payout batch without an event",
        ["payout-batch", "create", "--county", "宁乡市", "--event", "", "C1"],
        "event:",
    ),
    (
        "a payout batch naming a claim twice",
        [*SUPERVISOR, "payout-batch", "create", "--county", "宁乡市", "--event", "现场理赔会", "C1", "C1"],
        "claims: C1 named twice",
    ),
    (
        "a payout batch without claims",
        ["payout-batch", "create", "--county", "宁乡市", "--event", "现场理赔会"],
        "Missing argument 'CLAIMS...'",
    ),
    (
        "a batch payment with a line break in the transfer reference",
        ["payout-batch", "pay", "PB1", "--transfer-ref", "TRF\n2"],
        "transfer_ref:",
    ),
    (
        "a batch cancelled without a reason",
        [*SUPERVISOR, "payout-batch", "cancel", "PB1", "--reason", ""],
        "reason:",
    ),
    (
        "a batch cancelled with a reason of 501 characters",
        [*SUPERVISOR, "payout-batch", "cancel", "PB1", "--reason", "改" * 501],
        "reason:",
    ),
]


@pytest.mark.parametrize(("case", "args", "message"), REVIEW_AND_BATCH, ids=[s[0] for s in REVIEW_AND_BATCH])
def test_a_bad_review_or_batch_command_is_refused_before_it_reaches_a_claim(
    world: World, case: str, args: list[str], message: str
) -> None:
    before = world.snapshot()
    out = world.run(*args)
    assert out.exit_code == 2 and message in out.output, out.output
    assert world.temporal.updates == [] and world.snapshot() == before


async def test_a_batch_with_a_closed_claim_is_refused_naming_it(harness: Any) -> None:
    from claims.models import PayInput
    from claims.services.batches import NotPayable, create_batch
    from claims.services.client import perform_step
    from claims.store.batches import PayoutBatch
    from tests.test_batches import HANDLER, ID_NUMBERS, SUPERVISOR, services, to_payout

    payable = await to_payout(harness, ID_NUMBERS[0], 5)
    closed = await to_payout(harness, ID_NUMBERS[1], 5)
    await perform_step(harness.client, closed, PayInput(actor=HANDLER, transfer_ref="TRF-ALONE"))
    with pytest.raises(NotPayable, match=rf"claim {closed} is at stage 'closed' \(already paid\)"):
        await create_batch(services(harness), SUPERVISOR, "宁乡市", [payable, closed], "现场理赔会")
    with harness.sessions() as s:
        assert list(s.scalars(select(PayoutBatch))) == []

