"""Compare two runs of the script step by step and report every mismatch."""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass

from tests.cli_diff.normalize import canonical, equivalent
from tests.cli_diff.runner import Result, Run


@dataclass
class Mismatch:
    index: int
    description: str
    report: str


def _show(label: str, text: str) -> str:
    if not text:
        return f"  {label}: (empty)\n"
    body = "".join(f"    | {line}\n" for line in text.split("\n"))
    return f"  {label}:\n{body}"


def _diff(a: str, b: str, la: str, lb: str) -> str:
    lines = difflib.unified_diff(a.split("\n"), b.split("\n"), la, lb, lineterm="", n=2)
    return "".join(f"    {line}\n" for line in lines)


def compare_step(ref: Result, ref_run: Run, got: Result, got_run: Run) -> Mismatch | None:
    """None when the two results of one step match; else a readable report."""
    assert ref.index == got.index
    if ref.code is None or got.code is None:
        return None
    problems: list[str] = []
    if ref.code != got.code:
        problems.append(f"exit code {ref_run.cli}={ref.code} {got_run.cli}={got.code}")
    diffs = ""
    for stream in ("stdout", "stderr"):
        a, b = getattr(ref, stream), getattr(got, stream)
        if ref.step.help_text:
            ca, cb = _first_line(a, ref_run.cli), _first_line(b, got_run.cli)
            same = ca == cb
        elif ref.step.strict:
            same = a == b
            ca, cb = a, b
        else:
            ca, cb = canonical(a, ref_run.ctx), canonical(b, got_run.ctx)
            same = equivalent(ca, cb)
        if not same:
            mode = "bytes" if ref.step.strict else "normalised, cells joined by ' | '"
            problems.append(f"{stream} differs")
            diffs += f"  {stream} diff ({mode}):\n" + _diff(ca, cb, ref_run.cli, got_run.cli)
    if not problems:
        return None
    report = (
        f"--- step {ref.describe()}  [{ref.step.group}]\n"
        f"  {'; '.join(problems)}\n"
        f"  argv: {got.argv}\n"
        f"  {ref_run.cli}: exit {ref.code}\n"
        + _show("stdout", ref.stdout)
        + _show("stderr", ref.stderr)
        + f"  {got_run.cli}: exit {got.code}\n"
        + _show("stdout", got.stdout)
        + _show("stderr", got.stderr)
        + diffs
    )
    return Mismatch(ref.index, ref.step.describe(), report)


def _first_line(text: str, cli: str) -> str:
    """A help text's first line with the program name (`bao`, `strongroom`) taken out."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    name = cli.rsplit("/", 1)[-1]
    return first.replace(f"{name} ", "<cli> ")


def compare_runs(ref: Run, got: Run) -> list[Mismatch]:
    return [
        m
        for a, b in zip(ref.results, got.results, strict=True)
        if (m := compare_step(a, ref, b, got)) is not None
    ]


def summary(ref: Run, got: Run, mismatches: list[Mismatch]) -> str:
    ran = [r for r in got.results if r.code is not None]
    skipped = len(got.results) - len(ran)
    bad = {m.index for m in mismatches}
    by_group: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for r in ran:
        total[r.step.group] += 1
        if r.index in bad:
            by_group[r.step.group] += 1
    groups = ", ".join(f"{g} {by_group[g]}/{total[g]}" for g in sorted(by_group))
    return (
        f"{got.cli} vs {ref.cli} against {ref.server}: {len(mismatches)} of {len(ran)} steps "
        f"differ ({skipped} skipped for missing server features)\n"
        f"mismatches by command: {groups or 'none'}"
    )


def full_report(ref: Run, got: Run, mismatches: list[Mismatch]) -> str:
    return summary(ref, got, mismatches) + "\n\n" + "\n".join(m.report for m in mismatches)
