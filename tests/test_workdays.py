"""Tests of the Chinese working-day calendar (claims/domain/workdays.py).

Dates are checked against the official 2026 schedule as shipped in chinesecalendar 1.11
(Qingming 4–6 April; Mid-Autumn 25–27 September; National Day 1–7 October with Saturday
10 October an adjusted working day). 2027 has no published schedule: it is provisional
until an override is loaded; ``tests/data/calendar-2027-test.json`` is an invented fixture.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.models import Deadline, DeadlineRequest
from claims.domain.workdays import (
    CALENDAR_DIR_ENV,
    SHANGHAI,
    CalendarError,
    WorkingCalendar,
    _dump_published_year,
    get_calendar,
)

UTC = dt.UTC
FIXTURE_2027 = Path(__file__).parent / "data" / "calendar-2027-test.json"
BASE_VERSION = "chinesecalendar-1.11.0"


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """An Asia/Shanghai wall-clock instant."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def closing_utc(day: dt.date) -> dt.datetime:
    """17:30 Asia/Shanghai of ``day`` as UTC (09:30Z: Shanghai is UTC+8 all year)."""
    return dt.datetime(day.year, day.month, day.day, 9, 30, tzinfo=UTC)


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


def write(tmp_path: Path, name: str, data: dict | str) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def override(**fields: object) -> dict:
    base: dict = {
        "version": "test-1",
        "notice_title": "test notice",
        "notice_date": "2026-11-01",
        "year": 2027,
        "amendment": False,
        "holidays": [],
        "workdays": [],
    }
    base.update(fields)
    return base


def snapshot(cal: WorkingCalendar) -> tuple:
    """What a failed load must leave unchanged."""
    return (
        cal.calendar_version,
        cal.overrides,
        cal.add_working_days(sh(2026, 12, 28, 10), 30),
        cal.is_working_day(dt.date(2026, 10, 5)),
        cal.is_working_day(dt.date(2026, 12, 31)),
        cal.is_working_day(dt.date(2027, 2, 9)),
    )


# --------------------------------------------------------------------------- brief examples


def test_five_working_days_from_monday_28_september_2026_fall_due_on_adjusted_saturday_10_october(
    cal: WorkingCalendar,
) -> None:
    deadline = cal.add_working_days(sh(2026, 9, 28, 10), 5)
    assert deadline == Deadline(
        start=dt.datetime(2026, 9, 28, 2, 0, tzinfo=UTC),
        working_days=5,
        due_date=dt.date(2026, 10, 10),
        due_at=dt.datetime(2026, 10, 10, 9, 30, tzinfo=UTC),
        calendar_version=BASE_VERSION,
        provisional=False,
    )
    assert deadline.due_at.astimezone(SHANGHAI) == sh(2026, 10, 10, 17, 30)
    assert deadline.due_date.weekday() == 5  # a Saturday, working by the 2026 notice


def test_green_channel_claim_reported_before_qingming_is_due_on_wednesday_8_april(
    cal: WorkingCalendar,
) -> None:
    deadline = cal.add_working_days(sh(2026, 4, 3, 10), 2)
    assert deadline.due_date == dt.date(2026, 4, 8)
    assert deadline.due_at == closing_utc(dt.date(2026, 4, 8))
    assert not deadline.provisional


def test_deadline_reaching_into_unpublished_2027_is_provisional_until_its_schedule_is_loaded(
    cal: WorkingCalendar,
) -> None:
    before = cal.add_working_days(sh(2026, 12, 28, 10), 30)
    # Provisional 2027: 29-31 December are days 1-3; 1 January off; 4 January - 4 February
    # are days 4-27; Spring Festival 5-8 February (除夕-初三) and its two make-up days 9-10
    # February (6 and 7 February are a weekend) are off; 11, 12, 15 February are days 28-30.
    assert before.due_date == dt.date(2027, 2, 15)
    assert before.due_at == closing_utc(dt.date(2027, 2, 15))
    assert before.provisional is True
    assert before.calendar_version == BASE_VERSION

    cal.load_file(FIXTURE_2027)

    after = cal.add_working_days(sh(2026, 12, 28, 10), 30)
    # Fixture: 1–3 January and 5–11 February off -> 12, 15, 16 February are days 28–30.
    assert after.due_date == dt.date(2027, 2, 16)
    assert after.due_at == closing_utc(dt.date(2027, 2, 16))
    assert after.provisional is False
    assert after.calendar_version == "chinesecalendar-1.11.0+test-fixture-2027"


