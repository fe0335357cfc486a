"""node-stats: cgroup v1/v2 trees (fixtures mirror real kernel files), the NodeStats file, the CLI."""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from podtriage.errors import InputError, InputFileError
from podtriage.nodestats import (
    collect_node_stats,
    detect_hierarchy,
    load_node_stats,
    node_stats_from_dict,
    write_node_stats,
)
from podtriage.nodestats.layout import parse_container_dir, parse_pod_dir

ROOT = Path(__file__).resolve().parents[1]
CG = ROOT / "fixtures" / "cgroups"
CASES = ROOT / "fixtures" / "cases"
MiB = 1 << 20

BURSTABLE = "3f6c1a2b-5d4e-4f00-9a1b-0c2d3e4f5a6b"  # init container OOM-killed (32Mi limit, pod 64Mi)
NOLIMIT = "6a7d2c90-1e3b-4f5a-8c6d-7e8f9a0b1c2d"  # v2 only: init container without a limit
BESTEFFORT = "9b2e7d41-0c3a-4e8f-b6d5-2a1f0e9c8d7b"
GUARANTEED = "c41d8e2f-7a90-4b3c-8e1d-5f6a7b8c9d0e"
INIT_ID = "7e1f3a9c2b8d4e6f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b"
SANDBOX_ID = "5c1b6e0f2a9d4c3b8e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b"


def pods_by_uid(doc: dict) -> dict[str, dict]:
    return {p["uid"]: p for p in doc["pods"]}


def container(pod: dict, cid: str) -> dict:
    return next(c for c in pod["containers"] if c["id"] == cid)


