"""Revrec connector: revenue schedules with nested lines, page numbers made safe.

``GET /api/v1/revenue_schedules?page=&page_size=&updated_since=`` answers DRF-style
``{"count", "page", "next", "previous", "results"}`` ordered by (``updated_at``, ``id``), each
schedule carrying its ``lines``. Page numbers are positions, and positions move: when a
schedule on a page already read is updated it jumps to the end of the order and every later
schedule moves up one place, so the schedule that was first on the next page slides onto the
page we already have and a client following ``next`` links never sees it. The record lost is
an *unchanged* neighbour, so re-reading "what changed since the run started" alone cannot
bring it back. Hence two mechanisms:

1. **Seek paging.** Instead of walking page numbers across the whole table, every request asks
   for page 1 with ``updated_since`` = the newest ``updated_at`` received so far (inclusive, so
   schedules sharing that timestamp are read again and dropped here by id). A page-1 read
   never straddles a move: a schedule updated behind the frontier jumps ahead of it and is
   read when the frontier gets there, and nothing else shifts past the frontier. ``next``
   links are followed only inside one run of identical ``updated_at`` values longer than a
   page (a bulk update), where the frontier cannot advance; that run is re-walked (at most
   ``max_passes`` times) until a walk brings no schedule not yet seen, which closes the
   skip window a move inside that run could open.
2. **Catch-up passes.** After the scan, the same seek from ``updated_since`` = the moment the
   scan started minus ``catchup_overlap`` (clock skew between us and the source); each later
   pass starts from the moment the pass before it started (minus the overlap), until a pass
   brings no version not yet handed on (at most ``max_passes``; then a warning - the next
   run's watermark covers the rest). It reads only what changed during the run, so it is
   cheap, and it lands the latest version of schedules updated while we paged instead of
   leaving the older one until the next night.

"Seen" is tracked only where needed - ids at the current frontier timestamp, and versions
(id, ``updated_at``) of schedules updated since the run started - so memory stays bounded by
one page plus what changed during the run, never the whole source.

Lines are nested under their schedule without its id; each line is given ``schedule_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from tieout.connectors.base import EARLIEST, Connector, iso_z, parse_timestamp
from tieout.connectors.http import HttpClient
from tieout.extract.batch import Batch

log = logging.getLogger(__name__)

PATH = "/api/v1/revenue_schedules"
MAX_PAGE_SIZE = 500
SCHEDULES = "revrec/revenue_schedules"
LINES = "revrec/revenue_schedule_lines"
_START = EARLIEST  # a NULL updated_at sorts first

_Page = tuple[list[dict[str, Any]], str]  # (schedules, origin)


class RevrecConnector(Connector):
    """Revenue schedules and their lines, as one group (see the module docstring)."""

    system: ClassVar[str] = "revrec"
    groups: ClassVar[dict[str, tuple[str, ...]]] = {SCHEDULES: (SCHEDULES, LINES)}
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE

    def __init__(self, client: HttpClient, *, page_size: int | None = None,
                 catchup_overlap: timedelta = timedelta(seconds=60), max_passes: int = 3,
                 now: Callable[[], datetime] | None = None) -> None:
        if max_passes < 1:
            raise ValueError(f"max_passes must be at least 1, got {max_passes}")
        super().__init__(client, page_size=page_size)
        self.catchup_overlap = catchup_overlap
        self.max_passes = max_passes
        self._now = now if now is not None else (lambda: datetime.now(UTC))

    # ---- the group ------------------------------------------------------------------------
    def _extract(self, group: str, since: datetime | None) -> Iterator[Batch]:
        started = self._now()
        recent_from = started - self.catchup_overlap
        versions: dict[str, datetime] = {}  # id -> updated_at, for schedules updated lately
        for schedules, origin in self._seek(since):
            for schedule in schedules:
                stamp = self._stamp(schedule)
                if stamp >= recent_from:
                    versions[schedule["id"]] = stamp
            yield from self._batches(schedules, origin)
        pass_started = started
        for catchup in range(1, self.max_passes + 1):
            this_started = self._now()
            new = 0
            for schedules, origin in self._seek(pass_started - self.catchup_overlap):
                fresh = [s for s in schedules if versions.get(s["id"]) != self._stamp(s)]
                for schedule in fresh:
                    versions[schedule["id"]] = self._stamp(schedule)
                new += len(fresh)
                if fresh:
                    yield from self._batches(fresh, f"{origin} (catch-up {catchup})")
            if new == 0:
                return
            pass_started = this_started
        log.warning("revrec: schedules were still changing after %d catch-up passes; the "
                    "next run's watermark covers them", self.max_passes)

    def _batches(self, schedules: list[dict[str, Any]], origin: str) -> Iterator[Batch]:
        lines: list[dict[str, Any]] = []
        for schedule in schedules:
            nested = schedule.get("lines") or []
            if not isinstance(nested, list) or not all(isinstance(x, dict) for x in nested):
                raise self.client.error("GET", PATH, f"schedule {schedule['id']}: lines is "
                                        "not a list of objects")
            for line in nested:
                line["schedule_id"] = schedule["id"]
            lines.extend(nested)
        yield self._batch(SCHEDULES, schedules, origin)
        if lines:
            yield self._batch(LINES, lines, f"{origin} (lines)")

    # ---- seek paging --------------------------------------------------------------------------
    def _seek(self, since: datetime | None) -> Iterator[_Page]:
        """Schedules updated at/after ``since``, each version once, by seek paging."""
        frontier = since if since is not None else _START
        at_frontier: set[str] = set()  # ids already handed on whose updated_at == frontier
        while True:
            walk = self._walk(frontier)
            body, origin = next(walk)
            results = body["results"]
            fresh = self._fresh(results, frontier, at_frontier)
            last = self._stamp(results[-1]) if results else frontier
            if last > frontier or not body.get("next"):
                walk.close()
                if fresh or not results:
                    yield fresh, origin
                if not body.get("next"):
                    return
                frontier = last
                at_frontier = {r["id"] for r in results if self._stamp(r) == last}
                continue
            # A full page of one updated_at: page through that run by number.
            at_frontier.update(r["id"] for r in fresh)
            if fresh:
                yield fresh, origin
            final = yield from self._tie_run(walk, frontier, at_frontier)
            if final is None:
                return
            frontier, at_frontier = final

    def _tie_run(self, walk: Iterator[tuple[dict[str, Any], str]], frontier: datetime,
                 at_frontier: set[str],
                 ) -> Generator[_Page, None, tuple[datetime, set[str]] | None]:
        """Follow ``next`` through a run of schedules sharing ``frontier``; re-walk the run
        until a walk brings nothing new. Returns the frontier to seek from next (None = done).
        """
        final: tuple[datetime, set[str]] | None = None
        for body, origin in walk:  # first walk, continued from its page 1
            results = body["results"]
            fresh = self._fresh(results, frontier, at_frontier, repeats=True)
            at_frontier.update(r["id"] for r in fresh if self._stamp(r) == frontier)
            if fresh:
                yield fresh, origin
            last = self._stamp(results[-1]) if results else frontier
            if last > frontier or not body.get("next"):
                if body.get("next"):
                    final = (last, {r["id"] for r in results if self._stamp(r) == last})
                break
        for rewalk in range(2, self.max_passes + 1):
            new = 0
            for body, origin in self._walk(frontier):
                results = body["results"]
                fresh = [r for r in results
                         if self._stamp(r) == frontier and r["id"] not in at_frontier]
                at_frontier.update(r["id"] for r in fresh)
                new += len(fresh)
                if fresh:
                    yield fresh, f"{origin} (re-walk {rewalk})"
                last = self._stamp(results[-1]) if results else frontier
                if last > frontier:
                    break
            if new == 0:
                break
        return final

    def _walk(self, frontier: datetime) -> Generator[tuple[dict[str, Any], str], None, None]:
        """Page 1 from ``frontier``, then the pages its ``next`` links name."""
        path = PATH
        params: dict[str, Any] = {"page": 1, "page_size": self.page_size}
        if frontier != _START:
            params["updated_since"] = iso_z(frontier)
        while True:
            body = self.client.get_json(path, params)
            results = body.get("results")
            if not isinstance(results, list) or not all(
                isinstance(r, dict) and isinstance(r.get("id"), str) for r in results
            ):
                raise self.client.error("GET", path, "the answer has no results list of "
                                        "schedules with ids")
            if not results and body.get("next"):
                # DRF only pages past an empty page when the source is broken; following the
                # link would skip this page's schedules (the billing and ERP connectors refuse
                # the same inconsistency)
                raise self.client.error("GET", path, "an empty page links to a next page")
            since = params.get("updated_since", "start")
            yield body, f"GET {path} page {params.get('page', '?')} (updated_since {since})"
            link = body.get("next")
            if not link:
                return
            path, params = self.client.relative(str(link))

    def _fresh(self, results: list[dict[str, Any]], frontier: datetime,
               at_frontier: set[str], *, repeats: bool = False) -> list[dict[str, Any]]:
        """Results not already handed on (re-read frontier ties and duplicates dropped).

        Re-reading the frontier's ties is how seek paging works, so only drops on pages
        reached by number (``repeats``) count as duplicates the source sent.
        """
        if frontier != _START and any(self._stamp(r) < frontier for r in results):
            raise self.client.error("GET", PATH, "schedules older than updated_since came back;"
                                    " the API does not filter or order by updated_at")
        fresh = [r for r in results
                 if not (self._stamp(r) == frontier and r["id"] in at_frontier)]
        if repeats:
            self.client.count_duplicates(len(results) - len(fresh))
        return fresh

    def _stamp(self, schedule: dict[str, Any]) -> datetime:
        """A schedule's ``updated_at`` as aware UTC (a missing one sorts first)."""
        raw = schedule.get("updated_at")
        if raw is None:
            return _START
        stamp = parse_timestamp(raw)
        if stamp is None:  # seek paging cannot place it
            raise self.client.error("GET", PATH, f"schedule {schedule.get('id')}: updated_at "
                                    f"{raw!r} is not an ISO 8601 timestamp")
        return stamp
