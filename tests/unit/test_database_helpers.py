"""The database engine's pure helpers: statements, passwords, usernames, cron, DSNs, SCRAM."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import pytest

from strongroom.engines.database import cron, password, statements, username
from strongroom.engines.database.errors import scrub
from strongroom.engines.database.plugins import mysql, postgresql, scram
from strongroom.engines.database.store import redact_url

# --------------------------------------------------------------------------- statements


def test_statements_split_like_vaults_parse_arbitrary_string_slice() -> None:
    assert statements.parse_arbitrary("CREATE ROLE a; GRANT x TO a;  ") == [
        "CREATE ROLE a",
        "GRANT x TO a",
    ]
    as_json = json.dumps(["CREATE ROLE a", "GRANT x; TO a"])
    assert statements.parse_arbitrary(as_json) == ["CREATE ROLE a", "GRANT x; TO a"]
    encoded = base64.b64encode(b"CREATE ROLE a; DROP ROLE b").decode()
    assert statements.parse_arbitrary(encoded) == ["CREATE ROLE a", "DROP ROLE b"]
    assert statements.parse_arbitrary(base64.b64encode(as_json.encode()).decode()) == [
        "CREATE ROLE a",
        "GRANT x; TO a",
    ]


def test_postgres_blocks_are_not_split() -> None:
    block = "DO $$ BEGIN CREATE ROLE x; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    assert statements.is_multiline_block(block)
    assert not statements.is_multiline_block("GRANT SELECT ON \"END\" TO x; SELECT 'END'")
    assert not statements.is_multiline_block("ALTER TABLE append_only ADD x int")
    assert statements.queries([block, "GRANT a TO b; GRANT c TO d"], keep_blocks=True) == [
        block,
        "GRANT a TO b",
        "GRANT c TO d",
    ]
    assert len(statements.queries([block])) == 3  # split where blocks are not kept (MySQL)


def test_render_substitutes_every_occurrence_textually() -> None:
    text = 'CREATE ROLE "{{name}}" PASSWORD \'{{password}}\'; COMMENT ON ROLE "{{username}}"'
    out = statements.render(text, {"name": "u", "username": "u", "password": "p"})
    assert out == 'CREATE ROLE "u" PASSWORD \'p\'; COMMENT ON ROLE "u"'
    assert statements.clean_list([" a ", "", "b"], drop_empty=True) == ["a", "b"]
    assert statements.clean_list([" a ", ""]) == ["a", ""]


# --------------------------------------------------------------------------- passwords


def test_default_password_policy() -> None:
    seen = {password.generate() for _ in range(200)}
    assert len(seen) == 200
    for pw in seen:
        assert password.satisfies_default_policy(pw), pw
        assert len(pw) == 20 and re.fullmatch(r"[A-Za-z0-9-]{20}", pw)
    assert not password.satisfies_default_policy("a" * 20)
    assert not password.satisfies_default_policy("aA1-" * 4)


# --------------------------------------------------------------------------- usernames


@pytest.mark.parametrize(
    ("template", "limit", "display", "role", "pattern"),
    [
        (
            postgresql.DEFAULT_USERNAME_TEMPLATE,
            63,
            "token",
            "myrolename",
            r"v-token-myrolena-[A-Za-z0-9]{20}-\d{10}",
        ),
        (
            postgresql.DEFAULT_USERNAME_TEMPLATE,
            63,
            "amuchlonger_dispname",
            "role-name-with-dashes",
            r"v-amuchlon-role-nam-[A-Za-z0-9]{20}-\d{10}",
        ),
        (
            mysql.DEFAULT_USERNAME_TEMPLATE,
            32,
            "token",
            "myrolename",
            r"v-token-myrolename-[A-Za-z0-9]{13}",
        ),
        (
            mysql.DEFAULT_USERNAME_TEMPLATE,
            32,
            "amuchlonger_dispname",
            "role-name-with-dashes",
            r"v-amuchlonge-role-name--[A-Za-z0-9]{8}",
        ),
        (mysql.LEGACY_USERNAME_TEMPLATE, 16, "token", "myrolename", r"v-myro-[A-Za-z0-9]{9}"),
    ],
)
def test_vaults_default_username_templates(
    template: str, limit: int, display: str, role: str, pattern: str
) -> None:
    """The examples of Vault's plugin docs, random part aside."""
    name = username.render(template, display, role, limit)
    assert re.fullmatch(pattern, name), name
    assert len(name) <= limit


def test_username_templates_are_validated_and_limited() -> None:
    with pytest.raises(username.UsernameError, match="unable to initialize username template"):
        username.validate("{{ nosuchfunc .RoleName }}")
    username.validate("{{ .RoleName }}-{{ uuid }}")
    with pytest.raises(username.UsernameError, match="at most 16"):
        username.render("{{ .RoleName }}-{{ random 20 }}", "", "role", 16)
    with pytest.raises(username.UsernameError, match="empty"):
        username.render("{{ .DisplayName }}", "", "role", 16)