def copy_tree(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copytree(CG / name, dest)
    return dest


# --- cgroup v2, systemd driver ---------------------------------------------------------------------------

def test_v2_systemd_pods_qos_and_container_ids() -> None:
    doc = collect_node_stats(CG / "v2-systemd", node="worker-1")
    assert (doc["apiVersion"], doc["kind"], doc["node"]) == ("podtriage.dev/v1", "NodeStats", "worker-1")
    assert doc["cgroupVersion"] == 2 and doc["driver"] == "systemd"
    assert doc["warnings"] == []
    pods = pods_by_uid(doc)
    assert {u: p["qos"] for u, p in pods.items()} == {
        BURSTABLE: "burstable", NOLIMIT: "burstable", BESTEFFORT: "besteffort", GUARANTEED: "guaranteed"}
    assert pods[GUARANTEED]["cgroup"] == "/kubepods.slice/kubepods-podc41d8e2f_7a90_4b3c_8e1d_5f6a7b8c9d0e.slice"
    init = container(pods[BURSTABLE], INIT_ID)
    assert init["runtime"] == "containerd"
    assert init["cgroup"].endswith(f"/cri-containerd-{INIT_ID}.scope")
    assert {c["id"] for c in pods[BURSTABLE]["containers"]} == {INIT_ID, SANDBOX_ID}


def test_v2_init_container_oom_kill_and_hierarchical_pod_events() -> None:
    pods = pods_by_uid(collect_node_stats(CG / "v2-systemd", node="n"))
    init = container(pods[BURSTABLE], INIT_ID)["memory"]
    assert init["limit"] == 32 * MiB and init["peak"] == 32 * MiB
    assert (init["failcnt"], init["oom"], init["oomKill"]) == (57, 1, 1)  # failcnt = memory.events "max"
    assert init["events"]["oom_group_kill"] == 1
    pod = pods[BURSTABLE]["memory"]
    # memory.events counts the kills of earlier attempts whose cgroups are gone; .local: the pod limit never hit
    assert pod["limit"] == 64 * MiB and pod["oomKill"] == 3
    assert pod["eventsLocal"]["oom"] == 0


def test_v2_no_limit_init_container_and_the_bleed_on_kubepods() -> None:
    doc = collect_node_stats(CG / "v2-systemd", node="n")
    pods = pods_by_uid(doc)
    assert pods[NOLIMIT]["memory"]["limit"] is None  # "max"
    assert max(c["memory"]["peak"] for c in pods[NOLIMIT]["containers"]) > 7 * 10**9
    node = doc["nodeMemory"]
    assert node["cgroup"] == "/kubepods.slice" and node["limit"] == 7_512_416_256
    assert node["eventsLocal"]["oom"] == 1  # kubepods itself hit its limit...
    assert pods[BESTEFFORT]["memory"]["oomKill"] == 1  # ...and a neighbour paid for it
    assert pods[BESTEFFORT]["memory"]["oom"] == 0


def test_v2_kernel_without_memory_peak_gives_null_and_one_grouped_warning(tmp_path: Path) -> None:
    root = copy_tree("v2-systemd", tmp_path)
    for f in root.rglob("memory.peak"):
        f.unlink()
    doc = collect_node_stats(root, node="n")
    assert all(p["memory"]["peak"] is None for p in doc["pods"])
    assert all(p["memory"]["usage"] is not None for p in doc["pods"])
    [warning] = doc["warnings"]
    assert warning.startswith("memory.peak: missing in 13 cgroups") and "5.19" in warning


def test_unreadable_and_garbled_files_become_null_with_warnings(tmp_path: Path) -> None:
    root = copy_tree("v2-systemd", tmp_path)
    pod_dir = next(root.rglob(f"kubepods-burstable-pod{BURSTABLE.replace('-', '_')}.slice"))
    (pod_dir / "memory.max").write_text("sixty-four megs\n")
    (pod_dir / "memory.current").unlink()
    (pod_dir / "memory.current").mkdir()  # reading it fails with an OSError even as root
    (pod_dir / "memory.events").write_text("low 0\nhigh\n")
    init_dir = pod_dir / f"cri-containerd-{INIT_ID}.scope"
    (init_dir / "memory.events").unlink()
    doc = collect_node_stats(root, node="n")
    mem = pods_by_uid(doc)[BURSTABLE]["memory"]
    assert mem["limit"] is None and mem["usage"] is None and mem["peak"] == 33_951_744
    init = container(pods_by_uid(doc)[BURSTABLE], INIT_ID)["memory"]
    assert init["oomKill"] is None and init["limit"] == 32 * MiB
    text = "\n".join(doc["warnings"])
    assert "memory.max: unparseable" in text and "sixty-four" in text
    assert "memory.current: unreadable" in text
    assert "memory.events: unparseable" in text
    assert "memory.events: missing in /kubepods.slice/" in text


def test_v2_hierarchy_without_memory_controller_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("hugetlb\n")
    with pytest.raises(InputError, match="without the memory controller"):
        detect_hierarchy(tmp_path)


# --- cgroup v1 (captured from a real kernel by tests/cgroups/capture_v1_fixtures.py) -------------------------

@pytest.mark.parametrize("tree,driver,runtime", [("v1-cgroupfs", "cgroupfs", "unknown"),
                                                 ("v1-systemd", "systemd", "cri-o")])
def test_v1_real_capture(tree: str, driver: str, runtime: str) -> None:
    doc = collect_node_stats(CG / tree, node="n")
    assert doc["cgroupVersion"] == 1 and doc["driver"] == driver and doc["warnings"] == []
    pods = pods_by_uid(doc)
    assert {u: p["qos"] for u, p in pods.items()} == {
        BURSTABLE: "burstable", BESTEFFORT: "besteffort", GUARANTEED: "guaranteed"}
    init = container(pods[BURSTABLE], INIT_ID)
    assert init["runtime"] == runtime
    m = init["memory"]
    assert m["limit"] == 32 * MiB and m["peak"] == 32 * MiB and m["failcnt"] > 0 and m["oomKill"] == 1
    assert m["oom"] is None  # v1 has no OOM event counter
    assert m["oomControl"] == {"oom_kill_disable": 0, "under_oom": 0, "oom_kill": 1}
    # v1 counters are local: the pod cgroup neither hit its 64Mi limit nor hosted the kill's accounting
    pod = pods[BURSTABLE]["memory"]
    assert pod["limit"] == 64 * MiB and pod["failcnt"] == 0 and pod["oomKill"] == 0
    assert pod["peak"] >= 32 * MiB
    # unlimited (9223372036854771712) is null
    assert pods[BESTEFFORT]["memory"]["limit"] is None
    assert pods[GUARANTEED]["memory"]["limit"] == 128 * MiB
    assert doc["nodeMemory"]["limit"] == 1024 * MiB


def test_v1_systemd_skips_crio_conmon() -> None:
    pods = pods_by_uid(collect_node_stats(CG / "v1-systemd", node="n"))
    assert {c["id"] for c in pods[BURSTABLE]["containers"]} == {INIT_ID, SANDBOX_ID}


def test_v1_roots_accepted(tmp_path: Path) -> None:
    # the tmpfs with memory/ below it, the memory mount itself, and a kubepods cgroup as root
    for root in (CG / "v1-cgroupfs", CG / "v1-cgroupfs" / "memory", CG / "v1-cgroupfs" / "memory" / "kubepods"):
        h = detect_hierarchy(root)
        assert h.version == 1
        assert len(collect_node_stats(root, node="n")["pods"]) == 3


def test_v1_old_kernel_without_oom_kill_and_64k_page_unlimited(tmp_path: Path) -> None:
    root = copy_tree("v1-cgroupfs", tmp_path)
    for f in root.rglob("memory.oom_control"):
        f.write_text("oom_kill_disable 0\nunder_oom 0\n")
    for f in root.rglob("memory.limit_in_bytes"):
        if f.read_text().strip() == "9223372036854771712":
            f.write_text("9223372036854710272\n")  # LONG_MAX rounded down to 64 KiB pages
    doc = collect_node_stats(root, node="n")
    pods = pods_by_uid(doc)
    assert container(pods[BURSTABLE], INIT_ID)["memory"]["oomKill"] is None
    assert pods[BESTEFFORT]["memory"]["limit"] is None
    [warning] = doc["warnings"]
    assert "oom_kill" in warning and "4.13" in warning


@pytest.mark.parametrize("setup", ["empty", "missing", "file"])
def test_not_a_cgroup_root(tmp_path: Path, setup: str) -> None:
    root = tmp_path / "x"
    if setup == "empty":
        root.mkdir()
    elif setup == "file":
        root.write_text("")
    with pytest.raises(InputError) as exc:
        collect_node_stats(root)
    assert str(root) in exc.value.message and "/host/sys/fs/cgroup" in (exc.value.hint or "")


def test_cgroup_mount_without_kubelet_layout_warns(tmp_path: Path) -> None:
    (tmp_path / "memory.usage_in_bytes").write_text("0\n")
    doc = collect_node_stats(tmp_path, node="n")
    assert doc["pods"] == [] and doc["driver"] is None and doc["nodeMemory"] is None
    assert "no kubepods cgroup" in doc["warnings"][0]


# --- names ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,uid,qos", [
    ("kubepods-burstable-pod3f6c1a2b_5d4e_4f00_9a1b_0c2d3e4f5a6b.slice", BURSTABLE, "burstable"),
    ("kubepods-podc41d8e2f_7a90_4b3c_8e1d_5f6a7b8c9d0e.slice", GUARANTEED, "guaranteed"),
    ("kubelet-kubepods-besteffort-pod9b2e7d41_0c3a_4e8f_b6d5_2a1f0e9c8d7b.slice", BESTEFFORT, "besteffort"),
    ("pod3f6c1a2b-5d4e-4f00-9a1b-0c2d3e4f5a6b", BURSTABLE, None),
    ("pod6a3f7c2e9b1d4e8f0a2b3c4d5e6f7a8b", "6a3f7c2e9b1d4e8f0a2b3c4d5e6f7a8b", None),  # static pod: config hash
])
def test_pod_dir_names(name: str, uid: str, qos: str | None) -> None:
    pod = parse_pod_dir(name)
    assert pod is not None and pod.uid == uid and pod.qos == qos


