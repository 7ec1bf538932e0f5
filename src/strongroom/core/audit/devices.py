"""Audit devices: where entries go (a file, stdout, a socket) and how they get there.

Each device owns a bounded asyncio queue and one writer thread. A request
puts its entry on the queue and awaits a future; the device's writer task
takes what is queued (up to a batch), renders, chains and writes it in the
thread, then resolves every future of the batch. So:

* a slow disk or socket never blocks the event loop (the write runs in the
  thread), and other requests keep being served meanwhile;
* no request is answered before its entry is written: the caller awaits the
  future, which resolves only after the write returned (or failed);
* a full queue makes callers wait (backpressure) instead of growing memory;
* entries reach the file in queue order, which is what the hash chain needs,
  and the chain state is touched by the writer thread only.

Reopening (SIGHUP) goes through the same queue, so it is ordered with the
writes around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.core.audit.chain import ChainState, line_hash
from strongroom.core.audit.entry import RawEntry, RenderOptions, hmac_string, render
from strongroom.core.audit.formats import FORMATS, serialize
from strongroom.core.errors import BadRequest
from strongroom.durations import DurationError, parse_duration

log = logging.getLogger("strongroom.audit")

DEVICE_TYPES = ("file", "socket")
QUEUE_SIZE = 1024  # entries waiting per device before callers wait their turn
BATCH_SIZE = 256  # entries written with one system call at most
SOCKET_TYPES = ("tcp", "udp", "unix")

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool, with its error text."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f'strconv.ParseBool: parsing "{text}": invalid syntax')


@dataclass(frozen=True)
class DeviceSettings:
    """A device's options (`sys/audit/<path>` `options`, all strings) once parsed."""

    type: str
    format: str = "json"
    prefix: str = ""
    log_raw: bool = False
    hmac_accessor: bool = True
    elide_list_responses: bool = False
    # file
    file_path: str = ""
    mode: int = 0o600  # 0 = leave the file's mode alone
    # socket
    address: str = ""
    socket_type: str = "tcp"
    write_timeout: float = 2.0


def parse_settings(device_type: str, options: dict[str, str]) -> DeviceSettings:
    """Validate a device's options; BadRequest with a clear message for the first problem."""
    if device_type not in DEVICE_TYPES:
        raise BadRequest(f'unknown backend type: "{device_type}"')
    fmt = options.get("format") or "json"
    if fmt not in FORMATS:
        raise BadRequest(f'unknown format type "{fmt}"')
    common: dict[str, Any] = {
        "type": device_type,
        "format": fmt,
        "prefix": options.get("prefix", ""),
        "log_raw": _parse_bool(options["log_raw"]) if "log_raw" in options else False,
        "hmac_accessor": (
            _parse_bool(options["hmac_accessor"]) if "hmac_accessor" in options else True
        ),
        "elide_list_responses": (
            _parse_bool(options["elide_list_responses"])
            if "elide_list_responses" in options
            else False
        ),
    }
    if device_type == "file":
        path = options.get("file_path") or options.get("path") or ""
        if not path:
            raise BadRequest("file_path is required")
        mode = 0o600
        if options.get("mode"):
            try:
                mode = int(options["mode"], 8)
            except ValueError:
                raise BadRequest(
                    f'strconv.ParseUint: parsing "{options["mode"]}": invalid syntax'
                ) from None
            if not 0 <= mode <= 0o7777:
                raise BadRequest(f'invalid file mode "{options["mode"]}"')
        return DeviceSettings(file_path=path, mode=mode, **common)
    address = options.get("address", "")
    if not address:
        raise BadRequest("address is required")
    socket_type = options.get("socket_type") or "tcp"
    if socket_type not in SOCKET_TYPES:
        raise BadRequest(f'unknown socket_type "{socket_type}": use tcp, udp or unix')
    try:
        timeout = parse_duration(options.get("write_timeout") or "2s")
    except DurationError as err:
        raise BadRequest(str(err)) from None
    return DeviceSettings(
        address=address, socket_type=socket_type, write_timeout=float(timeout or 2), **common
    )