# --------------------------------------------------------------------------- cron


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("0 * * * *", "2030-01-01 10:15:00", "2030-01-01 11:00:00"),
        ("*/15 * * * *", "2030-01-01 10:15:00", "2030-01-01 10:30:00"),
        ("30 2 * * *", "2030-01-01 10:15:00", "2030-01-02 02:30:00"),
        ("0 0 * * SAT", "2030-01-01 10:15:00", "2030-01-05 00:00:00"),  # 2030-01-05 is a Saturday
        ("0 0 1 jan-mar *", "2030-03-05 00:00:00", "2031-01-01 00:00:00"),
        ("0 12 13 * 5", "2030-01-01 00:00:00", "2030-01-04 12:00:00"),  # Friday OR the 13th
        ("5-10/5 3 * * *", "2030-01-01 03:05:00", "2030-01-01 03:10:00"),
        ("0 0 29 2 *", "2030-01-01 00:00:00", "2032-02-29 00:00:00"),
    ],
)
def test_cron_next(spec: str, after: str, expected: str) -> None:
    assert cron.parse(spec).next_after(_at(after)) == _at(expected)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("* * * *", "expected exactly 5 fields, found 4"),
        ("60 * * * *", "above maximum (59)"),
        ("* * 0 * *", "below minimum (1)"),
        ("*/0 * * * *", "step of range should be a positive number"),
        ("x * * * *", "failed to parse int from x"),
        ("@daily", "expected exactly 5 fields"),
        ("0 0 31 2 *", "never fires"),
    ],
)
def test_cron_errors(spec: str, message: str) -> None:
    with pytest.raises(cron.CronError, match=re.escape(message)):
        cron.parse(spec)


# --------------------------------------------------------------------------- connection strings


def test_postgres_uri_is_split_at_the_last_at_sign() -> None:
    url = "postgresql://{{username}}:{{password}}@db1:5432,db2:6432/app?sslmode=require"
    templated = url.replace("{{username}}", postgresql.go_path_escape("ad@min")).replace(
        "{{password}}", postgresql.go_path_escape("p@ss:w/rd?#%")
    )
    conninfo, params = postgresql.connect_params(templated)
    assert conninfo == ""
    assert params == {
        "user": "ad@min",
        "password": "p@ss:w/rd?#%",
        "host": "db1,db2",
        "port": "5432,6432",
        "dbname": "app",
        "sslmode": "require",
    }
    assert postgresql.connect_params("host=x user=y") == ("host=x user=y", {})
    assert postgresql.go_path_escape("a b/c;d,e?f$&+:=@") == "a%20b%2Fc%3Bd%2Ce%3Ff$&+:=@"


def test_mysql_dsn() -> None:
    dsn = mysql.parse_dsn("{{username}}:{{password}}@tcp(db:3307)/app?timeout=5s&tls=skip-verify")
    assert dsn["user"] == "{{username}}" and dsn["password"] == "{{password}}"
    assert (dsn["net"], dsn["addr"], dsn["dbname"]) == ("tcp", "db:3307", "app")
    assert dsn["params"] == {"timeout": "5s", "tls": "skip-verify"}
    assert mysql.parse_dsn("u:p@/")["addr"] == ""
    assert mysql.parse_dsn("u@unix(/run/mysqld.sock)/")["net"] == "unix"
    with pytest.raises(mysql.DsnError, match="missing the slash"):
        mysql.parse_dsn("root@tcp(127.0.0.1:3306)")


def test_mysql_connection_args_keep_any_password_character() -> None:
    from concurrent.futures import ThreadPoolExecutor

    details = {
        "connection_url": "{{username}}:{{password}}@tcp(10.0.0.1:3307,10.0.0.2)/db",
        "username": "ad:min",
        "password": "p@ss/w:rd",
    }
    plugin = mysql.MySQL("mysql-database-plugin", details, ThreadPoolExecutor(1))
    assert plugin._kwargs["user"] == "ad:min"
    assert plugin._kwargs["password"] == "p@ss/w:rd"
    assert plugin._hosts == [("10.0.0.1", 3307), ("10.0.0.2", 3306)]


def test_redacted_connection_url() -> None:
    assert redact_url("postgresql://u:secret@h:5432/db") == "postgresql://u:xxxxx@h:5432/db"
    templated = "postgresql://{{username}}:{{password}}@h/db"
    assert redact_url(templated) == templated
    assert redact_url("{{username}}:{{password}}@tcp(h:3306)/") == (
        "{{username}}:{{password}}@tcp(h:3306)/"
    )
    assert redact_url("postgresql://h/db") == "postgresql://h/db"


def test_scrub_removes_secrets_and_their_escaped_forms() -> None:
    text = "failed near 's3cr3t/pw' and s3cr3t%2Fpw\n\tagain"
    assert scrub(text, ["s3cr3t/pw", ""]) == "failed near '[password]' and [password] again"


# --------------------------------------------------------------------------- SCRAM


def test_scram_verifier_round_trip() -> None:
    verifier = scram.hash_password("correct horse", salt=b"0123456789abcdef")
    assert verifier.startswith("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$")
    assert scram.verify("correct horse", verifier)
    assert not scram.verify("wrong horse", verifier)
    assert not scram.verify("x", "md5abc")
