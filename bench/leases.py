"""Lease manager at scale: N stored leases, a restart, and everything expiring at once.

    .venv/bin/python bench/leases.py                # N = 100,000
    .venv/bin/python bench/leases.py --n 1000000

Steps, all on one `file` (SQLite) storage directory:

1. create   N leases owned by the root token on a `noop` mount (ttl 1h), in-process,
            through the ExpirationManager's own `register` (its writes are gathered
            into one storage batch per --batch leases, the only shortcut taken);
2. serve    a real `strongroom server` process over that storage: time from the
            unseal call to the first successful request, RSS per pending lease,
            request latency (nothing is due);
3. pass     in-process Core with the clock 2 h ahead: one full `process_due()` pass
            revokes all N through a no-op backend; RSS before/after divided by N,
            revocations per second;
4. flood    (on a copy of the step-1 storage) a server process whose clock is 2 h
            ahead: all N are due at unseal. Time-to-serving, request latency while
            the scheduler revokes, and revocations per second end to end.

Only strongroom is measured; OpenBao is not. `--serve` is internal (the server
process of steps 2 and 4, with the `noop` engine registered).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import gc
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from strongroom.core.context import BackendContext, StorageView
from strongroom.core.core import Core
from strongroom.core.leases import ExpirationConfig, ExpirationManager
from strongroom.core.mounts import MountEntry
from strongroom.core.request import Operation, Request, Response, Secret
from strongroom.engines import register_builtin
from strongroom.framework.backend import Backend, LeaseRequest, SecretType
from strongroom.framework.fields import FieldData
from strongroom.framework.path import Path as ApiPath
from strongroom.storage.base import Op
from strongroom.storage.file import FileStorage

TTL = 3600
AHEAD = 2 * 3600  # the clock offset that makes every lease due
ROLES = 10
MOUNT = "bench/"
ROOT_TOKEN = "bench-root"


# --------------------------------------------------------------------------- noop engine


class NoopBackend(Backend):
    """Revoking costs nothing; `stats` tells how many revocations this process ran."""

    def __init__(self, ctx: BackendContext) -> None:
        self.revoked = 0

        async def revoke(lease: LeaseRequest) -> None:
            self.revoked += 1

        async def stats(req: Request, fd: FieldData) -> Response:
            return Response(data={"revoked": self.revoked})

        super().__init__(
            [ApiPath("stats", operations={Operation.READ: stats})],
            secret_types=[SecretType("noop", revoke=revoke)],
        )


def register_noop(core: Core) -> None:
    core.register_backend("noop", NoopBackend)


def serve(argv: list[str]) -> int:
    """The server process: `strongroom server` plus `noop`, optionally with a shifted clock."""
    from strongroom.cli import server as server_cli

    offset, delete_batch = 0, 0
    while argv and argv[0].startswith("--"):
        name, _, value = argv.pop(0)[2:].partition("=")
        if name == "clock-offset":
            offset = int(value)
        elif name == "delete-batch":
            delete_batch = int(value)
    if delete_batch:
        from strongroom.core import core as core_module

        core_module.ExpirationManager = functools.partial(  # type: ignore[misc]
            ExpirationManager, config=ExpirationConfig(delete_batch=delete_batch)
        )
    if offset:

        def shifted() -> datetime:
            return datetime.now(UTC) + timedelta(seconds=offset)

        server_cli.Core = functools.partial(Core, clock=shifted)  # type: ignore[misc]
    return server_cli.run(argv, register=register_noop)


# --------------------------------------------------------------------------- helpers


def rss_bytes(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _Buffer:
    """Collects the manager's batches so N registrations cost N/--batch commits."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    async def batch(self, ops: list[Op]) -> None:
        self.ops.extend(ops)


# --------------------------------------------------------------------------- step 1


