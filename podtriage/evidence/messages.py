"""Parsers for the texts Kubernetes writes about a Pending pod.

The main one reads kube-scheduler's FitError ("0/N nodes are available: ...") in every layout
from 1.25 to 1.35; the others read the texts that sit next to it in a pod's or workload's events:
cluster-autoscaler scale-up decisions, admission rejections inside `FailedCreate`, `Preempted`
and Karpenter's `Nominated`. Every parser returns a frozen dataclass or None and never raises:
a text we do not understand is evidence we cannot use, not an error.

Message layouts follow /work/shared/reference/k8s_messages.md (the `sched.fiterror.*` entries):

    0/N nodes are available:[ <PreFilter msg>.][ <count> <reason>, <count> <reason>.][ <PostFilter>]

- the histogram is sorted as strings ("10 ..." before "2 ..."), never assume numeric order;
- one node may contribute several reasons (NodeResourcesFit), so counts can sum to more than N;
- a PreFilter rejection has no count and replaces the histogram;
- 1.25-1.27 wrote the PostFilter part as " %v." so a nested preemption message ends in "..";
- events are cut to 1024 characters ending in " ..." (the PodScheduled condition is not).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

# --- format bands ---------------------------------------------------------------------------
FORMAT_PRE_125 = "pre-1.25"  # "had taint {k: v}, that the pod didn't tolerate"
FORMAT_125_127 = "1.25-1.27"  # PostFilter part followed by an extra '.', i.e. ".." at the end
FORMAT_128 = "1.28+"  # single final period after the PostFilter part, or a 1.28+-only reason
FORMAT_NOKEY_TAINT = "1.34.3+/1.35+"  # "had untolerated taint(s)" without key/value
FORMAT_UNKNOWN = "unknown"

# --- reason codes (shared with the scheduler emulation; keep the strings stable) -------------
CODES: tuple[str, ...] = (
    "node-unschedulable", "node-name", "taint", "node-affinity", "node-affinity-enforced",
    "affinity-terms-conflict", "node-ports", "insufficient", "too-many-pods",
    "volume-restrictions-disk", "volume-rwop", "volume-limits", "volume-unbound-immediate",
    "pvc-not-found", "pvc-deleting", "pvc-bound-to-missing-pv", "ephemeral-pvc-pending",
    "volume-bind-conflict", "volume-node-affinity", "volume-no-space", "volume-pv-missing",
    "volume-zone", "topology-spread", "topology-spread-missing-label", "pod-affinity",
    "pod-anti-affinity", "existing-anti-affinity", "dra", "unknown-conditions", "absent-nodes",
    "prefilter-conflict", "no-nodes", "preemption-not-helpful", "no-preemption-victims", "other",
    # 1.37: VolumeZone's PreFilter, VolumeBinding's ephemeral ownership, NodeVolumeLimits'
    # preventPodSchedulingIfMissing, NodeDeclaredFeatures, and DynamicResources' own texts
    "pv-not-found", "ephemeral-pvc-not-owned", "csi-driver-missing", "node-features", "dra-class-missing",
    "dra-claim-not-found", "dra-claim-pending", "dra-claim-deleting", "dra-claim-not-owned", "dra-error",
)

# cluster-autoscaler's own skip reasons (NotTriggerScaleUp); scheduler reasons keep CODES.
CA_CODES: tuple[str, ...] = (
    "ca-max-size", "ca-backoff", "ca-not-ready", "ca-max-resources", "ca-max-total-nodes",
    "ca-vertical",
)


@dataclass(frozen=True)
class ReasonCount:
    """One entry of a scheduler histogram ("2 Insufficient cpu") or a count-less PreFilter text."""

    count: int | None  # None for a PreFilter message (no count)
    reason: str  # the text exactly as printed
    code: str  # normalized category key, one of CODES (or CA_CODES for autoscaler texts)
    details: dict = field(default_factory=dict, hash=False)  # taint_key/taint_value, resource, claim, plugins


@dataclass(frozen=True)
class FitMessage:
    """A parsed kube-scheduler FitError (or a nested preemption FitError)."""

    total_nodes: int | None
    prefilter: ReasonCount | None
    reasons: tuple[ReasonCount, ...]  # the per-node histogram (Filter part), as printed
    postfilter: str  # raw text after the filter part ("preemption: ..." etc.), "" if none
    preemption: FitMessage | None  # nested "preemption: 0/N nodes are available: ..."
    preemption_not_eligible: str  # "preemptionPolicy=Never" / "terminating pod on the nominated node" / ""
    dra_note: str  # other PostFilter text: "no new claims to deallocate", "not found", ... or ""
    format_version: str  # FORMAT_* band
    truncated: bool  # event text cut at 1024 chars ending in " ..."
    raw: str
    # "preemption: found a potential placement for pod on node N, preempting K victims" (1.37)
    preemption_node: str = ""
    preemption_victims: int | None = None

    @property
    def preemption_not_attempted(self) -> bool:
        """The PostFilter part is a bare "not found": after a PreFilter rejection by a plugin that runs
        before DynamicResources, DynamicResources' PostFilter (first in line) finds none of its state
        and fails, so preemption is never tried (1.35+ with DRA in the default profile)."""
        return self.dra_note == "not found" and self.prefilter is not None

    def node_counts(self, *, include_prefilter: bool = True) -> dict[str, int]:
        """code -> count, summed over reasons sharing a code (several taints, several resources).

        A PreFilter rejection applies to every node, so it counts as `total_nodes` (when known)
        unless include_prefilter is False. Counts of `insufficient` can exceed the node count.
        """
        out: dict[str, int] = {}
        pre = self.prefilter
        # Some releases may print the PreFilter reason per node as well; do not count it twice.
        if include_prefilter and pre is not None and self.total_nodes and \
                not any(r.code == pre.code for r in self.reasons):
            out[pre.code] = self.total_nodes
        for r in self.reasons:
            if r.count is not None:
                out[r.code] = out.get(r.code, 0) + r.count
        return out

    @property
    def all_reasons(self) -> tuple[ReasonCount, ...]:
        """The PreFilter reason (if any) followed by the histogram."""
        return ((self.prefilter,) if self.prefilter else ()) + self.reasons

    def codes(self) -> tuple[str, ...]:
        """Distinct codes of the PreFilter reason and the histogram, in printed order."""
        return tuple(dict.fromkeys(r.code for r in self.all_reasons))

    def reasons_for(self, code: str) -> tuple[ReasonCount, ...]:
        return tuple(r for r in self.all_reasons if r.code == code)

    @property
    def is_fit_error(self) -> bool:
        """True for a real '0/N nodes are available' text (False for no-nodes, Karpenter, errors)."""
        return self.total_nodes is not None and not (self.prefilter and self.prefilter.code == "no-nodes")


# --- reason texts -----------------------------------------------------------------------------
# Taint text is "{key: value}"; value may be empty ("{key: }") and may hold anything but '}'.
_TAINT = r"\{(?P<taint_key>[^:}]*):\s?(?P<taint_value>[^}]*)\}"
_CLAIM = r"\"(?P<claim>[^\"]*)\""

# (pattern searched in the reason, code). Order matters where texts overlap.
_REASON_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), c) for p, c in (
        (r"were unschedulable$", "node-unschedulable"),
        (r"had unknown conditions?$", "unknown-conditions"),
        (r"didn't match the requested node name$", "node-name"),
        (r"had untolerated taint " + _TAINT, "taint"),
        (r"had taint " + _TAINT + r", that the pod didn't tolerate", "taint"),
        (r"had untolerated taint\(s\)", "taint"),
        (r"had taints that the pod didn't tolerate", "taint"),
        (r"didn't match Pod's node affinity/selector", "node-affinity"),
        (r"didn't match node selector$", "node-affinity"),  # pre-1.20 wording
        (r"didn't match scheduler-enforced node affinity", "node-affinity-enforced"),
        (r"^pod affinity terms conflict$", "affinity-terms-conflict"),
        (r"didn't have free ports for the requested pod ports", "node-ports"),
        (r"^Insufficient (?P<resource>\S+)$", "insufficient"),
        (r"^Too many pods$", "too-many-pods"),
        (r"had no available disk$", "volume-restrictions-disk"),
        (r"PersistentVolumeClaim with the same name and ReadWriteOncePod access mode", "volume-rwop"),
        (r"unavailable due to PersistentVolumeClaim with ReadWriteOncePod access mode already in-use", "volume-rwop"),
        (r"^(?P<driver>\S+) CSI driver is not installed on the node$", "csi-driver-missing"),
        (r"didn't match Pod's required features$", "node-features"),
        (r"exceed max volume count$", "volume-limits"),
        (r"^pod has unbound immediate PersistentVolumeClaims", "volume-unbound-immediate"),
        (r"^waiting for ephemeral volume controller to create the persistentvolumeclaim " + _CLAIM,
         "ephemeral-pvc-pending"),
        (r"^persistentvolumeclaim " + _CLAIM + r" bound to non-existent persistentvolume \"(?P<pv>[^\"]*)\"",
         "pvc-bound-to-missing-pv"),
        (r"^persistentvolumeclaim " + _CLAIM + r" is being deleted", "pvc-deleting"),
        (r"^persistentvolumeclaim " + _CLAIM + r" not found", "pvc-not-found"),
        (r"^persistentvolume \"(?P<pv>[^\"]*)\" not found", "pv-not-found"),
        (r"^PVC (?P<namespace>[^/\s]+)/(?P<claim>\S+) was not created for pod \S+ \(pod is not owner\)",
         "ephemeral-pvc-not-owned"),
        (r"didn't find available persistent volumes to bind$", "volume-bind-conflict"),
        (r"had volume node affinity conflict$", "volume-node-affinity"),
        (r"didn't match PersistentVolume's node affinity$", "volume-node-affinity"),
        (r"did not have enough free storage$", "volume-no-space"),
        (r"unavailable due to one or more pvc\(s\) bound to non-existent pv\(s\)$", "volume-pv-missing"),
        (r"had no available volume zone$", "volume-zone"),
        (r"didn't match pod topology spread constraints \(missing required label\)$",
         "topology-spread-missing-label"),
        (r"didn't match pod topology spread constraints$", "topology-spread"),
        (r"didn't match pod affinity rules$", "pod-affinity"),
        (r"didn't match pod anti-affinity rules$", "pod-anti-affinity"),
        (r"didn't satisfy existing pods anti-affinity rules$", "existing-anti-affinity"),
        (r"didn't satisfy plugin\(s\) \[(?P<plugins>[^\]]*)\] simultaneously$", "prefilter-conflict"),
        (r"didn't satisfy plugin (?P<plugin>\S+)$", "prefilter-conflict"),
        (r"didn't satisfy plugin\(s\) \[(?P<plugins>[^\]]*)\]$", "absent-nodes"),
        (r"node is filtered out by the prefilter result$", "absent-nodes"),
        (r"^no nodes available to schedule pods$", "no-nodes"),
        (r"^Preemption is not helpful for scheduling$", "preemption-not-helpful"),
        (r"^No preemption victims found for incoming pod$", "no-preemption-victims"),
        # DynamicResources (Filter, PreFilter, PreEnqueue texts)
        (r"^cannot allocate all claims$", "dra"),
        (r"^resourceclaim not available on the node$", "dra"),
        (r"^invalid resource pools were encountered$", "dra"),
        (r"^cannot fit resource$", "dra"),
        (r"^resourceclaim in use$", "dra"),
        (r"^resource claim (?P<claim>\S+) is in the process of being allocated", "dra"),
        (r"^resourceclaim " + _CLAIM + r" is being deleted", "dra-claim-deleting"),
        (r"^request (?P<request>\S+): device class (?P<device_class>\S+) does not exist", "dra-class-missing"),
        (r"^resourceclaim\.resource\.k8s\.io " + _CLAIM + r" not found", "dra-claim-not-found"),
        (r"^ResourceClaim (?P<namespace>[^/\s]+)/(?P<claim>\S+) was not created for Pod", "dra-claim-not-owned"),
        (r"ResourceClaim not created yet", "dra-claim-pending"),
        (r"^running \"DynamicResources\" filter plugin: ", "dra-error"),
    )
)

def reason_code(reason: str) -> tuple[str, dict]:
    """Map one reason text (without its count) to (code, details); unknown texts give ("other", {})."""
    text = reason.strip()
    for pattern, code in _REASON_RULES:
        m = pattern.search(text)
        if m is None:
            continue
        details: dict = {k: v for k, v in m.groupdict().items() if v is not None}
        if "plugins" in details:
            details["plugins"] = details["plugins"].split()
        elif "plugin" in details:
            details["plugins"] = [details.pop("plugin")]
        elif code == "absent-nodes":
            details["plugins"] = []
        if code == "volume-node-affinity":
            details["wording"] = "1.33+" if "PersistentVolume's" in text else "pre-1.33"
        return code, details
    return "other", {}


# --- structure helpers ----------------------------------------------------------------------
# (?<!\d): start only at the first digit of a number; without it a long run of digits makes the
# search quadratic (20,000 digits: seconds). Counts are ASCII digits, as Go prints them.
_FIT_HEAD = re.compile(r"(?<![0-9])(?P<done>[0-9]+)/(?P<total>[0-9]+) nodes are available:")
_COUNT = re.compile(r"^(?P<count>[0-9]+) (?P<reason>.*)$", re.DOTALL)
_ITEM_SEP = re.compile(r", (?=\d+ )")
_SENTENCE_END = re.compile(r"\.(?= |$)")
_TRUNC_SUFFIX = " ..."


def _mask(text: str, pairs: str = "{}[]") -> str:
    """Same-length copy of text with the inside of {...}/[...] blanked, so separators there are ignored.

    A '{' is closed by the next '}' (taint values may hold anything but '}'); an unclosed one runs
    to the end (a truncated text).
    """
    closers = {pairs[i]: pairs[i + 1] for i in range(0, len(pairs), 2)}
    out = list(text)
    i = 0
    while i < len(text):
        close = closers.get(text[i])
        if close is None:
            i += 1
            continue
        j = text.find(close, i + 1)
        end = len(text) if j < 0 else j
        for k in range(i + 1, end):
            out[k] = "_"
        i = end + 1
    return "".join(out)


def _split_items(text: str) -> list[str]:
    """Split "2 a, 1 b {x, 3 y}" at ", <digits> " outside braces/brackets."""
    masked = _mask(text)
    items, start = [], 0
    for m in _ITEM_SEP.finditer(masked):
        items.append(text[start:m.start()])
        start = m.end()
    items.append(text[start:])
    return [i for i in items if i]


def _histogram(text: str, *, complete: bool,
               code_of: Callable[[str], tuple[str, dict]] | None = None) -> tuple[ReasonCount, ...]:
    """Parse "<count> <reason>, ..."; when the text was cut, drop the (partial) last item."""
    code_of = code_of or reason_code
    if not complete and text.endswith(","):
        text = text[:-1]
        complete = True
    items = _split_items(text)
    if not complete and items:
        items = items[:-1]
    out = []
    for item in items:
        m = _COUNT.match(item)
        if m:
            reason = m.group("reason")
            code, details = code_of(reason)
            out.append(ReasonCount(_count(m.group("count")), reason, code, details))
        else:
            code, details = code_of(item)
            out.append(ReasonCount(None, item, code, details))
    return tuple(out)


def _count(digits: str) -> int | None:
    """A count as printed; None for a number no scheduler prints (past int's text conversion limit)."""
    return int(digits) if len(digits) <= 20 else None


def _next_sentence(text: str, pos: int) -> tuple[str, bool, int]:
    """(sentence, complete, position after it and its separator) starting at pos."""
    m = _SENTENCE_END.search(_mask(text[pos:]))
    if m is None:
        return text[pos:].strip(), False, len(text)
    end = pos + m.start()
    return text[pos:end].strip(), True, min(len(text), end + 2)


@dataclass(frozen=True)
class _Body:
    prefilter: ReasonCount | None
    reasons: tuple[ReasonCount, ...]
    postfilter: str


def _parse_body(body: str, *, truncated: bool) -> _Body:
    """Split what follows "nodes are available:" into PreFilter, histogram and PostFilter parts."""
    text = body.strip()
    prefilter: ReasonCount | None = None
    reasons: tuple[ReasonCount, ...] = ()
    if not text:
        return _Body(None, (), "")
    sentence, complete, pos = _next_sentence(text, 0)
    if sentence and not _COUNT.match(sentence):
        code, details = reason_code(sentence)
        prefilter = ReasonCount(None, sentence, code, details)
        # Some releases may also print the PreFilter reason per node: accept a histogram next.
        if pos < len(text):
            nxt, nxt_complete, nxt_pos = _next_sentence(text, pos)
            if _COUNT.match(nxt):
                reasons = _histogram(nxt, complete=nxt_complete or not truncated)
                pos = nxt_pos
    elif sentence:
        reasons = _histogram(sentence, complete=complete or not truncated)
    return _Body(prefilter, reasons, text[pos:].strip())


def _strip_wrapping(text: str, head: re.Match[str]) -> str:
    """Drop what surrounds a FitError quoted in a log line or a kubectl row (err="...", '...')."""
    before = text[:head.start()]
    out = text[head.start():]
    quote = before[-1:] if before[-1:] in ("'", '"') else ""
    if quote:
        end = out.rfind(quote)
        if end > 0:
            out = out[:end]
        if quote == '"':
            out = out.replace('\\"', '"')
    return out.strip()


def _version_band(double: bool, truncated: bool, reasons: list[ReasonCount],
                  postfilter: str, has_preemption: bool, dra_note: str) -> str:
    texts = [r.reason for r in reasons]
    if any("had taint {" in t and "that the pod didn't tolerate" in t for t in texts):
        return FORMAT_PRE_125
    if double:
        return FORMAT_125_127
    if any("untolerated taint(s)" in t for t in texts):
        return FORMAT_NOKEY_TAINT
    if postfilter and not truncated:
        if has_preemption:
            return FORMAT_128  # ends in a single '.', the double case returned above
        # 1.25-1.27 appended '.' to any PostFilter text; 1.28+ prints it bare ("not found").
        return FORMAT_125_127 if postfilter.endswith(".") else FORMAT_128
    later_only = ("didn't match PersistentVolume's node affinity",)
    if any(t.endswith(later_only) for t in texts) or dra_note.startswith("no new claims to deallocate"):
        return FORMAT_128
    if any(r.code == "absent-nodes" and r.count is not None and "plugin(s) [" in r.reason for r in reasons):
        return FORMAT_128
    return FORMAT_UNKNOWN


def _parse_fit(text: str, raw: str, *, truncated: bool) -> FitMessage | None:
    head = _FIT_HEAD.match(text)
    if head is None:
        return None
    double = False
    body = text[head.end():]
    if not truncated and body.endswith(".."):
        double = True
        body = body[:-1]
    parts = _parse_body(body, truncated=truncated)
    pf = parts.postfilter
    note, preemption, not_eligible = pf, None, ""
    cand_node, cand_victims = "", None
    idx = pf.find("preemption:")
    if idx >= 0:
        note = pf[:idx]
        pre = pf[idx + len("preemption:"):].strip()
        found = _PREEMPTION_FOUND.match(pre)
        if pre.startswith("not eligible due to "):
            not_eligible = pre[len("not eligible due to "):].rstrip(".").strip()
            not_eligible = not_eligible.removeprefix("a ")
        elif found is not None:
            cand_node, cand_victims = found.group("node"), int(found.group("victims"))
        elif pre:
            preemption = _parse_fit(pre, pre, truncated=truncated)
    dra_note = note.strip().rstrip(",").strip()
    if not truncated:
        dra_note = dra_note.rstrip(".")
    everything = list(parts.reasons) + ([parts.prefilter] if parts.prefilter else [])
    if preemption is not None:
        everything += list(preemption.reasons)
    band = _version_band(double, truncated, everything, pf, idx >= 0, dra_note)
    if preemption is not None:
        preemption = replace(preemption, format_version=band)
    return FitMessage(
        total_nodes=int(head.group("total")), prefilter=parts.prefilter, reasons=parts.reasons,
        postfilter=pf, preemption=preemption, preemption_not_eligible=not_eligible,
        dra_note=dra_note, format_version=band, truncated=truncated, raw=raw,
        preemption_node=cand_node, preemption_victims=cand_victims,
    )


_PREEMPTION_FOUND = re.compile(
    r"found a potential placement for pod on node (?P<node>\S+), preempting (?P<victims>[0-9]{1,9}) victims")

# Texts accepted without the "0/N nodes are available:" head (no-nodes; very old PreFilter texts).
_BARE_CODES = frozenset({
    "no-nodes", "pvc-not-found", "pvc-deleting", "pvc-bound-to-missing-pv", "ephemeral-pvc-pending",
    "volume-unbound-immediate", "affinity-terms-conflict", "prefilter-conflict", "dra", "pv-not-found",
    "ephemeral-pvc-not-owned", "dra-class-missing", "dra-claim-not-found", "dra-claim-pending",
    "dra-claim-deleting", "dra-claim-not-owned",
})


def parse_fit_message(text: str) -> FitMessage | None:
    """Parse a FailedScheduling / PodScheduled message; None when it is not a scheduler failure.

    Accepts the bare message, a kubectl-describe row or a scheduler log line that contains it.
    Karpenter's "Failed to schedule pod, ..." and "running PreFilter plugin ..." errors come back
    as a FitMessage with one `other` reason and total_nodes None.
    """
    if not isinstance(text, str):
        return None
    return _parse_fit_text(text)


@lru_cache(maxsize=1024)
def _parse_fit_text(text: str) -> FitMessage | None:
    """parse_fit_message of a string, kept for the most recent texts (a pod's event and its
    condition carry the same text, and a Job's pods share theirs): FitMessage is immutable."""
    raw = text
    stripped = text.strip()
    truncated = stripped.endswith(_TRUNC_SUFFIX)
    head = _FIT_HEAD.search(stripped)
    if head is not None:
        body = _strip_wrapping(stripped, head)
        truncated = body.endswith(_TRUNC_SUFFIX)
        if truncated:
            body = body[: -len(_TRUNC_SUFFIX)]
        try:
            return _parse_fit(body, raw, truncated=truncated)
        except (ValueError, IndexError):  # defensive: a malformed text is not worth a crash
            return None
    if stripped.startswith("Failed to schedule pod, "):
        rest = stripped[len("Failed to schedule pod, "):]
        return _single(raw, ReasonCount(None, rest, "other", {"scheduler": "karpenter"}), truncated)
    m = re.match(r"running (?P<point>\w+) plugin \"(?P<plugin>[^\"]+)\": ", stripped)
    if m:
        return _single(raw, ReasonCount(None, stripped[m.end():], "other",
                                        {"error": True, "plugin": m.group("plugin"),
                                         "extension_point": m.group("point")}), truncated)
    code, details = reason_code(stripped.rstrip("."))
    if code in _BARE_CODES:
        return FitMessage(total_nodes=0 if code == "no-nodes" else None,
                          prefilter=ReasonCount(None, stripped.rstrip("."), code, details), reasons=(),
                          postfilter="", preemption=None, preemption_not_eligible="", dra_note="",
                          format_version=FORMAT_UNKNOWN, truncated=truncated, raw=raw)
    return None


def _single(raw: str, reason: ReasonCount, truncated: bool) -> FitMessage:
    return FitMessage(total_nodes=None, prefilter=None, reasons=(reason,), postfilter="", preemption=None,
                      preemption_not_eligible="", dra_note="", format_version=FORMAT_UNKNOWN,
                      truncated=truncated, raw=raw)


# --- cluster-autoscaler -------------------------------------------------------------------------
_CA_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p), c) for p, c in (
        (r"^max node group size reached$", "ca-max-size"),
        (r"^can't increase node group size$", "ca-max-size"),
        (r"^in backoff after failed scale-up$", "ca-backoff"),
        (r"^not ready for scale-up$", "ca-not-ready"),
        (r"^max cluster (?P<resources>.+) limit reached$", "ca-max-resources"),
        (r"^max total nodes in cluster reached$", "ca-max-total-nodes"),
        (r"^at least one node can be vertically scaled$", "ca-vertical"),
    )
)


