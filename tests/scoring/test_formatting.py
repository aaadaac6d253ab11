"""Number formats of the run report."""

import pytest

from scoring.analysis.labels import clock_label
from scoring.templatetags.scoring_format import (
    budget_burn,
    clock,
    count,
    humanize_code,
    percent,
    signed,
    signed_points,
    usd,
)


@pytest.mark.parametrize(
    "value, expected",
    [(0.0, "T+00:00"), (59.6, "T+01:00"), (754, "T+12:34"), (3725, "T+62:05")],
)
def test_clock_label(value, expected):
    assert clock_label(value) == expected


def test_missing_values_read_as_a_dash():
    for fmt in (percent, signed, signed_points, clock, usd, count, budget_burn):
        assert fmt(None) == "—"


def test_numbers():
    assert percent(0.99534, 2) == "99.53 %"
    assert signed(3.0) == "+3.0" and signed(-0.5) == "\u22120.5"
    assert signed_points(0.0123) == "+1.23 pp"
    assert usd(1055.4) == "$1,055" and count(123018.4) == "123,018"
    assert budget_burn(0.55) == "55 %" and budget_burn(53.6) == "54× the budget"


def test_humanize_code():
    assert humanize_code("saturation_start") == "Saturation start"
    assert humanize_code("sla_breach_end") == "SLA breach end"
    assert humanize_code("") == ""
