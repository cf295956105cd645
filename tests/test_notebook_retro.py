"""End-to-end: `hivepulse retro` runs notebooks/retro.ipynb with papermill (real kernels), on the sample, on a
hand-made event set with planted signals and on a real git repository; plus notebook hygiene and a headless
Chromium check of the HTML report.

Kernels are slow, so each scenario runs once per test session, even under pytest-xdist: the first worker
that needs it builds it under a file lock in the session's shared temp dir; the others reuse the result.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from gitrepo import PLANTED_EMAIL, PLANTED_NAME, TAGGER_EMAIL, TAGGER_NAME, GitRepo
from jupyterlab_styles import assert_jupyterlab_styles

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "retro.ipynb"
PACKAGED = REPO / "src" / "hivepulse" / "notebooks" / "retro.ipynb"
BIN = Path(sys.executable).parent
PLANTED = (PLANTED_NAME, PLANTED_EMAIL, TAGGER_NAME, TAGGER_EMAIL, "Zebulon", "Plantedname", "example.invalid")

pytestmark = pytest.mark.slow


def shared(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """Build ``name`` once per session (across xdist workers) and return its directory."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    target = root / f"retro-{name}"
    with open(root / f"retro-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / ".done").exists():
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            build(target)
            (target / ".done").write_text("ok", encoding="utf-8")
    return target


TODAY = "2026-05-25"
"""The window rule's "today" for these runs (as a scheduler would pin it with HIVEPULSE_TODAY): the default
window is then the sample's last iteration [2026-05-11, 2026-05-25)."""


def hivepulse(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hivepulse", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HIVEPULSE_TODAY": TODAY})


def run_ok(*args: str, cwd: Path) -> None:
    proc = hivepulse(*args, cwd=cwd)
    (cwd / "stdout.txt").write_text(proc.stdout, encoding="utf-8")
    (cwd / "stderr.txt").write_text(proc.stderr, encoding="utf-8")
    assert proc.returncode == 0, proc.stderr[-3000:]


def outputs(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.suffix in (".html", ".md", ".json", ".csv", ".ipynb")]


# ---------------------------------------------------------------------------------------------- scenarios


PROFILED = "20260520T090000Z-1"  # a profiling run recorded inside the sample's iteration [2026-05-11, 2026-05-25)


def profiling_run(root: Path, run_id: str, recorded_at: str, hit_ratio: float) -> None:
    from hivepulse.bench.findings import findings

    def scenario(name, cache, client, p50, calls, hit=None, n=300, bound=None):
        return {"name": name, "cache": cache, "client": client, "latency_ms": 100, "requests": n, "p50_ms": p50,
                "p90_ms": p50, "p99_ms": 2 * p50, "upstream_calls_per_1000": calls, "hit_ratio": hit,
                "errors": 0, "baseline_scenario": "none-naive", "upstream_bound_per_1000": bound, "boxes": 3}

    doc = {"run_id": run_id, "machine": {"recorded_at": recorded_at}, "scenarios": [
        scenario("none-naive", "none", "naive", 412.0, 3000.0, n=30),
        scenario("memory-naive", "memory", "naive", 2.5, 12.0, hit=hit_ratio, bound=20.0),
        scenario("valkey-pooled", "valkey", "pooled", 1.9, 3.0, hit=1.0, bound=20.0)]}
    doc["findings"] = findings(doc)
    (root / run_id).mkdir(parents=True)
    (root / run_id / "results.json").write_text(json.dumps(doc), encoding="utf-8")


def build_sample(d: Path) -> None:
    """`hivepulse retro` with the defaults from a directory outside the repository (the packaged sample, the
    default findings directory), which holds two profiling runs: one recorded inside the iteration (hit ratio
    0.42: a problem) and one recorded today (hit ratio 0.13), which must not count."""
    from datetime import UTC, datetime

    root = d / "profiling" / "results"
    profiling_run(root, PROFILED, "2026-05-20T09:00:00+00:00", 0.42)
    now = datetime.now(UTC)
    profiling_run(root, now.strftime("%Y%m%dT%H%M%SZ-9"), now.isoformat(timespec="seconds"), 0.13)
    run_ok("retro", "--output-dir", "retro", "--no-progress", cwd=d)


ITER = "2026-03-02_2026-03-16"
PREV = "2026-02-16_2026-03-02"


