"""Short, stable texts for table cells and status lines (no Textual here)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from dtle_tui.text import clock


def age(ns: Optional[int], now: Optional[float] = None) -> str:
    """`42s`, `7m`, `3h`, `12d` from a Unix-ns timestamp; `—` when unknown."""
    if not ns:
        return "—"
    seconds = (now if now is not None else clock.now()) - ns / 1e9
    return duration(seconds)


def age_minutes(ns: Optional[int], now: Optional[float] = None) -> str:
    """`age` to the minute for table cells: `<1m` under a minute, so a cell's text changes at most once a
    minute and an idle table writes nothing in between (issue 15)."""
    if not ns:
        return "—"
    return duration_minutes((now if now is not None else clock.now()) - ns / 1e9)


def duration_minutes(seconds: Optional[float]) -> str:
    """`duration` to the minute: `<1m` under a minute (a text that changes at most once a minute)."""
    if seconds is None:
        return "—"
    return "<1m" if seconds < 60 else duration(seconds)


def duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400 * 2:
        hours = int(seconds // 3600)
        return f"{hours}h{int(seconds % 3600 // 60):02d}m" if hours < 10 else f"{hours}h"
    return f"{int(seconds // 86400)}d"


def hms(ts: Optional[float]) -> str:
    """HH:MM:SS local time of a Unix timestamp."""
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def ns_time(ns: Optional[int]) -> str:
    """`2026-11-27 08:01:02` local time from Unix ns."""
    if not ns:
        return "—"
    return datetime.fromtimestamp(ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")


def dt_text(value: Optional[datetime]) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def count(n: Optional[int]) -> str:
    """Transactions with thousands separators; `—` when unknown."""
    if n is None:
        return "—"
    return f"{n:,}"


def rate(per_s: Optional[float]) -> str:
    if per_s is None:
        return "—"
    if per_s >= 100:
        return f"{per_s:,.0f}/s"
    return f"{per_s:.1f}/s"


def short_time(ns: Optional[int]) -> str:
    """`21:32:30` for today, `11-26 21:32` for an older day (local time), from Unix ns."""
    if not ns:
        return "—"
    when = datetime.fromtimestamp(ns / 1e9)
    today = datetime.fromtimestamp(clock.now()).date()
    return when.strftime("%H:%M:%S") if when.date() == today else when.strftime("%m-%d %H:%M")