def ca_reason_code(reason: str) -> tuple[str, dict]:
    """Like reason_code, plus cluster-autoscaler's own skip reasons (CA_CODES)."""
    text = reason.strip()
    for pattern, code in _CA_RULES:
        m = pattern.search(text)
        if m:
            details = {k: v for k, v in m.groupdict().items() if v is not None}
            if "resources" in details:
                details["resources"] = [r.strip() for r in details["resources"].split(",")]
            return code, details
    return reason_code(text)


@dataclass(frozen=True)
class ScaleUpNotTriggered:
    """cluster-autoscaler NotTriggerScaleUp: why no node group could host the pod."""

    reasons: tuple[ReasonCount, ...]  # count = number of NODE GROUPS (order is not stable)
    legacy_format: bool  # "(it wouldn't fit if a new node is added)" form
    raw: str

    def group_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.reasons:
            out[r.code] = out.get(r.code, 0) + (r.count or 0)
        return out


@dataclass(frozen=True)
class ScaleUpGroup:
    group: str
    current_size: int
    new_size: int
    max_size: int


@dataclass(frozen=True)
class ScaleUpTriggered:
    """cluster-autoscaler TriggeredScaleUp: the node groups it grew for the pod."""

    groups: tuple[ScaleUpGroup, ...]
    raw: str