def build_planted(d: Path) -> None:
    """28 daily deployments (16:00 UTC) over two iterations, 2 changes each with identical stage times:
    commit d-1 09:00, PR opened 10:00 (coding 1 h), first review d 06:00 (pickup 20 h), merged 07:00
    (review 1 h), deployed 16:00 (deploy 9 h): lead time 31 h, pickup 20/31 = 65% of it. Both iterations
    are the same, so no change can be significant. Author names/e-mails are planted in extra columns."""
    import pandas as pd

    events = d / "events"
    events.mkdir()
    deps, changes = [], []
    for i, day in enumerate(pd.date_range("2026-02-16", "2026-03-15", freq="D", tz="UTC")):
        dep = f"prod-{i:03d}"
        deps.append({"deployment_id": dep, "environment": "production",
                     "finished_at": (day + pd.Timedelta(hours=16)).isoformat(), "status": "success",
                     "deployed_by": PLANTED_NAME, "deployer_email": PLANTED_EMAIL})
        for k in range(2):
            prev = day - pd.Timedelta(days=1)
            changes.append({
                "change_id": f"c{i:03d}{k}", "committed_at": (prev + pd.Timedelta(hours=9)).isoformat(),
                "deployment_id": dep, "pr_number": 100 + 2 * i + k,
                "pr_opened_at": (prev + pd.Timedelta(hours=10)).isoformat(),
                "first_review_at": (day + pd.Timedelta(hours=6)).isoformat(),
                "merged_at": (day + pd.Timedelta(hours=7)).isoformat(),
                "author": PLANTED_NAME, "author_email": PLANTED_EMAIL,
            })
    pd.DataFrame(deps).to_csv(events / "deployments.csv", index=False)
    pd.DataFrame(changes).to_csv(events / "changes.csv", index=False)
    (events / "incidents.csv").write_text("incident_id,opened_at,resolved_at\n", encoding="utf-8")

    from hivepulse.retro.actions import ActionItem

    def item(action_id: str, watch: str, comparator: str, target: float, baseline: float) -> dict:
        return ActionItem(id=f"{PREV}/{action_id}", action_id=action_id, title=f"old {action_id}", practice="p",
                          signal="below_tier", metric=watch, evidence="e", watch=watch, baseline=baseline,
                          comparator=comparator, target=target, target_text=f"{watch} {comparator} {target}",
                          due="2026-03-16", reach=1.0, impact=1.0, confidence=1.0, effort=1.0).to_dict()

    workspace = d / "retro"
    (workspace / "notes").mkdir(parents=True)
    ledger = {"version": 1, "iterations": {PREV: {"since": "2026-02-16", "until": "2026-03-02", "due": "2026-03-16",
              "followups": [], "actions": [
                  item("release-automation", "deployment_frequency", ">=", 5.0, 3.0),  # 7/week now: met
                  item("trunk-based-development", "lead_time", "<", 24.0, 40.0),  # 31 h now: not met
                  item("automated-rollback", "recovery_time", "<", 1.0, 2.0),  # no failure now: not measurable
              ]}}}
    (workspace / "ledger.json").write_text(json.dumps(ledger), encoding="utf-8")
    (workspace / "notes" / f"{ITER}.yaml").write_text(
        "to_improve:\n"
        f"  - {{text: Reviews wait overnight, votes: 4, metric: lead_time, author: {PLANTED_NAME}}}\n"
        "went_well:\n  - text: Calm deploys\n    votes: 1\n",
        encoding="utf-8",
    )
    (d / "params.yaml").write_text(
        f"path: {events}\nsince: 2026-03-02\nuntil: 2026-03-16\nprevious_iterations: 1\noutput_dir: retro\n"
        "findings: ''\n",
        encoding="utf-8",
    )
    run_ok("retro", "-f", "params.yaml", "--no-progress", cwd=d)


def build_git(d: Path) -> None:
    repo = GitRepo(d / "repo")
    for i in range(8):
        day = 2 + 2 * i  # 2026-03-02 .. 2026-03-16, every two days
        repo.commit(f"feat: change {i}\n\nWritten by {PLANTED_NAME} <{PLANTED_EMAIL}>",
                    f"2026-02-{16 + i:02d}T10:00:00+00:00" if i < 7 else "2026-02-27T10:00:00+00:00")
        repo.tag(f"v1.0.{i}", annotated_at=f"2026-03-{min(day, 15):02d}T12:00:00+00:00")
    run_ok("retro", "--source", "git", "--path", "repo", "--since", "2026-03-02", "--until", "2026-03-16",
           "--previous-iterations", "1", "--output-dir", "out", "--findings", "", "--no-progress", cwd=d)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return shared(tmp_path_factory, "sample", build_sample)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return shared(tmp_path_factory, "planted", build_planted)