def test_statutory_thirty_days_ending_in_national_day_holiday_move_to_8_october(
    cal: WorkingCalendar,
) -> None:
    assert cal.statutory_deadline(dt.date(2026, 9, 5), 30) == dt.date(2026, 10, 8)


# --------------------------------------------------------------------------- start conventions


def test_report_registered_the_same_working_day_is_due_at_closing_that_day(
    cal: WorkingCalendar,
) -> None:
    deadline = cal.add_working_days(sh(2026, 3, 2, 9), 0)  # Monday
    assert deadline.due_date == dt.date(2026, 3, 2)
    assert deadline.due_at == dt.datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_start_given_in_utc_is_counted_on_its_shanghai_date(cal: WorkingCalendar) -> None:
    # Sunday 23:00 UTC is Monday 07:00 in Shanghai.
    deadline = cal.add_working_days(dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC), 0)
    assert deadline.due_date == dt.date(2026, 3, 2)
    assert deadline.start == dt.datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def test_start_at_or_after_closing_hour_counts_from_the_next_day(cal: WorkingCalendar) -> None:
    # Thursday 5 March 2026.
    assert cal.add_working_days(sh(2026, 3, 5, 17, 29, 59), 0).due_date == dt.date(2026, 3, 5)
    assert cal.add_working_days(sh(2026, 3, 5, 17, 30), 0).due_date == dt.date(2026, 3, 6)
    assert cal.add_working_days(sh(2026, 3, 5, 17, 29, 59), 1).due_date == dt.date(2026, 3, 6)
    assert cal.add_working_days(sh(2026, 3, 5, 17, 30), 1).due_date == dt.date(2026, 3, 9)
    assert cal.add_working_days(sh(2026, 3, 5, 22, 0), 3).due_date == dt.date(2026, 3, 11)


def test_weekend_start_counts_as_received_on_monday_and_monday_is_not_counted(
    cal: WorkingCalendar,
) -> None:
    saturday = sh(2026, 3, 7, 10)
    assert cal.add_working_days(saturday, 0).due_date == dt.date(2026, 3, 9)
    assert cal.add_working_days(saturday, 1).due_date == dt.date(2026, 3, 10)
    assert cal.add_working_days(saturday, 2).due_date == dt.date(2026, 3, 11)
    assert cal.add_working_days(saturday, 5).due_date == dt.date(2026, 3, 16)


def test_start_on_an_adjusted_working_saturday_counts_it_as_a_working_day(
    cal: WorkingCalendar,
) -> None:
    # Sunday 4 January 2026 is a working day (New Year 调休).
    assert cal.add_working_days(sh(2026, 1, 4, 9), 0).due_date == dt.date(2026, 1, 4)
    assert cal.add_working_days(sh(2026, 1, 4, 9), 1).due_date == dt.date(2026, 1, 5)


def test_start_inside_spring_festival_waits_for_the_first_working_day(
    cal: WorkingCalendar,
) -> None:
    # 2026 Spring Festival: 15–23 February off; Saturday 28 February works.
    assert cal.add_working_days(sh(2026, 2, 16, 10), 0).due_date == dt.date(2026, 2, 24)
    # Received on Tuesday 24 February; five working days after it: 25, 26, 27, 28 (adjusted
    # Saturday) and Monday 2 March.
    assert cal.add_working_days(sh(2026, 2, 16, 10), 5).due_date == dt.date(2026, 3, 2)


