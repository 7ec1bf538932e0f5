"""The three ways the walkthrough drives strongroom: plain HTTP, the real `bao` CLI, hvac.

Each exposes the same few verbs, so one walkthrough runs unchanged through all
three and shows that what a Vault/OpenBao user types works as it is.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hvac

from tests.integration.server import BAO

from .conftest import Api


@dataclass
class Creds:
    lease_id: str
    lease_duration: int
    renewable: bool
    username: str
    password: str


class HttpClient:
    label = "http"

    def __init__(self, api: Api, home: Path) -> None:
        self.api = api

    def enable(self, mount: str) -> None:
        self.api.mount(mount)

    def write(self, path: str, body: dict[str, Any]) -> None:
        self.api.ok("POST", path, body)

    def read(self, path: str) -> dict[str, Any]:
        return self.api.ok("GET", path)

    def config(self, mount: str, name: str, body: dict[str, Any]) -> None:
        self.write(f"{mount}/config/{name}", body)

    def role(self, mount: str, name: str, body: dict[str, Any]) -> None:
        self.write(f"{mount}/roles/{name}", body)

    def creds(self, mount: str, role: str) -> Creds:
        body = self.read(f"{mount}/creds/{role}")
        return Creds(
            body["lease_id"],
            body["lease_duration"],
            body["renewable"],
            body["data"]["username"],
            body["data"]["password"],
        )

    def renew(self, lease_id: str, increment: int) -> int:
        body = self.api.ok(
            "PUT", "sys/leases/renew", {"lease_id": lease_id, "increment": increment}
        )
        return body["lease_duration"]

    def revoke(self, lease_id: str) -> None:
        self.api.ok("PUT", "sys/leases/revoke", {"lease_id": lease_id})

    def static_role(self, mount: str, name: str, body: dict[str, Any]) -> None:
        self.write(f"{mount}/static-roles/{name}", body)

    def rotate_role(self, mount: str, name: str) -> None:
        self.write(f"{mount}/rotate-role/{name}", {})

    def static_creds(self, mount: str, name: str) -> dict[str, Any]:
        return self.read(f"{mount}/static-creds/{name}")["data"]

    def read_config(self, mount: str, name: str) -> dict[str, Any]:
        return self.read(f"{mount}/config/{name}")["data"]


class BaoClient(HttpClient):
    """The real OpenBao 2.7.2 CLI, one process per command."""

    label = "bao"

    def __init__(self, api: Api, home: Path) -> None:
        super().__init__(api, home)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "BAO_ADDR": api.addr,
            "BAO_TOKEN": api.token,
        }

    def bao(self, *args: str) -> str:
        done = subprocess.run(
            [BAO, *args], env=self.env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"bao {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def bao_json(self, command: list[str], *args: str) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.bao(*command, "-format=json", *args))
        return result

    @staticmethod
    def _pairs(body: dict[str, Any]) -> list[str]:
        out = []
        for key, value in body.items():
            if isinstance(value, list):
                out += [f"{key}={item}" for item in value]
            elif isinstance(value, bool):
                out.append(f"{key}={str(value).lower()}")
            else:
                out.append(f"{key}={value}")
        return out

    def enable(self, mount: str) -> None:
        self.bao("secrets", "enable", f"-path={mount}", "database")

    def write(self, path: str, body: dict[str, Any]) -> None:
        if body:
            self.bao("write", path, *self._pairs(body))
        else:
            self.bao("write", "-f", path)

    def read(self, path: str) -> dict[str, Any]:
        return self.bao_json(["read"], path)

    def renew(self, lease_id: str, increment: int) -> int:
        body = self.bao_json(["lease", "renew"], f"-increment={increment}", lease_id)
        return body["lease_duration"]

    def revoke(self, lease_id: str) -> None:
        self.bao("lease", "revoke", lease_id)


class HvacClient(HttpClient):
    """hvac's `secrets.database` API (and `sys` for leases)."""

    label = "hvac"

    def __init__(self, api: Api, home: Path) -> None:
        super().__init__(api, home)
        self.client = hvac.Client(url=api.addr, token=api.token)

    def enable(self, mount: str) -> None:
        self.client.sys.enable_secrets_engine("database", path=mount)

    def config(self, mount: str, name: str, body: dict[str, Any]) -> None:
        body = dict(body)
        self.client.secrets.database.configure(
            name,
            body.pop("plugin_name"),
            verify_connection=body.pop("verify_connection", None),
            allowed_roles=body.pop("allowed_roles", None),
            mount_point=mount,
            **body,
        )

    def role(self, mount: str, name: str, body: dict[str, Any]) -> None:
        body = dict(body)
        self.client.secrets.database.create_role(
            name,
            body.pop("db_name"),
            body.pop("creation_statements"),
            mount_point=mount,
            **body,
        )

    def creds(self, mount: str, role: str) -> Creds:
        body = self.client.secrets.database.generate_credentials(role, mount_point=mount)
        return Creds(
            body["lease_id"],
            body["lease_duration"],
            body["renewable"],
            body["data"]["username"],
            body["data"]["password"],
        )

    def renew(self, lease_id: str, increment: int) -> int:
        body = self.client.sys.renew_lease(lease_id, increment=increment)
        return body["lease_duration"]

    def revoke(self, lease_id: str) -> None:
        self.client.sys.revoke_lease(lease_id)

    def static_role(self, mount: str, name: str, body: dict[str, Any]) -> None:
        self.client.secrets.database.create_static_role(
            name,
            body["db_name"],
            body["username"],
            body.get("rotation_statements"),
            body["rotation_period"],
            mount_point=mount,
        )

    def rotate_role(self, mount: str, name: str) -> None:
        self.client.secrets.database.rotate_static_role_credentials(name, mount_point=mount)

    def static_creds(self, mount: str, name: str) -> dict[str, Any]:
        return self.client.secrets.database.get_static_credentials(name, mount_point=mount)["data"]

    def read_config(self, mount: str, name: str) -> dict[str, Any]:
        return self.client.secrets.database.read_connection(name, mount_point=mount)["data"]


CLIENTS = {c.label: c for c in (HttpClient, BaoClient, HvacClient)}
