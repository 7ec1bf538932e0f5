"""The differential CLI script, as data.

The same ordered list of steps is run once with `bao` and once with `strongroom`, each
time against a fresh server of the same kind; the normalised (exit code, stdout, stderr)
of every step must match.

Each step is a command line (split with `shlex`) plus optional stdin, environment changes
and captures.  Placeholders `{name}` in arguments, stdin and environment values are
filled in before the step runs:

* from the run context: `{addr}` (the dev server), `{uninit}` (a second, uninitialised
  server of the same kind), `{tmp}` (a scratch directory holding `FILES`), `{unseal_key}`
  (the dev server's unseal key, read from its banner);
* from captures of earlier steps: `capture={"t1": "json:auth.client_token"}` takes a value
  from the step's stdout: `json:<dotted.path>` (list indices are numbers), `stdout` (the
  whole stdout, stripped) or `re:<regex>` (group 1 if there is one, else the match).

Every step runs with `BAO_ADDR={addr}` and `BAO_TOKEN=root` unless its `env` overrides
them (a value of `None` removes the variable, e.g. to use the token helper instead).

`needs` names server features the step depends on; a server lacking one of them skips the
step (OpenBao has them all).  `strict=True` steps are compared byte for byte (they print
no volatile values), which proves the table alignment itself; the rest are compared
after normalisation (see `normalize.py`).  `bad_input=True` marks the malformed-input
steps that `test_bad_input_never_tracebacks` checks on their own.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

# Features a server may lack.  OpenBao has all of them.
ALL_FEATURES = frozenset(
    {"policy", "capabilities", "userpass", "approle", "leases", "audit", "remount"}
)


@dataclass(frozen=True)
class Step:
    args: list[str]
    stdin: str | None = None
    env: dict[str, str | None] | None = None
    needs: frozenset[str] = frozenset()
    capture: dict[str, str] = field(default_factory=dict)
    strict: bool = False
    bad_input: bool = False
    # The output is a help text: our prose, bao's layout. Compared on the exit code
    # and the first line of each stream, with the program name normalised.
    help_text: bool = False

    @property
    def group(self) -> str:
        """The command words: `read`, `kv put`, `kv metadata get`, `token create`…"""
        if not self.args or self.args[0].startswith("-"):
            return "(flags before the command)"
        if self.args[0] not in COMMANDS:
            return "(unknown command)"
        words = self.args[:1]
        if words[0] in GROUPS and len(self.args) > 1 and not self.args[1].startswith("-"):
            words = self.args[:2]
            if words == ["kv", "metadata"] and len(self.args) > 2:
                words = self.args[:3]
        return " ".join(words)

    def describe(self) -> str:
        text = shlex.join(self.args)
        extras = []
        if self.stdin is not None:
            extras.append(f"stdin={self.stdin!r}")
        if self.env:
            extras.append(f"env={self.env!r}")
        return text + (f"  [{', '.join(extras)}]" if extras else "")


GROUPS = {"operator", "secrets", "auth", "kv", "policy", "token", "lease", "audit", "print"}
COMMANDS = GROUPS | {
    "version", "status", "login", "read", "write", "delete", "list", "patch", "path-help",
}  # fmt: skip


def S(
    command: str,
    *,
    stdin: str | None = None,
    env: dict[str, str | None] | None = None,
    needs: set[str] | frozenset[str] = frozenset(),
    capture: dict[str, str] | None = None,
    strict: bool = False,
    bad_input: bool = False,
    help_text: bool = False,
) -> Step:
    return Step(
        args=shlex.split(command),
        stdin=stdin,
        env=env,
        needs=frozenset(needs),
        capture=capture or {},
        strict=strict,
        bad_input=bad_input,
        help_text=help_text,
    )


# Files written into `{tmp}` before the script runs.
FILES: dict[str, str] = {
    "data.json": '{"from": "file", "n": 7, "nested": {"b": [1, "x"], "a": null}}\n',
    "value.txt": "value from a file\n",
    "dev.hcl": (
        'path "secret/data/*" {\n'
        '  capabilities = ["create", "read", "update"]\n'
        "}\n"
        "\n"
        'path "kv1/*" {\n'
        '  capabilities = ["read", "list"]\n'
        "}\n"
    ),
    "messy.hcl": (
        'path "secret/*" {capabilities=["read"]}\n'
        'path "kv1/x"   {\n'
        '        capabilities = ["list","read"]\n'
        "   }\n"
    ),
    "bad.hcl": 'path "x" {\n  capabilities = ["bogus"]\n}\n',
}

NO_TOKEN = {"BAO_TOKEN": None}
UNREACHABLE = "-address=http://127.0.0.1:1"
UNINIT = {"BAO_ADDR": "{uninit}"}

STEPS: list[Step] = [
    # ------------------------------------------------------------------ version, status
    S("version"),
    S("status"),
    S("print token", strict=True),
    # ------------------------------------------------------------------ bad input
    S("nosuchcommand", bad_input=True, help_text=True),
    S("secrets", bad_input=True),
    S("-format=json read secret/x", bad_input=True, help_text=True),
    S("read -nonsense secret/x", bad_input=True),
    S("read -format=xml secret/x", bad_input=True),
    S("list -format=raw secret/", bad_input=True),
    S(f"status {UNREACHABLE}", bad_input=True),
    S(f"read {UNREACHABLE} secret/x", bad_input=True),
    S("read -header=X-Vault-Foo=1 secret/x", bad_input=True),
    S("write secret/x noequals", bad_input=True),
    S("write secret/x k=@/nonexistent", bad_input=True),
    S("write secret/x -", stdin="xyz", bad_input=True),
    # ------------------------------------------------------------------ secrets engines
    S("secrets list"),
    S("secrets list -detailed"),
    S("secrets list -format=json"),
    S("secrets enable -path=kv1 kv"),
    S("secrets enable -path=kv2 -version=2 -description='team kv' kv"),
    S("secrets enable -path=kv1 kv"),
    S("secrets tune -default-lease-ttl=1h -max-lease-ttl=24h kv1"),
    S("secrets move kv2 moved", needs={"remount"}),
    S("secrets disable moved"),
    # ------------------------------------------------------------------ generic commands
    S("write kv1/a a=1 b=true c=3.5"),
    S("read kv1/a", strict=True),
    S("read -format=json kv1/a"),
    S("read -format=raw kv1/a"),
    S("read -field=b kv1/a", strict=True),
    S("read kv1/missing", strict=True),
    S("read -output-curl-string kv1/a"),
    S("write kv1/b"),
    S("write kv1/json -", stdin='{"n": 1.50, "big": 12345678901234567890, "o": {}}'),
    S("read kv1/json", strict=True),
    S(
        r"write kv1/mixed v=- f=@{tmp}/value.txt 'literal=\@x' rep=1 rep=2 empty=",
        stdin="from stdin\n",
    ),
    S("read kv1/mixed", strict=True),
    S("write kv1/file @{tmp}/data.json"),
    S("read -format=json -field=nested kv1/file"),
    S("list kv1", strict=True),
    S("list -format=json kv1/none"),
    S("patch kv1/a a=2"),
    S("delete kv1/b"),
    # ------------------------------------------------------------------ kv
    S("kv put secret/app user=alice pass=v1"),
    S("kv get -mount=secret app"),
    S("kv get -version=1 -format=json secret/app"),
    S("kv get -format=yaml secret/app"),
    S("kv get -field=user secret/app", strict=True),
    S("kv get secret/missing"),
    S("kv get nosuchmount/x"),
    S("kv put secret/stdin v=-", stdin="piped value"),
    S("kv patch secret/app pass=v3"),
    S("kv patch -method=rw secret/app extra=1"),
    S("kv patch secret/nothere a=1"),
    S("kv patch kv1/a a=1"),
    S("kv list secret/", strict=True),
    S("kv delete secret/app"),
    S("kv get secret/app"),
    S("kv undelete secret/app"),
    S("kv undelete -versions=3 secret/app"),
    S("kv destroy -versions=1 secret/app"),
    S("kv metadata get secret/app"),
    S("kv metadata put -max-versions=5 -custom-metadata=owner=me secret/app"),
    S("kv metadata delete secret/app"),
    S("kv put kv1/k a=1"),
    S("kv get kv1/k", strict=True),
    # ------------------------------------------------------------------ policies
    S("policy write dev {tmp}/dev.hcl", needs={"policy"}),
    S(
        "policy write Stdin -",
        stdin='path "secret/*" {\n  capabilities = ["read"]\n}\n',
        needs={"policy"},
    ),
    S("policy write bad {tmp}/bad.hcl", needs={"policy"}),
    S("policy list", needs={"policy"}, strict=True),
    S("policy read dev", needs={"policy"}, strict=True),
    S("policy read -format=yaml stdin", needs={"policy"}),
    S("policy read missing", needs={"policy"}),
    S("policy fmt {tmp}/messy.hcl"),
    S("policy write fmtd {tmp}/messy.hcl", needs={"policy"}),
    S("policy read -format=json fmtd", needs={"policy"}),
    S("policy delete stdin", needs={"policy"}),
    # ------------------------------------------------------------------ tokens
    S("token create -policy=dev -ttl=1h -display-name=cli -metadata=k=v"),
    S(
        "token create -format=json -policy=dev -ttl=1h",
        capture={"t1": "json:auth.client_token", "a1": "json:auth.accessor"},
    ),
    S("token create -field=token -ttl=30m", capture={"t2": "stdout"}),
    S("token create -orphan -ttl=10m -format=yaml"),
    S("token create -ttl=20m -field=token", capture={"t3": "stdout"}),
    S("token lookup"),
    S("token lookup {t1}"),
    S("token lookup -accessor {a1}"),
    S("token capabilities secret/data/x", needs={"capabilities"}, strict=True),
    S("token capabilities {t1} secret/data/x", needs={"capabilities", "policy"}),
    S("token capabilities -format=json {t1} kv1/x", needs={"capabilities", "policy"}),
    S("token renew {t1}"),
    S("token renew -increment=30m -format=json {t1}"),
    S("token revoke {t2}"),
    S("token revoke -accessor {a1}"),
    S("token revoke"),
    S("token revoke -self", env={"BAO_TOKEN": "{t3}"}),
    # ------------------------------------------------------------------ auth methods
    S("auth list -detailed"),
    S("auth enable userpass", needs={"userpass"}),
    S("auth enable -path=up2 -description='second one' userpass", needs={"userpass"}),
    S("auth tune -default-lease-ttl=30m -max-lease-ttl=2h up2", needs={"userpass"}),
    S("auth tune -default-lease-ttl=30m nosuchauth"),
    S("auth list", needs={"userpass"}),
    S("auth disable up2", needs={"userpass"}),
    S("auth disable token"),
    S("auth enable approle", needs={"approle"}),
    # ------------------------------------------------------------------ login
    S(
        "write auth/userpass/users/alice password=pw token_policies=dev token_ttl=1h",
        needs={"userpass"},
    ),
    S("login -method=userpass username=alice password=pw", needs={"userpass", "policy"}),
    S("token lookup", env=NO_TOKEN, needs={"userpass", "policy"}),
    S(
        "login -method=userpass -format=json username=alice password=pw",
        needs={"userpass", "policy"},
    ),
    S("login -method=userpass username=alice password=wrong", needs={"userpass"}),
    S(
        "write auth/approle/role/r1 token_policies=dev token_ttl=20m secret_id_ttl=10m",
        needs={"approle"},
    ),
    S(
        "read -format=json auth/approle/role/r1/role-id",
        needs={"approle"},
        capture={"role_id": "json:data.role_id"},
    ),
    S(
        "write -f auth/approle/role/r1/secret-id",
        needs={"approle"},
        capture={"secret_id": r"re:secret_id +(\S+)"},
    ),
    # OpenBao's CLI has no approle login method: a generic write is how it is done
    S("login -method=approle role_id={role_id} secret_id={secret_id}"),
    S(
        "write auth/approle/login role_id={role_id} secret_id={secret_id}",
        needs={"approle", "policy"},
    ),
    S("token create -policy=default -ttl=15m -field=token", capture={"t5": "stdout"}),
    S("login {t5}", env=NO_TOKEN),
    S("login -", stdin="root", env=NO_TOKEN),
    S("login -no-store {t5}"),
    S("login", env=NO_TOKEN),
    S("login -field=token_policies root", env=NO_TOKEN),
    # ------------------------------------------------------------------ leases
    S(
        "list -format=json sys/leases/lookup/auth/userpass/login/alice/",
        needs={"userpass", "leases"},
        capture={"lease": r"re:(h[0-9a-f]{64})"},
    ),
    S("lease lookup auth/userpass/login/alice/{lease}", needs={"userpass", "leases"}),
    S(
        "lease lookup -format=json auth/userpass/login/alice/{lease}",
        needs={"userpass", "leases"},
    ),
    S("lease lookup auth/nosuch/lease", needs={"leases"}),
    S("lease renew auth/userpass/login/alice/{lease}", needs={"userpass", "leases"}),
    S("lease revoke auth/userpass/login/alice/{lease}", needs={"userpass", "leases"}),
    S("lease revoke -force auth/userpass/login/alice"),
    S("lease revoke -prefix -force auth/userpass/login/alice", needs={"leases"}),
    # ------------------------------------------------------------------ audit
    S("audit list", needs={"audit"}),
    S("audit enable file file_path=discard", needs={"audit"}),
    S(
        "audit enable -path=second -description='a second log' file file_path=discard",
        needs={"audit"},
    ),
    S("audit list", needs={"audit"}, strict=True),
    S("audit list -detailed", needs={"audit"}, strict=True),
    S("audit list -format=json", needs={"audit"}),
    S("audit disable second", needs={"audit"}),
    # ------------------------------------------------------------------ path-help
    S("path-help secret/"),
    S("path-help nosuchmount/x"),
    # ------------------------------------------------------------------ environment
    S("kv get -field=v secret/stdin", env={"BAO_ADDR": None, "VAULT_ADDR": "{addr}"}),
    S("read kv1/a", env={"BAO_TOKEN": "", "VAULT_TOKEN": "root"}),
    # ------------------------------------------------------------------ operator
    S("operator init -status"),
    S("operator init"),
    S("operator key-status"),
    S("operator rotate"),
    S("operator seal", env={"BAO_TOKEN": "{t5}"}),
    S("operator seal"),
    S("status"),
    S("status -format=yaml"),
    S("kv get secret/app"),
    S("operator unseal"),
    S("operator unseal {unseal_key}"),
    # a second, uninitialised server of the same kind
    S("operator init -status", env=UNINIT),
    S(
        "operator init -key-shares=3 -key-threshold=2",
        env=UNINIT,
        capture={
            "k1": r"re:Unseal Key 1: (\S+)",
            "k2": r"re:Unseal Key 2: (\S+)",
            "root2": r"re:Initial Root Token: (\S+)",
        },
    ),
    S("operator unseal {k1}", env=UNINIT),
    S("operator unseal -reset", env=UNINIT),
    S("operator unseal -format=json {k1}", env=UNINIT),
    S("operator unseal {k2}", env=UNINIT),
    S("token lookup", env={**UNINIT, "BAO_TOKEN": "{root2}"}),
]
