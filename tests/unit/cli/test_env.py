"""Environment resolution and the token helper (spec §7.1)."""

from __future__ import annotations

import os
import stat

import pytest

from strongroom.cli.env import (
    DEFAULT_ADDRESS,
    EnvError,
    Settings,
    getenv,
    read_token_helper,
    resolve_token,
    write_token_helper,
)


def test_bao_wins_even_when_empty() -> None:
    assert getenv("ADDR", {"BAO_ADDR": "http://good", "VAULT_ADDR": "http://bad"}) == "http://good"
    assert getenv("TOKEN", {"BAO_TOKEN": "", "VAULT_TOKEN": "root"}) == ""
    assert getenv("TOKEN", {"VAULT_TOKEN": "root"}) == "root"
    assert getenv("TOKEN", {}) is None


def test_token_falls_back_to_helper(tmp_path) -> None:
    env = {"HOME": str(tmp_path), "BAO_TOKEN": "", "VAULT_TOKEN": "abc"}
    assert resolve_token(env) == ""
    write_token_helper("s.helper", env)
    # An empty BAO_TOKEN hides VAULT_TOKEN, then the helper file is used.
    assert resolve_token(env) == "s.helper"
    assert resolve_token({**env, "BAO_TOKEN": "s.env"}) == "s.env"


def test_token_helper_file(tmp_path) -> None:
    env = {"HOME": str(tmp_path)}
    assert read_token_helper(env) == ""
    path = tmp_path / ".vault-token"
    path.write_text("old")
    os.chmod(path, 0o644)
    write_token_helper("s.abc", env)
    assert path.read_bytes() == b"s.abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("s.xyz\n")
    assert read_token_helper(env) == "s.xyz"


def test_settings_defaults(tmp_path) -> None:
    s = Settings.from_env({"HOME": str(tmp_path)})
    assert s.address == DEFAULT_ADDRESS == "https://127.0.0.1:8200"
    assert s.token == ""
    s = Settings.from_env({"HOME": str(tmp_path), "VAULT_ADDR": "http://x", "BAO_ADDR": ""})
    assert s.address == DEFAULT_ADDRESS  # BAO_ADDR="" wins, and empty means default


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BAO_SKIP_VERIFY": "maybe"}, "could not parse BAO_SKIP_VERIFY"),
        ({"BAO_MAX_RETRIES": "x"}, 'strconv.ParseInt: parsing "x": invalid syntax'),
        ({"BAO_CLIENT_TIMEOUT": "x"}, 'could not parse "BAO_CLIENT_TIMEOUT"'),
    ],
)
def test_settings_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(EnvError) as info:
        Settings.from_env(env)
    assert str(info.value) == message
