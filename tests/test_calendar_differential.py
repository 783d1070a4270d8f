"""The engine's working days against an independently maintained library: ``holidays`` (CN).

``holidays`` (the "Open World Holidays Framework", PyPI ``holidays``) keeps China's schedules
from the State Council notices itself, adjusted working days included: ``weekend_workdays``
holds the weekend days that are working days and ``is_working_day`` answers with them. Its
data and ours (``chinesecalendar``) are transcribed by different people from the same
notices, so a disagreement is a transcription error on one side or a rule the two apply
differently. Every disagreement must be listed below with its reason; an unlisted one, or a
listed one that has gone away (a library fixed), fails the test.

Measured with holidays 0.109 and chinesecalendar 1.11.0: 2010-2026 (6,209 days): no difference.
2004-2026 (8,401 days): one, 31 December 2005. Provisional years 2027-2100 (27,028 days)
against the library's own rule-based years: five, all the same rule.
"""

from __future__ import annotations

import datetime as dt

import holidays
import pytest

from claims.domain.workdays import PUBLISHED_YEARS, WorkingCalendar, statutory_rest_days

D = dt.date


def each_day(first: dt.date, last: dt.date) -> list[dt.date]:
    return [D.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]


def differences(cal: WorkingCalendar, first: dt.date, last: dt.date) -> dict[dt.date, tuple[bool, bool]]:
    """(engine, library) working-day answers for every day they disagree on."""
    library = holidays.China(years=range(first.year, last.year + 1))
    return {
        day: (cal.is_working_day(day), library.is_working_day(day))
        for day in each_day(first, last)
        if cal.is_working_day(day) != library.is_working_day(day)
    }


def explain(found: dict[dt.date, tuple[bool, bool]], known: dict[dt.date, str]) -> str:
    lines = []
    for day, (ours, theirs) in sorted(found.items()):
        if day not in known:
            lines.append(
                f"unexplained: {day} ({day:%A}): engine {'working' if ours else 'rest'}, "
                f"holidays {holidays.__version__} {'working' if theirs else 'rest'}"
            )
    gone = [day for day in known if day not in found]
    lines += [f"listed but no longer different: {day}: {known[day]}" for day in gone]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


# Days of the published years on which the engine and the library disagree, with the reason.
PUBLISHED_DIFFERENCES: dict[dt.date, str] = {
    D(2005, 12, 31): (
        "the 2006 notice (国务院办公厅关于2006年部分节假日安排的通知) makes Saturday 31 December "
        "2005 a working day in exchange for 3 January 2006; chinesecalendar 1.11.0 lists 3 "
        "January 2006 off but not the 2005 working day, so the engine rests that Saturday. The "
        "library is right; the year is outside every claim's dates."
    ),
}


def test_engine_and_holidays_agree_on_every_day_2010_to_2026(cal: WorkingCalendar) -> None:
    found = differences(cal, D(2010, 1, 1), D(2026, 12, 31))
    known = {d: why for d, why in PUBLISHED_DIFFERENCES.items() if d.year >= 2010}
    assert not explain(found, known), explain(found, known)
    assert len(each_day(D(2010, 1, 1), D(2026, 12, 31))) == 6209
    assert found == {}


def test_engine_and_holidays_differ_only_as_listed_on_every_published_day_2004_to_2026(
    cal: WorkingCalendar,
) -> None:
    assert min(PUBLISHED_YEARS) == 2004 and max(PUBLISHED_YEARS) == 2026
    found = differences(cal, D(2004, 1, 1), D(2026, 12, 31))
    assert not explain(found, PUBLISHED_DIFFERENCES), explain(found, PUBLISHED_DIFFERENCES)
    assert found == {D(2005, 12, 31): (False, True)}


def mid_autumn_make_up(day: dt.date) -> bool:
    """True when ``day`` is the engine's make-up day for 中秋 falling on 1-3 October."""
    rest = dict(statutory_rest_days(day.year))
    coinciding = [d for d, name in rest.items() if name.startswith("中秋节、国庆节")]
    return bool(coinciding) and rest.get(day, "").startswith("国庆节补假")


def test_provisional_years_2027_to_2100_match_the_libraries_rule_but_for_mid_autumn_on_national_day(
    cal: WorkingCalendar,
) -> None:
    """The library computes years it has no notice for from the law too (lunar dates from its
    own tables, a weekend holiday "observed" on the next weekday). The one rule it does not
    apply: 中秋 on 1-3 October earns no extra day there, while the notices of 2009 and 2020
    gave one (8 days off for 国庆 + 中秋, 4 of them weekdays net of the adjusted Saturdays and
    Sundays) and the engine does too. Each such year differs on exactly one day.
    """
    found = differences(cal, D(2027, 1, 1), D(2100, 12, 31))
    assert found == {
        D(2028, 10, 5): (False, True),
        D(2031, 10, 6): (False, True),
        D(2058, 10, 4): (False, True),
        D(2077, 10, 6): (False, True),
        D(2085, 10, 4): (False, True),
    }
    assert all(mid_autumn_make_up(day) for day in found)
    assert all(cal.is_provisional(day) for day in found)
