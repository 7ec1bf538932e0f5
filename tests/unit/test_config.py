"""Server configuration files (spec §9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strongroom.config import (
    ConfigError,
    ListenerConfig,
    ServerConfig,
    StorageConfig,
    load_config,
)

SPEC_EXAMPLE = """
storage "raft" {
  path    = "/var/lib/strongroom"
  node_id = "node1"
}

listener "tcp" {
  address         = "0.0.0.0:8200"
  cluster_address = "0.0.0.0:8201"
  tls_disable     = false
  tls_cert_file   = "/etc/strongroom/tls.crt"
  tls_key_file    = "/etc/strongroom/tls.key"
  tls_min_version = "tls12"
  max_request_size     = 33554432
  max_request_duration = "90s"
  telemetry {
    unauthenticated_metrics_access = false
  }
}

api_addr          = "https://vault.example.com:8200"
cluster_addr      = "https://10.0.0.1:8201"
cluster_name      = "prod"
ui                = true
disable_mlock     = true
default_lease_ttl = "768h"
max_lease_ttl     = "768h"
log_level         = "info"
"""

PLAIN_LISTENER = 'listener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n}\n'


def write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text)
    return str(path)


def load(tmp_path: Path, text: str, name: str = "server.hcl", **kwargs: object) -> ServerConfig:
    return load_config([write(tmp_path, name, text)], env={}, **kwargs)  # type: ignore[arg-type]


def error_of(tmp_path: Path, text: str, name: str = "server.hcl") -> str:
    path = write(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        load_config([path], env={})
    message = str(info.value)
    assert message.startswith(f"error loading configuration from {path}: ")
    return message.removeprefix(f"error loading configuration from {path}: ")


def expected_spec_config() -> ServerConfig:
    return ServerConfig(
        storage=StorageConfig("raft", {"path": "/var/lib/strongroom", "node_id": "node1"}),
        listeners=[
            ListenerConfig(
                address="0.0.0.0:8200",
                cluster_address="0.0.0.0:8201",
                tls_cert_file="/etc/strongroom/tls.crt",
                tls_key_file="/etc/strongroom/tls.key",
            )
        ],
        api_addr="https://vault.example.com:8200",
        cluster_addr="https://10.0.0.1:8201",
        cluster_name="prod",
        ui=True,
        disable_mlock=True,
        default_lease_ttl=2764800,
        max_lease_ttl=2764800,
    )


# --- formats -------------------------------------------------------------------


def test_spec_example_hcl(tmp_path: Path) -> None:
    assert load(tmp_path, SPEC_EXAMPLE) == expected_spec_config()


def test_spec_example_json(tmp_path: Path) -> None:
    document = {
        "storage": {"raft": {"path": "/var/lib/strongroom", "node_id": "node1"}},
        "listener": [
            {
                "tcp": {
                    "address": "0.0.0.0:8200",
                    "cluster_address": "0.0.0.0:8201",
                    "tls_disable": False,
                    "tls_cert_file": "/etc/strongroom/tls.crt",
                    "tls_key_file": "/etc/strongroom/tls.key",
                    "tls_min_version": "tls12",
                    "max_request_size": 33554432,
                    "max_request_duration": "90s",
                    "telemetry": {"unauthenticated_metrics_access": False},
                }
            }
        ],
        "api_addr": "https://vault.example.com:8200",
        "cluster_addr": "https://10.0.0.1:8201",
        "cluster_name": "prod",
        "ui": True,
        "disable_mlock": True,
        "default_lease_ttl": "768h",
        "max_lease_ttl": "768h",
        "log_level": "info",
    }
    assert load(tmp_path, json.dumps(document), "server.json") == expected_spec_config()
    # JSON content is recognised whatever the file is called.
    assert load(tmp_path, json.dumps(document), "server.conf") == expected_spec_config()


def test_json_listener_shapes(tmp_path: Path) -> None:
    listener = {"address": "a:1", "tls_disable": True}
    for shape in (
        {"tcp": listener},
        {"tcp": [listener, listener]},
        [{"tcp": listener}, {"tcp": listener}],
    ):
        config = load(tmp_path, json.dumps({"listener": shape}), "l.json")
        assert {item.address for item in config.listeners} == {"a:1"}


def test_repeated_listener_stanzas_stay_separate(tmp_path: Path) -> None:
    text = (
        'listener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n}\n'
        'listener "tcp" {\n  address = "127.0.0.1:8300"\n  tls_disable = 1\n}\n'
    )
    config = load(tmp_path, text)
    assert [item.address for item in config.listeners] == ["127.0.0.1:8200", "127.0.0.1:8300"]


def test_backend_is_an_alias_of_storage(tmp_path: Path) -> None:
    config = load(tmp_path, 'backend "file" {\n  path = "/data"\n}\n')
    assert config.storage == StorageConfig("file", {"path": "/data"})


def test_storage_values_are_stringified(tmp_path: Path) -> None:
    text = """
