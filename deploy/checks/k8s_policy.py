"""hivepulse's own policy on rendered Kubernetes manifests (beside checkov's generic checks and the schemas).

Each rule has an id (docs/supply-chain.md lists them) and is checked on the output of ``kubectl kustomize``:

- K8S-NS       every namespaced resource of an environment has a namespace
- K8S-POD      the pod runs as non-root (numeric UID >= 10000), seccomp RuntimeDefault, no host namespaces or
               hostPath, no service account token
- K8S-CTR      every container: no privilege escalation, read-only root file system, all capabilities
               dropped and none added, not privileged
- K8S-RES      every container has cpu and memory requests and limits (requests <= limits)
- K8S-IMG      every image is pinned: a version tag (never ``latest``) or a digest
- K8S-SECRET   no Secret object and no secret value: credential-named variables come only from
               ``secretKeyRef``; ``envFrom`` only from a Secret or ConfigMap reference; no credentials in
               ConfigMap data or in a URL
- K8S-CRON     CronJob: concurrencyPolicy Forbid, timeZone, both history limits, startingDeadlineSeconds,
               Job backoffLimit and activeDeadlineSeconds, restartPolicy Never
- K8S-REF      every PersistentVolumeClaim, ConfigMap (and key) a pod names is part of the render, unless a
               Secret (created out of band by design)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from findings import Finding

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "PriorityClass"}
CREDENTIAL_NAME = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)",
                             re.IGNORECASE)
URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
TOKEN_SHAPES = re.compile(
    r"(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|xox[abpr]-[A-Za-z0-9-]{10,}"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.)"
)
VERSION_TAG = re.compile(r"^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$")
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
MIN_UID = 10000


def resource_id(doc: dict[str, Any]) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind', '?')}/{meta.get('namespace', '-')}/{meta.get('name', '?')}"


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    if kind in {"Job", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}:
        return (spec.get("template") or {}).get("spec")
    return None


def containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _f(doc: dict[str, Any], rule: str, message: str) -> Finding:
    return Finding(tool="policy", rule=rule, where=resource_id(doc), message=message)


def check_image(image: str) -> str | None:
    """Why ``image`` is not pinned, or None."""
    if DIGEST.search(image):
        return None
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return f"image {image!r} has no tag (means latest): pin a version tag or a digest"
    tag = name.rsplit(":", 1)[1]
    if tag == "latest" or not VERSION_TAG.match(tag):
        return f"image {image!r}: tag {tag!r} is not a version (X.Y.Z): pin a version tag or a digest"
    return None


_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
          "Ti": 2**40}


def quantity(value: object) -> float:
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(value))
    if not m or m.group(2) not in _UNITS:
        raise ValueError(f"not a quantity: {value!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def _check_pod(doc: dict[str, Any], spec: dict[str, Any]) -> Iterator[Finding]:
    psc = spec.get("securityContext") or {}
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            yield _f(doc, "K8S-POD", f"{key} is set")
    if spec.get("automountServiceAccountToken") is not False:
        yield _f(doc, "K8S-POD", "automountServiceAccountToken is not false")
    for vol in spec.get("volumes") or []:
        if "hostPath" in vol:
            yield _f(doc, "K8S-POD", f"volume {vol.get('name')} is a hostPath")
    if spec.get("restartPolicy") not in ("Never", "OnFailure") and doc.get("kind") in ("CronJob", "Job", "Pod"):
        yield _f(doc, "K8S-POD", "restartPolicy must be Never or OnFailure")
    for c in containers(spec):
        name = c.get("name", "?")
        sc = c.get("securityContext") or {}

        def eff(key: str, sc: dict[str, Any] = sc) -> Any:
            return sc.get(key, psc.get(key))

        if eff("runAsNonRoot") is not True:
            yield _f(doc, "K8S-POD", f"container {name}: runAsNonRoot is not true")
        uid = eff("runAsUser")
        if not isinstance(uid, int) or uid < MIN_UID:
            yield _f(doc, "K8S-POD", f"container {name}: runAsUser must be a numeric UID >= {MIN_UID}, is {uid!r}")
        seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        if seccomp != "RuntimeDefault":
            yield _f(doc, "K8S-POD", f"container {name}: seccompProfile is {seccomp!r}, not RuntimeDefault")
        if sc.get("allowPrivilegeEscalation") is not False:
            yield _f(doc, "K8S-CTR", f"container {name}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            yield _f(doc, "K8S-CTR", f"container {name}: readOnlyRootFilesystem is not true")
        if sc.get("privileged"):
            yield _f(doc, "K8S-CTR", f"container {name}: privileged")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield _f(doc, "K8S-CTR", f"container {name}: capabilities do not drop ALL")
        if caps.get("add"):
            yield _f(doc, "K8S-CTR", f"container {name}: capabilities added: {caps['add']}")
        res = c.get("resources") or {}
        for part in ("requests", "limits"):
            for key in ("cpu", "memory"):
                if key not in (res.get(part) or {}):
                    yield _f(doc, "K8S-RES", f"container {name}: no {key} {part[:-1]}")
        for key in ("cpu", "memory"):
            req, lim = (res.get("requests") or {}).get(key), (res.get("limits") or {}).get(key)
            if req is not None and lim is not None:
                try:
                    if quantity(req) > quantity(lim):
                        yield _f(doc, "K8S-RES", f"container {name}: {key} request {req} exceeds limit {lim}")
                except ValueError as exc:
                    yield _f(doc, "K8S-RES", f"container {name}: {exc}")
        why = check_image(str(c.get("image", "")))
        if why:
            yield _f(doc, "K8S-IMG", f"container {name}: {why}")
        yield from _check_env(doc, c)


def _check_env(doc: dict[str, Any], c: dict[str, Any]) -> Iterator[Finding]:
    name = c.get("name", "?")
    for env in c.get("env") or []:
        var = str(env.get("name", ""))
        value_from = env.get("valueFrom") or {}
        if "value" in env:
            value = str(env["value"])
            if CREDENTIAL_NAME.search(var):
                yield _f(doc, "K8S-SECRET", f"container {name}: {var} has a literal value: use a secretKeyRef")
            elif URL_WITH_PASSWORD.search(value) or TOKEN_SHAPES.search(value):
                yield _f(doc, "K8S-SECRET", f"container {name}: {var} holds a credential")
        elif CREDENTIAL_NAME.search(var) and "secretKeyRef" not in value_from:
            yield _f(doc, "K8S-SECRET", f"container {name}: {var} must come from a secretKeyRef")
    for src in c.get("envFrom") or []:
        if not ({"secretRef", "configMapRef"} & set(src)):
            yield _f(doc, "K8S-SECRET", f"container {name}: envFrom without a secretRef or configMapRef")
    for arg in [*(c.get("command") or []), *(c.get("args") or [])]:
        if URL_WITH_PASSWORD.search(str(arg)) or TOKEN_SHAPES.search(str(arg)):
            yield _f(doc, "K8S-SECRET", f"container {name}: a command-line argument holds a credential")


def _check_cronjob(doc: dict[str, Any]) -> Iterator[Finding]:
    spec = doc.get("spec") or {}
    if spec.get("concurrencyPolicy") != "Forbid":
        yield _f(doc, "K8S-CRON", f"concurrencyPolicy is {spec.get('concurrencyPolicy')!r}, not Forbid")
    if not spec.get("timeZone"):
        yield _f(doc, "K8S-CRON", "no timeZone (the controller's local time would be used)")
    for key in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit", "startingDeadlineSeconds"):
        if not isinstance(spec.get(key), int):
            yield _f(doc, "K8S-CRON", f"no {key}")
    job = (spec.get("jobTemplate") or {}).get("spec") or {}
    for key in ("backoffLimit", "activeDeadlineSeconds"):
        if not isinstance(job.get(key), int):
            yield _f(doc, "K8S-CRON", f"the Job has no {key}")
    if (pod_spec(doc) or {}).get("restartPolicy") != "Never":
        yield _f(doc, "K8S-CRON", "restartPolicy must be Never (the Job's backoffLimit retries)")


def _check_refs(doc: dict[str, Any], spec: dict[str, Any], names: dict[str, set[str]],
                keys: dict[str, set[str]]) -> Iterator[Finding]:
    for vol in spec.get("volumes") or []:
        claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
        if claim and claim not in names.get("PersistentVolumeClaim", set()):
            yield _f(doc, "K8S-REF", f"volume {vol.get('name')}: PersistentVolumeClaim {claim} is not rendered")
        cm = (vol.get("configMap") or {}).get("name")
        if cm and cm not in names.get("ConfigMap", set()):
            yield _f(doc, "K8S-REF", f"volume {vol.get('name')}: ConfigMap {cm} is not rendered")
    for c in containers(spec):
        for env in c.get("env") or []:
            ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
            if ref and not ref.get("optional"):
                if ref.get("name") not in names.get("ConfigMap", set()):
                    yield _f(doc, "K8S-REF", f"{env.get('name')}: ConfigMap {ref.get('name')} is not rendered")
                elif ref.get("key") not in keys.get(ref.get("name"), set()):
                    yield _f(doc, "K8S-REF", f"{env.get('name')}: ConfigMap {ref.get('name')} has no key "
                                             f"{ref.get('key')}")


def _check_data(doc: dict[str, Any]) -> Iterator[Finding]:
    for key, value in {**(doc.get("data") or {}), **(doc.get("binaryData") or {})}.items():
        text = str(value)
        if URL_WITH_PASSWORD.search(text) or TOKEN_SHAPES.search(text):
            yield _f(doc, "K8S-SECRET", f"ConfigMap key {key} holds a credential")
        if CREDENTIAL_NAME.search(str(key)):
            yield _f(doc, "K8S-SECRET", f"ConfigMap key {key} is named like a credential: use a Secret")


def check(docs: Iterable[dict[str, Any]], *, environment: bool = True,
          context: Iterable[dict[str, Any]] = ()) -> list[Finding]:
    """Every policy finding of one render; ``environment`` (an overlay) also requires namespaces; ``context``
    holds documents deployed beside these (names they may refer to), themselves not checked."""
    docs = [d for d in docs if isinstance(d, dict)]
    names: dict[str, set[str]] = {}
    keys: dict[str, set[str]] = {}
    for d in [*docs, *(c for c in context if isinstance(c, dict))]:
        meta = d.get("metadata") or {}
        names.setdefault(str(d.get("kind")), set()).add(str(meta.get("name")))
        if d.get("kind") == "ConfigMap":
            keys[str(meta.get("name"))] = set(d.get("data") or {}) | set(d.get("binaryData") or {})
    out: list[Finding] = []
    for d in docs:
        kind = d.get("kind")
        if environment and kind not in CLUSTER_SCOPED and not (d.get("metadata") or {}).get("namespace"):
            out.append(_f(d, "K8S-NS", "no namespace"))
        if kind == "Secret":
            out.append(_f(d, "K8S-SECRET", "a Secret in the manifests: Secrets are created out of band"))
        if kind == "ConfigMap":
            out.extend(_check_data(d))
        if kind == "CronJob":
            out.extend(_check_cronjob(d))
        spec = pod_spec(d)
        if spec is not None:
            out.extend(_check_pod(d, spec))
            out.extend(_check_refs(d, spec, names, keys))
    return out
