"""`--redact`: replace the names in a snapshot with stable placeholders, so that a snapshot or a
report can be posted publicly and still say the same thing.

Redaction happens on the trimmed Kubernetes objects (`loaders.snapshot_file.trim_object`), before
they are converted: the analysis then runs on redacted data and cannot print an original name it
never saw, and `podtriage snapshot --redact` writes the same redacted objects to its file.

One injective map, original string -> placeholder, is applied to every field that names
something (objects, namespaces, nodes, label keys outside kubernetes.io/k8s.io and their values,
taints, images, registries, containers, volumes...). Because it is one map, every equality the
analysis relies on survives (a nodeSelector value and the node label it must match, a PVC name in
a volume and in the scheduler's message). Placeholders are numbered per kind in sorted order of
the originals (`ns-1`, `node-3`, `pod-12`): deterministic for one input, and they carry nothing of
the original but its rank. Names derived from an owner keep that shape (`deploy-1-5f7d8c9b44-q8w7n`
for a pod of Deployment `deploy-1`), so owner chains and prefix suggestions still work.

Free text (event and condition messages, container state messages, warnings) is redacted with the
same map, whole tokens only, longest first; words the scheduler's and kubelet's messages are made
of are never mapped, so the message parsers still read the redacted text. A last pass over the
rendered output (`Redactor.scrub`) replaces and counts any original that still got through.

What is kept: kinds, reasons, resource names and quantities, well-known label and taint keys
(kubernetes.io, k8s.io), image tags and digests, uids, timestamps, scheduler names, CSI drivers
and provisioners, ConfigMap keys and env var names, and numbers.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import re
import tokenize
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InputError
from .waitrefs import container_summary

# Label/taint key domains whose keys (and, for a few, values) the diagnosis names: kept.
WELL_KNOWN_DOMAINS: tuple[str, ...] = ("kubernetes.io", "k8s.io")
WELL_KNOWN_UNPREFIXED_KEYS = frozenset({"pod-template-hash", "controller-revision-hash", "job-name",
                                        "controller-uid"})
# Keys whose values are enumerations or hashes, not names.
KEPT_VALUE_KEYS = frozenset({"kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os",
                             "beta.kubernetes.io/arch", "pod-template-hash", "controller-revision-hash",
                             "controller-uid", "batch.kubernetes.io/controller-uid"})
# The accelerator stack (diagnose/accelerators.py) reads vendors' node labels and the public names of
# device plugins and GPU Operator operands: hardware and product names, not the organisation's.
ACCELERATOR_DOMAINS = ("nvidia.com", "amd.com", "intel.com", "amazon.com", "amazonaws.com", "google.com")
WELL_KNOWN_DOMAINS += ACCELERATOR_DOMAINS
# Kueue's label and gate (kueue.x-k8s.io/queue-name, kueue.x-k8s.io/admission): diagnose/queueing.py reads them.
WELL_KNOWN_DOMAINS += ("kueue.x-k8s.io",)
# KServe's labels on the predictor's workloads (serving.kserve.io/inferenceservice): diagnose/serving.py
WELL_KNOWN_DOMAINS += ("serving.kserve.io", "scheduling.x-k8s.io")  # and coscheduling PodGroup labels (gang.py)
ACCELERATOR_VALUE_KEYS = frozenset({
    "nvidia.com/gpu.present", "nvidia.com/gpu.product", "nvidia.com/gpu.count", "nvidia.com/mig.config",
    "nvidia.com/mig.config.state", "nvidia.com/mig.strategy", "cloud.google.com/gke-accelerator",
    "cloud.google.com/gke-tpu-accelerator", "k8s.amazonaws.com/accelerator", "aws.amazon.com/neuron.present",
    "amd.com/gpu.present", "node.kubernetes.io/instance-type"})
ACCELERATOR_VALUE_PREFIXES = ("nvidia.com/gpu.deploy.", "feature.node.kubernetes.io/", "intel.feature.node.kubernetes.io/")
ACCELERATOR_NAMES = frozenset({
    "nvidia-driver-daemonset", "nvidia-driver", "nvidia-container-toolkit-daemonset", "nvidia-container-toolkit",
    "nvidia-device-plugin-daemonset", "nvidia-device-plugin", "nvidia-device-plugin-ds", "nvidia-mig-manager",
    "gpu-operator", "amdgpu-dp-ds", "amdgpu-device-plugin", "amd-gpu-device-plugin", "intel-gpu-plugin",
    "neuron-device-plugin", "tpu-device-plugin", "k8s-device-plugin",
    # the GPU Operator's other operands and images (its ClusterPolicy names them in status messages)
    "container-toolkit", "gpu-feature-discovery", "nvidia-dcgm-exporter", "dcgm-exporter",
    "nvidia-operator-validator", "cluster-policy"})
# Names every cluster has: they identify nothing, and some of them the analysis recognises.
KEPT_NAMES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "default-scheduler",
                        "system-node-critical", "system-cluster-critical", "true", "false", "docker.io",
                        "index.docker.io", "library", "latest", "localhost"}) | ACCELERATOR_NAMES
_INT = re.compile(r"^-?\d+$")
_PLACEHOLDER = re.compile(r"^[a-z]+(?:-[a-z]+)?-\d+$")

# Placeholder prefixes by category, in the order categories claim a string (first claim wins).
PREFIX = {
    "namespace": "ns", "node": "node", "Deployment": "deploy", "StatefulSet": "sts", "DaemonSet": "ds",
    "CronJob": "cronjob", "Job": "job", "ReplicaSet": "rs", "Pod": "pod", "PersistentVolumeClaim": "pvc",
    "PersistentVolume": "pv", "StorageClass": "sc", "ConfigMap": "cm", "Secret": "secret",
    "ServiceAccount": "sa", "PriorityClass": "pc", "RuntimeClass": "rc", "PodDisruptionBudget": "pdb",
    "ResourceQuota": "quota", "LimitRange": "limits", "Service": "svc", "Event": "event", "nodegroup": "nodegroup",
    "container": "container", "volume": "volume", "disk": "disk", "key": "key", "value": "val",
    "image": "image", "registry": "registry", "object": "name",
    "DeviceClass": "dc", "ResourceClaim": "claim", "ResourceClaimTemplate": "rct", "ResourceSlice": "slice",
    "CSIStorageCapacity": "csisc", "VolumeAttachment": "va", "pool": "pool", "handle": "handle",
    "LocalQueue": "lq", "ClusterQueue": "cq", "ResourceFlavor": "flavor", "Workload": "wl", "cohort": "cohort",
}
# Kinds whose names the analysis compares by similarity (difflib: "did you mean"): their
# placeholders are letters, so that two unrelated ones never look alike the way `cm-1` and `cm-2` do.
LETTER_PREFIXES = frozenset({"cm", "secret", "rc", "key", "val"})


def _letters(prefix: str, n: int, size: int = 8) -> str:
    """Deterministic letters from the placeholder's rank (never from the original name)."""
    digest = hashlib.sha256(f"{prefix}:{n}".encode()).digest()
    return "".join(chr(ord("a") + b % 26) for b in digest[:size])


_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet")


_WORD = re.compile(r"[A-Za-z][A-Za-z-]*[A-Za-z]|[A-Za-z]")


def _message_vocabulary() -> frozenset[str]:
    """The words of the scheduler's and kubelet's messages (the string literals of the parsers),
    of the rules' titles, messages and fixes, and of the renderers: never mapped. A name such as
    `node`, `local` or `available` identifies nothing, and mapping it would turn the prose the
    parsers read (and the report's own sentences) into something else."""
    words: set[str] = set()
    here = Path(__file__).parent
    try:
        from .rulebook import load_rules

        for rule in load_rules().rules:
            for text in (rule.title, rule.message, rule.fix, rule.fix_command or ""):
                words.update(w.lower() for w in _WORD.findall(str(text)))
    except Exception:  # noqa: BLE001 - a broken rule file is reported by the command itself
        pass
    for rel in ("evidence/messages.py", "evidence/timeline.py", "diagnose/kubelet.py", "diagnose/status.py",
                "diagnose/pending.py", "diagnose/scheduling.py", "render/text.py", "render/structured.py",
                "audit/render_human.py", "audit/render_machine.py", "graph.py", "findings.py", "analyze.py"):
        try:
            src = (here / rel).read_text(encoding="utf-8")
            toks = tokenize.generate_tokens(io.StringIO(src).readline)
            for tok in toks:
                if tok.type == tokenize.STRING and not tok.string.lstrip("rbfuRBFU").startswith(('"""', "'''")):
                    words.update(w.lower() for w in _WORD.findall(tok.string))
        except (OSError, tokenize.TokenError, SyntaxError):  # pragma: no cover - a packaging problem
            continue
    return frozenset(words)


_VOCAB: frozenset[str] | None = None


def vocabulary() -> frozenset[str]:
    global _VOCAB  # noqa: PLW0603 - computed once, immutable
    if _VOCAB is None:
        _VOCAB = _message_vocabulary()
    return _VOCAB


def well_known_key(key: str) -> bool:
    """kubernetes.io/hostname, topology.kubernetes.io/zone, node-role.kubernetes.io/x, k8s.io keys..."""
    prefix, sep, _ = key.rpartition("/")
    if not sep:
        return key in WELL_KNOWN_UNPREFIXED_KEYS
    return any(prefix == d or prefix.endswith("." + d) for d in WELL_KNOWN_DOMAINS)


# Text boundaries: Kubernetes names are made of [a-z0-9.-]; `_`, `/`, `:`, quotes, brackets end them.
_BEFORE = r"(?<![A-Za-z0-9.\-])"
_AFTER = r"(?![A-Za-z0-9\-])(?!\.[A-Za-z0-9\-])"
_IPV4 = re.compile(r"(?<![A-Za-z0-9.:\-])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![0-9.])")
_KEEP_IPS = frozenset({"0.0.0.0", "127.0.0.1"})