def test_naive_start_is_refused_by_name(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        cal.add_working_days(dt.datetime(2026, 3, 2, 9), 1)


def test_negative_target_is_refused(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="working_days must be >= 0"):
        cal.add_working_days(sh(2026, 3, 2, 9), -1)


def test_deadline_request_from_the_workflow_gives_the_same_deadline(cal: WorkingCalendar) -> None:
    request = DeadlineRequest(start=sh(2026, 9, 28, 10), working_days=5)
    assert cal.deadline_for(request) == cal.add_working_days(sh(2026, 9, 28, 10), 5)


def test_closing_hour_is_configurable() -> None:
    cal = WorkingCalendar(closing_time=dt.time(18, 0))
    assert cal.add_working_days(sh(2026, 3, 5, 17, 45), 0).due_at == dt.datetime(
        2026, 3, 5, 10, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="naive time"):
        WorkingCalendar(closing_time=dt.time(18, 0, tzinfo=UTC))


def test_long_target_crossing_into_provisional_year_is_flagged(cal: WorkingCalendar) -> None:
    deadline = cal.add_working_days(sh(2026, 6, 1, 10), 200)
    assert deadline.due_date.year == 2027
    assert deadline.provisional
    assert not cal.add_working_days(sh(2026, 6, 1, 10), 100).provisional


# --------------------------------------------------------------------------- working days taken


def test_working_days_taken_is_zero_within_the_same_working_day(cal: WorkingCalendar) -> None:
    assert cal.working_days_between(sh(2026, 3, 2, 9), sh(2026, 3, 2, 17, 30)) == 0
    assert cal.working_days_between(sh(2026, 3, 2, 9), sh(2026, 3, 2, 18, 0)) == 1
    assert cal.working_days_between(sh(2026, 3, 2, 9), sh(2026, 3, 3, 9)) == 1


def test_working_days_taken_skip_qingming_and_count_adjusted_saturdays(
    cal: WorkingCalendar,
) -> None:
    assert cal.working_days_between(sh(2026, 4, 3, 10), sh(2026, 4, 8, 16)) == 2
    assert cal.working_days_between(sh(2026, 9, 28, 10), sh(2026, 10, 10, 12)) == 5
    assert cal.working_days_between(sh(2026, 9, 28, 10), sh(2026, 10, 7, 12)) == 3


def test_working_days_taken_refuses_naive_or_reversed_instants(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="end must be timezone-aware"):
        cal.working_days_between(sh(2026, 3, 2, 9), dt.datetime(2026, 3, 3, 9))
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        cal.working_days_between(dt.datetime(2026, 3, 2, 9), sh(2026, 3, 3, 9))
    with pytest.raises(ValueError, match="before start"):
        cal.working_days_between(sh(2026, 3, 3, 9), sh(2026, 3, 2, 9))


instants = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2026, 12, 31, 23, 59)).map(
    lambda d: d.replace(tzinfo=SHANGHAI)
)


@settings(max_examples=300, deadline=None)
@given(start=instants, n=st.integers(min_value=0, max_value=40))
def test_deadline_is_a_working_day_with_exactly_n_working_days_after_the_start(
    start: dt.datetime, n: int
) -> None:
    cal = WorkingCalendar()
    deadline = cal.add_working_days(start, n)
    assert cal.is_working_day(deadline.due_date)
    if deadline.due_date.year <= 2026:
        assert chinese_calendar.is_workday(deadline.due_date)
    assert deadline.due_at.tzinfo is UTC
    effective = start.date() + dt.timedelta(days=start.time() >= dt.time(17, 30))
    span = (deadline.due_date - effective).days
    if n == 0:
        # The first working day on or after the effective start date.
        assert span >= 0
        assert not any(cal.is_working_day(effective + dt.timedelta(days=i)) for i in range(span))
    else:
        # The n-th working day strictly after the day it counts as received (the first
        # working day on or after the effective start date).
        received = effective
        while not cal.is_working_day(received):
            received += dt.timedelta(days=1)
        days = [received + dt.timedelta(days=i) for i in range(1, (deadline.due_date - received).days + 1)]
        assert sum(cal.is_working_day(d) for d in days) == n


