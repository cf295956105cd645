"""The Argo CD Applications parse, point at existing overlays, and sync automatically only below prod."""

from __future__ import annotations

import copy

import argocd_policy
import pytest
import yaml
from deploy_testkit import OVERLAYS, ROOT

ARGOCD = ROOT / "deploy" / "argocd"


@pytest.fixture(scope="module")
def argocd_docs(render_dir):
    return render_dir(ARGOCD)


def apps(docs):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Application"}


def test_one_application_per_environment_pointing_at_its_overlay(argocd_docs):
    found = apps(argocd_docs)
    assert sorted(found) == [f"hivepulse-{e}" for e in sorted(OVERLAYS)]
    for env in OVERLAYS:
        app = found[f"hivepulse-{env}"]
        assert app["apiVersion"] == "argoproj.io/v1alpha1" and app["kind"] == "Application"
        assert app["metadata"]["namespace"] == "argocd"
        source, dest = app["spec"]["source"], app["spec"]["destination"]
        assert source["path"] == f"deploy/overlays/{env}"
        assert (ROOT / source["path"] / "kustomization.yaml").is_file()
        assert source["targetRevision"] == "main"
        assert dest == {"server": "https://kubernetes.default.svc", "namespace": f"hivepulse-{env}"}
        assert app["spec"]["project"] == "hivepulse"
        labels = app["spec"]["syncPolicy"]["managedNamespaceMetadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_dev_and_staging_sync_automatically_prod_waits_for_a_person(argocd_docs):
    found = apps(argocd_docs)
    for env in ("dev", "staging"):
        assert found[f"hivepulse-{env}"]["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert "automated" not in found["hivepulse-prod"]["spec"]["syncPolicy"]
    assert "finalizers" not in found["hivepulse-prod"]["metadata"], "deleting the app must not delete prod"


def test_the_files_parse_on_their_own():
    for path in sorted(ARGOCD.glob("*.yaml")):
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert docs and all(isinstance(d, dict) for d in docs), path


def test_the_policy_passes_and_fails_on_planted_problems(argocd_docs):
    assert argocd_policy.check(argocd_docs, ROOT) == []

    def planted(change):
        docs = copy.deepcopy(list(argocd_docs))
        change(apps(docs))
        return {f.rule for f in argocd_policy.check(docs, ROOT)}

    assert planted(lambda a: a["hivepulse-dev"]["spec"]["source"].update(path="deploy/overlays/qa")) == {"ARGO-PATH", "ARGO-ENV"}
    assert planted(lambda a: a["hivepulse-dev"]["spec"]["source"].update(path="../outside")) == {"ARGO-PATH", "ARGO-ENV"}
    assert planted(lambda a: a["hivepulse-prod"]["spec"]["syncPolicy"].update(
        automated={"prune": True, "selfHeal": True})) == {"ARGO-SYNC"}
    assert planted(lambda a: a["hivepulse-staging"]["spec"]["syncPolicy"]["automated"].pop("selfHeal")) == {"ARGO-SYNC"}
    assert planted(lambda a: a["hivepulse-dev"]["spec"]["destination"].update(namespace="hivepulse-prod")) == {"ARGO-ENV"}
    assert planted(lambda a: a["hivepulse-dev"].update(apiVersion="argoproj.io/v1beta1")) == {"ARGO-APP"}
    assert planted(lambda a: a["hivepulse-dev"]["spec"].pop("destination")) >= {"ARGO-APP"}
    assert planted(lambda a: a["hivepulse-dev"]["spec"].update(project="default")) == {"ARGO-PROJECT"}
