"""The Chinese working-day calendar (工作日历) behind every SLA deadline and statutory limit.

Two kinds of time limit are computed here:

- **Programme targets in working days** (``WorkingCalendar.add_working_days``,
  ``WorkingCalendar.working_days_between``): working days follow the official national
  schedule published each year by the General Office of the State Council (国务院办公厅关于
  某年部分节假日安排的通知): weekends are rest days, public holidays are rest days, and the
  adjusted working days (调休上班) turn a Saturday or Sunday into a working day. A working
  day ends at the closing hour (default 17:30 Asia/Shanghai).
- **Statutory limits in calendar days** (``WorkingCalendar.statutory_deadline``): Insurance
  Law arts. 22–26, counted the Civil Code way (arts. 200–203).

Sources of the schedule, in order of precedence:

1. Override files (JSON, ``CalendarOverride``) for a newly published year or a mid-year
   amendment (2015, 2019 and 2020 were amended), loaded from the configured folder
   (``CLAIMS_CALENDAR_DIR``, default ``<repo>/data/calendar``) by ``get_calendar()`` or at runtime by
   ``WorkingCalendar.load_file``.
2. The ``chinesecalendar`` package (official schedules 2004 up to its last published year).
3. Otherwise the year is **provisional**: weekends plus the statutory holidays of the
   全国年节及纪念日放假办法 (``statutory_rest_days``): New Year's Day, Spring Festival,
   Qingming, Labour Day, Dragon Boat, Mid-Autumn and National Day, in the version of the
   law in force that year (2025 on: 除夕 to 正月初三, 1–2 May), with the lunar dates and the
   Qingming solar term computed by the ``lunar-python`` package, and a statutory day that
   falls on a weekend (or on another holiday) made up on the next weekday (补假). The yearly
   notice adds bridging days and adjusted working days that cannot be known in advance, so
   a deadline that touches such a year is flagged ``provisional`` and is recomputed once the
   schedule is loaded (``claims calendar load``), which replaces the provisional days.

``calendar_version`` (e.g. ``chinesecalendar-1.11.0+gov-2027``) is recorded on each
``Deadline`` so an auditor can see which schedule a deadline used.

All lookups are precomputed per year (sorted ordinals of working days), so a deadline costs
a few binary searches rather than a day-by-day walk.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]
from chinese_calendar import constants as _cc  # type: ignore[import-untyped]
from lunar_python import Lunar  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from claims.models import Deadline, DeadlineRequest

__all__ = [
    "CALENDAR_DIR_ENV",
    "DEFAULT_CALENDAR_DIR",
    "DEFAULT_CLOSING_TIME",
    "PUBLISHED_YEARS",
    "SHANGHAI",
    "CalendarDay",
    "CalendarError",
    "CalendarOverride",
    "HolidayLaw",
    "HOLIDAY_LAWS",
    "HolidayEntry",
    "WorkingCalendar",
    "law_in_force",
    "statutory_rest_days",
    "get_calendar",
    "calendar_dir",
    "CalendarSource",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""The engine's civil time zone: deadlines are counted in Asia/Shanghai local dates."""

DEFAULT_CLOSING_TIME = dt.time(17, 30)
"""Default end of a working day, local Asia/Shanghai time."""

CALENDAR_DIR_ENV = "CLAIMS_CALENDAR_DIR"
"""Environment variable naming the folder of override files (read by ``claims.infra.settings``,
which passes the folder to ``get_calendar``/``calendar_dir``; named here in messages)."""

DEFAULT_CALENDAR_DIR = Path(__file__).resolve().parents[2] / "data" / "calendar"
"""Default folder of override files (may be absent or empty)."""

_CC_VERSION = getattr(chinese_calendar, "__version__", "unknown")

PUBLISHED_YEARS: frozenset[int] = frozenset(d.year for d in _cc.holidays) | frozenset(
    d.year for d in _cc.workdays
)
"""Years whose official schedule ships with the ``chinesecalendar`` package."""

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


_LUNAR_VERSION = importlib.metadata.version("lunar-python")

SOURCE_PUBLISHED = f"published schedule (chinesecalendar {_CC_VERSION})"
"""Source label of the days of a year whose State Council schedule ships with ``chinesecalendar``."""

PROVISIONAL_TAG = "provisional, 全国年节及纪念日放假办法"
"""Marker in the name of every provisional statutory rest day.

E.g. ``春节 (provisional, 全国年节及纪念日放假办法)``.
"""


@dataclass(frozen=True)
class HolidayLaw:
    """One text of the 全国年节及纪念日放假办法 (State Council): the holidays for all citizens.

    Art. 2 lists the holidays; a holiday that falls on a Saturday or Sunday is made up on a
    working day (补假, art. 6 of the 2013 text; the same rule in every text since 1999).

    Attributes:
        effective: first day the text is in force.
        decree: the State Council decree that enacted it.
        spring_festival: days of the Spring Festival relative to 正月初一 (-1 = 除夕).
        labour_days: days off from 1 May.
        lunar_festivals: True when Qingming, Dragon Boat and Mid-Autumn are holidays (1 day each).
    """

    effective: dt.date
    decree: str
    spring_festival: tuple[int, ...]
    labour_days: int
    lunar_festivals: bool


