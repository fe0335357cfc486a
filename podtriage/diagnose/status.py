"""The STATUS column `kubectl get pods` prints, derived the way kubectl derives it, and ages."""

from __future__ import annotations

from datetime import datetime, timezone

from .. import model as m


def kubectl_status(pod: m.Pod) -> str:
    reason = pod.reason or pod.phase
    if pod.scheduling_gates and not pod.node_name:
        return "SchedulingGated"
    initializing = False
    n_init = len(pod.init_containers)
    sidecars = {c.name for c in pod.init_containers if c.restart_policy == "Always"}
    for i, st in enumerate(pod.init_container_statuses):
        if st.state == "terminated" and st.exit_code == 0:
            continue
        if st.name in sidecars and st.started:
            continue
        if st.state == "terminated":
            if st.reason:
                reason = f"Init:{st.reason}"
            elif st.exit_code is not None:
                reason = f"Init:ExitCode:{st.exit_code}"
            else:
                reason = "Init:Error"
        elif st.state == "waiting" and st.reason and st.reason != "PodInitializing":
            reason = f"Init:{st.reason}"
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break
    if not initializing:
        has_running = False
        for st in reversed(pod.container_statuses):
            if st.state == "waiting" and st.reason:
                reason = st.reason
            elif st.state == "terminated" and st.reason:
                reason = st.reason
            elif st.state == "terminated":
                reason = f"ExitCode:{st.exit_code}" if st.exit_code is not None else reason
            elif st.state == "running" and st.ready:
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running"
    if pod.deletion_timestamp:
        reason = "Terminating"
    return reason


def parse_time(ts: str) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h{(s % 3600) // 60}m" if s < 36000 else f"{s // 3600}h"
    return f"{s // 86400}d"


def age(ts: str, now: datetime | None = None) -> str:
    t = parse_time(ts)
    if t is None:
        return ""
    now = now or datetime.now(timezone.utc)
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return human_duration((now - t).total_seconds())


def age_seconds(ts: str, now: datetime) -> float | None:
    """Seconds from the RFC 3339 time `ts` to `now` (None when `ts` is empty or unparsable)."""
    t = parse_time(ts)
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return (now - t).total_seconds()
