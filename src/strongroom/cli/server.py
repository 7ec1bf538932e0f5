"""`strongroom server`: run the server from a config file, or `-dev` for a ready-made one."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

from strongroom import __version__
from strongroom.cli.flags import FlagError, FlagSet
from strongroom.config import ConfigError, ListenerConfig, ServerConfig, StorageConfig, load_config
from strongroom.core.core import Core, CoreConfig
from strongroom.core.ha import advertised_addresses
from strongroom.core.ha import attach as attach_ha
from strongroom.core.mounts import MountEntry
from strongroom.engines import register_builtin
from strongroom.http.app import App
from strongroom.http.listener import serve

HELP = """Usage: strongroom server [options]

  Start a strongroom server. Without -dev it reads one or more configuration
  files (HCL or JSON) given with -config and starts sealed.

  Start a development server, in memory, unsealed, with KV v2 at secret/:

      $ strongroom server -dev

  Start a server from a configuration file:

      $ strongroom server -config=/etc/strongroom/config.hcl

Options:

"""


def _flags() -> FlagSet:
    env = os.environ
    fs = FlagSet()
    fs.add("config", list, help="Path to a configuration file or directory (repeatable).")
    fs.add("dev", bool, False, "Development mode: in-memory, unsealed, root token printed.")
    fs.add(
        "dev-root-token-id",
        str,
        "",
        "The dev root token's value.",
        env=("BAO_DEV_ROOT_TOKEN_ID", "VAULT_DEV_ROOT_TOKEN_ID"),
    )
    fs.add(
        "dev-listen-address",
        str,
        "127.0.0.1:8200",
        "Address for the dev listener.",
        env=("BAO_DEV_LISTEN_ADDRESS", "VAULT_DEV_LISTEN_ADDRESS"),
    )
    fs.add("dev-no-store-token", bool, False, "Do not write the root token to ~/.vault-token.")
    fs.add(
        "log-level",
        str,
        "",
        "trace, debug, info, warn or error.",
        env=("BAO_LOG_LEVEL", "VAULT_LOG_LEVEL"),
    )
    fs.add("log-format", str, "standard", "standard or json.")
    del env
    return fs


class _Formatter(logging.Formatter):
    """One line a message: `2026-11-25T05:45:24.026Z [INFO]  core: message`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        level = {"WARNING": "WARN"}.get(record.levelname, record.levelname)
        pad = " " * (5 - len(level))
        line = f"{stamp}.{int(record.msecs):03d}Z [{level}]{pad} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _setup_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("strongroom")
    root.handlers[:] = [handler]
    root.setLevel({"trace": "DEBUG", "warn": "WARNING"}.get(level, level.upper() or "INFO"))


def run(argv: list[str], register: Callable[[Core], None] | None = None) -> int:
    """Run the server; `register` may add engines (test suites add a counting one)."""
    if any(a in ("-h", "-help", "--help") for a in argv):
        print(HELP + _flags().usage())
        return 0
    try:
        opts, rest = _flags().parse(argv, dict(os.environ))
    except FlagError as err:
        print(err, file=sys.stderr)
        return 1
    if rest:
        print(f"Too many arguments (expected 0, got {len(rest)})", file=sys.stderr)
        return 1
    if opts["dev"]:
        config = ServerConfig(
            storage=StorageConfig("inmem", {}),
            listeners=[ListenerConfig(address=opts["dev-listen-address"], tls_disable=True)],
        )
    else:
        if not opts["config"]:
            print(
                "No configuration files found. Please provide configurations with the\n"
                "-config flag. If you are supplying the path to a directory, please\n"
                "ensure the directory contains files with the .hcl or .json extension.",
                file=sys.stderr,
            )
            return 1
        try:
            config = load_config(opts["config"])
        except ConfigError as err:
            print(err, file=sys.stderr)
            return 1
        if config.storage is None:
            print("A storage backend must be specified", file=sys.stderr)
            return 1
    _setup_logging(opts["log-level"] or config.log_level)
    for warning in config.warnings:
        logging.getLogger("strongroom").warning("config: %s", warning)
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            return runner.run(_main(config, opts, register))
    except KeyboardInterrupt:
        return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    # Measured: uvloop makes granian's hand-over of each request to Python cheaper.
    if os.environ.get("STRONGROOM_EVENT_LOOP", "uvloop") == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def _banner(config: ServerConfig, storage_type: str) -> str:
    listener = config.listeners[0]
    api = config.api_addr or f"{'http' if listener.tls_disable else 'https'}://{listener.address}"
    rows = [
        ("Api Address", api),
        *[
            (
                f"Listener {i + 1}",
                f'tcp (addr: "{lst.address}", max_request_size: '
                f'"{lst.max_request_size}", tls: "{"disabled" if lst.tls_disable else "enabled"}")',
            )
            for i, lst in enumerate(config.listeners)
        ],
        ("Log Level", config.log_level),
        ("Storage", storage_type),
        ("Version", f"strongroom v{__version__}"),
    ]
    width = max(len(k) for k, _ in rows) + 13
    lines = ["==> strongroom server configuration:", ""]
    lines += [f"{k.rjust(width)}: {v}" for k, v in rows]
    return "\n".join(lines) + "\n"