_CA_NOT = re.compile(
    r"pod didn't trigger scale-up(?P<legacy> \(it wouldn't fit if a new node is added\))?:\s*")
_CA_YES = re.compile(r"pod triggered scale-up: \[(?P<body>.*)\]")
_CA_GROUP = re.compile(r"\{(?P<group>[^\s{}]+) (?P<cur>[0-9]{1,20})->(?P<new>[0-9]{1,20}) \(max: (?P<max>[0-9]{1,20})\)\}")


def parse_not_trigger_scale_up(text: str) -> ScaleUpNotTriggered | None:
    """Parse "pod didn't trigger scale-up: 2 node(s) didn't match ..., 1 max node group size reached"."""
    if not isinstance(text, str):
        return None
    m = _CA_NOT.search(text)
    if m is None:
        return None
    rest = text[m.end():].strip().rstrip(".")
    if not rest:
        reasons: tuple[ReasonCount, ...] = ()
    elif _COUNT.match(rest):
        reasons = _histogram(rest, complete=True, code_of=ca_reason_code)
    else:  # a whole-message reason such as "max total nodes in cluster reached"
        code, details = ca_reason_code(rest)
        reasons = (ReasonCount(None, rest, code, details),)
    return ScaleUpNotTriggered(reasons=reasons, legacy_format=bool(m.group("legacy")), raw=text)