HOLIDAY_LAWS: tuple[HolidayLaw, ...] = (
    # 国务院令第270号 of 1999-09-18: New Year 1, Spring Festival 3 (正月初一–初三),
    # Labour Day 3 (1–3 May), National Day 3 (1–3 Oct).
    HolidayLaw(dt.date(1999, 9, 18), "国务院令第270号", (0, 1, 2), 3, False),
    # 国务院令第513号 (2007-12-14, in force 2008-01-01): Labour Day 1; 除夕–初二; Qingming,
    # Dragon Boat and Mid-Autumn become holidays.
    HolidayLaw(dt.date(2008, 1, 1), "国务院令第513号", (-1, 0, 1), 1, True),
    # 国务院令第644号 (2013-12-11, in force 2014-01-01): Spring Festival back to 初一–初三.
    HolidayLaw(dt.date(2014, 1, 1), "国务院令第644号", (0, 1, 2), 1, True),
    # 国务院令第795号 (2024-11-10, in force 2025-01-01): 除夕–初三 (4 days), 1–2 May.
    HolidayLaw(dt.date(2025, 1, 1), "国务院令第795号", (-1, 0, 1, 2), 2, True),
)
"""The texts of the law since 1999, oldest first. Years before 2000 use the 1999 text (the
earlier texts and the six-day week are not modelled; the engine counts Saturdays as rest days)."""


def law_in_force(year: int) -> HolidayLaw:
    """The text of the 全国年节及纪念日放假办法 that governs the holidays of ``year``.

    Every text since 2008 took effect on 1 January; the 1999 text is used for every year
    before 2008 (see ``HOLIDAY_LAWS``).
    """
    law = HOLIDAY_LAWS[0]
    for candidate in HOLIDAY_LAWS:
        if candidate.effective.year <= year:
            law = candidate
    return law


def _solar(lunar: Lunar) -> dt.date:
    solar = lunar.getSolar()
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def _statutory_holidays(year: int, law: HolidayLaw) -> list[tuple[dt.date, str]]:
    """(date, Chinese name) of each statutory holiday day of ``year``, in the law's order."""
    days = [(dt.date(year, 1, 1), "元旦")]
    # Lunar year ``year`` begins (正月初一) between 21 January and 20 February of the same
    # Gregorian year, so 除夕 (the day before) and 初三 both fall in ``year`` too.
    new_year = _solar(Lunar.fromYmd(year, 1, 1))
    days += [(new_year + dt.timedelta(days=k), "春节") for k in law.spring_festival]
    if law.lunar_festivals:
        # The 清明 solar term of lunar year ``year`` is in early April of ``year``.
        qingming = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
        days.append((dt.date(qingming.getYear(), qingming.getMonth(), qingming.getDay()), "清明节"))
    days += [(dt.date(year, 5, 1 + k), "劳动节") for k in range(law.labour_days)]
    if law.lunar_festivals:
        # Month 5 and 8 are the ordinary months: a leap month (闰五月) is month -5 in lunar-python.
        days.append((_solar(Lunar.fromYmd(year, 5, 5)), "端午节"))
        days.append((_solar(Lunar.fromYmd(year, 8, 15)), "中秋节"))
    days += [(dt.date(year, 10, 1 + k), "国庆节") for k in range(3)]
    return days


@lru_cache(maxsize=512)
def statutory_rest_days(year: int) -> tuple[tuple[dt.date, str], ...]:
    """The provisional rest days of ``year``: the law's holidays and their make-up days.

    Source: 全国年节及纪念日放假办法 in the text in force that year (``law_in_force``); in the
    2024 text (国务院令第795号, in force 2025): New Year's Day 1 day (1 Jan); Spring Festival 4
    days (农历除夕 to 正月初三); Qingming 1 day (the 清明 solar term); Labour Day 2 days (1–2
    May); Dragon Boat 1 day (农历五月初五); Mid-Autumn 1 day (农历八月十五); National Day 3
    days (1–3 Oct). Lunar dates and the 清明 term are computed by ``lunar-python`` (never a
    table typed here). A holiday on a Saturday or Sunday, or on a day that is already
    another holiday (中秋 on 1–3 October), is made up (补假) on the first weekday after it
    that is not already a rest day, as the law requires and the yearly notices have done
    (e.g. 2009 and 2020: 中秋 within 国庆 gave one more day off). The yearly notice's
    bridging days and adjusted working days (调休) are not guessed: a provisional year has
    no adjusted working days.

    Args:
        year: a Gregorian year.

    Returns:
        (date, name) pairs sorted by date, one per rest day; every name carries
        ``PROVISIONAL_TAG``, e.g. ``春节 (provisional, 全国年节及纪念日放假办法)`` or
        ``春节补假 (provisional, 全国年节及纪念日放假办法)``. Weekend days among the holidays
        are listed too (they are holidays, and rest days anyway).
    """
    holidays = _statutory_holidays(year, law_in_force(year))
    rest: dict[dt.date, str] = {}
    owed: list[tuple[dt.date, str]] = []
    for day, name in holidays:
        if day in rest or day.weekday() >= 5:
            owed.append((day, name))
        rest[day] = f"{rest[day]}、{name}" if day in rest else name
    named = {day: f"{name} ({PROVISIONAL_TAG})" for day, name in rest.items()}
    for day, name in owed:
        makeup = day + dt.timedelta(days=1)
        while makeup.weekday() >= 5 or makeup in named:
            makeup += dt.timedelta(days=1)
        named[makeup] = f"{name}补假 ({PROVISIONAL_TAG})"
    return tuple(sorted(named.items()))


