"""The store: register, intake checks, duplicate reports, payout ledger, projection (SQLite, PostgreSQL),
and intake over a small connection pool."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, inspect, select
from temporalio.testing import WorkflowEnvironment

from claims.services.client import report_claim
from claims.store.db import (
    Claim,
    Household,
    Notification,
    Payout,
    Policy,
    make_sessionmaker,
    unit_of_work,
    upgrade_database,
)
from claims.domain.identity import (
    IdentityNumberError,
    check_digit,
    mask_id_number,
    mask_text,
    validate_id_number,
)
from claims.models import (
    Actor,
    BenefitLine,
    CaseClass,
    ClaimProjection,
    ClaimReport,
    PayoutRequest,
    Role,
    SlaState,
    Stage,
    projection_seq,
)
from claims.store import (
    RegisterError,
    RegisterFile,
    ReportError,
    add_notification,
    intake_report,
    load_register,
    overdue_claims,
    record_payout,
    update_projection,
)
from tests.conftest import REPO
from tests.support.harness import Harness

NOW = datetime(2022, 3, 8, 2, 0, tzinfo=UTC)
TODAY = date(2022, 3, 8)
SECRETARY = Actor(id="sec.dachengqiao", role=Role.VILLAGE_SECRETARY)


def demo_register() -> RegisterFile:
    return RegisterFile.model_validate(json.loads((REPO / "data/demo/register.json").read_text("utf-8")))


def report(**over: Any) -> ClaimReport:
    fields: dict[str, Any] = dict(
        policy_numbers=["FA2021NX0001"],
        id_number="430182197503120314",
        accident_date=date(2021, 6, 26),
        reported_on=date(2022, 3, 8),
        outcome="disability",
        cause="fall_from_height",
        disability_grade=1,
        reporter=SECRETARY,
    )
    fields.update(over)
    return ClaimReport(**fields)


# --------------------------------------------------------------------------- identity numbers


def test_gb11643_check_digit_is_computed_with_iso7064_mod_11_2() -> None:
    assert check_digit("43018219750312031") == "4"
    assert check_digit("11010519491231002") == "X"  # the standard's own example
    assert validate_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    "bad, words",
    [
        ("430182197503120315", "check digit does not match"),
        ("43018219750312031", "17 digits followed by a digit or X"),
        ("４３０１８２１９７５０３１２０３１４", "full-width"),
        ("430182197502300314", "not a real date"),
    ],
)
def test_malformed_identity_numbers_are_refused_with_the_reason(bad: str, words: str) -> None:
    with pytest.raises(IdentityNumberError, match=words):
        validate_id_number(bad)


def test_identity_numbers_and_cards_are_masked_in_text() -> None:
    assert mask_id_number("430182197503120314") == "430182********0314"
    assert (
        mask_text("id 430182197503120314, card 6217001234567890121")
        == "id 430182********0314, card ***************0121"
    )


# --------------------------------------------------------------------------- register and intake


def test_register_loads_the_demo_households(store_sessions: Any) -> None:
    with store_sessions() as s:
        assert load_register(s, demo_register()) == {"households": 3, "persons": 7, "policies": 4}
        # Loading again updates in place.
        assert load_register(s, demo_register()) == {"households": 3, "persons": 7, "policies": 4}


def test_register_policy_naming_a_stranger_is_refused_and_nothing_written(store_sessions: Any) -> None:
    data = demo_register().model_dump(mode="json")
    data["households"][0]["policies"][0]["insured"].append("P9999")
    with pytest.raises(RegisterError, match="P9999"), unit_of_work(store_sessions) as s:
        load_register(s, RegisterFile.model_validate(data))
    with store_sessions() as s:  # the households before the bad policy were rolled back too
        assert s.scalar(select(func.count()).select_from(Household)) == 0


def test_intake_of_the_greenhouse_fall_gives_an_event_claim_number(store_sessions: Any) -> None:
    with store_sessions() as s:
        load_register(s, demo_register())
        result = intake_report(s, report(), NOW, TODAY)
    assert result.created
    assert result.claim.claim_number == "JS20210626-P0001"
    assert result.workflow_id == "claim-JS20210626-P0001"
    assert result.claim.county == "宁乡市" and result.claim.township == "大成桥镇"
    assert [p.sum_insured for p in result.claim.policies] == [Decimal("40000.00")]
    assert result.claim.insured.person_ref == "P0001"
    assert "430182" not in result.claim.model_dump_json()  # no identity number leaves the store


def test_second_report_of_the_same_event_returns_the_existing_claim(store_sessions: Any) -> None:
    with store_sessions() as s:
        load_register(s, demo_register())
        first = intake_report(s, report(), NOW, TODAY)
        second = intake_report(
            s, report(description="reported again by phone"), NOW + timedelta(hours=1), TODAY
        )
        assert not second.created
        assert second.claim.claim_number == first.claim.claim_number
        assert s.scalar(select(func.count()).select_from(Claim)) == 1


@pytest.mark.parametrize(
    "over, field, words",
    [
        ({"id_number": "430182197503120315"}, "id_number", "check digit"),
        ({"id_number": "11010519491231002X"}, "id_number", "no insured person"),
        ({"policy_numbers": ["NOPE"]}, "policy_numbers[0]", "unknown policy"),
        ({"policy_numbers": ["FA2022YH0003"]}, "policy_numbers[0]", "not insured by policy"),
        ({"accident_date": date(2022, 3, 9), "reported_on": None}, "accident_date", "in the future"),
        ({"accident_date": date(2020, 12, 31)}, "accident_date", "outside the period"),
        ({"reported_on": date(2022, 3, 9)}, "reported_on", "in the future"),
        ({"reported_on": date(2021, 6, 25)}, "reported_on", "before the accident"),
        ({"disability_grade": 11}, "disability_grade", "1 to 10"),
    ],
)
def test_bad_reports_name_the_field_and_record_nothing(
    store_sessions: Any, over: dict[str, Any], field: str, words: str
) -> None:
    with unit_of_work(store_sessions) as s:
        load_register(s, demo_register())
        # An earlier good claim in the same transaction must survive the bad report untouched.
        intake_report(s, report(id_number="430182197805200424", accident_date=date(2021, 7, 1)), NOW, TODAY)
        with pytest.raises(ReportError, match=words) as err:
            intake_report(s, report(**over), NOW, TODAY)
        assert err.value.field == field and err.value.code == "report.invalid"
    with store_sessions() as s:
        numbers = s.scalars(select(Claim.claim_number)).all()
    assert numbers == ["JS20210701-P0002"]


def test_negative_or_non_numeric_amounts_are_refused_by_the_report_model() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="claimed_amount"):
        report(claimed_amount="-5")
    with pytest.raises(ValidationError, match="claimed_amount"):
        report(claimed_amount="40,000")
    with pytest.raises(ValidationError, match="cause"):
        ClaimReport(
            policy_numbers=["X"],
            id_number="1",
            accident_date=date(2021, 1, 1),
            outcome="death",
            reporter=SECRETARY,
        )  # type: ignore[call-arg]


# --------------------------------------------------------------------------- payout ledger


def _line(policy: str, amount: str) -> BenefitLine:
    return BenefitLine(
        policy_number=policy,
        product_code="p",
        terms_version="p@1",
        terms_hash="h",
        benefit_id="death",
        kind="accidental_death",
        amount=Decimal(amount),
        formula="f",
        rule_ids=["r"],
    )


def test_payout_writes_one_row_per_payment_and_a_retry_writes_none(store_sessions: Any) -> None:
    with unit_of_work(store_sessions) as s:
        load_register(s, demo_register())
        claim = intake_report(
            s,
            report(
                policy_numbers=["HC2022LL0002", "EA2022LL0002"],
                id_number="430281195402070717",
                accident_date=date(2022, 5, 18),
                reported_on=date(2022, 5, 19),
                outcome="death",
                cause="drowning",
                disability_grade=None,
            ),
            NOW + timedelta(days=80),
            date(2022, 5, 27),
        )
        req = PayoutRequest(
            claim_number=claim.claim.claim_number,
            transfer_ref="TRF-1",
            lines=[_line("HC2022LL0002", "100000.00"), _line("EA2022LL0002", "32000.00")],
            paid_at=NOW + timedelta(days=81),
        )
        first = record_payout(s, req)
        again = record_payout(s, req)  # the activity retried after its write
    assert [(p.payment_number, p.amount) for p in first] == [
        (1, Decimal("100000.00")),
        (2, Decimal("32000.00")),
    ]
    assert again == first
    with store_sessions() as s:
        assert s.scalar(select(func.sum(Payout.amount))) == Decimal("132000.00")
        assert s.scalar(select(func.count()).select_from(Payout)) == 2


def test_projection_feeds_the_overdue_list_most_late_first(store_sessions: Any) -> None:
    with store_sessions() as s:
        load_register(s, demo_register())
        a = intake_report(s, report(), NOW, TODAY).claim
        b = intake_report(
            s,
            report(
                id_number="430111198604230917",
                policy_numbers=["FA2022YH0003"],
                accident_date=date(2022, 3, 7),
            ),
            NOW,
            TODAY,
        ).claim
        for claim, due, state in (
            (a, NOW + timedelta(days=1), SlaState.ON_TRACK),
            (b, NOW - timedelta(days=2), SlaState.BREACHED),
        ):
            update_projection(
                s,
                ClaimProjection(
                    claim_number=claim.claim_number,
                    workflow_id="w",
                    stage=Stage.DOCUMENTS,
                    county=claim.county,
                    township=claim.township,
                    village=claim.village,
                    assigned_handler="h1",
                    green_channel=False,
                    case_class=CaseClass.ORDINARY,
                    sla_state=state,
                    sla_deadline=due,
                    target_working_days=5,
                    reported_at=NOW,
                ),
                NOW,
            )
        now = NOW + timedelta(hours=1)
        assert [c.claim_number for c in overdue_claims(s, now)] == [b.claim_number]
        assert [c.claim_number for c in overdue_claims(s, now, timedelta(days=2))] == [
            b.claim_number,
            a.claim_number,
        ]
        assert overdue_claims(s, now, county="宁乡市") == []
        row = s.get(Claim, b.claim_number)
        assert row is not None and row.sla_deadline == NOW - timedelta(days=2)


def _view(claim: Any, seq: int, stage: Stage, paid: str = "0") -> ClaimProjection:
    """A workflow's view of ``claim`` (an intake result's claim) numbered ``seq``."""
    return ClaimProjection(
        claim_number=claim.claim_number,
        workflow_id="w",
        stage=stage,
        county=claim.county,
        township=claim.township,
        village=claim.village,
        assigned_handler="h1",
        green_channel=False,
        case_class=CaseClass.ORDINARY,
        sla_state=SlaState.MET if stage == Stage.CLOSED else SlaState.ON_TRACK,
        sla_deadline=None,
        target_working_days=5,
        reported_at=NOW,
        total_paid=Decimal(paid),
        seq=seq,
    )


def test_a_late_projection_write_of_an_older_view_is_skipped(store_sessions: Any) -> None:
    """A project_claim retried after a worker crash lands after the claim moved on: the row
    keeps the later view (the stage never goes back), on SQLite and PostgreSQL."""
    with store_sessions() as s:
        load_register(s, demo_register())
        claim = intake_report(s, report(), NOW, TODAY).claim

        assert update_projection(s, _view(claim, 1, Stage.REPORTED, "0"), NOW) is True
        assert (
            update_projection(s, _view(claim, 9, Stage.CLOSED, "40000.00"), NOW + timedelta(hours=2)) is True
        )
        assert update_projection(s, _view(claim, 1, Stage.REPORTED, "0"), NOW + timedelta(hours=3)) is False
        assert (
            update_projection(s, _view(claim, 9, Stage.CLOSED, "40000.00"), NOW + timedelta(hours=3)) is False
        )
        s.expire_all()
        row = s.get(Claim, claim.claim_number)
        assert row is not None
        assert (row.stage, row.total_paid, row.projection_seq) == ("closed", Decimal("40000.00"), 9)
        assert row.updated_at == NOW + timedelta(hours=2)
        with pytest.raises(KeyError, match="JS20990101-NOBODY has no intake record"):
            update_projection(
                s,
                _view(claim, 10, Stage.CLOSED, "0").model_copy(update={"claim_number": "JS20990101-NOBODY"}),
                NOW,
            )


def test_a_claim_whose_workflow_was_started_again_overrides_the_old_runs_row(store_sessions: Any) -> None:
    """A workflow gone from Temporal is started again by report_claim: the new run counts its
    views from 1 again, but its later start puts every one above the old run's."""
    first_run, second_run = NOW, NOW + timedelta(days=3)
    assert projection_seq(first_run, 7) < projection_seq(second_run, 1)
    assert projection_seq(second_run, 1) == 1_646_964_000_000_000_001  # 2022-03-11T02:00Z in ms, × 10^6, + 1
    with store_sessions() as s:
        load_register(s, demo_register())
        claim = intake_report(s, report(), NOW, TODAY).claim

        assert update_projection(s, _view(claim, projection_seq(first_run, 7), Stage.ADJUDICATION), NOW)
        assert update_projection(s, _view(claim, projection_seq(second_run, 1), Stage.REPORTED), second_run)
        # the old run's last activity, retried, lands after the new run's first write
        assert not update_projection(s, _view(claim, projection_seq(first_run, 8), Stage.PAYOUT), second_run)
        s.expire_all()
        row = s.get(Claim, claim.claim_number)
        assert row is not None and (row.stage, row.projection_seq) == (
            "reported",
            projection_seq(second_run, 1),
        )


