"""google-auth + requests behind a small async facade; every call runs in the mount's pool.

The engine speaks Google's REST APIs by hand (IAM, IAM Credentials, Resource
Manager, Pub/Sub, Storage, ...) with a `requests` session, and uses
google-auth for what it is for: turning a service-account key file into an
OAuth2 access token (the JWT-bearer grant to the key file's `token_uri`).
Both libraries are synchronous, so the event loop never calls them: each
request goes to a `ThreadPoolExecutor` owned by the backend (shut down in
`cleanup()`), bounded by STRONGROOM_GCP_WORKERS.

Where Google is comes from `Settings` (server environment, see settings.py).
The root credentials come from `config`; they are parsed on first use and
cached (with their access token) until `config` changes (`reset()`).

google-auth and requests are imported on first use, in a pool thread.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from .errors import GcpError
from .settings import Settings
from .store import Store

log = logging.getLogger("strongroom.gcp")

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"

# urllib3 at DEBUG logs request lines only, but google-auth's own DEBUG output can
# include token responses: keep both above that unless an operator chose otherwise.
for _name in ("google.auth", "google.oauth2", "urllib3"):
    if logging.getLogger(_name).level == logging.NOTSET:
        logging.getLogger(_name).setLevel(logging.INFO)


@functools.cache
def sdk() -> SimpleNamespace:
    import google.auth.exceptions
    import google.auth.transport.requests
    import google.oauth2.service_account
    import requests
    import requests.adapters

    return SimpleNamespace(
        requests=requests,
        HTTPAdapter=requests.adapters.HTTPAdapter,
        AuthRequest=google.auth.transport.requests.Request,
        ServiceAccountCredentials=google.oauth2.service_account.Credentials,
        RefreshError=google.auth.exceptions.RefreshError,
        TransportError=google.auth.exceptions.TransportError,
        GoogleAuthError=google.auth.exceptions.GoogleAuthError,
    )


class CredentialsError(ValueError):
    """A key file google-auth cannot use (the text never quotes the key)."""


def parse_key_file(raw: str | bytes) -> dict[str, Any]:
    """A credentials file as a dict; ValueError with a safe message if it is not JSON."""
    try:
        info = json.loads(raw)
    except ValueError as err:
        raise CredentialsError(f"invalid credentials JSON file: {err.__class__.__name__}") from None
    if not isinstance(info, dict):
        raise CredentialsError("invalid credentials JSON file: not a JSON object")
    return info


def decode_key_data(b64: str) -> dict[str, Any]:
    """`privateKeyData` of a TYPE_GOOGLE_CREDENTIALS_FILE key, as the key file dict."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        raise CredentialsError("key data is not valid base64") from None
    return parse_key_file(raw)


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:300] + ("..." if len(text) > 300 else "")


def _parse_error(operation: str, resp: Any) -> GcpError:
    """Google's error body (any of its shapes) as a GcpError."""
    message, code = "", ""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            code = str(err.get("status") or "")
            details = err.get("errors")
            if not code and isinstance(details, list) and details and isinstance(details[0], dict):
                code = str(details[0].get("reason") or "")
        elif isinstance(err, str):
            description = body.get("error_description")
            message = f"{err}: {description}" if description else err
    if not message:
        message = (resp.text or "").strip()[:300] or resp.reason or "no error message"
    return GcpError(operation, resp.status_code, code, message)


def _refresh_error(err: Exception, token_uri: str) -> GcpError:
    """google-auth's RefreshError/TransportError for a token request, without secrets."""
    if isinstance(err, sdk().TransportError):
        return GcpError("oauth2.token", 0, "", f"could not reach {token_uri}: {_short(err)}")
    detail = err.args[0] if err.args else str(err)
    return GcpError(
        "oauth2.token", 401, "oauth2:", f"oauth2: cannot fetch token: {_short(Exception(detail))}"
    )


@dataclass(frozen=True)
class Token:
    token: str
    expiry: datetime  # aware, UTC


