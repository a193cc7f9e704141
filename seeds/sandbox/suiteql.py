"""Translate SuiteQL (NetSuite's Oracle-flavoured SQL) into DuckDB SQL over the ERP tables.

A plain ``sqlglot.transpile(read="oracle", write="duckdb")`` silently changes the meaning of
queries real clients send: it drops Oracle ``(+)`` outer-join marks (turning outer joins into
inner joins), drops ``TO_CHAR`` format models, leaves ``ROWNUM`` and ``BUILTIN.DF`` for DuckDB
to choke on, and keeps ``''`` as an empty string where Oracle means NULL. So the query is parsed
with sqlglot (Oracle dialect) and the tree is rewritten before DuckDB SQL is generated, with
sqlglot's "unsupported" warnings promoted to errors so nothing else is silently dropped:

- Only one SELECT/WITH query is accepted; tables resolve to the ERP tables by bare name
  (transaction, transactionline, customer, subsidiary, accountingperiod, account, currency,
  plus ``dual``) or to CTEs; anything else is "Record 'x' was not found".
- Identifiers are case-insensitive as in NetSuite (``"TRANSACTION"."ID"`` works); result keys
  are lower-case aliases; an unaliased expression is named ``expr1``, ``expr2``... like NetSuite.
- ``BUILTIN.DF(x)`` and ``BUILTIN.CF(x)`` return ``x`` itself: the sandbox does not resolve
  display names, so ``BUILTIN.DF(status)`` is the status code (e.g. ``B``) and DF of a foreign
  key is the key (join to the referenced table for names). Other ``BUILTIN.*`` are errors.
- ``(+)`` marks become explicit LEFT JOINs (columns carrying ``(+)`` must be qualified; the
  mark may not sit under OR, as in Oracle). Written per query block, keeping join order valid.
- ``ROWNUM``: in WHERE, ``ROWNUM <= n``/``< n``/``= 1``/``BETWEEN 1 AND n`` (top-level AND
  terms) cap the rows *before* ORDER BY, as in Oracle (``LIMIT`` without ORDER BY, ``QUALIFY
  row_number() OVER () <= n`` with it); in SELECT it is ``row_number() OVER ()``.
- ``FETCH FIRST n ROWS ONLY`` / ``OFFSET n ROWS`` become LIMIT/OFFSET.
- ``NVL``, ``NVL2``, ``DECODE`` (NULL matches NULL), ``MINUS``, ``TO_NUMBER`` (exact decimal),
  ``TRUNC(date[, fmt])``, ``CAST(x AS NUMBER)`` (exact decimal) keep Oracle meaning.
- ``TO_DATE``/``TO_TIMESTAMP``/``TO_CHAR`` with Oracle format models (YYYY, MM, DD, HH24, MI,
  SS, MON, FF, FM, "quoted text", ...) become ``strptime``/``strftime``; without a format a
  string is read as ISO ``YYYY-MM-DD[ HH24:MI:SS]`` or ``MM/DD/YYYY``.
- Oracle's empty string is NULL: ``''`` literals become NULL and ``||`` skips NULLs.
- Functions outside sqlglot's known set must be on a small allow-list; the database runs with
  external access disabled, so no query can reach the host.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.oracle import Oracle
from sqlglot.errors import ErrorLevel, SqlglotError
from sqlglot.tokens import TokenType

from seeds.sandbox.store import ERP_TABLES


class SuiteQLError(ValueError):
    """The query cannot be run; the message says why (shown to the client as ``detail``)."""


_ORACLE = Oracle()
# sqlglot converts TO_DATE/TO_TIMESTAMP/TO_CHAR format models while parsing and loses quoted
# text ("T") on the way; its compiled parser cannot be subclassed, so these calls are renamed
# token-wise before parsing and rewritten from their raw format model afterwards.
_RAW_FUNCTIONS = {"TO_DATE": "ora_to_date", "TO_TIMESTAMP": "ora_to_timestamp",
                  "TO_CHAR": "ora_to_char"}


def _protect_raw_functions(query: str) -> str:
    tokens = _ORACLE.tokenize(query)
    pieces: list[str] = []
    cursor = 0
    for token, following in itertools.pairwise(tokens):
        name = token.text.upper()
        if token.token_type == TokenType.VAR and name in _RAW_FUNCTIONS and (
            following.token_type == TokenType.L_PAREN
        ):
            pieces.append(query[cursor:token.start])
            pieces.append(_RAW_FUNCTIONS[name])
            cursor = token.end + 1
    pieces.append(query[cursor:])
    return "".join(pieces)


@dataclass(frozen=True)
class Translation:
    """DuckDB SQL for a SuiteQL query, and the ERP table its outer FROM reads (if plain)."""

    sql: str
    main_table: str | None


TABLES = frozenset({*ERP_TABLES, "dual"})
_FORBIDDEN = (
    exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Merge, exp.Command, exp.Set,
    exp.Into, exp.Alter, exp.TruncateTable, exp.Transaction, exp.Commit, exp.Rollback, exp.Use,
)
_ALLOWED_ANONYMOUS = frozenset({
    "ora_to_date", "ora_to_timestamp", "ora_to_char", "trunc", "lpad", "rpad", "ltrim",
    "rtrim", "instr",
    "ascii", "chr", "sign", "mod", "power", "round", "floor", "ceil", "abs", "sqrt", "exp",
    "ln", "length", "lower", "upper", "replace", "translate", "substr", "nullif", "coalesce",
    "greatest", "least", "last_day", "add_months", "regexp_like", "regexp_substr",
    "regexp_replace", "initcap", "concat",
})
_DATE_DEFAULTS = ["%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M:%S"]
_TS_DEFAULTS = [
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y",
]
# Oracle datetime format elements -> strftime; the second value is the FM (no padding) form.
_FORMAT_ELEMENTS: dict[str, tuple[str, str] | None] = {
    "SYYYY": ("%Y", "%Y"), "YYYY": ("%Y", "%Y"), "RRRR": ("%Y", "%Y"), "IYYY": ("%G", "%G"),
    "YY": ("%y", "%-y"), "RR": ("%y", "%-y"),
    "MONTH": ("%B", "%B"), "MON": ("%b", "%b"), "MM": ("%m", "%-m"),
    "DAY": ("%A", "%A"), "DDD": ("%j", "%-j"), "DD": ("%d", "%-d"), "DY": ("%a", "%a"),
    "D": ("%u", "%u"),
    "HH24": ("%H", "%-H"), "HH12": ("%I", "%-I"), "HH": ("%I", "%-I"),
    "MI": ("%M", "%-M"), "SSSSS": None, "SS": ("%S", "%-S"),
    "FF6": ("%f", "%f"), "FF3": ("%g", "%g"), "FF": ("%f", "%f"),
    "A.M.": ("%p", "%p"), "P.M.": ("%p", "%p"), "AM": ("%p", "%p"), "PM": ("%p", "%p"),
    "IW": ("%V", "%-V"), "WW": ("%U", "%-U"), "Q": None, "J": None, "TZH": None, "TZM": None,
    "TZR": None, "YYY": None, "Y": None,
}
_ELEMENTS_BY_LENGTH = sorted(_FORMAT_ELEMENTS, key=len, reverse=True)
_SEPARATORS = set(" -/,.;:")
_NUMBER_FORMAT = re.compile(r"^(FM)?[$]?[90,G]*([.D][90]*)?$", re.IGNORECASE)
_TRUNC_UNITS = {
    "year": ("SYYYY", "YYYY", "YEAR", "SYEAR", "YYY", "YY", "Y"),
    "quarter": ("Q",),
    "month": ("MONTH", "MON", "MM", "RM"),
    "week": ("WW", "IW", "W"),
    "day": ("DDD", "DD", "J", "DAY", "DY", "D"),
    "hour": ("HH", "HH12", "HH24"),
    "minute": ("MI",),
}
_TRUNC_UNIT = {oracle: unit for unit, names in _TRUNC_UNITS.items() for oracle in names}


def oracle_format(model: str) -> str:
    """An Oracle datetime format model as a strftime/strptime format."""
    out: list[str] = []
    fill_mode = False
    i = 0
    upper = model.upper()
    while i < len(model):
        char = model[i]
        if char == '"':
            end = model.find('"', i + 1)
            if end < 0:
                raise SuiteQLError(f"unterminated quoted text in format model '{model}'")
            out.append(model[i + 1:end].replace("%", "%%"))
            i = end + 1
            continue
        if upper.startswith("FM", i):
            fill_mode = not fill_mode
            i += 2
            continue
        if char in _SEPARATORS:
            out.append(char)
            i += 1
            continue
        element = next((name for name in _ELEMENTS_BY_LENGTH if upper.startswith(name, i)), None)
        if element is None:
            raise SuiteQLError(f"format model '{model}' has an unknown element at '{model[i:]}'")
        mapped = _FORMAT_ELEMENTS[element]
        if mapped is None:
            raise SuiteQLError(
                f"format element '{element}' in '{model}' is not supported by the sandbox"
            )
        out.append(mapped[1] if fill_mode else mapped[0])
        i += len(element)
    return "".join(out)


def _string_arg(node: exp.Expr, function: str) -> str:
    if not isinstance(node, exp.Literal) or not node.is_string:
        raise SuiteQLError(f"{function}: the format model must be a string literal")
    return str(node.this)


def _call(name: str, *args: exp.Expr) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _formats(values: list[str]) -> exp.Expr:
    return exp.Array(expressions=[exp.Literal.string(value) for value in values])


def _is_rownum(node: exp.Expr) -> bool:
    return isinstance(node, exp.Column) and not node.table and node.name.lower() == "rownum"


def _owner(node: exp.Expr) -> exp.Expr | None:
    return node.find_ancestor(exp.Select)


def _conjuncts(condition: exp.Expr) -> list[exp.Expr]:
    condition = condition.unnest()
    if isinstance(condition, exp.And):
        return [part.unnest() for part in condition.flatten()]
    return [condition]


def _row_number() -> exp.Expr:
    return exp.Window(this=exp.RowNumber())


# ---- rewrites ----------------------------------------------------------------------------------
def _check_statement(root: exp.Expr) -> None:
    if not isinstance(root, exp.Query):
        raise SuiteQLError("only SELECT queries are allowed in SuiteQL")
    bad = root.find(*_FORBIDDEN)
    if bad is not None:
        raise SuiteQLError(f"only SELECT queries are allowed in SuiteQL (found {bad.key.upper()})")


def _name_expressions(root: exp.Query) -> None:
    """Give unaliased computed select items NetSuite's names: expr1, expr2, ..."""
    counter = 0
    for item in list(root.selects):
        if isinstance(item, exp.Alias | exp.Star) or (
            isinstance(item, exp.Column) and not _is_rownum(item)
        ):
            continue
        if _is_rownum(item):
            item.replace(exp.alias_(item.copy(), "rownum"))
            continue
        counter += 1
        item.replace(exp.alias_(item.copy(), f"expr{counter}"))


