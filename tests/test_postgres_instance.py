"""The production Dagster instance (deploy/dagster.yaml) on the real PostgreSQL at
127.0.0.1:5432: a pipeline run is stored there and its events read back from Postgres."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

DEPLOY = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"
SERVER = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}

pytestmark = pytest.mark.slow


def _admin() -> psycopg2.extensions.connection:
    try:
        con = psycopg2.connect(connect_timeout=5, **SERVER)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is not reachable (.ci/run starts it): {exc}")
    con.autocommit = True
    return con


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A database of this test's own, dropped afterwards."""
    name = f"tieout_dagster_{secrets.token_hex(4)}"
    admin = _admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    for key, value in {"TIEOUT_PG_HOST": "127.0.0.1", "TIEOUT_PG_PORT": "5432",
                       "TIEOUT_PG_DATABASE": name, "TIEOUT_PG_USER": "postgres",
                       "TIEOUT_PG_PASSWORD": "unused-with-trust-auth"}.items():
        monkeypatch.setenv(key, value)
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_a_run_on_the_postgres_instance_is_read_back_from_postgres(
        database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last stage of the nightly run (review state, analysts' snapshot) on the
    production instance: the run and its events are in Postgres, not on local disk."""
    from assets.analyst_snapshot import analyst_snapshot
    from assets.exception_review import exception_review
    from pipelines.resources import TieoutSettings

    from .review.world import make_world

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    world = make_world(tmp_path / "co")
    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.run_storage).__module__.startswith("dagster_postgres")
        result = dg.materialize([exception_review, analyst_snapshot], instance=instance,
                                resources={"tieout": TieoutSettings(
                                    config_path=str(world.config))})
        assert result.success
        [stored] = instance.get_runs()
        assert stored.run_id == result.run_id and stored.is_success
    finally:
        instance.dispose()
    assert not list(home.glob("**/*.db"))  # nothing fell back to local SQLite storage
    with psycopg2.connect(connect_timeout=5, **{**SERVER, "dbname": database}) as con, \
            con.cursor() as cur:
        cur.execute("SELECT run_id, status FROM runs")
        assert cur.fetchall() == [(result.run_id, "SUCCESS")]
        cur.execute("SELECT asset_key FROM event_logs WHERE run_id = %s AND "
                    "dagster_event_type = 'ASSET_MATERIALIZATION' ORDER BY id",
                    [result.run_id])
        assert [row[0] for row in cur.fetchall()] == ['["ops", "exception_review"]',
                                                      '["ops", "analyst_snapshot"]']