async def create(data: Path, n: int, batch: int) -> tuple[str, float]:
    storage = FileStorage(str(data))
    core = Core(storage)
    core.run_scheduler = False
    register_builtin(core)
    register_noop(core)
    keys, _ = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    assert core.tokens is not None
    await core.tokens.create_root_token(ROOT_TOKEN)
    await core.enable_mount(MountEntry.new(MOUNT, "noop"))
    await core.enable_mount(MountEntry.new("kv/", "kv"))
    await core.handle(
        Request(Operation.UPDATE, "kv/probe", data={"v": "1"}, client_token=ROOT_TOKEN)
    )
    root = await core.tokens.lookup(ROOT_TOKEN)
    default, maximum = core.mount_ttls(core.routes[MOUNT].entry)

    buffer = _Buffer()
    manager = ExpirationManager(
        StorageView(buffer, "sys/expire/"),  # type: ignore[arg-type]
        clock=lambda: time.time(),
        revoke_secret=core.leases._revoke_secret,
        revoke_token=core.leases._revoke_token,
    )
    requests = [Request(Operation.READ, f"{MOUNT}creds/r{i}", token=root) for i in range(ROLES)]
    began = time.perf_counter()
    step = max(1, n // 10)
    for i in range(n):
        secret = Secret(ttl=TTL, internal={"secret_type": "noop", "n": i})
        await manager.register(requests[i % ROLES], secret, default, maximum)
        if len(buffer.ops) >= 3 * batch:
            await core.barrier.batch(buffer.ops)
            buffer.ops = []
        if (i + 1) % step == 0:
            elapsed = time.perf_counter() - began
            print(
                f"  created {i + 1:>9,} / {n:,} ({(i + 1) * 100 // n:3d}%)  "
                f"{(i + 1) / elapsed:8,.0f} leases/s",
                flush=True,
            )
    if buffer.ops:
        await core.barrier.batch(buffer.ops)
    elapsed = time.perf_counter() - began
    total, _ = await core.leases.count()
    assert total == n, (total, n)
    await core.seal()
    await storage.close()
    return base64.b64encode(keys[0]).decode(), n / elapsed


# --------------------------------------------------------------------------- steps 2, 4


CONFIG = """
storage "file" {{
  path = "{data}"
}}
listener "tcp" {{
  address     = "127.0.0.1:{port}"
  tls_disable = true
}}
"""


class Server:
    def __init__(
        self, data: Path, work: Path, clock_offset: int = 0, delete_batch: int = 0
    ) -> None:
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        config = work / f"config-{self.port}.hcl"
        config.write_text(CONFIG.format(data=data, port=self.port))
        self.log = (work / f"server-{self.port}.log").open("wb")
        args = [sys.executable, __file__, "--serve"]
        if clock_offset:
            args.append(f"--clock-offset={clock_offset}")
        if delete_batch:
            args.append(f"--delete-batch={delete_batch}")
        self.proc = subprocess.Popen(
            [*args, f"-config={config}"], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.client = httpx.Client(base_url=self.addr, timeout=30)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.client.get("/v1/sys/seal-status")
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.02)

    def rss(self) -> int:
        return rss_bytes(self.proc.pid)

    def unseal_and_wait(self, key: str) -> tuple[float, float]:
        """(seconds the unseal call took, seconds until a request succeeded)."""
        began = time.perf_counter()
        self.client.put("/v1/sys/unseal", json={"key": key}).raise_for_status()
        unsealed = time.perf_counter() - began
        while True:
            resp = self.client.get("/v1/kv/probe", headers={"X-Vault-Token": ROOT_TOKEN})
            if resp.status_code == 200:
                return unsealed, time.perf_counter() - began
            time.sleep(0.005)

    def timed_read(self) -> float:
        began = time.perf_counter()
        resp = self.client.get("/v1/kv/probe", headers={"X-Vault-Token": ROOT_TOKEN})
        resp.raise_for_status()
        return time.perf_counter() - began

    def revoked(self) -> int:
        resp = self.client.get(f"/v1/{MOUNT}stats", headers={"X-Vault-Token": ROOT_TOKEN})
        resp.raise_for_status()
        return resp.json()["data"]["revoked"]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.client.close()
        self.log.close()


def serve_pending(data: Path, work: Path, key: str, n: int) -> dict[str, Any]:
    server = Server(data, work)
    try:
        sealed_rss = server.rss()
        unseal_s, serving_s = server.unseal_and_wait(key)
        time.sleep(1.0)  # the scheduler has looked at the index and gone to sleep
        latencies = [server.timed_read() for _ in range(200)]
        unsealed_rss = server.rss()
        assert server.revoked() == 0
    finally:
        server.stop()
    return {
        "unseal_s": unseal_s,
        "serving_s": serving_s,
        "rss_per_lease": (unsealed_rss - sealed_rss) / n,
        "rss_growth": unsealed_rss - sealed_rss,
        "rss": unsealed_rss,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
    }


def serve_flood(data: Path, work: Path, key: str, n: int, delete_batch: int) -> dict[str, Any]:
    server = Server(data, work, clock_offset=AHEAD, delete_batch=delete_batch)
    try:
        sealed_rss = server.rss()
        began = time.perf_counter()
        unseal_s, serving_s = server.unseal_and_wait(key)
        latencies: list[float] = []
        peak_rss = server.rss()
        done = 0
        step = max(1, n // 10)
        next_report = step
        while done < n:
            latencies.append(server.timed_read())
            peak_rss = max(peak_rss, server.rss())
            done = server.revoked()
            if done >= next_report:
                elapsed = time.perf_counter() - began
                print(f"  revoked {done:>9,} / {n:,}  {done / elapsed:8,.0f} leases/s", flush=True)
                next_report = (done // step + 1) * step
            time.sleep(0.05)
        total_s = time.perf_counter() - began
    finally:
        server.stop()
    return {
        "unseal_s": unseal_s,
        "serving_s": serving_s,
        "total_s": total_s,
        "rate": n / total_s,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": pct(latencies, 0.99) * 1000,
        "max_ms": max(latencies) * 1000,
        "rss_growth_per_lease": (peak_rss - sealed_rss) / n,
        "peak_rss": peak_rss,
    }


# --------------------------------------------------------------------------- step 3


async def full_pass(data: Path, key: str, n: int, delete_batch: int) -> dict[str, Any]:
    storage = FileStorage(str(data))

    def ahead() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=AHEAD)

    core = Core(storage, clock=ahead)
    core.run_scheduler = False
    register_builtin(core)
    register_noop(core)
    began = time.perf_counter()
    await core.unseal_with_shares([base64.b64decode(key)])
    await core.handle(Request(Operation.READ, "kv/probe", client_token=ROOT_TOKEN))
    serving_s = time.perf_counter() - began
    if delete_batch:
        core.leases.config.delete_batch = delete_batch
    gc.collect()
    rss_before = rss_bytes()

    latencies: list[float] = []

    async def probe() -> None:
        while True:
            t = time.perf_counter()
            await core.handle(Request(Operation.READ, "kv/probe", client_token=ROOT_TOKEN))
            latencies.append(time.perf_counter() - t)
            await asyncio.sleep(0.05)

    prober = asyncio.create_task(probe())
    began = time.perf_counter()
    handled = await core.leases.process_due()
    elapsed = time.perf_counter() - began
    prober.cancel()
    gc.collect()
    rss_after = rss_bytes()
    backend = core.routes[MOUNT].backend
    assert isinstance(backend, NoopBackend)
    revoked = backend.revoked
    remaining, _ = await core.leases.count()
    await core.seal()
    await storage.close()
    assert revoked == n and remaining == 0, (revoked, remaining, handled)
    return {
        "serving_s": serving_s,
        "total_s": elapsed,
        "rate": n / elapsed,
        "rss_per_lease": (rss_after - rss_before) / n,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "max_ms": max(latencies) * 1000 if latencies else 0.0,
    }


# --------------------------------------------------------------------------- main


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        return serve(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="leases to create")
    parser.add_argument("--batch", type=int, default=2000, help="leases per storage commit")
    parser.add_argument("--dir", type=Path, help="work directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--no-flood", action="store_true", help="skip step 4")
    parser.add_argument(
        "--delete-batch",
        type=int,
        default=0,
        help="revoked leases per storage commit (default: the manager's own setting)",
    )
    opts = parser.parse_args()

    work = Path(opts.dir or tempfile.mkdtemp(prefix="strongroom-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    if data.exists():
        shutil.rmtree(data)
    n = opts.n
    batch = opts.delete_batch or ExpirationConfig().delete_batch
    print(
        f"strongroom lease bench: N={n:,}, storage=file ({data}), "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, delete_batch={batch}"
    )
    try:
        print("1. create")
        began = time.perf_counter()
        key, create_rate = asyncio.run(create(data, n, opts.batch))
        create_s = time.perf_counter() - began
        size = dir_size(data)
        print(f"   {create_s:.1f} s, {fmt_bytes(size)} on disk ({size / n:.0f} B/lease)")
        flood_data = work / "data-flood"
        if not opts.no_flood:
            if flood_data.exists():
                shutil.rmtree(flood_data)
            shutil.copytree(data, flood_data)

        print("2. restart a server process, nothing due")
        pending = serve_pending(data, work, key, n)
        print(f"   time-to-serving {pending['serving_s']:.3f} s")

        print("3. in-process: clock +2h, one full process_due() pass")
        passed = asyncio.run(full_pass(data, key, n, opts.delete_batch))
        print(f"   {passed['total_s']:.1f} s, {passed['rate']:,.0f} leases/s")

        flood = None
        if not opts.no_flood:
            print("4. restart a server process with the clock +2h: everything due at unseal")
            flood = serve_flood(flood_data, work, key, n, opts.delete_batch)
            print(f"   {flood['total_s']:.1f} s, {flood['rate']:,.0f} leases/s")
    finally:
        if not opts.keep and opts.dir is None:
            shutil.rmtree(work, ignore_errors=True)

    rows = [
        ("leases (N)", f"{n:,}"),
        ("create (in-process, batched)", f"{create_s:.1f} s ({create_rate:,.0f}/s)"),
        ("storage on disk", f"{fmt_bytes(size)} ({size / n:.0f} B/lease)"),
        (
            "time-to-serving, nothing due",
            f"{pending['serving_s']:.3f} s (unseal call {pending['unseal_s']:.3f} s)",
        ),
        (
            "  server RSS after unseal",
            f"{fmt_bytes(pending['rss'])} (+{fmt_bytes(pending['rss_growth'])} at unseal)",
        ),
        ("  memory per pending lease", f"{pending['rss_per_lease']:.2f} B"),
        ("  request latency p50 / p99", f"{pending['p50_ms']:.1f} / {pending['p99_ms']:.1f} ms"),
        ("full process_due() pass (in-process)", f"{passed['total_s']:.1f} s"),
        ("  revocation throughput", f"{passed['rate']:,.0f} leases/s"),
        (
            "  memory per lease (RSS after-before)/N",
            f"{passed['rss_per_lease']:.2f} B "
            f"({fmt_bytes(passed['rss_before'])} -> {fmt_bytes(passed['rss_after'])})",
        ),
        ("  request latency p50 / max", f"{passed['p50_ms']:.1f} / {passed['max_ms']:.1f} ms"),
    ]
    if flood is not None:
        rows += [
            ("server, all N due at unseal", ""),
            (
                "  time-to-serving",
                f"{flood['serving_s']:.3f} s (unseal call {flood['unseal_s']:.3f} s)",
            ),
            (
                "  revocation throughput (end to end)",
                f"{flood['rate']:,.0f} leases/s ({flood['total_s']:.1f} s)",
            ),
            (
                "  request latency p50 / p99 / max",
                f"{flood['p50_ms']:.1f} / {flood['p99_ms']:.1f} / {flood['max_ms']:.1f} ms",
            ),
            (
                "  peak RSS (growth per lease)",
                f"{fmt_bytes(flood['peak_rss'])} ({flood['rss_growth_per_lease']:.2f} B)",
            ),
        ]
    width = max(len(k) for k, _ in rows)
    print()
    print(f"{'metric'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