def parse_triggered_scale_up(text: str) -> ScaleUpTriggered | None:
    """Parse "pod triggered scale-up: [{group 0->1 (max: 4)} ...]"."""
    if not isinstance(text, str):
        return None
    m = _CA_YES.search(text)
    if m is None:
        return None
    groups = tuple(
        ScaleUpGroup(g.group("group"), int(g.group("cur")), int(g.group("new")), int(g.group("max")))
        for g in _CA_GROUP.finditer(m.group("body")))
    return ScaleUpTriggered(groups=groups, raw=text)


# --- admission rejections inside FailedCreate ---------------------------------------------------
@dataclass(frozen=True)
class QuotaResource:
    """One resource of an "exceeded quota" text; quantities kept as printed."""

    resource: str
    requested: str = ""
    used: str = ""
    limited: str = ""


@dataclass(frozen=True)
class LimitViolation:
    """One LimitRanger violation ("maximum cpu usage per Container is 2, but limit is 4")."""

    resource: str
    scope: str  # Container | Pod | PersistentVolumeClaim
    bound: str  # maximum | minimum | ratio
    allowed: str  # the LimitRange's value
    actual: str  # what the pod asked for; "" when "No limit/request is specified"
    field: str  # limit | request | ratio
    text: str


@dataclass(frozen=True)
class AdmissionFailure:
    """A pod creation refused by admission, as a controller's FailedCreate event reports it."""

    kind: str  # quota-exceeded | quota-must-specify | limit-range | pod-security | other-admission
    message: str  # the apiserver error text, prefixes removed
    pod_name: str = ""  # from 'pods "x" is forbidden' (may be a generateName prefix on old releases)
    statefulset: str = ""  # from "create Pod X in StatefulSet Y failed error: ..."
    quota_name: str = ""
    resources: tuple[QuotaResource, ...] = ()  # quota-exceeded
    missing: tuple[tuple[str, tuple[str, ...]], ...] = ()  # quota-must-specify: (resource, containers)
    limits: tuple[LimitViolation, ...] = ()  # limit-range
    pod_security_level: str = ""
    pod_security_version: str = ""
    violations: tuple[str, ...] = ()  # pod-security checks, "check (detail)"
    combined: bool = False  # "(combined from similar events): " prefix
    raw: str = ""

    @property
    def resource_names(self) -> tuple[str, ...]:
        return tuple(r.resource for r in self.resources) or tuple(r for r, _ in self.missing) or \
            tuple(v.resource for v in self.limits)


