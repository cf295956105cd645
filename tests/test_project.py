"""The project file: validation with file/line/field errors, and ``hivepulse pull`` of every source it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from argofake import PLANTED_ARGO_TOKEN, FakeArgoCD, application
from ghfake import PLANTED_TOKEN, FakeGitHub, FakeRepo, h

from hivepulse.cli import main
from hivepulse.errors import InputError
from hivepulse.project import load_project
from hivepulse.store import pr_stages, read_events

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_project_file_is_valid():
    project = load_project(ROOT / "retro" / "project.example.yaml")
    assert [r.repository for r in project.repositories] == ["hive-team/hivebox", "hive-team/hivebox-infra"]
    assert project.repositories[0].deploy == "argocd" and project.repositories[0].argocd_apps[0].name == "hivebox"
    assert project.repositories[1].workflow == "deploy.yml" and project.max_wait_s == 900


@pytest.mark.parametrize("text,where", [
    ("version: 1\nrepositories:\n  - name: a/b\n    deplyo: releases\n", "line 4, column 'repositories.0.deplyo': unknown field"),
    ("repositories:\n  - name: not a repo\n", "line 2, column 'repositories.0.name'"),
    ("repositories:\n  - name: a/b\n    deploy: workflow\n", "line 3, column 'repositories.0.deploy': deploy: workflow needs"),
    ("repositories:\n  - name: a/b\n    deploy: argocd\n", "line 3, column 'repositories.0.deploy': deploy: argocd needs"),
    ("repositories:\n  - name: a/b\napps:\n  - name: x\n    repository: c/d\n    from_file: x.json\n",
     "line 5, column 'apps.0.repository': unknown repository"),
    ("repositories:\n  - name: a/b\n  - name: A/B\n", "line 3, column 'repositories.1.name': repository listed twice"),
    ("apps:\n  - name: x\n", "line 2, column 'apps.0.name': no Argo CD server"),
    ("version: 2\n", "line 1, column 'version'"),
    ("repositories:\n  - name: a/b\n    since: someday\n", "line 3, column 'repositories.0.since'"),
    ("- a\n- b\n", "line 1: the project file must be a mapping"),
    ("repositories: [\n", "invalid YAML"),
])
def test_invalid_project_files_name_file_line_and_field(tmp_path, text, where):
    path = tmp_path / "project.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_project(path)
    assert str(err.value).startswith(str(path)) and where in str(err.value), str(err.value)


def test_pull_without_arguments_pulls_every_source_of_the_project(tmp_path, capsys, monkeypatch):
    app_repo = FakeRepo("hive-team", "hivebox", 1)
    first = app_repo.head
    pr = app_repo.add_pr("Add version", h(1), h(2), commits=[("feat: version", h(0.5))], reviews=[(1, h(1.5), "approved")])
    second = app_repo.head
    infra = FakeRepo("hive-team", "hivebox-infra", 2)
    infra.deploy("production", h(0), [("success", 0.1)])
    fix = infra.add_pr("Tune limits", h(1), h(3), commits=[("fix: limits", h(0.7))])
    infra.deploy("production", h(4), [("success", 0.2)])
    monkeypatch.setenv("GITHUB_TOKEN", PLANTED_TOKEN)
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", PLANTED_ARGO_TOKEN)
    db = tmp_path / "store.db"
    with FakeGitHub([app_repo, infra]) as gh, FakeArgoCD() as argo:
        argo.apps["hivebox"] = application("hivebox", [(1, first, h(0.5)), (2, second, h(3))])
        project = tmp_path / "project.yaml"
        project.write_text(f"""
version: 1
store: {db}
github: {{api_url: "{gh.url}"}}
argocd: {{server: "{argo.url}"}}
repositories:
  - name: hive-team/hivebox
    deploy: argocd
  - name: hive-team/hivebox-infra
apps:
  - name: hivebox
    repository: hive-team/hivebox
""")
        assert main(["pull", "--project", str(project), "--no-progress", "--format", "json"]) == 0
        summary = json.loads(capsys.readouterr().out)
    assert summary["sources"] == ["argocd hivebox", "github hive-team/hivebox", "github hive-team/hivebox-infra"]
    ev = read_events(db)
    assert sorted(ev.deployments["deployment_id"]) == [
        "argocd:hivebox:1@2026-06-01T09:30:00Z", "argocd:hivebox:2@2026-06-01T12:00:00Z",
        "hive-team/hivebox-infra:deployment:1000", "hive-team/hivebox-infra:deployment:1001"]
    changes = ev.changes.set_index("change_id")
    # the Argo CD entry's revisions are compared in the linked repository: entry 2 ships the pull request
    assert changes.loc[f"hive-team/hivebox:{pr.merge_commit_sha}", "deployment_id"] == \
        "argocd:hivebox:2@2026-06-01T12:00:00Z"
    assert changes.loc[f"hive-team/hivebox-infra:{fix.merge_commit_sha}", "deployment_id"] == \
        "hive-team/hivebox-infra:deployment:1001"
    assert read_events(db, repository="hive-team/hivebox-infra").deployments["deployment_id"].tolist() == [
        "hive-team/hivebox-infra:deployment:1000", "hive-team/hivebox-infra:deployment:1001"]
    stages = pr_stages(db, repository="hive-team/hivebox")
    assert stages["deploy_hours"].tolist() == [1.0] and stages["pickup_hours"].tolist() == [0.5]

    def metrics(*extra: str) -> dict:
        assert main(["metrics", "--store", str(db), "--since", "2026-05-25", "--until", "2026-06-08",
                     "--format", "json", *extra]) == 0
        return json.loads(capsys.readouterr().out)

    whole, one = metrics(), metrics("--repository", "hive-team/hivebox")
    assert whole["deployment_frequency"]["deployments"] == 4 and one["deployment_frequency"]["deployments"] == 2
    assert whole["lead_time"]["n"] == 2 and one["lead_time"]["n"] == 1
    assert one["lead_time"]["value"] == 1.0  # squash commit at 2 h (the merge), Argo CD entry deployed at 3 h
    assert whole["lead_time"]["value"] == pytest.approx(1.1)  # median of 1.0 and 1.2
