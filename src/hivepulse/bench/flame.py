"""A readable py-spy flame graph: one sampler, harness and event-loop frames folded, a human title, the same
sample count everywhere, and a speedscope file from the same samples.

py-spy records one ``--format flamegraph`` SVG (inferno's interactive SVG: search, zoom, its script). This module

1. reads the samples back from that SVG (:func:`parse_svg`: every frame's ``fg:x``/``fg:w`` sample offsets and its
   depth give the exact multiset of stacks, ``{stack: samples}``);
2. folds them (:func:`fold`): the leading plumbing of every stack (``runpy``, ``hivepulse`` CLI, uvicorn's server,
   the asyncio loop: :data:`PLUMBING`) is dropped, each run of ASGI framework frames (uvicorn protocols, starlette,
   fastapi: :data:`FRAMEWORK`) becomes one ``[ASGI framework]`` frame, a stack of nothing else becomes
   ``[asyncio event loop]``, and line numbers are dropped so one function is one frame;
3. writes the folded frames back into py-spy's own SVG (:func:`render_svg`: same script and style, the title
   replaced, labels truncated on the right so the function name stays readable), and the unfolded stacks as a
   speedscope file (:func:`speedscope`);
4. :func:`inline_svg` makes the SVG embeddable in an HTML page (its script looks up its own ``<svg>`` by id, its
   style is scoped to it), so the report keeps py-spy's search and zoom.
"""

from __future__ import annotations

import html
import json
import re
import zlib
from collections import Counter
from collections.abc import Mapping

Stacks = Mapping[tuple[str, ...], int]

PLUMBING = ("<frozen runpy>", "runpy.py", "hivepulse/__main__.py", "hivepulse/cli.py", "hivepulse/commands/",
            "uvicorn/main.py", "uvicorn/server.py", "uvicorn/_compat.py", "asyncio/runners.py",
            "asyncio/base_events.py", "asyncio/events.py", "asyncio/selector_events.py", "selectors.py",
            "threading.py", "<frozen importlib")
"""Files of frames that only start or drive the server (folded away when they lead a stack)."""
FRAMEWORK = ("uvicorn/protocols/", "uvicorn/middleware/", "starlette/", "fastapi/")
"""Files of ASGI framework frames (each run of them becomes one ``[ASGI framework]`` frame)."""
EVENT_LOOP = "[asyncio event loop]"
ASGI = "[ASGI framework]"
MIN_SAMPLES = 100
"""Below this many samples (1 s of CPU at 100 Hz) the report warns that the flame graph cannot rank functions."""

_FRAME = re.compile(r'<g><title>(.*?)</title><rect x="[^"]*" y="([\d.]+)" width="[^"]*" height="[^"]*" '
                    r'fill="([^"]*)" fg:x="(\d+)" fg:w="(\d+)"/>')
_SUFFIX = re.compile(r" \([\d,]+ samples?, [\d.]+%\)$")
_LINE = re.compile(r"^(.*) \((.*?):\d+\)$")
_FRAMES_GROUP = re.compile(r'<svg id="frames"[^>]*>.*</svg></svg>\s*$', re.S)


def _file(frame: str) -> str:
    match = _LINE.match(frame)
    if match:
        return match.group(2)
    inner = frame.rsplit(" (", 1)
    return inner[1].rstrip(")") if len(inner) == 2 else ""


