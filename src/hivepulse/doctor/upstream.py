"""The doctor's view of the replay server: counters, the request-interval log, planted boxes and outages."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from hivepulse.opensensemap import JsonObject


@dataclass(frozen=True)
class Upstreamed:
    """One counted upstream request as the replay server saw it (seconds since the last stats reset)."""

    box: str | None
    connection: int | None
    start_s: float
    end_s: float | None
    status: int | None


class Replay:
    """Admin calls on the replay server at ``url`` (none of them is counted as an upstream request)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = httpx.Client(timeout=10.0)

    def close(self) -> None:
        self.client.close()

    def reset(self) -> None:
        self.client.post(self.url + "/_stats/reset").raise_for_status()

    def stats(self) -> JsonObject:
        data: JsonObject = self.client.get(self.url + "/_stats").raise_for_status().json()
        return data

    def total(self) -> int:
        return int(self.stats()["total"])

    def now(self) -> float:
        """Seconds since the last reset, on the replay server's clock (for :meth:`requests` windows)."""
        return float(self.client.get(self.url + "/_requests", params={"since": 1e12}).json()["since_reset_s"])

    def requests(self, since_s: float = 0.0) -> list[Upstreamed]:
        """Counted requests that started at or after ``since_s``."""
        data = self.client.get(self.url + "/_requests", params={"since": since_s}).raise_for_status().json()
        return [Upstreamed(r["box"], r["connection"], float(r["start_s"]),
                           None if r["end_s"] is None else float(r["end_s"]), r["status"])
                for r in data["requests"]]

    def configure(self, **changes: float) -> None:
        self.client.put(self.url + "/_config", json=changes).raise_for_status()

    def plant(self, box_id: str, body: JsonObject) -> None:
        self.client.put(f"{self.url}/_boxes/{box_id}", json=body).raise_for_status()

    def clear_boxes(self) -> None:
        self.client.delete(self.url + "/_boxes").raise_for_status()


__all__ = ["Replay", "Upstreamed"]
