"""Alerting outputs that hold up in real setups: JUnit test-case names that survive count changes,
a `cluster` label on every metric, and a real Prometheus Pushgateway (built from Go modules) that
keeps two clusters' pushes apart."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

import release_artifacts
from podtriage.audit.outputs import grouping_path

from .test_audit import parse_exposition

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = Path(__file__).parent / "fixtures" / "cluster.yaml"
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PODTRIAGE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "podtriage.cli", "audit", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def junit_cases(path: Path) -> dict[str, tuple[str, str]]:
    """finding id (from the case text) -> (testcase name, first line of the text: the headline)."""
    p = audit("--from", str(path), "-o", "junit", "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    out = {}
    for tc in ET.fromstring(p.stdout).iter("testcase"):
        body = next((el.text for el in tc if el.text), "") or ""
        m = re.search(r"^finding: ([0-9a-f]{12}) ", body, re.M)
        if m:
            out[m.group(1)] = (tc.get("name") or "", body.splitlines()[0])
    return out


def test_junit_names_do_not_change_when_counts_do(tmp_path: Path) -> None:
    doc = yaml.safe_load(CLUSTER.read_text())
    # One trainer pod fewer: the GPU-taint finding now covers 3 pods instead of 4.
    gone = "trainer-6c9f7d8b5-m4n8q"
    fewer = dict(doc, items=[i for i in doc["items"] if i["metadata"].get("name") != gone
                             and i.get("involvedObject", {}).get("name") != gone])
    assert len(fewer["items"]) < len(doc["items"])
    smaller = tmp_path / "cluster.yaml"
    smaller.write_text(yaml.safe_dump(fewer))
    before, after = junit_cases(CLUSTER), junit_cases(smaller)
    common = set(before) & set(after)
    assert len(common) >= 5
    changed = [fid for fid in common if before[fid][1] != after[fid][1]]
    assert changed, "the fixture change should change some finding's counts"
    for fid in common:
        assert before[fid][0] == after[fid][0], (before[fid], after[fid])
    names = [n for n, _ in before.values()]
    assert len(set(names)) == len(names)
    assert not any(re.search(r"\d+ (pods?|workloads?)", n) for n in names), names
    taint = next(n for n, _ in before.values() if "taint dedicated=gpu:NoSchedule" in n)
    assert taint == "Node taint not tolerated by the pod [taint dedicated=gpu:NoSchedule]"


def test_cluster_label_on_every_metric(tmp_path: Path) -> None:
    p = audit("--from", str(CLUSTER), "-o", "prometheus", "--cluster", "prod-eu-1", "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    samples = parse_exposition(p.stdout)
    assert samples and all(lab.get("cluster") == "prod-eu-1" for rows in samples.values() for lab, _ in rows)
    textfile = tmp_path / "podtriage.prom"
    q = audit("--from", str(CLUSTER), "-o", "json", "--cluster", "prod-eu-1", "--prometheus-textfile",
              str(textfile), "--fail-on", "none")
    assert q.returncode == 0, q.stderr
    written = parse_exposition(textfile.read_text())
    assert set(written) == set(samples)
    assert all(lab["cluster"] == "prod-eu-1" for rows in written.values() for lab, _ in rows)
    plain = parse_exposition(audit("--from", str(CLUSTER), "-o", "prometheus", "--fail-on", "none").stdout)
    assert not any("cluster" in lab for rows in plain.values() for lab, _ in rows)


def test_grouping_path_escapes_like_the_pushgateway() -> None:
    assert grouping_path("podtriage") == "/metrics/job/podtriage"
    assert grouping_path("podtriage", {"cluster": "prod-eu-1"}) == "/metrics/job/podtriage/cluster/prod-eu-1"
    # A `/` cannot go in a path segment: the Pushgateway's base64url form.
    assert grouping_path("podtriage", {"cluster": "eu/1"}) == "/metrics/job/podtriage/cluster@base64/ZXUvMQ=="
    assert grouping_path("podtriage", {"cluster": ""}) == "/metrics/job/podtriage/cluster@base64/="


# --- a real Pushgateway ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory):
    binary = release_artifacts.cli_tool("pushgateway")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("pushgateway") / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(binary), f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the Pushgateway did not start: {log.read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def groups(url: str) -> dict[tuple[tuple[str, str], ...], dict]:
    doc = json.loads(urllib.request.urlopen(f"{url}/api/v1/metrics", timeout=5).read())
    assert doc["status"] == "success"
    return {tuple(sorted(g["labels"].items())): g for g in doc["data"]}


def namespaces(group: dict) -> set[str]:
    return {m["labels"]["namespace"] for m in group["podtriage_pending_pods"]["metrics"]}


def test_two_clusters_push_to_one_pushgateway_without_overwriting(pushgateway) -> None:
    for cluster, source in (("prod-eu", CLUSTER), ("prod-us", DEMO), ("lab/2", DEMO)):
        p = audit("--from", str(source), "-o", "json", "--fail-on", "none", "--pushgateway", pushgateway,
                  "--cluster", cluster)
        assert p.returncode == 0, p.stderr
    got = groups(pushgateway)
    eu = got[(("cluster", "prod-eu"), ("job", "podtriage"))]
    us = got[(("cluster", "prod-us"), ("job", "podtriage"))]
    assert (("cluster", "lab/2"), ("job", "podtriage")) in got
    assert namespaces(eu) == {"team-a", "team-b", "team-c", "sandbox"}
    assert namespaces(us) == {"ml", "shop", "data", "default"}
    assert not namespaces(eu) & namespaces(us)
    # Every sample of a group carries its cluster label.
    assert all(m["labels"]["cluster"] == "prod-eu" for m in eu["podtriage_pending_pods"]["metrics"])
    # prod-eu pushes again, with other data: its group is replaced, prod-us's is untouched.
    p = audit("--from", str(DEMO), "-o", "json", "--fail-on", "none", "--pushgateway", pushgateway,
              "--cluster", "prod-eu")
    assert p.returncode == 0, p.stderr
    again = groups(pushgateway)
    assert namespaces(again[(("cluster", "prod-eu"), ("job", "podtriage"))]) == namespaces(us)
    assert namespaces(again[(("cluster", "prod-us"), ("job", "podtriage"))]) == namespaces(us)
    assert again[(("cluster", "prod-us"), ("job", "podtriage"))]["push_time_seconds"] == us["push_time_seconds"]
