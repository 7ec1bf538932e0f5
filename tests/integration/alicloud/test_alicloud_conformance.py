"""tests/conformance/alicloud-walkthrough.sh with both CLIs: the real `bao` and `strongroom`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.alicloud.conftest import REPO, FakeProcess
from tests.integration.server import BAO, STRONGROOM, ServerProcess

SCRIPT = REPO / "tests" / "conformance" / "alicloud-walkthrough.sh"


@pytest.mark.parametrize("cli", ["bao", "strongroom"])
def test_walkthrough(
    cli: str, server: ServerProcess, fake_process: FakeProcess, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "CLI": BAO if cli == "bao" else STRONGROOM,
        "PYTHON": sys.executable,
        "VAULT_ADDR": server.addr,
        "VAULT_TOKEN": "root",
        "ALICLOUD_ENDPOINT": fake_process.url,
        "MOUNT": f"alicloud-walk-{cli}",
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0 and last.endswith(" 0 failed"), done.stdout + done.stderr