def provisional_source(year: int) -> str:
    """Source label of the provisional days of ``year``: the law text in force that year.

    E.g. ``provisional statutory (全国年节及纪念日放假办法, 国务院令第795号)``; the lunar
    library is named by ``year_source``.
    """
    return f"provisional statutory (全国年节及纪念日放假办法, {law_in_force(year).decree})"


@lru_cache(maxsize=512)
def _provisional_rest(year: int) -> frozenset[dt.date]:
    return frozenset(day for day, _ in statutory_rest_days(year))


@dataclass(frozen=True)
class CalendarDay:
    """A day that a schedule names: a day off (放假) or an adjusted working day (调休上班).

    Attributes:
        date: the Asia/Shanghai calendar date.
        working: True for an adjusted working day (or a holiday cancelled by an amendment),
            False for a day off.
        name: the holiday's name as the source gives it.
        source: where the day comes from: ``SOURCE_PUBLISHED``, ``override file <version>
            (<file name>)`` or ``provisional_source(year)``.
    """

    date: dt.date
    working: bool
    name: str
    source: str


class CalendarError(ValueError):
    """A calendar override file cannot be used. The message names the file, the date and the fix.

    Attributes:
        source: the file (or label) the override came from.
        day: the offending date, when one date is at fault.
    """

    def __init__(self, message: str, *, source: str, day: dt.date | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.day = day


# --------------------------------------------------------------------------- override files

StrictDate = Annotated[dt.date, Strict()]


class HolidayEntry(BaseModel):
    """One rest day of a holiday period (放假), as listed in the State Council notice.

    List every rest day of the period, weekend days included (e.g. 1–7 October).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: StrictDate
    name: str = Field(min_length=1, max_length=100)


class CalendarOverride(BaseModel):
    """An override file: one year's official schedule, or an amendment to one.

    Without ``amendment`` the file is the complete schedule of ``year``: every day not
    listed is a working day Monday–Friday and a rest day on weekends. It may also list dates
    in December of ``year - 1`` (a new notice can move the last days of the year before).
    For a year whose schedule is already known (``chinesecalendar`` or an earlier file) a
    complete schedule must agree with it day by day; a change needs ``"amendment": true``.

    With ``"amendment": true`` only the listed dates change: holidays become rest days,
    workdays become working days; the rest of the year keeps its current schedule.

    Attributes:
        version: short id appended to ``calendar_version`` (letters, digits, ``.``, ``_``,
            ``-``), e.g. ``gov-2027`` or ``gov-2027-amend-1``.
        notice_title: title of the State Council notice the file transcribes.
        notice_date: publication date of the notice; files are applied in this order.
        year: the year the notice is about.
        amendment: true for a mid-year change to an already known schedule.
        holidays: rest days (放假) with the holiday's name.
        workdays: adjusted working days (调休上班): weekend days that are working days.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)
    notice_title: str = Field(min_length=1, max_length=300)
    notice_date: StrictDate
    year: int = Field(ge=1949, le=2200)
    amendment: bool = False
    holidays: list[HolidayEntry] = Field(default_factory=list)
    workdays: list[StrictDate] = Field(default_factory=list)


def _describe_validation_error(source: str, err: ValidationError) -> str:
    lines = []
    for e in err.errors()[:5]:
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e["loc"]).lstrip(".")
        where = loc or "file"
        value = e.get("input")
        kind = e["type"]
        if kind == "json_invalid":
            fix = "fix the JSON syntax"
        elif kind == "extra_forbidden":
            fix = (
                "remove the field; allowed fields are "
                + ", ".join(CalendarOverride.model_fields)
                + " (holiday entries: date, name)"
            )
        elif kind == "missing":
            fix = "add the field"
        elif "date" in kind:
            fix = "write an existing calendar date as YYYY-MM-DD"
        else:
            fix = "correct the value"
        shown = "" if kind in ("missing", "json_invalid") else f" {value!r}:"
        lines.append(f"{where}:{shown} {e['msg']}. Fix: {fix}.")
    more = len(err.errors()) - 5
    if more > 0:
        lines.append(f"... and {more} more error(s)")
    return f"{source}: invalid calendar override file:\n  " + "\n  ".join(lines)


