"""The case store's two backends for the tests: a SQLite file, or a fresh PostgreSQL
database from the project's own server (scripts/pg.sh).

PostgreSQL is started once per test session; each test gets its own database, copied from
a template that is migrated once. Without PostgreSQL its tests skip with the reason, and
fail when `CI=true`: CI must run both backends.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from bot.config import ROOT
from bot.store.db import open_database

BACKENDS = ("sqlite", "postgres")


@dataclass
class PostgresServer:
    """The running server and the migrated template every test database is copied from."""

    admin_url: str  # the server's `postgres` database, for CREATE and DROP DATABASE
    template: str
    _numbers = itertools.count(1)

    def url_of(self, database: str) -> str:
        return self.admin_url.rsplit("/", 1)[0] + "/" + database

    def create(self, prefix: str = "t") -> str:
        """A new database with the migrated schema; returns its URL."""
        name = f"{self.template}_{prefix}{next(self._numbers)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return self.url_of(name)

    def create_empty(self, prefix: str = "e") -> str:
        """A new database without any table (from template0, byte-order text)."""
        name = f"{self.template}_{prefix}{next(self._numbers)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 LC_COLLATE "C"'
                         ' LC_CTYPE "C"')
        return self.url_of(name)

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_postgres() -> PostgresServer:
    """Starts the project's PostgreSQL (idempotent) and migrates a template database."""
    started = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start"], capture_output=True,
                             text=True, timeout=60, check=False)
    if started.returncode != 0:
        raise RuntimeError(f"scripts/pg.sh start failed: {started.stderr.strip()}")
    url = started.stdout.strip().splitlines()[-1]
    server = PostgresServer(admin_url=url.rsplit("/", 1)[0] + "/postgres",
                            template=f"hotline_test_{os.getpid()}")
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{server.template}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{server.template}"')

    async def migrate() -> None:
        db = await open_database(server.url_of(server.template))
        await db.close()

    asyncio.run(migrate())
    return server


def stop_postgres(server: PostgresServer) -> None:
    """Drops this session's databases; the server keeps running for the next session."""
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        names = [row[0] for row in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            (server.template.replace("_", r"\_") + "%",))]
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unavailable(reason: str) -> None:
    """PostgreSQL could not be used: a failure in CI, a skip elsewhere."""
    message = f"PostgreSQL unavailable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (CI=true: the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(message + " (set CI=true to make this a failure)")


def store_fields(target: str | Path) -> dict:
    """The `Settings` fields that put the store at `target` (a URL or a SQLite file)."""
    if isinstance(target, str):
        return {"database_url": target}
    return {"db_path": target}
