"""A hostile corpus through the retro: notes.txt lines, team notes, environment names, catalog titles, profiling
findings and output-dir names holding ``<script>``, ``<img src=x onerror=alert(1)>``, backticks, ``|``, links
and line breaks. The rendered ``retro.html`` is parsed (html.parser) and must hold no live tag or attribute
from data; ``README.md`` and the notebook's Markdown are rendered with a CommonMark parser (raw HTML allowed,
as a permissive viewer would) and must hold no markup from data either, with every table row intact
(issue 10, item 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from hivepulse.report import html as report_html
from hivepulse.report import sections as S
from hivepulse.retro.analysis import RetroParams, analyze
from hivepulse.sources.files import read_events

XSS = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert('x')</script>"
ENV = "prod<script>alert(1)</script>`x`|y"
NOTE = f"{XSS} | broken | table `code` [click](javascript:alert(1)) **bold** _em_"
PARAGRAPH = "line one\n\n# not a heading\n- not a list"
WINDOW = ("2026-03-02", "2026-03-16")
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "h4", "p", "em", "i", "b",
                "small", "br", "code", "section", "div", "ul", "li", "table", "tr", "th", "td", "img", "nav", "a",
                "span", "details", "summary"}
LINKS = ("#", "https://dora.dev/")
"""The only links of the report: its own sections, DORA's Quick Check (and a relative, URL-quoted path to the
profiling report, which has no scheme)."""


class Tags(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Tags:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser


def assert_no_live_markup(html: str, *, allowed: set[str]) -> Tags:
    page = parse(html)
    for tag, attrs in page.tags:
        assert tag in allowed, f"unexpected <{tag}> {attrs}"
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "img":
            assert str(attrs.get("src", "")).startswith("data:image/png;base64,"), attrs
        if tag == "a":
            href = str(attrs.get("href", ""))
            assert href.startswith(LINKS) or ":" not in href, attrs
        assert not any("javascript:" in str(v) for v in attrs.values()), attrs
    return page


def write_events(root: Path) -> None:
    root.mkdir()
    rows = ["deployment_id,environment,finished_at,status"]
    rows += [f"d{k},\"{ENV}\",2026-03-{2 + k:02d}T10:00:00Z,success" for k in range(14)]
    rows += ["d99,staging,2026-03-05T10:00:00Z,failure"]
    (root / "deployments.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    changes = ["change_id,committed_at,deployment_id"]
    # committed two days before their deployment: lead time 50-52 h, tier high (the override below fires)
    changes += [f"c{k},2026-02-{26 + k:02d}T{6 if k % 2 else 8}:00:00Z,d{k}" if k < 3 else
                f"c{k},2026-03-{k - 1:02d}T{6 if k % 2 else 8}:00:00Z,d{k}" for k in range(14)]
    (root / "changes.csv").write_text("\n".join(changes) + "\n", encoding="utf-8")
    (root / "incidents.csv").write_text("incident_id,opened_at,resolved_at\n", encoding="utf-8")
    (root / "notes.txt").write_text(f"{XSS}\n{SCRIPT}\n{NOTE}\n", encoding="utf-8")


def write_workspace(ws: Path) -> None:
    (ws / "notes").mkdir(parents=True)
    (ws / "notes" / f"{WINDOW[0]}_{WINDOW[1]}.yaml").write_text(
        "went_well:\n"
        f"  - text: {json.dumps(NOTE)}\n    votes: 2\n"
        "to_improve:\n"
        f"  - text: {json.dumps(PARAGRAPH)}\n    votes: 1\n    metric: lead_time\n"
        f"  - {json.dumps(SCRIPT)}\n",
        encoding="utf-8")
    (ws / "actions.yaml").write_text(
        "actions:\n"
        "  - id: trunk-based-development\n"
        f"    title: {json.dumps('Merge daily ' + XSS + ' | `x` ' + SCRIPT)}\n"
        f"    practice: {json.dumps(NOTE)}\n",
        encoding="utf-8")


def write_findings(root: Path) -> Path:
    run_id = f"20260305T090000Z-{XSS}"
    (root / run_id).mkdir(parents=True)
    finding = {"metric": "hit_ratio", "value": 0.42, "kind": "problem", "threshold": 0.8, "n": 300, "reach": 0.58,
               "scenario": f"mem|{SCRIPT}", "text": f"hit ratio 0.42 {NOTE} (n=300)", "better": "higher",
               "reach_text": XSS}
    doc = {"run_id": run_id, "machine": {"recorded_at": "2026-03-05T09:00:00+00:00"}, "scenarios": [],
           "findings": [finding, {**finding, "kind": f"{XSS}", "metric": "p99_ms"}]}
    (root / run_id / "results.json").write_text(json.dumps(doc), encoding="utf-8")
    return root / run_id


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    write_events(tmp / "events")
    out = tmp / f"out`{XSS}`|x"
    write_workspace(out)
    run = write_findings(tmp / "results")
    params = RetroParams(source="events", path=str(tmp / "events"), since=WINDOW[0], until=WINDOW[1],
                         previous_iterations=1, environment=ENV, output_dir=str(out), findings=str(run))
    return analyze(params, events=read_events(tmp / "events"))


def test_the_corpus_reaches_every_section(hostile):
    assert XSS in hostile.data_quality_notes() and hostile.params.environment == ENV
    assert any(XSS in a.title for a in hostile.candidates)  # the overridden entry fires (lead time high)
    assert hostile.profiling.run is not None and len(hostile.notes.items) == 3


def test_html_report_has_no_live_markup_from_data(hostile):
    html = report_html.render_report(hostile)
    page = assert_no_live_markup(html, allowed=ALLOWED_TAGS)
    text = "".join(page.text)
    for needle in (XSS, SCRIPT, NOTE, ENV):  # shown as text, whole
        assert needle in text, needle
    assert [t for t, _ in page.tags].count("img") == 8  # 5 trends, 2 lead-time charts, 1 timeline: ours only
    assert [t for t, _ in page.tags].count("script") == 0


@pytest.mark.parametrize("section", ["headline_html", "went_well_html", "notes_html", "profiling_evidence_html",
                                     "followup_html", "actions_html", "trends_html"])
def test_notebook_html_sections_have_no_live_markup(hostile, section):
    assert_no_live_markup(getattr(S, section)(hostile), allowed=ALLOWED_TAGS)


def markdown_html(text: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def test_readme_has_no_markup_from_data(hostile):
    readme = hostile.readme()
    page = assert_no_live_markup(markdown_html(readme),
                                 allowed={"h1", "h2", "h3", "p", "ul", "li", "table", "thead", "tbody", "tr", "th",
                                          "td", "code", "strong"})
    text = "".join(page.text)
    for needle in (XSS, SCRIPT, ENV, "[click](javascript:alert(1)) **bold** _em_"):
        assert needle in text, needle
    assert "line one  # not a heading - not a list" in text  # line breaks of a note are spaces
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(readme)
    inline = [child for t in tokens for child in (t.children or [])]
    assert not [t for t in [*tokens, *inline] if t.type in ("html_inline", "html_block", "link_open", "image",
                                                            "em_open", "s_open")
                and XSS in str(t.content or "") + str(t.attrs)], "markup from data"
    assert not [t for t in inline if t.type in ("html_inline", "link_open", "image", "em_open")]


def test_readme_table_rows_keep_their_cells(hostile):
    tokens = MarkdownIt("commonmark").enable("table").parse(hostile.readme())
    row_cells: list[int] = []
    cells = 0
    for token in tokens:
        if token.type == "tr_open":
            cells = 0
        elif token.type in ("th_open", "td_open"):
            cells += 1
        elif token.type == "tr_close":
            row_cells.append(cells)
    # headline (7 columns: header + 5 rows), actions (8 columns: header + items), trends (metric + 2 iterations:
    # header + 5 rows), the slowest changes (8 columns), the failed deployments (none here)
    n_actions = len(hostile.actions) + 1
    assert row_cells[:6] == [7] * 6
    assert row_cells[6:6 + n_actions] == [8] * n_actions
    assert row_cells[6 + n_actions:12 + n_actions] == [3] * 6
    assert set(row_cells[12 + n_actions:]) == {8} and len(row_cells) > 13 + n_actions


def test_notebook_markdown_and_records_path_stay_text(hostile, tmp_path):
    quality = markdown_html(S.data_quality(hostile).data)
    page = assert_no_live_markup(quality, allowed={"ul", "li", "p"})
    assert XSS in "".join(page.text) and SCRIPT in "".join(page.text)
    records = S.records(hostile).data  # writes the records, the ledger and retro.html
    page = assert_no_live_markup(markdown_html(records), allowed={"p", "code"})
    assert str(hostile.record_dir) in "".join(page.text)  # the whole path, backticks included, in one code span
    written = (hostile.record_dir / "retro.html").read_text(encoding="utf-8")
    assert_no_live_markup(written, allowed=ALLOWED_TAGS)


@pytest.mark.slow
def test_hivepulse_retro_end_to_end_writes_an_inert_report(tmp_path):
    """The reproduction of issue 10 item 1: notes.txt with a live tag, through `hivepulse retro`."""
    write_events(tmp_path / "ev")
    proc = subprocess.run([sys.executable, "-m", "hivepulse", "retro", "--path", "ev", "--since", WINDOW[0],
                           "--until", WINDOW[1], "--previous-iterations", "1", "--environment", ENV,
                           "--output-dir", "out", "--findings", "", "--no-progress"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    from hivepulse.retro.record import record_name

    # the records of an environment other than production are <iteration>.<environment, %-escaped>
    html = (tmp_path / "out" / record_name(f"{WINDOW[0]}_{WINDOW[1]}", ENV) / "retro.html").read_text(encoding="utf-8")
    page = assert_no_live_markup(html, allowed=ALLOWED_TAGS)
    assert XSS in "".join(page.text) and ENV in "".join(page.text)


def test_the_report_is_deterministic(hostile):
    again = analyze(hostile.params, events=hostile.events)
    assert report_html.render_report(again) == report_html.render_report(hostile)
