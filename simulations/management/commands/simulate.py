"""``manage.py simulate <scenario-slug> <design.json>``: score a design file from the shell.

Runs exactly what a worker runs for a submitted design (``scoring.analysis.assess``), without
storing anything, and prints the score and the post-mortem (or JSON with ``--json``).
"""

import json
import textwrap
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from config.errors import NotFoundError
from scoring.analysis import assess
from simulations import engine, selectors, specs
from simulations.models import DEFAULT_REPLICATIONS, MAX_REPLICATIONS


class Command(BaseCommand):
    help = "Simulate a design file against a scenario and print the score and post-mortem."

    def add_arguments(self, parser):
        parser.add_argument("scenario", help="Scenario slug (load them with load_scenarios).")
        parser.add_argument("design", type=Path, help="Design document, a JSON file.")
        parser.add_argument("--replications", type=int, default=DEFAULT_REPLICATIONS)
        parser.add_argument(
            "--seed", type=int, default=0, help="Root seed (default 0, reproducible)."
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="Print the score and post-mortem as JSON.",
        )

    def handle(self, *args, scenario, design, replications, seed, as_json: bool, **options):
        if not 1 <= replications <= MAX_REPLICATIONS:
            raise CommandError(f"--replications must be between 1 and {MAX_REPLICATIONS}.")
        try:
            row = selectors.scenario_get(slug=scenario)
        except NotFoundError as exc:
            raise CommandError(f"{exc.message} Run `manage.py load_scenarios` first?") from exc
        design_doc = self._read_design(design)
        problems = specs.design_problems(scenario_doc=row.spec, design_doc=design_doc)
        if problems:
            lines = "\n".join(f"  {p['pointer'] or '/'}: {p['message']}" for p in problems)
            raise CommandError(f"{design}: the engine cannot run this design:\n{lines}")

        assessment = assess(
            scenario=specs.parse_scenario(row.spec),
            design_doc=design_doc,
            replications=replications,
            seed=seed,
        )
        if as_json:
            self.stdout.write(_json_dumps(assessment))
        else:
            self.stdout.write(
                f"{row.title} ({row.slug}) · seed {seed} · {replications} replications"
                f" · engine {engine.ENGINE_VERSION}"
            )
            self.stdout.write(format_report(assessment))

    @staticmethod
    def _read_design(path: Path) -> dict:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise CommandError(
                f"{path}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            ) from exc


def _json_dumps(assessment) -> str:
    pm = assessment.postmortem
    return json.dumps(
        {
            "score": assessment.score.to_dict(),
            "postmortem": {
                "summary": pm.summary,
                "root_cause": pm.root_cause,
                "contributing_factors": pm.contributing_factors,
                "impact": pm.impact,
                "timeline": pm.timeline,
                "fixes": pm.fixes,
            },
        },
        indent=2,
        default=float,  # numpy scalars
    )


def _pct(fraction: float | None, digits: int = 2) -> str:
    return "—" if fraction is None else f"{fraction * 100:.{digits}f}%"


def format_report(assessment) -> str:
    """The score and post-mortem as plain text, for a terminal."""
    s, pm = assessment.score, assessment.postmortem
    verdict = "PASSED" if s.passed else "NOT PASSED"
    latency = "—" if s.latency_ms is None else f"{s.latency_ms:.0f} ms"
    lines = [
        "",
        f"Score: {s.points:.0f}/100 — {verdict} "
        f"(contract met in {_pct(s.p_contract_met, 0)} of replications)",
        f"  availability   {_pct(s.availability)}  target {_pct(s.availability_target)}"
        f"  met in {_pct(s.p_availability_met, 0)}",
        f"  p{s.latency_percentile:g} latency  {latency}  target ≤ {s.latency_target_ms:g} ms"
        f"  met in {_pct(s.p_latency_met, 0)}",
        f"  monthly cost   ${s.monthly_cost_usd:,.0f}  budget ${s.budget_usd_per_month:,.0f}"
        f"  met in {_pct(s.p_cost_met, 0)}",
        "",
        "Post-mortem",
        textwrap.indent(textwrap.fill(pm.summary, width=96), "  "),
        "",
        f"  Root cause: {pm.root_cause.get('explanation', pm.root_cause.get('kind'))}",
    ]
    if pm.contributing_factors:
        lines.append("  Contributing factors:")
        lines += [f"    - {f['title']}: {f.get('evidence', '')}" for f in pm.contributing_factors]
    impact = pm.impact
    lines.append(
        f"  Impact: {impact['failed_requests']:,.0f} failed requests, "
        f"{impact['minutes_in_breach']:.1f} minutes in breach, "
        f"error budget burned {_pct(impact.get('error_budget_burned_fraction'), 0)}"
    )
    if pm.fixes:
        lines.append("  What would have helped (measured on the same seed):")
        lines += [
            f"    - {f['title']}: {f['points']:.0f} points ({f['delta_points']:+.0f})"
            + (", passes" if f["passes"] else "")
            for f in pm.fixes
        ]
    return "\n".join(lines)
