"""The event timeline of one pod: every scheduling attempt, the PodScheduled condition, the rest.

The apiserver deduplicates events: one FailedScheduling event with `count` 12 and first/last
timestamps stands for twelve attempts with the same message. A changed message starts a new
event, so the list of events is the history of *why* the pod did not fit, oldest first.

`compare_counts` sets the scheduler's own histogram against podtriage's per-node evaluation and
says where, and probably why, they disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from ..model import Condition, Event, Pod
from .messages import (
    FORMAT_NOKEY_TAINT,
    AdmissionFailure,
    FitMessage,
    ScaleUpNotTriggered,
    ScaleUpTriggered,
    parse_admission_failure,
    parse_fit_message,
    parse_not_trigger_scale_up,
    parse_triggered_scale_up,
)


@dataclass(frozen=True)
class SchedulingAttempt:
    """One FailedScheduling event: `count` attempts with the same message between first and last seen."""

    event_uid: str
    event_name: str
    source: str  # reporting controller: "default-scheduler", a profile name, "karpenter", ...
    first_seen: str
    last_seen: str
    count: int
    message: FitMessage | None
    raw_message: str


@dataclass(frozen=True)
class Timeline:
    """Everything the events and the PodScheduled condition say about one pod, oldest first."""

    attempts: tuple[SchedulingAttempt, ...]  # oldest first, every FailedScheduling event
    latest: SchedulingAttempt | None  # the most recently seen attempt (largest last_seen)
    pod_scheduled: Condition | None  # PodScheduled condition (status/reason/message)
    condition_message: FitMessage | None  # parsed PodScheduled message (never truncated)
    scheduled_event: Event | None  # "Scheduled" / "Successfully assigned ..." (the latest one)
    other_events: tuple[Event, ...]  # everything else about the pod, oldest first (kubelet etc.)
    total_attempts: int  # sum of counts
    schedulers: tuple[str, ...]  # sources of FailedScheduling/Scheduled events, first seen first

    def best_message(self) -> FitMessage | None:
        """The condition message if present (full text), else the latest event's."""
        if self.condition_message is not None:
            return self.condition_message
        # Prefer a real kube-scheduler FitError over e.g. a later Karpenter FailedScheduling text.
        for attempt in sorted(self.attempts, key=lambda a: _ts(a.last_seen), reverse=True):
            if attempt.message is not None and attempt.message.total_nodes is not None:
                return attempt.message
        return self.latest.message if self.latest else None

    def admission_failures(self) -> tuple[tuple[Event, AdmissionFailure], ...]:
        """FailedCreate events among other_events (when workload events were passed in), parsed."""
        out = []
        for e in self.other_events:
            if e.reason == "FailedCreate":
                parsed = parse_admission_failure(e.message)
                if parsed is not None:
                    out.append((e, parsed))
        return tuple(out)

    def autoscaler_events(self) -> tuple[tuple[Event, ScaleUpNotTriggered | ScaleUpTriggered], ...]:
        """cluster-autoscaler NotTriggerScaleUp / TriggeredScaleUp events, parsed, oldest first."""
        out: list[tuple[Event, ScaleUpNotTriggered | ScaleUpTriggered]] = []
        for e in self.other_events:
            parsed: ScaleUpNotTriggered | ScaleUpTriggered | None = None
            if e.reason == "NotTriggerScaleUp":
                parsed = parse_not_trigger_scale_up(e.message)
            elif e.reason == "TriggeredScaleUp":
                parsed = parse_triggered_scale_up(e.message)
            if parsed is not None:
                out.append((e, parsed))
        return tuple(out)

    @property
    def is_scheduled(self) -> bool:
        return (self.pod_scheduled is not None and self.pod_scheduled.status == "True") or \
            self.scheduled_event is not None


