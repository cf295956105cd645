"""The supply-chain checks CI runs through make (docs/supply-chain.md):

    python deploy/checks/run.py sast        bandit over src/ and deploy/ (make sast)
    python deploy/checks/run.py secrets     detect-secrets over the repository (make secrets)
    python deploy/checks/run.py manifests   render every overlay, schemas + policy + Argo CD (make manifests)
    python deploy/checks/run.py iac         manifests + Dockerfile policy + hadolint + checkov (make iac)
    python deploy/checks/run.py sbom-check FILE   the SBOM lists exactly the locked packages (make sbom)

Exit 0 when every finding is covered by a reviewed exception (deploy/checks/exceptions.yaml), 1 when a
finding is not, 2 when a scanner could not run (missing tool, bad exceptions file).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import yaml

# jsonschema (under kubernetes-validate and the SBOM schema check) imports rfc3987_syntax when it is installed
# (the lock has it, for jupyter-events), which compiles 38 grammars at import, about 5 s here, for IRI format
# checks none of these scans uses. The checks run in their own process, so they keep it out.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

import argocd_policy  # noqa: E402
import dockerfile_policy  # noqa: E402
import k8s_policy  # noqa: E402
import render  # noqa: E402
from findings import ROOT, Finding, gate, load_exceptions, relative, report  # noqa: E402

GENERATOR = ROOT / "deploy" / "components" / "pull-per-repository" / "generate.py"


def _generator():
    spec = importlib.util.spec_from_file_location("hp_pull_per_repository", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def manifest_findings(out_dir: Path | None) -> tuple[list[Finding], list[Path]]:
    """Render everything, validate, apply the policies; write each render to ``out_dir`` for checkov."""
    findings: list[Finding] = []
    written: list[Path] = []
    gen = _generator()
    expected = gen.render(gen.parse_sources(gen.SOURCES.read_text(encoding="utf-8")),
                          yaml.safe_load(gen.BASE_PULL.read_text(encoding="utf-8")))
    if gen.OUTPUT.read_text(encoding="utf-8") != expected:
        findings.append(Finding(tool="policy", rule="K8S-GENERATED", where=relative(gen.OUTPUT),
                                message="out of date: run deploy/components/pull-per-repository/generate.py"))
    prod = render.render_docs(render.ENVIRONMENT_DIRS["overlays/prod"])
    targets = [(name, path, True) for name, path in render.ENVIRONMENT_DIRS.items()]
    targets += [("base", render.DEPLOY / "base", False)]
    targets += [(name, path, False) for name, path in render.PLAIN_MANIFESTS.items()]
    for name, path, environment in targets:
        docs = render.render_docs(path)
        findings += render.validate(docs)
        # a plain manifest (the reader pod) is applied into an environment: its names resolve there
        context = prod if name in render.PLAIN_MANIFESTS else ()
        findings += k8s_policy.check(docs, environment=environment, context=context)
        if out_dir is not None and name != "base":
            target = out_dir / (name.replace("/", "-") + ".yaml")
            target.parent.mkdir(parents=True, exist_ok=True)
            if context:  # scanned as applied: `kubectl -n hivepulse-prod apply -f ...`
                namespace = prod[0]["metadata"]["namespace"]
                docs = tuple({**d, "metadata": {**d["metadata"], "namespace": namespace}} for d in docs)
            target.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
            written.append(target)
    findings += argocd_policy.check(render.render_docs(render.DEPLOY / "argocd"), ROOT)
    return findings, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="hivepulse supply-chain checks")
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sast")
    sec = sub.add_parser("secrets")
    sec.add_argument("--update-baseline", action="store_true",
                     help="rescan and rewrite .secrets.baseline, keeping earlier reviews")
    man = sub.add_parser("manifests")
    man.add_argument("--out", type=Path, default=ROOT / "build" / "manifests")
    iac = sub.add_parser("iac")
    iac.add_argument("--out", type=Path, default=ROOT / "build" / "manifests")
    sb = sub.add_parser("sbom-check")
    sb.add_argument("sbom", type=Path)
    sb.add_argument("--lock", type=Path, default=ROOT / "requirements.lock")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        exceptions = load_exceptions()
        if args.cmd == "sast":
            from sast_scan import bandit_findings

            found = bandit_findings([ROOT / "src", ROOT / "deploy"])
            return report("sast (bandit)", gate(found, exceptions, ["bandit"]), started)
        if args.cmd == "secrets":
            from secret_scan import secret_findings, update_baseline

            if args.update_baseline:
                pending = update_baseline()
                print(f"secrets: baseline rewritten; {pending} entr{'y' if pending == 1 else 'ies'} await review "
                      "(`detect-secrets audit .secrets.baseline`)")
                return 0
            found, notes, held = secret_findings()
            for note in notes:
                print(f"  note: {note}")
            return report("secrets (detect-secrets)", gate(found, exceptions, ["detect-secrets"]), started,
                          baseline=held)
        if args.cmd == "manifests":
            found, written = manifest_findings(args.out)
            print(f"  rendered {len(written)} manifests to {relative(args.out)} (Kubernetes {render.KUBERNETES_VERSION}"
                  f" schemas, kubectl {render.kubectl()})")
            return report("manifests (kustomize + schemas + policy)",
                          gate(found, exceptions, ["policy", "kubernetes-validate"]), started)
        if args.cmd == "iac":
            from iac_scan import checkov_findings, hadolint_findings

            found, written = manifest_findings(args.out)
            dockerfile = ROOT / "Dockerfile"
            found += dockerfile_policy.check(dockerfile, ROOT / ".dockerignore", root=ROOT)
            found += hadolint_findings(dockerfile)
            found += checkov_findings([*written, dockerfile])
            print(f"  scanned {len(written)} rendered manifests and the Dockerfile")
            return report("iac (schemas, policy, hadolint, checkov)",
                          gate(found, exceptions, ["policy", "kubernetes-validate", "hadolint", "checkov"]), started)
        if args.cmd == "sbom-check":
            from sbom_check import check

            problems = check(args.sbom, args.lock)
            for p in problems:
                print(f"  FAIL {p}")
            status = "FAILED" if problems else "ok"
            print(f"sbom: {status}: {relative(args.sbom)} ({time.perf_counter() - started:.1f} s)")
            return 1 if problems else 0
    except (RuntimeError, ValueError, OSError) as exc:
        print(f"{args.cmd}: cannot run: {exc}", file=sys.stderr)
        return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