class GcpClients:
    """The mount's pool, HTTP session and root credentials."""

    def __init__(self, store: Store, settings: Settings, name: str = "gcp") -> None:
        self.store = store
        self.settings = settings
        self.executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix=name)
        self._session: Any = None
        self._session_lock = threading.Lock()
        self._root: RootApi | None = None
        self._root_lock = asyncio.Lock()
        self._generation = 0

    # ------------------------------------------------------------------ plumbing
    async def run(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args))

    def session(self) -> Any:
        """The shared requests session (built in a pool thread on first use)."""
        with self._session_lock:
            if self._session is None:
                s = sdk()
                session = s.requests.Session()
                adapter = s.HTTPAdapter(
                    pool_connections=8, pool_maxsize=self.settings.workers, max_retries=0
                )
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                if self.settings.ca_bundle:
                    session.verify = self.settings.ca_bundle
                session.headers["User-Agent"] = "strongroom-gcp"
                self._session = session
            return self._session

    def auth_request(self) -> Any:
        """google-auth's transport over our session, with a bounded timeout."""
        base = sdk().AuthRequest(self.session())
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)

        def request(
            url: str,
            method: str = "GET",
            body: Any = None,
            headers: Any = None,
            timeout: Any = timeout,
            **kwargs: Any,
        ) -> Any:
            return base(url, method=method, body=body, headers=headers, timeout=timeout, **kwargs)

        return request

    def key_credentials(self, info: dict[str, Any], scopes: list[str]) -> Any:
        """google-auth credentials for a key file (token_uri per the server settings)."""
        if self.settings.token_uri:
            info = {**info, "token_uri": self.settings.token_uri}
        try:
            return sdk().ServiceAccountCredentials.from_service_account_info(info, scopes=scopes)
        except (ValueError, KeyError, TypeError) as err:
            text = str(err) if "missing fields" in str(err) else err.__class__.__name__
            raise CredentialsError(f"invalid service account key: {text}") from None

    def reset(self) -> None:
        """config changed: the next call builds the root credentials again."""
        self._generation += 1
        self._root = None

    def shutdown(self) -> None:
        self.reset()
        self.executor.shutdown(wait=False, cancel_futures=True)
        session, self._session = self._session, None
        if session is not None:
            session.close()

    # ------------------------------------------------------------------ identities
    async def root(self) -> RootApi:
        """Google calls as the configured root service account."""
        if self._root is not None:
            return self._root
        async with self._root_lock:
            if self._root is not None:
                return self._root
            generation = self._generation
            config = await self.store.config()
            if config is None or not config.credentials:
                raise GcpError(
                    "config",
                    400,
                    "FAILED_PRECONDITION",
                    "no credentials configured: write the service account key to this "
                    "mount's config (credentials=@key.json)",
                )
            try:
                info = parse_key_file(config.credentials)
                creds = await self.run(self.key_credentials, info, [CLOUD_PLATFORM])
            except CredentialsError as err:
                raise GcpError("config", 400, "INVALID_ARGUMENT", str(err)) from None
            api = RootApi(self, creds, str(info.get("client_email", "")))
            if generation == self._generation:
                self._root = api
            return api

    async def mint(self, key_info: dict[str, Any], scopes: list[str]) -> Token:
        """An access token from a key file (roleset/static token generator): §7.6."""
        return await self.run(self._mint, key_info, scopes)

    def _mint(self, key_info: dict[str, Any], scopes: list[str]) -> Token:
        creds = self.key_credentials(key_info, scopes)
        try:
            creds.refresh(self.auth_request())
        except (sdk().RefreshError, sdk().TransportError) as err:
            raise _refresh_error(err, creds._token_uri) from None
        expiry = creds.expiry.replace(tzinfo=UTC) if creds.expiry else datetime.now(UTC)
        return Token(creds.token, expiry)


class RootApi:
    """Authorized REST calls as the root service account."""

    def __init__(self, clients: GcpClients, creds: Any, email: str) -> None:
        self._clients = clients
        self._creds = creds
        self._lock = threading.Lock()  # one token refresh at a time
        self.email = email

    def url(self, service: str, path: str) -> str:
        return self._clients.settings.url(service, path)

    async def call(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        body: Any = None,
        params: Any = None,
    ) -> dict[str, Any]:
        return await self._clients.run(self._call, operation, method, url, body, params)

    def _token(self, force: bool = False) -> str:
        with self._lock:
            if force or not self._creds.valid:
                try:
                    self._creds.refresh(self._clients.auth_request())
                except (sdk().RefreshError, sdk().TransportError) as err:
                    raise _refresh_error(err, self._creds._token_uri) from None
            return str(self._creds.token)

    def _call(
        self, operation: str, method: str, url: str, body: Any, params: Any
    ) -> dict[str, Any]:
        requests = sdk().requests
        settings = self._clients.settings
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._token(force=attempt == 2)}"}
            try:
                resp = self._clients.session().request(
                    method,
                    url,
                    json=body,
                    params=params,
                    headers=headers,
                    timeout=(settings.connect_timeout, settings.read_timeout),
                )
            except requests.RequestException as err:
                raise GcpError(
                    operation, 0, "", f"could not reach {method} {url}: {_short(err)}"
                ) from None
            if resp.status_code == 401 and attempt == 1:
                continue  # the token may have been revoked early: fetch a new one once
            if resp.status_code >= 400:
                raise _parse_error(operation, resp)
            if not resp.content:
                return {}
            try:
                result = resp.json()
            except ValueError:
                raise GcpError(operation, resp.status_code, "", "response is not JSON") from None
            return result if isinstance(result, dict) else {"value": result}
        raise AssertionError("unreachable")
