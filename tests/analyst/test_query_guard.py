"""`tieout query`: one SELECT over the published snapshot; every other statement is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tieout.analyst import QueryRefused, check_query, publish_snapshot, snapshot_path
from tieout.cli.main import main
from tieout.config import load_config

from ..review.world import World, make_world

TABLES = {"marts.fct_exceptions", "marts.dim_customer", "ops.exception_review"}

HOSTILE = [
    "DROP TABLE marts.fct_exceptions",
    "DELETE FROM marts.fct_exceptions",
    "UPDATE marts.fct_exceptions SET rule = 'x'",
    "INSERT INTO marts.fct_exceptions SELECT * FROM marts.fct_exceptions",
    "CREATE TABLE x AS SELECT 1",
    "CREATE VIEW v AS SELECT * FROM marts.fct_exceptions",
    "ALTER TABLE marts.fct_exceptions ADD COLUMN x INT",
    "ATTACH '/tmp/other.duckdb' AS other",
    "DETACH other",
    "COPY marts.fct_exceptions TO '/tmp/out.csv'",
    "EXPORT DATABASE '/tmp/dump'",
    "PRAGMA version",
    "SET memory_limit = '100GB'",
    "RESET memory_limit",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL pragma_version()",
    "CHECKPOINT",
    "VACUUM",
    "BEGIN TRANSACTION",
    "USE other",
    "SELECT 1; DROP TABLE marts.fct_exceptions",
    "SELECT 1; SELECT 2",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_parquet('/tmp/x.parquet')",
    "SELECT * FROM read_json('/tmp/x.json')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM 'data.parquet'",
    "SELECT * FROM glob('/*')",
    "SELECT read_text('/etc/passwd')",
    "SELECT read_blob('/etc/passwd')",
    "SELECT getenv('TIEOUT_ERP_TOKEN')",
    "SELECT current_setting('temp_directory')",
    "SELECT * FROM query('DROP TABLE marts.fct_exceptions')",
    "SELECT * FROM marts.fct_exceptions, read_csv('/etc/passwd')",
    "SELECT * FROM marts.fct_exceptions WHERE rule IN (SELECT * FROM read_csv('/x'))",
    "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x",
    "SELECT * FROM other.main.secrets",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM pragma_database_list()",
    "SELECT * FROM sqlite_scan('/tmp/x.db', 't')",
    "SELECT * FROM raw_billing.invoices",
    "SELECT * FROM information_schema.tables",
    "",
    "   ;  ",
    "SELEC * FROM marts.fct_exceptions",
]


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_statements_are_refused(sql: str) -> None:
    with pytest.raises(QueryRefused) as refused:
        check_query(sql, TABLES)
    message = str(refused.value)
    assert message and "\n" not in message


@pytest.mark.parametrize("sql", [
    "SELECT rule, count(*) FROM marts.fct_exceptions GROUP BY rule",
    "WITH open AS (SELECT * FROM ops.exception_review WHERE status = 'open') "
    "SELECT count(*) FROM open",
    "SELECT e.rule, c.customer_name FROM marts.fct_exceptions e "
    "JOIN marts.dim_customer c ON e.natural_key = 'customer:' || c.customer_id",
    "SELECT 1 UNION ALL SELECT 2",
    "FROM marts.fct_exceptions SELECT exception_id LIMIT 5",
    "SELECT abs(difference_reporting) FROM marts.fct_exceptions ORDER BY 1 DESC",
])
def test_plain_reads_are_accepted(sql: str) -> None:
    check_query(sql, TABLES)


def test_there_are_at_least_thirty_hostile_cases() -> None:
    assert len(HOSTILE) >= 30


@pytest.fixture
def published(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    with world.connect() as con:
        publish_snapshot(con, snapshot_path(load_config(world.config)), "run-1")
    return world


def test_query_runs_on_the_snapshot_with_exact_money(published: World,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    assert main(["query", "SELECT exception_id, difference_reporting FROM "
                 "marts.fct_exceptions WHERE exception_id = 'e1'", "--config",
                 str(published.config), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"exception_id": "e1",
                                                    "difference_reporting": "12.5000"}]
    assert main(["query", "SELECT status, count(*) AS n FROM ops.exception_review "
                 "GROUP BY 1", "--config", str(published.config), "--format", "csv"]) == 0
    assert capsys.readouterr().out == "status,n\nopen,5\n"


def test_refusal_is_one_line_and_exit_2(published: World,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", "DELETE FROM marts.fct_exceptions", "--config",
                 str(published.config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["tieout: error: only SELECT or WITH ... SELECT is allowed, not DELETE"]


def test_no_snapshot_says_what_to_run(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    world = make_world(tmp_path)
    assert main(["query", "SELECT 1", "--config", str(world.config)]) == 1
    assert "no published snapshot at" in capsys.readouterr().err


def test_the_connection_itself_cannot_read_files(published: World) -> None:
    """Behind the guard: even a statement the guard let through could not touch a file."""
    import duckdb

    from tieout.analyst.query import LOCKED_DOWN
    path = snapshot_path(load_config(published.config))
    con = duckdb.connect(str(path), read_only=True, config=dict(LOCKED_DOWN))
    with pytest.raises(duckdb.Error, match="disabled"):
        con.execute("SELECT * FROM read_csv('/etc/hostname')").fetchall()
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true").fetchall()
