"""One pull Job per repository for a team with many: the component's CronJobs are generated from
sources.txt (and kept up to date), and the example overlay renders one restricted, staggered CronJob per
source in place of the all-sources pull."""

from __future__ import annotations

import importlib.util
import re

import k8s_policy
import pytest
import render
import yaml
from deploy_testkit import ROOT, by_kind, container

COMPONENT = ROOT / "deploy" / "components" / "pull-per-repository"


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("hp_generate_test", COMPONENT / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example(render_dir):
    return render_dir(ROOT / "deploy" / "examples" / "many-repositories")


def test_the_committed_cronjobs_are_what_the_generator_writes(gen):
    sources = gen.parse_sources(gen.SOURCES.read_text(encoding="utf-8"))
    base = yaml.safe_load(gen.BASE_PULL.read_text(encoding="utf-8"))
    assert gen.OUTPUT.read_text(encoding="utf-8") == gen.render(sources, base)
    assert gen.main(["--check"]) == 0


def test_one_cronjob_per_source_replaces_the_all_sources_pull(example, gen):
    jobs = by_kind(example, "CronJob")
    assert "hivepulse-pull" not in jobs
    sources = gen.parse_sources(gen.SOURCES.read_text(encoding="utf-8"))
    args = {tuple(container(j)["args"]) for n, j in jobs.items() if n != "hivepulse-retro"}
    assert args == {("pull", kind, name, "--store", "$(HIVEPULSE_STORE)") for kind, name in sources}
    pulls = [j for n, j in jobs.items() if n != "hivepulse-retro"]
    schedules = [j["spec"]["schedule"] for j in pulls]
    assert len(set(schedules)) == len(sources), "staggered: no two pulls start together"
    assert sorted(schedules) == sorted(f"{5 * i} 5 * * *" for i in range(len(sources)))
    for job in pulls:
        assert len(job["metadata"]["name"]) <= 52
        assert job["metadata"]["namespace"] == "hivepulse-prod"
        labels = job["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "hivepulse", "the NetworkPolicy selects it"
        assert container(job)["resources"]["limits"]["memory"] == "1Gi"
    # every pull finishes its start before the retro, which reads what they pulled
    assert jobs["hivepulse-retro"]["spec"]["schedule"] == "0 7 * * 1"


def test_the_example_passes_the_schemas_and_the_policy(example):
    assert render.validate(example) == []
    assert k8s_policy.check(example) == []


def test_names_stay_unique_and_short(gen):
    long = "hivebox-team/" + "a-very-long-repository-name-" * 3
    a, b = gen.cronjob_name("github", long), gen.cronjob_name("github", long + "x")
    assert a != b and len(a) <= 52 and len(b) <= 52
    assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", a)


@pytest.mark.parametrize(("text", "message"), [
    ("gitlab group/repo\n", "sources.txt:1: expected"),
    ("github not-a-repo\n", "sources.txt:1: not a valid github"),
    ("# only a comment\n", "no source"),
    ("github a/b\ngithub a/b\n", "sources.txt:2: duplicate"),
])
def test_bad_sources_are_refused_with_their_line(gen, text, message):
    with pytest.raises(ValueError, match=message):
        gen.parse_sources(text)
