"""Database creds issuance: latency and throughput against the local PostgreSQL.

    .venv/bin/python bench/db_creds.py                        # n=200, concurrency 8
    .venv/bin/python bench/db_creds.py --n 500 --concurrency 16 --max-open 8

Starts a `strongroom server -dev`, creates a database of its own on the local
PostgreSQL (127.0.0.1:5432, user postgres) with one table, mounts the database
engine with `postgresql-database-plugin`, and a role whose creation statements
are Vault's documented ones (CREATE ROLE … VALID UNTIL, GRANT SELECT). Then:

* sequential issue latency (p50/p95/mean) over `--n` reads of creds/<role>;
* throughput with `--concurrency` clients issuing `--n` credentials in total;
* renewal latency (each renewal runs ALTER ROLE … VALID UNTIL);
* revocation of all of them (`sys/leases/revoke-prefix`, synchronous).

Everything it created (roles, database) is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

BIN = Path(sys.executable).parent
CREATION = [
    "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';",
    'GRANT SELECT ON items TO "{{name}}";',
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = (home / "server.log").open("ab")
    proc = subprocess.Popen(
        [
            str(BIN / "strongroom"),
            "server",
            "-dev",
            "-dev-root-token-id=root",
            f"-dev-listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("strongroom exited early; see " + str(home / "server.log"))
        try:
            httpx.get(f"{url}/v1/sys/seal-status", timeout=0.5)
            return proc, url
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("strongroom did not start")


def admin(dbname: str) -> psycopg.Connection[Any]:
    return psycopg.connect(host="127.0.0.1", user="postgres", dbname=dbname, autocommit=True)


async def timed(coro: Any) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    resp = await coro
    elapsed = time.perf_counter() - start
    resp.raise_for_status()
    return elapsed, resp


async def bench(args: argparse.Namespace, server: str, dbname: str) -> None:
    headers = {"X-Vault-Token": "root"}
    async with httpx.AsyncClient(base_url=f"{server}/v1/", headers=headers, timeout=120) as c:
        for call in (
            c.post("sys/mounts/database", json={"type": "database"}),
            c.post(
                "database/config/pg",
                json={
                    "plugin_name": "postgresql-database-plugin",
                    "connection_url": "postgresql://{{username}}:{{password}}@127.0.0.1:5432/"
                    + dbname,
                    "username": "postgres",
                    "password": "bench",
                    "allowed_roles": "*",
                    "max_open_connections": args.max_open,
                },
            ),
            c.post(
                "database/roles/bench",
                json={"db_name": "pg", "creation_statements": CREATION, "default_ttl": "1h"},
            ),
        ):
            (await call).raise_for_status()
        path = "database/creds/bench"
        await timed(c.get(path))  # warm-up: the pool's first connection

        latencies: list[float] = []
        leases: list[str] = []
        for _ in range(args.n):
            elapsed, resp = await timed(c.get(path))
            latencies.append(elapsed)
            leases.append(resp.json()["lease_id"])

        queue = list(range(args.n))
        start = time.perf_counter()

        async def worker() -> None:
            while queue:
                queue.pop()
                await timed(c.get(path))

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        throughput = args.n / (time.perf_counter() - start)

        renewals = []
        for lease in leases[: min(50, len(leases))]:
            elapsed, _ = await timed(
                c.put("sys/leases/renew", json={"lease_id": lease, "increment": 7200})
            )
            renewals.append(elapsed)

        start = time.perf_counter()
        await timed(c.put(f"sys/leases/revoke-prefix/{path}", json={"sync": True}, timeout=600))
        revoke_s = time.perf_counter() - start

    total = 2 * args.n + 1
    print(
        f"strongroom database engine, postgresql-database-plugin on local PostgreSQL; "
        f"n={args.n}, concurrency={args.concurrency}, max_open_connections={args.max_open}\n"
    )
    print(
        f"issue (sequential)   p50 {pct(latencies, 0.5) * 1000:7.2f} ms   "
        f"p95 {pct(latencies, 0.95) * 1000:7.2f} ms   "
        f"mean {statistics.fmean(latencies) * 1000:7.2f} ms"
    )
    print(f"issue (concurrent)   {throughput:8.1f} creds/s")
    print(
        f"renew (sequential)   p50 {pct(renewals, 0.5) * 1000:7.2f} ms   "
        f"p95 {pct(renewals, 0.95) * 1000:7.2f} ms"
    )
    print(f"revoke-prefix        {total} users in {revoke_s:.2f} s = {total / revoke_s:8.1f} /s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-open", type=int, default=4)
    args = parser.parse_args()

    dbname = f"strongroom_bench_{secrets.token_hex(4)}"
    with admin("postgres") as conn:
        conn.execute(f'CREATE DATABASE "{dbname}"')
    with admin(dbname) as conn:
        conn.execute("CREATE TABLE items (id int)")
    home = Path(tempfile.mkdtemp(prefix="db-bench-"))
    proc, server = start_server(home)
    try:
        asyncio.run(bench(args, server, dbname))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        with admin(dbname) as conn:  # anything a failed run left behind
            for (role,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE 'v-token-bench-%'"
            ).fetchall():
                ident = psycopg.sql.Identifier(role)
                conn.execute(psycopg.sql.SQL("DROP OWNED BY {}").format(ident))
                conn.execute(psycopg.sql.SQL("DROP ROLE {}").format(ident))
        with admin("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


if __name__ == "__main__":
    main()
