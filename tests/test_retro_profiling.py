"""Profiling findings in the retro, at library level (no kernel): metric directions, problem vs good news,
RICE terms of finding-based actions (hand-computed), one action per catalog entry, follow-up from the
findings of the next retro (met / not met / not measurable, expiry), which profiling run counts for an
iteration, the *Profiling evidence* section, records kept when the HTML export fails, the packaged sample
and flag errors."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import nbformat
import pytest

from hivepulse.bench.findings import findings as bench_findings
from hivepulse.errors import InputError
from hivepulse.metrics import dora
from hivepulse.report import sections as S
from hivepulse.retro import actions as act
from hivepulse.retro import ledger as led
from hivepulse.retro import signals as sig
from hivepulse.retro.actions import ActionItem
from hivepulse.retro.analysis import RetroParams, analyze
from hivepulse.retro.facts import Measurement, Signal
from hivepulse.retro.findings import finding_signal
from hivepulse.retro.profiling import Finding, measurements, select_run
from hivepulse.retro.rice import gap_impact
from hivepulse.sources.files import read_events
from hivepulse.vocabulary import DIRECTION, direction, polarity
from hivepulse.vocabulary import METRICS as DORA_METRICS

REPO = Path(__file__).resolve().parents[1]
MAY = (date(2026, 5, 11), date(2026, 5, 25))  # the bundled sample's default iteration
METRICS = {"lead_time": "high", "deployment_frequency": "elite"}  # the tiers of this iteration's metrics


def quiet_report():
    """A real engine report without any DORA signal: 14 daily deployments, each shipping one change committed
    an hour before (lead time 1 h, elite), no failure."""
    from test_dora_helpers import C, D, build

    from hivepulse.metrics.dora import MetricsConfig, Window, compute

    deps = [D(f"d{i}", f"2026-05-{11 + i:02d}T10:00:00Z") for i in range(14)]
    changes = [C(f"c{i}", f"2026-05-{11 + i:02d}T09:00:00Z", f"d{i}") for i in range(14)]
    return compute(build(deps, changes), Window.parse("2026-05-11", "2026-05-25"), MetricsConfig(n_boot=200)).published()


def problem(metric, value, threshold, *, scenario="memory-naive", n=300, reach=None, significant=None, kind="problem",
            **extra):
    return Finding.from_json({
        "metric": metric, "value": value, "threshold": threshold, "scenario": scenario, "n": n, "reach": reach,
        "kind": kind, "significant": significant, "text": f"{metric} {value} under {scenario} (n={n})",
        "better": direction(metric), **extra})


def scenario(name, cache, client, p50, p99, calls, hit=None, n=300, bound=None, errors=0):
    return {"name": name, "cache": cache, "client": client, "latency_ms": 100, "requests": n, "p50_ms": p50,
            "p90_ms": p50, "p99_ms": p99, "upstream_calls_per_1000": calls, "hit_ratio": hit, "speedup": None,
            "speedup_ci": None, "errors": errors, "baseline_scenario": "none-naive", "upstream_wait_share": None,
            "upstream_bound_per_1000": bound, "boxes": 3, "cache_hits": None, "cache_misses": None}


def results(run_id, recorded_at=None, scenarios=None, created_at=None):
    doc = {"run_id": run_id, "machine": {"recorded_at": recorded_at} if recorded_at else {},
           "scenarios": scenarios if scenarios is not None else [
               scenario("none-naive", "none", "naive", 412.0, 900.0, 3000.0, n=30),
               scenario("memory-naive", "memory", "naive", 2.5, 5.0, 1800.0, hit=0.42, bound=20.0),
               scenario("valkey-pooled", "valkey", "pooled", 1.9, 4.0, 3.0, hit=1.0, bound=20.0)]}
    if created_at:
        doc["created_at"] = created_at
    doc["findings"] = bench_findings(doc)
    return doc


def write_run(root: Path, run_id: str, doc: dict | str) -> Path:
    d = root / run_id
    d.mkdir(parents=True)
    (d / "results.json").write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return d


# ---------------------------------------------------------------------------------------------- 1 polarity


def test_every_metric_has_one_explicit_direction():
    assert {m: DIRECTION[m] for m in DORA_METRICS} == {"deployment_frequency": "higher", "lead_time": "lower",
                                                       "change_fail_rate": "lower", "recovery_time": "lower",
                                                       "rework_rate": "lower"}
    # one table: the engine's comparison reads its polarity from the vocabulary, it keeps no copy
    assert [polarity(m) for m in DORA_METRICS] == [1, -1, -1, -1, -1] and not hasattr(dora, "_POLARITY")
    emitted = {f["metric"] for f in results("r")["findings"]} | {
        "speedup_p50", "upstream_calls_saved", "naive_client_overhead", "upstream_wait_share", "errors",
        "baseline_ratio", "profiler_unavailable"}
    assert all(m in DIRECTION for m in emitted), emitted - set(DIRECTION)
    assert {m for m in emitted if DIRECTION[m] == "higher"} == {"speedup_p50", "hit_ratio", "upstream_calls_saved"}
    assert direction("pickup_hours_median") == direction("review_share") == "lower"
    assert direction("p95_latency_ms") == "lower" and direction("apdex") is None
    assert direction("apdex", "higher") == "higher"  # a team finding may declare its own


def test_targets_follow_the_direction():
    entry = act.load_catalog()[0]
    rel = act.TargetRule(rule="relative", change=0.2)
    # higher is better: 0.5 x 1.2 = 0.6; 10 x 1.2 = 12; lower is better: 200 x 0.8 = 160
    assert act.set_target(entry, "hit_ratio", 0.5, tier=None, previous=None, rule=rel)[:2] == (">=", 0.6)
    assert act.set_target(entry, "upstream_calls_saved", 0.5, tier=None, previous=None, rule=rel)[:2] == (">=", 0.6)
    assert act.set_target(entry, "speedup_p50", 10.0, tier=None, previous=None, rule=rel)[:2] == (">=", 12.0)
    assert act.set_target(entry, "p99_ms", 200.0, tier=None, previous=None, rule=rel)[:2] == ("<=", 160.0)
    out = act.set_target(entry, "hit_ratio", 0.42, tier=None, previous=None, rule=act.TargetRule(rule="threshold"),
                         threshold=0.8)
    assert out == (">=", 0.8, "hit_ratio >= 0.80 (the profiling threshold)")
    assert act.set_target(entry, "apdex", 0.5, tier=None, previous=None, rule=rel)[1] is None  # unknown: no target


# ---------------------------------------------------------------------------------------------- 2 + 3


def test_only_problems_become_actions_one_per_catalog_entry():
    found = results("r")["findings"]
    kinds = {(f["metric"], f["scenario"]): f["kind"] for f in found}
    assert kinds[("hit_ratio", "valkey-pooled")] == "good"  # hit ratio 1.00: good news
    assert kinds[("upstream_calls_saved", "valkey-pooled")] == "good"  # 99.9% saved, within the bound
    assert kinds[("hit_ratio", "memory-naive")] == "problem"
    assert kinds[("upstream_calls_per_1000", "memory-naive")] == "problem"  # 1800 > bound 20
    signals = [s for s in sig.detect(quiet_report(), findings=[Finding.from_json(f) for f in found])
               if s.kind == "finding"]
    assert {(s.metric, s.finding.scenario) for s in signals} == {
        ("hit_ratio", "memory-naive"), ("upstream_calls_per_1000", "memory-naive")}
    items = act.propose(signals, act.load_catalog(), tiers=METRICS, measurements={}, iteration_id="it", due="d")
    assert sorted(i.action_id for i in items) == ["raise-cache-hit-ratio", "single-flight-refresh"]
    assert len({i.title for i in items}) == len(items)
    hit = next(i for i in items if i.action_id == "raise-cache-hit-ratio")
    assert (hit.watch, hit.comparator, hit.target) == ("hit_ratio", ">=", 0.8)  # not "<= 0.70"
    assert hit.details.measurement == "hit_ratio@memory-naive"


def test_finding_rice_hand_computed_and_fair_against_dora():
    hit = finding_signal(problem("hit_ratio", 0.42, 0.8, reach=0.58))
    # reach 0.58 (miss share); gap (0.8 - 0.42) / 0.8 = 0.475 -> impact 1; n=300 -> 1.0, capped at 0.8
    assert (hit.reach, hit.impact, hit.confidence) == (0.58, 1.0, 0.8)
    over = finding_signal(problem("naive_client_overhead", 1.5, 1.2, scenario="none-naive", n=50, reach=0.4,
                                      significant=False))
    # gap (1.5 - 1.2) / 1.2 = 0.25 -> impact 1; n=50 -> 1.0 x 0.5 (not significant) = 0.5
    assert (over.reach, over.impact, over.confidence) == (0.4, 1.0, 0.5)
    errors = finding_signal(problem("errors", 3, 0.0, n=300, reach=0.01))
    assert errors.impact == 3.0  # any error beyond a threshold of 0 is massive; reach 1% scales it
    assert [gap_impact(g) for g in (2.0, 1.0, 0.6, 0.3, 0.15, 0.05, None)] == [3, 3, 2, 1, 0.5, 0.25, 1]
    pickup = Signal("dominant_stage", "lead_time", "pickup is 65% of it", 1.0, 1.0, 0.8, stage="pickup",
                        value=0.645, n=28, tier="high")
    items = act.propose([hit, over, errors, pickup], act.load_catalog(), tiers=METRICS,
                        measurements={"pickup_hours_median": Measurement(20.0, 28)}, iteration_id="it", due="d")
    scores = {i.action_id: i.score for i in items}
    # pickup 1.0 x 1 x 0.8 / 0.5 = 1.6; hit ratio 0.58 x 1 x 0.8 / 1 = 0.464; overhead 0.4 x 1 x 0.5 / 0.5 = 0.4;
    # errors 0.01 x 3 x 0.8 / 1 = 0.024
    assert scores == {"review-pickup-time": 1.6, "raise-cache-hit-ratio": 0.464, "reuse-http-client": 0.4,
                      "fix-errors-under-load": 0.024}
    assert [i.action_id for i in items][0] == "review-pickup-time"


def test_same_problem_in_several_scenarios_is_one_action():
    worse = finding_signal(problem("hit_ratio", 0.42, 0.8, reach=0.58))
    # 0.6: reach 0.4, gap 0.25 -> impact 1: 0.4 x 1 x 0.8 / 1 = 0.32 < 0.464
    other = finding_signal(problem("hit_ratio", 0.6, 0.8, scenario="memcached-naive", reach=0.4))
    legacy = finding_signal(Finding.from_json({"metric": "p95_latency_ms", "value": 850.0, "text": "p95 850 ms"}))
    assert legacy is None  # no kind: listed as evidence, never an action
    items = act.propose([worse, other], act.load_catalog(), tiers=METRICS, measurements={}, iteration_id="it",
                        due="d")
    assert [(i.action_id, i.score) for i in items] == [("raise-cache-hit-ratio", 0.464)]
    assert items[0].evidence.endswith("(and 1 more scenario(s) with the same problem)")
    team = finding_signal(problem("apdex", 0.6, 0.9, better="higher"))
    fallback = act.propose([team], act.load_catalog(), tiers=METRICS, measurements={}, iteration_id="it", due="d")
    assert [(i.action_id, i.comparator, i.target) for i in fallback] == [("profile-and-cache", ">=", 0.9)]


def test_an_entry_carried_twice_is_still_one_action():
    """Retro 1 sets X; at retro 2 X is not measurable (pending) and fires again (new X); at retro 3 both are
    not met: one X, the oldest, not two items with the same title."""
    import dataclasses

    first = dataclasses.replace(finding_item(), carried_from="A", carry_count=1)
    again = dataclasses.replace(first, id="B/raise-cache-hit-ratio", carried_from="B")
    chosen = act.select([], [again, first], max_actions=3)
    assert [(c.id, c.carried_from) for c in chosen] == [("A/raise-cache-hit-ratio", "A")]


# ---------------------------------------------------------------------------------------------- 4 follow-up


def finding_item():
    signal = finding_signal(problem("hit_ratio", 0.42, 0.8, reach=0.58))
    return act.propose([signal], act.load_catalog(), tiers=METRICS, measurements={}, iteration_id="A",
                       due="d")[0]


def test_follow_up_of_a_finding_item_from_the_next_runs_findings(tmp_path):
    item = finding_item()
    good = [scenario("memory-naive", "memory", "naive", 2.0, 4.0, 3.0, hit=0.91, bound=20.0)]
    write_run(tmp_path, "r1", results("r1", "2026-05-12T09:00:00+00:00", good))
    run = select_run(tmp_path, *MAY).run
    meas = measurements(run)
    assert meas["hit_ratio@memory-naive"].value == 0.91 and meas["errors@memory-naive"].value == 0.0
    [met] = led.follow_up([item], meas)
    assert (met.verdict, met.outcome, met.now, met.n_now) == ("met", "closed", 0.91, 300)
    [unmet] = led.follow_up([item], {"hit_ratio@memory-naive": Measurement(0.5, 300)})
    assert (unmet.verdict, unmet.outcome) == ("not met", "carried over")
    assert [c.carry_count for c in led.carry_over([item], [unmet])] == [1]


def test_not_measurable_without_a_run_then_expires():
    item = finding_item()
    [first] = led.follow_up([item], {})  # no profiling run for this iteration
    assert (first.verdict, first.outcome, first.unmeasured) == ("not measurable", "still open", 1)
    [pending] = led.still_open([item], [first])
    assert pending.details.unmeasured == 1
    [second] = led.follow_up([pending], {})
    assert (second.verdict, second.outcome, second.unmeasured) == ("not measurable", "expired", 2)
    assert led.still_open([pending], [second]) == []  # closed: not carried forever
    dora_item = {**item.to_dict(), "signal": "below_tier", "details": {}, "watch": "lead_time"}
    [kept] = led.follow_up([ActionItem.from_dict({**dora_item, "details": {"unmeasured": 5}})], {})
    assert kept.outcome == "still open"  # DORA items keep waiting through data gaps


# ---------------------------------------------------------------------------------------------- 6 which run


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "profiling" / "results"
    write_run(root, "20260512T090000Z-1", results("20260512T090000Z-1", "2026-05-12T09:00:00+00:00"))
    write_run(root, "20260520T090000Z-2", results("20260520T090000Z-2", "2026-05-20T09:00:00+00:00"))
    # no machine.recorded_at, no created_at: the run id's timestamp, 2026-05-21 00:00 UTC, inside: the newest
    write_run(root, "20260521T000000Z-4", results("20260521T000000Z-4"))
    write_run(root, "20260525T000000Z-6", results("20260525T000000Z-6", "2026-05-25T00:00:00Z"))  # until: out
    write_run(root, "20261126T060000Z-3", results("20261126T060000Z-3", "2026-11-26T06:00:00+00:00"))  # today
    write_run(root, ".20260522T000000Z-5.partial", results("20260522T000000Z-5", "2026-05-22T00:00:00Z"))
    write_run(root, "broken", "{not json")
    return root


def test_newest_run_recorded_inside_the_iteration_counts(runs):
    may = select_run(runs, *MAY)
    assert may.run.run_id == "20260521T000000Z-4" and not may.explicit and may.in_window
    assert may.notes == ["Skipped profiling run broken: unreadable results.json."]
    assert select_run(runs, date(2026, 11, 16), date(2026, 11, 30)).run.run_id == "20261126T060000Z-3"
    none = select_run(runs, date(2026, 1, 1), date(2026, 1, 15))
    assert none.run is None and none.findings == []
    assert none.notes[0] == ("No profiling run recorded in this iteration [2026-01-01, 2026-01-15) (5 run(s) in "
                             "results/ were recorded outside it).")


def test_a_run_named_explicitly_is_always_used_with_a_note(runs):
    today = select_run(runs / "20261126T060000Z-3", *MAY)
    assert today.run.run_id == "20261126T060000Z-3" and today.explicit and not today.in_window
    assert "outside this iteration [2026-05-11, 2026-05-25)" in today.notes[0]
    inside = select_run(runs / "20260512T090000Z-1", *MAY)
    assert inside.explicit and inside.in_window and inside.notes == []
    with pytest.raises(InputError, match="broken/results.json.*not valid JSON"):
        select_run(runs / "broken", *MAY)


# ---------------------------------------------------------------------------------------------- 5 evidence


SAMPLE_WINDOW = {"since": "2026-05-11", "until": "2026-05-25"}  # the sample's last iteration (not the default)


@pytest.fixture(scope="module")
def sample():
    return read_events(REPO / "data" / "sample")


def test_evidence_section_in_record_and_report(sample, runs, tmp_path):
    result = analyze(RetroParams(**SAMPLE_WINDOW, output_dir=str(tmp_path / "retro"), findings=str(runs)), events=sample)
    readme = result.readme()
    section = readme.split("## Profiling evidence", 1)[1].split("## Data quality", 1)[0]
    # at most three lines (issue 13): the run, its problems, the count of the rest; no link without a report
    assert section.strip().splitlines() == [
        "- Run 20260521T000000Z-4, recorded 2026-05-21 00:00 UTC (the newest run recorded in this iteration). "
        "Skipped profiling run broken: unreadable results.json.",
        "- 2 problem(s), each a candidate action item: hit ratio 0.42 under naive client with memory cache "
        "(n=300 lookups), below 0.80; 1800 upstream calls per 1,000 requests under naive client with memory "
        "cache (n=300), above the TTL bound of 20.",
        "- 6 good-news and 4 other finding(s), listed in metrics.json (profiling).",
    ]
    record = json.loads(result.record_files()["metrics.json"])["profiling"]
    assert (record["run_id"], record["recorded_at"], record["in_window"]) == (
        "20260521T000000Z-4", "2026-05-21T00:00:00+00:00", True)
    assert len(record["findings"]) == 12  # every finding stays in the record
    html = S.profiling_evidence_html(result)
    assert html.count("<li>") == 3 and "hp-profiling-report" not in html
    (runs / "20260521T000000Z-4" / "profiling.html").write_text("<html></html>", encoding="utf-8")
    linked = analyze(RetroParams(**SAMPLE_WINDOW, output_dir=str(tmp_path / "retro"), findings=str(runs)), events=sample)
    assert linked.profiling_report() == "../../profiling/results/20260521T000000Z-4/profiling.html"
    assert 'href="../../profiling/results/20260521T000000Z-4/profiling.html"' in S.profiling_evidence_html(linked)
    assert "- Profiling report: [profiling.html](../../profiling/results/20260521T000000Z-4/profiling.html)" \
        in linked.readme()
    ids = [a.action_id for a in result.candidates]
    assert len(ids) == len(set(ids)) and "raise-cache-hit-ratio" in ids
    assert not any(a.signal == "finding" and a.metric == "upstream_calls_saved" for a in result.candidates)


def test_todays_runs_do_not_change_the_sample_retro(sample, runs, tmp_path):
    for run in ("20260512T090000Z-1", "20260520T090000Z-2", "20260521T000000Z-4"):
        shutil.rmtree(runs / run)  # only runs outside May remain (today's, the one at `until`)
    with_runs = analyze(RetroParams(**SAMPLE_WINDOW, output_dir=str(tmp_path / "a"), findings=str(runs)), events=sample)
    without = analyze(RetroParams(**SAMPLE_WINDOW, output_dir=str(tmp_path / "b"), findings=""), events=sample)
    assert [a.to_dict() for a in with_runs.actions] == [a.to_dict() for a in without.actions]
    assert with_runs.profiling.run is None
    said = "No profiling run recorded in this iteration [2026-05-11, 2026-05-25) (2 run(s) in results/ were " \
           "recorded outside it)."
    assert with_runs.readme().count("No profiling run") == 1 and f"- {said}" in with_runs.readme()
    html = S.profiling_evidence_html(with_runs)
    assert html.count("No profiling run") == 1 and said in html  # once, not twice (issue 13)


# ---------------------------------------------------------------------------------------------- 7 export


def test_failed_html_export_keeps_the_previous_records_and_ledger(tmp_path, monkeypatch, sample):
    """`hivepulse retro` in-process; the kernel is replaced by the library calls the notebook makes
    (``S.records(S.retro(**params))``, a failing cell raising NotebookFailed as papermill's run does), the HTML
    report's renderer by a stand-in that works once and then raises."""
    import hivepulse.report.html as html_mod
    import hivepulse.report.run as run_mod
    from hivepulse.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "events").mkdir()
    for f in (REPO / "data" / "sample").glob("*.csv"):
        shutil.copy(f, tmp_path / "events" / f.name)

    def fake_execute(notebook, output, params, env=None, **_):
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nbformat.v4.new_notebook(), str(output))
        try:
            with monkeypatch.context() as kernel:  # the kernel's environment (the run folder to hand over to)
                for name, value in (env or {}).items():
                    kernel.setenv(name, value)
                S.records(S.retro(**params))
        except Exception as err:
            raise run_mod.NotebookFailed(f"cell failed: {err}", cell_index=20, output_path=Path(output)) from None
        return Path(output)

    def export_ok(result):
        return "<html>first run</html>"

    def export_fails(result):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(run_mod, "execute", fake_execute)
    monkeypatch.setattr(html_mod, "render_report", export_ok)
    args = ["retro", "--path", "events", "--output-dir", "out", "--findings", "", "--no-progress",
            "--since", "2026-05-11", "--until", "2026-05-25"]
    assert main(args) == 0
    rec = tmp_path / "out" / "2026-05-11_2026-05-25"
    before = {p.name: p.read_bytes() for p in rec.iterdir()}
    ledger = (tmp_path / "out" / "ledger.json").read_bytes()
    # the second run would change the records (a team note) and the export fails
    (tmp_path / "out" / "notes").mkdir()
    (tmp_path / "out" / "notes" / "2026-05-11_2026-05-25.yaml").write_text("went_well: [calm]\n", encoding="utf-8")
    monkeypatch.setattr(html_mod, "render_report", export_fails)
    assert main(args) == 4
    assert {p.name: p.read_bytes() for p in rec.iterdir()} == before
    assert (tmp_path / "out" / "ledger.json").read_bytes() == ledger
    assert (tmp_path / "out" / "runs" / "2026-05-11_2026-05-25.ipynb").is_file()  # kept for debugging
    # no backup, staging or run folder left behind (only the workspace lock file)
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == [".hivepulse.lock"]
    # a first run that fails leaves nothing behind either
    shutil.rmtree(tmp_path / "out")
    assert main(args) == 4
    assert not (tmp_path / "out" / "ledger.json").exists() and not rec.exists()


