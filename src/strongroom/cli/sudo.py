"""API paths whose policies also need the `sudo` capability (for `-output-policy`).

The list matches what the reference client reports (observed path by path);
paths are relative, without the /v1/ prefix and without surrounding slashes.
"""

from __future__ import annotations

import re

__all__ = ["requires_sudo"]

_SUDO_PATHS = re.compile(
    "|".join(
        f"(?:{p})"
        for p in (
            r"auth/token/accessors",
            r"pki/root",
            r"pki/root/sign-self-issued",
            r"sys/audit",
            r"sys/audit/.+",
            r"sys/auth/.+",
            r"sys/config/auditing/request-headers(?:/.+)?",
            r"sys/config/cors",
            r"sys/config/ui/headers(?:/.*)?",
            r"sys/internal/inspect/router/.+",
            r"sys/leases",
            r"sys/leases/lookup(?:/.+)?",
            r"sys/leases/revoke-force/.+",
            r"sys/leases/revoke-prefix/.+",
            r"sys/plugins/catalog/[^/]+",
            r"sys/plugins/catalog/[\w-]+/[^/]+",
            r"sys/raw",
            r"sys/raw/.+",
            r"sys/remount",
            r"sys/revoke-force/.+",
            r"sys/revoke-prefix/.+",
            r"sys/rotate",
            r"sys/rotate/keyring",
            r"sys/rotate/root",
        )
    )
)


def requires_sudo(path: str) -> bool:
    """Whether `path` (e.g. "sys/audit/file") is a sudo-protected endpoint."""
    return _SUDO_PATHS.fullmatch(path.strip("/")) is not None