def parse_svg(text: str) -> tuple[dict[tuple[str, ...], int], dict[str, str]]:
    """``(stacks, colors)`` of a py-spy (inferno) flame graph: samples per full stack (root first, without
    ``all``) and each frame name's fill colour."""
    frames = []
    colors: dict[str, str] = {}
    for m in _FRAME.finditer(text):
        name = _SUFFIX.sub("", html.unescape(m.group(1)))
        frames.append((float(m.group(2)), int(m.group(4)), int(m.group(5)), name))
        colors.setdefault(name, m.group(3))
    if not frames:
        return {}, colors
    ys = sorted({y for y, *_ in frames})
    root = next(f for f in frames if f[3] == "all")
    step = 1 if ys.index(root[0]) == 0 else -1  # icicle (root on top) or classic flame graph
    depth_of = {y: (i if step == 1 else len(ys) - 1 - i) for i, y in enumerate(ys)}
    levels: dict[int, list[tuple[int, int, str]]] = {}
    for y, x, w, name in frames:
        levels.setdefault(depth_of[y], []).append((x, w, name))
    stacks: Counter[tuple[str, ...]] = Counter()

    def walk(depth: int, x0: int, x1: int, path: tuple[str, ...], width: int) -> None:
        children = [(x, w, n) for x, w, n in levels.get(depth + 1, []) if x0 <= x and x + w <= x1]
        covered = sum(w for _, w, _ in children)
        if width - covered > 0 and path:
            stacks[path] += width - covered
        for x, w, name in children:
            walk(depth + 1, x, x + w, (*path, name), w)

    walk(depth_of[root[0]], root[1], root[1] + root[2], (), root[2])
    return dict(stacks), colors


def _kind(frame: str) -> str:
    if frame.startswith("process ") or frame in (EVENT_LOOP, ASGI):
        return "plumbing"
    where = _file(frame)
    if any(where.startswith(p) or p in where for p in PLUMBING):
        return "plumbing"
    if any(where.startswith(p) for p in FRAMEWORK):
        return "framework"
    return "app"


def short(frame: str) -> str:
    """The frame without its line number: ``fetch_box (hivepulse/hivebox/upstream.py:94)`` ->
    ``fetch_box (hivepulse/hivebox/upstream.py)``."""
    match = _LINE.match(frame)
    return f"{match.group(1)} ({match.group(2)})" if match else frame


def fold_stack(stack: tuple[str, ...]) -> tuple[str, ...]:
    """One stack folded (module docstring)."""
    kinds = [_kind(f) for f in stack]
    start = next((i for i, k in enumerate(kinds) if k != "plumbing"), len(stack))
    if start == len(stack):
        return (EVENT_LOOP,)
    out: list[str] = []
    for frame, kind in zip(stack[start:], kinds[start:], strict=True):
        if kind == "framework":
            if not out or out[-1] != ASGI:
                out.append(ASGI)
        else:
            out.append(short(frame))
    return tuple(out)


def fold(stacks: Stacks) -> dict[tuple[str, ...], int]:
    """Every stack folded; identical folded stacks are merged (sample counts added, the total is unchanged)."""
    out: Counter[tuple[str, ...]] = Counter()
    for stack, n in stacks.items():
        out[fold_stack(stack)] += n
    return dict(out)


def _color(name: str, known: Mapping[str, str]) -> str:
    if name in (EVENT_LOOP, ASGI):
        return "rgb(200,200,200)"
    for full, fill in known.items():
        if short(full) == name:
            return fill
    h = zlib.crc32(name.encode())
    return f"rgb({205 + h % 50},{(h >> 8) % 200},{(h >> 16) % 55})"