_COMBINED = "(combined from similar events): "
_STS = re.compile(r"create Pod (?P<pod>\S+) in StatefulSet (?P<sts>\S+) failed error: ")
_FORBIDDEN = re.compile(r"pods \"(?P<pod>[^\"]*)\" is forbidden: ")
_QUOTA_EXCEEDED = re.compile(
    r"exceeded quota: (?P<name>[^,]+), requested: (?P<req>\S*), used: (?P<used>\S*), limited: (?P<lim>\S*)")
_QUOTA_MUST = re.compile(r"failed quota: (?P<name>[^:]+): must specify (?P<spec>.+)$")
_LIMIT_BOUND = re.compile(
    r"(?P<bound>maximum|minimum) (?P<res>\S+) usage per (?P<scope>\w+) is (?P<allowed>[^,\s]+?)"
    r"(?:, but (?P<field>limit|request) is (?P<actual>[^,\]\s]+)"
    r"|\.\s+No (?P<field2>limit|request) is specified)")
# (?<!\S): start at the beginning of a word, or a long word makes the search quadratic.
_LIMIT_RATIO = re.compile(
    r"(?<!\S)(?P<res>\S+) max limit to request ratio per (?P<scope>\w+) is (?P<allowed>[^,\s]+?), "
    r"but provided ratio is (?P<actual>[0-9.]+\d)")
