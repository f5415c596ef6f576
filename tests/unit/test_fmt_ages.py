"""Ages in the tables and the Job detail summary change at most once a minute (issue 15: an idle console
writes nothing; a text in seconds would be rewritten at every tick or snapshot)."""

from __future__ import annotations

import pytest

from dtle_tui.text import fmt

NOW = 1_795_766_400.0


@pytest.mark.parametrize("seconds, text", [
    (0, "<1m"), (59.9, "<1m"), (60, "1m"), (119, "1m"), (3599, "59m"), (3600, "1h00m"), (36_000, "10h"),
    (2 * 86_400, "2d"), (-5, "<1m"),
])
def test_age_to_the_minute(seconds, text):
    assert fmt.age_minutes(int((NOW - seconds) * 1e9), NOW) == text
    assert fmt.duration_minutes(seconds) == text


def test_unknown_ages_read_as_a_dash():
    assert fmt.age_minutes(None, NOW) == fmt.age_minutes(0, NOW) == fmt.duration_minutes(None) == "—"


def test_the_text_is_the_same_for_every_second_of_a_minute():
    submitted = int((NOW - 3 * 3600 - 125) * 1e9)  # 3h02m05s ago
    texts = {fmt.age_minutes(submitted, NOW + s) for s in range(0, 55)}
    assert texts == {"3h02m"}