def _lowercase_identifiers(root: exp.Expr) -> None:
    for identifier in root.find_all(exp.Identifier):
        identifier.set("this", str(identifier.this).lower())
        identifier.set("quoted", False)


def _resolve_tables(root: exp.Expr) -> str | None:
    cte_names = {cte.alias_or_name for cte in root.find_all(exp.CTE)}
    for table in root.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise SuiteQLError(f"Search error occurred: '{table.sql('oracle')}' is not a record")
        name = table.name
        if table.args.get("db") or table.args.get("catalog"):
            raise SuiteQLError(
                f"Search error occurred: Record '{table.sql('oracle')}' was not found."
            )
        if name in cte_names:
            continue
        if name not in TABLES:
            raise SuiteQLError(f"Search error occurred: Record '{name}' was not found.")
        table.set("db", exp.to_identifier("erp"))
    if isinstance(root, exp.Select):
        source = root.args.get("from_")
        outer = source.this if source is not None else None
        if isinstance(outer, exp.Table) and outer.args.get("db") is not None and (
            outer.name in ERP_TABLES
        ):
            return outer.name
    return None


def _rewrite_builtins(root: exp.Expr) -> None:
    for dot in list(root.find_all(exp.Dot)):
        head = dot.this
        is_builtin = isinstance(head, exp.Identifier | exp.Column | exp.Var) and (
            head.name.lower() == "builtin"
        )
        if not is_builtin:
            continue
        call = dot.expression
        name = call.name.lower() if isinstance(call, exp.Anonymous) else ""
        if name not in {"df", "cf"} or not call.expressions:
            raise SuiteQLError(f"BUILTIN.{call.name.upper()} is not supported by the sandbox")
        dot.replace(call.expressions[0].copy())


