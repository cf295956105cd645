"""Minimal drift: the rendered overlays differ only where intended (namespace, schedules, store URL,
resources, image tag), each overlay is built the same way from the base, and the base is not prod."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
import yaml
from deploy_testkit import IMAGE, OVERLAYS, ROOT, by_kind, container

STORE_URL = "/".join(("ConfigMap", "hivepulse-env", "data", "HIVEPULSE_STORE"))  # the store URL's leaf
HASHED = re.compile(r"^(hivepulse-(?:config|env))-[a-z0-9]{10}$")
CONTAINERS = r"CronJob/[a-z-]+/spec/jobTemplate/spec/template/spec/containers/hivepulse"
ALLOWED = [
    re.compile(r"^[A-Za-z]+/[a-z-]+/metadata/namespace$"),                      # namespace
    re.compile(r"^CronJob/[a-z-]+/spec/schedule$"),                              # schedule
    re.compile(r"^ConfigMap/hivepulse-env/data/HIVEPULSE_STORE$"),               # store URL
    re.compile("^" + CONTAINERS + r"/resources/(requests|limits)/(cpu|memory)$"),  # resources
    re.compile("^" + CONTAINERS + r"/image@tag$"),                               # image tag
]


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, str):
        return HASHED.sub(r"\1", value)  # kustomize's content hashes follow the content (the store URL)
    return value


def leaves(value: Any, path: str) -> dict[str, Any]:
    """Flatten to ``path -> scalar``; lists of named items are keyed by name, an image by name and tag."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(leaves(v, f"{path}/{k}"))
    elif isinstance(value, list):
        named = all(isinstance(v, dict) and "name" in v for v in value) and value
        for i, v in enumerate(value):
            out.update(leaves(v, f"{path}/{v['name'] if named else i}"))
    elif path.endswith("/image") and isinstance(value, str):
        name, _, tag = value.rpartition(":")
        out[path + "@name"], out[path + "@tag"] = name, tag
    else:
        out[path] = value
    return out


def flatten(docs) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for doc in _normalize(list(docs)):
        out.update(leaves(doc, f"{doc['kind']}/{doc['metadata']['name']}"))
    return out


def differences(a, b) -> set[str]:
    fa, fb = flatten(a), flatten(b)
    return {k for k in fa.keys() | fb.keys() if fa.get(k, "<absent>") != fb.get(k, "<absent>")}


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(OVERLAYS, 2)))
def test_overlays_differ_only_where_intended(overlays, a, b):
    diff = differences(overlays[a], overlays[b])
    unexpected = sorted(p for p in diff if not any(r.match(p) for r in ALLOWED))
    assert unexpected == [], f"{a} vs {b} differ beyond namespace/schedule/store/resources/image tag"
    assert "ServiceAccount/hivepulse/metadata/namespace" in diff
    assert STORE_URL in diff


def test_the_listed_differences_are_the_real_ones(overlays):
    """Each allowed kind of difference occurs somewhere, so the allow list is not wider than the overlays."""
    diff = set().union(*(differences(overlays[a], overlays[b]) for a, b in itertools.combinations(OVERLAYS, 2)))
    used = {i for i, r in enumerate(ALLOWED) if any(r.match(p) for p in diff)}
    # the image tag is the same in every overlay until a release is promoted; every other kind is in use
    assert used == {0, 1, 2, 3}
    stores = {env: by_kind(overlays[env], "ConfigMap") for env in OVERLAYS}
    assert len({next(cm["data"]["HIVEPULSE_STORE"] for n, cm in s.items() if n.startswith("hivepulse-env"))
                for s in stores.values()}) == 3


def test_the_diff_catches_unintended_drift(fresh, overlays):
    """A change outside the allowed fields (here: one more retro argument) shows up in the diff."""
    drifted = fresh("prod")
    for job in drifted:
        if job["kind"] == "CronJob":
            container(job)["args"] = [*container(job)["args"], "--max-actions", "9"]
    diff = differences(overlays["staging"], drifted)
    unexpected = {p for p in diff if not any(r.match(p) for r in ALLOWED)}
    prefix = CONTAINERS.replace("[a-z-]+", "{}")
    assert unexpected == {prefix.format("hivepulse-pull") + "/args/3", prefix.format("hivepulse-pull") + "/args/4",
                          prefix.format("hivepulse-retro") + "/args/7", prefix.format("hivepulse-retro") + "/args/8"}


def test_image_name_is_the_same_everywhere_and_only_the_tag_may_move(overlays):
    names = {container(j)["image"].rsplit(":", 1)[0] for env in OVERLAYS for j in by_kind(overlays[env], "CronJob").values()}
    assert names == {IMAGE}


def test_overlays_are_built_the_same_way():
    """Same files, same kustomization keys, the base as the only resource: no overlay builds on another."""
    shapes = {}
    for env in OVERLAYS:
        d = ROOT / "deploy" / "overlays" / env
        k = yaml.safe_load((d / "kustomization.yaml").read_text(encoding="utf-8"))
        shapes[env] = (sorted(p.name for p in d.iterdir()), sorted(k), k["resources"],
                       [(g["name"], g["behavior"]) for g in k["configMapGenerator"]], k["patches"],
                       [i["name"] for i in k["images"]])
        assert k["namespace"] == f"hivepulse-{env}"
    assert shapes["dev"] == shapes["staging"] == shapes["prod"]
    assert shapes["prod"][2] == ["../../base"]


def test_the_base_is_not_prod(base, overlays):
    """The base is no environment: no namespace, the embedded store, its own defaults; prod changes those."""
    assert all("namespace" not in d["metadata"] for d in base)
    base_text = yaml.safe_dump_all(base)
    assert "hivepulse-prod" not in base_text and "postgresql://" not in base_text
    env_cm = next(d for d in base if d["metadata"]["name"].startswith("hivepulse-env"))
    assert env_cm["data"]["HIVEPULSE_STORE"] == "data/store/hivepulse.db"
    assert differences(base, overlays["prod"]) - {p for p in differences(base, overlays["prod"])
                                                   if p.endswith("/metadata/namespace")}
    kustomization = yaml.safe_load((ROOT / "deploy" / "base" / "kustomization.yaml").read_text(encoding="utf-8"))
    assert "namespace" not in kustomization
    assert not any("overlays" in r for r in kustomization["resources"])
