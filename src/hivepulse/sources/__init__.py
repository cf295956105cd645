"""Event sources: each turns an outside record of deliveries into a :class:`hivepulse.model.EventSet`.

- :mod:`hivepulse.sources.files`: a directory of CSV / JSON / JSONL event files (``read_events``) and the
  canonical writer (``write_events``); rules in ``docs/data-model.md``.
- :mod:`hivepulse.sources.git`: a git clone.
"""