_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _ts(value: str) -> datetime:
    """RFC 3339 (with or without fractions) -> datetime; unknown or empty sorts first."""
    if not value:
        return _EPOCH
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _about_other_pod(pod: Pod, event: Event) -> bool:
    inv = event.involved
    if inv is None or inv.kind != "Pod":
        return False
    if inv.name and inv.name != pod.name:
        return True
    if inv.namespace and pod.namespace and inv.namespace != pod.namespace:
        return True
    return bool(inv.uid and pod.uid and inv.uid != pod.uid)


def _is_scheduled_event(e: Event) -> bool:
    return e.reason == "Scheduled" or e.message.startswith("Successfully assigned ")


def build_timeline(pod: Pod, events: Sequence[Event]) -> Timeline:
    """Order the pod's events and pick out scheduling attempts, the Scheduled event and the condition.

    `events` are normally `snapshot.events_for("Pod", ns, name, uid)`; events about another pod
    (other name, or an older namesake's uid) are ignored, events about the pod's workload are kept
    in `other_events`.
    """
    indexed = [(i, e) for i, e in enumerate(events) if not _about_other_pod(pod, e)]
    indexed.sort(key=lambda ie: (_ts(ie[1].first_timestamp or ie[1].last_timestamp),
                                 _ts(ie[1].last_timestamp or ie[1].first_timestamp), ie[0]))
    ordered = [e for _, e in indexed]

    attempts: list[SchedulingAttempt] = []
    scheduled: list[Event] = []
    others: list[Event] = []
    schedulers: dict[str, None] = {}
    for e in ordered:
        if e.reason == "FailedScheduling":
            attempts.append(SchedulingAttempt(
                event_uid=e.uid, event_name=e.name, source=e.source,
                first_seen=e.first_timestamp or e.last_timestamp,
                last_seen=e.last_timestamp or e.first_timestamp,
                count=max(e.count, 1), message=parse_fit_message(e.message), raw_message=e.message))
            if e.source:
                schedulers.setdefault(e.source, None)
        elif _is_scheduled_event(e):
            scheduled.append(e)
            if e.source:
                schedulers.setdefault(e.source, None)
        else:
            others.append(e)

    latest = None
    if attempts:
        # Most recently seen wins; on a tie the later one in timeline order.
        latest = max(enumerate(attempts), key=lambda ia: (_ts(ia[1].last_seen), ia[0]))[1]
    cond = pod.condition("PodScheduled")
    cond_msg = parse_fit_message(cond.message) if cond is not None and cond.message else None
    return Timeline(
        attempts=tuple(attempts), latest=latest, pod_scheduled=cond, condition_message=cond_msg,
        scheduled_event=scheduled[-1] if scheduled else None, other_events=tuple(others),
        total_attempts=sum(a.count for a in attempts), schedulers=tuple(schedulers),
    )


# --- scheduler vs podtriage -------------------------------------------------------------------
@dataclass(frozen=True)
class Disagreement:
    """A code whose node count differs between the scheduler's message and podtriage's evaluation."""

    code: str  # a reason code, or "total-nodes"
    scheduler_count: int | None
    our_count: int | None
    note: str


TOTAL_NODES = "total-nodes"
# Preemption candidates are not part of the Filter histogram.
_NOT_COMPARED = frozenset({"preemption-not-helpful", "no-preemption-victims"})


def _explain(scheduler: FitMessage, total_differs: bool, code: str) -> str:
    hints = []
    if total_differs:
        hints.append("stale event: the cluster changed since the scheduler's attempt")
    if scheduler.truncated and code != TOTAL_NODES:
        hints.append("the event text was truncated at 1024 characters; the PodScheduled condition has "
                     "the full histogram")
    if "other" in scheduler.codes():
        hints.append("a scheduler with other plugins (custom profile or out-of-tree plugins) printed "
                     "reasons podtriage does not emulate")
    if not hints:
        hints.append("the first failing filter differs: the scheduler's profile (plugin order/args) "
                     "or the objects changed between the attempt and this snapshot")
    return "; ".join(hints)


