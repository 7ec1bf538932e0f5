"""The real `bao` CLI (OpenBao 2.7.2) driving a strongroom process.

Every expectation below was observed by running the same `bao` command against a real
OpenBao 2.7.2 server (`bao server -dev` for the dev tests; `storage "inmem"` for the
init/unseal/seal flow, since OpenBao 2.7 has no `file` storage).  Timestamps are
normalised to `<TS>` before comparing whole outputs.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.server import BAO, FILE_CONFIG, ServerProcess, config_server

TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
# OpenBao 2.7.2 issues "s." + 24 base62 chars; strongroom chose Vault's "hvs." form.
TOKEN = re.compile(r"(?:s|hvs)\.[A-Za-z0-9]{24,}")
ACCESSOR = re.compile(r"[A-Za-z0-9]{24}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
WARNING_HEAD = "WARNING! The following warnings were returned from OpenBao:\n\n"

_names = itertools.count()


def unique(prefix: str) -> str:
    """A mount or secret name no other test in this module uses."""
    return f"{prefix}{next(_names)}"


# --------------------------------------------------------------------------- helpers


@dataclass
class Bao:
    """Runs the real `bao` binary against one server, with a private HOME."""

    addr: str
    home: Path
    token: str | None = "root"

    def __call__(
        self, *args: str, token: str | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        tok = self.token if token is None else token
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "BAO_ADDR": self.addr,
            "BAO_TOKEN": tok or "",
        }
        return subprocess.run(
            [BAO, *args],
            env=env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def ok(self, *args: str, token: str | None = None) -> str:
        """Run a command that must succeed silently on stderr; return stdout."""
        res = self(*args, token=token)
        assert res.returncode == 0, f"bao {' '.join(args)} -> {res.returncode}\n{res.stderr}"
        assert res.stderr == "", f"unexpected stderr for bao {' '.join(args)}:\n{res.stderr}"
        return res.stdout

    def json(self, *args: str, token: str | None = None) -> Any:
        """Run with `-format=json` (placed right after the command words) and parse stdout."""
        depth = 1 if args[0] in ("status", "read", "list", "write") else 2
        if args[:2] == ("kv", "metadata"):
            depth = 3
        argv = [*args[:depth], "-format=json", *args[depth:]]
        return json.loads(self.ok(*argv, token=token))


def norm(text: str) -> str:
    return TS.sub("<TS>", text)


def render(rows: list[tuple[str, str]], header: tuple[str, ...] = ("Key", "Value")) -> str:
    """The CLI's columnised table (spec §7.6), used to build exact expectations."""
    lines = [list(header), ["-" * len(h) for h in header], *[list(r) for r in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [c.ljust(w) for c, w in zip(line[:-1], widths, strict=False)] + [line[-1]]
        out.append("    ".join(cells))
    return "\n".join(out) + "\n"


def pad(title: str, width: int) -> str:
    """The `kv` section header helper (spec §7.7)."""
    n = width - (len(title) + 2)
    if n <= 0:
        n = 4
    if n % 2:
        n += 1
    return "=" * (n // 2) + f" {title} " + "=" * (n // 2)


def rows(table: str) -> dict[str, str]:
    """Key/Value table -> ordered dict (header and underline skipped)."""
    lines = table.rstrip("\n").split("\n")
    assert re.fullmatch(r"Key +Value", lines[0]), table
    assert re.fullmatch(r"--- +-----", lines[1]), table
    out: dict[str, str] = {}
    for line in lines[2:]:
        key, value = re.split(r" {4,}", line, maxsplit=1)
        out[key] = value
    return out


def columns(table: str) -> list[list[str]]:
    return [re.split(r" {4,}", line) for line in table.rstrip("\n").split("\n")]


def metadata_rows(version: int, deletion: str = "n/a", destroyed: bool = False):
    return [
        ("created_time", "<TS>"),
        ("custom_metadata", "<nil>"),
        ("deletion_time", deletion),
        ("destroyed", "true" if destroyed else "false"),
        ("version", str(version)),
    ]


def secret_block(api_path: str, version: int, deletion: str = "n/a", destroyed=False) -> str:
    """`kv put` output, and the first part of `kv get` output, for KV v2."""
    return (
        f"{pad('Secret Path', len(api_path))}\n{api_path}\n\n"
        f"{pad('Metadata', len('custom_metadata') + 9)}\n"
        + render(metadata_rows(version, deletion, destroyed))
    )


def data_block(data: dict[str, str]) -> str:
    return f"{pad('Data', max(len(k) for k in data) + 9)}\n" + render(sorted(data.items()))


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def bao(shared_dev: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Bao:
    return Bao(shared_dev.addr, tmp_path_factory.mktemp("bao-home"))


@pytest.fixture(scope="module")
def kv2(bao: Bao) -> str:
    mount = "clikv2"
    bao.ok("secrets", "enable", "-version=2", f"-path={mount}", "kv")
    return mount


@pytest.fixture(scope="module")
def kv1(bao: Bao) -> str:
    mount = "clikv1"
    bao.ok("secrets", "enable", f"-path={mount}", "kv")
    return mount


# --------------------------------------------------------------------------- status


def test_status_unsealed_dev(bao: Bao) -> None:
    res = bao("status")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    got = rows(res.stdout)
    keys = [k for k in got if k != "Commit Date"]  # only shown when the server has one
    assert keys == [
        "Seal Type",
        "Initialized",
        "Sealed",
        "Total Shares",
        "Threshold",
        "Version",
        "Storage Type",
        "Cluster Name",
        "Cluster ID",
        "HA Enabled",
    ]
    assert got["Seal Type"] == "shamir"
    assert got["Initialized"] == "true"
    assert got["Sealed"] == "false"
    assert got["Total Shares"] == "1"
    assert got["Threshold"] == "1"
    assert got["Storage Type"] == "inmem"
    assert got["HA Enabled"] == "false"
    assert got["Version"] not in ("", "n/a")
    assert re.fullmatch(r"vault-cluster-[0-9a-f]{8}", got["Cluster Name"])
    assert UUID.fullmatch(got["Cluster ID"])


def test_status_json_dev(bao: Bao) -> None:
    status = bao.json("status")
    assert status["type"] == "shamir"
    assert status["initialized"] is True
    assert status["sealed"] is False
    assert (status["t"], status["n"], status["progress"], status["nonce"]) == (1, 1, 0, "")
    assert status["storage_type"] == "inmem"
    assert status["ha_enabled"] is False
    assert UUID.fullmatch(status["cluster_id"])


# --------------------------------------------------------------------------- secrets engines


def test_secrets_enable_kv_v1_and_v2_and_list(bao: Bao) -> None:
    m1, m2 = unique("clien1_"), unique("clien2_")
    out = bao.ok("secrets", "enable", f"-path={m1}", "kv")
    assert out == f"Success! Enabled the kv secrets engine at: {m1}/\n"
    out = bao.ok("secrets", "enable", "-version=2", f"-path={m2}", "kv")
    assert out == f"Success! Enabled the kv secrets engine at: {m2}/\n"

    table = columns(bao.ok("secrets", "list"))
    assert table[0] == ["Path", "Type", "Accessor", "Description"]
    assert table[1] == ["----", "----", "--------", "-----------"]
    by_path = {r[0]: r for r in table[2:]}
    assert [r[0] for r in table[2:]] == sorted(by_path)
    for mount in (m1, m2):
        _, typ, accessor, description = by_path[f"{mount}/"]
        assert typ == "kv"
        assert re.fullmatch(r"kv_[0-9a-f]{8}", accessor)
        assert description == "n/a"

    mounts = bao.json("secrets", "list")
    assert mounts[f"{m2}/"]["type"] == "kv"
    assert mounts[f"{m2}/"]["options"] == {"version": "2"}
    assert mounts[f"{m1}/"]["type"] == "kv"
    assert (mounts[f"{m1}/"]["options"] or {}).get("version") in (None, "1")
    assert mounts[f"{m1}/"]["config"]["default_lease_ttl"] == 0
    assert mounts[f"{m1}/"]["deprecation_status"] == "supported"
    assert mounts[f"{m1}/"]["accessor"] == by_path[f"{m1}/"][2]


def test_secrets_list_default_mounts(bao: Bao) -> None:
    table = columns(bao.ok("secrets", "list"))
    by_path = {r[0]: r[1:] for r in table[2:]}
    assert by_path["cubbyhole/"][0] == "cubbyhole"
    assert by_path["cubbyhole/"][2] == "per-token private secret storage"
    assert by_path["identity/"][0] == "identity"
    assert by_path["identity/"][2] == "identity store"
    assert by_path["secret/"][0] == "kv"
    assert by_path["secret/"][2] == "key/value secret storage"
    assert by_path["sys/"][0] == "system"
    assert by_path["sys/"][2] == "system endpoints used for control, policy and debugging"
    assert re.fullmatch(r"system_[0-9a-f]{8}", by_path["sys/"][1])

    mounts = bao.json("secrets", "list")
    assert mounts["secret/"]["options"] == {"version": "2"}
    assert mounts["sys/"]["seal_wrap"] is True
    assert mounts["cubbyhole/"]["local"] is True


def test_secrets_tune_default_lease_ttl(bao: Bao) -> None:
    mount = unique("clitune")
    bao.ok("secrets", "enable", f"-path={mount}", "kv")
    out = bao.ok("secrets", "tune", "-default-lease-ttl=1h", mount)
    assert out == f"Success! Tuned the secrets engine at: {mount}/\n"

    tune = rows(bao.ok("read", f"sys/mounts/{mount}/tune"))
    assert tune["default_lease_ttl"] == "1h"
    assert tune["max_lease_ttl"] == "768h"
    assert tune["description"] == "n/a"
    assert tune["force_no_cache"] == "false"
    data = bao.json("read", f"sys/mounts/{mount}/tune")["data"]
    assert data["default_lease_ttl"] == 3600
    assert data["max_lease_ttl"] == 2764800

    # The tuned default TTL is the KV v1 refresh hint.
    bao.ok("kv", "put", f"{mount}/app", "a=1")
    got = rows(bao.ok("read", f"{mount}/app"))
    assert got == {"refresh_interval": "1h", "a": "1"}

    bao.ok("secrets", "tune", "-max-lease-ttl=2h", mount)
    assert rows(bao.ok("read", f"sys/mounts/{mount}/tune"))["max_lease_ttl"] == "2h"


def test_read_mount_tune_table_is_exactly_openbaos(bao: Bao) -> None:
    """A mount enabled without options has no `options` row in its tune output."""
    mount = unique("clitunex")
    bao.ok("secrets", "enable", f"-path={mount}", "kv")
    bao.ok("secrets", "tune", "-default-lease-ttl=1h", mount)
    assert bao.ok("read", f"sys/mounts/{mount}/tune") == render(
        [
            ("default_lease_ttl", "1h"),
            ("description", "n/a"),
            ("force_no_cache", "false"),
            ("max_lease_ttl", "768h"),
        ]
    )


def test_secrets_disable(bao: Bao) -> None:
    mount = unique("clidis")
    bao.ok("secrets", "enable", f"-path={mount}", "kv")
    bao.ok("kv", "put", f"{mount}/app", "a=1")
    assert f"{mount}/" in bao.json("secrets", "list")

    out = bao.ok("secrets", "disable", mount)
    assert out == f"Success! Disabled the secrets engine (if it existed) at: {mount}/\n"
    assert f"{mount}/" not in bao.json("secrets", "list")
    assert f"{mount}/" not in bao.ok("secrets", "list")

    res = bao("kv", "get", f"{mount}/app")
    assert res.returncode == 2
    assert (
        "preflight capability check returned 403, please ensure client's policies grant "
        f'access to path "{mount}/app/"'
    ) in res.stderr

    # disabling again is not an error
    assert bao.ok("secrets", "disable", mount) == out


# --------------------------------------------------------------------------- KV v2


def test_kv_v2_put_and_get_table(bao: Bao, kv2: str) -> None:
    path = unique("app")
    api = f"{kv2}/data/{path}"
    out = bao.ok("kv", "put", f"{kv2}/{path}", "user=alice", "pass=v1")
    assert norm(out) == secret_block(api, 1)

    out = bao.ok("kv", "get", f"{kv2}/{path}")
    assert norm(out) == secret_block(api, 1) + "\n" + data_block({"user": "alice", "pass": "v1"})
    assert TS.search(out), "created_time must be an RFC3339 timestamp"


def test_kv_v2_get_field_and_json(bao: Bao, kv2: str) -> None:
    path = unique("field")
    bao.ok("kv", "put", f"{kv2}/{path}", "user=alice", "pass=s3cr3t")

    assert bao.ok("kv", "get", "-field=pass", f"{kv2}/{path}") == "s3cr3t"

    res = bao("kv", "get", "-field=nope", f"{kv2}/{path}")
    assert res.returncode == 1
    assert res.stderr == 'Field "nope" not present in map\n'

    raw = bao.ok("kv", "get", "-format=json", f"{kv2}/{path}")
    doc = json.loads(raw)
    assert list(doc) == [
        "request_id",
        "lease_id",
        "lease_duration",
        "renewable",
        "data",
        "warnings",
    ]
    assert UUID.fullmatch(doc["request_id"])
    assert (doc["lease_id"], doc["lease_duration"], doc["renewable"]) == ("", 0, False)
    assert doc["data"]["data"] == {"pass": "s3cr3t", "user": "alice"}
    meta = doc["data"]["metadata"]
    assert meta["version"] == 1
    assert meta["deletion_time"] == ""
    assert meta["destroyed"] is False
    assert meta["custom_metadata"] is None
    assert TS.fullmatch(meta["created_time"])
    assert doc["warnings"] is None

    put = bao.json("kv", "put", f"{kv2}/{path}", "pass=two")
    assert put["data"]["version"] == 2
    assert set(put["data"]) == {
        "created_time",
        "custom_metadata",
        "deletion_time",
        "destroyed",
        "version",
    }


def test_kv_v2_put_twice_makes_version_2(bao: Bao, kv2: str) -> None:
    path = unique("twice")
    api = f"{kv2}/data/{path}"
    bao.ok("kv", "put", f"{kv2}/{path}", "pass=v1")
    out = bao.ok("kv", "put", f"{kv2}/{path}", "pass=v2")
    assert norm(out) == secret_block(api, 2)

    assert bao.ok("kv", "get", "-field=pass", f"{kv2}/{path}") == "v2"
    assert bao.ok("kv", "get", "-version=1", "-field=pass", f"{kv2}/{path}") == "v1"
    out = bao.ok("kv", "get", "-version=1", f"{kv2}/{path}")
    assert norm(out) == secret_block(api, 1) + "\n" + data_block({"pass": "v1"})

    res = bao("kv", "get", "-version=9", f"{kv2}/{path}")
    assert res.returncode == 2
    assert res.stderr == f"No value found at {api}\n"


def test_kv_v2_metadata_get(bao: Bao, kv2: str) -> None:
    path = unique("meta")
    bao.ok("kv", "put", f"{kv2}/{path}", "a=1")
    bao.ok("kv", "put", f"{kv2}/{path}", "a=2")
    api = f"{kv2}/metadata/{path}"

    out = bao.ok("kv", "metadata", "get", f"{kv2}/{path}")
    version_rows = [("created_time", "<TS>"), ("deletion_time", "n/a"), ("destroyed", "false")]
    expected = (
        f"{pad('Metadata Path', len(api))}\n{api}\n\n"
        f"{pad('Metadata', len('current_metadata_version') + 9)}\n"
        + render(
            [
                ("cas_required", "false"),
                ("created_time", "<TS>"),
                ("current_metadata_version", "0"),
                ("current_version", "2"),
                ("custom_metadata", "<nil>"),
                ("delete_version_after", "0s"),
                ("max_versions", "0"),
                ("metadata_cas_required", "false"),
                ("oldest_version", "0"),
                ("updated_time", "<TS>"),
            ]
        )
        + f"\n{pad('Version 1', len('deletion_time') + 9)}\n"
        + render(version_rows)
        + f"\n{pad('Version 2', len('deletion_time') + 9)}\n"
        + render(version_rows)
    )
    assert norm(out) == expected

    meta = bao.json("kv", "metadata", "get", f"{kv2}/{path}")["data"]
    assert meta["current_version"] == 2
    assert sorted(meta["versions"]) == ["1", "2"]
    assert meta["delete_version_after"] == "0s"


def test_kv_v2_metadata_get_on_v1_mount_is_refused(bao: Bao, kv1: str) -> None:
    bao.ok("kv", "put", f"{kv1}/metaref", "a=1")
    res = bao("kv", "metadata", "get", f"{kv1}/metaref")
    assert res.returncode == 1
    assert res.stderr == "Metadata not supported on KV Version 1\n"


def test_kv_v2_delete_then_get_reports_deleted_version(bao: Bao, kv2: str) -> None:
    path = unique("del")
    api = f"{kv2}/data/{path}"
    bao.ok("kv", "put", f"{kv2}/{path}", "pass=v1")
    bao.ok("kv", "put", f"{kv2}/{path}", "pass=v2")

    out = bao.ok("kv", "delete", f"{kv2}/{path}")
    assert out == f"Success! Data deleted (if it existed) at: {api}\n"

    # OpenBao 2.7.2: the metadata of the deleted version is printed (with its
    # deletion_time), the Data section is left out, and the exit code is 0.
    res = bao("kv", "get", f"{kv2}/{path}")
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert norm(res.stdout) == secret_block(api, 2, deletion="<TS>") + "\n"

    doc = bao.json("kv", "get", f"{kv2}/{path}")
    assert doc["data"]["data"] is None
    assert doc["data"]["metadata"]["version"] == 2
    assert TS.fullmatch(doc["data"]["metadata"]["deletion_time"])
    assert doc["data"]["metadata"]["destroyed"] is False

    res = bao("kv", "get", "-field=pass", f"{kv2}/{path}")
    assert res.returncode == 2
    assert res.stderr == f"No data found at {api}\n"

    # the older version is untouched
    assert bao.ok("kv", "get", "-version=1", "-field=pass", f"{kv2}/{path}") == "v1"
    versions = bao.json("kv", "metadata", "get", f"{kv2}/{path}")["data"]["versions"]
    assert versions["1"]["deletion_time"] == ""
    assert TS.fullmatch(versions["2"]["deletion_time"])


def test_kv_v2_undelete(bao: Bao, kv2: str) -> None:
    path = unique("undel")
    bao.ok("kv", "put", f"{kv2}/{path}", "pass=v1")
    bao.ok("kv", "put", f"{kv2}/{path}", "pass=v2")
    bao.ok("kv", "delete", f"{kv2}/{path}")
    assert bao.json("kv", "get", f"{kv2}/{path}")["data"]["data"] is None

    res = bao("kv", "undelete", f"{kv2}/{path}")
    assert res.returncode == 1
    assert res.stderr == (
        'No versions provided, use the "-versions" flag to specify the version to undelete.\n'
    )

    out = bao.ok("kv", "undelete", "-versions=2", f"{kv2}/{path}")
    assert out == f"Success! Data written to: {kv2}/undelete/{path}\n"
    assert bao.ok("kv", "get", "-field=pass", f"{kv2}/{path}") == "v2"
    meta = bao.json("kv", "get", f"{kv2}/{path}")["data"]["metadata"]
    assert (meta["version"], meta["deletion_time"]) == (2, "")


def test_kv_v2_destroy(bao: Bao, kv2: str) -> None:
    path = unique("destroy")
    api = f"{kv2}/data/{path}"
    bao.ok("kv", "put", f"{kv2}/{path}", "pass=v1")
    bao.ok("kv", "put", f"{kv2}/{path}", "pass=v2")

    out = bao.ok("kv", "destroy", "-versions=1", f"{kv2}/{path}")
    assert out == f"Success! Data written to: {kv2}/destroy/{path}\n"

    res = bao("kv", "get", "-version=1", f"{kv2}/{path}")
    assert res.returncode == 0, res.stderr
    assert norm(res.stdout) == secret_block(api, 1, destroyed=True) + "\n"

    doc = bao.json("kv", "get", "-version=1", f"{kv2}/{path}")
    assert doc["data"]["data"] is None
    assert doc["data"]["metadata"]["destroyed"] is True
    assert doc["data"]["metadata"]["deletion_time"] == ""

    versions = bao.json("kv", "metadata", "get", f"{kv2}/{path}")["data"]["versions"]
    assert versions["1"]["destroyed"] is True
    assert versions["2"]["destroyed"] is False
    assert bao.ok("kv", "get", "-field=pass", f"{kv2}/{path}") == "v2"


def test_kv_v2_list_folder(bao: Bao, kv2: str) -> None:
    folder = unique("dir")
    bao.ok("kv", "put", f"{kv2}/{folder}/a", "x=1")
    bao.ok("kv", "put", f"{kv2}/{folder}/sub/b", "x=1")
    assert bao.ok("kv", "list", f"{kv2}/{folder}") == "Keys\n----\na\nsub/\n"
    assert bao.ok("kv", "list", f"{kv2}/{folder}/") == "Keys\n----\na\nsub/\n"
    assert bao.json("kv", "list", f"{kv2}/{folder}") == ["a", "sub/"]

    res = bao("kv", "list", f"{kv2}/{folder}/nothing")
    assert res.returncode == 2
    assert res.stderr == f"No value found at {kv2}/metadata/{folder}/nothing\n"


def test_kv_v2_list_mount_root(bao: Bao) -> None:
    """`bao kv list M/` sends GET M/metadata?list=true (no trailing slash)."""
    mount = unique("clilist")
    bao.ok("secrets", "enable", "-version=2", f"-path={mount}", "kv")
    bao.ok("kv", "put", f"{mount}/app", "x=1")
    bao.ok("kv", "put", f"{mount}/dir/y", "x=1")
    res = bao("kv", "list", f"{mount}/")
    assert (res.returncode, res.stdout, res.stderr) == (0, "Keys\n----\napp\ndir/\n", "")
    assert bao.json("kv", "list", mount) == ["app", "dir/"]


def test_kv_v2_get_missing(bao: Bao, kv2: str) -> None:
    res = bao("kv", "get", f"{kv2}/never-written")
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr == f"No value found at {kv2}/data/never-written\n"


def test_kv_get_unknown_mount(bao: Bao) -> None:
    res = bao("kv", "get", "nosuchmount/x")
    assert res.returncode == 2
    assert res.stderr.startswith("Error making API request.\n\n")
    assert "Code: 403. Errors:" in res.stderr
    assert (
        "* preflight capability check returned 403, please ensure client's policies grant "
        'access to path "nosuchmount/x/"'
    ) in res.stderr


# --------------------------------------------------------------------------- KV v1


def test_kv_v1_put_get(bao: Bao, kv1: str) -> None:
    path = unique("v1app")
    out = bao.ok("kv", "put", f"{kv1}/{path}", "a=1", "b=2")
    assert out == f"Success! Data written to: {kv1}/{path}\n"

    assert bao.ok("kv", "get", f"{kv1}/{path}") == "== Data ==\n" + render([("a", "1"), ("b", "2")])
    assert bao.ok("kv", "get", "-field=b", f"{kv1}/{path}") == "2"
    doc = bao.json("kv", "get", f"{kv1}/{path}")
    assert doc["data"] == {"a": "1", "b": "2"}
    assert doc["lease_duration"] == 2764800
    assert doc["lease_id"] == ""
    assert rows(bao.ok("read", f"{kv1}/{path}")) == {
        "refresh_interval": "768h",
        "a": "1",
        "b": "2",
    }

    # no versions: a second put replaces the whole entry
    bao.ok("kv", "put", f"{kv1}/{path}", "c=3")
    assert bao.json("kv", "get", f"{kv1}/{path}")["data"] == {"c": "3"}

    assert bao.ok("kv", "list", kv1).split("\n")[:2] == ["Keys", "----"]
    assert path in bao.json("kv", "list", kv1)

    out = bao.ok("kv", "delete", f"{kv1}/{path}")
    assert out == f"Success! Data deleted (if it existed) at: {kv1}/{path}\n"
    res = bao("kv", "get", f"{kv1}/{path}")
    assert res.returncode == 2
    assert res.stderr == f"No value found at {kv1}/{path}\n"


def test_kv_v1_undelete_destroy_refused(bao: Bao, kv1: str) -> None:
    res = bao("kv", "undelete", "-versions=1", f"{kv1}/x")
    assert (res.returncode, res.stderr) == (1, "Undelete not supported on KV Version 1\n")
    res = bao("kv", "destroy", "-versions=1", f"{kv1}/x")
    assert (res.returncode, res.stderr) == (1, "Destroy not supported on KV Version 1\n")


# --------------------------------------------------------------------------- tokens


def _create_token(bao: Bao, *flags: str) -> dict:
    return bao.json("token", "create", *flags)["auth"]


def test_token_create_table(bao: Bao) -> None:
    res = bao("token", "create", "-policy=dev", "-ttl=1h")
    assert res.returncode == 0, res.stderr
    got = rows(res.stdout)
    assert list(got) == [
        "token",
        "token_accessor",
        "token_duration",
        "token_renewable",
        "token_policies",
        "identity_policies",
        "policies",
    ]
    assert TOKEN.fullmatch(got["token"])
    assert ACCESSOR.fullmatch(got["token_accessor"])
    assert got["token_duration"] == "1h"
    assert got["token_renewable"] == "true"
    assert got["token_policies"] == '["default" "dev"]'
    assert got["identity_policies"] == "[]"
    assert got["policies"] == '["default" "dev"]'

    # the token is real
    looked = bao.json("token", "lookup", got["token"])["data"]
    assert looked["accessor"] == got["token_accessor"]


def test_token_create_warns_about_unknown_policy(bao: Bao) -> None:
    res = bao("token", "create", "-policy=nosuchpolicy", "-ttl=1h")
    assert res.returncode == 0
    assert res.stderr == WARNING_HEAD + '  * Policy "nosuchpolicy" does not exist\n\n'
    doc = bao.json("token", "create", "-policy=nosuchpolicy", "-ttl=1h")
    assert doc["warnings"] == ['Policy "nosuchpolicy" does not exist']


def test_token_create_json_and_field(bao: Bao) -> None:
    doc = bao.json("token", "create", "-policy=dev", "-ttl=1h", "-metadata=app=web")
    assert doc["data"] is None
    auth = doc["auth"]
    assert TOKEN.fullmatch(auth["client_token"])
    assert auth["policies"] == ["default", "dev"]
    assert auth["token_policies"] == ["default", "dev"]
    assert auth["metadata"] == {"app": "web"}
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["orphan"] is False

    out = bao("token", "create", "-policy=dev", "-ttl=1h", "-field=token_duration").stdout
    assert out == "3600"


def test_token_lookup(bao: Bao) -> None:
    auth = _create_token(bao, "-policy=dev", "-ttl=1h")
    token, accessor = auth["client_token"], auth["accessor"]

    got = rows(bao.ok("token", "lookup", token))
    assert sorted(got) == list(got)
    assert list(got) == [
        "accessor",
        "creation_time",
        "creation_ttl",
        "display_name",
        "entity_id",
        "expire_time",
        "explicit_max_ttl",
        "id",
        "issue_time",
        "meta",
        "num_uses",
        "orphan",
        "path",
        "policies",
        "renewable",
        "ttl",
        "type",
    ]
    assert got["accessor"] == accessor
    assert got["id"] == token
    assert got["policies"] == "[default dev]"
    assert got["creation_ttl"] == "1h"
    assert re.fullmatch(r"1h|59m\d{1,2}s", got["ttl"]), got["ttl"]
    assert got["display_name"] == "token"
    assert got["path"] == "auth/token/create"
    assert got["explicit_max_ttl"] == "0s"
    assert got["entity_id"] == "n/a"
    assert got["meta"] == "<nil>"
    assert got["orphan"] == "false"
    assert got["renewable"] == "true"
    assert got["type"] == "service"
    assert TS.fullmatch(got["expire_time"]) and TS.fullmatch(got["issue_time"])
    assert re.fullmatch(r"\d{10}", got["creation_time"])

    data = bao.json("token", "lookup", token)["data"]
    assert 3590 <= data["ttl"] <= 3600
    assert data["creation_ttl"] == 3600
    assert data["policies"] == ["default", "dev"]

    by_accessor = rows(bao.ok("token", "lookup", "-accessor", accessor))
    assert by_accessor["id"] == "n/a"
    assert by_accessor["accessor"] == accessor

    self_lookup = rows(bao.ok("token", "lookup", token=token))
    assert self_lookup["id"] == token

    root = rows(bao.ok("token", "lookup"))
    assert root["id"] == "root"
    assert root["policies"] == "[root]"
    assert root["ttl"] == "0s"
    assert root["expire_time"] == "<nil>"


def test_token_renew(bao: Bao) -> None:
    auth = _create_token(bao, "-policy=dev", "-ttl=1h")
    token = auth["client_token"]

    got = rows(bao.ok("token", "renew", token))
    assert got["token"] == token
    assert got["token_accessor"] == auth["accessor"]
    assert got["token_duration"] == "1h"
    assert got["token_policies"] == '["default" "dev"]'

    got = rows(bao.ok("token", "renew", "-increment=2h", token))
    assert got["token_duration"] == "2h"

    data = bao.json("token", "lookup", token)["data"]
    assert data["ttl"] > 3600
    assert TS.fullmatch(data["last_renewal"])
    assert isinstance(data["last_renewal_time"], int)
    assert data["creation_ttl"] == 3600


def test_token_revoke(bao: Bao) -> None:
    auth = _create_token(bao, "-policy=dev", "-ttl=1h")
    token = auth["client_token"]
    assert rows(bao.ok("token", "lookup", token))["id"] == token

    assert bao.ok("token", "revoke", token) == "Success! Revoked token (if it existed)\n"

    res = bao("token", "lookup", token)
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.startswith("Error looking up token: Error making API request.\n")
    assert "URL: POST " in res.stderr and "/v1/auth/token/lookup\n" in res.stderr
    assert "Code: 403. Errors:\n\n* bad token" in res.stderr

    res = bao("token", "lookup", token=token)
    assert res.returncode == 2
    assert "Code: 403. Errors:\n\n* permission denied" in res.stderr

    res = bao("token", "lookup", "-accessor", auth["accessor"])
    assert res.returncode == 2
    assert "* 1 error occurred:\n\t* invalid accessor" in res.stderr

    res = bao("token", "renew", token)
    assert res.returncode == 2
    assert res.stderr.startswith("Error renewing token: ")

    # revoking again is fine
    assert bao.ok("token", "revoke", token) == "Success! Revoked token (if it existed)\n"


# --------------------------------------------------------------------------- non-dev server


@pytest.fixture(scope="module")
def uninit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bao]:
    """A file-storage server that is never initialised (read-only tests only)."""
    tmp = tmp_path_factory.mktemp("uninit")
    server = config_server(tmp, FILE_CONFIG).start()
    yield Bao(server.addr, tmp, token=None)
    server.stop()


def test_status_uninitialised(uninit: Bao) -> None:
    res = uninit("status")
    assert res.returncode == 2
    assert res.stderr == ""
    got = rows(res.stdout)
    assert got["Initialized"] == "false"
    assert got["Sealed"] == "true"
    assert (got["Total Shares"], got["Threshold"]) == ("0", "0")
    assert got["Unseal Progress"] == "0/0"
    assert got["Unseal Nonce"] == "n/a"
    assert got["Storage Type"] == "file"
    assert "Cluster Name" not in got

    doc = json.loads(uninit("status", "-format=json").stdout)
    assert (doc["initialized"], doc["sealed"], doc["t"], doc["n"]) == (False, True, 0, 0)

    res = uninit("operator", "init", "-status")
    assert (res.returncode, res.stdout) == (2, "Vault is not initialized\n")


def test_status_sealed_file_server_reports_ha_disabled(uninit: Bao) -> None:
    """HA is off for file storage, also while sealed (OpenBao: sys/leader -> ha_enabled false)."""
    res = uninit("status")
    assert res.returncode == 2
    assert rows(res.stdout)["HA Enabled"] == "false"
    assert json.loads(uninit("status", "-format=json").stdout)["ha_enabled"] is False


def test_operator_init_unseal_seal(tmp_path: Path) -> None:
    server = config_server(tmp_path / "srv", FILE_CONFIG).start()
    try:
        bao = Bao(server.addr, tmp_path, token=None)
        res = bao("operator", "init", "-key-shares=5", "-key-threshold=3", "-format=json")
        assert res.returncode == 0, res.stderr
        init = json.loads(res.stdout)
        assert len(init["unseal_keys_b64"]) == 5
        assert len(set(init["unseal_keys_b64"])) == 5
        assert len(init["unseal_keys_hex"]) == 5
        for b64, hx in zip(init["unseal_keys_b64"], init["unseal_keys_hex"], strict=True):
            assert bytes.fromhex(hx) == base64.b64decode(b64)
            assert len(bytes.fromhex(hx)) == 33
        assert (init["unseal_shares"], init["unseal_threshold"]) == (5, 3)
        assert TOKEN.fullmatch(init["root_token"])
        keys, root = init["unseal_keys_b64"], init["root_token"]

        assert bao.ok("operator", "init", "-status") == "Vault is initialized\n"
        res = bao("operator", "init", "-key-shares=1", "-key-threshold=1")
        assert res.returncode == 2
        assert "* Vault is already initialized" in res.stderr

        res = bao("status")
        assert res.returncode == 2
        got = rows(res.stdout)
        assert (got["Initialized"], got["Sealed"]) == ("true", "true")
        assert (got["Total Shares"], got["Threshold"]) == ("5", "3")
        assert got["Unseal Progress"] == "0/3"

        # while sealed, reads answer 503 Vault is sealed
        res = bao("read", "sys/mounts", token=root)
        assert res.returncode == 2
        assert "Code: 503. Errors:\n\n* Vault is sealed" in res.stderr

        got = rows(bao.ok("operator", "unseal", keys[0]))
        assert got["Sealed"] == "true"
        assert got["Unseal Progress"] == "1/3"
        nonce = got["Unseal Nonce"]
        assert UUID.fullmatch(nonce)

        # the same share twice does not advance progress
        assert rows(bao.ok("operator", "unseal", keys[0]))["Unseal Progress"] == "1/3"

        got = rows(bao.ok("operator", "unseal", keys[2]))
        assert got["Unseal Progress"] == "2/3"
        assert got["Unseal Nonce"] == nonce

        res = bao("operator", "unseal", keys[4])
        assert res.returncode == 0, res.stderr
        got = rows(res.stdout)
        assert got["Sealed"] == "false"
        assert "Unseal Progress" not in got and "Unseal Nonce" not in got
        assert re.fullmatch(r"vault-cluster-[0-9a-f]{8}", got["Cluster Name"])

        res = bao("status")
        assert res.returncode == 0
        assert rows(res.stdout)["Sealed"] == "false"

        # the root token works: enable a KV engine, write and read a secret
        bao.token = root
        assert rows(bao.ok("token", "lookup"))["policies"] == "[root]"
        bao.ok("secrets", "enable", "-version=2", "-path=secret", "kv")
        bao.ok("kv", "put", "secret/app", "password=hunter2")
        assert bao.ok("kv", "get", "-field=password", "secret/app") == "hunter2"

        assert bao.ok("operator", "seal") == "Success! Vault is sealed.\n"
        res = bao("status")
        assert res.returncode == 2
        got = rows(res.stdout)
        assert got["Sealed"] == "true"
        assert got["Unseal Progress"] == "0/3"

        res = bao("read", "secret/data/app")
        assert res.returncode == 2
        assert res.stderr.startswith("Error reading secret/data/app: Error making API request.")
        assert f"URL: GET {server.addr}/v1/secret/data/app\n" in res.stderr
        assert "Code: 503. Errors:\n\n* Vault is sealed" in res.stderr

        res = bao("kv", "get", "secret/app")
        assert res.returncode == 2
        assert "* Vault is sealed" in res.stderr

        # sealing again is fine
        assert bao.ok("operator", "seal") == "Success! Vault is sealed.\n"

        # -reset discards progress
        assert rows(bao.ok("operator", "unseal", keys[1]))["Unseal Progress"] == "1/3"
        assert rows(bao.ok("operator", "unseal", "-reset"))["Unseal Progress"] == "0/3"

        # a different quorum of shares unseals, and the data is still there
        for key in (keys[1], keys[3]):
            bao.ok("operator", "unseal", key)
        doc = bao.json("operator", "unseal", keys[4])
        assert (doc["sealed"], doc["progress"], doc["nonce"]) == (False, 0, "")
        assert bao.ok("kv", "get", "-field=password", "secret/app") == "hunter2"
    finally:
        server.stop()
