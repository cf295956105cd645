"""The openSenseMap replay server: a real HTTP server (Starlette on uvicorn) for ``/boxes`` requests.

Public routes (openSenseMap wire shape): ``GET /boxes/{id}``, ``GET /boxes/{id}/sensors``,
``GET /boxes?date=...&phenomenon=...&format=json|geojson&minimal=true`` (also ``/boxes/``; the filters
``near``, ``maxDistance``, ``bbox``, ``exposure``, ``grouptag``, ``model`` are accepted and ignored: every
catalogue box is listed).
Admin routes (not counted in the statistics): ``GET /_stats``, ``POST /_stats/reset``, ``GET /_requests``
(the interval log of counted requests: box, TCP connection, start, end, status),
``GET|PUT /_config`` (latency model), ``PUT|DELETE /_boxes/{id}`` (plant data or an outage),
``DELETE /_boxes`` (clear all planted data). Rules are in docs/sensemap.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hivepulse.errors import InputError
from hivepulse.fsio import read_text_limited
from hivepulse.opensensemap import JsonObject
from hivepulse.quantiles import nearest_rank
from hivepulse.sensemap.boxes import (
    BoxSpec,
    box_ids,
    generate_box,
    is_valid_box_id,
    parse_timestamp,
    planted_box,
    render_box,
    render_minimal,
)
from hivepulse.sensemap.latency import LatencyModel, LatencySampler
from hivepulse.sensemap.plant import OUTAGE_MODES, parse_plant_body
from hivepulse.sensemap.replay import Recording, load_recording
from hivepulse.sensemap.serving import ThreadedServer, bind_socket, counting_protocol

JSON_TYPE = "application/json; charset=utf-8"
_MAX_DELAY_SAMPLES = 200_000
MAX_REQUEST_LOG = 20_000
"""Counted requests kept in the interval log (``GET /_requests``); older ones are dropped first."""
MAX_PLANT_FILE_BYTES = 16 << 20
"""Largest --plant file read (16 MiB)."""


@dataclass
class SensemapConfig:
    """Startup settings. ``boxes`` generated ids (``box_ids(seed, boxes)``) form the ``GET /boxes`` catalogue;
    any other valid id still gets its deterministic box on ``GET /boxes/{id}`` (unless replaying)."""

    boxes: int = 3
    seed: int = 0
    stale_share: float = 0.0
    latency: LatencyModel = field(default_factory=LatencyModel)
    replay_dir: Path | None = None
    plant_file: Path | None = None

    def __post_init__(self) -> None:
        if self.boxes < 0:
            raise InputError("invalid --boxes", value=self.boxes, expected="an integer >= 0")
        if not 0 <= self.stale_share <= 1:
            raise InputError("invalid --stale-share", value=self.stale_share, expected="a share in [0, 1]")


@dataclass
class RequestRecord:
    """One counted request in the interval log: box (``None`` for ``GET /boxes``), the number of the TCP
    connection it came on, and its start and end in seconds since the last stats reset (end ``None`` while
    in flight)."""

    box: str | None
    connection: int | None
    start_s: float
    end_s: float | None = None
    status: int | None = None

    def to_dict(self) -> JsonObject:
        return {"box": self.box, "connection": self.connection, "start_s": round(self.start_s, 6),
                "end_s": None if self.end_s is None else round(self.end_s, 6), "status": self.status}


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type=JSON_TYPE)


def _error(status: int, code: str, message: str) -> Response:
    """openSenseMap (restify-errors) error body: ``{"code": "...", "message": "..."}``."""
    return _json({"code": code, "message": message}, status)


def _measurement_id(box_id: str, sensor_id: str) -> str:
    """A stable 24-hex measurement id for unpopulated ``lastMeasurement`` fields."""
    return hashlib.sha256(f"{box_id}:{sensor_id}".encode()).hexdigest()[:24]


class SensemapState:
    """Everything the server knows: catalogue, planted boxes, outages, latency sampler, counters."""

    def __init__(self, config: SensemapConfig) -> None:
        self.config = config
        self.catalogue = box_ids(config.seed, config.boxes)
        self.sampler = LatencySampler(config.latency)
        self.recording: Recording | None = load_recording(config.replay_dir) if config.replay_dir else None
        self.planted: dict[str, BoxSpec] = {}
        self.outages: dict[str, str] = {}
        self._generated: dict[str, BoxSpec] = {}
        self.open_connections: dict[tuple[str, int], int] = {}  # peer address -> connection number
        self.connections_opened = 0
        self.reset_stats()
        if config.plant_file:
            self.load_plant_file(config.plant_file)

    # -- statistics ---------------------------------------------------------------------------------------
    def reset_stats(self) -> None:
        """Zero every counter (``POST /_stats/reset``)."""
        self.total = 0
        self.by_box: dict[str, int] = {}
        self.by_status: dict[str, int] = {}
        self.list_requests = 0
        self.invalid_requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.in_flight_by_box: dict[str, int] = {}
        self.max_in_flight_by_box: dict[str, int] = {}
        self.delays_ms: list[float] = []
        self.cold_starts = 0
        self.started = time.time()
        self.started_mono = time.monotonic()
        self.request_log: list[RequestRecord] = []
        self.log_dropped = 0
        self.connections_used: set[int] = set()

    # -- TCP connections (counted by :class:`CountingProtocol`) ----------------------------------------------
    def connection_opened(self, peer: tuple[str, int] | None) -> None:
        """A TCP connection was accepted from ``peer``: give it the next connection number."""
        self.connections_opened += 1
        if peer is not None:
            self.open_connections[peer] = self.connections_opened

    def connection_closed(self, peer: tuple[str, int] | None) -> None:
        if peer is not None:
            self.open_connections.pop(peer, None)

    def connection_of(self, peer: object) -> int | None:
        """The number of the open connection a request came on (its peer address is unique while open)."""
        if isinstance(peer, list | tuple) and len(peer) == 2:
            return self.open_connections.get((str(peer[0]), int(peer[1])))
        return None

    def requests_since(self, since_s: float = 0.0) -> list[RequestRecord]:
        """Counted requests that started at or after ``since_s`` (seconds since the last reset)."""
        return [r for r in self.request_log if r.start_s >= since_s]

    def stats(self) -> JsonObject:
        """The ``GET /_stats`` document (see docs/sensemap.md)."""
        delays = sorted(self.delays_ms)
        connections = len(self.connections_used)
        return {
            "total": self.total,
            "connections": connections,
            "requests_per_connection": round(self.total / connections, 4) if connections else None,
            "boxes": dict(self.by_box),
            "list_requests": self.list_requests,
            "invalid_requests": self.invalid_requests,
            "status": dict(self.by_status),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "max_in_flight_by_box": dict(self.max_in_flight_by_box),
            "cold_starts": self.cold_starts,
            "injected_ms": {
                "count": len(delays),
                "p50": nearest_rank(delays, 50),
                "p90": nearest_rank(delays, 90),
                "p99": nearest_rank(delays, 99),
                "max": delays[-1] if delays else None,
            },
            "since": self.started,
            "latency": self.sampler.model.to_dict(),
        }

    # -- boxes --------------------------------------------------------------------------------------------
    def spec_for(self, box_id: str) -> BoxSpec:
        """The box for a valid id: planted first, otherwise the generated one (cached)."""
        if box_id in self.planted:
            return self.planted[box_id]
        spec = self._generated.get(box_id)
        if spec is None:
            if len(self._generated) > 50_000:
                self._generated.clear()
            spec = generate_box(box_id, self.config.seed, self.config.stale_share)
            self._generated[box_id] = spec
        return spec

    def box_document(self, box_id: str, now: float) -> JsonObject | None:
        """The wire document of one box at epoch ``now``; None if the box does not exist (replay mode)."""
        if box_id in self.planted:
            return render_box(self.planted[box_id], now)
        if self.recording is not None:
            return self.recording.document(box_id, now)
        return render_box(self.spec_for(box_id), now)

    def list_outage(self) -> str | None:
        """The outage of a ``GET /boxes`` (catalogue) request: ``timeout`` when any listed box has one (the one
        request that fetches them all hangs), ``error`` / ``notfound`` when every listed box has that outage."""
        modes = [self.outages.get(i) for i in self.list_ids()]
        if "timeout" in modes:
            return "timeout"
        if modes and all(m == modes[0] for m in modes) and modes[0] in ("error", "notfound"):
            return modes[0]
        return None

    def list_ids(self) -> list[str]:
        ids = list(self.recording.ids) if self.recording is not None else list(self.catalogue)
        return ids + [i for i in self.planted if i not in ids]

    def plant(self, box_id: str, body: object, *, file: str | None = None) -> None:
        """Apply a ``PUT /_boxes/{id}`` body (checked as a :class:`PlantBody`, see :func:`planted_box`);
        ``outage`` sets or clears an outage. :class:`InputError` naming the field for a bad body."""
        if isinstance(body, dict) and "outage" in body and body["outage"] not in (None, *OUTAGE_MODES):
            raise InputError("invalid outage", file=file, column="outage", value=body["outage"],
                             expected="one of " + ", ".join(OUTAGE_MODES) + " or null")
        plant = parse_plant_body(body, file=file, box_id=box_id if file else None)
        if "outage" in plant.model_fields_set:
            if plant.outage is None:
                self.outages.pop(box_id, None)
            else:
                self.outages[box_id] = plant.outage
        if plant.plants_data:
            self.planted[box_id] = planted_box(box_id, plant, self.config.seed)

    def load_plant_file(self, path: Path) -> None:
        """Plant every box of a JSON file ``{"boxes": {"<id>": <PUT body>, ...}}`` (or the mapping itself)."""
        try:
            data = json.loads(read_text_limited(path, MAX_PLANT_FILE_BYTES, what="plant file"))
        except FileNotFoundError:
            raise InputError("plant file not found", file=str(path)) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON ({exc.msg})", file=str(path), line=exc.lineno) from None
        except RecursionError:
            raise InputError("invalid JSON (nested too deeply)", file=str(path)) from None
        boxes = data.get("boxes", data) if isinstance(data, dict) else None
        if not isinstance(boxes, dict):
            raise InputError("invalid plant file", file=str(path), expected='an object {"boxes": {id: body}}')
        for box_id, body in boxes.items():
            if not is_valid_box_id(box_id):
                raise InputError("invalid box id", file=str(path), value=box_id, expected="24 hex digits")
            self.plant(box_id, body, file=str(path))

    # -- request accounting -------------------------------------------------------------------------------
    def enter(self, box_id: str | None, connection: int | None = None) -> RequestRecord:
        """Count a request; returns its record in the interval log (its end is set by :meth:`leave`)."""
        record = RequestRecord(box_id, connection, time.monotonic() - self.started_mono)
        if connection is not None:
            self.connections_used.add(connection)
        if len(self.request_log) >= MAX_REQUEST_LOG:
            del self.request_log[: MAX_REQUEST_LOG // 10]
            self.log_dropped += MAX_REQUEST_LOG // 10
        self.request_log.append(record)
        self.total += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if box_id is not None:
            self.by_box[box_id] = self.by_box.get(box_id, 0) + 1
            current = self.in_flight_by_box.get(box_id, 0) + 1
            self.in_flight_by_box[box_id] = current
            if current > self.max_in_flight_by_box.get(box_id, 0):
                self.max_in_flight_by_box[box_id] = current
        return record

    def leave(self, box_id: str | None, status: int, record: RequestRecord | None = None) -> None:
        if record is not None:
            record.end_s = time.monotonic() - self.started_mono
            record.status = status
        self.in_flight -= 1
        key = str(status)
        self.by_status[key] = self.by_status.get(key, 0) + 1
        if box_id is not None:
            self.in_flight_by_box[box_id] -= 1


def create_app(state: SensemapState) -> Starlette:
    """The Starlette application serving ``state``."""

    async def delayed(key: str, box_id: str | None, produce: Callable[[], Response],
                      request: Request) -> Response:
        draw = state.sampler.draw(key, time.monotonic())
        if draw.cold:
            state.cold_starts += 1
        if len(state.delays_ms) < _MAX_DELAY_SAMPLES:
            state.delays_ms.append(draw.delay_s * 1000.0 if not draw.timeout else
                                   (draw.delay_s - state.sampler.model.timeout_s) * 1000.0)
        record = state.enter(box_id, state.connection_of(request.scope.get("client")))
        status = 500
        try:
            outage = state.outages.get(box_id) if box_id else state.list_outage()
            if outage == "timeout":
                await asyncio.sleep(draw.delay_s + state.sampler.model.timeout_s)
            elif draw.delay_s > 0:
                await asyncio.sleep(draw.delay_s)
            if outage == "error":
                response = _error(503, "ServiceUnavailable", "Service Unavailable")
            elif outage == "notfound":
                response = _error(404, "NotFound", "Box not found")
            elif draw.status is not None:
                response = _error(draw.status, "InternalServer", "Injected upstream error")
            else:
                response = produce()
            status = response.status_code
            return response
        finally:
            state.leave(box_id, status, record)

    def invalid_id() -> Response:
        state.invalid_requests += 1
        return _error(422, "UnprocessableEntity", "Parameter boxId is not parseable as datatype id")

    async def get_box(request: Request) -> Response:
        box_id = request.path_params["box_id"]
        if not is_valid_box_id(box_id):
            return invalid_id()
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "geojson"):
            return _error(422, "UnprocessableEntity",
                          "Illegal value for parameter format. allowed values: json, geojson")

        def produce() -> Response:
            doc = state.box_document(box_id, time.time())
            if doc is None:
                return _error(404, "NotFound", "Box not found")
            if fmt == "geojson":
                location = doc.get("currentLocation", {})
                doc = {"type": "Feature", "geometry": location, "properties": doc}
            return _json(doc)

        return await delayed(box_id, box_id, produce, request)

    async def get_box_sensors(request: Request) -> Response:
        box_id = request.path_params["box_id"]
        if not is_valid_box_id(box_id):
            return invalid_id()

        def produce() -> Response:
            doc = state.box_document(box_id, time.time())
            if doc is None:
                return _error(404, "NotFound", "Box not found")
            return _json({"_id": doc["_id"], "sensors": doc.get("sensors", [])})

        return await delayed(box_id, box_id, produce, request)

    async def get_boxes(request: Request) -> Response:
        params = request.query_params
        fmt = params.get("format", "json")
        if fmt not in ("json", "geojson"):
            return _error(422, "UnprocessableEntity",
                          "Illegal value for parameter format. allowed values: json, geojson")
        window = None
        if "date" in params:
            try:
                parts = [parse_timestamp(p.strip()) for p in params["date"].split(",")]
            except ValueError:
                return _error(422, "UnprocessableEntity",
                              "Illegal value for parameter date. Invalid RFC 3339 timestamp")
            if len(parts) == 1:
                window = (parts[0] - 4 * 3600, parts[0] + 4 * 3600)
            elif len(parts) == 2:
                window = (parts[0], parts[1])
            else:
                return _error(422, "UnprocessableEntity", "Illegal value for parameter date. too many dates")
        phenomenon = params.get("phenomenon") if window else None
        minimal = params.get("minimal") == "true"
        state.list_requests += 1

        def produce() -> Response:
            now = time.time()
            items = []
            for box_id in state.list_ids():
                doc = state.box_document(box_id, now)
                if doc is None:
                    continue
                if window is not None:
                    matching = [
                        s for s in doc.get("sensors", [])
                        if isinstance(s.get("lastMeasurement"), dict)
                        and (phenomenon is None or s.get("title") == phenomenon)
                        and window[0] <= parse_timestamp(s["lastMeasurement"]["createdAt"]) <= window[1]
                    ]
                    if not matching:
                        continue
                    keep = {id(s) for s in matching}
                    for s in doc.get("sensors", []):
                        if id(s) not in keep and isinstance(s.get("lastMeasurement"), dict):
                            s.pop("lastMeasurement")
                else:
                    for s in doc.get("sensors", []):
                        if isinstance(s.get("lastMeasurement"), dict):
                            s["lastMeasurement"] = _measurement_id(box_id, str(s.get("_id")))
                if minimal:
                    doc = ({"_id": doc["_id"], **render_minimal(state.spec_for(box_id), now)}
                           if state.recording is None else
                           {k: doc[k] for k in ("_id", "name", "currentLocation", "exposure",
                                                "lastMeasurementAt") if k in doc})
                items.append(doc)
            if fmt == "geojson":
                return _json({"type": "FeatureCollection", "features": [
                    {"type": "Feature", "geometry": d.get("currentLocation"), "properties": d} for d in items]})
            return _json(items)

        return await delayed("*list*", None, produce, request)

    async def stats(request: Request) -> Response:
        return _json(state.stats())

    async def requests_log(request: Request) -> Response:
        try:
            since = float(request.query_params.get("since", "0"))
        except ValueError:
            return _error(422, "UnprocessableEntity", "since: expected seconds since the last reset")
        return _json({"since_reset_s": round(time.monotonic() - state.started_mono, 6),
                      "dropped": state.log_dropped,
                      "requests": [r.to_dict() for r in state.requests_since(since)]})

    async def reset(request: Request) -> Response:
        state.reset_stats()
        return _json({"reset": True})

    async def config(request: Request) -> Response:
        if request.method == "PUT":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError
                model = state.sampler.model.updated(changes)
            except InputError as err:
                return _error(422, "UnprocessableEntity", str(err))
            except (ValueError, RecursionError):
                return _error(400, "BadRequest", "expected a JSON object of latency settings")
            state.sampler.reseed(model)
        return _json(state.sampler.model.to_dict())

    async def plant(request: Request) -> Response:
        box_id = request.path_params["box_id"]
        if not is_valid_box_id(box_id):
            return invalid_id()
        if request.method == "DELETE":
            state.planted.pop(box_id, None)
            state.outages.pop(box_id, None)
            return _json({"deleted": box_id})
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError
            state.plant(box_id, body)
        except InputError as err:
            return _error(422, "UnprocessableEntity", str(err))
        except (ValueError, RecursionError):
            return _error(400, "BadRequest", "expected a JSON object")
        return _json({"planted": box_id, "outage": state.outages.get(box_id)})

    async def clear(request: Request) -> Response:
        state.planted.clear()
        state.outages.clear()
        return _json({"cleared": True})

    routes = [
        Route("/boxes", get_boxes, methods=["GET"]),
        Route("/boxes/", get_boxes, methods=["GET"]),  # `/boxes/?near=...` as some clients write it
        Route("/boxes/{box_id}", get_box, methods=["GET"]),
        Route("/boxes/{box_id}/sensors", get_box_sensors, methods=["GET"]),
        Route("/_stats", stats, methods=["GET"]),
        Route("/_stats/reset", reset, methods=["POST"]),
        Route("/_requests", requests_log, methods=["GET"]),
        Route("/_config", config, methods=["GET", "PUT"]),
        Route("/_boxes", clear, methods=["DELETE"]),
        Route("/_boxes/{box_id}", plant, methods=["PUT", "DELETE"]),
    ]
    app = Starlette(routes=routes)
    app.state.sensemap = state
    return app


def start_in_thread(config: SensemapConfig, host: str = "127.0.0.1", port: int = 0) -> ThreadedServer:
    """Start a replay server in this process (a daemon thread); returns the started :class:`ThreadedServer`.

    Its state is ``server.app.state.sensemap``. For load tests prefer a separate process
    (:func:`hivepulse.services.start_sensemap`) so client and server do not share the GIL.
    """
    state = SensemapState(config)
    return ThreadedServer(create_app(state), host, port, http=counting_protocol(state)).start()


def serve(config: SensemapConfig, host: str = "127.0.0.1", port: int = 8081,
          announce: Callable[[str], object] = print) -> None:
    """Serve in the foreground until interrupted; ``announce`` receives the URL line once listening."""
    state = SensemapState(config)
    app = create_app(state)
    sock = bind_socket(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"

    async def main() -> None:
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                               timeout_graceful_shutdown=1, http=counting_protocol(state)))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        announce(f"serving openSenseMap replay on {url}")
        await task

    try:
        asyncio.run(main())
    finally:
        sock.close()


__all__ = ["MAX_REQUEST_LOG", "RequestRecord", "SensemapConfig", "SensemapState", "ThreadedServer", "bind_socket",
           "counting_protocol", "create_app", "serve", "start_in_thread"]
