"""Posting ledger versions to the ERP exactly once.

For each pending or failed version, oldest window first:

1. If an earlier POST of it may have reached the ERP (an attempt left ``in_flight`` by a
   crash, or one whose answer was lost), look its externalId up first; found means posted.
2. Resolve the posting period from the ERP's live periods (a closed month rolls forward to
   the next open one, and the memo says so) and POST once.
3. A created entry is read back by externalId for its internal id; a duplicate answer means
   the ERP already holds it (posted); 429/5xx are retried after a backoff, a lost answer is
   retried only after a look-up; any other rejection, or ``max_attempts`` failures, dead-
   letters the version with the error kept.

Attempts are written to ``ops.journal_attempts`` before each call and closed after it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random as _random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from tieout.config import TieoutConfig
from tieout.connectors.http import SourceError
from tieout.errors import TieoutError
from tieout.money import to_major

from . import ledger
from .erp_api import ErpReference, JournalApi, PostOutcome
from .periods import NoOpenPeriod, posting_period

log = logging.getLogger(__name__)


class UnbalancedEntry(TieoutError):
    """A version whose lines do not sum to zero: never sent to the ERP."""

_POSTED = PostOutcome("posted", None)
ATTEMPTS_PER_RUN = 3  # a version is tried at most this often per run; the rest next run
FAILURES_BEFORE_PAUSE = 5  # versions failing in a row before a run stops posting


@dataclass
class PostingReport:
    """What one posting run did, by outcome."""

    posted: int = 0
    confirmed: int = 0  # found already in the ERP by a look-up or a duplicate answer
    failed: int = 0
    dead_lettered: int = 0
    rolled_forward: int = 0
    paused: bool = False  # stopped early: the ERP failed too many versions in a row
    errors: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {"posted": self.posted, "confirmed": self.confirmed, "failed": self.failed,
                "dead_lettered": self.dead_lettered, "rolled_forward": self.rolled_forward,
                "paused": self.paused, "errors": dict(self.errors)}


def _record_id(record: dict[str, Any] | None) -> int | None:
    """The ERP internal id of a looked-up entry, when it has a numeric one."""
    key = str((record or {}).get("id", ""))
    return int(key) if key.isdigit() else None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Poster:
    """Posts ledger versions through a ``JournalApi``; ``sleep``/``random`` for tests."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cfg: TieoutConfig, api: JournalApi,
                 run_id: str, *, sleep: Callable[[float], None] = time.sleep,
                 random: _random.Random | None = None) -> None:
        self.con, self.cfg, self.api, self.run_id = con, cfg, api, run_id
        self.sleep = sleep
        self.random = random or _random.Random()
        self.report = PostingReport()
        self._reference: ErpReference | None = None
        self._subsidiaries = dict(con.execute(
            "select upper(code), erp_subsidiary_id from raw_reference.legal_entities"
        ).fetchall())

    @property
    def reference(self) -> ErpReference:
        if self._reference is None:
            self._reference = self.api.reference()
        return self._reference

    def post_all(self, batch_ids: list[str] | None = None) -> PostingReport:
        """Post every postable version (or only those of ``batch_ids``).

        When ``FAILURES_BEFORE_PAUSE`` versions in a row end failed, the ERP is down or
        refusing: the run stops there and leaves the rest pending for the next run, instead
        of spending every version's retries against it.
        """
        in_a_row = 0
        for batch in ledger.postable(self.con, batch_ids):
            in_a_row = in_a_row + 1 if self.post_one(batch) == "failed" else 0
            if in_a_row >= FAILURES_BEFORE_PAUSE:
                self.report.paused = True
                log.warning("journal posting paused after %d failed batches in a row",
                            in_a_row)
                break
        return self.report

    def post_one(self, batch: ledger.Batch) -> str:
        """Drive one version to posted, failed or dead_letter; the status it ends in."""
        budget = min(ATTEMPTS_PER_RUN, max(0, self.cfg.journal.max_attempts - batch.attempts))
        if budget == 0:
            self._dead_letter(batch, batch.last_error or "no attempts left")
            return "dead_letter"
        for round_no in range(budget):
            if round_no:
                self.sleep(self._backoff(batch.attempts + round_no))
            spent = batch.attempts + round_no + 1
            outcome = self._settle(batch)
            if outcome is None:
                outcome = self._attempt(batch)
            if outcome.kind == "posted":
                return "posted"
            if outcome.kind == "rejected":
                self._dead_letter(batch, outcome.error or "rejected")
                return "dead_letter"
            if spent >= self.cfg.journal.max_attempts:
                if self._settle(batch) == _POSTED:
                    return "posted"
                self._dead_letter(batch, outcome.error or outcome.kind, count_attempt=True)
                return "dead_letter"
            ledger.set_status(self.con, batch, "failed", _utcnow(), count_attempt=True,
                              error=outcome.error)
        self.report.failed += 1
        return "failed"

    def _settle(self, batch: ledger.Batch) -> PostOutcome | None:
        """Before any new POST: if an earlier one may have landed, ask the ERP.

        None: nothing unsettled, go ahead and post. Otherwise the outcome of the look-up:
        posted (the ERP has it), or unknown when the look-up itself failed (then nothing is
        posted this round: a second POST is only safe once the ERP said "not found").
        """
        if not ledger.has_unsettled_attempt(self.con, batch):
            return None
        try:
            found = self._confirm(batch)
        except SourceError as exc:
            return PostOutcome("unknown", exc.status, f"look-up failed: {exc}")
        return _POSTED if found else None

    # ---- one attempt ----------------------------------------------------------------------
    def _attempt(self, batch: ledger.Batch) -> PostOutcome:
        """POST once: posted, or the failed outcome."""
        try:
            body, period_key, rolled = self._body(batch)
        except NoOpenPeriod as exc:
            return PostOutcome("rejected", None, str(exc))
        except UnbalancedEntry as exc:
            return PostOutcome("rejected", None, str(exc))
        except KeyError as exc:
            return PostOutcome("rejected", None, f"the ERP has no id for {exc.args[0]!r} "
                                                "(account, currency or legal entity)")
        number = ledger.begin_attempt(self.con, batch, "post", self.run_id, _utcnow())
        outcome = self.api.post(body)
        self.report.errors.update([outcome.kind] if outcome.kind != "created" else [])
        if outcome.kind in ("created", "duplicate"):
            erp_id, found = outcome.erp_id, outcome.erp_id is not None
            if not found:  # the answer did not say which entry: ask (a duplicate never says)
                try:
                    record = self.api.lookup(batch.external_id)
                except SourceError:
                    record = None  # committed for sure (2xx or duplicate); the id can wait
                erp_id, found = _record_id(record), record is not None
            if not found and outcome.kind == "duplicate":
                # The ERP says the externalId exists but cannot show it: treat as unknown.
                ledger.end_attempt(self.con, batch, number, "unknown", outcome.status,
                                   outcome.error, _utcnow())
                return PostOutcome("unknown", outcome.status, outcome.error)
            self._posted(batch, erp_id, period_key, body.get("memo"), rolled,
                         attempt=(number, outcome.kind, outcome.status))
            if outcome.kind == "duplicate":
                self.report.confirmed += 1
            else:
                self.report.posted += 1
            return _POSTED
        if outcome.kind == "rejected" and outcome.error and "is closed" in outcome.error:
            self._reference = None  # the period closed since we read it: re-read next round
            outcome = PostOutcome("retryable", outcome.status, outcome.error)
        ledger.end_attempt(self.con, batch, number, outcome.kind, outcome.status,
                           outcome.error, _utcnow())
        return outcome

    def _confirm(self, batch: ledger.Batch) -> bool:
        """Look up a version whose earlier POST may have landed; True if the ERP has it."""
        number = ledger.begin_attempt(self.con, batch, "lookup", self.run_id, _utcnow())
        record = self.api.lookup(batch.external_id)
        ledger.end_attempt(self.con, batch, number, "found" if record else "not_found",
                           200 if record else 404, None, _utcnow())
        # Settle the earlier unknown attempts: the look-up answered for them.
        self.con.execute(
            "update ops.journal_attempts set outcome = 'unknown' where batch_id = ?"
            " and batch_version = ? and action = 'post' and outcome = 'in_flight'",
            [batch.batch_id, batch.batch_version]).fetchall()
        if record is None:
            return False
        period = record.get("postingPeriod") or {}
        key = next((p.key for p in self.reference.periods
                    if str(p.erp_id) == str(period.get("id"))), batch.posting_period)
        self._posted(batch, _record_id(record), key, record.get("memo"),
                     key != batch.accounting_period)
        self.report.confirmed += 1
        return True

    def _posted(self, batch: ledger.Batch, erp_id: int | None, period_key: str,
                memo: str | None, rolled: bool,
                attempt: tuple[int, str, int | None] | None = None) -> None:
        """Mark the version posted (and close its attempt) in one transaction."""
        self.con.execute("begin transaction")
        try:
            if attempt is not None:
                number, outcome, status = attempt
                ledger.end_attempt(self.con, batch, number, outcome, status, None, _utcnow())
            ledger.set_status(self.con, batch, "posted", _utcnow(), count_attempt=True,
                              erp_transaction_id=erp_id, posting_period=period_key, memo=memo)
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise
        if rolled:
            self.report.rolled_forward += 1

    def _dead_letter(self, batch: ledger.Batch, error: str, *,
                     count_attempt: bool = False) -> None:
        ledger.set_status(self.con, batch, "dead_letter", _utcnow(),
                          count_attempt=count_attempt, error=error)
        self.report.dead_lettered += 1
        log.warning("journal batch %s dead-lettered: %s", batch.external_id, error)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(30.0, self.cfg.journal.backoff_seconds * 2.0 ** max(0, attempt - 1))
        return self.random.uniform(ceiling / 2, ceiling)

    # ---- the request body -----------------------------------------------------------------
    def _body(self, batch: ledger.Batch) -> tuple[dict[str, Any], str, bool]:
        ref = self.reference
        target = posting_period(ref.periods, batch.tran_date)
        rolled = target.rolled_from is not None
        tran_date = target.period.start if rolled else batch.tran_date
        window = (f"{batch.window_start.astimezone(dt.UTC):%Y-%m-%d %H:%M}"
                  f"-{batch.window_end.astimezone(dt.UTC):%H:%M} UTC")
        memo = f"tieout usage accrual {batch.legal_entity} {batch.currency} {window}"
        if batch.kind == "adjustment":
            memo += f"; adjustment v{batch.batch_version} for late usage"
        if rolled:
            assert target.rolled_from is not None
            memo += (f"; period {target.rolled_from.key} closed, posted to "
                     f"{target.period.key} (usage dated {batch.tran_date.isoformat()})")
        items = []
        lines = ledger.lines(self.con, batch)
        for line in lines:
            amount = to_major(abs(line.amount_minor), batch.currency)
            side = "debit" if line.amount_minor > 0 else "credit"
            items.append({
                "account": {"id": str(ref.accounts[line.account_number])},
                side: str(amount),
                "memo": f"{line.product_id}: {line.billable_quantity} billable of "
                        f"{line.quantity} units, {line.event_count} events",
            })
        if sum(line.amount_minor for line in lines) != 0 or not items:
            raise UnbalancedEntry(f"{batch.external_id} does not balance; not posted")
        body = {
            "externalId": batch.external_id,
            "tranDate": tran_date.isoformat(),
            "subsidiary": {"id": str(self._subsidiaries[batch.legal_entity])},
            "currency": {"id": str(ref.currencies[batch.currency])},
            "postingPeriod": {"id": str(target.period.erp_id)},
            "memo": memo,
            "line": {"items": items},
        }
        return body, target.period.key, rolled
