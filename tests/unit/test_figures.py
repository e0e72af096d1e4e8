"""The one rounding rule for hours and ngày công."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.figures import format_figure, person_days, rounded, total_hours


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