def render_svg(shell: str, stacks: Stacks, title: str, colors: Mapping[str, str] | None = None) -> str:
    """py-spy's SVG ``shell`` with its frames replaced by ``stacks`` (icicle: root on top, children sorted by
    name as inferno does) and its title replaced by ``title``."""
    known = colors or {}
    total = sum(stacks.values())
    tree: dict[str, object] = {}
    for stack, n in stacks.items():
        node = tree
        for frame in stack:
            child = node.setdefault(frame, {"#": 0})
            assert isinstance(child, dict)
            child["#"] = int(child["#"]) + n
            node = child
    parts = [f'<svg id="frames" x="10" width="1180" total_samples="{total}">']
    depth_max = 0

    def frame_svg(name: str, x: int, w: int, depth: int) -> None:
        nonlocal depth_max
        depth_max = max(depth_max, depth)
        y = 52 + 16 * depth
        pct = f"{100 * w / total:.2f}%" if total else "0%"
        label = html.escape(name)
        parts.append(f'<g><title>{label} ({w:,} samples, {pct})</title><rect x="{100 * x / total:.4f}%" y="{y}" '
                     f'width="{100 * w / total:.4f}%" height="15" fill="{_color(name, known)}" fg:x="{x}" '
                     f'fg:w="{w}"/><text x="{100 * x / total + 0.25:.4f}%" y="{y + 10.5:.2f}">{label}</text></g>')

    def walk(node: dict[str, object], x: int, depth: int) -> None:
        for name in sorted(k for k in node if k != "#"):
            child = node[name]
            assert isinstance(child, dict)
            w = int(child["#"])
            frame_svg(name, x, w, depth)
            walk(child, x, depth + 1)
            x += w

    if total:
        frame_svg("all", 0, total, 0)
        walk(tree, 0, 1)
    parts.append("</svg></svg>")
    height = 52 + 16 * (depth_max + 1) + 22
    body = _FRAMES_GROUP.sub("\n".join(parts).replace("\\", "\\\\"), shell, count=1)
    body = re.sub(r'(<svg version="1.1" width="\d+" height=")\d+(" onload="init\(evt\)" viewBox="0 0 \d+ )\d+"',
                  lambda m: f'{m.group(1)}{height}{m.group(2)}{height}"', body, count=1)
    body = re.sub(r'<text id="matched"([^>]*) y="[\d.]+">', lambda m: f'<text id="matched"{m.group(1)} '
                  f'y="{height - 11:.2f}">', body, count=1)
    body = re.sub(r'(<text id="title"[^>]*>).*?(</text>)', lambda m: m.group(1) + html.escape(title) + m.group(2),
                  body, count=1, flags=re.S)
    return body.replace("var truncate_text_right = false;", "var truncate_text_right = true;")


_FULL = re.compile(r"^(.*) \((.*?):(\d+)\)$")


def _speedscope_frame(frame: str) -> dict[str, object]:
    """``fetch_box (hivepulse/hivebox/upstream.py:94)`` -> ``{"name": "fetch_box", "file": ..., "line": 94}``."""
    match = _FULL.match(frame)
    if match:
        return {"name": match.group(1), "file": match.group(2), "line": int(match.group(3))}
    return {"name": frame}


def speedscope(stacks: Stacks, name: str) -> str:
    """A speedscope file (one sampled profile, weights = sample counts) of ``stacks``."""
    index: dict[str, int] = {}
    samples, weights = [], []
    for stack, n in stacks.items():
        samples.append([index.setdefault(f, len(index)) for f in stack])
        weights.append(n)
    total = sum(weights)
    doc = {"$schema": "https://www.speedscope.app/file-format-schema.json", "name": name,
           "exporter": "hivepulse (py-spy samples)", "activeProfileIndex": 0,
           "shared": {"frames": [_speedscope_frame(f) for f in index]},
           "profiles": [{"type": "sampled", "name": name, "unit": "none", "startValue": 0, "endValue": total,
                         "samples": samples, "weights": weights}]}
    return json.dumps(doc)


def inline_svg(svg: str, element_id: str = "hp-flamegraph") -> str:
    """The SVG as an element for an HTML page: no XML declaration or doctype, ``id`` on the outer ``<svg>``, the
    script finding that element (not the page's first ``<svg>``), the style rules scoped to it."""
    body = svg[svg.index("<svg "):]
    body = body.replace("<svg version=\"1.1\"", f'<svg id="{element_id}" style="width:100%" version="1.1"', 1)
    body = body.replace('document.getElementsByTagName("svg")[0]', f'document.getElementById("{element_id}")')

    def scope(match: re.Match[str]) -> str:
        rules = re.sub(r"(^|\})\s*([^{}]+?)\s*\{",
                       lambda r: r.group(1) + "\n" + ", ".join(f"#{element_id} {sel.strip()}"
                                                               for sel in r.group(2).split(",")) + " {",
                       match.group(2))
        return match.group(1) + rules + match.group(3)

    return re.sub(r'(<style type="text/css">)(.*?)(</style>)', scope, body, count=1, flags=re.S)


__all__ = ["ASGI", "EVENT_LOOP", "FRAMEWORK", "MIN_SAMPLES", "PLUMBING", "fold", "fold_stack", "inline_svg",
           "parse_svg", "render_svg", "short", "speedscope"]
