"""AWS iam_user issuance: latency and throughput against moto, with a fixed delay per AWS call.

    .venv/bin/python bench/aws_creds.py                       # 20 ms per AWS call
    .venv/bin/python bench/aws_creds.py --delay-ms 50 --n 100 --concurrency 16

Starts moto's server, the fault-injecting proxy (tests/fakes/aws_proxy.py) in
front of it adding `--delay-ms` to every AWS call (a stand-in for the round
trip to the real IAM endpoint), and a `strongroom server -dev`. For two roles
(a small one: one managed policy; a wide one: three managed policies, an inline
policy, two groups and tags) it measures:

* sequential issue latency (p50/p95) over `--n` reads of creds/<role>;
* throughput with `--concurrency` clients issuing `--n` credentials in total;
* revocation of all of them (`sys/leases/revoke-prefix`, synchronous);

and prints them beside the AWS calls per credential and the number of
*sequential* round trips (calls that overlap in time count once), next to
what Vault's one-call-after-another order needs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.aws_proxy import AwsProxy, Call  # noqa: E402

BIN = Path(sys.executable).parent
POLICIES = [
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
]
INLINE = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}'
ROLES: dict[str, dict[str, Any]] = {
    "small": {"credential_type": "iam_user", "policy_arns": POLICIES[:1]},
    "wide": {
        "credential_type": "iam_user",
        "policy_arns": POLICIES,
        "policy_document": INLINE,
        "iam_groups": ["bench-a", "bench-b"],
        "iam_tags": {"team": "bench"},
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited early")
        try:
            httpx.get(url, timeout=0.5)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start")


def waves(calls: list[Call]) -> int:
    """Sequential round trips: calls merged where their time intervals overlap."""
    count, end = 0, float("-inf")
    for call in sorted(calls, key=lambda c: c.start):
        if call.start >= end:
            count += 1
            end = call.end
        else:
            end = max(end, call.end)
    return count


def vault_round_trips(role: dict[str, Any]) -> int:
    """Vault's §4.1 order: every IAM call after the previous one."""
    return (
        1
        + len(role.get("policy_arns", []))
        + (1 if role.get("policy_document") else 0)
        + len(role.get("iam_groups", []))
        + (1 if role.get("iam_tags") else 0)
        + 1
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def issue(client: httpx.AsyncClient, path: str) -> tuple[float, str]:
    start = time.perf_counter()
    resp = await client.get(path)
    elapsed = time.perf_counter() - start
    resp.raise_for_status()
    return elapsed, resp.json()["lease_id"]


async def run_role(
    client: httpx.AsyncClient, proxy: AwsProxy, name: str, n: int, concurrency: int
) -> dict[str, Any]:
    path = f"aws/creds/{name}"
    await issue(client, path)  # warm-up: clients, connections
    proxy.calls.clear()
    latencies = []
    per_cred_calls: list[int] = []
    per_cred_waves: list[int] = []
    for _ in range(n):
        before = len(proxy.calls)
        elapsed, _ = await issue(client, path)
        mine = proxy.calls[before:]
        latencies.append(elapsed)
        per_cred_calls.append(len(mine))
        per_cred_waves.append(waves(mine))

    queue = list(range(n))
    start = time.perf_counter()

    async def worker() -> None:
        while queue:
            queue.pop()
            await issue(client, path)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    throughput = n / (time.perf_counter() - start)

    proxy.calls.clear()
    start = time.perf_counter()
    resp = await client.put(f"sys/leases/revoke-prefix/{path}", json={"sync": True}, timeout=600)
    resp.raise_for_status()
    revoke_s = time.perf_counter() - start
    revoke_calls = len(proxy.calls)
    return {
        "p50": pct(latencies, 0.5) * 1000,
        "p95": pct(latencies, 0.95) * 1000,
        "mean": statistics.fmean(latencies) * 1000,
        "calls": statistics.mode(per_cred_calls),
        "waves": statistics.mode(per_cred_waves),
        "vault_waves": vault_round_trips(ROLES[name]),
        "throughput": throughput,
        "revoked": 2 * n + 1,
        "revoke_s": revoke_s,
        "revoke_calls": revoke_calls / (2 * n + 1),
    }


async def bench(args: argparse.Namespace, server: str, proxy: AwsProxy) -> None:
    headers = {"X-Vault-Token": "root"}
    async with httpx.AsyncClient(base_url=f"{server}/v1/", headers=headers, timeout=120) as client:
        for call in (
            client.post("sys/mounts/aws", json={"type": "aws"}),
            client.post(
                "aws/config/root",
                json={
                    "access_key": "AKIABENCH",
                    "secret_key": "bench",
                    "region": "us-east-1",
                    "iam_endpoint": proxy.url,
                    "sts_endpoint": proxy.url,
                },
            ),
            *(client.post(f"aws/roles/{name}", json=body) for name, body in ROLES.items()),
        ):
            (await call).raise_for_status()
        print(
            f"strongroom aws engine, moto behind a proxy adding {args.delay_ms} ms per AWS call; "
            f"n={args.n}, concurrency={args.concurrency}\n"
        )
        header = (
            f"{'role':<6} {'AWS calls':>9} {'round trips':>11} {'(Vault)':>7} "
            f"{'p50 ms':>8} {'p95 ms':>8} {'floor ms':>8} {'creds/s':>8} "
            f"{'revoke/s':>8} {'calls/revoke':>12}"
        )
        print(header)
        print("-" * len(header))
        for name in ROLES:
            r = await run_role(client, proxy, name, args.n, args.concurrency)
            print(
                f"{name:<6} {r['calls']:>9} {r['waves']:>11} {r['vault_waves']:>7} "
                f"{r['p50']:>8.1f} {r['p95']:>8.1f} {r['waves'] * args.delay_ms:>8} "
                f"{r['throughput']:>8.1f} {r['revoked'] / r['revoke_s']:>8.1f} "
                f"{r['revoke_calls']:>12.1f}"
            )
        print(
            "\nround trips: sequential AWS round trips per credential (overlapping calls count "
            "once);\n(Vault): the same role issued in Vault's one-call-after-another order; "
            "floor: round trips x delay."
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay-ms", type=int, default=20)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="aws-bench-"))
    moto_port, server_port = free_port(), free_port()
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    moto = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=(tmp / "moto.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    server = subprocess.Popen(
        [
            str(BIN / "strongroom"),
            "server",
            "-dev",
            "-dev-root-token-id=root",
            f"-dev-listen-address=127.0.0.1:{server_port}",
        ],
        stdout=(tmp / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "HOME": str(tmp)},
    )
    proxy = None
    try:
        moto_url = f"http://127.0.0.1:{moto_port}"
        server_url = f"http://127.0.0.1:{server_port}"
        wait_http(f"{moto_url}/moto-api/", moto, "moto")
        wait_http(f"{server_url}/v1/sys/seal-status", server, "strongroom")
        import boto3

        iam = boto3.client(
            "iam",
            endpoint_url=moto_url,
            region_name="us-east-1",
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        for group in ("bench-a", "bench-b"):
            iam.create_group(GroupName=group)
        proxy = AwsProxy(moto_url).start()
        proxy.delay_ms = args.delay_ms
        asyncio.run(bench(args, server_url, proxy))
    finally:
        if proxy is not None:
            proxy.stop()
        for proc in (server, moto):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
