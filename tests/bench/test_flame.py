"""The flame graph's sample bookkeeping (hivepulse.bench.flame): stacks read back from inferno's SVG exactly,
folding keeps every sample, plumbing and framework frames fold as documented, the SVG embeds in a page."""

from __future__ import annotations

import json

from hivepulse.bench import flame

RUNPY = ("_run_module_as_main (<frozen runpy>:198)", "_run_code (<frozen runpy>:88)",
         "<module> (hivepulse/__main__.py:5)", "main (hivepulse/cli.py:90)", "run (asyncio/runners.py:190)",
         "BaseEventLoop._run_once (asyncio/base_events.py:1922)", "Handle._run (asyncio/events.py:80)")
ASGI = ("RequestResponseCycle.run_asgi (uvicorn/protocols/http/h11_impl.py:411)",
        "Router.__call__ (starlette/routing.py:683)", "APIRoute.handle (fastapi/routing.py:1375)")
APP = ("HiveboxService.temperature (hivepulse/hivebox/service.py:277)",
       "fetch_box (hivepulse/hivebox/upstream.py:94)")
SHELL = ('<?xml version="1.0" standalone="no"?><svg version="1.1" width="1200" height="138" onload="init(evt)" '
         'viewBox="0 0 1200 138" xmlns="http://www.w3.org/2000/svg"><style type="text/css">\ntext { font-size:12px }\n'
         '#title { text-anchor:middle; }\n.hide { display:none; }\n</style><script type="text/ecmascript"><![CDATA[\n'
         'var truncate_text_right = false;\nsvg = document.getElementsByTagName("svg")[0];\n]]></script>'
         '<text id="title" x="50%" y="24.00">py-spy record --pid 1 -o x.svg.partial</text>'
         '<text id="matched" fill="rgb(0,0,0)" x="1190" y="127.00"> </text>'
         '<svg id="frames" x="10" width="1180" total_samples="0"></svg></svg>')


def test_fold_drops_plumbing_prefix_merges_framework_and_line_numbers():
    assert flame.fold_stack((*RUNPY, *ASGI, *APP)) == (
        "[ASGI framework]", "HiveboxService.temperature (hivepulse/hivebox/service.py)",
        "fetch_box (hivepulse/hivebox/upstream.py)")
    assert flame.fold_stack(RUNPY) == ("[asyncio event loop]",)
    assert flame.fold_stack(('process 12:"python -m hivepulse hivebox serve"', *APP)) == (
        "HiveboxService.temperature (hivepulse/hivebox/service.py)", "fetch_box (hivepulse/hivebox/upstream.py)")


def test_fold_keeps_every_sample():
    stacks = {(*RUNPY, *ASGI, *APP): 7, (*RUNPY, *ASGI, APP[0], "fetch_box (hivepulse/hivebox/upstream.py:95)"): 3,
              RUNPY: 5, (*RUNPY, "select (selectors.py:468)"): 2}
    folded = flame.fold(stacks)
    assert sum(folded.values()) == 17
    assert folded == {("[ASGI framework]", "HiveboxService.temperature (hivepulse/hivebox/service.py)",
                       "fetch_box (hivepulse/hivebox/upstream.py)"): 10, ("[asyncio event loop]",): 7}


def test_render_then_parse_round_trip_and_title():
    stacks = {("a (x.py)", "b (x.py)"): 4, ("a (x.py)",): 1, ("c (y.py)",): 5}
    svg = flame.render_svg(SHELL, stacks, "HiveBox · scenario none-naive · 10 samples in 1.0 s")
    parsed, _ = flame.parse_svg(svg)
    assert parsed == stacks
    assert 'total_samples="10"' in svg and ".partial" not in svg and "10 samples in 1.0 s" in svg
    assert "var truncate_text_right = true;" in svg
    assert 'height="122"' in svg  # 52 + 16 * 3 levels (all, a/c, b) + 22


def test_speedscope_has_the_same_samples():
    stacks = {("a (x.py:1)", "b (x.py:2)"): 4, ("c (y.py:3)",): 6}
    doc = json.loads(flame.speedscope(stacks, "t"))
    profile = doc["profiles"][0]
    assert sum(profile["weights"]) == 10 and profile["endValue"] == 10
    assert doc["shared"]["frames"][0] == {"name": "a", "file": "x.py", "line": 1}


def test_inline_svg_finds_itself_and_scopes_style():
    out = flame.inline_svg(flame.render_svg(SHELL, {("a (x.py)",): 1}, "t"))
    assert out.startswith('<svg id="hp-flamegraph"') and "<?xml" not in out
    assert 'document.getElementById("hp-flamegraph")' in out and "getElementsByTagName" not in out
    assert "#hp-flamegraph .hide {" in out and "#hp-flamegraph text {" in out