storage "postgresql" {
  connection_url = "postgres://u:p@db/x?sslmode=disable"
  ha_enabled     = true
  max_parallel   = 128
  ratio          = 1.5
  skip_create_table = "false"
}
"""
    options = load(tmp_path, text).storage.options  # type: ignore[union-attr]
    assert options == {
        "connection_url": "postgres://u:p@db/x?sslmode=disable",
        "ha_enabled": "true",
        "max_parallel": "128",
        "ratio": "1.5",
        "skip_create_table": "false",
    }


def test_nested_storage_blocks_become_json_text(tmp_path: Path) -> None:
    text = """
storage "raft" {
  path = "/r"
  retry_join { leader_api_addr = "https://a:8200" }
  retry_join { leader_api_addr = "https://b:8200" }
}
"""
    options = load(tmp_path, text).storage.options  # type: ignore[union-attr]
    assert json.loads(options["retry_join"]) == [
        {"leader_api_addr": "https://a:8200"},
        {"leader_api_addr": "https://b:8200"},
    ]


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, "") == ServerConfig()


# --- errors naming the problem ---------------------------------------------------


def test_unknown_top_level_key_is_named(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'stroage "raft" {\n  path = "/x"\n}\n' + PLAIN_LISTENER)
    assert message == 'unknown configuration key "stroage"'
    assert error_of(tmp_path, "api_adr = 1\n") == 'unknown configuration key "api_adr"'
    assert error_of(tmp_path, '{"foo": 1}', "c.json") == 'unknown configuration key "foo"'


def test_unknown_listener_key_is_named(tmp_path: Path) -> None:
    text = 'listener "tcp" {\n  adress = "0.0.0.0:8200"\n  tls_disable = true\n}\n'
    assert error_of(tmp_path, text) == 'unknown configuration key "adress" in listener "tcp"'
    text = 'listener "tcp" {\n  tls_disable = true\n  telemetry { unauth = true }\n}\n'
    assert 'unknown configuration key "unauth"' in error_of(tmp_path, text)


def test_known_unused_keys_are_accepted(tmp_path: Path) -> None:
    text = """
