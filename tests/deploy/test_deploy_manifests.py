"""Every overlay rendered with the real `kubectl kustomize`, checked on the rendered YAML: the two CronJobs
and their commands, Secret references only, the restricted security context, requests and limits, a pinned
image, the workspace volume and the generated ConfigMap; validated against the Kubernetes 1.32 schemas;
and the policy fails on each planted problem."""

from __future__ import annotations

import re

import k8s_policy
import pytest
import render
import yaml
from deploy_testkit import IMAGE, OVERLAYS, ROOT, by_kind, container, pod

STORES = {
    "dev": "data/store/hivepulse.db",
    "staging": "postgresql://hivepulse@postgresql.hivepulse-staging.svc.cluster.local:5432/hivepulse?sslmode=require",
    "prod": "postgresql://hivepulse@postgresql.hivepulse-prod.svc.cluster.local:5432/hivepulse?sslmode=require",
}
PULL_ARGS = ["pull", "--store", "$(HIVEPULSE_STORE)"]
RETRO_ARGS = ["retro", "-f", "/config/params.yaml", "--path", "$(HIVEPULSE_STORE)", "--output-dir", "/workspace/retro"]


@pytest.mark.parametrize("env", OVERLAYS)
def test_overlay_renders_exactly_the_expected_resources(overlays, env):
    kinds = sorted((d["kind"], re.sub(r"-[a-z0-9]{10}$", "-<hash>", d["metadata"]["name"])) for d in overlays[env])
    assert kinds == [
        ("ConfigMap", "hivepulse-config-<hash>"), ("ConfigMap", "hivepulse-env-<hash>"),
        ("CronJob", "hivepulse-pull"), ("CronJob", "hivepulse-retro"),
        ("NetworkPolicy", "hivepulse"), ("PersistentVolumeClaim", "hivepulse-workspace"),
        ("ServiceAccount", "hivepulse"),
    ]
    assert {d["metadata"]["namespace"] for d in overlays[env]} == {f"hivepulse-{env}"}


@pytest.mark.parametrize("env", OVERLAYS)
def test_the_two_cronjobs_and_their_commands(overlays, env):
    jobs = by_kind(overlays[env], "CronJob")
    pull, retro = container(jobs["hivepulse-pull"]), container(jobs["hivepulse-retro"])
    # the image's ENTRYPOINT is `hivepulse`: the manifests give only its arguments
    assert "command" not in pull and "command" not in retro
    assert pull["args"] == PULL_ARGS
    assert retro["args"] == RETRO_ARGS
    for c in (pull, retro):
        assert c["workingDir"] == "/workspace"
        store = next(e for e in c["env"] if e["name"] == "HIVEPULSE_STORE")
        ref = store["valueFrom"]["configMapKeyRef"]
        (cm,) = [d for d in overlays[env] if d["kind"] == "ConfigMap" and d["metadata"]["name"] == ref["name"]]
        assert cm["data"][ref["key"]] == STORES[env]
    pull_schedule, retro_schedule = jobs["hivepulse-pull"]["spec"]["schedule"], jobs["hivepulse-retro"]["spec"]["schedule"]
    assert re.fullmatch(r"\d+ \d+ \* \* \*", pull_schedule), "the pull runs daily"
    assert re.fullmatch(r"\d+ \d+ \* \* 1", retro_schedule), "the retro runs weekly, on Mondays"
    assert int(retro_schedule.split()[1]) > int(pull_schedule.split()[1]), "the retro runs after that day's pull"


