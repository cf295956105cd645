"""The openSenseMap replay server: deterministic boxes in the real wire shape, a seeded latency/fault model,
request counters, and record/replay of real responses. See docs/sensemap.md."""

from hivepulse.sensemap.boxes import box_ids, format_timestamp, generate_box, is_valid_box_id, parse_timestamp
from hivepulse.sensemap.latency import LatencyModel
from hivepulse.sensemap.replay import load_recording, record
from hivepulse.sensemap.server import SensemapConfig, SensemapState, create_app, serve, start_in_thread

__all__ = [
    "LatencyModel", "SensemapConfig", "SensemapState", "box_ids", "create_app", "format_timestamp",
    "generate_box", "is_valid_box_id", "load_recording", "parse_timestamp", "record", "serve",
    "start_in_thread",
]