@pytest.mark.parametrize("name", ["kubepods.slice", "kubepods-burstable.slice", "burstable", "system.slice",
                                  "podman"])
def test_not_pod_dirs(name: str) -> None:
    assert parse_pod_dir(name) is None


@pytest.mark.parametrize("name,cid,runtime", [
    ("cri-containerd-abc123def4567890.scope", "abc123def4567890", "containerd"),
    ("crio-abc123def4567890.scope", "abc123def4567890", "cri-o"),
    ("crio-abc123def4567890", "abc123def4567890", "cri-o"),  # CRI-O with the cgroupfs manager
    ("docker-abc123def4567890.scope", "abc123def4567890", "docker"),
    (INIT_ID, INIT_ID, "unknown"),
])
def test_container_dir_names(name: str, cid: str, runtime: str) -> None:
    c = parse_container_dir(name)
    assert c is not None and (c.id, c.runtime) == (cid, runtime)


@pytest.mark.parametrize("name", ["crio-conmon-abc123def4567890.scope", "cgroup.procs", "init.d"])
def test_not_container_dirs(name: str) -> None:
    assert parse_container_dir(name) is None


# --- the file ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
def test_write_and_load_round_trip(tmp_path: Path, suffix: str) -> None:
    doc = collect_node_stats(CG / "v2-systemd", node="worker-1")
    out = tmp_path / f"stats{suffix}"
    write_node_stats(doc, out)
    if suffix.endswith(".gz"):
        assert gzip.decompress(out.read_bytes()).startswith(b"{")
    ns = load_node_stats(out)
    assert (ns.node, ns.cgroup_version, ns.driver, ns.source) == ("worker-1", 2, "systemd", str(out))
    pod = ns.find_pod(BURSTABLE.replace("-", "_"))
    assert pod is not None and pod.qos == "burstable" and pod.memory.limit == 64 * MiB
    assert pod.memory.event("oom", local=True) == 0
    found = ns.find_container(f"containerd://{INIT_ID}")
    assert found is not None and found[0] is pod
    init = found[1]
    assert (init.memory.limit, init.memory.oom_kill, init.memory.failcnt) == (32 * MiB, 1, 57)
    assert ns.node_memory is not None and ns.node_memory_cgroup == "/kubepods.slice"
    assert ns.find_pod("00000000-0000-0000-0000-000000000000") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        init.memory.limit = 1  # type: ignore[misc]


