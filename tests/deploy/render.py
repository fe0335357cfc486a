"""Renderings of the Helm chart and the kustomize base, as users render them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from release_artifacts import REPO

CHART = REPO / "deploy" / "helm" / "podtriage"
KUSTOMIZE = REPO / "deploy" / "kustomize"


def run(argv: list, **kw) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "HELM_"))}
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=300, env=env, **kw)


def helm_template(helm: Path, *args: str, release: str = "pt", namespace: str = "podtriage") -> list[dict]:
    p = run([helm, "template", release, CHART, "--namespace", namespace, *args])
    assert p.returncode == 0, p.stderr
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def kustomize(kubectl: Path, tmp_path: Path, *, secrets: bool = False, components: tuple[str, ...] = ()) -> list[dict]:
    """The base, through an overlay with these components (secret-metadata, watch, service-monitor,
    prometheus-rule) when any is asked for."""
    wanted = tuple(components) + (("secret-metadata",) if secrets else ())  # watch first: secret-metadata patches it
    if wanted:
        overlay = tmp_path / "overlay"
        overlay.mkdir(exist_ok=True)
        base = os.path.relpath(KUSTOMIZE, overlay)
        listed = ", ".join(f"{base}/components/{c}" for c in wanted)
        (overlay / "kustomization.yaml").write_text(f"resources: [{base}]\ncomponents: [{listed}]\n")
        target = overlay
    else:
        target = KUSTOMIZE
    p = run([kubectl, "kustomize", "--load-restrictor=LoadRestrictionsNone", target])
    assert p.returncode == 0, p.stderr
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def one(docs: list[dict], kind: str, name_suffix: str = "") -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix)]
    assert len(found) == 1, (kind, name_suffix, [d["metadata"]["name"] for d in docs if d["kind"] == kind])
    return found[0]


def container(docs: list[dict]) -> dict:
    cj = one(docs, "CronJob")
    [c] = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return c


def env_of(c: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in c.get("env") or ()}


def watch_container(docs: list[dict]) -> dict:
    [c] = one(docs, "Deployment", "-watch")["spec"]["template"]["spec"]["containers"]
    return c
