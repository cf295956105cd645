"""The event store: the normalized model plus raw source ids, each pull's cursors and ETags, in an embedded
SQLite file (default ``data/store/hivepulse.db``) or a PostgreSQL database. Rules: ``docs/store.md``.

For the retro and notebooks::

    from hivepulse.store import read_events, pr_stages, pr_stage_summary
    events = read_events("data/store/hivepulse.db", repository="hive-team/hivebox")   # or None: whole project
    stages = pr_stages("data/store/hivepulse.db", since="2026-04-27", until="2026-05-25")
    pr_stage_summary(stages)
"""

from hivepulse.store.engine import DEFAULT_STORE, Store, StoreLocation, open_store, parse_location
from hivepulse.store.read import (
           STAGES,
           StoreInfo,
           export_events,
           pr_stage_summary,
           pr_stages,
           read_events,
           store_info,
)
from hivepulse.store.schema import SCHEMA_VERSION

__all__ = ["DEFAULT_STORE", "SCHEMA_VERSION", "STAGES", "Store", "StoreInfo", "StoreLocation", "export_events",
           "open_store", "parse_location", "pr_stage_summary", "pr_stages", "read_events", "store_info"]