# ---------------------------------------------------------------------------------------------- 8 + 9


def test_packaged_sample_is_identical_to_data_sample():
    shipped = REPO / "src" / "hivepulse" / "data" / "sample"
    names = sorted(p.name for p in (REPO / "data" / "sample").glob("*.csv"))
    assert names == sorted(p.name for p in shipped.glob("*.csv")) == ["changes.csv", "deployments.csv",
                                                                        "incidents.csv"]
    for name in names:
        assert (shipped / name).read_bytes() == (REPO / "data" / "sample" / name).read_bytes(), name


def test_default_path_falls_back_to_the_packaged_sample_outside_the_repo(tmp_path, monkeypatch):
    from hivepulse.commands.retro import check_parameters
    from hivepulse.retro.params import packaged_sample, source_path

    monkeypatch.chdir(tmp_path)
    assert source_path("data/sample") == packaged_sample()
    assert source_path("data/other") == Path("data/other")  # only the default falls back
    defaults = {"source": "events", "path": "data/sample", "since": "2026-05-11", "until": "2026-05-25",
                "iteration_days": 14, "output_dir": "retro/", "findings": ""}
    check_parameters({}, {}, defaults)  # no "data/sample: source path not found"
    with pytest.raises(InputError, match="data/other, column 'path': source path not found"):
        check_parameters({"path": "data/other"}, {}, defaults)
    result = analyze(RetroParams(**SAMPLE_WINDOW, output_dir=str(tmp_path / "retro"), findings=""))
    assert result.data_quality_notes()[0].startswith("Source: the sample data shipped with hivepulse")
    assert metric_n(result) > 0


