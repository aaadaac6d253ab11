"""Number formats for the run report: percentages, signed deltas, run clock."""

from django import template

from scoring.analysis.labels import clock_label

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.99534 -> '99.5 %'; '—' for a missing value."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def signed(value, digits: int = 1) -> str:
    """A delta with its sign: 3.0 -> '+3.0', -0.5 -> '−0.5' (true minus sign); '—' if missing."""
    if value is None or value == "":
        return "—"
    text = f"{float(value):+.{int(digits)}f}"
    return text.replace("-", "\u2212")


@register.filter
def signed_points(value, digits: int = 2) -> str:
    """A fraction delta in percentage points: 0.0123 -> '+1.23 pp'."""
    if value is None or value == "":
        return "—"
    return f"{signed(float(value) * 100, digits)} pp"


@register.filter
def clock(value) -> str:
    """Seconds into the run -> 'T+mm:ss'; '—' if missing."""
    if value is None or value == "":
        return "—"
    return clock_label(float(value))


@register.filter
def humanize_code(value) -> str:
    """'saturation_start' -> 'Saturation start'; 'sla_breach_start' -> 'SLA breach start'."""
    words = str(value or "").split("_")
    words = ["SLA" if w == "sla" else w for w in words]
    return " ".join(words)[:1].upper() + " ".join(words)[1:]


@register.filter
def usd(value) -> str:
    """1055.4 -> '$1,055'; '—' if missing."""
    if value is None or value == "":
        return "—"
    return f"${float(value):,.0f}"


@register.filter
def count(value) -> str:
    """123018.4 -> '123,018'; '—' if missing."""
    if value is None or value == "":
        return "—"
    return f"{float(value):,.0f}"


@register.filter
def budget_burn(value) -> str:
    """Error budget burned: 0.55 -> '55 %', 53.6 -> '54× the budget'; '—' if undefined."""
    if value is None or value == "":
        return "—"
    value = float(value)
    return f"{value:.0f}× the budget" if value >= 2 else f"{value * 100:.0f} %"
