"""Settings of a metrics run (:class:`MetricsConfig`): all values, no I/O, checked when built."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

import pandas as pd

from hivepulse.errors import InputError
from hivepulse.metrics import tiers
from hivepulse.vocabulary import normalize_name


@dataclass(frozen=True)
class MetricsConfig:
    """Settings of a metrics run (all values, no I/O).

    - ``environment``: the deployments measured (default ``production``), compared without letter case
      (:func:`hivepulse.vocabulary.normalize_name`: ``Production`` is ``production``).
    - ``tz``: IANA zone for day and week boundaries (weeks start Monday, local time); windows stay UTC.
    - ``tier_edition``: ``"2023"`` or ``"2024"`` (``data/tiers.yaml``).
    - ``incident_max_gap``: an incident without ``deployment_id`` is attributed to the last successful
      deployment finished at most this long before it was opened (inclusive); a ``pd.Timedelta`` or a
      number of days.
    - ``include_first_deployment``: keep changes of deployments flagged ``first_deployment`` in lead time.
    - ``default_incident_environment``: environment of incidents that do not name one (normalized the same way).
    - ``seed``, ``n_boot``, ``alpha``: bootstrap seed, resamples and CI/test level (95 % by default).
    - ``min_effect``: a significant comparison whose relative change ``|delta| / |previous|`` is below this
      is reported as ``unchanged`` (0 = off: significance alone decides).
    """

    environment: str = "production"
    tz: str = "UTC"
    tier_edition: str = "2024"
    incident_max_gap: pd.Timedelta = pd.Timedelta(days=7)
    include_first_deployment: bool = False
    default_incident_environment: str = "production"
    seed: int = 0
    n_boot: int = 2000
    alpha: float = 0.05
    min_effect: float = 0.0

    def __post_init__(self) -> None:
        for name in ("environment", "default_incident_environment"):
            value = getattr(self, name)
            if not isinstance(value, str) or not normalize_name(value):
                raise InputError(f"bad {name.replace('_', ' ')}", value=value, expected="an environment name")
            object.__setattr__(self, name, normalize_name(value))
        try:
            zoneinfo.ZoneInfo(self.tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            raise InputError(
                "unknown time zone", value=self.tz, expected="an IANA name such as Europe/Berlin"
            ) from None
        tiers.edition(self.tier_edition)
        gap: object = self.incident_max_gap
        gap = pd.Timedelta(days=gap) if isinstance(gap, int | float) else pd.Timedelta(gap)
        if gap < pd.Timedelta(0):
            raise InputError("incident max gap must not be negative", value=gap)
        object.__setattr__(self, "incident_max_gap", gap)
        if not 0 < self.alpha < 1:
            raise InputError("alpha must be between 0 and 1", value=self.alpha)
        if self.n_boot < 1:
            raise InputError("n_boot must be at least 1", value=self.n_boot)


__all__ = ["MetricsConfig"]
