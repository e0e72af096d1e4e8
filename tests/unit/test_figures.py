"""The one rounding rule for hours and ngày công."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.reminders import Addressee, LogKey, UpcomingActivity
from bot.figures import (
    format_figure,
    format_percent,
    percentage,
    person_days,
    rounded,
    total_hours,
)
from bot.i18n import Catalogue
from bot.reminders import THANK_YOU, DueMessage
from handlers.reminders import render


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2.675, 2.68), (2.665, 2.67), (1.005, 1.01), (3.0, 3.0), (0.125, 0.13), (10 / 3, 3.33)],
)
def test_rounds_half_up_on_the_decimal_people_read(value: float, expected: float) -> None:
    assert rounded(value) == expected


def test_person_days_come_from_the_total_of_hours_not_from_rounded_parts() -> None:
    # Three activities of 1 h each at 8 h a day: 0.375 → 0.38, where adding three rounded
    # 0.13 would give 0.39.
    assert person_days(total_hours([1.0, 1.0, 1.0]), 8) == 0.38


def test_person_days_refuse_a_zero_day() -> None:
    with pytest.raises(ValueError):
        person_days(8, 0)


@pytest.mark.parametrize(
    ("value", "language", "text"),
    [
        (3.5, "vi", "3,5"),
        (3.0, "vi", "3"),
        (1234.25, "vi", "1.234,25"),
        (1234.25, "en", "1,234.25"),
        (0.375, "vi", "0,38"),
        (0.0, "en", "0"),
    ],
)
def test_figures_are_written_as_people_write_them(value: float, language: str, text: str) -> None:
    assert format_figure(value, language) == text


@given(st.lists(st.integers(min_value=0, max_value=10_000).map(lambda c: c / 100), max_size=200))
def test_a_total_of_two_decimal_hours_is_exact(hours: list[float]) -> None:
    cents = sum(round(h * 100) for h in hours)
    assert round(total_hours(hours) * 100) == cents


@pytest.mark.parametrize(
    ("part", "whole", "share"),
    [(1, 16, 6.3), (2, 3, 66.7), (1, 3, 33.3), (5, 6, 83.3), (9, 16, 56.3), (1, 8, 12.5)],
)
def test_shares_round_half_up_at_one_decimal_on_the_exact_quotient(
    part: int, whole: int, share: float
) -> None:
    assert percentage(part, whole) == share


def test_a_share_of_nothing_is_none_and_reads_as_a_dash() -> None:
    assert percentage(0, 0) is None
    assert format_percent(None, "vi") == "—"


@pytest.mark.parametrize(
    ("value", "language", "text"),
    [(83.3, "vi", "83,3%"), (83.3, "en", "83.3%"), (50.0, "vi", "50%"), (100.0, "en", "100%")],
)
def test_shares_are_written_as_people_write_them(value: float, language: str, text: str) -> None:
    assert format_percent(value, language) == text


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=10_000))
def test_a_share_of_a_part_never_exceeds_100(part: int, whole: int) -> None:
    share = percentage(min(part, whole), whole)
    assert share is not None and 0 <= share <= 100


@pytest.mark.parametrize(
    ("language", "hours", "credit"),
    [
        ("vi", 1.0, "1 giờ (0,13 ngày công)"),  # 0,125 half up: the same as /stats shows
        ("en", 3.5, "3.5 hours (0.44 person-days)"),  # English figures, English style
    ],
)
def test_the_thank_you_credits_hours_by_the_one_rule(
    language: str, hours: float, credit: str
) -> None:
    start = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    activity = UpcomingActivity(1, "Hiến máu", "Hà Nội", 1, start, start, start, None, None)
    message = DueMessage(
        LogKey(THANK_YOU, 1, 1, 0, start),
        start,
        Addressee(1, 42, language),
        activity,
        hours_credited=hours,
    )
    text, _ = render(message, Catalogue.load(), ZoneInfo("Asia/Ho_Chi_Minh"), 8.0, start)
    assert f" {credit}. " in text