class AuditDevice:
    """The queue, writer task and writer thread every device shares."""

    def __init__(self, path: str, settings: DeviceSettings, salt: bytes) -> None:
        self.path = path
        self.settings = settings
        self.options = RenderOptions(
            salt=salt,
            log_raw=settings.log_raw,
            hmac_accessor=settings.hmac_accessor,
            elide_list_responses=settings.elide_list_responses,
        )
        self._prefix = settings.prefix.encode()
        self.chain = ChainState()
        self._queue: asyncio.Queue[tuple[str, RawEntry | None, asyncio.Future[None]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._stopped = False

    # ------------------------------------------------------------ lifecycle
    def check(self) -> None:
        """Sanity check when the device is enabled (raise BadRequest to refuse it)."""

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"audit-{self.path.rstrip('/')}"
        )
        try:
            await loop.run_in_executor(self._executor, self._open)
        except OSError as err:
            # Not fatal: every write retries, and fails closed until it works.
            log.error("audit: device %s cannot open its output yet: %s", self.path, err)
        self._task = loop.create_task(self._run(), name=f"audit writer {self.path}")

    async def stop(self) -> None:
        """Write what is queued, then close."""
        if self._task is None or self._queue is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put(("stop", None, done))
        await asyncio.shield(self._task)
        self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)

    # ------------------------------------------------------------ API
    def hash(self, value: str) -> str:
        return hmac_string(self.options.salt, value)

    async def record(self, entry: RawEntry) -> None:
        """Write one entry; returns once it is written, raises if it could not be."""
        queue = self._queue
        if queue is None or self._stopped:
            raise OSError(errno.EBADF, f"audit device {self.path} is not running")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await queue.put(("entry", entry, done))
        if self._stopped and not done.done():
            # Queued after the writer's final drain: nobody will write it.
            done.set_exception(OSError(errno.EBADF, f"audit device {self.path} was stopped"))
        await done

    def request_reopen(self) -> None:
        """Reopen the output (SIGHUP), in order with the writes around it."""
        if self._queue is None:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(("reopen", None, done))
            return
        asyncio.get_running_loop().create_task(self._queue.put(("reopen", None, done)))

    # ------------------------------------------------------------ writer task
    async def _run(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        queue = self._queue
        while True:
            items = [await queue.get()]
            while len(items) < BATCH_SIZE:
                try:
                    items.append(queue.get_nowait())
                except asyncio.QueueEmpty:
                    break
            batch: list[tuple[RawEntry, asyncio.Future[None]]] = []
            for index, (kind, entry, done) in enumerate(items):
                if kind == "entry" and entry is not None:
                    batch.append((entry, done))
                    continue
                await self._flush(loop, batch)
                batch = []
                if kind == "reopen":
                    await self._in_thread(loop, self._reopen, done)
                elif kind == "stop":
                    await self._in_thread(loop, self._close, done)
                    self._fail_queued(queue, [d for _, _, d in items[index + 1 :]])
                    return
            await self._flush(loop, batch)

    def _fail_queued(self, queue: asyncio.Queue[Any], taken: list[asyncio.Future[None]]) -> None:
        """Fail whatever is still queued once the device stops (no await: atomic)."""
        self._stopped = True
        while True:
            try:
                taken.append(queue.get_nowait()[2])
            except asyncio.QueueEmpty:
                break
        for done in taken:
            if not done.done():
                done.set_exception(OSError(errno.EBADF, f"audit device {self.path} was stopped"))

    async def _flush(
        self, loop: asyncio.AbstractEventLoop, batch: list[tuple[RawEntry, asyncio.Future[None]]]
    ) -> None:
        if not batch:
            return
        try:
            await loop.run_in_executor(self._executor, self._write, [e for e, _ in batch])
        except Exception as err:
            log.error("audit: device %s could not write %d entries: %s", self.path, len(batch), err)
            for _, done in batch:
                if not done.done():
                    done.set_exception(err)
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)

    async def _in_thread(
        self, loop: asyncio.AbstractEventLoop, fn: Any, done: asyncio.Future[None]
    ) -> None:
        try:
            await loop.run_in_executor(self._executor, fn)
        except Exception as err:
            log.error("audit: device %s: %s", self.path, err)
        if not done.done():
            done.set_result(None)

    # ------------------------------------------------------------ writer thread
    def _write(self, entries: list[RawEntry]) -> None:
        self._ensure_open()
        seq, prev = self.chain.seq, self.chain.prev
        lines = []
        for entry in entries:
            doc = render(entry, self.options)
            seq += 1
            line = self._prefix + serialize(doc, self.settings.format, seq, prev)
            prev = line_hash(line)
            lines.append(line)
        self._emit(lines)
        self.chain.seq, self.chain.prev = seq, prev

    def _ensure_open(self) -> None:
        """Open the output if a previous failure closed it."""

    def _open(self) -> None:
        """Open the output (device thread)."""

    def _emit(self, lines: list[bytes]) -> None:
        raise NotImplementedError

    def _close(self) -> None:
        """Close the output (device thread)."""

    def _reopen(self) -> None:
        self._close()
        self._open()


