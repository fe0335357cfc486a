"""When a snapshot is judged: ages, "pending for", event recency and staleness are measured to it.

An offline snapshot is judged at its own time, not at the wall clock: a pod 90 minutes old when the
snapshot was taken is 90 minutes old when the file is read a week later. The time is, in order:
the capture time a podtriage snapshot records (`podtriage snapshot`, or the API server's clock for
a live read), else the newest timestamp the objects hold (a `kubectl get -o yaml` dump records no
capture time, but kubelet and the controllers stamp conditions and events up to the moment it was
taken), else now.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from .diagnose.status import parse_time
from .snapshot import Snapshot

CAPTURED = "the snapshot's capture time"
SERVER_CLOCK = "the API server's clock"
NEWEST = "the newest timestamp in the input (it records no capture time)"
WALL_CLOCK = "now (the input holds no timestamps)"


def _timestamps(snap: Snapshot) -> Iterable[str]:
    for e in snap.events:
        yield e.last_timestamp
        yield e.first_timestamp
    for n in snap.nodes:
        yield n.last_heartbeat
        yield n.creation_timestamp
        for c in n.conditions:
            yield c.last_transition_time
    for p in snap.pods:
        yield p.creation_timestamp
        for c in p.conditions:
            yield c.last_transition_time
        for s in (*p.container_statuses, *p.init_container_statuses):
            yield s.started_at
            yield s.finished_at


def newest_timestamp(snap: Snapshot) -> datetime | None:
    """The latest time any object of the snapshot was stamped with."""
    newest: datetime | None = None
    seen: set[str] = set()
    for ts in _timestamps(snap):
        if not ts or ts in seen:
            continue
        seen.add(ts)
        t = parse_time(ts)
        if t is None:
            continue
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
        if newest is None or t > newest:
            newest = t
    return newest


def judgement_time(snap: Snapshot, wall: datetime | None = None) -> tuple[datetime, str]:
    """(when the snapshot is judged, where that time comes from)."""
    wall = wall or datetime.now(timezone.utc)
    t = parse_time(snap.meta.created)
    if t is not None:
        if t.tzinfo is None:
            t = t.replace(tzinfo=timezone.utc)
        return t, SERVER_CLOCK if snap.meta.source == "live" else CAPTURED
    newest = newest_timestamp(snap)
    if newest is not None:
        return newest, NEWEST
    return wall, WALL_CLOCK


__all__ = ["CAPTURED", "NEWEST", "SERVER_CLOCK", "WALL_CLOCK", "judgement_time", "newest_timestamp"]