@pytest.fixture(scope="module")
def gitrun(tmp_path_factory):
    return shared(tmp_path_factory, "git", build_git)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------- sample


def test_sample_records_and_report(sample):
    rec = sample / "retro" / "2026-05-11_2026-05-25"
    assert sorted(p.name for p in rec.iterdir()) == [
        "README.md", "actions.csv", "actions.json", "metrics.json", "retro.html", "retro.ipynb"]
    assert "Report: retro/2026-05-11_2026-05-25/retro.html" in (sample / "stdout.txt").read_text()
    metrics = load(rec / "metrics.json")
    assert metrics["iteration"] == "2026-05-11_2026-05-25" and metrics["due"] == "2026-06-08"
    assert metrics["metrics"]["window"]["since"] == "2026-05-11T00:00:00Z"
    actions = load(rec / "actions.json")["actions"]
    assert 1 <= len(actions) <= 3
    for a in actions:
        pattern = r"\(n=\d+ lookups\).*; reach: " if a["signal"] == "finding" else r"\(n=\d+, CI "
        assert re.search(pattern, a["evidence"]), a["evidence"]
        assert a["owner"] == "" and a["due"] == "2026-06-08" and a["target_text"] and a["watch"]
    assert len({a["action_id"] for a in actions}) == len(actions)
    ledger = load(sample / "retro" / "ledger.json")
    assert [a["id"] for a in ledger["iterations"]["2026-05-11_2026-05-25"]["actions"]] == [a["id"] for a in actions]
    readme = (rec / "README.md").read_text()
    for heading in ("## Headline", "## What went well", "## What to improve", "## Action items", "## Data quality"):
        assert heading in readme
    html = (rec / "retro.html").read_text()
    assert 'class="hp-headline"' in html and "<h2>Headline</h2>" in html
    assert "from hivepulse" not in html  # no code cells
    assert "Retrospective Prime Directive" in html


def test_sample_outside_the_repo_uses_the_packaged_sample_and_the_profiling_run_of_the_iteration(sample):
    rec = sample / "retro" / "2026-05-11_2026-05-25"
    readme = (rec / "README.md").read_text()
    assert "Source: the sample data shipped with hivepulse" in readme
    evidence = readme.split("## Profiling evidence", 1)[1].split("## ", 1)[0]
    assert f"- Run {PROFILED}, recorded 2026-05-20 09:00 UTC" in evidence
    assert "problem(s), each a candidate action item: hit ratio 0.42 under naive client with memory cache (n=300" \
        in evidence
    assert "hit ratio 1.00" not in evidence and len(evidence.strip().splitlines()) <= 4  # 3 lines (+ a link)
    html = (rec / "retro.html").read_text()
    assert 'class="hp-profiling"' in html and f"<li>Run {PROFILED}, recorded" in html
    assert "hit ratio 0.13" not in readme + html  # today's run lies outside May 2026
    actions = {a["action_id"]: a for a in load(rec / "actions.json")["actions"]}
    hit = actions["raise-cache-hit-ratio"]  # the problem competes with the DORA actions and wins here:
    # reach 0.58 (misses) x impact 1 (gap 0.475) x confidence 0.8 (n=300, lab cap) / effort 1 = 0.464
    assert (hit["score"], hit["comparator"], hit["target"]) == (0.464, ">=", 0.8)
    assert not re.search(r"<script[^>]+src=\"https?:", html)  # works offline


def test_executed_notebook_has_png_images(sample):
    nb = nbformat.read(sample / "retro" / "2026-05-11_2026-05-25" / "retro.ipynb", as_version=4)
    outs = [out.get("data", {}) for c in nb.cells if c.cell_type == "code" for out in c.outputs]
    html = "".join(str(data.get("text/html", "")) for data in outs)
    # the 5 trends, the lead-time distribution and breakdown, the timeline: HTML <img> with alt texts, so an
    # nbconvert export never says "No description has been provided for this image"
    assert html.count('src="data:image/png;base64,') == 8
    alts = re.findall(r'<img [^>]*alt="([^"]*)"', html)
    assert len(alts) == 8 and all(len(a) > 40 for a in alts)
    assert not any("image/png" in data for data in outs)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_html_report_renders_in_headless_chromium(sample, tmp_path):
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is missing and CI=true: .ci/run installs Debian's chromium package")
        pytest.skip("chromium binary not found (apt-get install chromium); CI is not set")
    html = sample / "retro" / "2026-05-11_2026-05-25" / "retro.html"
    proc = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path}",
         "--dump-dom", html.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'class="hp-headline"' in dom and ">Headline<" in dom
    assert len(re.findall(r'class="hp-card hp-tier-', dom)) == 5
    assert len(re.findall(r"<img\b[^>]*src=\"data:image/png", dom)) >= 5


