"""Records and ledger entries per environment (issue 13 item 1): a staging retro never overwrites production's
record directory or ledger entry of the same iteration, and a follow-up compares an action item only with the
environment it was made for. Library level (no kernel): the commit is the one ``S.records`` makes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hivepulse.retro import ledger as led
from hivepulse.retro.analysis import RetroParams, analyze
from hivepulse.retro.record import record_name
from hivepulse.sources.files import read_events

REPO = Path(__file__).resolve().parents[1]
K = ("2026-04-27", "2026-05-11")
K1 = ("2026-05-11", "2026-05-25")
GOLDEN = REPO / "tests" / "golden" / "two_iterations"


@pytest.fixture(scope="module")
def sample():
    return read_events(REPO / "data" / "sample")


def run(events, window, out: Path, environment: str = "production"):
    result = analyze(RetroParams(since=window[0], until=window[1], environment=environment, output_dir=str(out),
                                 findings="", previous_iterations=1), events=events)
    result.write()
    return result


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_staging_and_production_of_one_iteration_keep_their_own_records_and_entries(sample, tmp_path):
    prod_only = tmp_path / "prod-only"
    run(sample, K1, prod_only)
    both = tmp_path / "both"
    prod = run(sample, K1, both)
    staging = run(sample, K1, both, environment="staging")
    again = run(sample, K1, both)  # production again, after staging: nothing of staging leaks in
    assert (prod.record_dir.name, staging.record_dir.name) == ("2026-05-11_2026-05-25", "2026-05-11_2026-05-25.staging")
    assert digest(both / "2026-05-11_2026-05-25") == digest(prod_only / "2026-05-11_2026-05-25")
    assert again.record_dir == prod.record_dir
    staging_metrics = json.loads((both / "2026-05-11_2026-05-25.staging" / "metrics.json").read_text())
    assert staging_metrics["parameters"]["environment"] == "staging" and staging_metrics["iteration"] == "2026-05-11_2026-05-25"
    assert staging_metrics["metrics"]["environment"] == "staging"
    raw = json.loads((both / "ledger.json").read_text())["iterations"]
    assert sorted(raw) == ["2026-05-11_2026-05-25", "2026-05-11_2026-05-25.staging"]
    assert "environment" not in raw["2026-05-11_2026-05-25"]  # production's entry is as it always was
    assert raw["2026-05-11_2026-05-25.staging"]["environment"] == "staging"
    only = json.loads((prod_only / "ledger.json").read_text())["iterations"]
    assert raw["2026-05-11_2026-05-25"] == only["2026-05-11_2026-05-25"]


def test_a_follow_up_reads_only_its_own_environments_entries(sample, tmp_path):
    run(sample, K, tmp_path)  # production's iteration k: its action items
    staging = run(sample, K1, tmp_path, environment="staging")
    assert staging.previous_iteration is None and staging.followups == []  # never production's items
    prod = run(sample, K1, tmp_path)
    assert prod.previous_iteration == "2026-04-27_2026-05-11" and prod.followups
    # production's follow-up is the golden one (production-only history), staging's run did not change it
    golden = json.loads((GOLDEN / "2026-05-11_2026-05-25" / "metrics.json").read_text())
    recorded = json.loads((tmp_path / "2026-05-11_2026-05-25" / "metrics.json").read_text())
    assert [f["verdict"] for f in recorded["followups"]] == [f["verdict"] for f in golden["followups"]]
    # staging's next retro follows up staging's items, not production's
    later = analyze(RetroParams(since="2026-05-25", until="2026-06-08", environment="staging", output_dir=str(tmp_path),
                                findings="", previous_iterations=1, allow_empty=True), events=sample)
    assert later.previous_iteration == "2026-05-11_2026-05-25.staging"
    assert {f.action_id for f in later.followups} == {a.action_id for a in staging.actions} | \
        {p.action_id for p in staging.pending}


def test_the_ledger_selects_the_previous_entry_per_environment():
    ledger = led.Ledger.from_dict({"version": 1, "iterations": {
        "2026-05-11_2026-05-25": {"since": "2026-05-11", "until": "2026-05-25"},
        "2026-05-18_2026-05-25.staging": {"since": "2026-05-18", "until": "2026-05-25", "environment": "staging"},
    }})
    assert led.previous(ledger, "2026-05-25")[0] == "2026-05-11_2026-05-25"
    assert led.previous(ledger, "2026-05-25", "staging")[0] == "2026-05-18_2026-05-25.staging"
    assert led.previous(ledger, "2026-05-25", "dev") is None


@pytest.mark.parametrize(("environment", "name"), [
    ("production", "2026-05-11_2026-05-25"),
    ("staging", "2026-05-11_2026-05-25.staging"),
    ("eu/west", "2026-05-11_2026-05-25.eu%2Fwest"),
    ("../../etc", "2026-05-11_2026-05-25...%2F..%2Fetc"),
    ("prod<script>", "2026-05-11_2026-05-25.prod%3Cscript%3E"),
    ("Prod ü", "2026-05-11_2026-05-25.Prod%20%C3%BC"),
])
def test_record_names_are_one_safe_path_component(environment, name):
    assert record_name("2026-05-11_2026-05-25", environment) == name
    assert "/" not in name and not name.startswith(".")
