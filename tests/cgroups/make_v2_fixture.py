"""Regenerate fixtures/cgroups/v2-systemd: a cgroup v2 node (systemd driver, containerd), written by hand.

    python tests/cgroups/make_v2_fixture.py

No cgroup v2 memory controller was available where these were made (hybrid host, memory on v1), so the
values are chosen, but every file has the kernel's format (Documentation/admin-guide/cgroup-v2.rst) and
the counters are consistent with each other: memory.events is hierarchical (a parent counts its
children's events, including children whose cgroup is gone), memory.events.local is this level only;
"oom" is counted where the limit was hit, "oom_kill" where the victim lived. Not a test.

Pods: a Burstable pod whose init container (limit 32Mi, pod limit 64Mi) was OOM-killed in 3 attempts;
a Burstable pod whose init container has no memory limit (no pod limit either) and pushed kubepods.slice
to its limit; a BestEffort neighbour that got OOM-killed for it; a healthy Guaranteed pod.
"""

import shutil
from pathlib import Path

base = Path(__file__).resolve().parents[2] / "fixtures" / "cgroups" / "v2-systemd"
if base.exists(): shutil.rmtree(base)
CTRL = "cpuset cpu io memory hugetlb pids rdma misc\n"
Mi = 1 << 20
def ev(low=0, high=0, mx=0, oom=0, kill=0, group=0):
    return f"low {low}\nhigh {high}\nmax {mx}\noom {oom}\noom_kill {kill}\noom_group_kill {group}\n"
def cg(rel, *, max_="max", current, peak, events, local=None, procs="", oom_group=0, controllers=True, subtree=True):
    d = base / rel
    d.mkdir(parents=True, exist_ok=True)
    files = {
        "cgroup.controllers": CTRL,
        "cgroup.subtree_control": "cpuset cpu io memory hugetlb pids\n" if subtree else "",
        "cgroup.procs": procs,
        "cgroup.type": "domain\n",
        "memory.max": f"{max_}\n",
        "memory.high": "max\n",
        "memory.low": "0\n",
        "memory.min": "0\n",
        "memory.current": f"{current}\n",
        "memory.peak": f"{peak}\n",
        "memory.events": events,
        "memory.events.local": local if local is not None else events,
        "memory.oom.group": f"{oom_group}\n",
        "memory.swap.max": "0\n" if oom_group else "max\n",
        "memory.swap.current": "0\n",
    }
    for k, v in files.items():
        (d / k).write_text(v)
    return d

# root cgroup: no memory.max/current/events at the root of a v2 hierarchy
base.mkdir(parents=True)
(base / "cgroup.controllers").write_text(CTRL)
(base / "cgroup.subtree_control").write_text("cpuset cpu io memory hugetlb pids\n")
(base / "cgroup.procs").write_text("1\n")
(base / "cgroup.max.depth").write_text("max\n")
(base / "memory.pressure").write_text("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
(base / "system.slice" / "containerd.service").mkdir(parents=True)
(base / "system.slice" / "containerd.service" / "memory.current").write_text("48734208\n")

ALLOC = 7_512_416_256  # node allocatable + eviction threshold: kubepods.slice memory.max
B_UID = "3f6c1a2b_5d4e_4f00_9a1b_0c2d3e4f5a6b"  # init container OOM-killed (32Mi limit), 3 attempts
N_UID = "6a7d2c90_1e3b_4f5a_8c6d_7e8f9a0b1c2d"  # init container without a memory limit: the bleed
E_UID = "9b2e7d41_0c3a_4e8f_b6d5_2a1f0e9c8d7b"  # BestEffort neighbour, killed when kubepods filled
G_UID = "c41d8e2f_7a90_4b3c_8e1d_5f6a7b8c9d0e"  # Guaranteed, healthy
I = {
 "b-pause": "5c1b6e0f2a9d4c3b8e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b",
 "b-init": "7e1f3a9c2b8d4e6f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b",
 "n-pause": "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80",
 "n-init": "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091",
 "e-pause": "a0b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9",
 "e-app": "b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c",
 "g-pause": "d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
 "g-app": "e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8",
}
K = "kubepods.slice"
KB = f"{K}/kubepods-burstable.slice"
KE = f"{K}/kubepods-besteffort.slice"
pause = {"max_": "max", "current": 258048, "peak": 1310720, "events": ev()}
# kubepods: the no-limit init pushed it to its limit once -> one OOM kill of a BestEffort neighbour
cg(K, max_=ALLOC, current=3_624_513_536, peak=7_511_891_968, events=ev(mx=209, oom=4, kill=4, group=4),
   local=ev(mx=38, oom=1, kill=0))
cg(KB, current=3_401_318_400, peak=7_120_003_072, events=ev(mx=171, oom=3, kill=3, group=3), local=ev())
cg(KE, current=207_290_368, peak=402_653_184, events=ev(kill=1, group=1), local=ev())
# burstable pod: init 32Mi, apps 48Mi + 16Mi -> pod memory.max 64Mi; init OOM-killed 3 times (3 attempts,
# each a new container ID; only the current attempt's cgroup exists)
bp = f"{KB}/kubepods-burstable-pod{B_UID}.slice"
cg(bp, max_=64 * Mi, current=33_382_400, peak=33_951_744, events=ev(mx=171, oom=3, kill=3, group=3), local=ev())
cg(f"{bp}/cri-containerd-{I['b-pause']}.scope", **pause, procs="4121\n")
cg(f"{bp}/cri-containerd-{I['b-init']}.scope", max_=32 * Mi, current=33_124_352, peak=33_554_432,
   events=ev(mx=57, oom=1, kill=1, group=1), procs="5310\n", oom_group=1, subtree=False)
# burstable pod whose init container has NO memory limit: no pod-level limit either
np_ = f"{KB}/kubepods-burstable-pod{N_UID}.slice"
cg(np_, current=3_367_936_000, peak=7_085_821_952, events=ev(), local=ev())
cg(f"{np_}/cri-containerd-{I['n-pause']}.scope", **pause, procs="6002\n")
cg(f"{np_}/cri-containerd-{I['n-init']}.scope", current=3_367_677_952, peak=7_085_563_904, events=ev(),
   procs="6110\n6131\n", oom_group=1, subtree=False)
ep = f"{KE}/kubepods-besteffort-pod{E_UID}.slice"
cg(ep, current=207_290_368, peak=402_653_184, events=ev(kill=1, group=1), local=ev())
cg(f"{ep}/cri-containerd-{I['e-pause']}.scope", **pause, procs="3001\n")
cg(f"{ep}/cri-containerd-{I['e-app']}.scope", current=207_032_320, peak=402_391_040,
   events=ev(kill=1, group=1), procs="3377\n", oom_group=1, subtree=False)
gp = f"{K}/kubepods-pod{G_UID}.slice"
cg(gp, max_=256 * Mi, current=88_653_824, peak=120_586_240, events=ev(), local=ev())
cg(f"{gp}/cri-containerd-{I['g-pause']}.scope", **pause, procs="2201\n")
cg(f"{gp}/cri-containerd-{I['g-app']}.scope", max_=256 * Mi, current=88_395_776, peak=120_324_096,
   events=ev(), procs="2290\n", oom_group=1, subtree=False)