def _read_override(path: Path) -> CalendarOverride:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarError(
            f"{source}: cannot read calendar override file ({exc}). "
            "Fix: check the path and save the file as UTF-8 JSON.",
            source=source,
        ) from exc
    try:
        return CalendarOverride.model_validate_json(text)
    except ValidationError as exc:
        raise CalendarError(_describe_validation_error(source, exc), source=source) from exc


def _override_source(source: str, ov: CalendarOverride) -> str:
    return f"override file {ov.version} ({Path(source).name})"


def _fmt(day: dt.date) -> str:
    return f"{day.isoformat()} ({_WEEKDAY_NAMES[day.weekday()]})"


def _check_shape(ov: CalendarOverride, source: str) -> dict[dt.date, bool]:
    """Check one file on its own; return its listed statuses (True = working day)."""
    statuses: dict[dt.date, bool] = {}
    seen_holidays: set[dt.date] = set()
    for h in ov.holidays:
        if h.date in seen_holidays:
            raise CalendarError(
                f"{source}: {_fmt(h.date)} is listed twice under holidays. Fix: keep one entry per date.",
                source=source,
                day=h.date,
            )
        seen_holidays.add(h.date)
        statuses[h.date] = False
    seen_workdays: set[dt.date] = set()
    for w in ov.workdays:
        if w in seen_holidays:
            raise CalendarError(
                f"{source}: {_fmt(w)} is listed both as a holiday and as a working day. "
                "Fix: check the notice and keep the date in one list only "
                "(holidays = 放假, workdays = 调休上班).",
                source=source,
                day=w,
            )
        if w in seen_workdays:
            raise CalendarError(
                f"{source}: {_fmt(w)} is listed twice under workdays. Fix: keep one entry per date.",
                source=source,
                day=w,
            )
        if not ov.amendment and w.weekday() < 5:
            raise CalendarError(
                f"{source}: {_fmt(w)} is listed under workdays but is already a weekday. "
                "Fix: workdays lists only weekend days that become working days (调休上班); "
                'to cancel a holiday on a weekday use an amendment file ("amendment": true).',
                source=source,
                day=w,
            )
        seen_workdays.add(w)
        statuses[w] = True
    for day in statuses:
        if day.year == ov.year or (day.year == ov.year - 1 and day.month == 12):
            continue
        raise CalendarError(
            f"{source}: {_fmt(day)} lies outside the file's year {ov.year}. "
            f"Fix: list only dates in {ov.year} (or in December {ov.year - 1} when the notice "
            f"moves them); put other years in their own file, or correct the year.",
            source=source,
            day=day,
        )
    return statuses


# --------------------------------------------------------------------------- schedule state


@dataclass(frozen=True)
class _YearTable:
    working: tuple[int, ...]  # sorted proleptic ordinals of the year's working days
    working_set: frozenset[int]
    provisional: bool


@dataclass(frozen=True)
class _Schedule:
    """An immutable snapshot of the loaded schedule; swapped whole on every load."""

    overrides: tuple[tuple[str, CalendarOverride], ...] = ()
    overlay: Mapping[dt.date, bool] = field(default_factory=dict)  # True = working day
    replaced_years: frozenset[int] = frozenset()  # years whose base is an override file
    version: str = f"chinesecalendar-{_CC_VERSION}"
    _years: dict[int, _YearTable] = field(default_factory=dict, compare=False)

    def has_schedule(self, year: int) -> bool:
        return year in PUBLISHED_YEARS or year in self.replaced_years

    def status(self, day: dt.date) -> bool:
        """Uncached: True when ``day`` is a working day."""
        listed = self.overlay.get(day)
        if listed is not None:
            return listed
        year = day.year
        weekday = day.weekday() < 5
        if year in self.replaced_years:
            return weekday
        if year in PUBLISHED_YEARS:
            return day in _cc.workdays or (weekday and day not in _cc.holidays)
        return weekday and day not in _provisional_rest(year)

    def year(self, year: int) -> _YearTable:
        table = self._years.get(year)
        if table is None:
            first = dt.date(year, 1, 1).toordinal()
            last = dt.date(year, 12, 31).toordinal()
            fromordinal = dt.date.fromordinal
            working = tuple(o for o in range(first, last + 1) if self.status(fromordinal(o)))
            table = _YearTable(working, frozenset(working), not self.has_schedule(year))
            self._years[year] = table  # idempotent; safe to race under the GIL
        return table