class FileDevice(AuditDevice):
    """Appends to a file (or stdout); reopens the path on SIGHUP, as after a log rotation."""

    def __init__(self, path: str, settings: DeviceSettings, salt: bytes) -> None:
        super().__init__(path, settings, salt)
        self.file = Path(settings.file_path)
        self._fd: int | None = None

    def check(self) -> None:
        folder = self.file.absolute().parent
        if not folder.is_dir():
            raise BadRequest(
                f'file_path "{self.settings.file_path}": directory "{folder}" does not exist'
            )
        try:
            fd = os.open(self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as err:
            raise BadRequest(
                f'sanity check failed; unable to open "{self.settings.file_path}" for writing: '
                f"{err.strerror or err}"
            ) from None
        os.close(fd)

    def _open(self) -> None:
        mode = self.settings.mode
        fd = os.open(
            self.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, mode or 0o600
        )
        try:
            if mode:
                os.fchmod(fd, mode)
            if os.fstat(fd).st_size > 0:
                # An existing log (restart, or a reopen without rotation): continue its chain.
                state = ChainState()
                if state.continue_from_file(self.file):
                    os.write(fd, b"\n")  # end a line cut short, so it shows as damaged
                self.chain = state
            else:
                # A new file (first use, or rotated away): sequence from 1, linked to the
                # last line written before, so old and new file verify as one chain.
                self.chain = ChainState(seq=0, prev=self.chain.prev)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _ensure_open(self) -> None:
        if self._fd is None:
            self._open()

    def _emit(self, lines: list[bytes]) -> None:
        fd = self._fd
        assert fd is not None
        mode = os.fstat(fd).st_mode
        if not mode & 0o222 and self.settings.mode & 0o222:
            # Someone took write permission away: honour it even where the open
            # descriptor (or root) could still write.
            raise PermissionError(
                errno.EACCES, f"audit file {self.file} is read-only (mode {mode & 0o7777:04o})"
            )
        data = memoryview(b"\n".join(lines) + b"\n")
        try:
            while data:
                written = os.write(fd, data)
                data = data[written:]
        except OSError:
            self._close()  # the next write reopens the path
            raise

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.close(fd)


class StdoutDevice(AuditDevice):
    """`file_path=stdout`: entries on the server's standard output."""

    def _emit(self, lines: list[bytes]) -> None:
        data = memoryview(b"\n".join(lines) + b"\n")
        while data:
            data = data[os.write(1, data) :]


class DiscardDevice(AuditDevice):
    """`file_path=discard`: accepts everything, writes nothing."""

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def record(self, entry: RawEntry) -> None:
        return None

    def request_reopen(self) -> None:
        return None


class SocketDevice(AuditDevice):
    """Sends entries over TCP, UDP (one datagram an entry) or a Unix socket."""

    def __init__(self, path: str, settings: DeviceSettings, salt: bytes) -> None:
        super().__init__(path, settings, salt)
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        kind, address, timeout = (
            self.settings.socket_type,
            self.settings.address,
            self.settings.write_timeout,
        )
        if kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(address)
            except OSError:
                sock.close()
                raise
            return sock
        host, _, port = address.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if not port.isdigit():
            raise OSError(errno.EINVAL, f"invalid address {address!r}: want host:port")
        if kind == "tcp":
            sock = socket.create_connection((host, int(port)), timeout=timeout)
        else:
            info = socket.getaddrinfo(host, int(port), type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(info[0], socket.SOCK_DGRAM)
            sock.connect(info[4])
        sock.settimeout(timeout)
        return sock

    def _open(self) -> None:
        self._sock = self._connect()

    def _ensure_open(self) -> None:
        if self._sock is None:
            self._open()

    def _send(self, lines: list[bytes]) -> None:
        assert self._sock is not None
        if self.settings.socket_type == "udp":
            for line in lines:
                self._sock.send(line + b"\n")
        else:
            self._sock.sendall(b"\n".join(lines) + b"\n")

    def _emit(self, lines: list[bytes]) -> None:
        try:
            self._send(lines)
        except OSError:
            # One reconnect and retry, as Vault's socket device does.
            self._close()
            self._open()
            try:
                self._send(lines)
            except OSError:
                self._close()
                raise

    def _close(self) -> None:
        if self._sock is not None:
            sock, self._sock = self._sock, None
            with contextlib.suppress(OSError):
                sock.close()


def create_device(path: str, settings: DeviceSettings, salt: bytes) -> AuditDevice:
    if settings.type == "socket":
        return SocketDevice(path, settings, salt)
    if settings.file_path == "discard":
        return DiscardDevice(path, settings, salt)
    if settings.file_path == "stdout":
        return StdoutDevice(path, settings, salt)
    return FileDevice(path, settings, salt)
