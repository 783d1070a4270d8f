"""The services layer without click: role and scope rules hold whoever calls them.

A handler cannot load a calendar; a county's handler cannot see another county's claim (it is
"not found", as a claim that does not exist); the overdue view of a county lists that
county's claims only, with their deadlines and working days late.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NoReturn, cast

import pytest
from sqlalchemy import insert
from temporalio.client import Client

from claims.domain.workdays import WorkingCalendar
from claims.errors import ClaimNotFound, NotAllowed
from claims.infra.settings import CalendarSettings, Settings
from claims.models import Actor, RegisterInput, Role
from claims.services import calendar, calendar_admin, intake, steps, views
from claims.services.context import Services
from claims.store.db import Claim, Household, InsuredPerson, Sessions, unit_of_work
from tests.conftest import REPO
from tests.test_bad_input import report

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # Wednesday 10:00 Asia/Shanghai
HANDLER_NINGXIANG = Actor(id="handler.ningxiang", role=Role.HANDLER, county="宁乡市")
SUPERVISOR_LILING = Actor(id="sup.liling", role=Role.SUPERVISOR, county="醴陵市")


class NoTemporal:
    """Stands in for the Temporal client where a service must not reach it."""

    def __getattr__(self, name: str) -> NoReturn:
        raise AssertionError(f"the service reached Temporal ({name})")


def _claims(sessions: Sessions) -> None:
    """Three open claims: two in 宁乡市 (one breached, one due tomorrow), one breached in 醴陵市."""
    rows = [
        ("JS20261101-P0001", "宁乡市", "大成桥镇", "breached", NOW - timedelta(days=3)),
        ("JS20261102-P0002", "宁乡市", "大成桥镇", "at_risk", NOW + timedelta(days=1)),
        ("JS20261103-P0003", "醴陵市", "左权镇", "breached", NOW - timedelta(days=1)),
    ]
    with unit_of_work(sessions) as s:
        s.execute(insert(Household), [dict(id=1, household_no="H1", county="宁乡市", township="t", village="v")])
        s.execute(
            insert(InsuredPerson),
            [
                dict(
                    id=1,
                    person_ref="P0001",
                    household_id=1,
                    name="x",
                    id_number="430182197805200424",
                    sex="F",
                    birth_date=date(1978, 5, 20),
                )
            ],
        )
        s.execute(
            insert(Claim),
            [
                dict(
                    claim_number=number,
                    workflow_id=f"claim-{number}",
                    person_id=1,
                    accident_date=date(2026, 11, i + 1),
                    reported_on=date(2026, 11, i + 1),
                    policy_numbers="FA2021NX0001",
                    outcome="death",
                    stage="documents",
                    county=county,
                    township=township,
                    village="村",
                    assigned_handler="handler.a",
                    green_channel=False,
                    sla_state=sla_state,
                    sla_deadline=due,
                    reported_at=NOW - timedelta(days=10),
                    updated_at=NOW,
                )
                for i, (number, county, township, sla_state, due) in enumerate(rows)
            ],
        )


@pytest.fixture
def services(sqlite_sessions: Sessions, tmp_path: Path) -> Services:
    _claims(sqlite_sessions)
    settings = Settings(calendar=CalendarSettings(folder=tmp_path / "calendar"))
    return Services(settings, sessions=sqlite_sessions, client=cast(Client, NoTemporal()))


def test_a_handler_may_not_load_a_calendar_and_nothing_is_written(services: Services) -> None:
    folder = calendar_admin.schedule_folder(services)
    schedule = REPO / "data" / "samples" / "calendar-2027-EXAMPLE.json"
    with pytest.raises(NotAllowed) as e:
        asyncio.run(calendar_admin.load_schedule(services, HANDLER_NINGXIANG, schedule))
    assert e.value.code == "role.not_allowed"
    assert e.value.params == {"role": "handler"}
    assert str(e.value) == "calendar load: role 'handler' may not load schedules (role: supervisor)"
    assert not folder.exists()


def test_a_claim_outside_the_actors_county_is_not_found(services: Services) -> None:
    with pytest.raises(ClaimNotFound) as e:
        asyncio.run(views.claim_view(services, HANDLER_NINGXIANG, "JS20261103-P0003"))
    assert e.value.code == "claim.not_found"
    assert e.value.claim_number == "JS20261103-P0003"
    # the same answer as for a claim that does not exist at all
    with pytest.raises(ClaimNotFound):
        asyncio.run(views.claim_view(services, HANDLER_NINGXIANG, "JS20991231-P9999"))


def test_the_overdue_view_of_a_county_lists_only_that_countys_claims_with_their_deadlines(
    services: Services,
) -> None:
    cal = WorkingCalendar()
    ningxiang = views.overdue(services, HANDLER_NINGXIANG, cal, NOW, timedelta(days=2))
    listed = [(c.row.claim_number, c.row.county, c.row.sla_deadline, c.working_days_late) for c in ningxiang]
    assert listed == [
        ("JS20261101-P0001", "宁乡市", NOW - timedelta(days=3), 2),  # Sunday to Wednesday: Mon, Tue
        ("JS20261102-P0002", "宁乡市", NOW + timedelta(days=1), 0),
    ]
    liling = views.overdue(services, SUPERVISOR_LILING, cal, NOW)
    assert [(c.row.claim_number, c.row.sla_deadline, c.working_days_late) for c in liling] == [
        ("JS20261103-P0003", NOW - timedelta(days=1), 1),
    ]
    # an unscoped reader (the provincial office) sees every county's breached claims
    everywhere = views.overdue(services, None, cal, NOW)
    assert [c.row.claim_number for c in everywhere] == ["JS20261101-P0001", "JS20261103-P0003"]


def test_the_inbox_of_a_county_handler_holds_that_countys_open_claims_only(services: Services) -> None:
    rows = views.inbox(services, HANDLER_NINGXIANG, "handler.a")
    assert [(r.claim_number, r.county) for r in rows] == [
        ("JS20261101-P0001", "宁乡市"),
        ("JS20261102-P0002", "宁乡市"),
    ]


def test_a_step_filed_in_another_persons_name_is_refused_before_it_reaches_the_claim(
    services: Services,
) -> None:
    someone_else = RegisterInput(actor=Actor(id="handler.b", role=Role.HANDLER))
    with pytest.raises(NotAllowed) as e:
        asyncio.run(steps.perform(services, HANDLER_NINGXIANG, "JS20261101-P0001", someone_else))
    assert e.value.code == "actor.mismatch"
    assert e.value.params == {"actor": "handler.ningxiang"}


def test_a_refused_report_carries_every_problem_by_field_for_the_caller_to_word() -> None:
    caller = Actor(id="handler.ningxiang", role=Role.HANDLER)
    bad = report(accident_date="2021/11/20", claimed_amount="40,000.00", reporter=None)
    with pytest.raises(intake.ReportInvalid) as e:
        intake.read_report(bad, caller)
    assert e.value.code == "report.invalid"
    assert [p.field for p in e.value.problems] == ["accident_date", "claimed_amount"]
    assert e.value.field == "accident_date"
    assert e.value.problems[1].message.startswith("Value error, '40,000.00' is not an amount in yuan")


def test_a_target_falls_due_at_the_closing_hour_of_its_last_working_day() -> None:
    answer = calendar.due(WorkingCalendar(), date(2026, 12, 26), 3)  # a Saturday
    assert answer.received == date(2026, 12, 28)  # counts as received on Monday
    assert answer.deadline.due_at == datetime(2026, 12, 31, 9, 30, tzinfo=UTC)  # 17:30 Asia/Shanghai
    assert not answer.deadline.provisional and answer.provisional_years == ()


def test_first_uses_of_the_store_racing_in_from_many_threads_migrate_once_without_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import claims.services.context as context

    migrations: list[str] = []
    real = context.upgrade_database

    def counted(url: str) -> None:
        migrations.append(url)
        real(url)

    monkeypatch.setattr(context, "upgrade_database", counted)
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path))
    ctx = Services(Settings())
    errors: list[BaseException] = []
    factories: list[Sessions] = []

    def first_use() -> None:
        try:
            factories.append(ctx.sessions)
        except BaseException as e:  # noqa: BLE001 - the test reports any of them
            errors.append(e)

    threads = [threading.Thread(target=first_use) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ctx.close()
    assert errors == []
    assert migrations == [f"sqlite:///{tmp_path / 'claims.db'}"]
    assert len({id(f) for f in factories}) == 1
