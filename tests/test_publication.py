"""Scheduled publication of the monthly report: the workflow on the time-skipping server, the
Schedule on the dev server (created once by two runs of the command; a backfill stands in for
the catch-up after an outage), and the published files' scope.

The register and ledger are ``tests/test_loss_ratio.py``'s: 宁乡市 has four payouts on
2022-06-01 (10:00 Asia/Shanghai). The files are built by a stand-in builder of this module
(a CSV of the county-month's payouts, deterministic) unless the monthly report's own builder
is asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from temporalio.client import Client, ScheduleBackfill, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.reports import MonthlyReportInput, MonthlyReportResult, ReportActivities, first_working_day
from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import WorkingCalendar
from claims.errors import ClaimNotFound, NotAllowed
from claims.infra.settings import get_settings
from claims.models import Actor, Role
from claims.services.context import Services
from claims.services.publication import SCHEDULE_ID, download, ensure_schedule, published
from claims.store.db import Notification, Payout, Sessions, unit_of_work
from claims.store.published import PublishedReport
from tests.support.env import BIN, REPO, TEST_PAYLOAD_KEYS, new_task_queue
from tests.test_loss_ratio import _login, web, world  # noqa: F401 - the register, ledger and console fixtures
from workflows.reports import MonthlyReportWorkflow
from workflows.sandbox import workflow_runner

CAL = WorkingCalendar()
JULY_1 = datetime(2022, 7, 1, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai, a Friday: July's first working day


def stand_in_builder(session: Session, county: str, month: str) -> list[tuple[str, bytes]]:
    """A CSV of the county-month's payouts (paid in the month, Asia/Shanghai), sorted; same
    rows, same bytes."""
    year, mon = int(month[:4]), int(month[5:])
    start = datetime(year, mon, 1, tzinfo=SHANGHAI)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=SHANGHAI)
    from claims.store.db import Claim

    rows = session.execute(
        select(Payout.claim_number, Payout.payment_number, Payout.policy_number, Payout.amount)
        .join(Claim, Claim.claim_number == Payout.claim_number)
        .where(Claim.county == county, Payout.paid_at >= start, Payout.paid_at < end)
        .order_by(Payout.claim_number, Payout.payment_number)
    ).all()
    total = sum((r.amount for r in rows), Decimal(0))
    text = "".join(f"{r[0]},{r[1]},{r[2]},{r[3]}\n" for r in rows) + f"合计,,,{total}\n"
    return [(f"理赔明细_{county}_{month}.csv", "\ufeff".encode() + text.encode())]


def _counts(sessions: Sessions) -> tuple[int, int]:
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(PublishedReport)) or 0,
            s.scalar(
                select(func.count()).select_from(Notification).where(Notification.kind == "monthly_report")
            )
            or 0,
        )


async def _run(client: Client, tq: str, inp: MonthlyReportInput) -> MonthlyReportResult:
    return await client.execute_workflow(
        MonthlyReportWorkflow.run,
        inp,
        id=f"monthly-report-test-{uuid.uuid4()}",
        task_queue=tq,
        result_type=MonthlyReportResult,
    )


def _worker(client: Client, sessions: Sessions, tq: str, builder=stand_in_builder) -> Worker:
    acts = ReportActivities(sessions, CAL, builder)
    return Worker(
        client,
        task_queue=tq,
        workflows=[MonthlyReportWorkflow],
        activities=[acts.plan_publication, acts.publish_county_month],
        activity_executor=ThreadPoolExecutor(4),
        workflow_runner=workflow_runner(),
    )


def test_first_working_day_on_the_official_calendar() -> None:
    assert first_working_day(CAL, 2022, 7).isoformat() == "2022-07-01"
    assert first_working_day(CAL, 2022, 10).isoformat() == "2022-10-08"  # a Saturday made a working day
    assert (
        first_working_day(CAL, 2025, 10).isoformat() == "2025-10-09"
    )  # National Day and mid-autumn to the 8th
    assert first_working_day(CAL, 2027, 1).isoformat() == "2027-01-04"


async def test_workflow_stores_files_with_sha256_and_notifies_once(
    env: WorkflowEnvironment,
    world: Sessions,  # noqa: F811
) -> None:
    tq = new_task_queue()
    async with _worker(env.client, world, tq):
        first = await _run(env.client, tq, MonthlyReportInput(counties=["宁乡市"], scheduled_at=JULY_1))
        assert first.plan.publish and first.plan.month == "2022-06" and first.plan.counties == ["宁乡市"]
        [county] = first.published
        assert county.notified and [f.stored for f in county.files] == [True]
        with world() as s:
            row = s.scalars(select(PublishedReport)).one()
            assert (row.county, row.month, row.filename, row.fmt) == (
                "宁乡市",
                "2022-06",
                "理赔明细_宁乡市_2022-06.csv",
                "csv",
            )
            assert row.sha256 == hashlib.sha256(row.content).hexdigest() == county.files[0].sha256
            assert row.content.startswith(b"\xef\xbb\xbf") and row.content.decode("utf-8-sig").endswith(
                "合计,,,380.50\n"
            )
            note = s.scalars(select(Notification).where(Notification.kind == "monthly_report")).one()
            assert (note.county, note.recipient_role) == ("宁乡市", "supervisor")
            assert "2022-06 理赔明细已发布" in note.message
        assert _counts(world) == (1, 1)

        again = await _run(env.client, tq, MonthlyReportInput(counties=["宁乡市"], scheduled_at=JULY_1))
        assert [f.stored for f in again.published[0].files] == [False] and not again.published[0].notified
        assert again.published[0].files[0].sha256 == county.files[0].sha256
        assert _counts(world) == (1, 1)  # nothing new stored, nobody notified again

        # a payment recorded late for June changes the bytes: a new version and a new notice
        with unit_of_work(world) as s:
            s.add(
                Payout(
                    claim_number="C3",
                    payment_number=1,
                    policy_number="FA1",
                    benefit_id="medical",
                    amount=Decimal("19.50"),
                    transfer_ref="T-late",
                    paid_at=datetime(2022, 6, 30, 15, 0, tzinfo=UTC),
                )
            )
        later = await _run(env.client, tq, MonthlyReportInput(counties=["宁乡市"], month="2022-06"))
        assert later.published[0].files[0].stored and later.published[0].notified
        assert _counts(world) == (2, 2)


async def test_not_the_first_working_day_publishes_nothing(env: WorkflowEnvironment, world: Sessions) -> None:  # noqa: F811
    tq = new_task_queue()
    async with _worker(env.client, world, tq):
        result = await _run(env.client, tq, MonthlyReportInput(scheduled_at=JULY_1 + timedelta(days=1)))
        assert not result.plan.publish and result.published == []
        assert "the first working day is 2022-07-01" in result.plan.reason
        # every county of the register when none is named
        both_id = f"monthly-report-test-{uuid.uuid4()}"
        both = await env.client.execute_workflow(
            MonthlyReportWorkflow.run,
            MonthlyReportInput(scheduled_at=JULY_1),
            id=both_id,
            task_queue=tq,
            result_type=MonthlyReportResult,
        )
        assert [p.county for p in both.published] == ["宁乡市", "醴陵市"]
    assert _counts(world) == (2, 2)
    # the workflow replays its own history (deterministic: every decision came from an activity)
    from temporalio.worker import Replayer

    history = await env.client.get_workflow_handle(both_id).fetch_history()
    replayer = Replayer(
        workflows=[MonthlyReportWorkflow],
        data_converter=env.client.data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


def test_published_files_are_scoped(world: Sessions) -> None:  # noqa: F811
    with unit_of_work(world) as s:
        files = stand_in_builder(s, "宁乡市", "2022-06")
    acts = ReportActivities(world, CAL, stand_in_builder)
    from activities.reports import PublishRequest

    acts.publish_county_month(PublishRequest(county="宁乡市", month="2022-06"))
    acts.publish_county_month(PublishRequest(county="醴陵市", month="2022-06"))
    services = Services(get_settings(), sessions=world)
    nx = Actor(id="sup.nx", role=Role.SUPERVISOR, county="宁乡市")
    mine = published(services, nx)
    assert [(f.county, f.month) for f in mine] == [("宁乡市", "2022-06")]
    info, content = download(services, nx, mine[0].id)
    assert content == files[0][1] and info.sha256 == hashlib.sha256(content).hexdigest()
    other = published(services, None, county="醴陵市")[0]
    with pytest.raises(ClaimNotFound):
        download(services, nx, other.id)  # another county's file: not found, as if absent
    with pytest.raises(NotAllowed):
        published(services, Actor(id="h", role=Role.HANDLER, county="宁乡市"))
    with pytest.raises(NotAllowed):
        published(services, nx, county="醴陵市")


def _target(client: Client) -> str:
    return client.service_client.config.target_host


def _claims(args: list[str], tmp: Path, client: Client) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_ACTOR") and k != "CLAIMS_ROLE"}
    env.update(
        TEMPORAL_ADDRESS=_target(client),
        CLAIMS_PAYLOAD_KEYS=TEST_PAYLOAD_KEYS,
        CLAIMS_DATA_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp / 'claims.db'}",
    )
    return subprocess.run(
        [str(BIN / "claims"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


async def test_schedule_created_once_and_catches_up(
    dev_env: WorkflowEnvironment,
    world: Sessions,  # noqa: F811
    tmp_path: Path,
) -> None:
    client = dev_env.client
    first = await asyncio.to_thread(_claims, ["schedule", "monthly"], tmp_path, client)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("schedule monthly-report created: days 1-10 at 9:00 Asia/Shanghai")
    second = await asyncio.to_thread(_claims, ["schedule", "monthly"], tmp_path, client)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("schedule monthly-report updated")
    try:
        ids = [s.id async for s in await client.list_schedules()]
        assert ids.count(SCHEDULE_ID) == 1
        desc = await client.get_schedule_handle(SCHEDULE_ID).describe()
        [cal] = desc.schedule.spec.calendars
        assert [(r.start, r.end) for r in cal.day_of_month] == [(1, 10)]
        assert [r.start for r in cal.hour] == [9] and [r.start for r in cal.minute] == [0]
        assert desc.schedule.spec.time_zone_name == "Asia/Shanghai"
        assert desc.schedule.policy.catchup_window == timedelta(days=31)
        assert desc.schedule.policy.overlap == ScheduleOverlapPolicy.BUFFER_ALL
        for t in desc.info.next_action_times[:3]:
            local = t.astimezone(SHANGHAI)
            assert (local.hour, local.minute) == (9, 0) and 1 <= local.day <= 10

        # the catch-up after an outage, as a backfill: three days' runs started late, each
        # deciding on the day it was due; only the first working day (2022-07-01) publishes
        services = Services(get_settings(), sessions=world, client=client)
        tq = new_task_queue()
        await ensure_schedule(services, None, ["宁乡市"], task_queue=tq)
        handle = client.get_schedule_handle(SCHEDULE_ID)
        async with _worker(client, world, tq):
            await handle.backfill(
                ScheduleBackfill(
                    start_at=datetime(2022, 6, 30, 0, 0, tzinfo=UTC),
                    end_at=datetime(2022, 7, 2, 2, 0, tzinfo=UTC),
                    overlap=ScheduleOverlapPolicy.BUFFER_ALL,
                )
            )
            for _ in range(240):
                recent = (await handle.describe()).info.recent_actions
                if len(recent) >= 2:
                    break
                await asyncio.sleep(0.5)
            else:
                raise AssertionError("the backfilled runs did not start")
            results = [
                await client.get_workflow_handle(
                    a.action.workflow_id, result_type=MonthlyReportResult
                ).result()
                for a in recent
            ]
        days = sorted((r.plan.day.isoformat(), r.plan.publish) for r in results)
        assert days == [("2022-07-01", True), ("2022-07-02", False)]
        assert _counts(world) == (1, 1)
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()


async def test_published_page_and_download(web, world: Sessions) -> None:  # noqa: F811
    from urllib.parse import quote

    from activities.reports import PublishRequest

    acts = ReportActivities(world, CAL, stand_in_builder)
    acts.publish_county_month(PublishRequest(county="宁乡市", month="2022-06"))
    acts.publish_county_month(PublishRequest(county="醴陵市", month="2022-06"))
    with world() as s:
        ids = {r.county: (r.id, r.content, r.sha256) for r in s.scalars(select(PublishedReport))}
    nx_id, nx_bytes, nx_sha = ids["宁乡市"]
    async with web() as c:
        await _login(c, "sup.nx")
        page = await c.get("/reports/published")
        assert page.status_code == 200
        assert f'<a href="/reports/published/{nx_id}" download>理赔明细_宁乡市_2022-06.csv</a>' in page.text
        assert nx_sha in page.text and "醴陵市" not in page.text.split("<table", 1)[1]
        got = await c.get(f"/reports/published/{nx_id}")
        assert got.status_code == 200 and got.content == nx_bytes
        assert got.headers["content-type"].startswith("text/csv")
        assert got.headers["x-content-sha256"] == hashlib.sha256(got.content).hexdigest() == nx_sha
        assert quote("理赔明细_宁乡市_2022-06.csv", safe="") in got.headers["content-disposition"]
        assert (await c.get(f"/reports/published/{ids['醴陵市'][0]}")).status_code == 404
        assert (await c.get("/reports/published/99999")).status_code == 404
        assert (await c.get("/reports/published?month=2022-6")).status_code == 422
        assert "理赔明细_宁乡市" in (await c.get("/reports/published?month=2022-06")).text
    async with web() as c:
        await _login(c, "aud.prov")
        assert (await c.get("/reports/published")).status_code == 403
        assert (await c.get(f"/reports/published/{nx_id}")).status_code == 403


def test_the_monthly_reports_own_files_are_published_once(world: Sessions) -> None:  # noqa: F811
    """The default builder (``claims.reports``, township edition): xlsx, CSV with a BOM and PDF;
    built again on the same data they have the same sha256, so nothing is stored again."""
    from activities.reports import PublishRequest

    acts = ReportActivities(world, CAL)
    first = acts.publish_county_month(PublishRequest(county="宁乡市", month="2022-06"))
    assert [f.filename for f in first.files] == [
        "理赔明细_宁乡市_2022-06_township.xlsx",
        "理赔明细_宁乡市_2022-06_township.csv",
        "理赔明细_宁乡市_2022-06_township.pdf",
    ]
    assert all(f.stored for f in first.files) and first.notified
    again = acts.publish_county_month(PublishRequest(county="宁乡市", month="2022-06"))
    assert [f.sha256 for f in again.files] == [f.sha256 for f in first.files]
    assert not any(f.stored for f in again.files) and not again.notified
    assert _counts(world) == (3, 1)
    with world() as s:
        stored = {r.fmt: r.content for r in s.scalars(select(PublishedReport))}
    assert stored["csv"].startswith(b"\xef\xbb\xbf") and "380.50" in stored["csv"].decode("utf-8-sig")
    assert stored["xlsx"][:2] == b"PK" and stored["pdf"][:5] == b"%PDF-"


async def test_only_an_unscoped_supervisor_manages_the_schedule(world: Sessions) -> None:  # noqa: F811
    from typing import cast

    services = Services(get_settings(), sessions=world, client=cast(Client, object()))
    for actor in (
        Actor(id="sup.nx", role=Role.SUPERVISOR, county="宁乡市"),
        Actor(id="aud", role=Role.AUDITOR),
        Actor(id="h", role=Role.HANDLER),
    ):
        with pytest.raises(NotAllowed):
            await ensure_schedule(services, actor)


def test_reports_published_and_download_at_the_command_line(
    world: Sessions,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    import starter
    from activities.reports import PublishRequest

    ReportActivities(world, CAL, stand_in_builder).publish_county_month(
        PublishRequest(county="宁乡市", month="2022-06")
    )
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'claims.db'}")
    monkeypatch.setenv("CLAIMS_ACTOR", "sup.nx")
    monkeypatch.setenv("CLAIMS_ROLE", "supervisor")
    monkeypatch.setenv("CLAIMS_COUNTY", "宁乡市")
    get_settings.cache_clear()
    listed = CliRunner().invoke(starter.cli, ["reports", "published", "--month", "2022-06"])
    assert listed.exit_code == 0, listed.output
    [line] = listed.output.splitlines()
    file_id, county, month, name = line.split()[:4]
    assert (county, month, name) == ("宁乡市", "2022-06", "理赔明细_宁乡市_2022-06.csv")
    out = tmp_path / "got.csv"
    got = CliRunner().invoke(starter.cli, ["reports", "download", file_id, "--out", str(out)])
    assert got.exit_code == 0, got.output
    assert hashlib.sha256(out.read_bytes()).hexdigest() in got.output and line.split()[7] in got.output
    monkeypatch.setenv("CLAIMS_COUNTY", "醴陵市")
    get_settings.cache_clear()
    assert CliRunner().invoke(starter.cli, ["reports", "download", file_id]).exit_code == 1  # not found there
    bad = CliRunner().invoke(starter.cli, ["reports", "published", "--month", "2022-6"])
    assert bad.exit_code == 2 and "month: " in bad.output


async def test_publish_now_for_a_missed_month(env: WorkflowEnvironment, world: Sessions) -> None:  # noqa: F811
    from claims.services.publication import publish_now

    services = Services(get_settings(), sessions=world, client=env.client)
    tq = new_task_queue()
    async with _worker(env.client, world, tq):
        first = await publish_now(services, None, "2022-06", ["宁乡市"], task_queue=tq)
        assert first.plan.reason == "2022-06 asked for" and first.published[0].notified
        again = await publish_now(services, None, "2022-06", ["宁乡市"], task_queue=tq)
        assert not again.published[0].files[0].stored and not again.published[0].notified
    assert _counts(world) == (1, 1)
    with pytest.raises(NotAllowed):
        await publish_now(services, Actor(id="s", role=Role.SUPERVISOR, county="宁乡市"), "2022-06")
    from claims.errors import InputError

    with pytest.raises(InputError, match="month"):
        await publish_now(services, None, "2022-13")


@pytest.mark.postgres
def test_files_stored_once_per_sha256_on_sqlite_and_postgresql(store_sessions: Sessions) -> None:
    from activities.reports import PublishRequest
    from tests.test_loss_ratio import fill

    acts = ReportActivities(fill(store_sessions), CAL, stand_in_builder)
    first = acts.publish_county_month(PublishRequest(county="宁乡市", month="2022-06"))
    again = acts.publish_county_month(PublishRequest(county="宁乡市", month="2022-06"))
    assert (first.files[0].stored, first.notified, again.files[0].stored, again.notified) == (
        True,
        True,
        False,
        False,
    )
    assert _counts(store_sessions) == (1, 1)
    services = Services(get_settings(), sessions=store_sessions)
    [listed] = published(services, None, "宁乡市", "2022-06")
    info, content = download(services, None, listed.id)
    assert hashlib.sha256(content).hexdigest() == info.sha256 == first.files[0].sha256