_PSA = re.compile(r"violates PodSecurity \"(?P<level>[^\":]+):(?P<version>[^\"]+)\": (?P<details>.*)$",
                  re.DOTALL)


def _quota_list(s: str) -> dict[str, str]:
    out = {}
    for part in s.split(","):
        name, sep, qty = part.partition("=")
        if sep and name:
            out[name.strip()] = qty.strip()
    return out


def parse_admission_failure(text: str) -> AdmissionFailure | None:
    """Parse a FailedCreate message (ReplicaSet/Job/DaemonSet/StatefulSet) or a bare apiserver error.

    Returns None when the text is not an admission refusal.
    """
    if not isinstance(text, str):
        return None
    raw, s = text, text.strip()
    combined = _COMBINED in s
    if combined:
        s = s[s.index(_COMBINED) + len(_COMBINED):]
    statefulset = pod_name = ""
    idx = s.find("Error creating: ")
    if idx >= 0:
        s = s[idx + len("Error creating: "):]
    m = _STS.search(s)
    if m:
        pod_name, statefulset = m.group("pod"), m.group("sts")
        s = s[m.end():]
    m = _FORBIDDEN.search(s)
    if m:
        pod_name = m.group("pod")
        s_tail = s[m.end():]
    else:
        s_tail = s
    base: dict[str, Any] = {"message": s, "pod_name": pod_name, "statefulset": statefulset,
                            "combined": combined, "raw": raw}

    q = _QUOTA_EXCEEDED.search(s_tail)
    if q:
        req, used, lim = (_quota_list(q.group(g)) for g in ("req", "used", "lim"))
        names = sorted(set(req) | set(used) | set(lim))
        res = tuple(QuotaResource(n, req.get(n, ""), used.get(n, ""), lim.get(n, "")) for n in names)
        return AdmissionFailure(kind="quota-exceeded", quota_name=q.group("name").strip(), resources=res,
                                **base)
    q = _QUOTA_MUST.search(s_tail)
    if q:
        missing = []
        for group in q.group("spec").split("; "):
            res_name, sep, containers = group.partition(" for: ")
            if sep:
                missing.append((res_name.strip(), tuple(c for c in containers.strip().split(",") if c)))
            else:  # older releases listed only the resources: "must specify limits.cpu,limits.memory"
                missing.extend((r.strip(), ()) for r in res_name.split(",") if r.strip())
        return AdmissionFailure(kind="quota-must-specify", quota_name=q.group("name").strip(),
                                missing=tuple(missing), **base)
    limits = []
    for lm in _LIMIT_BOUND.finditer(s_tail):
        limits.append(LimitViolation(
            resource=lm.group("res"), scope=lm.group("scope"), bound=lm.group("bound"),
            allowed=lm.group("allowed"), actual=(lm.group("actual") or "").rstrip("."),
            field=lm.group("field") or lm.group("field2") or "", text=lm.group(0)))
    for lm in _LIMIT_RATIO.finditer(s_tail):
        limits.append(LimitViolation(resource=lm.group("res"), scope=lm.group("scope"), bound="ratio",
                                     allowed=lm.group("allowed"), actual=lm.group("actual"), field="ratio",
                                     text=lm.group(0)))
    if limits:
        return AdmissionFailure(kind="limit-range", limits=tuple(limits), **base)
    p = _PSA.search(s_tail)
    if p:
        details = p.group("details")
        masked = _mask(details, "()")
        checks, start = [], 0
        for sep in re.finditer(r", ", masked):
            checks.append(details[start:sep.start()].strip())
            start = sep.end()
        checks.append(details[start:].strip())
        return AdmissionFailure(kind="pod-security", pod_security_level=p.group("level"),
                                pod_security_version=p.group("version"),
                                violations=tuple(c for c in checks if c), **base)
    if m or idx >= 0 or statefulset or "is forbidden" in s:
        return AdmissionFailure(kind="other-admission", **base)
    return None


