"""boto3 behind a small async facade: every AWS call runs in the mount's bounded thread pool.

boto3 is synchronous. The event loop never waits on it: `Client.call()` hands the
call to a `ThreadPoolExecutor` owned by the backend (shut down in `cleanup()`),
so a slow or unreachable AWS only ties up pool threads, never the server.
Clients are built from config/root (also in the pool: building one reads data
files) and cached until config/root changes. Retries are botocore's
"standard" mode with config/root's `max_retries`.

boto3 is imported on first use, in a pool thread: servers without an aws
mount never pay for it, and its import never holds up the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from .errors import AwsError, internal_error
from .store import RootConfig, Store

log = logging.getLogger("strongroom.aws")

# botocore at DEBUG logs whole responses, secret keys included: keep it above that
# unless an operator has deliberately configured it.
for _name in ("botocore", "boto3", "urllib3"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.INFO)


@functools.cache
def sdk() -> SimpleNamespace:
    """boto3 and the botocore names this module uses, imported once."""
    import boto3
    from botocore import xform_name
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError
    from botocore.parsers import ResponseParserError

    return SimpleNamespace(
        boto3=boto3,
        Config=Config,
        xform_name=xform_name,
        ClientError=ClientError,
        ParamValidationError=ParamValidationError,
        # What an AWS call can raise: AWS's answer, SDK trouble (connection, timeout,
        # parameters), or a body that is not AWS XML (a proxy or emulator answering).
        errors=(ClientError, BotoCoreError, ResponseParserError),
    )


DEFAULT_WORKERS = 16
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60


def default_region(config: RootConfig | None) -> str:
    if config is not None and config.region:
        return config.region
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def sts_url(region: str) -> str:
    """The regional STS endpoint, partition-aware (China's end in .amazonaws.com.cn)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}"


def sts_candidates(config: RootConfig | None) -> list[tuple[str, str]]:
    """(endpoint, region) pairs to try in order (spec §3.1.5)."""
    regions: list[str] = []
    endpoints: list[str] = []
    if config is not None:
        if config.region:
            regions = [config.region]
        if config.sts_endpoint and config.sts_region:
            regions = [config.sts_region]
        regions += config.sts_fallback_regions
        if config.sts_endpoint:
            endpoints = [config.sts_endpoint, *config.sts_fallback_endpoints]
    if not regions:
        regions = [default_region(config)]
    if not endpoints:
        endpoints = [sts_url(region) for region in regions]
    if len(regions) != len(endpoints):
        raise internal_error("number of regions does not match number of endpoints")
    return list(zip(endpoints, regions, strict=True))


_VALUE = re.compile(r", value: .*?(?=, type:|$)", re.DOTALL)


def _safe_text(err: Exception) -> str:
    """An SDK error's text without request values (a parameter may be a secret)."""
    text = str(err)
    if isinstance(err, sdk().ParamValidationError):
        text = _VALUE.sub("", text)
    return " ".join(text.split())


def to_aws_error(operation: str, err: Exception) -> AwsError:
    if isinstance(err, sdk().ClientError):
        error = err.response.get("Error", {})
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return AwsError(operation, error.get("Code", ""), error.get("Message", ""), status)
    return AwsError(operation, "", _safe_text(err))


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None


class Client:
    """One boto3 client (IAM or STS); `await call("CreateUser", UserName=…)`."""

    def __init__(self, boto_client: Any, executor: ThreadPoolExecutor, endpoint: str = "") -> None:
        self._client = boto_client
        self._executor = executor
        self.endpoint = endpoint

    async def call(self, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self._client, _snake(operation))
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, functools.partial(method, **params))
        except sdk().errors as err:
            raise to_aws_error(operation, err) from None


def _snake(operation: str) -> str:
    return sdk().xform_name(operation)  # botocore's: "ListMFADevices" -> "list_mfa_devices"


def _botocore_config(region: str, max_retries: int, pool: int) -> Any:
    retries: dict[str, Any] = {"mode": "standard"}
    if max_retries >= 0:
        retries["max_attempts"] = max_retries
    return sdk().Config(
        region_name=region,
        retries=retries,
        max_pool_connections=pool,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        user_agent_extra="strongroom",
    )