async def _setup_dev(core: Core, root_token_id: str) -> tuple[str, str]:
    keys, generated_root = await core.initialize(1, 1)
    await core.unseal_with_shares(keys)
    assert core.tokens is not None
    token = await core.tokens.create_root_token(
        root_token_id or None, path="auth/token/create", display_name="token"
    )
    if token != generated_root:
        entry = await core.tokens.lookup(generated_root)
        if entry is not None:
            await core.tokens.revoke_tree(entry)
    await core.enable_mount(
        MountEntry.new(
            "secret/", "kv", options={"version": "2"}, description="key/value secret storage"
        )
    )
    return base64.b64encode(keys[0]).decode(), token


async def _main(
    config: ServerConfig, opts: dict, register: Callable[[Core], None] | None = None
) -> int:
    assert config.storage is not None
    from strongroom.migrate import StorageOpenError, open_server_storage

    try:  # file storage: also the directory lock; never on storage being migrated
        storage, _dir_lock = await open_server_storage(config.storage.kind, config.storage.options)
    except StorageOpenError as err:
        print(err, file=sys.stderr)
        return 1
    core = Core(
        storage,
        CoreConfig(
            default_lease_ttl=config.default_lease_ttl,
            max_lease_ttl=config.max_lease_ttl,
            cluster_name=config.cluster_name,
            api_addr=config.api_addr,
            storage_type=config.storage.kind,
            allow_api_audit_creation=config.unsafe_allow_api_audit_creation,
            cache_size=0 if config.disable_cache else config.cache_size,
        ),
    )
    listener = config.listeners[0]
    ha_addrs = advertised_addresses(
        config.api_addr,
        config.cluster_addr,
        listener.address,
        not listener.tls_disable,
        listener.cluster_address,
    )
    attach_ha(core, storage, api_addr=ha_addrs[0], cluster_addr=ha_addrs[1])
    register_builtin(core)
    if register is not None:
        register(core)
    app = App(core, max_request_size=config.listeners[0].max_request_size)
    dev_lines = ""
    if opts["dev"]:
        unseal_key, token = await _setup_dev(core, opts["dev-root-token-id"])
        if not opts["dev-no-store-token"]:
            helper = Path.home() / ".vault-token"
            helper.write_text(token)
            helper.chmod(0o600)
        addr = f"http://{config.listeners[0].address}"
        dev_lines = (
            "WARNING! dev mode is enabled! In this mode, strongroom runs entirely in-memory\n"
            "and starts unsealed with a single unseal key. The root token is already\n"
            "authenticated to the CLI, so you can immediately begin using strongroom.\n\n"
            "You may need to set the following environment variables:\n\n"
            f"    $ export VAULT_ADDR='{addr}'\n\n"
            "The unseal key and root token are displayed below in case you want to\n"
            "seal/unseal the Vault or re-authenticate.\n\n"
            f"Unseal Key: {unseal_key}\n"
            f"Root Token: {token}\n\n"
            "Development mode should NOT be used in production installations!\n"
        )

    def started() -> None:
        out = _banner(config, config.storage.kind if config.storage else "inmem")
        out += "\n==> strongroom server started! Log data will stream in below:\n\n"
        if dev_lines:
            out += dev_lines + "\n"
        sys.stdout.write(out)
        sys.stdout.flush()

    async def shutdown() -> None:
        print("==> strongroom shutdown triggered", flush=True)
        await core.seal()
        await storage.close()

    # SIGHUP: audit files are reopened (log rotation).
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, core.sighup)
    await serve(app, config.listeners, started, shutdown)
    return 0
