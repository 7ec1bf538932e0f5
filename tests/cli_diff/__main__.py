"""Run the differential script by hand.

    python -m tests.cli_diff [--server openbao|strongroom] [--cli strongroom|bao] [--dump]

Starts two fresh servers of the chosen kind, runs the script with `bao` (reference) and
with `--cli`, and prints the mismatch report.  `--cli bao` is the harness self-check:
it must report 0 mismatches.  `--dump` also prints every step's reference output.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from tests.cli_diff.compare import compare_runs, full_report
from tests.cli_diff.test_cli_diff import FEATURES, run_pair


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cli_diff")
    parser.add_argument("--server", choices=["openbao", "strongroom"], default="openbao")
    parser.add_argument("--cli", choices=["bao", "strongroom"], default="strongroom")
    parser.add_argument("--dump", action="store_true")
    opts = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cli-diff-") as tmp:
        ref, got = run_pair(opts.server, opts.cli, Path(tmp), FEATURES[opts.server])
    if opts.dump:
        for r in ref.results:
            print(f"=== #{r.index} [{r.step.group}] {r.step.describe()} -> exit {r.code}")
            if r.stdout:
                print(r.stdout, end="" if r.stdout.endswith("\n") else "\n<no newline>\n")
            if r.stderr:
                print("--- stderr:")
                print(r.stderr, end="" if r.stderr.endswith("\n") else "\n<no newline>\n")
    slow = sorted(ref.results + got.results, key=lambda r: -r.seconds)[:8]
    print("slowest steps:", ", ".join(f"#{r.index} {r.seconds:.2f}s" for r in slow))
    for run in (ref, got):
        print(f"{run.cli}: {sum(r.seconds for r in run.results):.1f}s in steps")
    mismatches = compare_runs(ref, got)
    print(full_report(ref, got, mismatches))
    print(f"({time.monotonic() - started:.1f}s)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
