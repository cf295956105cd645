"""The reference HiveBox service (FastAPI): configuration from env, switchable upstream client and cache,
Prometheus metrics, S3 store. See docs/hivebox.md."""

from hivepulse.hivebox.app import create_app
from hivepulse.hivebox.config import HiveboxConfig
from hivepulse.hivebox.service import HiveboxService, Snapshot
from hivepulse.hivebox.temperature import average_temperature, parse_temperature, temperature_status

__all__ = [
    "HiveboxConfig", "HiveboxService", "Snapshot", "average_temperature", "create_app", "parse_temperature",
    "temperature_status",
]
