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
   amendment (2015, 2019 and 2020 were amended), loaded from ``CLAIMS_CALENDAR_DIR``
   (default ``<repo>/data/calendar``) by ``get_calendar()`` or at runtime by
   ``WorkingCalendar.load_file``.
2. The ``chinesecalendar`` package (official schedules 2004 up to its last published year).
3. Otherwise the year is **provisional**: weekends plus the fixed-date statutory holidays of
   the 全国年节及纪念日放假办法 (New Year's Day, Labour Day, National Day). Lunar holidays
   cannot be known before the notice, so a deadline that touches such a year is flagged
   ``provisional`` and must be recomputed once the schedule is loaded.

``calendar_version`` (e.g. ``chinesecalendar-1.11.0+gov-2027``) is recorded on each
``Deadline`` so an auditor can see which schedule a deadline used.

All lookups are precomputed per year (sorted ordinals of working days), so a deadline costs
a few binary searches rather than a day-by-day walk.
"""

from __future__ import annotations

import datetime as dt
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
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from claims.models import Deadline, DeadlineRequest

__all__ = [
    "CALENDAR_DIR_ENV",
    "DEFAULT_CALENDAR_DIR",
    "DEFAULT_CLOSING_TIME",
    "PUBLISHED_YEARS",
    "SHANGHAI",
    "CalendarError",
    "CalendarOverride",
    "HolidayEntry",
    "WorkingCalendar",
    "get_calendar",
    "calendar_dir",
    "CalendarSource",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
"""The engine's civil time zone: deadlines are counted in Asia/Shanghai local dates."""

DEFAULT_CLOSING_TIME = dt.time(17, 30)
"""Default end of a working day, local Asia/Shanghai time."""

CALENDAR_DIR_ENV = "CLAIMS_CALENDAR_DIR"
"""Environment variable naming the folder of override files read by ``get_calendar()``."""

DEFAULT_CALENDAR_DIR = Path(__file__).resolve().parent.parent / "data" / "calendar"
"""Default folder of override files (may be absent or empty)."""

_CC_VERSION = getattr(chinese_calendar, "__version__", "unknown")

PUBLISHED_YEARS: frozenset[int] = frozenset(d.year for d in _cc.holidays) | frozenset(
    d.year for d in _cc.workdays
)
"""Years whose official schedule ships with the ``chinesecalendar`` package."""

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _fixed_holidays(year: int) -> frozenset[tuple[int, int]]:
    """(month, day) of the fixed-date statutory holidays of a year without a schedule.

    Source: 全国年节及纪念日放假办法 (State Council), art. 2: New Year's Day (1 Jan),
    Labour Day (1 May; also 2 May from 2025 under State Council Decree No. 795 of
    2024-11-10), National Day (1–3 Oct). Lunar holidays (Spring Festival, Qingming, Dragon
    Boat, Mid-Autumn) and the bridging days of the yearly notice are not predictable here.
    """
    days = {(1, 1), (5, 1), (10, 1), (10, 2), (10, 3)}
    if year >= 2025:
        days.add((5, 2))
    return frozenset(days)


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
        return weekday and (day.month, day.day) not in _fixed_holidays(year)

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

    # ------------------------------------------------------------------ days

    def is_working_day(self, day: dt.date) -> bool:
        """True when ``day`` (an Asia/Shanghai calendar date) is a working day.

        Working days follow the State Council's yearly holiday notice: Monday–Friday except
        holidays, plus adjusted working days (调休上班) on weekends. Provisional years use
        weekends and the fixed-date holidays only.
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


@lru_cache(maxsize=1)
def get_calendar() -> WorkingCalendar:
    """The process-wide calendar, with every ``*.json`` override of the calendar folder loaded.

    The folder is ``$CLAIMS_CALENDAR_DIR`` or ``<repo>/data/calendar``; the default folder
    may be absent or empty. Cached: call ``get_calendar.cache_clear()`` in tests.

    Raises:
        CalendarError: ``CLAIMS_CALENDAR_DIR`` names a missing folder, or a file in the folder
            is invalid (see ``WorkingCalendar.load_file``).
    """
    calendar = WorkingCalendar()
    configured = os.environ.get(CALENDAR_DIR_ENV)
    folder = calendar_dir()
    if configured or folder.is_dir():
        calendar.load_dir(folder)
    return calendar


def calendar_dir() -> Path:
    """The folder of holiday schedule override files: ``$CLAIMS_CALENDAR_DIR`` or ``<repo>/data/calendar``."""
    configured = os.environ.get(CALENDAR_DIR_ENV)
    return Path(configured) if configured else DEFAULT_CALENDAR_DIR


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
