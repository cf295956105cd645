"""Event sources: each turns an outside record of deliveries into a :class:`hivepulse.model.EventSet`.

- :mod:`hivepulse.sources.files`: a directory of CSV / JSON / JSONL event files (``read_events``), one table file
  (``read_table``) and the canonical writer (``write_events``); rules in ``docs/data-model.md``.
- :mod:`hivepulse.sources.git`: a git clone (``read_git``); rules in ``docs/git-source.md``.
- :mod:`hivepulse.sources.sample`: the deterministic sample history (``generate``); ``docs/sample.md``.

Every source reads through the model's one contract (:mod:`hivepulse.model`): text goes through
``validate_cells`` and the integrity rules, computed rows through ``event_set``. Sources import no argparse,
engine or command module (``pyproject.toml`` contracts).
"""