def metric_n(result) -> int:
    return int(result.current.metrics.deployment_frequency.n)


def test_parameter_errors_name_the_flag_or_the_file(tmp_path):
    from hivepulse.commands.retro import check_parameters

    defaults = {"source": "events", "path": str(REPO / "data" / "sample"), "since": "2026-05-11",
                "until": "2026-05-25", "iteration_days": 14, "output_dir": str(tmp_path / "o"), "max_actions": 3,
                "findings": ""}
    with pytest.raises(InputError) as err:
        check_parameters({"max_actions": -1}, {}, defaults)
    assert str(err.value) == "--max-actions (max_actions): bad value: got '-1'; expected an integer from 0 to 100"
    (tmp_path / "p.yaml").write_text("since: 2026-05-11\nprevious_iterations: -2\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        check_parameters({}, {"previous_iterations": -2}, defaults, str(tmp_path / "p.yaml"))
    assert str(err.value) == (f"{tmp_path / 'p.yaml'}, line 2, column 'previous_iterations': bad value: got '-2'; "
                              "expected an integer from 0 to 100")


def test_prime_directive_names_no_person():
    for path in (REPO / "notebooks" / "retro.ipynb", REPO / "src" / "hivepulse" / "notebooks" / "retro.ipynb"):
        intro = nbformat.read(path, as_version=4).cells[0].source
        assert "(the Retrospective Prime Directive)" in intro and "Kerth" not in intro