def chromium(html: Path, tmp_path: Path, *extra: str) -> str:
    """The DOM of ``html`` after headless Chromium rendered it (``--dump-dom``)."""
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chromium is missing and CI=true: .ci/run installs Debian's chromium package")
        pytest.skip("chromium binary not found (apt-get install chromium); CI is not set")
    proc = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'chr'}",
         "--window-size=1280,2000", *extra, "--dump-dom", html.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


SECTION_IDS = ["headline", "actions", "followup", "story", "trends", "lead-time", "deployments", "shipped", "notes",
               "profiling", "quality", "records"]
HEADINGS = ["Headline", "Action items", "Follow-up of previous action items", "What to improve, what went well",
            "Trends", "Lead time", "Deployments", "What shipped", "Team notes", "Profiling evidence", "Data quality",
            "Records"]


def test_rendered_page_has_the_retro_order_and_a_title(sample, tmp_path):
    """Issue 13, items 3 and 9: the section order and the <title>, read from the page Chromium rendered."""
    from hivepulse.report.html import SECTIONS

    assert [s for s, _ in SECTIONS] == SECTION_IDS and [h for _, h in SECTIONS] == HEADINGS
    dom = chromium(sample / "retro" / "2026-05-11_2026-05-25" / "retro.html", tmp_path)
    assert re.search(r"<title>Retro 2026-05-11_2026-05-25 · production · hivepulse</title>", dom)
    assert re.findall(r'data-section="([a-z-]+)"', dom) == SECTION_IDS
    assert re.findall(r"<h2>([^<]+)</h2>", dom) == HEADINGS
    for alt in re.findall(r'<img [^>]*alt="([^"]*)"', dom):
        assert len(alt) > 40 and "No description" not in alt  # every image says what it shows, with numbers


def test_records_and_notebook_follow_the_same_order(sample):
    rec = sample / "retro" / "2026-05-11_2026-05-25"
    readme = [line[3:] for line in (rec / "README.md").read_text().splitlines() if line.startswith("## ")]
    assert readme == ["Headline", "Action items", "Follow-up of previous action items", "What to improve",
                      "What went well", "Trends", "Lead time: the slowest changes", "Deployments: the failed ones",
                      "What shipped", "Team notes", "Profiling evidence", "Data quality"]
    nb = nbformat.read(rec / "retro.ipynb", as_version=4)
    heads = [c.source.splitlines()[0][3:] for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## ")]
    assert heads == HEADINGS[1:]  # the headline cell has its own heading in its output
    calls = [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("S.")]
    assert calls == ["S.headline(r)", "S.action_items(r)", "S.followup(r)", "S.went_well(r)", "S.trends(r)",
                     "S.lead_time(r)", "S.deployments(r)", "S.what_shipped(r)", "S.team_notes(r)",
                     "S.profiling_evidence(r)", "S.data_quality(r)", "S.records(r)"]


MEASURE = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images].map(i => [i.className, i.naturalWidth, i.getBoundingClientRect().width]);
  const cards = [...document.querySelectorAll(".hp-card")].map(c => Math.round(c.getBoundingClientRect().top));
  document.body.setAttribute("data-measure", JSON.stringify({imgs, cards}));
});
</script>"""


def test_charts_are_shown_at_their_drawn_size(sample, tmp_path):
    """The wide charts fill the content width at 1:1 (so 10 pt text stays 10 pt), the trends sit 3 per row
    at 1:1, and the five headline cards share one row at 1280 px."""
    from hivepulse.report import plots

    page = (sample / "retro" / "2026-05-11_2026-05-25" / "retro.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(probe, tmp_path, "--virtual-time-budget=5000")
    found = re.search(r'data-measure="([^"]*)"', dom)
    assert found, "the probe did not run"
    measure = json.loads(found.group(1).replace("&quot;", '"'))
    wide = [(w, r) for cls, w, r in measure["imgs"] if cls == "hp-figure"]
    trends = [(w, r) for cls, w, r in measure["imgs"] if cls == "hp-trend"]
    assert len(wide) == 3 and len(trends) == 5
    assert all(w == plots.CONTENT_WIDTH_PX and abs(r - w) <= 1 for w, r in wide), wide
    assert all(abs(r - w) / w <= 0.02 for w, r in trends), trends
    assert len(measure["cards"]) == 5 and len(set(measure["cards"])) == 1  # one row of five


def test_headline_renders_without_style_elements(sample):
    """JupyterLab drops <style> from untrusted outputs: the executed notebook's headline carries only inline
    styles, with properties JupyterLab's sanitizer keeps."""
    nb = nbformat.read(sample / "retro" / "2026-05-11_2026-05-25" / "retro.ipynb", as_version=4)
    headline = next(c for c in nb.cells if c.cell_type == "code" and c.source == "S.headline(r)")
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in headline.outputs)
    assert "<style" not in html and len(re.findall(r'class="hp-card hp-tier-', html)) == 5
    assert_jupyterlab_styles(html)


