"""``python -m tests.bench`` (``make bench``): the engine's speed and memory figures.

Prints a table and writes ``bench-results/latest.json``. It *reports*; it asserts nothing about
speed (the issue's targets are printed beside the figures). Every engine figure is the median of
several runs in a fresh subprocess pinned to one core with BLAS/OpenMP threads set to 1.

Options: ``--quick`` runs a tiny configuration (used by the smoke test); ``--out PATH``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tests.bench.harness import run_bench
from tests.bench.report import format_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny configuration (smoke test)")
    parser.add_argument("--out", default="bench-results/latest.json", help="JSON output path")
    args = parser.parse_args(argv)

    results = run_bench(quick=args.quick, progress=lambda msg: print(msg, file=sys.stderr))
    print(format_table(results))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
