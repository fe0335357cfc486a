"""Regenerate fixtures/cgroups/v1-* from a REAL cgroup v1 memory controller (run as root on a v1 host).

    python tests/cgroups/capture_v1_fixtures.py

Builds kubelet-style pods below our own memory cgroup, runs real processes in them (an init container
that is OOM-killed under a 32 MiB limit, a BestEffort app, a Guaranteed app), then copies the memory
controller files the kernel wrote. Not a test: pytest does not collect it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realcg import CgroupTree, MiB, kernel_release, own_memory_cgroup

REPO = Path(__file__).resolve().parents[2]
FILES = ("memory.limit_in_bytes", "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.failcnt",
         "memory.oom_control", "memory.soft_limit_in_bytes", "memory.use_hierarchy", "memory.stat",
         "cgroup.procs")

BURSTABLE_UID = "3f6c1a2b-5d4e-4f00-9a1b-0c2d3e4f5a6b"
BESTEFFORT_UID = "9b2e7d41-0c3a-4e8f-b6d5-2a1f0e9c8d7b"
GUARANTEED_UID = "c41d8e2f-7a90-4b3c-8e1d-5f6a7b8c9d0e"
IDS = {
    "burstable-sandbox": "5c1b6e0f2a9d4c3b8e7f6a5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b",
    "burstable-init": "7e1f3a9c2b8d4e6f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b",
    "besteffort-sandbox": "a0b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "besteffort-app": "b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c",
    "guaranteed-sandbox": "d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809",
    "guaranteed-app": "e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8",
}


def layout(driver: str) -> dict[str, str]:
    if driver == "cgroupfs":
        return {"kubepods": "kubepods", "burstable": "kubepods/burstable", "besteffort": "kubepods/besteffort",
                "pod-burstable": f"kubepods/burstable/pod{BURSTABLE_UID}",
                "pod-besteffort": f"kubepods/besteffort/pod{BESTEFFORT_UID}",
                "pod-guaranteed": f"kubepods/pod{GUARANTEED_UID}",
                **{k: f"{{pod-{k.split('-')[0]}}}/{v}" for k, v in IDS.items()}}
    u = {k: v.replace("-", "_") for k, v in
         (("b", BURSTABLE_UID), ("e", BESTEFFORT_UID), ("g", GUARANTEED_UID))}
    return {"kubepods": "kubepods.slice", "burstable": "kubepods.slice/kubepods-burstable.slice",
            "besteffort": "kubepods.slice/kubepods-besteffort.slice",
            "pod-burstable": f"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{u['b']}.slice",
            "pod-besteffort": f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{u['e']}.slice",
            "pod-guaranteed": f"kubepods.slice/kubepods-pod{u['g']}.slice",
            **{k: f"{{pod-{k.split('-')[0]}}}/crio-{v}.scope" for k, v in IDS.items()},
            "burstable-conmon": f"{{pod-burstable}}/crio-conmon-{IDS['burstable-init']}.scope"}


def build_and_capture(parent: Path, driver: str, dest: Path) -> dict[str, int]:
    paths = layout(driver)
    paths = {k: v.format(**paths) if "{" in v else v for k, v in paths.items()}
    with CgroupTree(parent) as t:
        t.mkdir(paths["kubepods"], limit=1024 * MiB)  # node allocatable, as kubelet enforces it
        t.mkdir(paths["burstable"])
        t.mkdir(paths["besteffort"])
        # init 32Mi, apps 48Mi + 16Mi -> pod limit max(64Mi, 32Mi) = 64Mi (cg.pod_limit_formula)
        t.mkdir(paths["pod-burstable"], limit=64 * MiB)
        t.mkdir(paths["pod-besteffort"])
        t.mkdir(paths["pod-guaranteed"], limit=128 * MiB)
        for key in ("burstable-sandbox", "besteffort-sandbox", "guaranteed-sandbox"):
            t.start_sleeper(t.mkdir(paths[key]))
        if "burstable-conmon" in paths:
            t.start_sleeper(t.mkdir(paths["burstable-conmon"]))
        init = t.mkdir(paths["burstable-init"], limit=32 * MiB)
        rc = t.run_hog(init)
        t.start_holder(t.mkdir(paths["besteffort-app"]), 24)
        t.start_holder(t.mkdir(paths["guaranteed-app"], limit=128 * MiB), 40)
        if dest.exists():
            shutil.rmtree(dest)
        for d in sorted(t.created):
            out = dest / "memory" / d.relative_to(t.root)
            out.mkdir(parents=True, exist_ok=True)
            for f in FILES:
                (out / f).write_text((d / f).read_text())
    return {"init_exit": rc}


def main() -> None:
    parent, why = own_memory_cgroup()
    if parent is None:
        sys.exit(f"cannot capture: {why}")
    base = REPO / "fixtures" / "cgroups"
    for driver, name in (("cgroupfs", "v1-cgroupfs"), ("systemd", "v1-systemd")):
        res = build_and_capture(parent, driver, base / name)
        print(f"{name}: init container exit {res['init_exit']} (kernel {kernel_release()})")


if __name__ == "__main__":
    main()
