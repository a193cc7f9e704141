"""The journals stage of ``tieout run``: the usage journal assets over every posting day.

One in-process Dagster run over the partition range from the go-live day
(``journal.post_from``, else the first usage partition) to the snapshot's day, as a
single-run backfill: the plan, its blocking balance check, then the posting. Skipped, with
a line saying why, when the ERP is read from files (there is no API to post to).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tieout.config import load_config
from tieout.errors import TieoutError
from tieout.transform.dbt_vars import snapshot_time

from .transform import SILENT, _failure


def posting_enabled(config: Path) -> bool:
    """Whether the configuration has an ERP API to post journals to."""
    erp = load_config(config).sources.get("erp")
    return erp is not None and erp.mode == "api"


def materialize_journals(config: Path, tags: Mapping[str, str] | None = None) -> Any:
    """Plan and post the usage journals of every day up to the snapshot."""
    import dagster as dg

    from assets import RAW_ASSETS, USAGE_PARTITIONS
    from assets.usage_journals import JOURNAL_ASSETS
    from pipelines.resources import SourceSecrets, TieoutSettings

    cfg = load_config(config)
    first = cfg.journal.post_from or USAGE_PARTITIONS.start.date()
    last = snapshot_time(cfg).date()
    keys = [USAGE_PARTITIONS.get_partition_key_for_timestamp(
        dt.datetime.combine(day, dt.time(12), dt.UTC).timestamp()) for day in (first, last)]
    result = dg.materialize(
        [*RAW_ASSETS, *JOURNAL_ASSETS], instance=dg.DagsterInstance.get(),
        resources={"tieout": TieoutSettings(config_path=str(config)),
                   "secrets": SourceSecrets()},
        selection=dg.AssetSelection.groups("journals"), raise_on_error=False,
        run_config=SILENT, tags={**(tags or {}),
                                 "dagster/asset_partition_range_start": keys[0],
                                 "dagster/asset_partition_range_end": keys[1]})
    if not result.success:
        raise TieoutError(f"journal posting failed (run {result.run_id}): {_failure(result)}")
    return result


def journals_line(result: Any) -> str:
    """One line: what the posting run planned and posted."""
    metadata: dict[str, Any] = {}
    for event in result.get_asset_materialization_events():
        metadata.update({k: v.value for k, v in event.materialization.metadata.items()})
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    text = (f"{metadata.get('originals', 0)} new batches, {metadata.get('adjustments', 0)} "
            f"adjustments; {metadata.get('posted', 0)} posted, "
            f"{metadata.get('confirmed_by_lookup', 0)} confirmed by look-up, "
            f"{metadata.get('failed', 0)} failed, {metadata.get('dead_lettered', 0)} "
            "dead-lettered")
    if checks.get("journal_batch_balanced") is False:
        text += "; NOT POSTED: a batch does not balance (journal_batch_balanced)"
    return text