# --- Preempted / Nominated ------------------------------------------------------------------------
@dataclass(frozen=True)
class PreemptedBy:
    """`Preempted` on a victim pod: who took its place and where."""

    preemptor: str  # a pod uid (current) or "namespace/name" (older releases)
    node: str
    preemptor_is_uid: bool
    raw: str


@dataclass(frozen=True)
class Nominated:
    """Karpenter `Nominated`: the NodeClaim (and node, once registered) meant for the pod."""

    nodeclaim: str
    node: str
    raw: str


_PREEMPTED = re.compile(r"Preempted by (?:pod )?(?P<who>\S+) on node (?P<node>\S+)")
_NOMINATED = re.compile(r"Pod should schedule on: nodeclaim/(?P<claim>[^,\s]+)(?:, node/(?P<node>\S+))?")


def parse_preempted(text: str) -> PreemptedBy | None:
    """Parse "Preempted by pod <uid> on node <node>" (or the older "Preempted by ns/name on node ...")."""
    if not isinstance(text, str):
        return None
    m = _PREEMPTED.search(text)
    if m is None:
        return None
    who = m.group("who")
    return PreemptedBy(preemptor=who, node=m.group("node").rstrip("."), preemptor_is_uid="/" not in who,
                       raw=text)


def parse_nominated(text: str) -> Nominated | None:
    """Parse Karpenter's "Pod should schedule on: nodeclaim/X[, node/Y]"."""
    if not isinstance(text, str):
        return None
    m = _NOMINATED.search(text)
    if m is None:
        return None
    return Nominated(nodeclaim=m.group("claim"), node=m.group("node") or "", raw=text)


__all__ = [
    "CA_CODES", "CODES", "FORMAT_125_127", "FORMAT_128", "FORMAT_NOKEY_TAINT", "FORMAT_PRE_125",
    "FORMAT_UNKNOWN", "AdmissionFailure", "FitMessage", "LimitViolation", "Nominated", "PreemptedBy",
    "QuotaResource", "ReasonCount", "ScaleUpGroup", "ScaleUpNotTriggered", "ScaleUpTriggered",
    "ca_reason_code", "parse_admission_failure", "parse_fit_message", "parse_nominated",
    "parse_not_trigger_scale_up", "parse_preempted", "parse_triggered_scale_up", "reason_code",
]
