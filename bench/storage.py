"""Storage backends compared: KV v2 write and read throughput through the HTTP API.

    .venv/bin/python bench/storage.py
    .venv/bin/python bench/storage.py --duration 10 --concurrency 64
    .venv/bin/python bench/storage.py --pg-url postgresql://postgres@127.0.0.1:5432/postgres

For each setup a real `strongroom server` process is started, initialized,
unsealed, and given a KV v2 mount; then `--concurrency` async clients write
distinct secrets for `--duration` seconds, and read them back for as long.
Setups:

  file            the embedded SQLite storage (single node)
  postgresql      storage "postgresql", HA off
  postgresql-ha   storage "postgresql", HA on: every write also checks the lock row
  via-standby     two HA nodes; the clients talk to the standby, which forwards

A second table measures the storage layer alone (put/get of 200-byte values
straight on the backend, in process), where the backends really differ: the
HTTP numbers are bound by the server's CPU on small machines.

The PostgreSQL setups use a scratch database created on the server at
--pg-url (needs CREATE DATABASE) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

STRONGROOM = str(Path(sys.executable).parent / "strongroom")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, workdir: Path, storage: str) -> None:
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "config.hcl"
        config.write_text(
            storage
            + f'\nlistener "tcp" {{\n  address = "127.0.0.1:{self.port}"\n'
            + "  tls_disable = true\n}\n"
            + f'api_addr = "{self.addr}"\n'
        )
        self.log = (workdir / "server.log").open("wb")
        env = {k: v for k, v in os.environ.items() if not k.endswith("PG_CONNECTION_URL")}
        self.proc = subprocess.Popen(
            [STRONGROOM, "server", f"-config={config}"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{self.addr}/v1/sys/seal-status", timeout=0.5)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start; see {workdir}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def setup(servers: list[Server]) -> str:
    """Init through the first server, unseal all, mount kv v2; returns the root token."""
    init = httpx.put(
        f"{servers[0].addr}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}
    ).json()
    for server in servers:
        httpx.put(f"{server.addr}/v1/sys/unseal", json={"key": init["keys"][0]})
    deadline = time.monotonic() + 15
    while not any(httpx.get(f"{s.addr}/v1/sys/health").status_code == 200 for s in servers):
        if time.monotonic() > deadline:
            raise RuntimeError("no node became active")
        time.sleep(0.1)
    root = init["root_token"]
    r = httpx.post(
        f"{servers[0].addr}/v1/sys/mounts/kv",
        headers={"X-Vault-Token": root},
        json={"type": "kv", "options": {"version": "2"}},
    )
    r.raise_for_status()
    return root


async def phase(
    addr: str, token: str, write: bool, duration: float, concurrency: int, written: list[int]
) -> tuple[float, list[float], int]:
    """(ops/s, latencies in ms, errors) for one write or read phase.

    Writers record in `written` how many secrets each wrote; readers read those back.
    """
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=addr, headers={"X-Vault-Token": token}, limits=limits, timeout=30
    ) as http:

        async def worker(n: int) -> None:
            nonlocal errors
            i = 0
            while time.monotonic() < stop_at:
                path = f"/v1/kv/data/bench/w{n}/s{i if write else i % max(1, written[n])}"
                start = time.perf_counter()
                if write:
                    r = await http.post(path, json={"data": {"password": f"p{i}", "n": i}})
                else:
                    r = await http.get(path)
                latencies.append((time.perf_counter() - start) * 1000)
                if r.status_code != 200:
                    errors += 1
                i += 1
                if write and r.status_code == 200:
                    written[n] = i

        began = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.monotonic() - began
    return len(latencies) / elapsed, latencies, errors


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def run_setup(
    name: str, storages: list[str], tmp: Path, duration: float, concurrency: int
) -> list[tuple[str, str, float, float, float, int]]:
    servers = [Server(tmp / f"{name}-{i}", s) for i, s in enumerate(storages)]
    try:
        token = setup(servers)
        target = servers[0]
        if len(servers) > 1:  # aim at a standby
            target = next(
                s for s in servers if httpx.get(f"{s.addr}/v1/sys/health").status_code == 429
            )
        rows = []
        written = [0] * concurrency
        for write in (True, False):
            ops, lat, errors = asyncio.run(
                phase(target.addr, token, write, duration, concurrency, written)
            )
            rows.append(
                (
                    name,
                    "write" if write else "read",
                    ops,
                    statistics.median(lat) if lat else 0.0,
                    pct(lat, 0.99),
                    errors,
                )
            )
        return rows
    finally:
        for server in servers:
            server.stop()


async def raw_phase(storage: object, write: bool, duration: float, concurrency: int) -> float:
    """Storage operations per second straight on the backend (no HTTP, no barrier)."""
    stop_at = time.monotonic() + duration
    count = 0
    value = secrets.token_bytes(200)  # about one encrypted KV v2 version

    async def worker(n: int) -> None:
        nonlocal count
        i = 0
        while time.monotonic() < stop_at:
            key = f"logical/bench/w{n}/s{i % 500}"
            if write:
                await storage.put(key, value)  # type: ignore[attr-defined]
            else:
                await storage.get(key)  # type: ignore[attr-defined]
            i += 1
            count += 1

    began = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return count / (time.monotonic() - began)


async def raw_storage(url: str, tmp: Path, duration: float, concurrency: int) -> list[tuple]:
    from strongroom.storage.fence import WriteFence
    from strongroom.storage.file import FileStorage
    from strongroom.storage.postgresql import PostgreSQLStorage

    rows = []
    file = FileStorage(str(tmp / "raw-file"))
    plain = PostgreSQLStorage(url, table="raw_plain", max_parallel=concurrency)
    fenced = PostgreSQLStorage(
        url, table="raw_ha", ha_table="raw_ha_locks", ha_enabled=True, max_parallel=concurrency
    )
    await fenced.setup()
    assert await fenced.lock_acquire("bench", "", 3600)
    fence = WriteFence()
    fence.grant("bench", time.monotonic() + 3600)
    fenced.fence = fence
    for name, storage in (("file", file), ("postgresql", plain), ("postgresql-ha", fenced)):
        for write in (True, False):
            ops = await raw_phase(storage, write, duration, concurrency)
            rows.append((name, "put" if write else "get", ops))
        await storage.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per phase")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL server (database used only to create the scratch one)",
    )
    parser.add_argument(
        "--only", nargs="*", default=None, help="file postgresql postgresql-ha via-standby"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="strongroom-bench-"))
    db = f"strongroom_bench_{secrets.token_hex(4)}"
    base = args.pg_url.rpartition("/")[0]
    rows = []
    try:
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        url = f"{base}/{db}"

        def pg(table: str, ha: bool) -> str:
            return (
                f'storage "postgresql" {{\n  connection_url = "{url}"\n'
                f'  table = "{table}"\n  ha_table = "{table}_ha"\n'
                f'  ha_enabled = "{str(ha).lower()}"\n}}\n'
            )

        setups = {
            "file": [f'storage "file" {{\n  path = "{tmp / "file-data"}"\n}}\n'],
            "postgresql": [pg("plain", False)],
            "postgresql-ha": [pg("ha", True)],
            "via-standby": [pg("fwd", True), pg("fwd", True)],
        }
        for name, storages in setups.items():
            if args.only and name not in args.only:
                continue
            print(f"running {name} ...", file=sys.stderr, flush=True)
            rows += run_setup(name, storages, tmp, args.duration, args.concurrency)
        print("running the storage layer alone ...", file=sys.stderr, flush=True)
        raw = asyncio.run(raw_storage(url, tmp, args.duration / 2, args.concurrency))
    finally:
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\nKV v2 through the HTTP API: {args.concurrency} concurrent clients, "
        f"{args.duration:g}s per phase\n"
    )
    header = f"{'storage':<15} {'op':<6} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for name, op, ops, p50, p99, errors in rows:
        print(f"{name:<15} {op:<6} {ops:>9.0f} {p50:>8.2f} {p99:>8.2f} {errors:>7}")
    print(f"\nThe storage layer alone (no HTTP, no encryption), {args.concurrency} tasks\n")
    print(f"{'storage':<15} {'op':<6} {'ops/s':>9}")
    print("-" * 32)
    for name, op, ops in raw:
        print(f"{name:<15} {op:<6} {ops:>9.0f}")
    by = {(r[0], r[1]): r[2] for r in rows}
    if ("file", "write") in by and ("postgresql", "write") in by:
        print()
        for op in ("write", "read"):
            ratio = by[("postgresql", op)] / by[("file", op)] if by[("file", op)] else 0
            print(f"postgresql / file {op}: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