@pytest.mark.parametrize("env", OVERLAYS)
def test_tokens_are_secret_references_only(overlays, env):
    assert not [d for d in overlays[env] if d["kind"] == "Secret"]
    jobs = by_kind(overlays[env], "CronJob")
    refs = {}
    for name, job in jobs.items():
        c = container(job)
        assert "envFrom" not in c
        for e in c["env"]:
            assert "value" not in e, f"{name}: {e['name']} has a literal value"
            src = e["valueFrom"]
            if "secretKeyRef" in src:
                refs[(name, e["name"])] = (src["secretKeyRef"]["name"], src["secretKeyRef"]["key"],
                                           src["secretKeyRef"].get("optional", False))
    assert refs == {
        ("hivepulse-pull", "GITHUB_TOKEN"): ("hivepulse-tokens", "GITHUB_TOKEN", False),
        ("hivepulse-pull", "ARGOCD_AUTH_TOKEN"): ("hivepulse-tokens", "ARGOCD_AUTH_TOKEN", True),
        ("hivepulse-pull", "PGPASSWORD"): ("hivepulse-store", "PGPASSWORD", True),
        # the retro reads the store only: no API token reaches it
        ("hivepulse-retro", "PGPASSWORD"): ("hivepulse-store", "PGPASSWORD", True),
    }
    text = yaml.safe_dump_all(overlays[env])
    assert not k8s_policy.URL_WITH_PASSWORD.search(text)
    assert not k8s_policy.TOKEN_SHAPES.search(text)


