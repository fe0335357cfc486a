"""Walk a node's cgroup tree and build the NodeStats document (a plain dict, see document.py)."""

from __future__ import annotations

import os
import platform
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import layout
from .files import Problems, read_memory_v1, read_memory_v2

API_VERSION = "podtriage.dev/v1"
KIND = "NodeStats"

_ROOT_HINT = ("pass the cgroup mount with --cgroup-root: /sys/fs/cgroup on the node, "
              "/host/sys/fs/cgroup inside `kubectl debug node/NAME`")
# How deep to look for kubepods below the root without a kubelet-looking name on the way
# (covers a kubelet --cgroup-root such as /kubelet.slice or /system.slice/k3s.service).
_FREE_DEPTH = 3
_MAX_DEPTH = 12


@dataclass(frozen=True)
class Hierarchy:
    version: int  # 1 or 2
    memory_dir: Path  # the directory whose subtree holds memory controller files


def _controllers(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


def detect_hierarchy(root: str | Path) -> Hierarchy:
    """Find the memory controller below ROOT: a v2 mount, a v1 memory mount, or a v1/hybrid tmpfs."""
    p = Path(root)
    if not p.exists():
        raise InputError(f"{root}: no such directory", hint=_ROOT_HINT)
    if not p.is_dir():
        raise InputError(f"{root}: not a directory", hint=_ROOT_HINT)
    if (p / "cgroup.controllers").is_file():
        ctrl = _controllers(p / "cgroup.controllers")
        if "memory" not in ctrl:
            v1 = p.parent / "memory"
            extra = (f"; on this hybrid host the memory controller is the cgroup v1 mount {v1}"
                     if (v1 / "memory.usage_in_bytes").is_file() else "")
            raise InputError(f"{root}: cgroup v2 hierarchy without the memory controller "
                             f"(controllers: {' '.join(ctrl) or 'none'}){extra}", hint=_ROOT_HINT)
        return Hierarchy(2, p)
    if (p / "memory.usage_in_bytes").is_file() or (p / "memory.limit_in_bytes").is_file():
        return Hierarchy(1, p)
    if (p / "memory" / "memory.usage_in_bytes").is_file():
        return Hierarchy(1, p / "memory")
    unified = p / "unified"
    if "memory" in _controllers(unified / "cgroup.controllers"):
        return Hierarchy(2, unified)
    raise InputError(f"{root}: not a cgroup mount: no cgroup.controllers (cgroup v2), no memory.* files "
                     "and no memory/ controller directory (cgroup v1)", hint=_ROOT_HINT)


def default_node_name() -> str:
    # NODE_NAME: what a DaemonSet sets from the downward API (spec.nodeName)
    return os.environ.get("NODE_NAME") or socket.gethostname()


class _Walker:
    def __init__(self, h: Hierarchy, problems: Problems) -> None:
        self.h = h
        self.problems = problems
        self.pods: list[dict[str, Any]] = []
        self.kubepods: list[tuple[int, str, Path]] = []  # (depth, rel, path)
        self.drivers: set[str] = set()

    def rel(self, d: Path) -> str:
        r = d.relative_to(self.h.memory_dir).as_posix()
        return "/" if r == "." else "/" + r

    def memory(self, d: Path) -> dict[str, Any]:
        read = read_memory_v1 if self.h.version == 1 else read_memory_v2
        return read(d, self.rel(d), self.problems)

    def subdirs(self, d: Path) -> list[Path]:
        try:
            return sorted(Path(e.path) for e in os.scandir(d) if e.is_dir(follow_symlinks=False))
        except OSError as exc:
            self.problems.note(f"{self.rel(d)}: cannot list cgroup directory ({exc.strerror or exc}); "
                               "pods below it are not reported")
            return []

    def walk(self, d: Path, depth: int = 0) -> None:
        name = d.name
        pod = layout.parse_pod_dir(name)  # also when ROOT itself is one pod's cgroup
        if pod is not None:
            self.add_pod(d, pod)
            return
        if layout.is_kubepods(name):
            self.kubepods.append((depth, self.rel(d), d))
            self.drivers.add(layout.driver_of(name))
        if depth >= _MAX_DEPTH:
            return
        for sub in self.subdirs(d):
            n = sub.name
            if depth + 1 <= _FREE_DEPTH or "kubepods" in n or "kubelet" in n or layout.parse_pod_dir(n):
                self.walk(sub, depth + 1)

    def add_pod(self, d: Path, pod: layout.PodDir) -> None:
        qos = pod.qos or layout.cgroupfs_qos(d.parent.name)
        self.drivers.add(pod.driver)
        containers = []
        for sub in self.subdirs(d):
            c = layout.parse_container_dir(sub.name)
            if c is None:
                continue
            containers.append({"id": c.id, "runtime": c.runtime, "cgroup": self.rel(sub),
                               "memory": self.memory(sub)})
        self.pods.append({"uid": pod.uid, "qos": qos, "cgroup": self.rel(d), "memory": self.memory(d),
                          "containers": containers})


def collect_node_stats(root: str | Path, node: str | None = None) -> dict[str, Any]:
    """Read every pod and container cgroup below ROOT; return the NodeStats document as a dict.

    Raises InputError when ROOT is not a cgroup mount; unreadable files become nulls plus warnings.
    """
    h = detect_hierarchy(root)
    problems = Problems()
    w = _Walker(h, problems)
    w.walk(h.memory_dir)

    node_memory = None
    if w.kubepods:
        _, rel, path = min(w.kubepods, key=lambda k: (k[0], k[1]))
        node_memory = {"cgroup": rel, **w.memory(path)}
    else:
        problems.note(f"no kubepods cgroup under {h.memory_dir}: not a Kubernetes node, the wrong "
                      "--cgroup-root, or a kubelet with a custom --cgroup-root deeper than the search")
    driver = None
    if len(w.drivers) == 1:
        driver = next(iter(w.drivers))
    elif len(w.drivers) > 1:
        problems.note(f"both systemd and cgroupfs kubelet layouts found ({', '.join(sorted(w.drivers))}); "
                      "driver is null")
    if w.kubepods and not w.pods:
        problems.note("kubepods cgroup found but no pod cgroups below it")

    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "node": node or default_node_name(),
        "collected": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cgroupVersion": h.version,
        "driver": driver,
        "root": str(Path(root).absolute()),
        "memoryRoot": str(h.memory_dir.absolute()),
        # the kernel podtriage ran on; inside a node debug pod that is the node's kernel
        "kernel": platform.release(),
        "nodeMemory": node_memory,
        "pods": sorted(w.pods, key=lambda p: p["cgroup"]),
        "warnings": problems.messages(),
    }
