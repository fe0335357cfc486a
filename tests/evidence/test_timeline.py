"""podtriage.evidence.timeline: ordering, counts, condition preference, scheduler comparison."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from podtriage import convert
from podtriage.evidence.messages import ScaleUpNotTriggered, parse_fit_message
from podtriage.evidence.timeline import TOTAL_NODES, build_timeline, compare_counts
from podtriage.model import Event, Pod
from podtriage.snapshot import SnapshotBuilder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "messages"


def _load(name: str) -> tuple[Pod, list[Event], list[dict]]:
    items = yaml.safe_load((FIXTURES / name).read_text())["items"]
    pod = convert.pod(items[0])
    events = [convert.event(i) for i in items[1:]]
    return pod, events, items


@pytest.fixture
def web0() -> tuple[Pod, list[Event], list[dict]]:
    return _load("timeline-web-0.yaml")


def _fit(entry_id: str) -> str:
    data = yaml.safe_load((FIXTURES / "fit_errors.yaml").read_text())
    return next(e["text"] for e in data["fit_errors"] if e["id"] == entry_id)


# --- build_timeline ------------------------------------------------------------------------------
def test_attempts_oldest_first_with_counts(web0) -> None:
    pod, events, _ = web0
    tl = build_timeline(pod, events)
    assert [a.event_uid for a in tl.attempts] == ["e1", "e2", "e3"]
    assert [a.count for a in tl.attempts] == [5, 12, 1]
    assert tl.total_attempts == 18
    first = tl.attempts[0]
    assert first.first_seen.startswith("2025-06-01T10:00:00")
    assert first.last_seen.startswith("2025-06-01T10:04:00")
    assert first.message is not None and first.message.prefilter is not None
    assert first.message.prefilter.code == "pvc-not-found"
    assert first.source == "default-scheduler" and first.event_name == "web-0.1843a1"


def test_latest_is_most_recently_seen(web0) -> None:
    pod, events, _ = web0
    tl = build_timeline(pod, events)
    # e3 (karpenter) started last, but e2 was seen last (10:20 > 10:10).
    assert tl.latest is not None and tl.latest.event_uid == "e2"
    assert tl.latest.message is not None
    assert tl.latest.message.node_counts() == {"taint": 1, "insufficient": 2}


def test_other_pods_and_older_namesakes_are_ignored(web0) -> None:
    pod, events, _ = web0
    tl = build_timeline(pod, events)
    uids = {a.event_uid for a in tl.attempts} | {e.uid for e in tl.other_events}
    assert "e5" not in uids  # about web-1
    assert tl.scheduled_event is None  # the Scheduled event belongs to an older pod with the same name
    assert not tl.is_scheduled


def test_other_events_oldest_first(web0) -> None:
    pod, events, _ = web0
    tl = build_timeline(pod, events)
    assert [e.reason for e in tl.other_events] == ["SuccessfulCreate", "NotTriggerScaleUp"]


def test_autoscaler_and_admission_events(web0) -> None:
    pod, events, _ = web0
    failed_create = Event(
        namespace="shop", name="web.1", uid="fc", type="Warning", reason="FailedCreate",
        source="statefulset-controller", first_timestamp="2025-06-01T09:59:00Z",
        last_timestamp="2025-06-01T09:59:00Z",
        message='create Pod web-0 in StatefulSet web failed error: pods "web-0" is forbidden: '
                "exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=2, "
                "limited: requests.cpu=2")
    tl = build_timeline(pod, [*events, failed_create])
    ca = tl.autoscaler_events()
    assert len(ca) == 1 and ca[0][0].uid == "e4"
    not_triggered = ca[0][1]
    assert isinstance(not_triggered, ScaleUpNotTriggered)
    assert not_triggered.group_counts() == {"node-affinity": 2, "insufficient": 1, "ca-max-size": 1}
    adm = tl.admission_failures()
    assert len(adm) == 1 and adm[0][1].kind == "quota-exceeded" and adm[0][1].statefulset == "web"


def test_schedulers_in_first_seen_order(web0) -> None:
    pod, events, _ = web0
    assert build_timeline(pod, events).schedulers == ("default-scheduler", "karpenter")


def test_condition_is_preferred(web0) -> None:
    pod, events, _ = web0
    tl = build_timeline(pod, events)
    assert tl.pod_scheduled is not None and tl.pod_scheduled.reason == "Unschedulable"
    assert tl.condition_message is not None
    assert tl.best_message() is tl.condition_message


def test_without_condition_best_is_latest_scheduler_message(web0) -> None:
    pod, events, _ = web0
    tl = build_timeline(replace(pod, conditions=()), events)
    assert tl.condition_message is None
    best = tl.best_message()
    assert best is not None and best is tl.latest.message  # type: ignore[union-attr]
    # A Karpenter text that is seen later does not replace the scheduler's FitError.
    later = replace(events[3], last_timestamp="2025-06-01T11:00:00Z", first_timestamp="2025-06-01T11:00:00Z")
    tl2 = build_timeline(replace(pod, conditions=()), [*events[:3], later, *events[4:]])
    assert tl2.latest is not None and tl2.latest.source == "karpenter"
    best2 = tl2.best_message()
    assert best2 is not None and best2.total_nodes == 3


def test_truncated_event_vs_full_condition() -> None:
    pod, events, _ = _load("timeline-truncated.yaml")
    tl = build_timeline(pod, events)
    assert tl.latest is not None and tl.latest.message is not None and tl.latest.message.truncated
    assert tl.latest.source == "default-scheduler"
    assert tl.schedulers == ("my-scheduler", "default-scheduler")
    best = tl.best_message()
    assert best is not None and not best.truncated
    assert best.node_counts() == {"taint": 30, "insufficient": 2}
    assert tl.total_attempts == 35


def test_scheduled_event_is_found() -> None:
    pod = Pod(namespace="shop", name="api-0", uid="u1")
    ev = [
        Event(namespace="shop", name="a", uid="1", reason="FailedScheduling", source="default-scheduler",
              message=_fit("sched.fit.toomanypods/example"),
              first_timestamp="2025-06-01T10:00:00Z", last_timestamp="2025-06-01T10:02:00Z", count=3),
        Event(namespace="shop", name="b", uid="2", reason="Scheduled", source="default-scheduler",
              message="Successfully assigned shop/api-0 to worker-2",
              first_timestamp="2025-06-01T10:03:00Z", last_timestamp="2025-06-01T10:03:00Z"),
        Event(namespace="shop", name="c", uid="3", reason="Pulling", source="kubelet",
              message='Pulling image "nginx:1.27"',
              first_timestamp="2025-06-01T10:03:01Z", last_timestamp="2025-06-01T10:03:01Z"),
    ]
    tl = build_timeline(pod, list(reversed(ev)))
    assert tl.scheduled_event is not None and tl.scheduled_event.uid == "2"
    assert tl.is_scheduled
    assert [e.uid for e in tl.other_events] == ["3"]
    assert tl.total_attempts == 3


def test_empty_timeline() -> None:
    tl = build_timeline(Pod(namespace="a", name="b"), [])
    assert tl.attempts == () and tl.latest is None and tl.total_attempts == 0
    assert tl.best_message() is None and tl.schedulers == ()


def test_with_snapshot_events_for(web0) -> None:
    _, _, items = web0
    b = SnapshotBuilder(source="test")
    b.add_all(items)
    snap = b.build()
    pod = snap.pod_by_key["shop/web-0"]
    tl = build_timeline(pod, snap.events_for("Pod", pod.namespace, pod.name, pod.uid))
    assert [a.event_uid for a in tl.attempts] == ["e1", "e2", "e3"]
    assert tl.scheduled_event is None


# --- compare_counts ------------------------------------------------------------------------------
def test_compare_agrees() -> None:
    msg = parse_fit_message(_fit("sched.fiterror.format/example"))
    assert msg is not None
    assert compare_counts(msg, {"taint": 1, "insufficient": 2}, 3) == []


def test_compare_total_nodes_differs() -> None:
    msg = parse_fit_message(_fit("sched.fiterror.format/example"))
    assert msg is not None
    out = compare_counts(msg, {"taint": 1, "insufficient": 3}, 4)
    total = next(d for d in out if d.code == TOTAL_NODES)
    assert (total.scheduler_count, total.our_count) == (3, 4)
    assert "the cluster has 4 nodes now, the scheduler saw 3" in total.note
    ins = next(d for d in out if d.code == "insufficient")
    assert "stale event" in ins.note


def test_compare_taints_as_sum() -> None:
    msg = parse_fit_message(_fit("constructed/two-taints-slash-key"))
    assert msg is not None
    assert compare_counts(msg, {"taint": 5}, 5) == []
    out = compare_counts(msg, {"taint": 4, "node-affinity": 1}, 5)
    assert {d.code for d in out} == {"taint", "node-affinity"}
    taint = next(d for d in out if d.code == "taint")
    assert (taint.scheduler_count, taint.our_count) == (5, 4)
    assert "sum over all taints" in taint.note
    aff = next(d for d in out if d.code == "node-affinity")
    assert aff.scheduler_count is None and "did not report" in aff.note


def test_compare_taints_without_keys_note() -> None:
    msg = parse_fit_message(_fit("sched.taint.untolerated_nokey/example"))
    assert msg is not None
    out = compare_counts(msg, {"taint": 2, "insufficient": 1}, 3)
    taint = next(d for d in out if d.code == "taint")
    assert "names no taint keys" in taint.note


def test_compare_insufficient_counts_reasons_not_nodes() -> None:
    msg = parse_fit_message(_fit("constructed/multi-insufficient"))  # 3 cpu + 3 memory on 3 nodes
    assert msg is not None
    assert compare_counts(msg, {"insufficient": 3}, 3) == []
    out = compare_counts(msg, {"insufficient": 1, "taint": 2}, 3)
    ins = next(d for d in out if d.code == "insufficient")
    assert ins.scheduler_count == 6 and ins.our_count == 1 and "3..3" in ins.note
    per_res = compare_counts(msg, {"insufficient:cpu": 3, "insufficient:memory": 2}, 3)
    assert [(d.code, d.scheduler_count, d.our_count) for d in per_res] == [("insufficient:memory", 3, 2)]


def test_compare_absent_nodes_folded_into_plugin_code() -> None:
    msg = parse_fit_message(_fit("sched.fiterror.absent_nodes/example"))
    assert msg is not None
    assert compare_counts(msg, {"too-many-pods": 1, "node-affinity": 45}, 46) == []
    out = compare_counts(msg, {"too-many-pods": 1, "node-affinity": 44, "taint": 1}, 46)
    aff = next(d for d in out if d.code == "node-affinity")
    assert "filtered out by NodeAffinity's PreFilter" in aff.note
    # If podtriage reports absent nodes itself, they are compared as they are.
    assert compare_counts(msg, {"too-many-pods": 1, "absent-nodes": 45}, 46) == []


def test_compare_prefilter_counts_every_node() -> None:
    msg = parse_fit_message(_fit("sched.vb.pvc_not_found/example"))
    assert msg is not None
    assert compare_counts(msg, {"pvc-not-found": 3}, 3) == []


def test_compare_truncated_and_unknown_reasons() -> None:
    cut = parse_fit_message((FIXTURES / "truncated-event.txt").read_text().strip())
    assert cut is not None
    out = compare_counts(cut, {"taint": 30, "insufficient": 2}, 32)
    assert {d.code for d in out} == {"taint", "insufficient"}
    assert all("truncated" in d.note for d in out)
    other = parse_fit_message("0/2 nodes are available: 2 node(s) failed the acme.io/GpuHealth check.")
    assert other is not None
    out2 = compare_counts(other, {"insufficient": 2}, 2)
    assert any("other plugins" in d.note for d in out2)
