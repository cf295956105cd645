"""The bundled sample (``hivepulse sample``, ``data/sample/``): determinism, integrity, shape, planted signals.

Shape checks use plain pandas on the files (not the DORA engine), so they test the data, not the metrics.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from hivepulse.cli import main
from hivepulse.model import integrity_problems
from hivepulse.sources.files import read_events
from hivepulse.sources.sample import DEFAULT_END, DEFAULT_SEED, generate

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
FILES = ("deployments.csv", "changes.csv", "incidents.csv")
SINCE = pd.Timestamp("2025-11-24", tz="UTC")  # 26 weeks before the default end, a Monday
UNTIL = pd.Timestamp("2026-05-25", tz="UTC")


@pytest.fixture(scope="module")
def events():
    return read_events(SAMPLE)


@pytest.fixture(scope="module")
def info():
    return generate(DEFAULT_SEED)[1]


@pytest.fixture(scope="module")
def lead(events) -> pd.DataFrame:
    """One row per change shipped by a successful production deployment: stage durations in hours."""
    d = events.deployments
    ok = d[(d["environment"] == "production") & (d["status"] == "success")]
    m = events.changes.merge(ok[["deployment_id", "finished_at"]], on="deployment_id")
    hours = pd.Timedelta(hours=1)
    m["lead"] = (m["finished_at"] - m["committed_at"]) / hours
    m["pickup"] = (m["first_review_at"] - m["pr_opened_at"]) / hours
    m["deploy"] = (m["finished_at"] - m["merged_at"]) / hours
    m["week"] = (m["finished_at"] - SINCE).dt.days // 7 + 1
    return m


def _week(ts: pd.Series) -> pd.Series:
    return (ts - SINCE).dt.days // 7 + 1


# ------------------------------------------------------------------------------------------ determinism


def test_regenerating_gives_byte_identical_files(tmp_path, capsys):
    out = tmp_path / "sample"
    assert main(["sample", "--out", str(out)]) == 0
    assert "production" in capsys.readouterr().out
    for name in FILES:
        assert (out / name).read_bytes() == (SAMPLE / name).read_bytes(), name


def test_explicit_defaults_match_and_another_seed_differs(tmp_path):
    same, other = tmp_path / "same", tmp_path / "other"
    assert main(["sample", "--out", str(same), "--seed", "42", "--weeks", "26", "--end", "2026-05-25"]) == 0
    assert main(["sample", "--out", str(other), "--seed", "7"]) == 0
    for name in FILES:
        assert (same / name).read_bytes() == (SAMPLE / name).read_bytes()
        assert (other / name).read_bytes() != (SAMPLE / name).read_bytes()
    assert integrity_problems(read_events(other)) == []


def test_generate_in_memory_is_repeatable():
    a, _ = generate(3, weeks=8, end=date(2026, 2, 2))
    b, _ = generate(3, weeks=8, end=date(2026, 2, 2))
    for table in ("deployments", "changes", "incidents"):
        pd.testing.assert_frame_equal(a.table(table), b.table(table))


def test_default_end_is_a_fixed_monday():
    assert DEFAULT_END == date(2026, 5, 25) and DEFAULT_END.weekday() == 0


# ------------------------------------------------------------------------------------------ integrity


def test_sample_is_consistent(events):
    assert integrity_problems(events) == []
    d, c, i = events.deployments, events.changes, events.incidents
    for frame, cols in ((d, ["finished_at", "started_at"]), (i, ["opened_at", "resolved_at"])):
        for col in cols:
            ts = frame[col].dropna()
            assert ((ts >= SINCE) & (ts < UNTIL)).all(), col
    assert (d["started_at"] <= d["finished_at"]).all()
    assert (i["resolved_at"].isna() | (i["resolved_at"] >= i["opened_at"])).all()
    assert set(d["environment"]) == {"development", "staging", "production"}
    assert d["deployment_id"].str.fullmatch(r"(dev|stg|prod)-\d{4}").all()
    assert c["change_id"].str.fullmatch(r"[0-9a-f]{12}").all()
    assert i["incident_id"].str.fullmatch(r"inc-\d{4}").all()
    # every referenced deployment exists; changes point at successful production deployments
    prod_ok = set(d.loc[(d["environment"] == "production") & (d["status"] == "success"), "deployment_id"])
    assert set(c["deployment_id"].dropna()) <= prod_ok
    assert set(i["deployment_id"].dropna()) <= prod_ok
    assert set(d["rollback_of"].dropna()) <= prod_ok


def test_pull_request_times_are_ordered_except_the_planted_skew(events, info):
    c = events.changes
    normal = c[~c["change_id"].isin(info.negative_span_changes)]
    assert (normal["authored_at"] <= normal["committed_at"]).all()
    for early, late in (
        ("committed_at", "pr_opened_at"),
        ("pr_opened_at", "first_review_at"),
        ("first_review_at", "merged_at"),
        ("pr_opened_at", "merged_at"),
    ):
        both = normal[[early, late]].dropna()
        assert (both[early] <= both[late]).all(), (early, late)
    assert c["pr_number"].dropna().is_unique


def test_no_person_names_or_emails_anywhere():
    for name in FILES:
        text = (SAMPLE / name).read_text(encoding="utf-8")
        assert "@" not in text
        header = text.splitlines()[0]
        assert "author" not in header.replace("authored_at", "") and "email" not in header


# ------------------------------------------------------------------------------------------ shape


def test_counts_per_environment(events):
    d = events.deployments
    counts = d.groupby("environment").size()
    assert 250 <= counts["production"] <= 400
    assert counts["development"] > counts["staging"] >= counts["production"] * 0.8
    assert 500 <= len(events.changes) <= 900


def test_failures_rollbacks_hotfixes_and_incidents(events, info):
    d, i = events.deployments, events.incidents
    prod = d[d["environment"] == "production"]
    assert (prod["status"] == "failure").sum() >= 3  # failed attempts
    assert prod["rollback_of"].notna().sum() >= 3  # rollbacks
    hotfixes = prod[(prod["kind"] == "unplanned") & prod["rollback_of"].isna()]
    assert len(hotfixes) >= 3
    fixes = events.changes[events.changes["deployment_id"].isin(hotfixes["deployment_id"])]
    assert set(fixes["change_type"]) <= {"fix", "revert"} and len(fixes) == len(hotfixes)
    assert len(i) >= 10
    assert i["deployment_id"].notna().sum() >= 3 and i["deployment_id"].isna().sum() >= 3
    # unresolved incidents, all opened in the last week
    open_ = i[i["resolved_at"].isna()]
    assert sorted(open_["incident_id"]) == info.unresolved_incidents and len(open_) == 2
    assert (open_["opened_at"] >= UNTIL - pd.Timedelta(days=7)).all()


def test_change_types_are_conventional_and_most_changes_have_pull_requests(events):
    c = events.changes
    assert set(c["change_type"]) <= {
        "feat",
        "fix",
        "chore",
        "docs",
        "refactor",
        "revert",
        "test",
        "ci",
        "perf",
        "build",
    }
    assert {"feat", "fix", "chore", "docs", "refactor", "revert"} <= set(c["change_type"])
    assert c["pr_number"].notna().mean() >= 0.8
    assert c["merged_at"].notna().sum() >= 0.8 * len(c)


def test_exactly_two_negative_spans(lead, info):
    negative = lead[lead["lead"] < 0]
    assert sorted(negative["change_id"]) == info.negative_span_changes
    assert len(negative) == 2
    # one of them in the demo window [2026-04-27, 2026-05-25)
    assert (negative["finished_at"] >= pd.Timestamp("2026-04-27", tz="UTC")).sum() == 1


def test_improvement_after_week_16(events, lead):
    first = lead.loc[(lead["week"] <= 6) & (lead["lead"] >= 0), "lead"].median()
    last = lead.loc[(lead["week"] >= 21) & (lead["lead"] >= 0), "lead"].median()
    assert last < 0.4 * first, (first, last)
    prod = events.deployments[events.deployments["environment"] == "production"]
    week = _week(prod["finished_at"])
    before, after = prod[week <= 16], prod[week > 16]
    assert len(after) / 10 > 4 * len(before) / 16  # deployments per week
    batch = lead.groupby("deployment_id").agg(n=("change_id", "size"), week=("week", "first"))
    assert batch.loc[batch["week"] > 16, "n"].median() < batch.loc[batch["week"] <= 16, "n"].median()

    def failed_share(p: pd.DataFrame) -> float:
        i = events.incidents
        failed = (
            set(p.loc[p["status"] == "failure", "deployment_id"])
            | set(p["rollback_of"].dropna())
            | set(i["deployment_id"].dropna())
        )
        return len(failed & set(p["deployment_id"])) / len(p)

    assert failed_share(after) < 0.5 * failed_share(before)


def test_pickup_bottleneck_in_the_first_eight_weeks(lead):
    opened = _week(lead["pr_opened_at"])
    early = lead.loc[opened <= 8, "pickup"].median()
    later = lead.loc[opened > 8, "pickup"].median()
    assert early > 10 * later, (early, later)
    first_iterations = lead[lead["week"] <= 4]
    assert first_iterations["pickup"].median() > first_iterations["deploy"].median()


def test_incident_in_the_freeze_matches_no_deployment(events, info):
    d, i = events.deployments, events.incidents
    ok = d[(d["environment"] == "production") & (d["status"] == "success")]
    [incident_id] = info.unattributable_incidents
    row = i.set_index("incident_id").loc[incident_id]
    assert pd.isna(row["deployment_id"])
    before = ok.loc[ok["finished_at"] < row["opened_at"], "finished_at"].max()
    assert row["opened_at"] - before > pd.Timedelta(days=7)


# ------------------------------------------------------------------------------------------ arguments


def test_other_weeks_and_end(tmp_path):
    out = tmp_path / "short"
    assert main(["sample", "--out", str(out), "--seed", "5", "--weeks", "8", "--end", "2026-03-02"]) == 0
    ev = read_events(out)
    assert integrity_problems(ev) == []
    since, until = pd.Timestamp("2026-01-05", tz="UTC"), pd.Timestamp("2026-03-02", tz="UTC")
    finished = ev.deployments["finished_at"]
    assert ((finished >= since) & (finished < until)).all()
    assert (ev.deployments["environment"] == "production").sum() > 10


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--end", "2026-13-01"], "--end"),
        (["--weeks", "2"], "--weeks"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_bad_arguments_exit_2_and_write_nothing(tmp_path, capsys, args, needle):
    out = tmp_path / "never"
    assert main(["sample", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