def compare_counts(scheduler: FitMessage, ours: Mapping[str, int],
                   total_nodes_ours: int) -> list[Disagreement]:
    """Compare the scheduler's per-code node counts with podtriage's (first failing filter per node).

    `ours` maps the same codes to node counts. Rules: taint counts are compared as one sum over all
    taints (texts without keys allow nothing finer); `insufficient` counts in the scheduler's text
    count reasons, not nodes (a node short of cpu and memory counts twice), so ours agrees when it
    lies between the largest single-resource count and min(sum, N) - or per resource when `ours`
    has "insufficient:<resource>" keys; nodes counted as "didn't satisfy plugin(s) [NodeAffinity]"
    are folded into that plugin's code unless `ours` reports absent-nodes itself.
    """
    out: list[Disagreement] = []
    total_differs = scheduler.total_nodes is not None and scheduler.total_nodes != total_nodes_ours
    if total_differs:
        out.append(Disagreement(
            TOTAL_NODES, scheduler.total_nodes, total_nodes_ours,
            f"the cluster has {total_nodes_ours} nodes now, the scheduler saw {scheduler.total_nodes}; "
            "stale event: nodes were added or removed since the attempt (or the scheduler does not see "
            "every node, e.g. a different scheduler's view)"))

    sched = {k: v for k, v in scheduler.node_counts().items() if k not in _NOT_COMPARED}
    mine = {k: v for k, v in ours.items() if k not in _NOT_COMPARED}
    folded_note: dict[str, str] = {}
    if "absent-nodes" in sched and "absent-nodes" not in mine:
        for r in scheduler.reasons_for("absent-nodes"):
            plugins = r.details.get("plugins", [])
            target = _PLUGIN_TO_CODE.get(plugins[0]) if len(plugins) == 1 else None
            if target is None or r.count is None:
                continue
            sched[target] = sched.get(target, 0) + r.count
            sched["absent-nodes"] -= r.count
            folded_note[target] = (f"includes {r.count} node(s) the scheduler reported as "
                                   f"\"{r.reason}\" (filtered out by {plugins[0]}'s PreFilter)")
        if sched.get("absent-nodes") == 0:
            del sched["absent-nodes"]

    per_resource = any(k.startswith("insufficient:") for k in mine)
    if per_resource:
        for r in scheduler.reasons_for("insufficient"):
            key = f"insufficient:{r.details.get('resource', '')}"
            sched[key] = sched.get(key, 0) + (r.count or 0)
        sched.pop("insufficient", None)
        mine = {k: v for k, v in mine.items() if k != "insufficient"}

    no_key_taints = scheduler.format_version == FORMAT_NOKEY_TAINT or any(
        r.code == "taint" and "taint_key" not in r.details for r in scheduler.reasons)

    for code in sorted(set(sched) | set(mine)):
        s, o = sched.get(code), mine.get(code)
        if code == "insufficient" and not per_resource and s is not None and o is not None:
            counts = [r.count or 0 for r in scheduler.reasons_for("insufficient")]
            low, high = max(counts, default=0), min(sum(counts), scheduler.total_nodes or sum(counts))
            if low <= o <= high:
                continue
            note = (f"the scheduler's Insufficient counts imply {low}..{high} node(s), podtriage found {o}; "
                    + _explain(scheduler, total_differs, code))
            out.append(Disagreement(code, s, o, note))
            continue
        if (s or 0) == (o or 0):
            continue
        parts = []
        if code in folded_note:
            parts.append(folded_note[code])
        if code == "taint":
            parts.append("compared as the sum over all taints" +
                         (" (the scheduler's text names no taint keys, so only the total can be compared)"
                          if no_key_taints else ""))
        if s is None:
            parts.append("the scheduler did not report this reason")
        elif o is None:
            parts.append("podtriage did not find this reason")
        parts.append(_explain(scheduler, total_differs, code))
        out.append(Disagreement(code, s, o, "; ".join(parts)))
    return out


_PLUGIN_TO_CODE = {"NodeAffinity": "node-affinity", "VolumeBinding": "volume-node-affinity",
                   "NodeName": "node-name"}

__all__ = ["TOTAL_NODES", "Disagreement", "SchedulingAttempt", "Timeline", "build_timeline", "compare_counts"]
