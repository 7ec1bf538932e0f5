"""`strongroom` and the real `bao` side by side: same arguments, same server, same output.

Each CLI gets its own HOME, so the token helper file each one writes is compared
too. Outputs are normalised with the differential suite's normaliser (tokens,
accessors, times, ticking TTLs) unless a check is strict.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.cli_diff.normalize import canonical, equivalent
from tests.cli_diff.runner import bao_binary
from tests.integration.server import STRONGROOM

BAO = bao_binary()


@dataclass
class Out:
    code: int
    stdout: str
    stderr: str
    helper: str | None  # the token helper file after the run (None: no file)


class Pair:
    """Runs `bao` and `strongroom` with the same arguments against one server."""

    def __init__(self, addr: str, base: Path) -> None:
        self.addr = addr
        self.base = base
        self.homes = {"bao": base / "home-bao", "strongroom": base / "home-strongroom"}
        for home in self.homes.values():
            home.mkdir(parents=True, exist_ok=True)

    def env(self, cli: str, extra: dict[str, str | None] | None = None) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.homes[cli]),
            "BAO_ADDR": self.addr,
            "BAO_TOKEN": "root",
        }
        for key, value in (extra or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value.replace("{home}", str(self.homes[cli]))
        return env

    def run(
        self,
        cli: str,
        args: list[str],
        stdin: str | int = "",
        env: dict[str, str | None] | None = None,
        cwd: Path | None = None,
    ) -> Out:
        helper = self.homes[cli] / ".vault-token"
        helper.unlink(missing_ok=True)
        binary = BAO if cli == "bao" else STRONGROOM
        if isinstance(stdin, int):  # a terminal (pty) file descriptor
            result = subprocess.run(
                [binary, *args], env=self.env(cli, env), stdin=stdin, capture_output=True,
                timeout=60, cwd=cwd,
            )  # fmt: skip
        else:
            result = subprocess.run(
                [binary, *args], env=self.env(cli, env), input=stdin.encode(),
                capture_output=True, timeout=60, cwd=cwd,
            )  # fmt: skip
        stored = helper.read_text() if helper.exists() else None
        return Out(
            result.returncode,
            result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"),
            stored,
        )

    def check(
        self,
        args: list[str],
        stdin: str = "",
        env: dict[str, str | None] | None = None,
        strict: bool = False,
    ) -> tuple[Out, Out]:
        want = self.run("bao", args, stdin, env)
        got = self.run("strongroom", args, stdin, env)
        assert "Traceback" not in got.stderr, got.stderr
        assert_same(want, got, strict=strict, what=" ".join(args))
        return want, got


def assert_same(want: Out, got: Out, *, strict: bool = False, what: str = "") -> None:
    def same(a: str | None, b: str | None) -> bool:
        if a is None or b is None or strict:
            return a == b
        return equivalent(canonical(a), canonical(b))

    problems = [
        name
        for name, a, b in (
            ("stdout", want.stdout, got.stdout),
            ("stderr", want.stderr, got.stderr),
            ("token helper", want.helper, got.helper),
        )
        if not same(a, b)
    ]
    if want.code != got.code:
        problems.insert(0, f"exit code {got.code} != {want.code}")
    assert not problems, (
        f"{what}: {', '.join(problems)}\n--- bao:\n{want.stdout}\n{want.stderr}"
        f"\n--- strongroom:\n{got.stdout}\n{got.stderr}"
    )