def _apply(state: _Schedule, ov: CalendarOverride, source: str) -> _Schedule:
    """Return a new schedule with ``ov`` applied, or raise ``CalendarError``."""
    for other_source, other in state.overrides:
        if other.version == ov.version:
            raise CalendarError(
                f"{source}: version {ov.version!r} is already loaded (from {other_source}). "
                "Fix: give each override file its own version, and load a file only once.",
                source=source,
            )
    statuses = _check_shape(ov, source)
    year = ov.year
    replaced = state.replaced_years
    if ov.amendment:
        if not state.has_schedule(year):
            raise CalendarError(
                f"{source}: amendment for {year}, but no schedule for {year} is loaded. "
                f'Fix: load the year\'s notice first, or set "amendment": false if this file '
                "is the complete schedule of the year.",
                source=source,
            )
    else:
        if state.has_schedule(year):
            start = dt.date(year, 1, 1).toordinal()
            end = dt.date(year, 12, 31).toordinal()
            diffs = []
            for o in range(start, end + 1):
                day = dt.date.fromordinal(o)
                in_file = statuses.get(day, day.weekday() < 5)
                if in_file != state.status(day):
                    diffs.append(day)
            if diffs:
                origin = (
                    f"the published schedule (chinesecalendar {_CC_VERSION})"
                    if year in PUBLISHED_YEARS and year not in replaced
                    else "the schedule already loaded"
                )
                shown = "; ".join(
                    f"{_fmt(d)}: {'working day' if state.status(d) else 'rest day'} now, "
                    f"{'working day' if statuses.get(d, d.weekday() < 5) else 'rest day'} "
                    "in the file"
                    for d in diffs[:5]
                )
                more = f" (and {len(diffs) - 5} more dates)" if len(diffs) > 5 else ""
                raise CalendarError(
                    f"{source}: schedule for {year} differs from {origin} on {shown}{more}. "
                    'Fix: if this is an official amendment (调整通知), set "amendment": true '
                    "and list only the changed dates; otherwise correct the dates or remove "
                    "the file.",
                    source=source,
                    day=diffs[0],
                )
        replaced = replaced | {year}
    overlay = dict(state.overlay)
    if not ov.amendment:
        # A complete schedule replaces what earlier files said about its own year.
        overlay = {d: s for d, s in overlay.items() if d.year != year}
    overlay.update(statuses)
    return _Schedule(
        overrides=(*state.overrides, (source, ov)),
        overlay=overlay,
        replaced_years=replaced,
        version=f"{state.version}+{ov.version}",
    )


def _build(base: _Schedule, new: Iterable[tuple[str, CalendarOverride]]) -> _Schedule:
    """Replay every override (old and new) in notice order onto the package schedule."""
    items = [*base.overrides, *new]
    items.sort(key=lambda item: (item[1].notice_date, item[1].amendment, item[1].year))
    state = _Schedule()
    for source, ov in items:
        state = _apply(state, ov, source)
    return state


# --------------------------------------------------------------------------- the calendar


