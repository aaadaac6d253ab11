"""The benchmark harness runs end to end on a tiny configuration (structure only, never speed)."""

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.report import format_table


def test_quick_bench_writes_every_section(tmp_path: Path):
    out = tmp_path / "latest.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert set(figures) >= {"provenance", "config", "targets", "a", "b", "c", "d", "e"}
    assert figures["config"]["quick"] is True
    assert figures["config"]["components"] >= 10
    timed = ("a", "median_s"), ("b", "median_s"), ("c", "speedup"), ("e", "median_s")
    for value in (figures[section][key] for section, key in timed):
        assert value > 0
    assert figures["a"]["maxrss_mb"] > 0
    # (a) and (b) are pooled over their alternating rounds
    for section in ("a", "b"):
        assert len(figures[section]["round_medians_s"]) == figures["config"]["rounds"]
    assert [row["ticks"] for row in figures["d"]["ticks"]] == sorted(
        row["ticks"] for row in figures["d"]["ticks"]
    )
    # The printed table is the same figures, rendered.
    assert format_table(figures) in proc.stdout
