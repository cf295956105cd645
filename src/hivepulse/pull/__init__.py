"""Pulling sources into the store: orchestration (:mod:`.run`), the rules that turn source records into
events (:mod:`.derive`) and progress bars (:mod:`.progress`). Rules: ``docs/pull.md``."""