def _build(
    service: str,
    region: str,
    endpoint: str,
    creds: Credentials | None,
    max_retries: int,
    pool: int,
) -> Any:
    """A boto3 client (runs in the pool: sessions load their data files)."""
    boto3 = sdk().boto3
    if creds is not None:
        session = boto3.session.Session(
            aws_access_key_id=creds.access_key,
            aws_secret_access_key=creds.secret_key,
            aws_session_token=creds.session_token,
            region_name=region,
        )
    else:  # the SDK's default chain: env, shared files, instance/task role
        session = boto3.session.Session(region_name=region)
    return session.client(
        service,
        endpoint_url=endpoint or None,
        config=_botocore_config(region, max_retries, pool),
    )


class AwsClients:
    """The mount's IAM and STS clients and the thread pool they run in."""

    def __init__(self, store: Store, workers: int = DEFAULT_WORKERS, name: str = "aws") -> None:
        self._store = store
        self.workers = workers
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._iam: Client | None = None
        self._sts: Client | None = None
        self._sts_target: tuple[str, str] | None = None
        self._generation = 0
        self._iam_lock = asyncio.Lock()
        self._sts_lock = asyncio.Lock()  # held while STS endpoints are pinged

    def reset(self) -> None:
        """config/root changed: the next call builds new clients."""
        self._generation += 1
        self._iam = self._sts = None
        self._sts_target = None

    def shutdown(self) -> None:
        self.reset()
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def _make(
        self,
        service: str,
        region: str,
        endpoint: str,
        creds: Credentials | None,
        max_retries: int,
    ) -> Client:
        loop = asyncio.get_running_loop()
        build = functools.partial(
            _build, service, region, endpoint, creds, max_retries, self.workers
        )
        try:
            boto_client = await loop.run_in_executor(self.executor, build)
        except sdk().errors as err:
            raise to_aws_error("NewClient", err) from None
        return Client(boto_client, self.executor, endpoint)

    @staticmethod
    def _creds(config: RootConfig | None) -> Credentials | None:
        if config is not None and config.access_key and config.secret_key:
            return Credentials(config.access_key, config.secret_key)
        return None

    async def iam(self) -> Client:
        if self._iam is not None:
            return self._iam
        async with self._iam_lock:
            if self._iam is None:
                generation = self._generation
                config = await self._store.root()
                client = await self._make(
                    "iam",
                    default_region(config),
                    config.iam_endpoint if config else "",
                    self._creds(config),
                    config.max_retries if config else -1,
                )
                if generation == self._generation:
                    self._iam = client
                return client
            return self._iam

    async def sts(self) -> Client:
        """The first STS endpoint that answers GetCallerIdentity (cached)."""
        if self._sts is not None:
            return self._sts
        async with self._sts_lock:
            if self._sts is not None:
                return self._sts
            generation = self._generation
            config = await self._store.root()
            last: AwsError | None = None
            for endpoint, region in sts_candidates(config):
                client = await self._make(
                    "sts",
                    region,
                    endpoint,
                    self._creds(config),
                    config.max_retries if config else -1,
                )
                try:
                    await client.call("GetCallerIdentity")
                except AwsError as err:
                    last = err
                    log.warning("aws: STS endpoint %s did not answer: %s", endpoint, err)
                    continue
                if generation == self._generation:
                    self._sts, self._sts_target = client, (endpoint, region)
                return client
            raise internal_error("could not obtain sts client") from last

    async def sts_as(self, creds: Credentials, max_retries: int = 0) -> Client:
        """An STS client signing with other credentials (e.g. a key just issued)."""
        target = self._sts_target
        if target is None:
            target = sts_candidates(await self._store.root())[0]
        return await self._make("sts", target[1], target[0], creds, max_retries)

    async def iam_as(self, creds: Credentials) -> Client:
        """An IAM client with other credentials (rotate-root deletes the old key with it)."""
        config = await self._store.root()
        return await self._make(
            "iam",
            default_region(config),
            config.iam_endpoint if config else "",
            creds,
            config.max_retries if config else -1,
        )
