"""A local fake of the Google Cloud APIs the `gcp` secrets engine calls.

`models.py` holds the state and enforces Google's rules, `responses.py`
translates Google's REST wire, `server.py` serves both (plus the /_fake/
control endpoints); `python -m tests.fakes.gcp --port N` runs it alone.
`FakeGcp` below is the tests' handle on a running fake, over HTTP only.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .server import FakeGcpServer

__all__ = ["FakeGcp", "FakeGcpServer", "member"]


def member(email: str) -> str:
    return f"serviceAccount:{email}"


class FakeGcp:
    """Seed, observe and break a running fake through its control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.http.request(method, f"/_fake/{path}", json=body)
        resp.raise_for_status()
        return resp.json()

    # ------------------------------------------------------------------ seeding
    def reset(self) -> None:
        self._call("POST", "reset")

    def project(self, project_id: str, sa_quota: int = 100) -> None:
        self._call("POST", "projects", {"projectId": project_id, "serviceAccountQuota": sa_quota})

    def service_account(self, project: str, account_id: str, roles: list[str] | None = None) -> str:
        """An existing account (as an operator made it); its email."""
        body = {"project": project, "accountId": account_id, "roles": roles or []}
        return str(self._call("POST", "service-accounts", body)["email"])

    def root_credentials(
        self, project: str, account_id: str = "strongroom-root", roles: list[str] | None = None
    ) -> dict[str, str]:
        """A credentials file for a privileged account, with a key this process generated.

        Only the public half goes to the fake (as `gcloud iam service-accounts keys
        upload` would); the private key stays in the JSON handed to strongroom.
        """
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        seeded = self._call(
            "POST",
            "service-accounts",
            {
                "project": project,
                "accountId": account_id,
                "roles": roles if roles is not None else ["roles/owner"],
                "publicKeyPem": public_pem.decode(),
            },
        )
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": project,
            "private_key_id": seeded["keyId"],
            "private_key": pem,
            "client_email": seeded["email"],
            "client_id": seeded["uniqueId"],
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": seeded["tokenUri"],
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + seeded["email"].replace("@", "%40"),
            "universe_domain": "googleapis.com",
        }

    def bucket(self, name: str, project: str) -> None:
        self._call("POST", "buckets", {"name": name, "project": project})

    def topic(self, project: str, topic: str) -> None:
        self._call("POST", "topics", {"project": project, "topic": topic})

    def grant(self, kind: str, name: str, role: str, who: str) -> None:
        self._call("POST", "bindings", {"kind": kind, "name": name, "role": role, "member": who})

    def delete_account(self, email: str) -> None:
        self._call("DELETE", f"service-accounts/{email}")

    # ------------------------------------------------------------------ faults
    def fail(
        self,
        operation: str,
        *,
        status: int = 500,
        times: int | None = 1,
        message: str = "",
        gcp_status: str = "",
    ) -> None:
        self._call(
            "POST",
            "faults",
            {
                "operation": operation,
                "status": status,
                "times": times,
                "message": message,
                "gcpStatus": gcp_status,
            },
        )

    def race(self, operation: str, times: int = 1) -> None:
        """Someone else writes the policy right after each of the next `times` reads."""
        self._call(
            "POST",
            "faults",
            {"operation": operation, "action": "concurrent_change", "times": times},
        )

    def lose_response(self, operation: str, times: int = 1) -> None:
        """The next calls happen on the cloud, but their answers are lost on the way."""
        self._call(
            "POST", "faults", {"operation": operation, "action": "lose_response", "times": times}
        )

    def down(self, mode: str = "reset") -> None:
        self._call("POST", "faults", {"down": mode})

    def up(self) -> None:
        self._call("POST", "faults", {"down": False})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    # ------------------------------------------------------------------ observation
    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "state"))

    def calls(self, operation: str = "") -> list[dict[str, Any]]:
        found = self._call("GET", "calls")["calls"]
        return [c for c in found if not operation or c["operation"] == operation]

    def clear_calls(self) -> None:
        self._call("DELETE", "calls")

    def accounts(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        found = self.state()["serviceAccounts"]
        return {e: a for e, a in found.items() if e.startswith(prefix)}

    def account(self, email: str) -> dict[str, Any] | None:
        return self.state()["serviceAccounts"].get(email)

    def user_keys(self, email: str) -> list[dict[str, Any]]:
        found = self.account(email)
        if found is None:
            return []
        return [k for k in found["keys"] if k["keyType"] == "USER_MANAGED"]

    def policy(self, kind: str, name: str) -> dict[str, Any]:
        state = self.state()
        table = {
            "project": state["projects"],
            "serviceAccount": state["serviceAccounts"],
            "bucket": state["buckets"],
            "topic": state["topics"],
            "subscription": state["subscriptions"],
        }[kind]
        return dict(table[name]["policy"])

    def roles_of(self, kind: str, name: str, who: str) -> set[str]:
        """Roles `who` holds in the resource's policy."""
        return {
            b["role"]
            for b in self.policy(kind, name).get("bindings", [])
            if who in b.get("members", [])
        }

    def mentions(self, email: str) -> list[str]:
        """Every policy member naming the account, deleted or not (should be none once gone)."""
        state = self.state()
        text = json.dumps([state["projects"], state["buckets"], state["topics"]])
        text += json.dumps([a["policy"] for a in state["serviceAccounts"].values()])
        return [email] if email in text else []

    def token_info(self, access_token: str) -> dict[str, Any] | None:
        resp = self.http.get("/oauth2/tokeninfo", params={"access_token": access_token})
        return resp.json() if resp.status_code == 200 else None