# Names inside messages that no structured field may hold (they are registered while learning).
_TEXT_NAMES: tuple[tuple[re.Pattern[str], tuple[tuple[str, str], ...]], ...] = (
    (re.compile(r"\{(?P<group>[^\s{}]+) \d+->\d+ \(max: \d+\)\}"), (("group", "nodegroup"),)),
    (re.compile(r"Preempted by (?:pod )?(?:(?P<ns>[^\s/]+)/)?(?P<who>\S+) on node (?P<node>\S+)"),
     (("ns", "namespace"), ("who", "Pod"), ("node", "node"))),
    (re.compile(r"nodeclaim/(?P<claim>[^,\s]+)(?:, node/(?P<node>\S+))?"), (("claim", "nodegroup"), ("node", "node"))),
    (re.compile(r"create Pod (?P<pod>\S+) in StatefulSet (?P<sts>\S+) failed"), (("pod", "Pod"), ("sts", "StatefulSet"))),
    (re.compile(r'pods "(?P<pod>[^"]+)" is forbidden'), (("pod", "Pod"),)),
    (re.compile(r"exceeded quota: (?P<q>[^,\s]+)"), (("q", "ResourceQuota"),)),
    (re.compile(r"failed quota: (?P<q>[^:\s]+):"), (("q", "ResourceQuota"),)),
    (re.compile(r'persistentvolumeclaims? "(?P<pvc>[^"]+)"'), (("pvc", "PersistentVolumeClaim"),)),
    (re.compile(r'configmaps? "(?P<cm>[^"]+)"', re.IGNORECASE), (("cm", "ConfigMap"),)),
    (re.compile(r'secrets? "(?P<s>[^"]+)"', re.IGNORECASE), (("s", "Secret"),)),
    (re.compile(r"in (?:ConfigMap|Secret) (?P<ns>[^/\s]+)/(?P<name>\S+)"), (("ns", "namespace"), ("name", "object"))),
    (re.compile(r"Successfully assigned (?P<ns>[^/\s]+)/(?P<pod>\S+) to (?P<node>\S+)"),
     (("ns", "namespace"), ("pod", "Pod"), ("node", "node"))),
    (re.compile(r'for volume "(?P<v>[^"]+)"'), (("v", "volume"),)),
    (re.compile(r"pod=(?P<pod>[^_\s]+)_(?P<ns>[^(\s]+)\("), (("pod", "Pod"), ("ns", "namespace"))),
    (re.compile(r'\(pod: "(?P<pod>[^_"]+)_(?P<ns>[^("]+)\('), (("pod", "Pod"), ("ns", "namespace"))),
    (re.compile(r"(?:[Ii]mage|reference) \"(?P<img>[^\"\s]+)\""), (("img", "image-ref"),)),
)


