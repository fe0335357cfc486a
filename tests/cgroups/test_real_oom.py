"""A REAL OOM kill under a kubelet-style cgroup v1 hierarchy, then `podtriage node-stats` on it.

Builds <our memory cgroup>/podtriage-test-<rand>/kubepods/burstable/pod<uid>/<containerID> with a 32 MiB
container limit and a 64 MiB pod limit (init 32Mi vs apps 48Mi + 16Mi, cg.pod_limit_formula), runs a
memory hog in the container cgroup until the kernel's OOM killer SIGKILLs it, and checks what the CLI
reports. Skipped where no writable cgroup v1 memory controller exists (not root, cgroup v2 only).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .realcg import CgroupTree, MiB, kernel_release, own_memory_cgroup

ROOT = Path(__file__).resolve().parents[2]
POD_UID = "1c9e4b7a-2d3f-4a5b-9c8d-7e6f5a4b3c2d"
CONTAINER_ID = "4f3e2d1c0b9a8f7e6d5c4b3a29180f7e6d5c4b3a29180f7e6d5c4b3a29180f7e"

_parent, _why = own_memory_cgroup()
pytestmark = pytest.mark.skipif(_parent is None, reason=f"no writable cgroup v1 memory controller: {_why}")


def node_stats(root: Path) -> dict:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PODTRIAGE_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "podtriage.cli", "node-stats", "--cgroup-root", str(root),
                        "--node", "real-oom-node"], check=False, capture_output=True, text=True, env=env,
                       cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_real_oom_kill_is_reported_by_node_stats() -> None:
    assert _parent is not None
    with CgroupTree(_parent) as t:
        t.mkdir("kubepods/burstable")
        pod = t.mkdir(f"kubepods/burstable/pod{POD_UID}", limit=64 * MiB)
        ctr = t.mkdir(f"kubepods/burstable/pod{POD_UID}/{CONTAINER_ID}", limit=32 * MiB)

        rc = t.run_hog(ctr, cap_mib=512)
        assert rc == -signal.SIGKILL, f"the hog was not OOM-killed (exit {rc}): is memory.limit_in_bytes enforced?"

        doc = node_stats(t.root)
        raw_oom_control = (ctr / "memory.oom_control").read_text()

    print(f"\nkernel {kernel_release()}; container memory: {json.dumps(doc['pods'][0]['containers'][0]['memory'])}"
          f"\npod memory: {json.dumps(doc['pods'][0]['memory'])}")
    assert doc["cgroupVersion"] == 1 and doc["driver"] == "cgroupfs"
    [p] = doc["pods"]
    assert (p["uid"], p["qos"]) == (POD_UID, "burstable")
    assert p["cgroup"] == f"/kubepods/burstable/pod{POD_UID}"
    assert p["memory"]["limit"] == 64 * MiB
    [c] = p["containers"]
    assert c["id"] == CONTAINER_ID
    m = c["memory"]
    assert m["limit"] == 32 * MiB
    assert m["failcnt"] > 0
    # the kernel reclaims, fails the charge and kills at the limit: the peak is the limit (a page either way)
    assert 32 * MiB - 4 * MiB <= m["peak"] <= 32 * MiB
    assert m["usage"] < 4 * MiB  # the killed process's memory was freed
    if "oom_kill " in raw_oom_control:
        assert m["oomKill"] >= 1
        assert p["memory"]["oomKill"] == 0  # v1 counts the kill only in the victim's own cgroup
    else:  # kernels before 4.13 do not count OOM kills in v1: failcnt and the peak are the evidence
        assert m["oomKill"] is None
        assert any("oom_kill" in w for w in doc["warnings"])
    assert pod.exists() is False  # cleaned up, leaves first


def test_real_oom_kill_by_the_pod_limit_shows_on_the_pod_cgroup() -> None:
    """A container without its own limit, killed by the POD cgroup's limit: failcnt moves to the pod."""
    assert _parent is not None
    with CgroupTree(_parent) as t:
        t.mkdir(f"kubepods/burstable/pod{POD_UID}", limit=48 * MiB)
        ctr = t.mkdir(f"kubepods/burstable/pod{POD_UID}/{CONTAINER_ID}")  # no container limit
        rc = t.run_hog(ctr, cap_mib=512)
        assert rc == -signal.SIGKILL
        doc = node_stats(t.root)
    [p] = doc["pods"]
    [c] = p["containers"]
    print(f"\npod memory: {json.dumps(p['memory'])}\ncontainer memory: {json.dumps(c['memory'])}")
    assert c["memory"]["limit"] is None and c["memory"]["failcnt"] == 0
    assert p["memory"]["limit"] == 48 * MiB and p["memory"]["failcnt"] > 0
    assert 44 * MiB <= p["memory"]["peak"] <= 48 * MiB
    if c["memory"]["oomKill"] is not None:
        # v1 charges the kill to the victim's cgroup, not to the cgroup whose limit was hit
        assert (c["memory"]["oomKill"], p["memory"]["oomKill"]) == (1, 0)