def _eliminate_join_marks(select: exp.Select) -> None:
    where = select.args.get("where")
    if where is None:
        return
    marked_columns = [
        column for column in where.find_all(exp.Column)
        if column.args.get("join_mark") and _owner(column) is select
    ]
    if not marked_columns:
        return
    joins: list[exp.Join] = list(select.args.get("joins") or [])
    if any(join.args.get("on") or join.args.get("using") or join.side or join.kind
           for join in joins):
        raise SuiteQLError(
            "the (+) operator cannot be combined with JOIN syntax in one query block"
        )
    source = select.args.get("from_")
    if source is None:
        raise SuiteQLError("the (+) operator needs tables in FROM")
    sources: dict[str, exp.Expr] = {source.this.alias_or_name: source.this}
    for join in joins:
        sources[join.this.alias_or_name] = join.this
    on_conditions: dict[str, list[exp.Expr]] = {}
    remaining: list[exp.Expr] = []
    for condition in _conjuncts(where.this):
        marks = [c for c in condition.find_all(exp.Column)
                 if c.args.get("join_mark") and _owner(c) is select]
        if not marks:
            remaining.append(condition)
            continue
        if condition.find(exp.Or) is not None:
            raise SuiteQLError("a condition with the (+) operator cannot use OR")
        tables = {column.table for column in marks}
        if "" in tables:
            raise SuiteQLError("columns marked with (+) must be qualified with their table alias")
        if len(tables) > 1:
            raise SuiteQLError("one condition cannot outer-join more than one table with (+)")
        table = tables.pop()
        if table not in sources:
            raise SuiteQLError(f"(+) refers to '{table}', which is not in this FROM clause")
        for column in marks:
            column.set("join_mark", False)
        on_conditions.setdefault(table, []).append(condition.copy())
    placed = [name for name in sources if name not in on_conditions]
    if not placed:
        raise SuiteQLError("every table in FROM is outer-joined with (+); one must not be")
    pending = [name for name in sources if name in on_conditions]
    order = list(placed)
    while pending:
        for name in pending:
            needs = {
                column.table for condition in on_conditions[name]
                for column in condition.find_all(exp.Column)
                if column.table in sources and column.table != name
            }
            if needs <= set(order):
                order.append(name)
                pending.remove(name)
                break
        else:
            raise SuiteQLError("the (+) conditions form a cycle between tables")
    new_joins = []
    for name in order[1:]:
        node = sources[name].copy()
        if name in on_conditions:
            new_joins.append(exp.Join(this=node, on=exp.and_(*on_conditions[name]), side="LEFT"))
        else:
            new_joins.append(exp.Join(this=node, kind="CROSS"))
    select.set("from_", exp.From(this=sources[order[0]].copy()))
    select.set("joins", new_joins)
    select.set("where", exp.Where(this=exp.and_(*remaining)) if remaining else None)


