"""The pandera gate: a loose ``Batch`` in, typed clean rows and quarantined rows out.

Steps (DESIGN §2, §10 "received = landed + quarantined"):

1. Refuse a batch that cannot be read at all (not a polars DataFrame, not a contract table,
   contract columns missing) with one-line ``GateError``: nothing of it lands.
2. Parse every loose column into its contract type with the strict vectorised parsers of
   ``checks.parse``; a present value that does not parse fails the ``type`` check of its row.
   Columns that already have their contract type are kept as they are.
3. Validate the typed frame with the table's pandera model (``checks.schemas.MODELS``,
   ``lazy=True``) and map its failure cases back to row positions.
4. Quarantine every row with at least one failure, one quarantine row per failed check; a
   row counts once in ``quarantined``.  The rest is ``clean``: exactly the contract schema,
   as ``seeds.tables.conform`` would produce, in batch order.

Quarantine columns: ``table, origin, row`` (Int64 position in the batch), ``check, column,
value`` (the value as received, as text), ``reason`` (one line) and ``record`` (the whole raw
row as JSON).  Check names: ``type``, ``required``, ``enum``, ``currency``, ``date_range``,
``date_order``, ``non_negative``, ``positive``, ``decimal_amount``, ``period_format``,
``exponent`` and ``unique_key_in_batch`` (all copies of a duplicated natural key are
quarantined).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from pandera.config import ValidationDepth, config_context
from pandera.errors import SchemaErrors

from checks.parse import Parsed, as_text, parse_column
from checks.schemas import MODELS
from seeds.tables import KEYS, SCHEMAS
from tieout.errors import TieoutError
from tieout.extract.batch import Batch

QUARANTINE_SCHEMA = pl.Schema({
    "table": pl.String(), "origin": pl.String(), "row": pl.Int64(), "check": pl.String(),
    "column": pl.String(), "value": pl.String(), "reason": pl.String(), "record": pl.String(),
})
KEY_CHECK = "unique_key_in_batch"
_KEY = "__key__"  # the value column of a natural-key failure (its parts joined)
_VALUE_WIDTH = 80  # longest value quoted in a reason


class GateError(TieoutError):
    """A batch the gate cannot read at all; none of it may land."""


@dataclass(frozen=True)
class GateResult:
    """What one batch became: typed rows to land and rows held back with their reasons."""

    table: str
    origin: str
    clean: pl.DataFrame
    quarantine: pl.DataFrame
    received: int
    landed: int
    quarantined: int

    def __post_init__(self) -> None:
        if self.received != self.landed + self.quarantined:
            raise AssertionError(
                f"{self.table} from {self.origin}: received {self.received} != landed "
                f"{self.landed} + quarantined {self.quarantined}")


def gate(batch: Batch) -> GateResult:
    """Type, validate and split one batch into clean and quarantined rows."""
    frame = _readable(batch)
    contract = SCHEMAS[batch.table]
    parsed = {col: parse_column(col, frame.schema[col], dtype) for col, dtype in contract.items()}

    problems = [f"__problem_{i}" for i in range(len(contract))]
    work = frame.select(
        *[p.value.cast(contract[col]).alias(col) for col, p in parsed.items()],
        *[p.problem.alias(name) for p, name in zip(parsed.values(), problems, strict=True)],
    )
    typed = work.select(list(contract))
    type_failures = _type_failures(work, list(contract), problems, parsed)
    model_failures = _model_failures(batch, typed)

    failures = _combine(type_failures, model_failures, list(contract))
    failed_rows = failures.get_column("row").unique().sort()
    clean = typed.filter(~pl.int_range(pl.len(), dtype=pl.Int64).is_in(failed_rows.implode()))
    quarantine = _quarantine(batch, frame, typed, failures, failed_rows)
    return GateResult(
        table=batch.table, origin=batch.origin, clean=clean, quarantine=quarantine,
        received=frame.height, landed=clean.height, quarantined=failed_rows.len(),
    )


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _readable(batch: Batch) -> pl.DataFrame:
    """The batch's frame, or ``GateError`` if it cannot be gated at all."""
    where = f"{_one_line(batch.table)} from {_one_line(batch.origin)}"
    if batch.table not in SCHEMAS:
        raise GateError(f"{where}: not a contract table")
    frame = batch.frame
    if not isinstance(frame, pl.DataFrame):
        raise GateError(f"{where}: expected a polars DataFrame, got {type(frame).__name__}")
    missing = [col for col in SCHEMAS[batch.table] if col not in frame.columns]
    if missing:
        raise GateError(f"{where}: missing contract column(s) {', '.join(missing)}")
    return frame


def _type_failures(work: pl.DataFrame, columns: list[str], problems: list[str],
                   parsed: dict[str, Parsed]) -> pl.DataFrame:
    """(row, column, check, detail) for every present value that did not parse."""
    indexed = work.select(problems).with_row_index("row")
    parts = [
        indexed.filter(pl.col(problem).is_not_null()).select(
            pl.col("row").cast(pl.Int64), column=pl.lit(col), check=pl.lit("type"),
            detail=pl.col(problem))
        for col, problem in zip(columns, problems, strict=True)
        if parsed[col].can_fail
    ]
    return pl.concat(parts) if parts else _empty_failures()


def _empty_failures() -> pl.DataFrame:
    return pl.DataFrame(schema={"row": pl.Int64, "column": pl.String, "check": pl.String,
                                "detail": pl.String})


