"""Every command output captured from the real `bao` for fixed responses, byte for byte."""

from __future__ import annotations

import json

import pytest

from tests.unit.cli.bao_golden import BODIES, OUTPUTS
from tests.unit.cli.bao_golden_sys import OUTPUTS as SYS_OUTPUTS
from tests.unit.cli.bao_golden_sys import SCENARIOS
from tests.unit.cli.helpers import fake_api, run_cli


def _serve(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    name = path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return 200, {"Content-Type": "application/json"}, BODIES[name].encode()


@pytest.fixture(scope="module")
def api_url():
    with fake_api(_serve) as server:
        yield server.url


@pytest.mark.parametrize("case", sorted(OUTPUTS))
def test_matches_bao(case: str, api_url: str, tmp_path) -> None:
    name, command = case.split("|")
    expected = OUTPUTS[case]
    env = {"BAO_ADDR": api_url, "BAO_TOKEN": "t", "HOME": str(tmp_path)}
    result = run_cli(*command.split(), f"x/{name}", env=env)
    assert (result.stdout, result.stderr, result.code) == expected


# --------------------------------------------------------------------------- sys/ and errors


def _scenario_handler(scenario: dict):
    def handle(method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        spec = scenario.get(path.split("?")[0], [404, {"errors": []}])
        status, payload = spec[0], spec[1]
        headers = dict(spec[2]) if len(spec) > 2 else {}
        if payload is None:
            raw = b""
        elif isinstance(payload, str):
            raw = payload.encode()
        else:
            raw = json.dumps(payload, separators=(",", ":")).encode()
        return status, headers, raw

    return handle


@pytest.mark.parametrize("case", sorted(SYS_OUTPUTS))
def test_sys_matches_bao(case: str, tmp_path) -> None:
    name, command = case.split("|")
    with fake_api(_scenario_handler(SCENARIOS[name])) as server:
        env = {"BAO_ADDR": server.url, "BAO_TOKEN": "t", "HOME": str(tmp_path)}
        result = run_cli(*command.split(), env=env)
    host = server.url.removeprefix("http://")
    got = (result.stdout.replace(host, "API"), result.stderr.replace(host, "API"), result.code)
    assert got == SYS_OUTPUTS[case]