@dataclass
class Redactor:
    """The mapping of one input. Build it with `learn(items)`, then redact objects and text."""

    mapping: dict[str, str]
    protected: frozenset[str]
    counters: dict[str, int]
    source_paths: tuple[str, ...] = ()
    _rx: re.Pattern[str] | None = None
    _ips: dict[str, str] | None = None
    _originals: set[str] = field(default_factory=set)

    # --- learning ------------------------------------------------------------------------------
    @classmethod
    def learn(cls, items: Iterable[Mapping[str, Any]], *, extra: Iterable[tuple[str, Any]] = (),
              server: str = "", context: str = "", source_paths: Iterable[str] = ()) -> Redactor:
        """Register every name the (trimmed) objects hold, then number them per kind."""
        claims = _Claims()
        objs = [o for o in items if isinstance(o, Mapping)]
        for obj in objs:
            _learn_object(obj, claims)
        for text in _texts(objs):
            _learn_text(text, claims)
        for cat, name in extra:
            claims.add(cat, name)
        self = cls(mapping={}, protected=frozenset(claims.protected), counters={},
                   source_paths=tuple(p for p in source_paths if p))
        self._assign(claims)
        if server:
            self.mapping.setdefault(server, self._fresh("https://cluster", ".example"))
        if context:
            self.mapping.setdefault(context, self._fresh("context"))
        return self

    def _fresh(self, prefix: str, suffix: str = "") -> str:
        taken = set(self.mapping.values())
        while True:
            n = self.counters[prefix] = self.counters.get(prefix, 0) + 1
            candidate = f"{prefix}-{_letters(prefix, n) if prefix in LETTER_PREFIXES else n}{suffix}"
            if candidate not in self._originals and candidate not in taken:
                return candidate

    def _near(self, base: str) -> str:
        """A placeholder one letter away from `base`: the redacted twin of a likely typo."""
        taken = set(self.mapping.values())
        candidate = base + "x"
        while candidate in taken or candidate in self._originals:
            candidate += "x"
        return candidate

    def _assign(self, claims: _Claims) -> None:
        self._originals = set(claims.first_claim)
        by_cat: dict[str, list[str]] = {}
        for name, cat in claims.first_claim.items():
            by_cat.setdefault(cat, []).append(name)
        order = list(PREFIX) + ["image-ref"]
        # Owners before what they own (derived names), then everything numbered.
        for cat in order:
            names = sorted(by_cat.get(cat, ()))
            if cat == "image-ref":
                for ref in names:
                    self.mapping.setdefault(ref, self._image(ref))
                continue
            for name in names:
                if name in self.mapping:
                    continue
                derived = self._derive(name, claims.parent.get(name))
                if name in claims.protected:
                    continue  # also a resource name or a kept key: public, and kept everywhere
                if cat == "registry":
                    self.mapping[name] = derived or self._fresh("registry", ".example")
                else:
                    self.mapping[name] = derived or self._fresh(PREFIX[cat])
        # Likely typos stay likely typos: the near-miss gets a placeholder next to its neighbour's.
        for want, near in claims.typos(self.mapping):
            if want in self.mapping and want not in self.protected:
                self.mapping[want] = self._near(self.mapping.get(near, near))
        # Generic ephemeral volume claims are named `<pod>-<volume>` by convert.py: keep that shape.
        for name, (pod, vol) in sorted(claims.composite.items()):
            candidate = f"{self.mapping.get(pod, pod)}-{self.mapping.get(vol, vol)}"
            if candidate != name and candidate not in self._originals and candidate not in self.mapping.values():
                self.mapping[name] = candidate

    def _derive(self, name: str, parent: str | None) -> str | None:
        """`<parent>-<suffix>` -> `<parent placeholder>-<suffix>` (pods of a ReplicaSet, events...)."""
        if not parent or parent not in self.mapping:
            return None
        for sep in ("-", "."):
            if name.startswith(parent + sep) and len(name) > len(parent) + 1:
                candidate = self.mapping[parent] + name[len(parent):]
                if candidate not in self._originals and candidate not in self.mapping.values():
                    return candidate
        return None

    def _image(self, ref: str) -> str:
        """registry.acme.io:5000/team/app:1.4@sha256:… -> registry-1.example:5000/ns-2/image-3:1.4@sha256:…"""
        name, at, digest = ref.partition("@")
        slash, colon = name.rfind("/"), name.rfind(":")
        tag = ""
        if colon > slash:
            name, tag = name[:colon], name[colon:]
        parts = name.split("/")
        out = []
        for i, part in enumerate(parts):
            if i == 0 and len(parts) > 1 and ("." in part or ":" in part or part == "localhost"):
                host, c, port = part.partition(":")
                out.append(self.mapping.get(host, host) + c + port)
            else:
                out.append(self.mapping.get(part, part))
        return "/".join(out) + tag + at + digest

    # --- mapping -------------------------------------------------------------------------------
    def name(self, value: Any) -> Any:
        return self.mapping.get(value, value) if isinstance(value, str) else value

    def target(self, target: str) -> str:
        """The TARGET argument through the same map (an unknown name gets a placeholder too)."""
        from .analyze import parse_target

        kind, name = parse_target(target)
        if name not in self.mapping and not self._kept(name):
            self.mapping[name] = self._fresh(PREFIX.get(kind, "name"))
            self._rx = None
        mapped = self.mapping.get(name, name)
        return mapped if "/" not in target else f"{target.partition('/')[0]}/{mapped}"

    def namespace(self, ns: str | None) -> str | None:
        if ns is None or ns == "":
            return ns
        if ns not in self.mapping and not self._kept(ns):
            self.mapping[ns] = self._fresh("ns")
            self._rx = None
        return self.mapping.get(ns, ns)

    def selector(self, text: str) -> str:
        """A kubectl label selector (-l) with its keys and values mapped."""
        if not text:
            return text
        return re.sub(r"[A-Za-z0-9_./-]+", lambda mt: self.mapping.get(mt.group(0), mt.group(0)), text)

    def _kept(self, name: str) -> bool:
        return (not name or name in KEPT_NAMES or bool(_INT.match(name)) or name.lower() in vocabulary()
                or name in self.protected)

    # --- free text -----------------------------------------------------------------------------
    def _regex(self) -> re.Pattern[str]:
        if self._rx is None:
            words = set(self.mapping) | set(self.protected)
            alts = "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)) if w)
            self._rx = re.compile(f"{_BEFORE}(?:{alts}){_AFTER}" if alts else r"(?!x)x")
        return self._rx

    def text(self, value: Any) -> Any:
        """Free text with every mapped name replaced (whole tokens, longest first), IPs too."""
        if not isinstance(value, str) or not value:
            return value
        return self._sub(value)[0]

    def _sub(self, value: str) -> tuple[str, int]:
        hits = 0

        def one(mt: re.Match[str]) -> str:
            nonlocal hits
            word = mt.group(0)
            mapped = self.mapping.get(word, word)
            if mapped != word:  # a name kept as it is (busybox:1.36) is not a leftover
                hits += 1
            return mapped

        for path in self.source_paths:
            if path in value:
                hits += value.count(path)
                value = value.replace(path, "<input>")
        value = self._regex().sub(one, value)
        value = _IPV4.sub(self._ip, value)
        return value, hits

    def _ip(self, mt: re.Match[str]) -> str:
        ip = mt.group(0)
        if self._ips is None:
            self._ips = {}
        if ip in _KEEP_IPS or ip in self._ips.values():
            return ip
        if ip not in self._ips:
            self._ips[ip] = f"192.0.2.{len(self._ips) % 254 + 1}"
        return self._ips[ip]

    def scrub(self, output: str) -> tuple[str, int]:
        """The safety net over rendered output: replace any original that is still there; count them."""
        out, hits = self._sub(output)
        return out, hits

    def scrub_object(self, obj: Any) -> tuple[Any, int]:
        """scrub() over every string of a JSON-like object (a redacted snapshot item)."""
        total = 0

        def walk(x: Any) -> Any:
            nonlocal total
            if isinstance(x, str):
                s, n = self._sub(x)
                total += n
                return s
            if isinstance(x, dict):
                return {walk(k): walk(v) for k, v in x.items()}
            if isinstance(x, list):
                return [walk(v) for v in x]
            return x

        return walk(obj), total

    # --- objects -------------------------------------------------------------------------------
    def object(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """One trimmed object -> its redacted projection (only the fields podtriage reads)."""
        return _redact_object(obj, self)

    def objects(self, items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self.object(o) for o in items if isinstance(o, Mapping)]

    def labels(self, labels: Any) -> Any:
        if not isinstance(labels, Mapping):
            return labels
        return {self.name(k): (v if self._keep_value(k, v) else self.name(v)) for k, v in labels.items()}

    @staticmethod
    def _keep_value(key: Any, value: Any) -> bool:
        return key in KEPT_VALUE_KEYS or not isinstance(value, str) or key in ACCELERATOR_VALUE_KEYS or (
            isinstance(key, str) and key.startswith(ACCELERATOR_VALUE_PREFIXES))

    def image(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref:
            return ref
        return self.mapping.get(ref) or self._image(ref)


# --------------------------------------------------------------------------------------------
# learning: which strings are names, and of what


class _Claims:
    def __init__(self) -> None:
        self.first_claim: dict[str, str] = {}
        self.rank: dict[str, int] = {}
        self.parent: dict[str, str] = {}
        self.protected: set[str] = set()
        self.composite: dict[str, tuple[str, str]] = {}
        # what the analysis compares by similarity: node labels vs selectors, config references
        self.node_labels: dict[str, set[str]] = {}
        self.wanted_labels: set[tuple[str, str]] = set()  # (key, value or "")
        self.config_objects: dict[tuple[str, str], set[str]] = {}
        self.config_refs: set[tuple[str, str, str]] = set()
        self.runtime_classes: set[str] = set()
        self.runtime_refs: set[str] = set()
        self._order = {c: i for i, c in enumerate(PREFIX)}
        self._order["image-ref"] = len(self._order)

    def add(self, cat: str, name: Any, parent: Any = None) -> None:
        if not isinstance(name, str) or not name:
            return
        if cat == "image-ref":
            self.image(name)
            return
        if _kept_word(name):
            return
        rank = self._order.get(cat, len(self._order))
        # The earliest category in PREFIX order names the placeholder; a deterministic choice.
        if name not in self.first_claim or rank < self.rank[name]:
            self.first_claim[name] = cat
            self.rank[name] = rank
        if isinstance(parent, str) and parent and name.startswith(parent) and name != parent:
            self.parent.setdefault(name, parent)

    def key(self, key: Any) -> None:
        if not isinstance(key, str) or not key:
            return
        if well_known_key(key):
            self.protected.add(key)
        else:
            self.add("key", key)

    def labels(self, labels: Any) -> None:
        if not isinstance(labels, Mapping):
            return
        for k, v in labels.items():
            self.key(k)
            if not Redactor._keep_value(k, v):
                self.add("value", v)

    def image(self, ref: str) -> None:
        name = ref.partition("@")[0]
        slash, colon = name.rfind("/"), name.rfind(":")
        if colon > slash:
            name = name[:colon]
        parts = name.split("/")
        for i, part in enumerate(parts):
            if i == 0 and len(parts) > 1 and ("." in part or ":" in part or part == "localhost"):
                self.add("registry", part.partition(":")[0])
            else:
                self.add("image", part)
        if ref not in self.first_claim:
            self.first_claim[ref] = "image-ref"
            self.rank[ref] = len(self._order)

    def typos(self, mapping: Mapping[str, str]) -> list[tuple[str, str]]:
        """(near miss, what it is close to), found with the analysis' own similarity functions."""
        from .diagnose.labels import closest

        out: list[tuple[str, str]] = []
        all_keys = set(self.node_labels)
        for key, value in sorted(self.wanted_labels):
            if key not in self.node_labels:
                near = closest(key, all_keys)
                if near:
                    out.append((key, near))
            elif value and value not in self.node_labels[key]:
                near = closest(value, self.node_labels[key])
                if near:
                    out.append((value, near))
        for kind, ns, name in sorted(self.config_refs):
            same = sorted(self.config_objects.get((kind, ns), ()))
            if name not in same:
                close = difflib.get_close_matches(name, same, n=1, cutoff=0.75)
                if close:
                    out.append((name, close[0]))
        for rc in sorted(self.runtime_refs - self.runtime_classes):
            close = difflib.get_close_matches(rc, sorted(self.runtime_classes), n=1, cutoff=0.6)
            if close:
                out.append((rc, close[0]))
        seen: set[str] = set()
        return [(w, n) for w, n in out if w != n and not (w in seen or seen.add(w))]  # type: ignore[func-returns-value]

    def want_labels(self, selector: Any) -> None:
        for k, v in _d(selector).items():
            if isinstance(k, str):
                self.wanted_labels.add((k, v if isinstance(v, str) else ""))

    def want_terms(self, terms: Any) -> None:
        for t in _l(terms):
            for r in _l(_d(t).get("matchExpressions")):
                key = _d(r).get("key")
                if not isinstance(key, str):
                    continue
                values = [v for v in _l(_d(r).get("values")) if isinstance(v, str)]
                if _d(r).get("operator") == "In" and values:
                    self.wanted_labels.update((key, v) for v in values)
                else:
                    self.wanted_labels.add((key, ""))

    def resources(self, res: Any) -> None:
        if isinstance(res, Mapping):
            self.protected.update(k for k in res if isinstance(k, str) and "/" in k)


def _kept_word(name: str) -> bool:
    return name in KEPT_NAMES or bool(_INT.match(name)) or name.lower() in vocabulary()


def _d(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def _l(x: Any) -> list[Any]:
    return x if isinstance(x, list) else []


def _learn_object(obj: Mapping[str, Any], c: _Claims) -> None:
    kind = obj.get("kind")
    meta = _d(obj.get("metadata"))
    ns = meta.get("namespace")
    c.add("namespace", ns)
    name = meta.get("name")
    owners = [_d(r) for r in _l(meta.get("ownerReferences"))]
    for r in owners:
        c.add(str(r.get("kind")) if r.get("kind") in PREFIX else "object", r.get("name"))
    parent = next((r.get("name") for r in owners if isinstance(r.get("name"), str)), None)
    if kind == "Node" or kind == "CSINode":
        c.add("node", name)
    elif kind == "Namespace":
        c.add("namespace", name)
    if kind in ("ConfigMap", "Secret") and isinstance(name, str) and isinstance(ns, str):
        c.config_objects.setdefault((kind, ns), set()).add(name)
    if kind == "RuntimeClass" and isinstance(name, str):
        c.runtime_classes.add(name)
    elif kind == "Event":
        inv = _d(obj.get("involvedObject")) or _d(obj.get("regarding"))
        ikind = inv.get("kind")
        c.add("node" if ikind == "Node" else ikind if ikind in PREFIX else "object", inv.get("name"))
        c.add("namespace", inv.get("namespace"))
        c.add("Event", name, inv.get("name"))
    elif isinstance(kind, str):
        c.add(kind if kind in PREFIX else "object", name, parent)
    c.labels(meta.get("labels"))
    c.add("node", _d(meta.get("annotations")).get("volume.kubernetes.io/selected-node"))
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    if kind == "Pod":
        # A ReplicaSet that was not read still names its Deployment through pod-template-hash.
        h = _d(meta.get("labels")).get("pod-template-hash")
        for ref in owners:
            rs = ref.get("name")
            if ref.get("kind") == "ReplicaSet" and isinstance(h, str) and h and isinstance(rs, str) \
                    and rs.endswith("-" + h) and len(rs) > len(h) + 1:
                c.add("Deployment", rs[:-len(h) - 1])
                c.add("ReplicaSet", rs, rs[:-len(h) - 1])
        _learn_pod_spec(spec, c, name if isinstance(name, str) else "", ns if isinstance(ns, str) else "")
        c.add("node", status.get("nominatedNodeName"))
        for key in ("containerStatuses", "initContainerStatuses"):
            for st in _l(status.get(key)):
                c.add("container", _d(st).get("name"))
                c.add("image-ref", _d(st).get("image"))
    elif kind == "Node":
        for k, v in _d(meta.get("labels")).items():
            if isinstance(k, str):
                c.node_labels.setdefault(k, set()).add(v if isinstance(v, str) else "")
        for t in _l(spec.get("taints")):
            c.key(_d(t).get("key"))
            c.add("value", _d(t).get("value"))
        c.resources(status.get("allocatable"))
        c.resources(status.get("capacity"))
    elif kind == "PersistentVolumeClaim":
        c.add("StorageClass", spec.get("storageClassName"))
        c.add("PersistentVolume", spec.get("volumeName"))
    elif kind == "PersistentVolume":
        c.add("StorageClass", spec.get("storageClassName"))
        claim = _d(spec.get("claimRef"))
        c.add("namespace", claim.get("namespace"))
        c.add("PersistentVolumeClaim", claim.get("name"))
        _learn_node_terms(_d(_d(spec.get("nodeAffinity")).get("required")).get("nodeSelectorTerms"), c)
        c.protected.update(x for x in (_d(spec.get("csi")).get("driver"),) if isinstance(x, str) and x)
    elif kind == "StorageClass":
        if isinstance(obj.get("provisioner"), str):
            c.protected.add(obj["provisioner"])
        for t in _l(obj.get("allowedTopologies")):
            for e in _l(_d(t).get("matchLabelExpressions")):
                c.key(_d(e).get("key"))
                for v in _l(_d(e).get("values")):
                    c.add("value", v)
    elif kind in _WORKLOAD_KINDS:
        _learn_selector(spec.get("selector"), c)
        tmpl = _d(spec.get("template")) if kind != "CronJob" else \
            _d(_d(_d(spec.get("jobTemplate")).get("spec")).get("template"))
        c.labels(_d(tmpl.get("metadata")).get("labels"))
        _learn_pod_spec(_d(tmpl.get("spec")), c, "", ns if isinstance(ns, str) else "")
    elif kind == "PodDisruptionBudget":
        _learn_selector(spec.get("selector"), c)
    elif kind in _KUEUE_KINDS:
        _learn_kueue(kind, spec, status, c, ns if isinstance(ns, str) else "")
    elif kind == "ResourceQuota":
        for src in (spec, status):
            for m in (_d(src.get("hard")), _d(src.get("used"))):
                for k in m:
                    sc, sep, _ = str(k).partition(".storageclass.storage.k8s.io/")
                    if sep:
                        c.add("StorageClass", sc)
    elif kind == "RuntimeClass":
        sched = _d(obj.get("scheduling"))
        c.labels(sched.get("nodeSelector"))
        for t in _l(sched.get("tolerations")):
            c.key(_d(t).get("key"))
            c.add("value", _d(t).get("value"))
    elif kind == "CSINode":
        for drv in _l(spec.get("drivers")):
            if isinstance(_d(drv).get("name"), str):
                c.protected.add(_d(drv)["name"])
    elif kind in ("CSIDriver",) and isinstance(name, str):
        c.protected.add(name)
    elif kind == "CSIStorageCapacity":
        c.add("StorageClass", obj.get("storageClassName"))
        _learn_selector(obj.get("nodeTopology"), c)
    elif kind == "VolumeAttachment":
        c.add("node", spec.get("nodeName"))
        c.add("PersistentVolume", _d(spec.get("source")).get("persistentVolumeName"))
        c.protected.update(x for x in (spec.get("attacher"),) if isinstance(x, str) and x)
    elif kind == "ResourceSlice":
        c.add("node", spec.get("nodeName"))
        c.add("pool", _d(spec.get("pool")).get("name"))
        c.protected.update(x for x in (spec.get("driver"),) if isinstance(x, str) and x)
        _learn_node_terms(_d(spec.get("nodeSelector")).get("nodeSelectorTerms"), c)
        for dv in _l(spec.get("devices")):
            c.add("node", _d(dv).get("nodeName"))
            _learn_node_terms(_d(_d(dv).get("nodeSelector")).get("nodeSelectorTerms"), c)
    elif kind in ("ResourceClaim", "ResourceClaimTemplate"):
        devs = _d((spec if kind == "ResourceClaim" else _d(spec.get("spec"))).get("devices"))
        for rq in _l(devs.get("requests")):
            for sub in [_d(_d(rq).get("exactly"))] + [_d(x) for x in _l(_d(rq).get("firstAvailable"))]:
                c.add("DeviceClass", sub.get("deviceClassName"))
        alloc = _d(status.get("allocation"))
        for res in _l(_d(alloc.get("devices")).get("results")):
            c.add("pool", _d(res).get("pool"))
        _learn_node_terms(_d(alloc.get("nodeSelector")).get("nodeSelectorTerms"), c)
        for rf in _l(status.get("reservedFor")):
            c.add("Pod", _d(rf).get("name"))


_KUEUE_KINDS = ("Workload", "LocalQueue", "ClusterQueue", "ResourceFlavor", "VerticalPodAutoscaler",
                "InferenceService", "ClusterPolicy", "HorizontalPodAutoscaler",
                "PodGroup")  # the add-on kinds (model.AddonObject)
# The GPU Operator's ClusterPolicy: the operands diagnose/accelerators.py judges (only `enabled` is kept).
_CLUSTER_POLICY_OPERANDS = ("driver", "toolkit", "devicePlugin", "gfd", "migManager", "dcgm", "dcgmExporter")


def _learn_kueue(kind: str, spec: Mapping[str, Any], status: Mapping[str, Any], c: _Claims, ns: str) -> None:
    """Kueue's objects name each other: queue -> ClusterQueue -> flavors, cohorts; Workloads carry pod templates."""
    if kind == "Workload":
        c.add("LocalQueue", spec.get("queueName"))
        for ps in _l(spec.get("podSets")):
            tmpl = _d(_d(ps).get("template"))
            c.labels(_d(tmpl.get("metadata")).get("labels"))
            _learn_pod_spec(_d(tmpl.get("spec")), c, "", ns)
        c.add("ClusterQueue", _d(status.get("admission")).get("clusterQueue"))
    elif kind == "LocalQueue":
        c.add("ClusterQueue", spec.get("clusterQueue"))
    elif kind == "ClusterQueue":
        c.add("cohort", spec.get("cohortName") or spec.get("cohort"))
        _learn_selector(spec.get("namespaceSelector"), c)
        for rg in _l(spec.get("resourceGroups")):
            for fl in _l(_d(rg).get("flavors")):
                c.add("ResourceFlavor", _d(fl).get("name"))
        for key in ("flavorsReservation", "flavorsUsage"):
            for fu in _l(status.get(key)):
                c.add("ResourceFlavor", _d(fu).get("name"))
    elif kind == "InferenceService":
        c.add("object", _d(_d(spec.get("predictor")).get("model")).get("runtime"))
    elif kind in ("VerticalPodAutoscaler", "HorizontalPodAutoscaler"):
        ref = _d(spec.get("targetRef" if kind == "VerticalPodAutoscaler" else "scaleTargetRef"))
        c.add(str(ref.get("kind")) if ref.get("kind") in PREFIX else "object", ref.get("name"))
        for p in _l(_d(spec.get("resourcePolicy")).get("containerPolicies")):
            c.add("container", _d(p).get("containerName"))
    elif kind == "ResourceFlavor":
        c.labels(spec.get("nodeLabels"))
        for t in _l(spec.get("nodeTaints")) + _l(spec.get("tolerations")):
            c.key(_d(t).get("key"))
            c.add("value", _d(t).get("value"))


def _redact_kueue(kind: str, spec: Mapping[str, Any], status: Mapping[str, Any], r: Redactor) -> dict[str, Any]:
    """The fields diagnose/queueing.py reads, every name mapped."""
    out: dict[str, Any] = {}
    conds = {"conditions": _conditions(status.get("conditions"), r)} if "conditions" in status else {}
    if kind == "Workload":
        podsets = [{**_pick(ps, ("count",)), "name": _d(ps).get("name"), "template": _template(_d(ps).get("template"), r)}
                   for ps in _l(spec.get("podSets"))]
        out["spec"] = {**_pick(spec, ("active", "priority")), "queueName": r.name(spec.get("queueName")),
                       "podSets": podsets}
        out["status"] = conds
    elif kind == "LocalQueue":
        out["spec"] = {"clusterQueue": r.name(spec.get("clusterQueue"))}
        out["status"] = {**_pick(status, ("pendingWorkloads", "reservingWorkloads", "admittedWorkloads")), **conds}
    elif kind == "ClusterQueue":
        s: dict[str, Any] = {"resourceGroups": [
            {"coveredResources": _l(_d(rg).get("coveredResources")),
             "flavors": [{"name": r.name(_d(fl).get("name")), "resources": _l(_d(fl).get("resources"))}
                         for fl in _l(_d(rg).get("flavors"))]} for rg in _l(spec.get("resourceGroups"))]}
        for key in ("cohortName", "cohort"):
            if key in spec:
                s[key] = r.name(spec[key])
        if "namespaceSelector" in spec:
            s["namespaceSelector"] = _selector(spec["namespaceSelector"], r)
        out["spec"] = s
        st: dict[str, Any] = {**_pick(status, ("pendingWorkloads", "reservingWorkloads", "admittedWorkloads")), **conds}
        for key in ("flavorsReservation", "flavorsUsage"):
            if key in status:
                st[key] = [{"name": r.name(_d(fu).get("name")), "resources": _l(_d(fu).get("resources"))}
                           for fu in _l(status[key])]
        out["status"] = st
    elif kind == "InferenceService":
        pred = _d(spec.get("predictor"))
        model = _d(pred.get("model"))
        m_out: dict[str, Any] = _pick(model, ("modelFormat", "protocolVersion"))
        if "runtime" in model:
            m_out["runtime"] = r.name(model["runtime"])
        out["spec"] = {"predictor": {**_pick(pred, ("minReplicas", "maxReplicas")), "model": m_out}}
        ms = _d(status.get("modelStatus"))
        fail = _d(ms.get("lastFailureInfo"))
        st_out: dict[str, Any] = dict(conds)
        if ms:
            st_out["modelStatus"] = {**_pick(ms, ("transitionStatus",)),
                                     **({"lastFailureInfo": {"reason": fail.get("reason"),
                                                             "message": r.text(fail.get("message"))}} if fail else {})}
        out["status"] = st_out
    elif kind == "VerticalPodAutoscaler":
        ref = _d(spec.get("targetRef"))
        policies = [{**_pick(p, ("mode", "minAllowed", "maxAllowed", "controlledResources", "controlledValues")),
                     "containerName": r.name(_d(p).get("containerName"))}
                    for p in _l(_d(spec.get("resourcePolicy")).get("containerPolicies"))]
        out["spec"] = {"targetRef": {**_pick(ref, ("apiVersion", "kind")), "name": r.name(ref.get("name"))},
                       **_pick(spec, ("updatePolicy",)), "resourcePolicy": {"containerPolicies": policies}}
        recs = [{**_pick(x, ("target", "lowerBound", "upperBound", "uncappedTarget")),
                 "containerName": r.name(_d(x).get("containerName"))}
                for x in _l(_d(status.get("recommendation")).get("containerRecommendations"))]
        out["status"] = {"recommendation": {"containerRecommendations": recs}, **conds}
    elif kind == "ClusterPolicy":
        out["spec"] = {k: _pick(_d(spec.get(k)), ("enabled",)) for k in _CLUSTER_POLICY_OPERANDS if k in spec}
        out["status"] = {**_pick(status, ("state",)), **conds}
    elif kind == "HorizontalPodAutoscaler":
        ref = _d(spec.get("scaleTargetRef"))
        out["spec"] = {"scaleTargetRef": {**_pick(ref, ("apiVersion", "kind")), "name": r.name(ref.get("name"))},
                       **_pick(spec, ("minReplicas", "maxReplicas"))}
        out["status"] = {**_pick(status, ("currentReplicas", "desiredReplicas")), **conds}
    elif kind == "PodGroup":
        out["spec"] = _pick(spec, ("minMember",))
        out["status"] = _pick(status, ("phase", "scheduled", "running", "succeeded", "failed"))
    elif kind == "ResourceFlavor":
        s = {}
        if "nodeLabels" in spec:
            s["nodeLabels"] = r.labels(spec["nodeLabels"])
        for key in ("nodeTaints", "tolerations"):
            if key in spec:
                s[key] = [_toleration(t, r) for t in _l(spec[key])]
        out["spec"] = s
    return out


def _learn_selector(sel: Any, c: _Claims) -> None:
    sel = _d(sel)
    c.labels(sel.get("matchLabels"))
    for r in _l(sel.get("matchExpressions")):
        c.key(_d(r).get("key"))
        for v in _l(_d(r).get("values")):
            c.add("value", v)


def _learn_node_terms(terms: Any, c: _Claims) -> None:
    for t in _l(terms):
        for r in _l(_d(t).get("matchExpressions")):
            c.key(_d(r).get("key"))
            for v in _l(_d(r).get("values")):
                c.add("value", v)
        for r in _l(_d(t).get("matchFields")):
            for v in _l(_d(r).get("values")):
                c.add("node", v)


def _learn_pod_spec(spec: Mapping[str, Any], c: _Claims, pod_name: str, ns: str) -> None:
    c.add("node", spec.get("nodeName"))
    c.add("PriorityClass", spec.get("priorityClassName"))
    c.add("RuntimeClass", spec.get("runtimeClassName"))
    if isinstance(spec.get("runtimeClassName"), str):
        c.runtime_refs.add(spec["runtimeClassName"])
    c.add("ServiceAccount", spec.get("serviceAccountName"))
    for rc in _l(spec.get("resourceClaims")):
        c.add("ResourceClaim", _d(rc).get("resourceClaimName"))
        c.add("ResourceClaimTemplate", _d(rc).get("resourceClaimTemplateName"))
    c.labels(spec.get("nodeSelector"))
    c.want_labels(spec.get("nodeSelector"))
    aff = _d(spec.get("affinity"))
    terms = _d(_d(aff.get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution")).get("nodeSelectorTerms")
    _learn_node_terms(terms, c)
    c.want_terms(terms)

    def ref(kind: str, name: Any) -> None:
        c.add(kind, name)
        if isinstance(name, str) and name:
            c.config_refs.add((kind, ns, name))

    for which in ("podAffinity", "podAntiAffinity"):
        for t in _l(_d(aff.get(which)).get("requiredDuringSchedulingIgnoredDuringExecution")):
            t = _d(t)
            c.key(t.get("topologyKey"))
            _learn_selector(t.get("labelSelector"), c)
            _learn_selector(t.get("namespaceSelector"), c)
            for n in _l(t.get("namespaces")):
                c.add("namespace", n)
            for k in _l(t.get("matchLabelKeys")) + _l(t.get("mismatchLabelKeys")):
                c.key(k)
    for t in _l(spec.get("tolerations")):
        c.key(_d(t).get("key"))
        c.add("value", _d(t).get("value"))
    for t in _l(spec.get("topologySpreadConstraints")):
        c.key(_d(t).get("topologyKey"))
        _learn_selector(_d(t).get("labelSelector"), c)
        for k in _l(_d(t).get("matchLabelKeys")):
            c.key(k)
    for g in _l(spec.get("schedulingGates")):
        c.key(_d(g).get("name"))
    for s in _l(spec.get("imagePullSecrets")):
        ref("Secret", _d(s).get("name"))
    c.resources(spec.get("overhead"))
    for key in ("containers", "initContainers"):
        for ct in _l(spec.get(key)):
            ct = _d(ct)
            c.add("container", ct.get("name"))
            c.add("image-ref", ct.get("image"))
            res = _d(ct.get("resources"))
            c.resources(res.get("requests"))
            c.resources(res.get("limits"))
            for e in _l(ct.get("env")):
                vf = _d(_d(e).get("valueFrom"))
                ref("ConfigMap", _d(vf.get("configMapKeyRef")).get("name"))
                ref("Secret", _d(vf.get("secretKeyRef")).get("name"))
            for e in _l(ct.get("envFrom")):
                ref("ConfigMap", _d(_d(e).get("configMapRef")).get("name"))
                ref("Secret", _d(_d(e).get("secretRef")).get("name"))
            for kind, wns, wname in _wait_refs(ct):  # what an init container's command waits for
                c.add("namespace", wns)
                if wname.startswith("-l"):
                    for kv in wname[2:].split(","):
                        lk, _, lv = kv.partition("=")
                        c.key(lk)
                        c.add("value", lv)
                else:
                    c.add(kind, wname)
    for v in _l(spec.get("volumes")):
        v = _d(v)
        vname = v.get("name")
        c.add("volume", vname)
        c.add("PersistentVolumeClaim", _d(v.get("persistentVolumeClaim")).get("claimName"))
        if "ephemeral" in v and pod_name and isinstance(vname, str):
            c.add("PersistentVolumeClaim", f"{pod_name}-{vname}")
            c.composite[f"{pod_name}-{vname}"] = (pod_name, vname)
        ref("ConfigMap", _d(v.get("configMap")).get("name"))
        ref("Secret", _d(v.get("secret")).get("secretName"))
        for src, ident in _DISKS:
            c.add("disk", _d(v.get(src)).get(ident))


_DISKS = (("gcePersistentDisk", "pdName"), ("awsElasticBlockStore", "volumeID"), ("rbd", "image"), ("iscsi", "iqn"),
          ("azureDisk", "diskURI"), ("cinder", "volumeID"), ("portworxVolume", "volumeID"),
          ("vsphereVolume", "volumePath"), ("azureFile", "shareName"))


def _texts(objs: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for obj in objs:
        if obj.get("kind") == "Event":
            for k in ("message", "note"):
                if isinstance(obj.get(k), str):
                    yield obj[k]
        status = _d(obj.get("status"))
        if isinstance(status.get("message"), str):
            yield status["message"]
        for cond in _l(status.get("conditions")):
            if isinstance(_d(cond).get("message"), str):
                yield _d(cond)["message"]
        for key in ("containerStatuses", "initContainerStatuses"):
            for st in _l(status.get(key)):
                for inner in _d(_d(st).get("state")).values():
                    if isinstance(_d(inner).get("message"), str):
                        yield _d(inner)["message"]


def _learn_text(text: str, c: _Claims) -> None:
    for rx, groups in _TEXT_NAMES:
        for mt in rx.finditer(text):
            for group, cat in groups:
                value = mt.group(group)
                if value:
                    c.add(cat, value.rstrip(".,;:"))


# --------------------------------------------------------------------------------------------
# redacting one object: a projection onto what convert.py reads, every name mapped


def _pick(d: Any, keys: Iterable[str]) -> dict[str, Any]:
    d = _d(d)
    return {k: d[k] for k in keys if k in d}


def _meta(meta: Any, r: Redactor, *, name_fn: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    meta = _d(meta)
    out: dict[str, Any] = _pick(meta, ("uid", "creationTimestamp", "deletionTimestamp"))
    if "name" in meta:
        out["name"] = (name_fn or r.name)(meta["name"])
    elif "generateName" in meta:
        out["generateName"] = r.text(meta["generateName"])
    if "namespace" in meta:
        out["namespace"] = r.name(meta["namespace"])
    if "labels" in meta:
        out["labels"] = r.labels(meta["labels"])
    if isinstance(meta.get("ownerReferences"), list):
        out["ownerReferences"] = [{**_pick(o, ("kind", "uid", "controller", "apiVersion")),
                                   "name": r.name(_d(o).get("name"))} for o in meta["ownerReferences"]]
    ann = _d(meta.get("annotations"))
    kept: dict[str, Any] = {}
    for k in ("storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"):
        if k in ann:
            kept[k] = ann[k]
    if "volume.kubernetes.io/selected-node" in ann:
        kept["volume.kubernetes.io/selected-node"] = r.name(ann["volume.kubernetes.io/selected-node"])
    for k in ("pv.kubernetes.io/bind-completed", "resource.kubernetes.io/extended-resource-claim"):
        if k in ann:
            kept[k] = ann[k]
    if "volume.beta.kubernetes.io/storage-class" in ann:
        kept["volume.beta.kubernetes.io/storage-class"] = r.name(ann["volume.beta.kubernetes.io/storage-class"])
    if isinstance(ann.get("vpaUpdates"), str):  # names the VPA that set the requests (diagnose/autoscaling.py)
        kept["vpaUpdates"] = r.text(ann["vpaUpdates"])
    if kept:
        out["annotations"] = kept
    return out


def _selector(sel: Any, r: Redactor) -> Any:
    if not isinstance(sel, Mapping):
        return sel
    out: dict[str, Any] = {}
    if "matchLabels" in sel:
        out["matchLabels"] = r.labels(sel["matchLabels"])
    if "matchExpressions" in sel:
        out["matchExpressions"] = [_requirement(x, r) for x in _l(sel["matchExpressions"])]
    return out


def _requirement(x: Any, r: Redactor, values: Callable[[Any], Any] | None = None) -> Any:
    if not isinstance(x, Mapping):
        return x
    key = x.get("key")
    keep = Redactor._keep_value(key, "")
    fn = values or (lambda v: v if keep else r.name(v))
    out = {"key": r.name(key), "operator": x.get("operator")}
    if "values" in x:
        out["values"] = [fn(v) for v in _l(x["values"])]
    return out


def _node_terms(terms: Any, r: Redactor) -> Any:
    return [{"matchExpressions": [_requirement(e, r) for e in _l(_d(t).get("matchExpressions"))],
             "matchFields": [_requirement(e, r, r.name) for e in _l(_d(t).get("matchFields"))]}
            for t in _l(terms)]


def _toleration(t: Any, r: Redactor) -> Any:
    t = _d(t)
    out = _pick(t, ("operator", "effect", "tolerationSeconds"))
    if "key" in t:
        out["key"] = r.name(t["key"])
    if "value" in t:
        out["value"] = r.name(t["value"])
    return out


def _affinity_terms(terms: Any, r: Redactor) -> list[Any]:
    out = []
    for t in _l(terms):
        t = _d(t)
        x: dict[str, Any] = {"topologyKey": r.name(t.get("topologyKey"))}
        for k in ("labelSelector", "namespaceSelector"):
            if k in t:
                x[k] = _selector(t[k], r)
        for k in ("namespaces", "matchLabelKeys", "mismatchLabelKeys"):
            if k in t:
                x[k] = [r.name(v) for v in _l(t[k])]
        out.append(x)
    return out


def _container(ct: Any, r: Redactor) -> Any:
    ct = _d(ct)
    out: dict[str, Any] = _pick(ct, ("resources", "restartPolicy", "restartPolicyRules"))
    out["name"] = r.name(ct.get("name"))
    mounts = [{"name": r.name(_d(vm).get("name")), "bindMountOptions": _d(vm)["bindMountOptions"]}
              for vm in _l(ct.get("volumeMounts")) if _d(vm).get("bindMountOptions")]
    if mounts:
        out["volumeMounts"] = mounts
    if "image" in ct:
        out["image"] = r.image(ct["image"])
    if "ports" in ct:
        out["ports"] = [{**_pick(p, ("containerPort", "hostPort", "protocol")),
                         **({"hostIP": r.text(_d(p)["hostIP"])} if "hostIP" in _d(p) else {})} for p in _l(ct["ports"])]
    env = []
    for e in _l(ct.get("env")):
        vf = _d(_d(e).get("valueFrom"))
        refs = {k: {**_pick(vf[k], ("key", "optional")), "name": r.name(_d(vf[k]).get("name"))}
                for k in ("configMapKeyRef", "secretKeyRef") if k in vf}
        if refs:  # literal values are never copied; only references matter
            env.append({"name": _d(e).get("name"), "valueFrom": refs})
    if env:
        out["env"] = env
    env_from = []
    for e in _l(ct.get("envFrom")):
        refs = {k: {**_pick(_d(e)[k], ("optional",)), "name": r.name(_d(_d(e)[k]).get("name"))}
                for k in ("configMapRef", "secretRef") if k in _d(e)}
        if refs:
            env_from.append(refs)
    if env_from:
        out["envFrom"] = env_from
    # The command line is never copied (it may hold anything): what answers show of it, its words
    # passed through the redactor, and the objects it waits for, mapped
    shown, found = container_summary(dict(ct))
    if shown:
        for kind, wns, wname in found:  # a Service's DNS name is one token to r.text: map its parts
            if kind == "Service" and wns:
                shown = re.sub(rf"(?<![-A-Za-z0-9.]){re.escape(wname)}\.{re.escape(wns)}\.svc\b",
                               f"{r.name(wname)}.{r.name(wns)}.svc", shown)
        out["x-podtriage-command"] = r.text(shown)
    waits = [{"kind": kind, "namespace": r.name(wns), "name": "-l" + r.selector(wname[2:])
              if wname.startswith("-l") else r.name(wname)} for kind, wns, wname in _wait_refs(ct)]
    if waits:
        out["x-podtriage-waits"] = waits
    return out


def _wait_refs(ct: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return container_summary(dict(ct))[1]


def _volume(v: Any, r: Redactor) -> Any:
    v = _d(v)
    out: dict[str, Any] = {"name": r.name(v.get("name"))}
    if "persistentVolumeClaim" in v:
        pvc = _d(v["persistentVolumeClaim"])
        out["persistentVolumeClaim"] = {**_pick(pvc, ("readOnly",)), "claimName": r.name(pvc.get("claimName"))}
    elif "ephemeral" in v:
        out["ephemeral"] = {}
    elif "configMap" in v:
        out["configMap"] = {**_pick(v["configMap"], ("optional",)), "name": r.name(_d(v["configMap"]).get("name"))}
    elif "secret" in v:
        out["secret"] = {**_pick(v["secret"], ("optional",)),
                         "secretName": r.name(_d(v["secret"]).get("secretName"))}
    else:
        for src, ident in _DISKS:
            if src in v:
                out[src] = {**_pick(v[src], ("readOnly",)), ident: r.name(_d(v[src]).get(ident))}
                if src == "rbd":
                    out[src].update({"pool": r.name(_d(v[src]).get("pool")),
                                     "monitors": [r.name(x) for x in _l(_d(v[src]).get("monitors"))]})
                return out
        if "csi" in v:
            out["csi"] = _pick(v["csi"], ("driver",))
            return out
        for src in ("hostPath", "emptyDir", "projected", "downwardAPI", "nfs"):
            if src in v:
                out[src] = {}
                return out
    return out


def _pod_spec(spec: Any, r: Redactor) -> dict[str, Any]:
    spec = _d(spec)
    out: dict[str, Any] = _pick(spec, ("schedulerName", "priority", "preemptionPolicy", "overhead",
                                       "activeDeadlineSeconds", "hostNetwork", "restartPolicy", "resources",
                                       "hostUsers"))
    if "resourceClaims" in spec:
        out["resourceClaims"] = [
            {"name": r.name(_d(c).get("name")),
             **({"resourceClaimName": r.name(_d(c)["resourceClaimName"])} if "resourceClaimName" in _d(c) else {}),
             **({"resourceClaimTemplateName": r.name(_d(c)["resourceClaimTemplateName"])}
                if "resourceClaimTemplateName" in _d(c) else {})}
            for c in _l(spec["resourceClaims"])]
    for k in ("nodeName", "priorityClassName", "runtimeClassName", "serviceAccountName"):
        if k in spec:
            out[k] = r.name(spec[k])
    if "nodeSelector" in spec:
        out["nodeSelector"] = r.labels(spec["nodeSelector"])
    if "affinity" in spec:
        aff = _d(spec["affinity"])
        a: dict[str, Any] = {}
        req = _d(_d(aff.get("nodeAffinity")).get("requiredDuringSchedulingIgnoredDuringExecution"))
        if req:
            a["nodeAffinity"] = {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": _node_terms(req.get("nodeSelectorTerms"), r)}}
        for which in ("podAffinity", "podAntiAffinity"):
            terms = _d(aff.get(which)).get("requiredDuringSchedulingIgnoredDuringExecution")
            if terms:
                a[which] = {"requiredDuringSchedulingIgnoredDuringExecution": _affinity_terms(terms, r)}
        out["affinity"] = a
    if "tolerations" in spec:
        out["tolerations"] = [_toleration(t, r) for t in _l(spec["tolerations"])]
    if "topologySpreadConstraints" in spec:
        tsc = []
        for t in _l(spec["topologySpreadConstraints"]):
            t = _d(t)
            x = _pick(t, ("maxSkew", "whenUnsatisfiable", "minDomains", "nodeAffinityPolicy", "nodeTaintsPolicy"))
            x["topologyKey"] = r.name(t.get("topologyKey"))
            if "labelSelector" in t:
                x["labelSelector"] = _selector(t["labelSelector"], r)
            if "matchLabelKeys" in t:
                x["matchLabelKeys"] = [r.name(k) for k in _l(t["matchLabelKeys"])]
            tsc.append(x)
        out["topologySpreadConstraints"] = tsc
    for k in ("schedulingGates", "imagePullSecrets"):
        if k in spec:
            out[k] = [{"name": r.name(_d(g).get("name"))} for g in _l(spec[k])]
    for k in ("containers", "initContainers"):
        if k in spec:
            out[k] = [_container(c, r) for c in _l(spec[k])]
    if "volumes" in spec:
        out["volumes"] = [_volume(v, r) for v in _l(spec["volumes"])]
    return out


# lastHeartbeatTime (node conditions) tells when the snapshot was taken (podtriage.judged).
_CONDITION_KEYS = ("type", "status", "reason", "lastTransitionTime", "lastHeartbeatTime")


def _conditions(conds: Any, r: Redactor) -> list[Any]:
    return [{**_pick(c, _CONDITION_KEYS), "message": r.text(_d(c).get("message"))}
            if "message" in _d(c) else _pick(c, _CONDITION_KEYS) for c in _l(conds)]


def _container_status(st: Any, r: Redactor) -> Any:
    st = _d(st)
    out = _pick(st, ("restartCount", "ready", "started", "containerID"))
    out["name"] = r.name(st.get("name"))
    if "image" in st:
        out["image"] = r.image(st["image"])
    state = {}
    for k, inner in _d(st.get("state")).items():
        x = _pick(inner, ("reason", "exitCode", "startedAt", "finishedAt"))
        if "message" in _d(inner):
            x["message"] = r.text(_d(inner)["message"])
        state[k] = x
    out["state"] = state
    last = _d(_d(st.get("lastState")).get("terminated"))
    if last:
        out["lastState"] = {"terminated": _pick(last, ("reason", "exitCode", "startedAt", "finishedAt"))}
    return out


def _pod_status(status: Any, r: Redactor) -> dict[str, Any]:
    status = _d(status)
    out = _pick(status, ("phase", "reason", "startTime", "qosClass"))
    if "message" in status:
        out["message"] = r.text(status["message"])
    if "nominatedNodeName" in status:
        out["nominatedNodeName"] = r.name(status["nominatedNodeName"])
    if "conditions" in status:
        out["conditions"] = _conditions(status["conditions"], r)
    for k in ("containerStatuses", "initContainerStatuses"):
        if k in status:
            out[k] = [_container_status(s, r) for s in _l(status[k])]
    if "resourceClaimStatuses" in status:
        out["resourceClaimStatuses"] = [
            {"name": r.name(_d(c).get("name")),
             **({"resourceClaimName": r.name(_d(c)["resourceClaimName"])} if _d(c).get("resourceClaimName") else {})}
            for c in _l(status["resourceClaimStatuses"])]
    return out


def _template(t: Any, r: Redactor) -> dict[str, Any]:
    t = _d(t)
    meta = _d(t.get("metadata"))
    m: dict[str, Any] = {}
    if "labels" in meta:
        m["labels"] = r.labels(meta["labels"])
    if "namespace" in meta:
        m["namespace"] = r.name(meta["namespace"])
    return {"metadata": m, "spec": _pod_spec(t.get("spec"), r)}


_WORKLOAD_STATUS = ("readyReplicas", "numberReady", "availableReplicas", "numberAvailable", "desiredNumberScheduled")


def _redact_object(obj: Mapping[str, Any], r: Redactor) -> dict[str, Any]:
    kind = obj.get("kind")
    out: dict[str, Any] = {"apiVersion": obj.get("apiVersion", ""), "kind": kind}
    spec, status = _d(obj.get("spec")), _d(obj.get("status"))
    if kind == "Event":
        out["metadata"] = _meta(obj.get("metadata"), r)
        inv_key = "involvedObject" if "involvedObject" in obj else "regarding"
        inv = _d(obj.get(inv_key))
        if inv:
            out[inv_key] = {**_pick(inv, ("kind", "uid", "apiVersion", "fieldPath")),
                            "name": r.name(inv.get("name")), "namespace": r.name(inv.get("namespace"))}
        out.update(_pick(obj, ("type", "reason", "reportingController", "reportingComponent", "firstTimestamp",
                               "lastTimestamp", "eventTime", "count", "deprecatedFirstTimestamp",
                               "deprecatedLastTimestamp", "deprecatedCount", "action")))
        for k in ("message", "note"):
            if k in obj:
                out[k] = r.text(obj[k])
        if "source" in obj:
            out["source"] = _pick(obj["source"], ("component",))
        if "series" in obj:
            out["series"] = _pick(obj["series"], ("count", "lastObservedTime"))
        return out
    out["metadata"] = _meta(obj.get("metadata"), r)
    if kind == "Pod":
        out["spec"] = _pod_spec(spec, r)
        out["status"] = _pod_status(status, r)
    elif kind == "Node":
        out["spec"] = {**_pick(spec, ("unschedulable",)),
                       "taints": [{**_pick(t, ("effect", "timeAdded")), "key": r.name(_d(t).get("key")),
                                   **({"value": r.name(_d(t)["value"])} if "value" in _d(t) else {})}
                                  for t in _l(spec.get("taints"))]}
        out["status"] = {**_pick(status, ("allocatable", "capacity", "declaredFeatures")),
                         "conditions": _conditions(status.get("conditions"), r)}
    elif kind == "PersistentVolumeClaim":
        s = _pick(spec, ("accessModes", "volumeMode"))
        for k in ("storageClassName", "volumeName", "volumeAttributesClassName"):
            if k in spec:
                s[k] = r.name(spec[k])
        if "selector" in spec:
            s["selector"] = _selector(spec["selector"], r)
        storage = _d(_d(spec.get("resources")).get("requests")).get("storage")
        if storage is not None:
            s["resources"] = {"requests": {"storage": storage}}
        out["spec"] = s
        out["status"] = _pick(status, ("phase",))
    elif kind == "PersistentVolume":
        s = _pick(spec, ("capacity", "accessModes", "volumeMode", "persistentVolumeReclaimPolicy"))
        if "storageClassName" in spec:
            s["storageClassName"] = r.name(spec["storageClassName"])
        claim = _d(spec.get("claimRef"))
        if claim:
            s["claimRef"] = {**_pick(claim, ("kind", "uid")), "name": r.name(claim.get("name")),
                             "namespace": r.name(claim.get("namespace"))}
        req = _d(_d(spec.get("nodeAffinity")).get("required"))
        if req:
            s["nodeAffinity"] = {"required": {"nodeSelectorTerms": _node_terms(req.get("nodeSelectorTerms"), r)}}
        if isinstance(spec.get("csi"), Mapping):
            s["csi"] = {**_pick(spec["csi"], ("driver",)),
                        **({"volumeHandle": r.name(spec["csi"]["volumeHandle"])} if "volumeHandle" in spec["csi"]
                           else {})}
        if "volumeAttributesClassName" in spec:
            s["volumeAttributesClassName"] = r.name(spec["volumeAttributesClassName"])
        for src, ident in _DISKS:
            if isinstance(spec.get(src), Mapping):
                s[src] = {ident: r.name(spec[src].get(ident))}
        out["spec"] = s
        out["status"] = _pick(status, ("phase",))
    elif kind == "StorageClass":
        out.update(_pick(obj, ("provisioner", "volumeBindingMode", "reclaimPolicy", "allowVolumeExpansion")))
        if "allowedTopologies" in obj:
            out["allowedTopologies"] = [
                {"matchLabelExpressions": [_requirement(e, r) for e in _l(_d(t).get("matchLabelExpressions"))]}
                for t in _l(obj["allowedTopologies"])]
    elif kind in _WORKLOAD_KINDS:
        s = _pick(spec, ("replicas", "parallelism", "completions", "suspend"))
        if "selector" in spec:
            s["selector"] = _selector(spec["selector"], r)
        if "template" in spec:
            s["template"] = _template(spec["template"], r)
        jt = _d(_d(spec.get("jobTemplate")).get("spec"))
        if jt:
            s["jobTemplate"] = {"spec": {**_pick(jt, ("parallelism", "completions")),
                                         "template": _template(jt.get("template"), r)}}
        out["spec"] = s
        out["status"] = {**_pick(status, _WORKLOAD_STATUS), "conditions": _conditions(status.get("conditions"), r)}
    elif kind in _KUEUE_KINDS:
        out.update(_redact_kueue(kind, spec, status, r))
    elif kind == "PriorityClass":
        out.update(_pick(obj, ("value", "preemptionPolicy", "globalDefault")))
    elif kind == "PodDisruptionBudget":
        out["spec"] = {"selector": _selector(spec.get("selector"), r)} if "selector" in spec else {}
        out["status"] = _pick(status, ("disruptionsAllowed",))
    elif kind == "ResourceQuota":
        def quota_map(m: Any) -> dict[str, Any]:
            return {_quota_key(str(k), r): v for k, v in _d(m).items()}
        out["spec"] = {"hard": quota_map(spec.get("hard"))} if "hard" in spec else {}
        out["status"] = {k: quota_map(status[k]) for k in ("hard", "used") if k in status}
    elif kind == "LimitRange":
        out["spec"] = _pick(spec, ("limits",))
    elif kind == "Namespace":
        out["status"] = _pick(status, ("phase",))
    elif kind == "ConfigMap":
        for k in ("data", "binaryData"):
            if isinstance(obj.get(k), Mapping):
                out[k] = {key: "" for key in obj[k]}
    elif kind == "RuntimeClass":
        out.update(_pick(obj, ("handler", "overhead")))
        sched = _d(obj.get("scheduling"))
        if sched:
            out["scheduling"] = {"nodeSelector": r.labels(sched.get("nodeSelector") or {}),
                                 "tolerations": [_toleration(t, r) for t in _l(sched.get("tolerations"))]}
    elif kind == "CSINode":
        out["spec"] = {"drivers": [_pick(d, ("name", "allocatable")) for d in _l(spec.get("drivers"))]}
    elif kind == "CSIDriver":
        out["spec"] = _pick(spec, ("attachRequired", "storageCapacity", "preventPodSchedulingIfMissing"))
    elif kind == "CSIStorageCapacity":
        out.update(_pick(obj, ("capacity", "maximumVolumeSize")))
        out["storageClassName"] = r.name(obj.get("storageClassName"))
        if "nodeTopology" in obj:
            out["nodeTopology"] = _selector(obj["nodeTopology"], r)
    elif kind == "VolumeAttachment":
        out["spec"] = {"attacher": spec.get("attacher"), "nodeName": r.name(spec.get("nodeName")),
                       "source": {"persistentVolumeName": r.name(_d(spec.get("source")).get("persistentVolumeName"))}}
    elif kind == "DeviceClass":
        # CEL selectors and device attributes describe hardware, not the organisation: kept as they are
        out["spec"] = _pick(spec, ("selectors", "extendedResourceName"))
    elif kind == "ResourceSlice":
        sl = {k: v for k, v in spec.items() if k not in ("nodeName", "pool", "nodeSelector", "devices")}
        if "nodeName" in spec:
            sl["nodeName"] = r.name(spec["nodeName"])
        sl["pool"] = {**_pick(spec.get("pool"), ("generation", "resourceSliceCount")),
                      "name": r.name(_d(spec.get("pool")).get("name"))}
        if "nodeSelector" in spec:
            sl["nodeSelector"] = {"nodeSelectorTerms": _node_terms(_d(spec["nodeSelector"]).get("nodeSelectorTerms"), r)}
        devs = []
        for dv in _l(spec.get("devices")):
            dv = dict(_d(dv))
            if "nodeName" in dv:
                dv["nodeName"] = r.name(dv["nodeName"])
            if "nodeSelector" in dv:
                dv["nodeSelector"] = {"nodeSelectorTerms": _node_terms(_d(dv["nodeSelector"]).get("nodeSelectorTerms"), r)}
            devs.append(dv)
        sl["devices"] = devs
        out["spec"] = sl
    elif kind in ("ResourceClaim", "ResourceClaimTemplate"):
        def claim_spec(cs: Any) -> dict[str, Any]:
            devs = dict(_d(_d(cs).get("devices")))
            reqs = []
            for rq in _l(devs.get("requests")):
                rq = dict(_d(rq))
                if isinstance(rq.get("exactly"), Mapping):
                    rq["exactly"] = {**rq["exactly"], "deviceClassName": r.name(rq["exactly"].get("deviceClassName"))}
                if isinstance(rq.get("firstAvailable"), list):
                    rq["firstAvailable"] = [{**_d(x), "deviceClassName": r.name(_d(x).get("deviceClassName"))}
                                            for x in rq["firstAvailable"]]
                reqs.append(rq)
            devs["requests"] = reqs
            devs.pop("config", None)  # opaque driver parameters may hold anything
            return {"devices": devs}
        if kind == "ResourceClaim":
            out["spec"] = claim_spec(spec)
            st: dict[str, Any] = {}
            alloc = _d(status.get("allocation"))
            if alloc:
                results = [{**_pick(x, ("request", "driver", "adminAccess", "shareID", "consumedCapacity")),
                            "pool": r.name(_d(x).get("pool")), "device": _d(x).get("device")}
                           for x in _l(_d(alloc.get("devices")).get("results"))]
                st["allocation"] = {"devices": {"results": results}}
                if "nodeSelector" in alloc:
                    st["allocation"]["nodeSelector"] = {
                        "nodeSelectorTerms": _node_terms(_d(alloc["nodeSelector"]).get("nodeSelectorTerms"), r)}
            if "reservedFor" in status:
                st["reservedFor"] = [{**_pick(x, ("resource", "uid", "apiGroup")), "name": r.name(_d(x).get("name"))}
                                     for x in _l(status["reservedFor"])]
            out["status"] = st
        else:
            out["spec"] = {"spec": claim_spec(spec.get("spec"))}
    # Secret: metadata only (name, namespace, uid, labels), like the trimmed object.
    return out


def _quota_key(key: str, r: Redactor) -> str:
    sc, sep, rest = key.partition(".storageclass.storage.k8s.io/")
    return f"{r.name(sc)}{sep}{rest}" if sep else key


# --------------------------------------------------------------------------------------------
# the commands' entry points


@dataclass(frozen=True)
class RedactedInput:
    """A redacted snapshot with the map that made it and the redacted raw items (for `snapshot`)."""

    snapshot: Any
    redactor: Redactor
    items: list[dict[str, Any]]
    header: dict[str, Any]


def refuse_side_inputs(**inputs: Any) -> None:
    """--scheduler-log(s), --cgroup-stats and --previous cannot be combined with --redact.

    Scheduler logs and cgroup stats name pods, nodes and cgroup paths the snapshot does not hold
    (other namespaces, other clusters' objects), so their redaction could not be shown complete;
    a previous report's placeholders come from another map. Refused, with the reason, not guessed.
    """
    given = [flag for flag, value in inputs.items() if value]
    if given:
        raise InputError(f"{', '.join(given)} cannot be combined with --redact",
                         hint="free-form logs, cgroup stats and earlier reports name objects the snapshot's "
                              "map does not know, so their redaction could not be complete: run without them, "
                              "or without --redact")


def _meta_header(meta: Any) -> dict[str, Any]:
    from .loaders.snapshot_file import meta_to_header

    return meta_to_header(meta)


def build_redacted(items: list[dict[str, Any]], header: Mapping[str, Any], *,
                   warnings: Iterable[str] = (), source_paths: Iterable[str] = (),
                   extra_names: Iterable[tuple[str, Any]] = ()) -> RedactedInput:
    """Learn the map from trimmed `items`, redact them, and build the Snapshot the analysis reads."""
    from .loaders.snapshot_file import trim_object
    from .snapshot import SnapshotBuilder

    trimmed = [trim_object(o) for o in items if isinstance(o, dict)]
    cluster = _d(header.get("cluster"))
    extra: list[tuple[str, Any]] = list(extra_names)
    extra += [("namespace", n) for n in _l(header.get("namespaces")) if isinstance(n, str)]
    extra += [("namespace", _d(x).get("namespace")) for x in _l(header.get("missing"))
              if isinstance(_d(x).get("namespace"), str)]
    r = Redactor.learn(trimmed, extra=extra, server=str(cluster.get("server") or ""),
                       context=str(cluster.get("context") or ""), source_paths=source_paths)
    redacted = r.objects(trimmed)
    src = str(header.get("source") or "")
    new_header = {
        "created": header.get("created", ""),
        "source": "live" if src == "live" else ("<input>" if src else ""),
        "cluster": {"server": r.name(cluster.get("server") or ""), "context": r.name(cluster.get("context") or ""),
                    "version": cluster.get("version") or ""},
        "collected": list(_l(header.get("collected"))),
        "namespaces": [r.name(n) for n in _l(header.get("namespaces"))],
        "missing": [{"resource": _d(x).get("resource", ""), "namespace": r.name(_d(x).get("namespace", "")),
                     "reason": r.text(_d(x).get("reason", ""))} for x in _l(header.get("missing"))],
        "schedulerNames": header.get("schedulerNames"),
        "redacted": True,
    }
    builder = SnapshotBuilder(source=new_header["source"])
    for kind in new_header["collected"]:
        builder.mark_collected(kind)
    for x in new_header["missing"]:
        builder.mark_missing(x["resource"], x["namespace"], x["reason"])
    for obj in redacted:
        builder.add(obj, origin=new_header["source"] or "input")
    builder.warnings[:0] = [r.text(w) for w in warnings]
    names = header.get("schedulerNames")
    snapshot = builder.build(
        source=new_header["source"], created=str(header.get("created") or ""),
        cluster_server=new_header["cluster"]["server"], context=new_header["cluster"]["context"],
        server_version=new_header["cluster"]["version"], namespaces=tuple(new_header["namespaces"]),
        scheduler_names=tuple(names) if isinstance(names, list) else None)
    return RedactedInput(snapshot, r, redacted, new_header)


def load_redacted_files(path: str) -> RedactedInput:
    """`--from PATH --redact`: the files' objects, redacted, and the Snapshot built from them."""
    from .loaders.files import load_raw

    raw = load_raw(path)
    return build_redacted(raw.items, raw.header, warnings=raw.warnings, source_paths=_path_forms(path))


def _path_forms(path: str) -> list[str]:
    p = Path(path)
    forms = {str(p), path}
    try:
        forms.add(str(p.resolve()))
    except OSError:
        pass
    return sorted((f for f in forms if f and f not in (".", "/")), key=len, reverse=True)


def load_redacted_live(*, kubeconfig: str | None, context: str | None, namespaces: list[str] | None,
                       scope: Any, timeout: float, deadline: float | None = None,
                       options: Any = None) -> RedactedInput:
    """Live `--redact`: collect with the trimmed raw objects kept, then redact those."""
    from .collect.live import DEFAULT_DEADLINE, collect_live, require_pods

    result = collect_live(kubeconfig=kubeconfig, context=context, namespaces=namespaces, scope=scope,
                          timeout=timeout, keep_raw=True, deadline=deadline or DEFAULT_DEADLINE, options=options)
    snap = result.snapshot
    require_pods(snap, namespaces)  # as without --redact: no pods, nothing to explain (exit 3)
    header = _meta_header(snap.meta)
    header["source"] = "live"
    extra = [("namespace", n) for n in namespaces or () if n]
    return build_redacted(result.raw_items or [], header, warnings=snap.meta.warnings, extra_names=extra)


def redact_config(config: Any, r: Redactor) -> Any:
    """Audit suppressions by namespace or label selector, mapped like the snapshot they apply to."""
    sups = tuple(replace(s, namespace=r.name(s.namespace) if getattr(s, "namespace", None) else s.namespace,
                         selector=r.selector(s.selector) if getattr(s, "selector", None) else s.selector)
                 for s in config.suppressions)
    return replace(config, suppressions=sups)


def finish(r: Redactor, output: str, warn: Callable[[str], None]) -> str:
    """The safety net over one rendered output; says on stderr how many leftovers it replaced."""
    out, hits = r.scrub(output)
    if hits:
        warn(f"warning: --redact: the final check replaced {hits} leftover occurrence(s) of original names")
    return out


__all__ = ["KEPT_NAMES", "RedactedInput", "Redactor", "build_redacted", "finish", "load_redacted_files",
           "load_redacted_live", "redact_config", "refuse_side_inputs", "well_known_key"]