def _valid_doc() -> dict:
    return json.loads(json.dumps(collect_node_stats(CG / "v1-cgroupfs", node="n")))


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.update(kind="Pod"), "kind: expected 'NodeStats'"),
    (lambda d: d.update(apiVersion="podtriage.dev/v2"), "apiVersion: unsupported 'podtriage.dev/v2'"),
    (lambda d: d.update(cgroupVersion=3), "cgroupVersion: expected 1 or 2"),
    (lambda d: d.update(cgroupVersion=True), "cgroupVersion: expected 1 or 2"),
    (lambda d: d.update(driver="openrc"), "driver: expected one of systemd, cgroupfs"),
    (lambda d: d.update(pods={}), "pods: expected a list"),
    (lambda d: d["pods"][1].update(qos="Burstable"), "pods[1].qos: expected one of"),
    (lambda d: d["pods"][0]["memory"].update(limit="64Mi"), "pods[0].memory.limit: expected a non-negative integer"),
    (lambda d: d["pods"][0]["containers"][1]["memory"].update(oomKill=True),
     "pods[0].containers[1].memory.oomKill: expected"),
    (lambda d: d["pods"][2]["containers"][0].pop("id"), "pods[2].containers[0].id: missing"),
])
def test_load_rejects_bad_documents(tmp_path: Path, mutate, message: str) -> None:
    doc = _valid_doc()
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(InputFileError) as exc:
        load_node_stats(path)
    assert exc.value.message.startswith(f"{path}: ")
    assert message in exc.value.message


def test_load_errors_for_unusable_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="no such file"):
        load_node_stats(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "kind": "NodeStats",\n  oops\n}\n')
    with pytest.raises(InputFileError) as exc:
        load_node_stats(broken)
    assert exc.value.line == 3 and "invalid JSON" in exc.value.message
    with pytest.raises(InputFileError, match="expected an object"):
        node_stats_from_dict([1, 2])


# --- CLI -----------------------------------------------------------------------------------------------

def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PODTRIAGE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "podtriage.cli", *args], check=False, capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


def test_cli_node_stats_to_file_and_stdout(tmp_path: Path) -> None:
    out = tmp_path / "n.json"
    p = run("node-stats", "--cgroup-root", str(CG / "v2-systemd"), "--node", "worker-1", "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and "wrote" in p.stderr and "4 pods, 8 containers" in p.stderr
    assert load_node_stats(out).find_pod(GUARANTEED) is not None
    p = run("node-stats", "--cgroup-root", str(CG / "v1-cgroupfs"), "--node", "worker-2")
    assert p.returncode == 0 and json.loads(p.stdout)["node"] == "worker-2"


def test_cli_node_stats_bad_root_exits_2(tmp_path: Path) -> None:
    p = run("node-stats", "--cgroup-root", str(tmp_path))
    assert p.returncode == 2
    assert "not a cgroup mount" in p.stderr and "hint:" in p.stderr and "Traceback" not in p.stderr


def test_cli_explain_accepts_cgroup_stats(tmp_path: Path) -> None:
    stats = tmp_path / "n.json"
    write_node_stats(collect_node_stats(CG / "v2-systemd", node="node-a"), stats)
    base = run("explain", "web-0", "--from", str(CASES / "taint-untolerated.yaml"))
    p = run("explain", "web-0", "--from", str(CASES / "taint-untolerated.yaml"), "--cgroup-stats", str(stats),
            "--cgroup-stats", str(stats))
    assert p.returncode == base.returncode == 1, p.stderr
    assert p.stdout.startswith("✗ default/web-0 is Pending") and "Traceback" not in p.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "Pod"}')
    p = run("explain", "web-0", "--from", str(CASES / "taint-untolerated.yaml"), "--cgroup-stats", str(bad))
    assert p.returncode == 2 and f"{bad}: kind: expected 'NodeStats'" in p.stderr
