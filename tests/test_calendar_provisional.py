"""Provisional years keep the law's holidays (claims/domain/workdays.py, issue 12).

A year with no published schedule (not in chinesecalendar 1.11.0, which ends with 2026, and
no override file) rests on the statutory holidays of 全国年节及纪念日放假办法 in the text in
force that year, with lunar dates and the 清明 term from lunar-python, and a holiday on a
weekend (or on another holiday) made up on the next free weekday (补假). The expected dates
below were checked by hand against a printed perpetual calendar: Spring Festival 2027 is
Saturday 6 February (除夕 Friday 5 February), 2028 Wednesday 26 January, 2031 Thursday 23
January (除夕 22 January); 清明 2027 is 5 April; 中秋 2028 falls on National Day (3 October).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import chinese_calendar  # type: ignore[import-untyped]
import pytest
from chinese_calendar import constants as cc  # type: ignore[import-untyped]

from claims.domain.workdays import (
    HOLIDAY_LAWS,
    PROVISIONAL_TAG,
    PUBLISHED_YEARS,
    SHANGHAI,
    SOURCE_PUBLISHED,
    CalendarSource,
    WorkingCalendar,
    law_in_force,
    statutory_rest_days,
)

FIXTURE_2027 = Path(__file__).parent / "data" / "calendar-2027-test.json"
D = dt.date


def sh(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=SHANGHAI)


def rest(year: int) -> dict[dt.date, str]:
    """The provisional rest days of ``year`` by date, names without the provisional tag."""
    return {d: n.removesuffix(f" ({PROVISIONAL_TAG})") for d, n in statutory_rest_days(year)}


def days(year: int) -> list[dt.date]:
    first, last = D(year, 1, 1).toordinal(), D(year, 12, 31).toordinal()
    return [D.fromordinal(o) for o in range(first, last + 1)]


@pytest.fixture
def cal() -> WorkingCalendar:
    return WorkingCalendar()


# --------------------------------------------------------------------------- the 2024 text


def test_2027_rests_on_every_statutory_holiday_of_the_2024_text_and_its_make_up_days() -> None:
    assert law_in_force(2027).decree == "国务院令第795号"
    assert rest(2027) == {
        D(2027, 1, 1): "元旦",
        D(2027, 2, 5): "春节",  # 除夕, Friday
        D(2027, 2, 6): "春节",  # 正月初一, Saturday
        D(2027, 2, 7): "春节",  # 初二, Sunday
        D(2027, 2, 8): "春节",  # 初三, Monday
        D(2027, 2, 9): "春节补假",  # for Saturday 6 February
        D(2027, 2, 10): "春节补假",  # for Sunday 7 February
        D(2027, 4, 5): "清明节",
        D(2027, 5, 1): "劳动节",
        D(2027, 5, 2): "劳动节",
        D(2027, 5, 3): "劳动节补假",
        D(2027, 5, 4): "劳动节补假",
        D(2027, 6, 9): "端午节",  # 五月初五
        D(2027, 9, 15): "中秋节",  # 八月十五
        D(2027, 10, 1): "国庆节",
        D(2027, 10, 2): "国庆节",
        D(2027, 10, 3): "国庆节",
        D(2027, 10, 4): "国庆节补假",
        D(2027, 10, 5): "国庆节补假",
    }
    names = [name for _, name in statutory_rest_days(2027)]
    assert all(name.endswith(" (provisional, 全国年节及纪念日放假办法)") for name in names)


def test_mid_autumn_on_national_day_2028_is_made_up_like_a_weekend_day() -> None:
    # 2028: 1 October a Sunday, 中秋 on Tuesday 3 October. Two days are owed: Wednesday 4 and
    # Thursday 5 October (the 2009 and 2020 notices also gave a day for the coinciding 中秋).
    assert {d: n for d, n in rest(2028).items() if d.month == 10} == {
        D(2028, 10, 1): "国庆节",
        D(2028, 10, 2): "国庆节",
        D(2028, 10, 3): "中秋节、国庆节",
        D(2028, 10, 4): "国庆节补假",
        D(2028, 10, 5): "国庆节补假",
    }
    assert {d: n for d, n in rest(2028).items() if d.month <= 2} == {
        D(2028, 1, 1): "元旦",  # Saturday
        D(2028, 1, 3): "元旦补假",  # Monday
        D(2028, 1, 25): "春节",  # 除夕 in January
        D(2028, 1, 26): "春节",
        D(2028, 1, 27): "春节",
        D(2028, 1, 28): "春节",
    }


def test_spring_festival_in_january_keeps_its_eve_in_the_same_year() -> None:
    # 2031: 正月初一 Thursday 23 January, the earliest of the decade.
    assert [d for d, n in rest(2031).items() if n.startswith("春节")] == [
        D(2031, 1, 22),
        D(2031, 1, 23),
        D(2031, 1, 24),
        D(2031, 1, 25),  # Saturday
        D(2031, 1, 27),  # make-up, Monday
    ]


def test_dragon_boat_2028_is_in_the_ordinary_fifth_month_not_the_leap_one() -> None:
    # 2028 has a leap fifth month (闰五月): 端午 is 五月初五 of the ordinary month, Sunday 28
    # May, made up on Monday 29 May; the leap month's fifth day would be 27 June.
    assert rest(2028)[D(2028, 5, 28)] == "端午节"
    assert rest(2028)[D(2028, 5, 29)] == "端午节补假"
    assert D(2028, 6, 27) not in rest(2028)


# --------------------------------------------------------------------------- older texts


def test_each_text_of_the_law_applies_from_the_year_it_took_effect() -> None:
    assert [(law.effective, law.decree) for law in HOLIDAY_LAWS] == [
        (D(1999, 9, 18), "国务院令第270号"),
        (D(2008, 1, 1), "国务院令第513号"),
        (D(2014, 1, 1), "国务院令第644号"),
        (D(2025, 1, 1), "国务院令第795号"),
    ]
    assert law_in_force(2000).decree == "国务院令第270号"
    assert law_in_force(2013).decree == "国务院令第513号"
    assert law_in_force(2024).decree == "国务院令第644号"
    # 2003 (no published schedule in chinesecalendar): the 1999 text, 1-3 May (Saturday 3 May
    # made up on Monday 5 May) and no lunar festivals besides Spring Festival, 初一 to 初三
    # (Saturday 1 February 2003 to Monday 3 February, two make-up days).
    r2003 = rest(2003)
    assert [d for d, n in r2003.items() if n.startswith("劳动节")] == [
        D(2003, 5, 1),
        D(2003, 5, 2),
        D(2003, 5, 3),
        D(2003, 5, 5),
    ]
    assert [d for d, n in r2003.items() if n.startswith("春节")] == [
        D(2003, 2, 1),
        D(2003, 2, 2),
        D(2003, 2, 3),
        D(2003, 2, 4),
        D(2003, 2, 5),
    ]
    assert not any(n.startswith(("清明", "端午", "中秋")) for n in r2003.values())


def test_every_statutory_holiday_computed_for_2004_to_2026_is_a_rest_day_in_the_published_schedule(
    cal: WorkingCalendar,
) -> None:
    """The lunar dates, the 清明 term and the law texts against 23 published schedules."""
    checked = 0
    for year in range(2004, 2027):
        assert year in PUBLISHED_YEARS
        for day, name in statutory_rest_days(year):
            if "补假" in name:
                continue  # the notice may place a make-up day elsewhere (see the next test)
            assert not cal.is_working_day(day), (day, name)
            checked += 1
    assert checked == 251


# Years whose count of working days the provisional rule does not reproduce, and why. Every
# other year 2004-2026 has exactly the published number of working days: the notices' bridging
# days are always paid back by adjusted working weekends, so the law's days plus 补假 give the
# year's count even where the rest days sit elsewhere.
COUNT_DIFFERENCES = {
    2006: (+1, "the 2006 New Year's notice put 3 January 2006 off and Saturday 31 December 2005 to work"),
    2007: (-2, "the 2007 New Year's notice made Saturday 30 and Sunday 31 December 2006 working days"),
    2011: (+1, "the 2012 New Year's notice made Saturday 31 December 2011 a working day"),
    2012: (-1, "... and put Tuesday 3 January 2012 off in exchange"),
    2015: (-1, "3 September 2015, the one-off 70th anniversary of victory in the War of Resistance"),
    2020: (-2, "the Spring Festival holiday extended to 2 February 2020 (COVID-19, 国办发明电〔2020〕1号)"),
}


def test_provisional_rule_gives_the_published_count_of_working_days_in_17_of_23_years() -> None:
    found = {}
    for year in range(2004, 2027):
        published = sum(
            d in cc.workdays or (d.weekday() < 5 and d not in cc.holidays) for d in days(year)
        )
        off = {d for d, _ in statutory_rest_days(year)}
        provisional = sum(d.weekday() < 5 and d not in off for d in days(year))
        if published != provisional:
            found[year] = published - provisional
    assert found == {year: diff for year, (diff, _) in COUNT_DIFFERENCES.items()}
    assert 23 - len(found) == 17


# Where chinesecalendar's 清明 (a formula of the term's day) differs from lunar-python's
# (an astronomical computation in Beijing time), and why.
QINGMING_DIFFERENCES = {
    # The term falls at 00:43 Beijing time on 5 April 2100 (lunar-python; sxtwl agrees): the
    # formula, good to a day, puts it before midnight.
    2100: (D(2100, 4, 5), D(2100, 4, 4)),
}


def test_qingming_is_the_solar_term_that_chinesecalendar_computes_independently_2008_to_2100() -> None:
    found = {}
    for year in range(2008, 2101):
        assert law_in_force(year).lunar_festivals
        qingming = [d for d, n in rest(year).items() if n == "清明节"]
        terms = chinese_calendar.get_solar_terms(D(year, 4, 1), D(year, 4, 10))
        expected = [d for d, name in terms if name == "清明"]
        assert len(qingming) == len(expected) == 1
        if qingming != expected:
            found[year] = (qingming[0], expected[0])
    assert found == QINGMING_DIFFERENCES


# --------------------------------------------------------------------------- the engine


def test_thirty_working_days_from_28_december_2026_fall_due_after_spring_festival_2027(
    cal: WorkingCalendar,
) -> None:
    deadline = cal.add_working_days(sh(2026, 12, 28), 30)
    assert deadline.due_date == D(2027, 2, 15)
    assert deadline.due_date >= D(2027, 2, 11)
    assert deadline.provisional is True
    # A start in the last working days of 2026 crossing New Year's Day: 31 December is day 1,
    # 1 January is off, Monday 4 January is day 2.
    assert cal.add_working_days(sh(2026, 12, 30), 2).due_date == D(2027, 1, 4)
    assert cal.add_working_days(sh(2026, 12, 30), 1).provisional is False
    assert cal.add_working_days(sh(2026, 12, 30), 2).provisional is True
    # A report on New Year's Day 2027 counts as received on Monday 4 January.
    assert cal.add_working_days(sh(2027, 1, 1), 0).due_date == D(2027, 1, 4)
    # Spring Festival 2027 counts as no working days.
    assert cal.working_days_between(sh(2027, 2, 4, 17), sh(2027, 2, 11, 17)) == 1


def test_provisional_year_lists_the_law_days_with_their_source(cal: WorkingCalendar) -> None:
    listed = cal.special_days(2027)
    assert [(d.date, d.working) for d in listed] == [(d, False) for d, _ in statutory_rest_days(2027)]
    label = "provisional statutory (全国年节及纪念日放假办法, 国务院令第795号)"
    assert {d.source for d in listed} == {label}
    assert cal.year_source(2027).startswith(label)
    assert "lunar-python 1.4" in cal.year_source(2027)


def test_published_year_lists_the_package_schedule_unchanged(cal: WorkingCalendar) -> None:
    listed = cal.special_days(2026)
    assert cal.year_source(2026) == SOURCE_PUBLISHED == "published schedule (chinesecalendar 1.11.0)"
    assert len([d for d in listed if not d.working]) == 33
    assert [d.date for d in listed if d.working] == [
        D(2026, 1, 4),
        D(2026, 2, 14),
        D(2026, 2, 28),
        D(2026, 5, 9),
        D(2026, 9, 20),
        D(2026, 10, 10),
    ]
    assert {d.source for d in listed} == {SOURCE_PUBLISHED}
    assert not any("provisional" in d.name for d in listed)


@pytest.mark.parametrize("year", [2003, 2015, 2026, 2027, 2028, 2031, 2100])
def test_listed_days_agree_with_the_working_day_answer(cal: WorkingCalendar, year: int) -> None:
    listed = {d.date: d.working for d in cal.special_days(year)}
    for day in days(year):
        assert cal.is_working_day(day) == listed.get(day, day.weekday() < 5), day


# --------------------------------------------------------------------------- the notice replaces them


def test_loading_a_2027_schedule_replaces_the_provisional_holidays(cal: WorkingCalendar) -> None:
    assert not cal.is_working_day(D(2027, 2, 10))  # provisional 补假
    assert not cal.is_working_day(D(2027, 5, 4))  # provisional 补假
    assert cal.is_working_day(D(2027, 2, 11))

    cal.load_file(FIXTURE_2027)

    fixture = json.loads(FIXTURE_2027.read_text(encoding="utf-8"))
    listed = cal.special_days(2027)
    assert [(d.date.isoformat(), d.name) for d in listed if not d.working] == [
        (h["date"], h["name"]) for h in fixture["holidays"]
    ]
    assert [d.date.isoformat() for d in listed if d.working] == fixture["workdays"]
    assert {d.source for d in listed} == {"override file test-fixture-2027 (calendar-2027-test.json)"}
    assert cal.year_source(2027) == "override file test-fixture-2027 (calendar-2027-test.json)"
    assert not any(PROVISIONAL_TAG in d.name for d in listed)
    assert not cal.is_provisional(D(2027, 6, 1))
    # The fixture gives 11 February off and no day in May beyond the 3rd; the statutory
    # 清明, 端午 and 中秋 it does not list are working days now.
    assert not cal.is_working_day(D(2027, 2, 11))
    assert cal.is_working_day(D(2027, 5, 4))
    assert cal.is_working_day(D(2027, 4, 5))
    assert cal.is_working_day(D(2027, 6, 9))
    assert cal.add_working_days(sh(2026, 12, 28), 30).due_date == D(2027, 2, 16)
    # The next provisional year keeps its law days.
    assert not cal.is_working_day(D(2028, 1, 26))
    assert cal.is_provisional(D(2028, 1, 26))


def test_schedule_file_in_the_calendar_folder_replaces_the_provisional_year_for_workers(
    tmp_path: Path,
) -> None:
    source = CalendarSource(tmp_path)
    assert source.get().add_working_days(sh(2026, 12, 28), 30).provisional is True
    (tmp_path / "test-fixture-2027.json").write_bytes(FIXTURE_2027.read_bytes())
    deadline = source.get().add_working_days(sh(2026, 12, 28), 30)
    assert (deadline.due_date, deadline.provisional) == (D(2027, 2, 16), False)
    assert deadline.calendar_version == "chinesecalendar-1.11.0+test-fixture-2027"


def test_amendment_to_a_published_year_is_listed_with_its_file(cal: WorkingCalendar, tmp_path: Path) -> None:
    path = tmp_path / "amend.json"
    path.write_text(
        json.dumps(
            {
                "version": "amend-2026-test",
                "notice_title": "test amendment",
                "notice_date": "2026-06-01",
                "year": 2026,
                "amendment": True,
                "holidays": [{"date": "2026-10-09", "name": "test bridge"}],
                "workdays": [],
            }
        ),
        encoding="utf-8",
    )
    cal.load_file(path)
    listed = {d.date: d for d in cal.special_days(2026)}
    assert listed[D(2026, 10, 9)].source == "override file amend-2026-test (amend.json)"
    assert listed[D(2026, 10, 9)].working is False
    assert listed[D(2026, 10, 7)].source == SOURCE_PUBLISHED
    assert cal.year_source(2026) == SOURCE_PUBLISHED


def test_every_provisional_rest_day_2000_to_2100_falls_in_its_own_year() -> None:
    """The year boundary: 除夕 is never in the Gregorian year before, no make-up day spills over."""
    for year in range(2000, 2101):
        rest_days = [d for d, _ in statutory_rest_days(year)]
        assert {d.year for d in rest_days} == {year}
        first = min(d for d, n in rest(year).items() if n == "春节")  # 除夕, or 初一 before 2008
        assert D(year, 1, 20) <= first <= D(year, 2, 20), (year, first)
        assert len(rest_days) == len(set(rest_days))