@settings(max_examples=300, deadline=None)
@given(start=instants, hours=st.integers(min_value=0, max_value=24 * 80), n=st.integers(0, 40))
def test_working_days_taken_meet_a_target_exactly_when_the_deadline_is_met(
    start: dt.datetime, hours: int, n: int
) -> None:
    cal = WorkingCalendar()
    end = start + dt.timedelta(hours=hours, minutes=17)
    met = end <= cal.add_working_days(start, n).due_at
    assert (cal.working_days_between(start, end) <= n) == met


def test_working_days_match_chinesecalendar_for_every_published_day(cal: WorkingCalendar) -> None:
    day = dt.date(2004, 1, 1)
    while day.year <= 2026:
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        assert not cal.is_provisional(day)
        day += dt.timedelta(days=1)


# --------------------------------------------------------------------------- statutory limits


def test_statutory_limit_does_not_count_the_first_day(cal: WorkingCalendar) -> None:
    # Insurance Law art. 23: 10 days to pay after agreement on Monday 2 March 2026.
    assert cal.statutory_deadline(dt.date(2026, 3, 2), 10) == dt.date(2026, 3, 12)
    assert cal.statutory_deadline(dt.date(2026, 3, 2), 3) == dt.date(2026, 3, 5)


def test_statutory_limit_ending_on_a_weekend_moves_to_monday(cal: WorkingCalendar) -> None:
    assert cal.statutory_deadline(dt.date(2026, 3, 4), 3) == dt.date(2026, 3, 9)


def test_statutory_limit_ending_on_an_adjusted_working_saturday_stays_there(
    cal: WorkingCalendar,
) -> None:
    assert cal.statutory_deadline(dt.date(2026, 9, 30), 10) == dt.date(2026, 10, 10)


def test_statutory_sixty_day_advance_payment_limit(cal: WorkingCalendar) -> None:
    # Insurance Law art. 25: 60 days after 2 March 2026 is Friday 1 May (Labour Day, 1–5 May).
    assert cal.statutory_deadline(dt.date(2026, 3, 2), 60) == dt.date(2026, 5, 6)


def test_statutory_limit_refuses_datetimes_and_empty_periods(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError, match="not a datetime"):
        cal.statutory_deadline(sh(2026, 3, 2, 9), 10)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="calendar_days must be >= 1"):
        cal.statutory_deadline(dt.date(2026, 3, 2), 0)


# --------------------------------------------------------------------------- provisional years


def test_provisional_year_rests_on_weekends_statutory_holidays_and_their_make_up_days(
    cal: WorkingCalendar,
) -> None:
    assert cal.is_provisional(dt.date(2027, 6, 1))
    assert not cal.is_working_day(dt.date(2027, 1, 1))  # New Year's Day, a Friday
    assert not cal.is_working_day(dt.date(2027, 5, 1))  # Saturday, Labour Day
    # 1-2 May 2027 are a weekend: both are made up on Monday 3 and Tuesday 4 May (补假).
    assert [cal.is_working_day(dt.date(2027, 5, d)) for d in range(3, 6)] == [False, False, True]
    assert not cal.is_working_day(dt.date(2028, 5, 1))  # Labour Day
    assert not cal.is_working_day(dt.date(2028, 5, 2))  # Labour Day second day (since 2025)
    assert [cal.is_working_day(dt.date(2027, 10, d)) for d in range(1, 7)] == [
        False,  # Friday, National Day
        False,
        False,
        False,  # Monday 4 October: make-up for Saturday 2 October
        False,  # Tuesday 5 October: make-up for Sunday 3 October
        True,  # bridging days of the future notice are not guessed
    ]
    # Spring Festival 2027 (除夕 5 February to 初三 8 February), by the law, with make-up days.
    assert [cal.is_working_day(dt.date(2027, 2, d)) for d in range(4, 12)] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]


# --------------------------------------------------------------------------- override files