def _rownum_bound(condition: exp.Expr) -> int | None:
    """Rows kept by a ROWNUM predicate (None = unbounded); SuiteQLError when not supported."""
    def number(node: exp.Expr) -> float:
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            return -float(node.this.this)
        if isinstance(node, exp.Literal) and not node.is_string:
            return float(node.this)
        raise SuiteQLError("ROWNUM can only be compared with a number")

    if isinstance(condition, exp.Between) and _is_rownum(condition.this):
        low, high = number(condition.args["low"]), number(condition.args["high"])
        return 0 if low > 1 or high < low else int(high)
    flips: dict[type[exp.Expr], type[exp.Expr]] = {
        exp.LT: exp.GT, exp.LTE: exp.GTE, exp.GT: exp.LT, exp.GTE: exp.LTE, exp.EQ: exp.EQ,
    }
    kind: type[exp.Expr] = type(condition)
    if kind not in flips:
        raise SuiteQLError("ROWNUM is only supported in comparisons like ROWNUM <= n")
    left, right = condition.this, condition.expression
    if _is_rownum(right) and not _is_rownum(left):
        left, right, kind = right, left, flips[kind]
    if not _is_rownum(left):
        raise SuiteQLError("ROWNUM is only supported in comparisons like ROWNUM <= n")
    n = number(right)
    if kind is exp.LTE:
        return max(0, int(n))
    if kind is exp.LT:
        return max(0, int(-(-n // 1)) - 1)
    if kind is exp.EQ:
        return 1 if n == 1 else 0
    if kind is exp.GT:
        return None if n < 1 else 0
    return None if n <= 1 else 0  # GTE


def _has_aggregate(select: exp.Select) -> bool:
    if select.args.get("group") or select.args.get("distinct") or select.args.get("having"):
        return True
    return any(
        _owner(agg) is select and agg.find_ancestor(exp.Window) is None
        for item in select.expressions for agg in item.find_all(exp.AggFunc)
    )


def _rewrite_rownum(select: exp.Select) -> None:
    bound: int | None = None
    limited = False
    where = select.args.get("where")
    if where is not None and any(_is_rownum(c) and _owner(c) is select
                                 for c in where.find_all(exp.Column)):
        remaining = []
        for condition in _conjuncts(where.this):
            if not any(_is_rownum(c) and _owner(c) is select
                       for c in condition.find_all(exp.Column)):
                remaining.append(condition)
                continue
            rows = _rownum_bound(condition)
            if rows is not None:
                bound = rows if bound is None else min(bound, rows)
                limited = True
            elif condition.find(exp.Or) is not None:
                raise SuiteQLError("ROWNUM cannot be used under OR")
        select.set("where", exp.Where(this=exp.and_(*remaining)) if remaining else None)
    for column in list(select.find_all(exp.Column)):
        if _is_rownum(column) and _owner(column) is select:
            column.replace(_row_number())
    if not limited or bound is None:
        return
    if _has_aggregate(select):
        raise SuiteQLError(
            "ROWNUM in WHERE together with GROUP BY, DISTINCT or aggregates is not supported "
            "by the sandbox; filter ROWNUM in an outer query"
        )
    if select.args.get("order") is not None or select.args.get("offset") is not None:
        cap: exp.Expr = exp.LTE(this=_row_number(), expression=exp.Literal.number(bound))
        existing = select.args.get("qualify")
        if existing is not None:
            cap = exp.and_(existing.this, cap)
        select.set("qualify", exp.Qualify(this=cap))
        return
    limit = select.args.get("limit")
    if limit is not None:
        count = limit.args.get("expression") or limit.args.get("count")
        if isinstance(count, exp.Literal) and not count.is_string:
            bound = min(bound, int(float(count.this)))
    select.set("limit", exp.Limit(expression=exp.Literal.number(bound)))


def _rewrite_functions(root: exp.Expr) -> None:
    for call in list(root.find_all(exp.Anonymous)):
        if str(call.this).lower() not in _ALLOWED_ANONYMOUS:
            raise SuiteQLError(f"Unknown function {str(call.this).upper()}")
    # children first: a rewritten parent must wrap already-rewritten arguments
    kinds = (exp.Anonymous, exp.DateTrunc, exp.ToNumber, exp.DPipe, exp.DataType, exp.Literal)
    for node in reversed(list(root.find_all(*kinds, bfs=False))):
        replacement = _rewrite_one(node)
        if replacement is not None:
            node.replace(replacement)


def _rewrite_one(node: exp.Expr) -> exp.Expr | None:
    if isinstance(node, exp.Literal):
        return exp.Null() if node.is_string and node.this == "" else None
    if isinstance(node, exp.DPipe):
        return _call("concat", node.this, node.expression)
    if isinstance(node, exp.DataType):
        if node.this == exp.DataType.Type.DECIMAL and not node.expressions:
            return exp.DataType.build("DECIMAL(38, 10)")
        return None
    if isinstance(node, exp.ToNumber):
        if node.args.get("format") is not None:
            raise SuiteQLError("TO_NUMBER with a format model is not supported by the sandbox")
        return exp.cast(node.this, exp.DataType.build("DECIMAL(38, 10)"), copy=False)
    if isinstance(node, exp.DateTrunc):
        unit = node.args.get("unit")
        raw = unit.name.upper() if isinstance(unit, exp.Literal | exp.Var) else ""
        if raw not in _TRUNC_UNIT:
            raise SuiteQLError(f"TRUNC: unsupported format '{raw}'")
        unit_name = _TRUNC_UNIT[raw]
        truncated = _call("date_trunc", exp.Literal.string(unit_name), node.this)
        if unit_name in {"hour", "minute"}:
            return truncated
        return exp.cast(truncated, "DATE", copy=False)
    assert isinstance(node, exp.Anonymous)
    name = str(node.this).lower()
    args = node.expressions
    if name == "trunc" and len(args) == 1:
        return exp.cast(_call("date_trunc", exp.Literal.string("day"), args[0]), "DATE", copy=False)
    if name in {"ora_to_date", "ora_to_timestamp"}:
        name = name.removeprefix("ora_")
        if not 1 <= len(args) <= 2:
            raise SuiteQLError(f"{name.upper()} takes a value and an optional format model")
        target = "DATE" if name == "to_date" else "TIMESTAMP"
        if len(args) == 2:
            fmt = oracle_format(_string_arg(args[1], name.upper()))
            return exp.cast(_call("strptime", args[0], exp.Literal.string(fmt)), target, copy=False)
        if isinstance(args[0], exp.Literal) and args[0].is_string:
            defaults = _DATE_DEFAULTS if target == "DATE" else _TS_DEFAULTS
            return exp.cast(_call("strptime", args[0], _formats(defaults)), target, copy=False)
        return exp.cast(args[0], target, copy=False)
    if name == "ora_to_char":
        if len(args) == 1:
            return exp.cast(args[0], "VARCHAR", copy=False)
        if len(args) != 2:
            raise SuiteQLError("TO_CHAR takes a value and an optional format model")
        model = _string_arg(args[1], "TO_CHAR")
        if _NUMBER_FORMAT.match(model) and any(ch in model for ch in "90"):
            decimals = re.split(r"[.Dd]", model, maxsplit=1)
            places = len(decimals[1]) if len(decimals) == 2 else 0
            grouping = "," if ("," in model or "G" in model.upper()) else ""
            return _call("format", exp.Literal.string(f"{{:{grouping}.{places}f}}"), args[0])
        return _call("strftime", args[0], exp.Literal.string(oracle_format(model)))
    return None


# ---- entry point --------------------------------------------------------------------------------
def translate(query: str) -> Translation:
    """SuiteQL ``query`` as DuckDB SQL over the ``erp`` schema; SuiteQLError when it can't run."""
    if not query or not query.strip():
        raise SuiteQLError("the query 'q' is empty")
    try:
        statements = [
            s for s in sqlglot.parse(_protect_raw_functions(query), read=_ORACLE) if s is not None
        ]
    except SqlglotError as error:
        raise SuiteQLError(f"Invalid search query: {_one_line(str(error))}") from None
    if len(statements) != 1:
        raise SuiteQLError("send exactly one SELECT statement")
    root = statements[0]
    _check_statement(root)
    assert isinstance(root, exp.Query)
    _name_expressions(root)
    _lowercase_identifiers(root)
    main_table = _resolve_tables(root)
    _rewrite_builtins(root)
    for select in list(root.find_all(exp.Select)):
        _eliminate_join_marks(select)
    for select in list(root.find_all(exp.Select)):
        _rewrite_rownum(select)
    _rewrite_functions(root)
    try:
        sql = root.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE, identify=True)
    except SqlglotError as error:
        raise SuiteQLError(f"Invalid search query: {_one_line(str(error))}") from None
    return Translation(sql=sql, main_table=main_table)


def _one_line(message: str) -> str:
    return " ".join(re.sub(r"\x1b\[[0-9;]*m", "", message).split())