def _model_failures(batch: Batch, typed: pl.DataFrame) -> pl.DataFrame:
    """The pandera model's failure cases as (row, column, check, detail)."""
    model = MODELS[batch.table]
    schema = model.to_schema()
    try:
        with config_context(validation_enabled=True,
                            validation_depth=ValidationDepth.SCHEMA_AND_DATA):
            model.validate(typed, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return _empty_failures()

    unplaced = cases.filter(pl.col("index").is_null())
    if unplaced.height:  # a schema-level failure: the typed frame itself is wrong
        first = unplaced.row(0, named=True)
        raise GateError(
            f"{_one_line(batch.table)} from {_one_line(batch.origin)}: model "
            f"{model.__name__} failed {first['check']} on {first['column']}: "
            f"{_one_line(first['failure_case'])}")

    descriptions = pl.DataFrame(
        [(name, i, check.description)
         for name, column in schema.columns.items() for i, check in enumerate(column.checks)],
        schema={"column": pl.String, "check_number": pl.Int32, "detail": pl.String},
        orient="row",
    )
    return (
        cases.select(
            row=pl.col("index").cast(pl.Int64),
            column="column",
            check=pl.when(pl.col("check") == "not_nullable").then(pl.lit("required"))
            .otherwise(pl.col("check")),
            check_number="check_number",
        )
        .join(descriptions, on=["column", "check_number"], how="left")
        .with_columns(column=pl.when(pl.col("check") == KEY_CHECK).then(pl.lit(_KEY))
                      .otherwise(pl.col("column")))
        .select("row", "column", "check", "detail")
    )


def _combine(type_failures: pl.DataFrame, model_failures: pl.DataFrame,
             columns: list[str]) -> pl.DataFrame:
    """All failures in row order; a value that failed ``type`` is not also reported missing."""
    model_failures = model_failures.join(
        type_failures.select("row", "column"), on=["row", "column"], how="anti")
    position = {col: i for i, col in enumerate([*columns, _KEY])}
    return (
        pl.concat([type_failures, model_failures.select(type_failures.columns)])
        .with_columns(position=pl.col("column").replace_strict(position, return_dtype=pl.Int64))
        .sort("row", "position", maintain_order=True)
        .drop("position")
    )


def _quoted(value: pl.Expr) -> pl.Expr:
    """A value for a one-line reason: quoted, control characters escaped, long ones cut."""
    text = (value.str.replace_all("\n", r"\n", literal=True)
            .str.replace_all("\r", r"\r", literal=True)
            .str.replace_all("\t", r"\t", literal=True)
            .str.replace_all(r"[\x00-\x1f\x7f\x85\x{2028}\x{2029}]", "?"))
    cut = pl.when(text.str.len_chars() > _VALUE_WIDTH).then(
        text.str.slice(0, _VALUE_WIDTH - 1) + pl.lit("…")).otherwise(text)
    return pl.when(value.is_null()).then(pl.lit("null")).otherwise(
        pl.lit("'") + cut + pl.lit("'"))


def _quarantine(batch: Batch, frame: pl.DataFrame, typed: pl.DataFrame, failures: pl.DataFrame,
                failed_rows: pl.Series) -> pl.DataFrame:
    """One row per failure, with the raw value, a one-line reason and the raw record."""
    if failures.is_empty():
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    contract = list(SCHEMAS[batch.table])
    keys = list(KEYS[batch.table])
    rows = pl.int_range(pl.len(), dtype=pl.Int64)
    raw = (
        frame.with_columns(__row=rows)
        .filter(pl.col("__row").is_in(failed_rows.implode()))
    )
    texts = raw.select(
        pl.col("__row").alias("row"),
        *[as_text(col, frame.schema[col]).alias(col) for col in contract],
    ).with_columns(pl.concat_str([pl.col(k).fill_null("null") for k in keys], separator=", ")
                   .alias(_KEY))
    values = texts.unpivot(index="row", variable_name="column", value_name="value")
    records = raw.select(
        pl.col("__row").alias("row"),
        record=pl.struct(pl.exclude("__row")).struct.json_encode(),
    )
    counts = (
        typed.with_columns(__row=rows, copies=pl.len().over(keys))
        .filter(pl.col("__row").is_in(failed_rows.implode()))
        .select(pl.col("__row").alias("row"), "copies")
    )
    label = pl.when(pl.col("column") == _KEY).then(pl.lit(", ".join(keys))) \
        .otherwise(pl.col("column"))
    value = pl.col("value")
    blank = value.is_null() | (value.str.strip_chars() == "")
    reason = (
        pl.when(pl.col("check") == KEY_CHECK)
        .then(pl.format("{} {} occurs {} times in this batch", label, _quoted(value),
                        pl.col("copies")))
        .when((pl.col("check") == "required") & blank & value.is_null())
        .then(pl.format("{} is required but missing", label))
        .when((pl.col("check") == "required") & blank)
        .then(pl.format("{} is required but empty", label))
        .otherwise(pl.format("{} {} {}", label, _quoted(value),
                             pl.col("detail").fill_null(pl.col("check"))))
    )
    return (
        failures.join(values, on=["row", "column"], how="left", maintain_order="left")
        .join(counts, on="row", how="left", maintain_order="left")
        .join(records, on="row", how="left", maintain_order="left")
        .select(
            table=pl.lit(batch.table), origin=pl.lit(batch.origin), row="row", check="check",
            column=label, value="value", reason=reason, record="record",
        )
        .cast(QUARANTINE_SCHEMA)
    )


__all__ = ["QUARANTINE_SCHEMA", "GateError", "GateResult", "gate"]
