"""deploy/Dockerfile, proven without a Docker engine.

The image's file set is built by running the Dockerfile's own instructions on its own context,
the unpacked sdist (tests/rootfs.py: COPY and RUN as written, chrooted; this machine's Debian
userland stands in for the python:3.12-slim base). Then podtriage audits a cluster from it as the
image's user, on a read-only root file system, as the CronJob runs it.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import rootfs
from release_artifacts import REPO

DOCKERFILE = REPO / "deploy" / "Dockerfile"
DEMO = REPO / "fixtures" / "demo"


def _stages(text: str) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for word, rest in rootfs._instructions(text):
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest))
    return stages


def test_dockerfile_pins_its_base_builds_from_the_sdist_and_runs_as_non_root() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    base = re.search(r"^ARG BASE=(\S+)$", text, re.M)
    assert base and re.fullmatch(r"[\w./-]+python:3\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base.group(1)), base
    build, final = _stages(text)
    assert build[0] == ("FROM", "${BASE} AS build") and final[0] == ("FROM", "${BASE}")
    assert ("COPY", ". /src") in build  # the context: the unpacked sdist
    assert ("RUN", "sh /src/deploy/image/install.sh /src /opt/podtriage") in build
    # The final stage runs nothing (no package installation, no compiler): it copies the venv.
    assert [w for w, _ in final] == ["FROM", "COPY", "ENV", "USER", "ENTRYPOINT", "CMD"]
    assert ("COPY", "--from=build /opt/podtriage /opt/podtriage") in final
    user = dict(final)["USER"]
    uid = int(user.split(":")[0])
    assert uid != 0 and user == "65532:65532"
    # The chart and the kustomize base run the same user.
    assert "runAsUser: 65532" in (REPO / "deploy" / "kustomize" / "cronjob.yaml").read_text()


def test_image_audits_a_cluster_as_its_user_on_a_read_only_root(image) -> None:
    stage, _, mode = image
    with tempfile.TemporaryDirectory() as tmp:
        mounts = {"/data": rootfs.Mount(DEMO, read_only=True), "/tmp": rootfs.Mount(Path(tmp))}
        who = rootfs.run_container(stage, ["id", "-u"], mounts=mounts, read_only_root=True, mode=mode)
        assert who.returncode == 0, who.stderr
        if mode == "root":
            assert who.stdout.strip() == "65532"
        p = rootfs.run_container(stage, ["podtriage", "audit", "--from", "/data/cluster.yaml", "-o", "json",
                                         "--fail-on", "high", "--no-progress"],
                                 mounts=mounts, read_only_root=True, mode=mode)
        assert p.returncode == 1, p.stderr  # blocking findings at or above high: the report says which
        doc = json.loads(p.stdout)
        assert doc["counts"]["pendingPods"] == 5 and doc["failing"]  # the ids of the failing findings
        assert {f["rule"] for f in doc["findings"]} >= {"taint-untolerated", "quota-exceeded", "pvc-not-found"}
        # ENTRYPOINT + CMD: the image's default command, an audit of the cluster it runs in; here there
        # is none, and it says so (exit 3) instead of failing on a missing rule catalogue.
        default = rootfs.run_container(stage, mounts=mounts, read_only_root=True, mode=mode)
        assert default.returncode == 3, default.stderr
        assert "no kubeconfig found" in default.stderr and "rules directory not found" not in default.stderr
        written = rootfs.run_container(stage, ["sh", "-c", "touch /opt/podtriage/x || echo read-only"],
                                       mounts=mounts, read_only_root=True, mode=mode)
        assert "read-only" in written.stdout


def test_final_file_set_has_no_build_tools(image) -> None:
    stage, _, _ = image
    assert sorted(p.name for p in stage.root.iterdir()) == ["opt"]  # all the final stage adds
    venv = stage.root / "opt" / "podtriage"
    site = next(venv.glob("lib/python3*/site-packages"))
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert "podtriage" in installed and "kubernetes" in installed
    assert not installed & {"pip", "setuptools", "wheel", "build", "pex", "cython"}, installed
    assert not (venv / "bin" / "pip").exists() and not list(venv.rglob("*.c"))
    rules = sorted(p.name for p in (site / "podtriage" / "builtin_rules").glob("*.yaml"))
    assert rules == sorted(p.name for p in (REPO / "rules").glob("*.yaml"))
