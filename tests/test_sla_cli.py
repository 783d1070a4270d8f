"""Supervisor and calendar commands end to end on the dev server: calendar load, overdue, sla-report."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from claims.services.client import claim_state, perform_step
from claims.store.db import Claim, make_engine, make_sessionmaker, unit_of_work, upgrade_database
from claims.models import Actor, CaseClass, ClaimProjection, RegisterInput, Role, SlaState, Stage
from claims.infra.settings import Settings, StoreSettings, TemporalSettings
from claims.store import update_projection
from claims.infra.temporal import connect, start_embedded_server
from claims.domain.timeutil import SHANGHAI
from claims.domain.workdays import CalendarSource, WorkingCalendar
from rules.engine import RulesEngine
from tests.conftest import BIN, REPO
from tests.test_e2e import free_port
from tests.test_workflow import Harness
from worker import build_worker

pytestmark = pytest.mark.e2e


def cli(
    args: list[str], data_dir: Path, port: int, calendar: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "DATABASE_URL")}
    env.update(
        CLAIMS_DATA_DIR=str(data_dir),
        CLAIMS_EMBEDDED_PORT=str(port),
        CLAIMS_ACTOR="sup.ningxiang",
        CLAIMS_ROLE="supervisor",
    )
    if calendar:
        env["CLAIMS_CALENDAR_DIR"] = str(calendar)
    return subprocess.run(
        [str(BIN / "claims"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


class DevServer:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir, self.port = data_dir, free_port()
        self.settings = Settings(
            store=StoreSettings(data_dir=data_dir),
            temporal=TemporalSettings(embedded_port=self.port, ui_port=free_port()),
        )


@pytest_asyncio.fixture(loop_scope="session")
async def dev(tmp_path: Path) -> AsyncIterator[tuple[DevServer, Any, Any]]:
    server = DevServer(tmp_path)
    embedded = start_embedded_server(server.settings, headless=True)
    url = server.settings.store.sqlalchemy_url()
    upgrade_database(url)
    engine = make_engine(url)
    try:
        client = await connect(server.settings, embedded.address)
        yield server, client, make_sessionmaker(engine)
    finally:
        engine.dispose()
        embedded.stop()


async def test_loading_a_schedule_tells_open_claims_and_they_recompute(
    dev: tuple[DevServer, Any, Any],
) -> None:
    server, client, sessions = dev
    folder = server.data_dir / "calendar"
    folder.mkdir()
    h = Harness(client, sessions)
    async with build_worker(
        client,
        sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=CalendarSource(folder=folder),
    ):
        number = await h.report(h.cases[0])
        state = await perform_step(
            client, number, RegisterInput(actor=Actor(id="handler.ningxiang", role=Role.HANDLER))
        )
        before = next(c for c in state.clocks if c.name == "resolution").deadline
        bad = server.data_dir / "bad.json"
        bad.write_text(
            json.dumps(
                {
                    "version": "bad",
                    "notice_title": "t",
                    "notice_date": "2026-11-01",
                    "year": 2027,
                    "amendment": False,
                    "holidays": [{"date": "2027-03-01", "name": "x"}],
                    "workdays": ["2027-03-01"],
                }
            ),
            encoding="utf-8",
        )
        refused = cli(["calendar", "load", str(bad)], server.data_dir, server.port, folder)
        assert refused.returncode == 2, refused.stderr
        assert "2027-03-01" in refused.stderr and list(folder.iterdir()) == []
        good = server.data_dir / "notice-2027.json"
        year = before.due_date.year
        good.write_text(
            json.dumps(
                {
                    "version": "test-notice",
                    "notice_title": "TEST notice",
                    "notice_date": f"{year - 1}-11-20",
                    "year": year,
                    "amendment": year <= 2026,
                    "holidays": [{"date": f"{year}-01-01", "name": "New Year's Day"}],
                    "workdays": [],
                }
            ),
            encoding="utf-8",
        )
        loaded = cli(["calendar", "load", str(good)], server.data_dir, server.port, folder)
        assert loaded.returncode == 0, loaded.stderr
        assert "open claim(s) told to recompute" in loaded.stdout
        assert [p.name for p in folder.iterdir()] == ["test-notice.json"]
        for _ in range(100):
            state = await claim_state(client, number)
            if any(t.event == "sla_recomputed" for t in state.timeline):
                break
            await asyncio.sleep(0.1)
        note = next(t for t in state.timeline if t.event == "sla_recomputed")
        assert note.actor == Actor(id="sup.ningxiang", role=Role.SUPERVISOR)
        assert "test-notice" in note.detail
        expected = WorkingCalendar()
        expected.load_file(good)
        assert (
            next(c for c in state.clocks if c.name == "resolution").deadline.due_at
            == expected.add_working_days(before.start, 30).due_at
        )
        # An amendment of that year, in a file of the same name, is kept beside the schedule,
        # never in its place; an auditor may not load schedules; the same version twice is refused.
        amend_dir = server.data_dir / "amend"
        amend_dir.mkdir()
        amendment = amend_dir / "notice-2027.json"
        amendment.write_text(
            json.dumps(
                {
                    "version": "test-notice-amended",
                    "notice_title": "TEST amendment",
                    "notice_date": f"{year - 1}-12-20",
                    "year": year,
                    "amendment": True,
                    "holidays": [{"date": f"{year}-01-04", "name": "test extra day off"}],
                    "workdays": [],
                }
            ),
            encoding="utf-8",
        )
        auditor = cli(
            ["--role", "auditor", "calendar", "load", str(amendment)], server.data_dir, server.port, folder
        )
        assert auditor.returncode == 2 and "role 'auditor' may not load schedules" in auditor.stderr
        loaded = cli(["calendar", "load", str(amendment)], server.data_dir, server.port, folder)
        assert loaded.returncode == 0, loaded.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["test-notice-amended.json", "test-notice.json"]
        assert (
            CalendarSource(folder=folder).get().calendar_version.endswith("+test-notice+test-notice-amended")
        )
        again = cli(["calendar", "load", str(good)], server.data_dir, server.port, folder)
        assert again.returncode == 2


def _project(sessions: Any, h: Harness, number: str, **fields: Any) -> None:
    row_fields: dict[str, Any] = dict(
        claim_number=number,
        workflow_id=f"claim-{number}",
        stage=Stage.DOCUMENTS,
        county="(intake's)",
        township="(intake's)",
        village="v",
        assigned_handler="handler.a",
        green_channel=False,
        case_class=CaseClass.ORDINARY,
        sla_state=SlaState.ON_TRACK,
        sla_deadline=None,
        target_working_days=5,
        reported_at=datetime.now(UTC),
    )
    row_fields.update(fields)
    with unit_of_work(sessions) as s:
        update_projection(s, ClaimProjection(**row_fields), datetime.now(UTC))


async def test_overdue_and_sla_report_read_the_projection(dev: tuple[DevServer, Any, Any]) -> None:
    server, client, sessions = dev
    h = Harness(client, sessions)
    now = datetime.now(UTC)
    numbers = []
    async with build_worker(
        client,
        sessions,
        task_queue=h.task_queue,
        rules_engine=RulesEngine.shared(),
        calendar=WorkingCalendar(),
    ):
        for case in h.cases:
            numbers.append(await h.report(case))
    # Overwrite the projection with a known picture: one breached, one due tomorrow, one paid.
    late, soon, paid = numbers
    registered = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)  # Monday 10:00 Asia/Shanghai
    _project(
        sessions,
        h,
        late,
        sla_state=SlaState.BREACHED,
        sla_deadline=now - timedelta(days=3),
        assigned_handler="handler.late",
    )
    _project(sessions, h, soon, sla_deadline=now + timedelta(hours=20))
    _project(
        sessions,
        h,
        paid,
        stage=Stage.CLOSED,
        sla_state=SlaState.MET,
        registered_at=registered,
        paid_at=datetime(2026, 10, 9, 8, 0, tzinfo=UTC),
        total_paid=Decimal("45000"),
    )
    out = cli(["overdue"], server.data_dir, server.port)
    assert out.returncode == 0, out.stderr
    assert late in out.stdout and soon not in out.stdout and "handler.late" in out.stdout
    out = cli(["overdue", "--due-within", "2d"], server.data_dir, server.port)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("JS")]
    assert [ln.split()[0] for ln in lines] == [late, soon]  # most late first
    assert "SlaDeadline <=" in out.stdout and "ExecutionStatus = 'Running'" in out.stdout
    # a paid or declined claim stays Running through its reopen period: left out by stage
    assert "ClaimStage != 'closed' AND ClaimStage != 'declined'" in out.stdout
    out = cli(["overdue", "--county", "醴陵市", "--due-within", "2d"], server.data_dir, server.port)
    assert [ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith("JS")] == [soon]
    assert "ClaimCounty = '醴陵市'" in out.stdout
    # The days the three were reported on (intake's clock, Asia/Shanghai): one day, or two
    # when the reports straddled midnight in Shanghai.
    with sessions() as s:
        reported = [s.get_one(Claim, n).reported_at for n in numbers]
    first, day = (
        (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(SHANGHAI).date().isoformat()
        for t in (min(reported), max(reported))
    )
    out = cli(["sla-report", "--from", first, "--to", day], server.data_dir, server.port)
    assert out.returncode == 0, out.stderr
    rows = {ln.split()[0]: ln.split() for ln in out.stdout.splitlines()[3:]}
    # Registered Monday 2026-09-28, paid Friday 2026-10-09: 4 working days (National Day in between).
    assert rows["长沙市雨花区"][1:] == ["黎托街道", "1", "1", "0", "0", "0", "4", "100%"]
    assert rows["宁乡市"][1:] == ["大成桥镇", "1", "0", "0", "1", "1", "-", "-"]
    assert rows["醴陵市"][1:] == ["左权镇", "1", "0", "0", "1", "0", "-", "-"]
    assert rows["all"][1:] == ["3", "1", "0", "2", "1", "4", "100%"]
    bad = cli(["sla-report", "--from", "2026-02-30", "--to", day], server.data_dir, server.port)
    assert bad.returncode == 2 and "--from: '2026-02-30' is not a date" in bad.stderr