# ---------------------------------------------------------------------------------------------- planted


def test_planted_pickup_bottleneck_yields_review_time_action(planted):
    actions = load(planted / "retro" / ITER / "actions.json")["actions"]
    by_id = {a["action_id"]: a for a in actions}
    review = by_id["review-pickup-time"]
    assert review["title"].startswith("Review time")
    # evidence: lead time median 31 h (n=28 changes of the iteration), pickup 20 h of 31 h = 65%
    assert review["evidence"].startswith("lead time median 31 h (n=28, CI 31-31 h, tier high), pickup is 65% of it")
    # RICE: reach 1.0 x impact 1 (high) x confidence 0.8 (n=28) / effort 0.5 = 1.6; 4 votes: x 1.4 = 2.24
    assert review["score"] == pytest.approx(2.24) and review["votes"] == 4
    assert (review["watch"], review["comparator"], review["target"]) == ("pickup_hours_median", "<=", 10.0)
    assert review["due"] == "2026-03-30" and review["owner"] == ""


def test_planted_no_significant_change_claims_none(planted):
    metrics = load(planted / "retro" / ITER / "metrics.json")
    comparison = metrics["metrics"]["comparison"]
    assert not any(comparison[m]["significant"] for m in ("deployment_frequency", "lead_time", "change_fail_rate"))
    claimed = metrics["claims"]["went_well"] + metrics["claims"]["to_improve"]
    assert not [c for c in claimed if c["kind"] in ("improved", "regressed")]
    readme = (planted / "retro" / ITER / "README.md").read_text()
    assert "Improved:" not in readme and "Regressed:" not in readme


def test_planted_follow_up_met_not_met_not_measurable(planted):
    metrics = load(planted / "retro" / ITER / "metrics.json")
    verdicts = {f["action_id"]: (f["verdict"], f["now"]) for f in metrics["followups"]}
    assert verdicts == {
        "release-automation": ("met", 7.0),  # 14 deployments in 14 days = 7/week >= 5
        "trunk-based-development": ("not met", 31.0),  # 31 h is not < 24 h
        "automated-rollback": ("not measurable", None),  # no failed deployment: no recovery time
    }
    assert metrics["previous_iteration"] == PREV
    actions = load(planted / "retro" / ITER / "actions.json")["actions"]
    carried = actions[0]
    assert (carried["id"], carried["carried_from"], carried["carry_count"]) == (
        f"{PREV}/trunk-based-development", PREV, 1)
    assert [a["action_id"] for a in actions] == ["trunk-based-development", "review-pickup-time"]
    ledger = load(planted / "retro" / "ledger.json")
    assert sorted(ledger["iterations"]) == [PREV, ITER]
    html = (planted / "retro" / ITER / "retro.html").read_text()
    assert 'data-verdict="met"' in html and "Reviews wait overnight" in html


def test_planted_rerun_changes_nothing_in_the_ledger(planted, tmp_path):
    """Idempotency through the library (no second kernel): analyze + write the same iteration again."""
    from hivepulse.retro.analysis import RetroParams, analyze

    work = tmp_path / "w"
    shutil.copytree(planted / "retro", work / "retro")
    before = (work / "retro" / "ledger.json").read_bytes()
    records = {p.name: p.read_bytes() for p in (work / "retro" / ITER).iterdir() if p.suffix in (".json", ".csv", ".md")}
    params = RetroParams(path=str(planted / "events"), since="2026-03-02", until="2026-03-16", previous_iterations=1,
                         output_dir=str(work / "retro"), findings="")
    analyze(params).write()
    assert (work / "retro" / "ledger.json").read_bytes() == before
    for name, data in records.items():
        assert (work / "retro" / ITER / name).read_bytes() == data, name
    assert (work / "retro" / ITER / "retro.html").is_file()  # the report survives a rewrite of the records


