"""Well-known node label and taint keys: what is deprecated, what replaced it, what is close."""

from __future__ import annotations

import difflib
from typing import Iterable

# deprecated key -> current key (Kubernetes well-known labels)
DEPRECATED_LABELS = {
    "beta.kubernetes.io/os": "kubernetes.io/os",
    "beta.kubernetes.io/arch": "kubernetes.io/arch",
    "failure-domain.beta.kubernetes.io/zone": "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region": "topology.kubernetes.io/region",
    "beta.kubernetes.io/instance-type": "node.kubernetes.io/instance-type",
    "node-role.kubernetes.io/master": "node-role.kubernetes.io/control-plane",
}

CONTROL_PLANE_TAINTS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")

# Taints the node lifecycle controller applies for node conditions.
NOT_READY_TAINTS = {
    "node.kubernetes.io/not-ready": "Ready=False",
    "node.kubernetes.io/unreachable": "Ready=Unknown (kubelet stopped posting status)",
    "node.kubernetes.io/memory-pressure": "MemoryPressure=True",
    "node.kubernetes.io/disk-pressure": "DiskPressure=True",
    "node.kubernetes.io/pid-pressure": "PIDPressure=True",
    "node.kubernetes.io/network-unavailable": "NetworkUnavailable=True",
    "node.cloudprovider.kubernetes.io/uninitialized": "not yet initialised by the cloud controller manager",
    "node.cloudprovider.kubernetes.io/shutdown": "shut down at the cloud provider",
    "node.kubernetes.io/out-of-service": "marked out of service",
}


def closest(word: str, candidates: Iterable[str], cutoff: float = 0.75) -> str:
    """The most similar candidate (a likely typo), or ''."""
    cands = [c for c in set(candidates) if c != word]
    found = difflib.get_close_matches(word, cands, n=1, cutoff=cutoff)
    if found:
        return found[0]
    lowered = {c.lower(): c for c in cands}
    return lowered.get(word.lower(), "")