class WorkingCalendar:
    """Working days and deadlines on the official Chinese calendar, in Asia/Shanghai.

    Thread-safe: loads build a new immutable snapshot and swap it in; a failed load leaves
    the calendar unchanged.

    Args:
        closing_time: local Asia/Shanghai time at which a working day ends (naive
            ``datetime.time``); default 17:30. A start at or after it counts from the next
            day; a deadline falls due at it.

    Raises:
        ValueError: if ``closing_time`` carries a time zone.
    """

    def __init__(self, closing_time: dt.time = DEFAULT_CLOSING_TIME) -> None:
        if closing_time.tzinfo is not None:
            raise ValueError("closing_time is a local Asia/Shanghai wall-clock time: pass a naive time")
        self._closing = closing_time
        self._state = _Schedule()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ schedule

    @property
    def closing_time(self) -> dt.time:
        """Local Asia/Shanghai time at which a working day ends."""
        return self._closing

    @property
    def calendar_version(self) -> str:
        """``chinesecalendar-<version>`` plus ``+<override version>`` per loaded file, in notice order."""
        return self._state.version

    @property
    def overrides(self) -> tuple[CalendarOverride, ...]:
        """The loaded override files, in the order they were applied (notice date)."""
        return tuple(ov for _, ov in self._state.overrides)

    def load_file(self, path: str | os.PathLike[str]) -> CalendarOverride:
        """Load one override file (a new year's schedule or an amendment) at runtime.

        Open claims should recompute their deadlines afterwards: ``calendar_version`` changes.

        Args:
            path: a JSON file matching ``CalendarOverride``.

        Returns:
            The validated override.

        Raises:
            CalendarError: the file cannot be read, is not valid, lists a date as both holiday
                and working day, lists dates outside its year, reuses a loaded version, or
                contradicts a known schedule without ``"amendment": true``. The calendar is
                unchanged.
        """
        p = Path(path)
        ov = _read_override(p)
        with self._lock:
            self._state = _build(self._state, [(str(p), ov)])
        return ov

    def load_dir(self, directory: str | os.PathLike[str]) -> tuple[CalendarOverride, ...]:
        """Load every ``*.json`` file of a folder, all or nothing.

        Args:
            directory: folder of override files. Files are applied by notice date, so the
                file names do not matter.

        Returns:
            The overrides loaded from the folder (empty when it holds no ``*.json``).

        Raises:
            CalendarError: the folder does not exist, or any file fails (see ``load_file``);
                nothing from the folder is loaded.
        """
        folder = Path(directory)
        if not folder.is_dir():
            raise CalendarError(
                f"{folder}: calendar folder does not exist. Fix: create it, or point "
                f"{CALENDAR_DIR_ENV} at the folder holding the override files.",
                source=str(folder),
            )
        loaded = [(str(p), _read_override(p)) for p in sorted(folder.glob("*.json"))]
        with self._lock:
            self._state = _build(self._state, loaded)
        return tuple(ov for _, ov in loaded)

    def year_source(self, year: int) -> str:
        """Where the schedule of ``year`` comes from, as ``claims calendar show`` prints it.

        Returns:
            ``override file <version> (<file name>)`` when a complete schedule file replaced
            the year (the last one applied), ``SOURCE_PUBLISHED`` for a year shipped with
            ``chinesecalendar``, else ``provisional_source(year)`` with the lunar library's
            version. Amendments are named per day by ``special_days``.
        """
        state = self._state
        if year in state.replaced_years:
            complete = [(src, ov) for src, ov in state.overrides if ov.year == year and not ov.amendment]
            return _override_source(*complete[-1])
        if year in PUBLISHED_YEARS:
            return SOURCE_PUBLISHED
        return (
            f"{provisional_source(year)}; lunar dates and 清明 computed by lunar-python "
            f"{_LUNAR_VERSION}; replaced when the year's notice is loaded"
        )

    def special_days(self, year: int) -> tuple[CalendarDay, ...]:
        """The days of ``year`` that a schedule names, with their source, sorted by date.

        Every other day of the year is a working day Monday–Friday and a rest day on weekends.
        Days off include the weekend days inside a holiday period when the source lists them
        (the notices and ``chinesecalendar`` do). Provisional years list the statutory
        holidays and their make-up days (``statutory_rest_days``) and have no adjusted
        working days. A file for the next year may name late-December days: they are listed
        under their own year. Each day's ``working`` equals ``is_working_day``.

        Args:
            year: a Gregorian year.

        Returns:
            One ``CalendarDay`` per named date.
        """
        state = self._state
        days: dict[dt.date, CalendarDay] = {}
        if year in state.replaced_years:
            pass  # the complete schedule file is the whole base of the year
        elif year in PUBLISHED_YEARS:
            for day, name in _cc.holidays.items():
                if day.year == year:
                    days[day] = CalendarDay(day, False, str(name), SOURCE_PUBLISHED)
            for day in _cc.workdays:
                if day.year == year:
                    days[day] = CalendarDay(day, True, "adjusted working day (调休上班)", SOURCE_PUBLISHED)
        else:
            source = provisional_source(year)
            for day, name in statutory_rest_days(year):
                days[day] = CalendarDay(day, False, name, source)
        # Replay the files as ``_apply`` does: a complete schedule drops what earlier files
        # said about its own year.
        listed: dict[dt.date, CalendarDay] = {}
        for src, ov in state.overrides:
            if not ov.amendment:
                listed = {d: e for d, e in listed.items() if d.year != ov.year}
            label = _override_source(src, ov)
            for h in ov.holidays:
                listed[h.date] = CalendarDay(h.date, False, h.name, label)
            for w in ov.workdays:
                listed[w] = CalendarDay(w, True, "adjusted working day (调休上班)", label)
        days.update({d: e for d, e in listed.items() if d.year == year})
        return tuple(days[d] for d in sorted(days))

    # ------------------------------------------------------------------ days

    def is_working_day(self, day: dt.date) -> bool:
        """True when ``day`` (an Asia/Shanghai calendar date) is a working day.

        Working days follow the State Council's yearly holiday notice: Monday–Friday except
        holidays, plus adjusted working days (调休上班) on weekends. Provisional years use
        weekends and the statutory holidays with their make-up days (``statutory_rest_days``).
        """
        return day.toordinal() in self._state.year(day.year).working_set

    def is_provisional(self, day: dt.date) -> bool:
        """True when ``day`` lies in a year with no published schedule and no override file."""
        return self._state.year(day.year).provisional

    def _effective_start(self, start: dt.datetime, name: str) -> dt.date:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError(
                f"{name} must be timezone-aware (got naive {start.isoformat()}); "
                "pass a UTC or Asia/Shanghai datetime"
            )
        local = start.astimezone(SHANGHAI)
        day = local.date()
        if local.time() >= self._closing:
            day += dt.timedelta(days=1)
        return day

    def _nth(self, state: _Schedule, after: int, n: int) -> tuple[int, bool]:
        """Ordinal of the n-th working day strictly after ordinal ``after`` (n=0: on or after).

        Returns the ordinal and whether any year examined is provisional.
        """
        year = dt.date.fromordinal(after).year
        table = state.year(year)
        provisional = table.provisional
        if n == 0:
            idx = bisect_left(table.working, after)
        else:
            idx = bisect_right(table.working, after) + n - 1
        while idx >= len(table.working):
            idx -= len(table.working)
            year += 1
            table = state.year(year)
            provisional = provisional or table.provisional
        return table.working[idx], provisional

    def _count(self, state: _Schedule, after: int, upto: int) -> int:
        """Number of working days d with ``after < d <= upto`` (ordinals)."""
        if upto <= after:
            return 0
        total = 0
        for year in range(dt.date.fromordinal(after).year, dt.date.fromordinal(upto).year + 1):
            working = state.year(year).working
            total += bisect_right(working, upto) - bisect_right(working, after)
        return total

    # ------------------------------------------------------------------ deadlines

    def add_working_days(self, start: dt.datetime, working_days: int) -> Deadline:
        """The deadline ``working_days`` working days after ``start`` (a programme target).

        Counting: the effective start date is the Asia/Shanghai date of ``start``, or the
        next day if ``start`` is at or after the closing hour; a rest day rolls forward to
        the next working day (received on the next working day). ``working_days == 0`` ("same
        working day") gives the first working day on or after the effective start date;
        ``N > 0`` gives the N-th working day strictly after it (the start day is not
        counted). Working days follow the State Council holiday notices (see module doc).

        Args:
            start: timezone-aware instant the clock starts (any zone; UTC by convention).
            working_days: the target in working days, >= 0.

        Returns:
            A ``Deadline``: ``start`` in UTC, ``due_date`` (Asia/Shanghai date), ``due_at``
            (closing hour of ``due_date`` in Asia/Shanghai, as an aware UTC instant),
            ``calendar_version`` and ``provisional`` (true if any year from the effective
            start date to ``due_date`` has no published schedule).

        Raises:
            ValueError: ``start`` is naive, or ``working_days`` is negative.
        """
        if working_days < 0:
            raise ValueError(f"working_days must be >= 0 (got {working_days})")
        state = self._state
        # A report on a rest day (or after closing before one) counts as received on the
        # next working day, as village offices and the insurer's counters work.
        begin, rolled_provisional = self._nth(state, self._effective_start(start, "start").toordinal(), 0)
        due_ord, provisional = self._nth(state, begin, working_days)
        provisional = provisional or rolled_provisional
        due_date = dt.date.fromordinal(due_ord)
        due_at = dt.datetime.combine(due_date, self._closing, tzinfo=SHANGHAI).astimezone(dt.UTC)
        return Deadline(
            start=start.astimezone(dt.UTC),
            working_days=working_days,
            due_date=due_date,
            due_at=due_at,
            calendar_version=state.version,
            provisional=provisional,
        )

    def deadline_for(self, request: DeadlineRequest) -> Deadline:
        """``add_working_days`` for a boundary request (the ``compute_deadline`` activity's input).

        Raises:
            ValueError: ``request.start`` is naive.
        """
        return self.add_working_days(request.start, request.working_days)

    def working_days_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Working days taken from ``start`` to ``end``, for "working days taken" reports.

        Defined as the smallest target N such that ``end`` is no later than
        ``add_working_days(start, N).due_at``; so ``working_days_between(s, e) <= N`` exactly
        when ``e`` meets an N-working-day target. 0 means the same working day (by the
        closing hour); an ``end`` after the closing hour counts from the next working day.

        Args:
            start: timezone-aware instant the clock started.
            end: timezone-aware instant the work was done, not before ``start``.

        Returns:
            Working days (not calendar days), >= 0.

        Raises:
            ValueError: ``start`` or ``end`` is naive, or ``end`` is before ``start``.
        """
        state = self._state
        begin = self._effective_start(start, "start")
        if end.tzinfo is None or end.utcoffset() is None:
            raise ValueError(
                f"end must be timezone-aware (got naive {end.isoformat()}); "
                "pass a UTC or Asia/Shanghai datetime"
            )
        if end < start:
            raise ValueError(f"end ({end.isoformat()}) is before start ({start.isoformat()})")
        local_end = end.astimezone(SHANGHAI)
        finish = local_end.date()
        if local_end.time() > self._closing:
            finish += dt.timedelta(days=1)
        begin_ord, _ = self._nth(state, begin.toordinal(), 0)  # received on the next working day
        # The first working day on or after the end's effective date: the day it was met by.
        met_by, _ = self._nth(state, finish.toordinal(), 0)
        return self._count(state, begin_ord, met_by)

    def statutory_deadline(self, start: dt.date, calendar_days: int) -> dt.date:
        """Last day of a statutory limit in calendar days (Insurance Law arts. 22–26).

        Counted the Civil Code way: the period is reckoned in calendar days (art. 200), the
        day of ``start`` is not counted (art. 201), and when the last day is a statutory
        holiday or rest day the period ends on the day after it, i.e. the next working day
        (art. 203). The limit runs to 24:00 of the returned date (art. 203). An adjusted
        working day (调休上班) on a weekend is a working day.

        Args:
            start: Asia/Shanghai calendar date of the triggering event (e.g. the day a complete
                claim arrived); a ``datetime`` is refused.
            calendar_days: the limit in calendar days, >= 1 (e.g. 30 for art. 23).

        Returns:
            The last day of the period (Asia/Shanghai calendar date).

        Raises:
            TypeError: ``start`` is a ``datetime``.
            ValueError: ``calendar_days`` < 1.
        """
        if isinstance(start, dt.datetime):
            raise TypeError("start must be a date (Asia/Shanghai), not a datetime")
        if calendar_days < 1:
            raise ValueError(f"calendar_days must be >= 1 (got {calendar_days})")
        last = start.toordinal() + calendar_days
        due, _ = self._nth(self._state, last, 0)
        return dt.date.fromordinal(due)


@lru_cache(maxsize=4)
def get_calendar(configured: Path | None = None) -> WorkingCalendar:
    """The process-wide calendar, with every ``*.json`` override of the calendar folder loaded.

    Args:
        configured: the configured folder (``CLAIMS_CALENDAR_DIR``, passed down from
            ``claims.infra.settings``: ``settings.calendar.folder``); None: the default folder
            ``<repo>/data/calendar``, which may be absent or empty.

    Cached per folder: call ``get_calendar.cache_clear()`` in tests.

    Raises:
        CalendarError: ``configured`` names a missing folder, or a file in the folder is
            invalid (see ``WorkingCalendar.load_file``).
    """
    calendar = WorkingCalendar()
    folder = calendar_dir(configured)
    if configured is not None or folder.is_dir():
        calendar.load_dir(folder)
    return calendar


def calendar_dir(configured: Path | None = None) -> Path:
    """The folder of holiday schedule override files: ``configured`` (the settings'
    ``CLAIMS_CALENDAR_DIR``) or ``<repo>/data/calendar``."""
    return configured if configured is not None else DEFAULT_CALENDAR_DIR


class CalendarSource:
    """The calendar of a long-running worker: rebuilt when the override folder changes.

    ``claims calendar load FILE`` copies a schedule into the folder; the next deadline
    computation of any worker then uses it, without a restart.

    Args:
        folder: the override folder; default :func:`calendar_dir`.
        base: a fixed calendar to use instead (tests); the folder is then ignored.
    """

    def __init__(self, folder: Path | None = None, base: WorkingCalendar | None = None) -> None:
        self._folder = folder or calendar_dir()
        self._base = base
        self._fingerprint: tuple[tuple[str, int, int], ...] | None = None
        self._calendar: WorkingCalendar | None = base

    def _scan(self) -> tuple[tuple[str, int, int], ...]:
        if not self._folder.is_dir():
            return ()
        return tuple(
            sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in self._folder.glob("*.json"))
        )

    def get(self) -> WorkingCalendar:
        """The calendar with every override file of the folder loaded (rebuilt on change).

        Raises:
            CalendarError: a file in the folder is invalid (the previous calendar is kept
                for the next call, so a bad file never falls back to calendar days).
        """
        if self._base is not None:
            return self._base
        fp = self._scan()
        if self._calendar is None or fp != self._fingerprint:
            calendar = WorkingCalendar()
            if fp:
                calendar.load_dir(self._folder)
            self._calendar, self._fingerprint = calendar, fp
        return self._calendar


def _dump_published_year(year: int) -> str:  # pragma: no cover - maintainer helper
    """JSON of a published year in override format (to start an amendment from)."""
    holidays = [
        {"date": d.isoformat(), "name": str(name)}
        for d, name in sorted(_cc.holidays.items())
        if d.year == year
    ]
    workdays = [d.isoformat() for d in sorted(_cc.workdays) if d.year == year]
    return json.dumps(
        {
            "version": f"chinesecalendar-{year}",
            "notice_title": f"chinesecalendar {_CC_VERSION} copy of {year}",
            "notice_date": f"{year - 1}-12-01",
            "year": year,
            "amendment": False,
            "holidays": holidays,
            "workdays": workdays,
        },
        ensure_ascii=False,
        indent=2,
    )
