"""``claims calendar due`` and ``claims calendar show``: no Temporal server, exact dates.

The calendar folder is a fresh temporary one per test (``CLAIMS_CALENDAR_DIR``), so the
answers are chinesecalendar 1.11.0 (published to 2026) plus the provisional law days, or
plus the invented 2027 fixture where a test copies it in.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from claims.cli.calendar import calendar_group
from tests.conftest import BIN, REPO

FIXTURE_2027 = Path(__file__).parent / "data" / "calendar-2027-test.json"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLAIMS_CALENDAR_DIR", str(tmp_path))
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(calendar_group, list(args))


def table(output: str) -> list[list[str]]:
    """The rows of ``calendar show``: date, weekday, status, name, source."""
    lines = output.splitlines()
    assert lines[2].split() == ["date", "weekday", "status", "name", "source"]
    return [re.split(r"\s{2,}", line) for line in lines[4:-1]]


def test_five_working_days_from_28_september_2026_are_due_saturday_10_october(folder: Path) -> None:
    r = run("due", "--from", "2026-09-28", "--working-days", "5")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "due: 2026-10-10 17:30 Asia/Shanghai (Saturday), 2026-10-10T09:30:00Z",
        "from: 2026-09-28; 5 working day(s) after it, start day not counted",
        "provisional: no",
        "calendar version: chinesecalendar-1.11.0",
    ]


def test_thirty_working_days_from_28_december_2026_are_provisionally_due_15_february_2027(
    folder: Path,
) -> None:
    r = run("due", "--from", "2026-12-28", "--working-days", "30")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    # Spring Festival 2027 by the law (5-8 February) and its make-up days (9-10 February).
    assert lines[0] == "due: 2027-02-15 17:30 Asia/Shanghai (Monday), 2027-02-15T09:30:00Z"
    assert date.fromisoformat(lines[0][5:15]) >= date(2027, 2, 11)
    assert lines[2].startswith("provisional: yes: no published schedule for 2027; ")
    assert "全国年节及纪念日放假办法" in lines[2] and "claims calendar load" in lines[2]
    assert lines[3] == "calendar version: chinesecalendar-1.11.0"


def test_a_loaded_2027_schedule_replaces_the_provisional_answer(folder: Path) -> None:
    (folder / "calendar-2027-test.json").write_bytes(FIXTURE_2027.read_bytes())
    r = run("due", "--from", "2026-12-28", "--working-days", "30")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [
        "due: 2027-02-16 17:30 Asia/Shanghai (Tuesday), 2027-02-16T09:30:00Z",
        "from: 2026-12-28; 30 working day(s) after it, start day not counted",
        "provisional: no",
        "calendar version: chinesecalendar-1.11.0+test-fixture-2027",
    ]
    shown = run("show", "2027")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0] == "2027: override file test-fixture-2027 (calendar-2027-test.json)"
    assert "provisional" not in shown.output
    assert lines[-1] == "20 day(s) off, 2 adjusted working day(s); 251 working days in 2027"
    source = "override file test-fixture-2027 (calendar-2027-test.json)"
    assert [row for row in table(shown.output) if row[2] == "working day"] == [
        ["2027-02-20", "Saturday", "working day", "adjusted working day (调休上班)", source],
        ["2027-10-09", "Saturday", "working day", "adjusted working day (调休上班)", source],
    ]
    assert table(shown.output)[3] == [
        "2027-02-05",
        "Friday",
        "day off",
        "Spring Festival (test fixture)",
        source,
    ]


def test_same_working_day_target_on_a_holiday_counts_from_the_first_working_day(folder: Path) -> None:
    r = run("due", "--from", "2026-10-03", "--working-days", "0")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[:2] == [
        "due: 2026-10-08 17:30 Asia/Shanghai (Thursday), 2026-10-08T09:30:00Z",
        "from: 2026-10-03 (a rest day: counts as received on 2026-10-08); 0 working days: due the "
        "same working day",
    ]


def test_county_is_echoed_as_the_calendar_is_national(folder: Path) -> None:
    r = run("due", "--from", "2026-09-28", "--working-days", "5", "--county", "宁乡市")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].startswith("due: 2026-10-10 17:30")
    assert r.output.splitlines()[-1] == (
        "county: 宁乡市 (the calendar is national: the same answer for every county)"
    )


def test_largest_target_from_the_last_date_accepted_is_computed(folder: Path) -> None:
    r = run("due", "--from", "2100-12-31", "--working-days", "366")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "due: 2102-06-28 17:30 Asia/Shanghai (Wednesday), 2102-06-28T09:30:00Z"
    assert "no published schedule for 2100, 2101, 2102" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--working-days", "367"], "Invalid value for '--working-days': 367 is not in the range 0<=x<=366"),
        (["--working-days", "-1"], "Invalid value for '--working-days': -1 is not in the range 0<=x<=366"),
        (["--working-days", "five"], "Invalid value for '--working-days': 'five' is not a valid integer"),
        (["--from", "1999-12-31"], "--from: 1999-12-31 is outside 2000-01-01 to 2100-12-31"),
        (["--from", "2101-01-01"], "--from: 2101-01-01 is outside 2000-01-01 to 2100-12-31"),
        (["--from", "2027-02-30"], "--from: '2027-02-30' is not a date; write YYYY-MM-DD"),
        (["--county", "宁乡\u202e市"], "--county: give a county name of 1 to 64 printable characters"),
        (["--county", "x\ny"], "--county: give a county name of 1 to 64 printable characters"),
        (["--county", "县" * 65], "--county: give a county name of 1 to 64 printable characters"),
    ],
)
def test_out_of_range_inputs_are_refused_naming_the_option(
    folder: Path, args: list[str], message: str
) -> None:
    base = {"--from": "2026-09-28", "--working-days": "5"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = ["due"] + [x for k, v in {**base, **given}.items() for x in (k, v)]
    r = run(*argv)
    assert r.exit_code == 2
    assert message in r.output
    assert "due:" not in r.output


@pytest.mark.parametrize("year", ["1999", "2101", "twenty"])
def test_show_refuses_years_outside_2000_to_2100(folder: Path, year: str) -> None:
    r = run("show", year)
    assert r.exit_code == 2
    assert "Invalid value for 'YEAR'" in r.output


def test_show_lists_a_provisional_year_with_the_law_as_its_source(folder: Path) -> None:
    r = run("show", "2027")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith("2027: provisional statutory (全国年节及纪念日放假办法, 国务院令第795号); ")
    assert "lunar-python" in lines[0]
    rows = table(r.output)
    law = "provisional statutory (全国年节及纪念日放假办法, 国务院令第795号)"
    assert [row for row in rows if row[3].startswith("春节")] == [
        ["2027-02-05", "Friday", "day off", "春节 (provisional, 全国年节及纪念日放假办法)", law],
        ["2027-02-06", "Saturday", "day off", "春节 (provisional, 全国年节及纪念日放假办法)", law],
        ["2027-02-07", "Sunday", "day off", "春节 (provisional, 全国年节及纪念日放假办法)", law],
        ["2027-02-08", "Monday", "day off", "春节 (provisional, 全国年节及纪念日放假办法)", law],
        ["2027-02-09", "Tuesday", "day off", "春节补假 (provisional, 全国年节及纪念日放假办法)", law],
        ["2027-02-10", "Wednesday", "day off", "春节补假 (provisional, 全国年节及纪念日放假办法)", law],
    ]
    assert len(rows) == 19
    assert {(row[2], row[4]) for row in rows} == {("day off", law)}
    assert lines[-1] == "19 day(s) off, 0 adjusted working day(s); 248 working days in 2027"


def test_show_lists_a_published_year_with_its_adjusted_working_days(folder: Path) -> None:
    r = run("show", "2026")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "2026: published schedule (chinesecalendar 1.11.0)"
    assert [row[0] for row in table(r.output) if row[2] == "working day"] == [
        "2026-01-04",
        "2026-02-14",
        "2026-02-28",
        "2026-05-09",
        "2026-09-20",
        "2026-10-10",
    ]
    assert lines[-1] == "33 day(s) off, 6 adjusted working day(s); 248 working days in 2026"


def test_the_installed_claims_command_answers_both_examples_without_a_server(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "DATABASE_URL")}
    env["CLAIMS_CALENDAR_DIR"] = str(tmp_path)
    env["TEMPORAL_ADDRESS"] = "127.0.0.1:9"  # nothing listens: the commands must not need it

    def claims(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "claims"), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
        )

    five = claims("calendar", "due", "--from", "2026-09-28", "--working-days", "5")
    assert five.returncode == 0, five.stderr
    assert five.stdout.splitlines()[0] == (
        "due: 2026-10-10 17:30 Asia/Shanghai (Saturday), 2026-10-10T09:30:00Z"
    )
    thirty = claims("calendar", "due", "--from", "2026-12-28", "--working-days", "30")
    assert thirty.returncode == 0, thirty.stderr
    assert thirty.stdout.splitlines()[0] == (
        "due: 2027-02-15 17:30 Asia/Shanghai (Monday), 2027-02-15T09:30:00Z"
    )
    assert thirty.stdout.splitlines()[2].startswith("provisional: yes")
    refused = claims("calendar", "due", "--from", "2026-12-28", "--working-days", "400")
    assert refused.returncode == 2
    assert "'--working-days': 400 is not in the range 0<=x<=366" in refused.stderr