def test_fixture_2027_makes_2027_a_published_year(cal: WorkingCalendar) -> None:
    loaded = cal.load_file(FIXTURE_2027)
    assert loaded.version == "test-fixture-2027"
    assert not cal.is_provisional(dt.date(2027, 6, 1))
    assert not cal.is_working_day(dt.date(2027, 2, 9))
    assert cal.is_working_day(dt.date(2027, 2, 20))  # adjusted Saturday in the fixture
    assert cal.is_working_day(dt.date(2027, 10, 9))
    assert not cal.is_working_day(dt.date(2027, 10, 7))


def test_file_listing_a_date_as_holiday_and_working_day_is_refused_unchanged(
    cal: WorkingCalendar, tmp_path: Path
) -> None:
    before = snapshot(cal)
    path = write(
        tmp_path,
        "both.json",
        override(holidays=[{"date": "2027-02-06", "name": "Spring Festival"}], workdays=["2027-02-06"]),
    )
    with pytest.raises(CalendarError) as err:
        cal.load_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "2027-02-06" in message
    assert "both as a holiday and as a working day" in message
    assert "Fix:" in message
    assert err.value.day == dt.date(2027, 2, 6)
    assert snapshot(cal) == before


def test_file_changing_a_published_year_without_amendment_marker_is_refused_unchanged(
    cal: WorkingCalendar, tmp_path: Path
) -> None:
    before = snapshot(cal)
    path = write(
        tmp_path,
        "2026.json",
        override(
            year=2026,
            notice_date="2025-11-04",
            holidays=[{"date": "2026-10-01", "name": "National Day"}],
        ),
    )
    with pytest.raises(CalendarError) as err:
        cal.load_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "differs from the published schedule" in message
    assert "2026-01-01" in message  # first differing date named
    assert '"amendment": true' in message
    assert snapshot(cal) == before


def test_file_with_impossible_date_is_refused_with_location_and_fix(
    cal: WorkingCalendar, tmp_path: Path
) -> None:
    before = snapshot(cal)
    path = write(
        tmp_path,
        "bad-date.json",
        override(holidays=[{"date": "2027-01-01", "name": "x"}, {"date": "2026-02-30", "name": "x"}]),
    )
    with pytest.raises(CalendarError) as err:
        cal.load_file(path)
    message = str(err.value)
    assert str(path) in message
    assert "holidays[1].date" in message
    assert "2026-02-30" in message
    assert "YYYY-MM-DD" in message
    assert snapshot(cal) == before


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (override(comment="x"), "comment"),
        ("{not json", "fix the JSON syntax"),
        ({"version": "v"}, "notice_title: Field required"),
        (override(workdays=["2027-03-03"]), "already a weekday"),
        (override(holidays=[{"date": "2025-10-01", "name": "x"}]), "outside the file's year 2027"),
        (override(version="has space"), "version"),
        (override(amendment=True), "no schedule for 2027 is loaded"),
        (override(notice_date="1700000000"), "notice_date"),
    ],
)
def test_malformed_files_are_refused_with_the_file_named(
    cal: WorkingCalendar, tmp_path: Path, data: dict | str, expected: str
) -> None:
    before = snapshot(cal)
    path = write(tmp_path, "bad.json", data)
    with pytest.raises(CalendarError, match="bad.json") as err:
        cal.load_file(path)
    assert expected in str(err.value)
    assert snapshot(cal) == before


def test_missing_file_is_a_calendar_error(cal: WorkingCalendar, tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="cannot read"):
        cal.load_file(tmp_path / "absent.json")


def test_exact_copy_of_a_published_year_is_accepted(cal: WorkingCalendar, tmp_path: Path) -> None:
    path = write(tmp_path, "2026-copy.json", _dump_published_year(2026))
    cal.load_file(path)
    assert cal.calendar_version == BASE_VERSION + "+chinesecalendar-2026"
    assert cal.add_working_days(sh(2026, 9, 28, 10), 5).due_date == dt.date(2026, 10, 10)


