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
    """The most similar candidate (a likely typo), or ''.

    Similar: difflib's ratio at least `cutoff`, the same word in another case, or one edit away
    (a letter added, dropped, replaced or two swapped: `sdd` for `ssd`) when only one candidate is.
    """
    cands = sorted(c for c in set(candidates) if c != word)
    found = difflib.get_close_matches(word, cands, n=1, cutoff=cutoff)
    if found:
        return found[0]
    lowered = {c.lower(): c for c in cands}
    if word.lower() in lowered:
        return lowered[word.lower()]
    near = [c for c in cands if len(word) >= 2 and _one_edit(word, c)]
    return near[0] if len(near) == 1 else ""


def _one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance of exactly 1."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                   and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


# Label keys (or their prefix domains) that kubelet, the cloud provider, a node pool or an operator
# owns. Relabelling a node with one of them to satisfy a selector would mislead every other
# consumer of the label (a hostname on the wrong node, a GPU label on a node without GPUs).
SYSTEM_LABEL_DOMAINS = (
    "kubernetes.io", "k8s.io", "kubernetes.azure.com", "cloud.google.com", "eks.amazonaws.com",
    "karpenter.sh", "karpenter.k8s.aws", "node.openshift.io", "nvidia.com", "amd.com", "intel.com",
    "alpha.eksctl.io", "gke.io", "kops.k8s.io", "doks.digitalocean.com", "oci.oraclecloud.com",
)
SYSTEM_LABEL_KEYS = ("agentpool", "kubernetes.azure.com/agentpool", "node_pool", "nodepool")


def is_system_label(key: str) -> bool:
    """True for node labels someone other than the pod's owner sets and relies on."""
    if key in SYSTEM_LABEL_KEYS:
        return True
    domain = key.split("/", 1)[0] if "/" in key else ""
    return any(domain == d or domain.endswith("." + d) for d in SYSTEM_LABEL_DOMAINS)
