"""SuiteQL over the sandbox: the Oracle-isms real clients send, paging rules, errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from seeds.sandbox.erp_api import decimal_text, suiteql_value
from seeds.sandbox.suiteql import SuiteQLError, oracle_format, translate

from .conftest import Client, read_table


def items(client: Client, q: str, **params: Any) -> list[dict[str, Any]]:
    response = client.suiteql(q, **params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    return body["o:errorDetails"][0]


def test_offset_paging_serves_every_row_once(client: Client, company: Path) -> None:
    expected = read_table(company, "erp/transaction").sort("id")
    seen: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = client.suiteql("SELECT * FROM transaction ORDER BY id", limit=10,
                              offset=offset).json()
        assert body["totalResults"] == expected.height
        assert body["offset"] == offset
        assert body["count"] == len(body["items"])
        seen.extend(body["items"])
        rels = {link["rel"]: link["href"] for link in body["links"]}
        assert rels["self"].endswith(f"limit=10&offset={offset}")
        if not body["hasMore"]:
            assert "next" not in rels
            break
        assert rels["next"].endswith(f"limit=10&offset={offset + 10}")
        offset += 10
    assert [item["id"] for item in seen] == [str(i) for i in expected["id"].to_list()]
    for item, row in zip(seen, expected.to_dicts(), strict=True):
        assert item["links"] == []
        assert item["foreigntotal"] == decimal_text(row["foreigntotal"])
        assert item["trandate"] == row["trandate"].isoformat()
        assert all(isinstance(value, str) for key, value in item.items() if key != "links")
        for key, value in row.items():
            if value is None or value == "":
                assert key not in item  # null columns (and Oracle's '') are left out


def test_key_paging_with_fetch_first(client: Client, company: Path) -> None:
    ids: list[int] = []
    last = 0
    while True:
        batch = items(client, f"SELECT id FROM transactionline WHERE id > {last} ORDER BY id "
                              "FETCH FIRST 25 ROWS ONLY")
        if not batch:
            break
        ids.extend(int(item["id"]) for item in batch)
        last = ids[-1]
    assert ids == sorted(read_table(company, "erp/transactionline")["id"].to_list())


def test_values_are_strings_booleans_tf_and_exact_decimals(client: Client) -> None:
    [row] = items(client, "SELECT id, id > 600 AS big, foreigntotal, foreigntotal / 4 AS q,"
                          " createddate, trandate FROM transaction WHERE id = 901")
    assert row["big"] == "T"
    assert row["foreigntotal"] == "12.5"
    assert row["q"] == "3.125"
    assert row["createddate"] == "2024-05-06 12:53:21"
    assert row["trandate"] == "2024-04-15"


def test_filters_joins_and_ordering(client: Client, company: Path) -> None:
    rows = items(client, """
        SELECT t.id, c.entityid, s.name AS sub
        FROM transaction t
        JOIN customer c ON c.id = t.entity
        INNER JOIN subsidiary s ON s.id = t.subsidiary
        WHERE t.type = 'CustInvc' AND t.status IN ('A', 'B')
        ORDER BY c.entityid DESC, t.id""")
    assert len(rows) == 40
    assert [r["entityid"] for r in rows] == sorted((r["entityid"] for r in rows), reverse=True)
    assert {r["sub"] for r in rows} == {"Acme US Inc"}


def test_oracle_outer_join_marks_keep_unmatched_rows(client: Client) -> None:
    outer = items(client, "SELECT t.id, c.entityid FROM transaction t, customer c"
                          " WHERE t.entity = c.id(+) AND t.type = 'Journal' ORDER BY t.id")
    assert [r["id"] for r in outer] == ["901", "902", "903"]
    assert all("entityid" not in r for r in outer)
    inner = items(client, "SELECT t.id FROM transaction t, customer c"
                          " WHERE t.entity = c.id AND t.type = 'Journal'")
    assert inner == []
    # the marked table listed first, with a constant condition that belongs in the ON clause
    rows = items(client, "SELECT c.id, t.id AS tid FROM transaction t, customer c"
                         " WHERE c.id = t.entity(+) AND t.status(+) = 'B' ORDER BY c.id, t.id")
    assert {r["id"] for r in rows} == {str(100 + i) for i in range(1, 13)}


def test_fetch_first_rownum_and_row_numbers(client: Client) -> None:
    top = client.suiteql("SELECT id FROM transaction ORDER BY id DESC FETCH FIRST 3 ROWS ONLY")
    assert [r["id"] for r in top.json()["items"]] == ["903", "902", "901"]
    assert top.json()["totalResults"] == 3
    assert len(items(client, "SELECT id FROM transaction WHERE ROWNUM <= 5")) == 5
    assert len(items(client, "SELECT id FROM transaction WHERE type = 'Journal'"
                             " AND ROWNUM < 3")) == 2
    # Oracle caps rows before sorting: 4 arbitrary rows, then sorted
    capped = items(client, "SELECT id FROM transaction WHERE ROWNUM <= 4 ORDER BY id DESC")
    assert len(capped) == 4
    assert [int(r["id"]) for r in capped] == sorted((int(r["id"]) for r in capped), reverse=True)
    numbered = items(client, "SELECT * FROM (SELECT ROWNUM AS rn, x.id FROM (SELECT id FROM"
                             " transaction ORDER BY id) x) WHERE rn BETWEEN 11 AND 13")
    assert [(r["rn"], r["id"]) for r in numbered] == [("11", "511"), ("12", "512"),
                                                       ("13", "513")]
    bare = items(client, "SELECT ROWNUM, id FROM account WHERE ROWNUM <= 2")
    assert [r["rownum"] for r in bare] == ["1", "2"]


def test_nvl_decode_and_oracle_empty_string(client: Client) -> None:
    rows = items(client, "SELECT id, NVL(memo, 'none') AS memo, NVL2(memo, 'y', 'n') AS has,"
                         " DECODE(memo, NULL, 'null', 'renewal', 'r', 'other') AS d"
                         " FROM transaction WHERE id IN (502, 505) ORDER BY id")
    assert rows[0]["memo"] == "none" and rows[0]["has"] == "n" and rows[0]["d"] == "null"
    assert rows[1]["memo"] == "renewal" and rows[1]["d"] == "r"
    [empty] = items(client, "SELECT COUNT(*) AS n FROM transaction WHERE memo = ''")
    assert empty["n"] == "0"  # '' is NULL: nothing equals it
    [nulls] = items(client, "SELECT COUNT(*) AS n FROM customer WHERE companyname IS NULL")
    assert nulls["n"] == "1"
    [joined] = items(client, "SELECT 'a' || NULL || 'b' AS s FROM dual")
    assert joined["s"] == "ab"


def test_to_char_to_date_to_timestamp(client: Client) -> None:
    [row] = items(client, """SELECT TO_CHAR(trandate, 'MM/DD/YYYY') AS d,
        TO_CHAR(lastmodifieddate, 'YYYY-MM-DD"T"HH24:MI:SS') AS ts,
        TO_CHAR(trandate, 'FMMM/FMDD/YYYY') AS fm, TO_CHAR(id) AS s,
        TO_CHAR(foreigntotal, 'FM999,990.00') AS money
        FROM transaction WHERE id = 901""")
    assert row == {"links": [], "d": "04/15/2024", "ts": "2024-05-06T12:53:21",
                   "fm": "4/15/2024", "s": "901", "money": "12.50"}
    later = items(client, "SELECT id FROM transaction WHERE type = 'Journal'"
                          " AND trandate >= TO_DATE('05/01/2024', 'MM/DD/YYYY') ORDER BY id")
    assert [r["id"] for r in later] == ["902", "903"]
    watermark = items(client, "SELECT id FROM transaction WHERE lastmodifieddate >"
                              " TO_TIMESTAMP('2024-05-06 12:53:21', 'YYYY-MM-DD HH24:MI:SS')"
                              " ORDER BY id")
    assert [r["id"] for r in watermark] == ["902", "903"]
    [iso] = items(client, "SELECT TO_DATE('2024-02-29') AS d, TRUNC(TO_DATE('2024-02-29'), 'MM')"
                          " AS m FROM dual")
    assert iso == {"links": [], "d": "2024-02-29", "m": "2024-02-01"}


def test_builtin_df_quoted_identifiers_cte_and_star_expr(client: Client) -> None:
    [row] = items(client, "SELECT id, BUILTIN.DF(status) AS status, BUILTIN.CF(foreigntotal)"
                          " AS amt, BUILTIN.DF(entity) FROM transaction WHERE id = 901 + 0")
    assert row == {"links": [], "id": "901", "status": "B", "amt": "12.5"}
    rows = items(client, 'SELECT "TRANSACTION"."ID", "Transaction".TranId AS "TRANID"'
                         ' FROM "TRANSACTION" WHERE "TRANSACTION"."ID" = 901')
    assert rows == [{"links": [], "id": "901", "tranid": "JE901"}]
    [count] = items(client, "WITH inv AS (SELECT id, entity FROM transaction"
                            " WHERE type = 'CustInvc') SELECT COUNT(*) AS n FROM inv")
    assert count["n"] == "40"
    star = items(client, "SELECT *, id * 2 AS double_id FROM account ORDER BY id")
    assert star[0] == {"links": [], "id": "1", "acctnumber": "1000", "fullname": "Cash",
                       "accttype": "Bank", "double_id": "2"}
    [unnamed] = items(client, "SELECT COUNT(*), MAX(id) FROM account")
    assert unnamed == {"links": [], "expr1": "6", "expr2": "6"}


@pytest.mark.parametrize("params,fragment", [
    ({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"limit": "x"}, "limit"),
    ({"limit": 10, "offset": 5}, "multiple"), ({"limit": 1000, "offset": 100_000}, "100000"),
    ({"limit": 300, "offset": 99_900}, "page by key"),
])
def test_paging_parameters_are_validated(client: Client, params: dict[str, Any],
                                         fragment: str) -> None:
    detail = error_of(client.suiteql("SELECT id FROM account", **params))
    assert fragment in detail["detail"]


def test_last_allowed_page_is_fine(client: Client) -> None:
    body = client.suiteql("SELECT id FROM account", limit=1000, offset=99_000).json()
    assert body["items"] == [] and body["totalResults"] == 6 and body["hasMore"] is False


@pytest.mark.parametrize("q,fragment", [
    ("SELEC id FROM account", "Invalid search query"),
    ("SELECT id FROM invoices", "Record 'invoices' was not found"),
    ("SELECT * FROM billing.invoices", "was not found"),
    ("SELECT nosuchcolumn FROM account", "nosuchcolumn"),
    ("DELETE FROM account", "only SELECT"),
    ("DROP TABLE account", "only SELECT"),
    ("INSERT INTO account (id) VALUES (9)", "only SELECT"),
    ("UPDATE account SET fullname = 'x'", "only SELECT"),
    ("SELECT 1 FROM dual; SELECT 2 FROM dual", "exactly one"),
    ("SELECT * FROM read_csv('/etc/passwd')", "not a record"),
    ("SELECT current_setting('threads') FROM dual", "Unknown function"),
    ("SELECT BUILTIN.PERIOD('x') FROM dual", "BUILTIN.PERIOD"),
    ("SELECT t.id FROM transaction t, customer c WHERE t.entity = id(+)", "qualified"),
    ("SELECT id FROM transaction WHERE ROWNUM > 2 OR id = 1", "ROWNUM"),
])
def test_bad_queries_are_400_with_a_message(client: Client, q: str, fragment: str) -> None:
    detail = error_of(client.suiteql(q))
    assert detail["o:errorCode"] == "INVALID_SEARCH"
    assert fragment in detail["detail"]


def test_missing_or_malformed_body(client: Client) -> None:
    url = f"{client.url}/services/rest/query/v1/suiteql"
    headers = {"Authorization": "Bearer erp-s3cret-token"}
    for kwargs in ({"data": b"not json"}, {"json": {"query": "SELECT 1 FROM dual"}}, {}):
        response = client.session.post(url, headers=headers, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 400
        assert response.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_CONTENT"


def test_translate_rewrites_rather_than_transpiles() -> None:
    sql = translate("SELECT t.id FROM transaction t, customer c WHERE t.entity = c.id(+)").sql
    assert "LEFT JOIN" in sql
    assert "strftime" in translate("SELECT TO_CHAR(trandate, 'YYYY') FROM transaction").sql.lower()
    assert oracle_format('YYYY-MM-DD"T"HH24:MI:SS.FF3') == "%Y-%m-%dT%H:%M:%S.%g"
    with pytest.raises(SuiteQLError, match="unknown element"):
        oracle_format("YYYY-XX")
    assert suiteql_value(Decimal("100.00")) == "100"
    assert suiteql_value(0.1 + 0.2) == "0.3"
    assert suiteql_value(True) == "T" and suiteql_value("") is None