def test_same_version_cannot_be_loaded_twice(cal: WorkingCalendar) -> None:
    cal.load_file(FIXTURE_2027)
    before = snapshot(cal)
    with pytest.raises(CalendarError, match="already loaded"):
        cal.load_file(FIXTURE_2027)
    assert snapshot(cal) == before


def test_amendment_changes_only_the_listed_dates_of_a_published_year(
    cal: WorkingCalendar, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "2026-amend.json",
        override(
            version="amend-2026-test",
            year=2026,
            amendment=True,
            notice_date="2026-06-01",
            holidays=[{"date": "2026-10-09", "name": "National Day (extended, test)"}],
            workdays=["2026-10-05"],
        ),
    )
    cal.load_file(path)
    assert not cal.is_working_day(dt.date(2026, 10, 9))
    assert cal.is_working_day(dt.date(2026, 10, 5))
    assert not cal.is_working_day(dt.date(2026, 10, 6))  # unchanged holiday
    assert cal.is_working_day(dt.date(2026, 10, 10))  # unchanged adjusted Saturday
    deadline = cal.add_working_days(sh(2026, 9, 28, 10), 5)
    assert deadline.due_date == dt.date(2026, 10, 10)  # 29, 30 Sep, 5, 8, 10 Oct
    assert deadline.calendar_version == BASE_VERSION + "+amend-2026-test"


def test_new_year_notice_may_move_late_december_of_the_year_before(
    cal: WorkingCalendar, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "2027.json",
        override(
            holidays=[
                {"date": "2026-12-31", "name": "New Year's Eve bridge (test)"},
                {"date": "2027-01-01", "name": "New Year's Day"},
            ]
        ),
    )
    cal.load_file(path)
    assert not cal.is_working_day(dt.date(2026, 12, 31))
    assert not cal.is_provisional(dt.date(2027, 3, 1))
    assert cal.add_working_days(sh(2026, 12, 30, 10), 1).due_date == dt.date(2027, 1, 4)


def test_load_dir_is_all_or_nothing_and_applies_files_in_notice_order(
    cal: WorkingCalendar, tmp_path: Path
) -> None:
    good = json.loads(FIXTURE_2027.read_text(encoding="utf-8"))
    write(tmp_path, "b-2027.json", good)
    amendment = override(
        version="amend-2027-test",
        amendment=True,
        notice_date="2027-03-01",
        workdays=["2027-02-11"],
    )
    write(tmp_path, "a-2027-amend.json", amendment)  # sorts first by name, applies second
    write(tmp_path, "c-broken.json", "{")
    before = snapshot(cal)
    with pytest.raises(CalendarError, match="c-broken.json"):
        cal.load_dir(tmp_path)
    assert snapshot(cal) == before

    (tmp_path / "c-broken.json").unlink()
    loaded = cal.load_dir(tmp_path)
    assert {ov.version for ov in loaded} == {"test-fixture-2027", "amend-2027-test"}
    assert cal.calendar_version == BASE_VERSION + "+test-fixture-2027+amend-2027-test"
    assert cal.is_working_day(dt.date(2027, 2, 11))


# --------------------------------------------------------------------------- default instance


@pytest.fixture
def fresh_default(monkeypatch: pytest.MonkeyPatch):
    get_calendar.cache_clear()
    yield monkeypatch
    get_calendar.cache_clear()


def test_default_calendar_loads_the_configured_folder(fresh_default, tmp_path: Path) -> None:
    write(tmp_path, "2027.json", json.loads(FIXTURE_2027.read_text(encoding="utf-8")))
    cal = get_calendar(tmp_path)
    assert cal is get_calendar(tmp_path)
    assert cal.calendar_version == BASE_VERSION + "+test-fixture-2027"


def test_default_calendar_works_without_a_calendar_folder(fresh_default) -> None:
    cal = get_calendar()
    assert cal.calendar_version.startswith(BASE_VERSION)


def test_default_calendar_refuses_a_configured_folder_that_is_missing(fresh_default, tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match=f"does not exist. Fix: create it, or point {CALENDAR_DIR_ENV} at"):
        get_calendar(tmp_path / "nope")
