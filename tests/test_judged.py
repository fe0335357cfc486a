"""Offline snapshots are judged at their own time (podtriage.judged): ages, 'pending for', event
recency and staleness are measured to when the snapshot was taken, not to the wall clock."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import yaml

from podtriage.analyze import Explainer
from podtriage.judged import CAPTURED, NEWEST, WALL_CLOCK, judgement_time
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules
from podtriage.snapshot import SnapshotBuilder

CASE = Path(__file__).parent.parent / "fixtures" / "cases" / "taint-effect-mismatch.yaml"


def _objects() -> list[dict]:
    return [d for d in yaml.safe_load_all(CASE.read_text()) if isinstance(d, dict) and d.get("kind") != "PodtriageExpectation"]


def test_a_kubectl_dump_is_judged_at_its_newest_timestamp(tmp_path: Path) -> None:
    # The case's pod was created at 10:00; kubelet's last heartbeat, at 10:14:31, is the newest
    # time in the dump. Read weeks later, the pod is 14 minutes old, not weeks.
    snap = load_path(CASE)
    when, source = judgement_time(snap)
    assert (when, source) == (datetime(2026, 11, 20, 10, 14, 31, tzinfo=timezone.utc), NEWEST)
    report = Explainer(snap, load_rules()).explain("etl-0", "default")
    assert report.pods[0].age == "14m"
    assert report.source["judgedAt"] == "2026-11-20T10:14:31Z" and report.source["judgedAtFrom"] == NEWEST
    assert report.generated > report.source["judgedAt"]  # the document itself is dated now
    assert not [m for m in report.missing if "expired" in m]  # events 14 minutes old have not expired


def test_a_ninety_minute_old_pod_with_old_events_is_ninety_minutes_old(tmp_path: Path) -> None:
    objs = _objects()
    for o in objs:
        if o["kind"] == "Node":
            for c in o["status"]["conditions"]:
                c["lastHeartbeatTime"] = "2026-11-20T11:30:00Z"  # the dump was taken 90 minutes in
    p = tmp_path / "dump.json"
    p.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
    report = Explainer(load_path(p), load_rules()).explain("etl-0", "default")
    assert report.pods[0].age == "90m"


def test_a_podtriage_snapshot_is_judged_at_its_capture_time(tmp_path: Path) -> None:
    b = SnapshotBuilder(source=str(tmp_path / "s.json"))
    for o in _objects():
        b.add(o)
    for kind in ("Node", "Pod", "Event"):
        b.mark_collected(kind)
    snap = b.build(created="2026-11-20T12:00:00Z")
    assert judgement_time(snap) == (datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc), CAPTURED)
    assert Explainer(snap, load_rules()).explain("etl-0", "default").pods[0].age == "2h0m"


def test_no_timestamps_at_all_is_judged_now() -> None:
    snap = SnapshotBuilder(source="x").build()
    wall = datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert judgement_time(snap, wall) == (wall, WALL_CLOCK)