pid_file = "/run/x.pid"
disable_cache = true
disable_clustering = true
plugin_directory = "/plugins"
raw_storage_endpoint = true
introspection_endpoint = true
disable_sealwrap = true
enable_response_header_hostname = true
log_file = "/var/log/x.log"
log_format = "json"
unsafe_allow_api_audit_creation = true
telemetry {
  prometheus_retention_time = "30s"
  disable_hostname = true
}
audit "file" "file/" {
  options = { file_path = "/tmp/audit.log" }
}
seal "shamir" {}
listener "tcp" {
  address = "127.0.0.1:8200"
  tls_disable = true
  x_forwarded_for_authorized_addrs = ["10.0.0.0/8"]
  cors_enabled = true
  http_idle_timeout = "5m"
  tls_cipher_suites = "TLS_AES_128_GCM_SHA256"
}
"""
    config = load(tmp_path, text)
    assert config.log_format == "json"
    assert config.unsafe_allow_api_audit_creation is True
    assert config.warnings == []


def test_bad_hcl_names_the_file_and_position(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'storage "raft" {\n  path = "x"\n  foo = = 1\n}\n')
    assert message.startswith("At 3:9: unexpected EQUAL")
    assert error_of(tmp_path, "a = @\n").startswith("At 1:5: Illegal character '@'")
    assert error_of(tmp_path, 'storage "raft" {\n  path = "x"\n').startswith(
        "Unexpected end of file"
    )


def test_bad_json_names_the_file(tmp_path: Path) -> None:
    message = error_of(tmp_path, '{"storage": {"inmem": {}},}', "c.json")
    assert message == "invalid character '}' looking for beginning of object key string"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.hcl")
    with pytest.raises(ConfigError, match=f"error loading configuration from {missing}: "):
        load_config([missing], env={})


def test_only_tcp_listeners(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'listener "unix" {\n  address = "/run/s.sock"\n}\n')
    assert message == 'unsupported listener type "unix": only "tcp" is supported'


def test_listener_needs_a_type_label(tmp_path: Path) -> None:
    assert "invalid listener stanza" in error_of(tmp_path, 'listener = "tcp"\n')


def test_multiple_storage_stanzas_are_an_error(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'storage "inmem" {}\nstorage "file" {\n  path = "/x"\n}\n')
    assert message.startswith("only one storage stanza is allowed")
    message = error_of(tmp_path, 'storage "inmem" {}\nbackend "file" {\n  path = "/x"\n}\n')
    assert message.startswith("only one storage stanza is allowed")
    first = write(tmp_path, "a.hcl", 'storage "inmem" {}\n')
    second = write(tmp_path, "b.hcl", 'storage "inmem" {}\n')
    with pytest.raises(ConfigError, match=f"from {second}: only one storage stanza.*{first}"):
        load_config([first, second], env={})


def test_ha_storage_is_not_supported(tmp_path: Path) -> None:
    assert "ha_storage is not supported" in error_of(tmp_path, 'ha_storage "consul" {}\n')


def test_unsupported_seal_is_a_warning(tmp_path: Path) -> None:
    config = load(tmp_path, 'seal "awskms" {\n  region = "eu-west-1"\n}\n')
    assert config.warnings == [
        'seal "awskms" is not supported and is ignored; the Shamir seal is used'
    ]


# --- TLS -------------------------------------------------------------------------


def test_tls_without_cert_is_an_error_naming_the_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'listener "tcp" {\n  address = "0.0.0.0:8200"\n}\n')
    assert message == (
        'listener "tcp" (0.0.0.0:8200): tls_cert_file is required unless tls_disable = true'
    )
    text = 'listener "tcp" {\n  tls_cert_file = "/c.pem"\n  tls_disable = "false"\n}\n'
    assert "tls_key_file is required" in error_of(tmp_path, text)


def test_tls_listener(tmp_path: Path) -> None:
    text = """