# ---------------------------------------------------------------------------------------------- blameless


@pytest.mark.parametrize("scenario", ["planted", "gitrun"])
def test_blameless_no_names_or_emails_in_any_output(scenario, request):
    root = request.getfixturevalue(scenario)
    files = outputs(root / ("retro" if scenario == "planted" else "out"))
    kinds = {p.suffix for p in files}
    assert {".html", ".md", ".json", ".csv", ".ipynb"} <= kinds
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for needle in PLANTED:
            assert needle.lower() not in text.lower(), f"{needle!r} leaked into {path}"
    for name in ("stdout.txt", "stderr.txt"):
        text = (root / name).read_text()
        assert not any(n.lower() in text.lower() for n in PLANTED)


def test_git_source_run_measures_the_repository(gitrun):
    metrics = load(gitrun / "out" / ITER / "metrics.json")
    assert metrics["parameters"]["source"] == "git"
    assert metrics["metrics"]["deployment_frequency"]["n"] >= 1


# ---------------------------------------------------------------------------------------------- failure


def test_failing_cell_is_named_and_notebook_kept(tmp_path):
    bad = tmp_path / "events"
    bad.mkdir()
    (bad / "deployments.csv").write_text("deployment_id,environment,finished_at,status\nd1,production,yesterday,success\n")
    (bad / "changes.csv").write_text("change_id,committed_at,deployment_id\n")
    proc = hivepulse("retro", "--path", str(bad), "--output-dir", "out", "--findings", "", "--no-progress",
                     "--previous-iterations", "1", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("hivepulse retro: error:") and "deployments.csv" in last and "finished_at" in last
    assert "cell 3 (In [3]: from hivepulse.report import sections as S)" in last  # cell 2 is papermill's injected one
    kept = tmp_path / "out" / "runs" / "2026-05-11_2026-05-25.ipynb"
    assert kept.is_file() and f"executed notebook kept: out/runs/{kept.name}" in last
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "2026-05-11_2026-05-25").exists()


def test_parameters_file_unknown_name_is_exit_2(tmp_path):
    (tmp_path / "p.yaml").write_text("pathh: x\n")
    proc = hivepulse("retro", "-f", "p.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "p.yaml" in proc.stderr and "pathh" in proc.stderr and "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------------------------- hygiene


def test_committed_notebook_has_no_outputs_and_a_parameters_cell():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    names = re.findall(r"^(\w+):", params[0].source, flags=re.M)
    assert names == ["source", "path", "repository", "since", "until", "iteration_days", "previous_iterations",
                     "environment", "tz", "tier_edition", "notes", "output_dir", "max_actions", "findings",
                     "allow_empty"]
    # the committed values are the defaults of the parameters model, the window rule's included (no dates)
    from hivepulse.commands.retro import notebook_defaults
    from hivepulse.retro.params import RetroParams

    assert notebook_defaults(NOTEBOOK) == RetroParams().model_dump()
    assert (RetroParams().since, RetroParams().until) == ("", "")
    assert "papermill" not in nb.metadata


def test_notebook_passes_ruff():
    ruff = BIN / "ruff"
    if not ruff.exists():
        pytest.skip("ruff is not installed in this environment")
    proc = subprocess.run([str(ruff), "check", str(NOTEBOOK), str(PACKAGED)], capture_output=True, text=True,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_parameters_tag_survives_nbstripout(tmp_path):
    copy = tmp_path / "retro.ipynb"
    shutil.copy(NOTEBOOK, copy)
    tool = BIN / "nbstripout"
    if not tool.exists():
        pytest.skip("nbstripout is not installed (dev extra)")
    proc = subprocess.run([str(tool), "--keep-id", "--extra-keys", "metadata.kernelspec metadata.language_info.version",
                           str(copy)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    nb = nbformat.read(copy, as_version=4)
    assert [c.metadata.get("tags") for c in nb.cells if "parameters" in c.metadata.get("tags", [])] == [["parameters"]]
    original = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in original.cells]


def test_packaged_notebook_is_identical_to_the_canonical_one():
    assert PACKAGED.read_bytes() == NOTEBOOK.read_bytes()
