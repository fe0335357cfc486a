"""kubelet and container-runtime cgroup names: which directory is a pod, its QoS, which is a container.

    cgroupfs  kubepods/{burstable,besteffort}/pod<uid>/<containerID>     (Guaranteed: kubepods/pod<uid>/...)
    systemd   kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_with_underscores>.slice/
              cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
              (Guaranteed: kubepods.slice/kubepods-pod<uid_>.slice/...)

A kubelet `--cgroup-root` or a kind node adds a prefix (`kubelet.slice/kubelet-kubepods.slice/...`,
`kubelet/kubepods/...`), so names are matched by suffix, not by absolute path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

QOS_GUARANTEED = "guaranteed"
QOS_BURSTABLE = "burstable"
QOS_BESTEFFORT = "besteffort"

# Pod UIDs are UUIDs; static/mirror pods use a 32-hex config hash instead.
_UID = r"[0-9a-fA-F][0-9a-fA-F_-]{7,}"
_SYSTEMD_POD = re.compile(rf"^(?:[\w.]+-)?kubepods(?:-(burstable|besteffort))?-pod({_UID})\.slice$")
_CGROUPFS_POD = re.compile(rf"^pod({_UID})$")
_SYSTEMD_KUBEPODS = re.compile(r"^(?:[\w.]+-)?kubepods\.slice$")

_RUNTIME_SCOPES = (
    ("cri-containerd-", "containerd"),
    ("crio-", "cri-o"),
    ("docker-", "docker"),
)
_HEX_ID = re.compile(r"^[0-9a-f]{12,}$")


@dataclass(frozen=True)
class PodDir:
    uid: str  # with dashes, as the API shows it
    qos: str | None  # None: cgroupfs, decided by the parent directory
    driver: str


@dataclass(frozen=True)
class ContainerDir:
    id: str
    runtime: str


def is_kubepods(name: str) -> bool:
    return name == "kubepods" or bool(_SYSTEMD_KUBEPODS.match(name))


def driver_of(kubepods_name: str) -> str:
    return "systemd" if kubepods_name.endswith(".slice") else "cgroupfs"


def parse_pod_dir(name: str) -> PodDir | None:
    m = _SYSTEMD_POD.match(name)
    if m:
        # systemd escapes '-' in unit names; kubelet writes the UID with '_' instead
        return PodDir(uid=normalize_uid(m.group(2)), qos=m.group(1) or QOS_GUARANTEED, driver="systemd")
    m = _CGROUPFS_POD.match(name)
    if m:
        return PodDir(uid=normalize_uid(m.group(1)), qos=None, driver="cgroupfs")
    return None


def cgroupfs_qos(parent_name: str) -> str:
    if parent_name in (QOS_BURSTABLE, QOS_BESTEFFORT):
        return parent_name
    return QOS_GUARANTEED


def parse_container_dir(name: str) -> ContainerDir | None:
    """A container cgroup below a pod cgroup; None for what is not a container (crio-conmon-*)."""
    if name.startswith("crio-conmon-"):
        return None  # CRI-O's monitor process, not a container
    base = name.removesuffix(".scope")
    for prefix, runtime in _RUNTIME_SCOPES:
        if base.startswith(prefix) and len(base) > len(prefix):
            return ContainerDir(id=base[len(prefix):], runtime=runtime)
    if _HEX_ID.match(base):
        # cgroupfs driver: containerd and docker name the cgroup by the bare ID
        return ContainerDir(id=base, runtime="unknown")
    if name.endswith(".scope"):
        return ContainerDir(id=base, runtime="unknown")
    return None


def normalize_uid(uid: str) -> str:
    return uid.strip().replace("_", "-").lower()


def normalize_container_id(cid: str) -> str:
    """'containerd://abc' (a pod status containerID) -> 'abc'."""
    cid = cid.strip()
    if "://" in cid:
        cid = cid.split("://", 1)[1]
    return cid.lower()
