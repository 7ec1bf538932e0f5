"""Differential test of the `strongroom` command-line client against the real `bao`.

The script in `script.py` is run twice — once with `bao` (OpenBao 2.7.2, the reference)
and once with `strongroom` — each time against a fresh server of the same kind, and the
normalised exit code, stdout and stderr of every step must match:

* against a real OpenBao dev server, so the CLI is proven independently of our server;
* against strongroom dev servers, skipping the steps that need server features strongroom
  does not have yet (`STRONGROOM_FEATURES`, to be extended as those issues land).

All mismatches are collected and reported at once.  The runs take ~30 s: the two pairs
(four CLI runs, eight servers) run in parallel threads.

Harness self-check (must pass with 0 mismatches; it proves the normaliser is right):
`CLI_DIFF_CLI=bao pytest tests/cli_diff`, or `python -m tests.cli_diff --cli bao [--dump]`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from tests.cli_diff.compare import compare_runs, full_report
from tests.cli_diff.normalize import first_line
from tests.cli_diff.runner import Run, run_script
from tests.cli_diff.script import ALL_FEATURES, STEPS
from tests.cli_diff.servers import start_target

# Server features strongroom has today; add "policy", "userpass", … as the issues land.
STRONGROOM_FEATURES: frozenset[str] = frozenset(
    {"remount", "policy", "capabilities", "userpass", "approle", "leases", "audit"}
)

FEATURES = {"openbao": ALL_FEATURES, "strongroom": STRONGROOM_FEATURES}

# The CLI under test.  `CLI_DIFF_CLI=bao` swaps in the real bao: the harness self-check,
# which must pass with zero mismatches (it proves the normaliser has no false positives).
CLI = os.environ.get("CLI_DIFF_CLI", "strongroom")

T = TypeVar("T")


def _both(a: Callable[[], T], b: Callable[[], T]) -> tuple[T, T]:
    """Run two independent jobs in parallel (each CLI run is bound by process start-up)."""
    with ThreadPoolExecutor(2) as pool:
        fa, fb = pool.submit(a), pool.submit(b)
        return fa.result(), fb.result()


def run_pair(
    server: str, cli: str, tmp: Path, features: frozenset[str], steps=STEPS
) -> tuple[Run, Run]:
    """Run the script with `bao` and with `cli`, each against its own fresh `server`."""
    ref_target, got_target = _both(
        lambda: start_target(server, tmp / "ref-server"),
        lambda: start_target(server, tmp / "got-server"),
    )
    try:

        def go(name: str, target) -> Run:
            return run_script(
                name,
                server=server,
                addr=target.addr,
                uninit_addr=target.uninit.addr,
                unseal_key=target.unseal_key,
                workdir=tmp / f"{name}-{'ref' if target is ref_target else 'got'}",
                steps=steps,
                features=features,
            )

        return _both(lambda: go("bao", ref_target), lambda: go(cli, got_target))
    finally:
        ref_target.stop()
        got_target.stop()


# The runs a session needs are all started as soon as the first test asks for them, so
# the two pairs (each bound by process start-up) overlap.
NEEDS_PAIR = {
    "test_cli_matches_bao_against_openbao": "openbao",
    "test_bad_input_never_tracebacks": "openbao",
    "test_cli_matches_bao_against_strongroom": "strongroom",
}


@pytest.fixture(scope="module")
def pairs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Future]]:
    selected = {item.name for item in request.session.items}
    servers = sorted({NEEDS_PAIR[name] for name in selected if name in NEEDS_PAIR})
    pool = ThreadPoolExecutor(2)
    futures: dict[str, Future] = {}
    for server in servers:
        tmp = tmp_path_factory.mktemp(f"cli-diff-{server}")
        futures[server] = pool.submit(run_pair, server, CLI, tmp, FEATURES[server])
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def _check(pair: tuple[Run, Run]) -> None:
    ref, got = pair
    mismatches = compare_runs(ref, got)
    if mismatches:
        pytest.fail(full_report(ref, got, mismatches), pytrace=False)


def test_cli_matches_bao_against_openbao(pairs: dict[str, Future]) -> None:
    _check(pairs["openbao"].result())


def test_cli_matches_bao_against_strongroom(pairs: dict[str, Future]) -> None:
    _check(pairs["strongroom"].result())


def test_script_covers_every_command_group() -> None:
    groups = {s.group for s in STEPS}
    required = {
        "status", "version", "operator init", "operator unseal", "operator seal",
        "operator rotate", "operator key-status", "login", "secrets enable",
        "secrets disable", "secrets list", "secrets tune", "secrets move", "auth enable",
        "auth disable", "auth list", "auth tune", "read", "write", "delete", "list",
        "patch", "kv get", "kv put", "kv patch", "kv delete", "kv undelete", "kv destroy",
        "kv list", "kv metadata get", "kv metadata put", "kv metadata delete",
        "policy write", "policy read", "policy list", "policy delete", "policy fmt",
        "token create", "token lookup", "token renew", "token revoke", "token capabilities",
        "lease lookup", "lease renew", "lease revoke", "audit enable", "audit disable",
        "audit list", "path-help",
    }  # fmt: skip
    assert required <= groups, sorted(required - groups)
    assert len(STEPS) >= 60
    assert any(s.strict for s in STEPS)
    for form in ("-format=json", "-format=yaml", "-field="):
        assert any(any(a.startswith(form) for a in s.args) for s in STEPS), form


def test_bad_input_never_tracebacks(pairs: dict[str, Future]) -> None:
    """Malformed input: bao's exit code, the same first line on stderr, no traceback.

    Uses the `bad_input` steps of the run against OpenBao (no extra processes).
    """
    ref, got = pairs["openbao"].result()
    problems: list[str] = []
    checked = 0
    for want, have in zip(ref.results, got.results, strict=True):
        if not want.step.bad_input:
            continue
        checked += 1
        issues = []
        if have.code != want.code:
            issues.append(f"exit code {have.code}, bao gives {want.code}")
        if "Traceback" in have.stderr + have.stdout:
            issues.append("prints a Python traceback")
        if not have.stderr.strip():
            issues.append("nothing on stderr")
        else:
            expected = first_line(want.stderr, ref.ctx)
            line = first_line(have.stderr, got.ctx)
            if line != expected:
                issues.append(f"first stderr line {line!r}, bao prints {expected!r}")
            if want.stderr.strip().count("\n") == 0 and have.stderr.strip().count("\n"):
                issues.append("several lines on stderr where bao prints one")
        if issues:
            problems.append(
                f"{have.describe()}: {'; '.join(issues)}\n"
                f"    bao stderr: {want.stderr.strip()[:300]!r}\n"
                f"    strongroom stderr: {have.stderr.strip()[:300]!r}"
            )
    assert checked >= 10
    if problems:
        pytest.fail(
            f"{len(problems)} of {checked} bad inputs:\n" + "\n".join(problems), pytrace=False
        )
