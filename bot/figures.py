"""The one rounding rule for the figures that decide recognition: volunteer hours and "ngày công".

Every place that shows or exports hours or person-days (chat replies, /stats, the chart, XLSX and
CSV exports, reminders and thank-yous) goes through this module, so that one total never reads
3,33 in the chat and 3,333 in a spreadsheet. The rule: add up the raw hours first, derive
person-days from the total (hours ÷ hours per day), then round half up to two decimals.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal

DECIMALS = 2
_QUANTUM = Decimal(1).scaleb(-DECIMALS)


def rounded(value: float) -> float:
    """Half up at two decimals, on the decimal value people read (2.675 → 2.68, not 2.67)."""
    return float(Decimal(repr(value)).quantize(_QUANTUM, rounding=ROUND_HALF_UP))


def total_hours(hours: Iterable[float]) -> float:
    return rounded(sum(hours, 0.0))


def person_days(hours: float, hours_per_day: float) -> float:
    """Ngày công of a total of hours (never of already rounded person-days)."""
    if hours_per_day <= 0:
        raise ValueError("hours_per_day must be positive")
    return rounded(hours / hours_per_day)


def format_figure(value: float, language: str = "vi") -> str:
    """A rounded figure as people write it: ``3,5`` and ``1.234,25`` in Vietnamese, ``3.5`` and
    ``1,234.25`` in English; whole numbers without decimals."""
    locale = "vi" if language == "vi" else "en"
    return str(format_decimal(rounded(value), format="#,##0.##", locale=locale))


# Shares (participation, attendance rate) have their one rule too: per cent, half up at one
# decimal, so that a unit's rate reads the same in the report, the chart and the ranking.
PERCENT_DECIMALS = 1
_PERCENT_QUANTUM = Decimal(1).scaleb(-PERCENT_DECIMALS)


def percentage(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in per cent, half up at one decimal on the exact quotient (1 of 16
    → 6.3, 2 of 3 → 66.7); None when there is no whole to take a share of."""
    if whole <= 0:
        return None
    share = Decimal(part) * 100 / Decimal(whole)
    return float(share.quantize(_PERCENT_QUANTUM, rounding=ROUND_HALF_UP))


def format_percent(value: float | None, language: str = "vi") -> str:
    """A percentage from :func:`percentage` as people write it: ``83,3%`` and ``50%`` in
    Vietnamese, ``83.3%`` in English; ``—`` when there is none."""
    if value is None:
        return "—"
    locale = "vi" if language == "vi" else "en"
    return str(format_decimal(value, format="#,##0.#", locale=locale)) + "%"
