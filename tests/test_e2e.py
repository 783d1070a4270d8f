"""End to end: ``claims demo`` as a user runs it, on the embedded dev server and SQLite."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_demo(data_dir: Path, grpc: int, ui: int) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TEMPORAL_ADDRESS", "DATABASE_URL", "CLAIMS_DATABASE_URL")
    }
    env.update(CLAIMS_DATA_DIR=str(data_dir), CLAIMS_EMBEDDED_PORT=str(grpc), CLAIMS_UI_PORT=str(ui))
    return subprocess.run(
        [str(BIN / "claims"), "demo"], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )


def table(stdout: str) -> dict[str, list[str]]:
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("JS"):
            cells = line.split()
            rows[cells[0]] = cells
    return rows


def test_demo_pays_the_three_real_cases_and_a_second_start_finds_the_same_claims(tmp_path: Path) -> None:
    grpc, ui = free_port(), free_port()
    first = run_demo(tmp_path, grpc, ui)
    assert first.returncode == 0, first.stderr[-3000:]
    rows = table(first.stdout)
    assert {n: (r[2], r[3], r[4]) for n, r in rows.items()} == {
        "JS20210626-P0001": ("accidental_disability", "40,000.00", "closed"),
        "JS20220518-P0004": ("accidental_death", "132,000.00", "closed"),
        "JS20220310-P0006": ("accidental_disability", "45,000.00", "closed"),
    }
    # green channel, target working days: investigation 30, green channel 2.
    assert [(rows[n][5], rows[n][7]) for n in ("JS20210626-P0001", "JS20220310-P0006")] == [
        ("yes", "30"),
        ("yes", "2"),
    ]
    assert "3 claims, 217,000.00 yuan paid" in first.stdout
    assert f"web UI http://127.0.0.1:{ui}" in first.stdout
    assert (tmp_path / "temporal.db").exists()

    # The server was stopped; a second start on the same files finds the same closed claims
    # and pays nobody twice.
    second = run_demo(tmp_path, grpc, ui)
    assert second.returncode == 0, second.stderr[-3000:]
    assert table(second.stdout) == rows
    with sqlite3.connect(tmp_path / "claims.db") as db:
        ledger = db.execute(
            "select claim_number, payment_number, amount from payouts order by 1, 2"
        ).fetchall()
    assert [(c, n, Decimal(str(a))) for c, n, a in ledger] == [
        ("JS20210626-P0001", 1, Decimal("40000")),
        ("JS20220310-P0006", 1, Decimal("45000")),
        ("JS20220518-P0004", 1, Decimal("100000")),
        ("JS20220518-P0004", 2, Decimal("32000")),
    ]
    # No identity number or bank account in the logs of a whole run.
    for out in (first.stderr, second.stderr):
        assert "430182197503120314" not in out and "6217001234567890121" not in out


def test_commands_fail_clearly_when_no_server_answers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS"}
    env.update(CLAIMS_DATA_DIR=str(tmp_path), CLAIMS_EMBEDDED_PORT=str(free_port()))
    out = subprocess.run(
        [str(BIN / "claims"), "show", "JS20210626-P0001"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    assert "cannot reach Temporal" in out.stderr and "claims up" in out.stderr


def test_cli_entry_point_runs_under_this_interpreter() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "starter", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "demo" in out.stdout


def test_the_embedded_server_does_not_outlive_a_killed_engine(tmp_path: Path) -> None:
    import signal
    import time

    grpc = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "DATABASE_URL")}
    env.update(CLAIMS_DATA_DIR=str(tmp_path), CLAIMS_EMBEDDED_PORT=str(grpc), CLAIMS_UI_PORT=str(free_port()))
    up = subprocess.Popen(
        [str(BIN / "claims"), "up", "--headless"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", grpc)) == 0

    try:
        for _ in range(200):
            if listening():
                break
            time.sleep(0.1)
        assert listening(), "the embedded server never started"
        up.send_signal(signal.SIGKILL)
        up.wait(timeout=10)
        for _ in range(100):
            if not listening():
                break
            time.sleep(0.1)
        assert not listening(), "the server outlived the engine that started it"
    finally:
        if up.poll() is None:
            up.kill()