listener "tcp" {
  tls_cert_file = "/c.pem"
  tls_key_file = "/k.pem"
  tls_client_ca_file = "/ca.pem"
  tls_require_and_verify_client_cert = "true"
  tls_min_version = "tls13"
}
"""
    (listener,) = load(tmp_path, text).listeners
    assert listener == ListenerConfig(
        tls_cert_file="/c.pem",
        tls_key_file="/k.pem",
        tls_client_ca_file="/ca.pem",
        tls_require_and_verify_client_cert=True,
        tls_min_version="tls13",
    )
    bad = text.replace('"tls13"', '"tls14"')
    assert "tls_min_version" in error_of(tmp_path, bad)


# --- coercion ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("true", True),
        ("false", False),
        ('"true"', True),
        ('"false"', False),
        ("1", True),
        ("0", False),
        ('"1"', True),
        ('"0"', False),
    ],
)
def test_booleans(tmp_path: Path, literal: str, expected: bool) -> None:
    config = load(tmp_path, f"ui = {literal}\ndisable_mlock = {literal}\n" + PLAIN_LISTENER)
    assert config.ui is expected
    assert config.disable_mlock is expected
    listener_text = f'listener "tcp" {{\n  tls_disable = {literal}\n'
    listener_text += '  tls_cert_file = "/c"\n  tls_key_file = "/k"\n}\n'
    assert load(tmp_path, listener_text).listeners[0].tls_disable is expected


def test_invalid_boolean(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'ui = "yes"\n')
    assert message == 'invalid value for "ui": expected a boolean, got "yes"'


@pytest.mark.parametrize(
    ("literal", "seconds"),
    [('"768h"', 2764800), ("3600", 3600), ('"3600"', 3600), ('"32d"', 2764800), ('"1h30m"', 5400)],
)
def test_duration_values(tmp_path: Path, literal: str, seconds: int) -> None:
    config = load(tmp_path, f"default_lease_ttl = {literal}\nmax_lease_ttl = {literal}\n")
    assert config.default_lease_ttl == seconds
    assert config.max_lease_ttl == seconds


def test_invalid_duration_names_key_and_go_message(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'max_lease_ttl = "1d12h"\n')
    go_message = 'time: unknown unit "d" in duration "1d12h"'
    assert message == f'invalid value for "max_lease_ttl": {go_message}'
    assert "must not be negative" in error_of(tmp_path, 'default_lease_ttl = "-1h"\n')


def test_default_lease_ttl_must_not_exceed_max(tmp_path: Path) -> None:
    message = error_of(tmp_path, 'default_lease_ttl = "2h"\nmax_lease_ttl = "1h"\n')
    assert message == "default_lease_ttl (2h) must not be greater than max_lease_ttl (1h)"
    # An unset maximum is the 768h system default.
    assert "max_lease_ttl (768h)" in error_of(tmp_path, 'default_lease_ttl = "1000h"\n')
    assert load(tmp_path, 'default_lease_ttl = "1h"\nmax_lease_ttl = "1h"\n').max_lease_ttl == 3600


def test_listener_limits(tmp_path: Path) -> None:
    text = 'listener "tcp" {\n  tls_disable = true\n  max_request_size = %s\n}\n'
    assert load(tmp_path, text % "0").listeners[0].max_request_size == 33554432
    assert load(tmp_path, text % "-1").listeners[0].max_request_size == -1
    assert load(tmp_path, text % "1024").listeners[0].max_request_size == 1024
    duration = 'listener "tcp" {\n  tls_disable = true\n  max_request_duration = %s\n}\n'
    assert load(tmp_path, duration % '"2m"').listeners[0].max_request_duration == 120
    assert load(tmp_path, duration % "0").listeners[0].max_request_duration == 90


def test_listener_telemetry(tmp_path: Path) -> None:
    text = (
        'listener "tcp" {\n  tls_disable = true\n'
        "  telemetry {\n    unauthenticated_metrics_access = true\n  }\n}\n"
    )
    assert load(tmp_path, text).listeners[0].unauthenticated_metrics_access is True


def test_log_level(tmp_path: Path) -> None:
    assert load(tmp_path, 'log_level = "DEBUG"\n').log_level == "debug"
    assert load(tmp_path, 'log_level = "warning"\n').log_level == "warn"
    assert "unknown log level" in error_of(tmp_path, 'log_level = "loud"\n')


# --- merging and environment ----------------------------------------------------------


def test_directory_merge(tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    write(conf, "10-storage.hcl", 'storage "file" {\n  path = "/data"\n}\nui = true\n')
    write(conf, "20-listener.json", json.dumps({"listener": {"tcp": {"tls_disable": True}}}))
    write(conf, "30-more.hcl", PLAIN_LISTENER.replace("8200", "8300") + "ui = false\n")
    write(conf, "README.md", "not configuration")
    write(conf, ".hidden.hcl", "this is not = valid {")
    config = load_config([str(conf)], env={})
    assert config.storage == StorageConfig("file", {"path": "/data"})
    assert [item.address for item in config.listeners] == ["127.0.0.1:8200", "127.0.0.1:8300"]
    assert config.ui is False  # the later file wins


def test_several_paths_merge_in_order(tmp_path: Path) -> None:
    first = write(tmp_path, "a.hcl", 'cluster_name = "one"\nlog_level = "debug"\n' + PLAIN_LISTENER)
    second = write(tmp_path, "b.hcl", 'cluster_name = "two"\n' + PLAIN_LISTENER)
    config = load_config([first, second], env={})
    assert config.cluster_name == "two"
    assert config.log_level == "debug"  # not reset by a file that does not set it
    assert len(config.listeners) == 2


def test_error_in_directory_names_the_file(tmp_path: Path) -> None:
    write(tmp_path, "a.hcl", PLAIN_LISTENER)
    bad = write(tmp_path, "b.hcl", "typo = 1\n")
    with pytest.raises(ConfigError, match=f"^error loading configuration from {bad}: unknown"):
        load_config([str(tmp_path)], env={})


def test_api_addr_from_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "a.hcl", PLAIN_LISTENER)
    assert load_config([path], env={"VAULT_API_ADDR": "http://v:8200"}).api_addr == "http://v:8200"
    env = {"VAULT_API_ADDR": "http://v:8200", "BAO_API_ADDR": "http://b:8200"}
    assert load_config([path], env=env).api_addr == "http://b:8200"
    # The file wins over the environment.
    path = write(tmp_path, "b.hcl", 'api_addr = "http://file:8200"\n')
    assert load_config([path], env=env).api_addr == "http://file:8200"


def test_environment_defaults_to_os_environ(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BAO_API_ADDR", raising=False)
    monkeypatch.setenv("VAULT_API_ADDR", "http://env:8200")
    assert load_config([write(tmp_path, "a.hcl", "")]).api_addr == "http://env:8200"


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)
