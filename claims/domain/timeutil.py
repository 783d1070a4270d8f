"""Time zone helpers: the engine keeps UTC instants and shows Asia/Shanghai to people."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def today_in_shanghai(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (``now`` defaults to the wall clock; not for workflow code)."""
    return (now or datetime.now(UTC)).astimezone(SHANGHAI).date()


def local(dt: datetime) -> str:
    """An aware instant shown in Asia/Shanghai as ``YYYY-MM-DD HH:MM``."""
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