@pytest.mark.parametrize("env", OVERLAYS)
def test_restricted_security_context_and_limits(overlays, env):
    for name, job in by_kind(overlays[env], "CronJob").items():
        spec, c = pod(job), container(job)
        assert spec["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001,
                                           "fsGroup": 10001, "fsGroupChangePolicy": "OnRootMismatch",
                                           "seccompProfile": {"type": "RuntimeDefault"}}
        assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == "hivepulse"
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["privileged"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(c["resources"][part]), f"{name}: {part}"
    assert k8s_policy.check(overlays[env]) == []


@pytest.mark.parametrize("env", OVERLAYS)
def test_image_is_pinned(overlays, env):
    for job in by_kind(overlays[env], "CronJob").values():
        image = container(job)["image"]
        assert re.fullmatch(re.escape(IMAGE) + r":\d+\.\d+\.\d+", image), image
        assert container(job)["imagePullPolicy"] == "Always"


@pytest.mark.parametrize("env", OVERLAYS)
def test_cronjob_scheduling_fields_and_workspace(overlays, env):
    pvcs = by_kind(overlays[env], "PersistentVolumeClaim")
    assert pvcs["hivepulse-workspace"]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "Prune=false" in pvcs["hivepulse-workspace"]["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
    for name, job in by_kind(overlays[env], "CronJob").items():
        s = job["spec"]
        assert s["concurrencyPolicy"] == "Forbid"
        assert s["timeZone"] == "Etc/UTC"
        assert (s["successfulJobsHistoryLimit"], s["failedJobsHistoryLimit"]) == (3, 5)
        assert s["startingDeadlineSeconds"] == 3600
        jt = s["jobTemplate"]["spec"]
        assert jt["activeDeadlineSeconds"] > 0 and jt["backoffLimit"] >= 1
        fail_codes = [r["onExitCodes"]["values"] for r in jt["podFailurePolicy"]["rules"] if "onExitCodes" in r]
        expected = [1, 2, 5] if name.endswith("retro") else [1, 2]
        assert fail_codes == [expected], "a bug (1), bad input (2) or a retro without data (5) is not retried"
        spec = pod(job)
        assert spec["restartPolicy"] == "Never"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes["workspace"]["persistentVolumeClaim"]["claimName"] == "hivepulse-workspace"
        assert "emptyDir" in volumes["tmp"]
        mounts = {m["mountPath"]: m for m in container(job)["volumeMounts"]}
        assert mounts["/workspace"]["name"] == "workspace"
        assert mounts["/config"] == {"name": "config", "mountPath": "/config", "readOnly": True}
        assert mounts["/tmp"]["name"] == "tmp"
        if name == "hivepulse-pull":  # `hivepulse pull` reads retro/project.yaml from its working directory
            assert mounts["/workspace/retro/project.yaml"] == {
                "name": "config", "mountPath": "/workspace/retro/project.yaml", "subPath": "project.yaml",
                "readOnly": True}


@pytest.mark.parametrize("env", OVERLAYS)
def test_project_file_and_parameters_are_a_generated_configmap(overlays, env):
    cms = [d for d in overlays[env] if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("hivepulse-config-")]
    (cm,) = cms
    config = ROOT / "deploy" / "base" / "config"
    assert cm["data"] == {f: (config / f).read_text(encoding="utf-8") for f in ("project.yaml", "params.yaml")}
    params = yaml.safe_load(cm["data"]["params.yaml"])
    assert params["source"] == "store" and params["iteration_days"] == 7
    assert not {"since", "until", "path", "output_dir"} & set(params), "dates and paths come from the run"
    volume = next(v for v in pod(by_kind(overlays[env], "CronJob")["hivepulse-pull"])["volumes"] if v["name"] == "config")
    assert volume["configMap"]["name"] == cm["metadata"]["name"], "the hashed name is referenced"
    kustomization = yaml.safe_load((ROOT / "deploy/base/kustomization.yaml").read_text(encoding="utf-8"))
    generated = {g["name"]: g for g in kustomization["configMapGenerator"]}
    assert generated["hivepulse-config"]["files"] == ["config/project.yaml", "config/params.yaml"]


def test_every_render_validates_against_the_kubernetes_schemas(overlays, base, render_dir):
    docs = [*base, *(d for env in OVERLAYS for d in overlays[env]),
            *render_dir(ROOT / "deploy" / "examples" / "many-repositories"),
            *render_dir(ROOT / "deploy" / "debug" / "workspace-reader.yaml")]
    assert render.KUBERNETES_VERSION == "1.32.0"
    assert render.validate(docs) == []


def test_the_schema_validation_catches_a_misspelt_field(fresh):
    docs = fresh("prod")
    job = next(d for d in docs if d["kind"] == "CronJob")
    container(job)["securityContext"]["runAsNonRot"] = True
    (finding,) = render.validate([job])
    assert finding.tool == "kubernetes-validate" and "runAsNonRot" in finding.message
    assert finding.where == "CronJob/hivepulse-prod/hivepulse-pull"


def _set(path):
    def apply(docs):
        job = next(d for d in docs if d["kind"] == "CronJob" and d["metadata"]["name"] == "hivepulse-pull")
        path(job)
        return docs
    return apply


def _add(doc):
    return lambda docs: [*docs, doc]


PLANTED = {
    "run as root": ("K8S-POD", _set(lambda j: container(j)["securityContext"].update(runAsUser=0))),
    "runAsNonRoot dropped": ("K8S-POD", _set(lambda j: (pod(j)["securityContext"].pop("runAsNonRoot"),
                                                        container(j)["securityContext"].pop("runAsNonRoot")))),
    "no seccomp": ("K8S-POD", _set(lambda j: (pod(j)["securityContext"].pop("seccompProfile"),
                                              container(j)["securityContext"].pop("seccompProfile")))),
    "host network": ("K8S-POD", _set(lambda j: pod(j).update(hostNetwork=True))),
    "hostPath volume": ("K8S-POD", _set(lambda j: pod(j)["volumes"].append({"name": "h", "hostPath": {"path": "/"}}))),
    "token mounted": ("K8S-POD", _set(lambda j: pod(j).pop("automountServiceAccountToken"))),
    "privilege escalation": ("K8S-CTR", _set(lambda j: container(j)["securityContext"].update(
        allowPrivilegeEscalation=True))),
    "writable root": ("K8S-CTR", _set(lambda j: container(j)["securityContext"].update(readOnlyRootFilesystem=False))),
    "capability added": ("K8S-CTR", _set(lambda j: container(j)["securityContext"]["capabilities"].update(
        add=["NET_ADMIN"]))),
    "capabilities kept": ("K8S-CTR", _set(lambda j: container(j)["securityContext"].pop("capabilities"))),
    "privileged": ("K8S-CTR", _set(lambda j: container(j)["securityContext"].update(privileged=True))),
    "no memory limit": ("K8S-RES", _set(lambda j: container(j)["resources"]["limits"].pop("memory"))),
    "request over limit": ("K8S-RES", _set(lambda j: container(j)["resources"]["requests"].update(cpu="2"))),
    "latest tag": ("K8S-IMG", _set(lambda j: container(j).update(image=IMAGE + ":latest"))),
    "no tag": ("K8S-IMG", _set(lambda j: container(j).update(image=IMAGE))),
    "branch tag": ("K8S-IMG", _set(lambda j: container(j).update(image=IMAGE + ":main"))),
    "literal token": ("K8S-SECRET", _set(lambda j: container(j)["env"].append({"name": "GH_TOKEN", "value": "x"}))),
    "token from a ConfigMap": ("K8S-SECRET", _set(lambda j: container(j)["env"].append(
        {"name": "GITHUB_TOKEN", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k", "optional": True}}}))),
    "password in a URL argument": ("K8S-SECRET", _set(lambda j: container(j).update(
        args=["pull", "--store", "postgresql://u:" + "pw" + "@db/x"]))),
    "a Secret object": ("K8S-SECRET", _add({"apiVersion": "v1", "kind": "Secret",
                                            "metadata": {"name": "hivepulse-tokens", "namespace": "hivepulse-prod"},
                                            "stringData": {"GITHUB_TOKEN": "x"}})),
    "concurrent runs": ("K8S-CRON", _set(lambda j: j["spec"].update(concurrencyPolicy="Allow"))),
    "no time zone": ("K8S-CRON", _set(lambda j: j["spec"].pop("timeZone"))),
    "no history limit": ("K8S-CRON", _set(lambda j: j["spec"].pop("failedJobsHistoryLimit"))),
    "no deadline": ("K8S-CRON", _set(lambda j: j["spec"]["jobTemplate"]["spec"].pop("activeDeadlineSeconds"))),
    "missing claim": ("K8S-REF", _set(lambda j: pod(j)["volumes"][0]["persistentVolumeClaim"].update(claimName="x"))),
    "no namespace": ("K8S-NS", _set(lambda j: j["metadata"].pop("namespace"))),
}


@pytest.mark.parametrize("problem", sorted(PLANTED))
def test_the_policy_fails_on_a_planted_problem(fresh, problem):
    rule, plant = PLANTED[problem]
    findings = k8s_policy.check(plant(fresh("prod")))
    assert findings, problem
    assert {f.rule for f in findings} == {rule}, [str(f) for f in findings]


def test_the_cronjob_arguments_parse_with_the_real_cli(overlays):
    """The interface the manifests rely on (docs/deploy.md): each CronJob's arguments parse with hivepulse's own
    parser, and the parameters file names only parameters the retro knows. A command not on this branch yet
    (`hivepulse pull`, issue 12) is reported as a skip, and checked once it is merged."""
    import importlib.util

    from hivepulse.cli import build_parser
    from hivepulse.commands.retro import PARAMETERS

    pending = []
    for _, job in sorted(by_kind(overlays["prod"], "CronJob").items()):
        argv = [a.replace("$(HIVEPULSE_STORE)", STORES["prod"]) for a in container(job)["args"]]
        if importlib.util.find_spec(f"hivepulse.commands.{argv[0]}") is None:
            pending.append(argv[0])
            continue
        args = build_parser(argv).parse_args(argv)
        assert args.command == argv[0]
        if argv[0] == "retro":
            assert (args.parameters_file, args.path, args.output_dir) == (
                "/config/params.yaml", STORES["prod"], "/workspace/retro")
        if argv[0] == "pull":
            assert args.store == STORES["prod"]
    params = yaml.safe_load((ROOT / "deploy/base/config/params.yaml").read_text(encoding="utf-8"))
    assert set(params) <= set(PARAMETERS)
    from hivepulse.retro.params import SOURCES

    if params["source"] not in SOURCES:
        pending.append(f"retro source {params['source']!r}")
    if pending:
        pytest.skip(f"not on this branch yet (issue 12): {', '.join(pending)}")