@pytest.mark.parametrize(
    ("started", "publishes", "match"),
    [
        (datetime(2026, 3, 10, 9, 0), 1, "timezone-aware"),
        (NOW, 0, "publishes must be 1..999999, got 0"),
        (NOW, 1_000_000, "publishes must be 1..999999, got 1000000"),
    ],
)
def test_projection_seq_refuses_a_naive_start_or_a_counter_out_of_range(
    started: datetime, publishes: int, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        projection_seq(started, publishes)


def test_reloading_the_register_cannot_change_a_policy_that_claims_were_made_under(
    store_sessions: Any,
) -> None:
    with unit_of_work(store_sessions) as s:
        load_register(s, demo_register())
        intake_report(s, report(), NOW, TODAY)
    data = demo_register().model_dump(mode="json")
    data["households"][0]["policies"][0]["sum_insured"] = "41000.00"
    data["households"][1]["policies"][0]["sum_insured"] = "90000.00"  # no claims yet: may change
    changed = r"FA2021NX0001: sum_insured 40000.00 -> 41000.00 .*JS20210626-P0001"
    with pytest.raises(RegisterError, match=changed), unit_of_work(store_sessions) as s:
        load_register(s, RegisterFile.model_validate(data))
    with store_sessions() as s:
        sums = dict(s.execute(select(Policy.policy_number, Policy.sum_insured)).all())
        assert sums["FA2021NX0001"] == Decimal("40000.00") and sums["HC2022LL0002"] == Decimal("100000.00")
    data["households"][0]["policies"][0]["sum_insured"] = "40000.00"
    with unit_of_work(store_sessions) as s:
        load_register(s, RegisterFile.model_validate(data))
    with store_sessions() as s:
        assert s.scalar(select(Policy.sum_insured).where(Policy.policy_number == "HC2022LL0002")) == Decimal(
            "90000.00"
        )


# --------------------------------------------------------------------------- transactions


def _payout(claim: Any, transfer_ref: str = "TRF-1") -> PayoutRequest:
    return PayoutRequest(
        claim_number=claim.claim_number,
        transfer_ref=transfer_ref,
        lines=[_line(claim.policies[0].policy_number, "40000.00")],
        paid_at=NOW + timedelta(days=5),
    )


def _counts(sessions: Any) -> dict[str, int]:
    with sessions() as s:
        return {
            t.__tablename__: s.scalar(select(func.count()).select_from(t)) or 0
            for t in (Household, Claim, Payout, Notification)
        }


def test_no_store_write_commits_a_caller_that_rolls_back_keeps_nothing(store_sessions: Any) -> None:
    with store_sessions() as s:
        load_register(s, demo_register())
        claim = intake_report(s, report(), NOW, TODAY).claim
        assert update_projection(s, _view(claim, 1, Stage.DOCUMENTS), NOW) is True
        assert [p.amount for p in record_payout(s, _payout(claim))] == [Decimal("40000.00")]
        assert add_notification(s, claim.claim_number, "sla_breach", claim.county, "late", "k1", NOW) is True
        s.rollback()
    assert _counts(store_sessions) == {"households": 0, "claims": 0, "payouts": 0, "notifications": 0}


def test_a_duplicate_notice_or_payment_keeps_the_callers_other_writes(store_sessions: Any) -> None:
    """Keep-theirs writes raise nothing and roll nothing back: a claim reported in the same
    transaction as a notice or payment already recorded is committed with it."""
    with unit_of_work(store_sessions) as s:
        load_register(s, demo_register())
        first = intake_report(s, report(), NOW, TODAY).claim
        assert add_notification(s, first.claim_number, "sla_breach", first.county, "late", "k1", NOW) is True
        record_payout(s, _payout(first))
    with unit_of_work(store_sessions) as s:
        second = intake_report(
            s, report(id_number="430182197805200424", accident_date=date(2021, 7, 1)), NOW, TODAY
        ).claim
        again_queued = add_notification(s, first.claim_number, "sla_breach", first.county, "again", "k1", NOW)
        assert again_queued is False
        again = record_payout(s, _payout(first, "TRF-2"))
    assert [(p.payment_number, p.transfer_ref) for p in again] == [(1, "TRF-1")]
    with store_sessions() as s:
        assert sorted(s.scalars(select(Claim.claim_number))) == [first.claim_number, second.claim_number]
        assert s.scalars(select(Notification.message)).all() == ["late"]
    assert _counts(store_sessions) == {"households": 3, "claims": 2, "payouts": 1, "notifications": 1}


def test_a_dry_run_intake_records_nothing_and_leaves_the_callers_transaction_as_it_was(
    store_sessions: Any,
) -> None:
    with unit_of_work(store_sessions) as s:
        load_register(s, demo_register())
        dry = intake_report(s, report(), NOW, TODAY, dry_run=True)
        assert dry.created and dry.claim.claim_number == "JS20210626-P0001"
        assert s.scalar(select(func.count()).select_from(Claim)) == 0
    assert _counts(store_sessions) == {"households": 3, "claims": 0, "payouts": 0, "notifications": 0}
    # ``claims import --all-or-nothing``: every row checked in one transaction, rolled back
    with store_sessions() as s:
        checked = [intake_report(s, report(), NOW, TODAY, dry_run=True).created for _ in range(2)]
        with pytest.raises(ReportError, match="unknown policy"):
            intake_report(s, report(policy_numbers=["NOPE"]), NOW, TODAY, dry_run=True)
        s.rollback()
    assert checked == [True, True]
    assert _counts(store_sessions)["claims"] == 0


def test_migration_0005_goes_down_and_up_again_on_a_sqlite_store_with_claims(tmp_path: Path) -> None:
    """Batch mode copies ``claims`` to alter it; the payouts' foreign key must not stop that."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    from claims.store.db import MIGRATIONS_DIR, make_engine, make_sessionmaker, upgrade_database

    url = f"sqlite:///{tmp_path / 'claims.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    with unit_of_work(make_sessionmaker(engine)) as s:
        load_register(s, demo_register())
        claim = intake_report(s, report(), NOW, TODAY).claim
        number = claim.claim_number
        req = PayoutRequest(
            claim_number=number,
            transfer_ref="TRF-9",
            lines=[_line(claim.policies[0].policy_number, "40000.00")],
            paid_at=NOW + timedelta(days=5),
        )
        record_payout(s, req)  # a payout row referencing the claim
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url)
    command.downgrade(cfg, "0004")
    assert "projection_seq" not in {c["name"] for c in inspect(engine).get_columns("claims")}
    command.upgrade(cfg, "head")
    with make_sessionmaker(engine)() as s:
        row = s.get(Claim, number)
        assert row is not None and row.projection_seq == 0 and row.stage == "reported"
        assert [p.amount for p in s.scalars(select(Payout).where(Payout.claim_number == number))] == [
            Decimal("40000.00")
        ]
    engine.dispose()


PROJECTION_SCALE_INDEXES = {
    "ix_claims_open",
    "ix_claims_open_sla_state",
    "ix_claims_county_stage",
    "ix_payouts_claim_kind",
    "ix_payouts_paid_at",
}
"""The indexes of migration 0014 (the projection at a province's scale)."""


def _store_indexes(engine: Any) -> dict[str, dict[str, Any]]:
    from sqlalchemy import inspect

    insp = inspect(engine)
    return {i["name"]: i for t in ("claims", "payouts") for i in insp.get_indexes(t) if i["name"]}


def _store_with_a_claim_and_its_migrations(store_sessions: Any) -> tuple[str, Any, Any]:
    """One reported claim in the store; its number, the engine, and an Alembic config on it."""
    from alembic.config import Config

    from claims.store.db import MIGRATIONS_DIR

    with unit_of_work(store_sessions) as s:
        load_register(s, demo_register())
        number = intake_report(s, report(), NOW, TODAY).claim.claim_number
    engine = store_sessions.kw["bind"]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return number, engine, cfg


@pytest.mark.postgres
def test_migration_0014_indexes_go_down_to_0013_and_up_again_on_a_store_with_claims(
    store_sessions: Any,
) -> None:
    """The open-claims indexes are partial (``stage NOT IN`` the three terminal stages) on both
    databases; downgrade drops the five and keeps 0013's inbox index; upgrade brings them back."""
    from alembic import command

    number, engine, cfg = _store_with_a_claim_and_its_migrations(store_sessions)

    indexes = _store_indexes(engine)
    assert PROJECTION_SCALE_INDEXES <= set(indexes)
    assert indexes["ix_claims_open"]["column_names"][:3] == ["county", "assigned_handler", "sla_deadline"]
    assert indexes["ix_payouts_claim_kind"]["column_names"] == ["claim_number", "kind"]
    if engine.dialect.name == "postgresql":
        where = indexes["ix_claims_open"]["dialect_options"]["postgresql_where"]
        assert "closed" in where and "declined" in where and "withdrawn" in where
    command.downgrade(cfg, "0013")
    indexes = _store_indexes(engine)
    assert not PROJECTION_SCALE_INDEXES & set(indexes)
    assert "ix_claims_inbox" in indexes
    assert "reopened" not in {c["name"] for c in inspect(engine).get_columns("claims")}  # 0015 down
    command.upgrade(cfg, "head")
    assert PROJECTION_SCALE_INDEXES <= set(_store_indexes(engine))
    assert "reopened" in {c["name"] for c in inspect(engine).get_columns("claims")}
    with store_sessions() as s:
        assert s.get(Claim, number) is not None


def test_on_sqlite_the_supervisor_counters_and_a_handlers_inbox_read_the_open_claims_index_alone(
    sqlite_sessions: Any,
) -> None:
    """SQLite uses a partial index only when the query's text implies its condition: the
    store's ``OPEN`` renders the terminal stages as literals, so these reads are answered from
    ``ix_claims_open`` (``EXPLAIN QUERY PLAN``), not from every claim of the county."""
    from sqlalchemy import event

    from claims.store import inbox
    from claims.store import supervision as sup
    from claims.store.reports import Scope

    seen: list[tuple[str, Any]] = []
    engine = sqlite_sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", lambda c, cur, st, p, ctx, many: seen.append((st, p)))
    scope = Scope(county="宁乡市")
    with sqlite_sessions() as s:
        sup.counts(s, scope, sup.Windows(now=NOW, horizon=NOW + timedelta(days=1)))
        inbox.view_counts(s, inbox.Reader(scope, handler="h1"), inbox.Windows(NOW, NOW, NOW))
    raw = engine.raw_connection()
    try:
        plans = [
            " | ".join(r[3] for r in raw.cursor().execute("EXPLAIN QUERY PLAN " + st, p).fetchall())
            for st, p in seen
        ]
    finally:
        raw.close()
    assert len(plans) == 2
    assert "NOT IN ('closed', 'declined', 'withdrawn')" in seen[0][0]
    assert plans[0] == "SEARCH claims USING COVERING INDEX ix_claims_open (county=?)"
    a_range = "SEARCH claims USING COVERING INDEX ix_claims_open (county=? AND assigned_handler=?)"
    assert plans[1].count(a_range) == 2


async def test_many_reports_at_once_on_one_loop_do_not_starve_a_small_connection_pool(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # 20 reports at once on one event loop, over a pool of two connections: none may wait out
    # pool_timeout (moved here from test_followup: it is about the store's sessions)
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    upgrade_database(url)
    engine = create_engine(url, pool_size=2, max_overflow=0, pool_timeout=5)
    sessions = make_sessionmaker(engine)
    h = Harness(env.client, sessions)
    base = h.cases[0].report

    async def one(day: int) -> str:
        with sessions() as s:
            rep = ClaimReport.model_validate(
                {**base.model_dump(), "accident_date": f"2021-06-{day:02d}", "reported_on": "2021-06-28"}
            )
            return (await report_claim(env.client, s, rep, task_queue=h.task_queue)).claim.claim_number

    numbers = await asyncio.wait_for(asyncio.gather(*(one(d) for d in range(1, 21))), timeout=60)
    assert len(set(numbers)) == 20
    engine.dispose()


def test_migration_0017_keeps_a_claim_in_its_earliest_open_batch_and_the_database_refuses_a_second(
    store_sessions: Any,
) -> None:
    """``payout_batch_claims.open_claim`` (unique while the batch is open): a claim put in two
    open batches before 0017 stays open only in the earliest; afterwards the database itself
    refuses a second open batch, and paying the batch frees the claim."""
    from alembic import command
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from claims.store import batches

    number, engine, cfg = _store_with_a_claim_and_its_migrations(store_sessions)
    command.downgrade(cfg, "0016")
    batch_columns = {c["name"] for c in sa_inspect(engine).get_columns("payout_batches")}
    assert not {"cancelled_by", "cancelled_at", "cancel_reason"} & batch_columns
    with engine.begin() as c:
        for batch_id, hours, status in (("PB0", -24, "paid"), ("PB1", 0, "open"), ("PB2", 1, "open")):
            c.execute(
                text(
                    "INSERT INTO payout_batches (batch_id, county, event, created_by, created_at, status) "
                    "VALUES (:b, '宁乡市', '现场理赔会', 'sup.a', :at, :st)"
                ),
                {"b": batch_id, "at": NOW + timedelta(hours=hours), "st": status},
            )
            c.execute(
                text("INSERT INTO payout_batch_claims (batch_id, claim_number, position) VALUES (:b, :n, 1)"),
                {"b": batch_id, "n": number},
            )
    command.upgrade(cfg, "head")
    batch_columns = {c["name"] for c in sa_inspect(engine).get_columns("payout_batches")}
    assert {"cancelled_by", "cancelled_at", "cancel_reason"} <= batch_columns
    with store_sessions() as s:
        membership = select(batches.PayoutBatchClaim.batch_id, batches.PayoutBatchClaim.open_claim)
        got = dict(s.execute(membership).all())
        assert got == {"PB0": None, "PB1": number, "PB2": None}
        assert batches.open_batches_of(s, [number]) in ({number: "PB1"}, {number: "PB2"})
    with pytest.raises(IntegrityError):
        with unit_of_work(store_sessions) as s:
            batches.add_batch(s, "PB3", "宁乡市", "又一场", "sup.b", NOW, [number])
    with unit_of_work(store_sessions) as s:
        paid = s.get(batches.PayoutBatch, "PB1")
        assert paid is not None
        batches.mark_paid(s, paid, "TRF-1", "sup.a", NOW)
        s.execute(text("UPDATE payout_batches SET status = 'paid' WHERE batch_id = 'PB2'"))
    with unit_of_work(store_sessions) as s:
        batches.add_batch(s, "PB3", "宁乡市", "又一场", "sup.b", NOW, [number])
    with store_sessions() as s:
        assert batches.open_batches_of(s, [number]) == {number: "PB3"}
        assert s.get(batches.PayoutBatchClaim, ("PB1", number)).open_claim is None  # type: ignore[union-attr]
    # a cancelled batch cannot be taken down to 0016, which would pay it
    with unit_of_work(store_sessions) as s:
        assert batches.mark_cancelled(s, "PB3", "sup.b", NOW, "改期")
    with pytest.raises(RuntimeError, match="1 payout batch\\(es\\) are cancelled"):
        command.downgrade(cfg, "0016")
    assert "cancel_reason" in {c["name"] for c in sa_inspect(engine).get_columns("payout_batches")}
