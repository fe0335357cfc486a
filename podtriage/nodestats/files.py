"""Reading one cgroup's memory controller files, cgroup v1 and v2.

Every reader returns None for a value it cannot get and records why in a `Problems` collector; a
missing or garbled file never raises. Which file each field comes from:

    field     cgroup v1                                 cgroup v2
    limit     memory.limit_in_bytes (~LONG_MAX = null)  memory.max ("max" = null)
    usage     memory.usage_in_bytes                     memory.current
    peak      memory.max_usage_in_bytes                 memory.peak (kernel >= 5.19)
    failcnt   memory.failcnt                            memory.events "max" (times usage hit memory.max)
    oom       (not exposed: null)                       memory.events "oom"
    oomKill   memory.oom_control "oom_kill" (>= 4.13)   memory.events "oom_kill"
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

# cgroup v1 reports "no limit" as LONG_MAX rounded down to the page size (9223372036854771712 with
# 4 KiB pages, a little less with 64 KiB pages). Nothing real is anywhere near 2**60 bytes (1 EiB).
V1_UNLIMITED_THRESHOLD = 2**60
U64 = 2**64  # memory files hold unsigned 64-bit values

# Why a value is missing, grouped so that "memory.peak absent in 40 cgroups" is one warning, not 40.
REASON_MISSING = "missing"
REASON_UNREADABLE = "unreadable"
REASON_UNPARSEABLE = "unparseable"
REASON_FIELD_ABSENT = "field absent"

_EXPLAIN = {
    ("memory.peak", REASON_MISSING): "kernel older than 5.19 has no memory.peak; peak is null",
    ("memory.oom_control:oom_kill", REASON_FIELD_ABSENT):
        "kernel older than 4.13 does not count OOM kills in cgroup v1; oomKill is null "
        "(failcnt and the container's OOMKilled status still show limit hits)",
}


class Problems:
    """Collects why values are null, grouped by (file, reason), each with the cgroups it hit."""

    def __init__(self) -> None:
        self._by_kind: dict[tuple[str, str], list[str]] = defaultdict(list)
        self._details: dict[tuple[str, str], str] = {}
        self._notes: list[str] = []

    def add(self, file: str, reason: str, cgroup: str, detail: str = "") -> None:
        key = (file, reason)
        self._by_kind[key].append(cgroup)
        if detail and key not in self._details:
            self._details[key] = detail

    def note(self, message: str) -> None:
        if message not in self._notes:
            self._notes.append(message)

    def messages(self) -> list[str]:
        out = list(self._notes)
        for (file, reason), cgroups in self._by_kind.items():
            n = len(cgroups)
            where = f"in {cgroups[0]}" if n == 1 else f"in {n} cgroups (e.g. {cgroups[0]})"
            why = _EXPLAIN.get((file, reason)) or self._details.get((file, reason)) or "value is null"
            out.append(f"{file}: {reason} {where}: {why}")
        return out


def read_text(path: Path, file: str, cgroup: str, problems: Problems) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        problems.add(file, REASON_MISSING, cgroup)
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(file, REASON_UNREADABLE, cgroup, f"{type(exc).__name__}: {exc}; value is null")
    return None


def _int(text: str | None, file: str, cgroup: str, problems: Problems) -> int | None:
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        problems.add(file, REASON_UNPARSEABLE, cgroup, f"expected an integer, got {text.strip()[:40]!r}")
        return None
    if not 0 <= value < U64:  # the kernel writes unsigned 64-bit values; the reader refuses others
        problems.add(file, REASON_UNPARSEABLE, cgroup, f"out of range: {text.strip()[:40]!r}")
        return None
    return value


def parse_flat_keyed(text: str | None, file: str, cgroup: str, problems: Problems) -> dict[str, int] | None:
    """memory.events / memory.oom_control: one `key value` pair per line."""
    if text is None:
        return None
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            problems.add(file, REASON_UNPARSEABLE, cgroup, f"unexpected line {line[:40]!r}")
            continue
        try:
            value = int(parts[1])
        except ValueError:
            value = U64  # reported below, like a value out of range
        if 0 <= value < U64:  # kernel counters are unsigned 64-bit
            out[parts[0]] = value
        else:
            problems.add(file, REASON_UNPARSEABLE, cgroup, f"unexpected line {line[:40]!r}")
    return out


def read_memory_v1(d: Path, cgroup: str, problems: Problems) -> dict[str, Any]:
    """The `memory` object for one cgroup v1 memory-controller directory."""
    def val(name: str) -> int | None:
        return _int(read_text(d / name, name, cgroup, problems), name, cgroup, problems)

    limit = val("memory.limit_in_bytes")
    if limit is not None and limit >= V1_UNLIMITED_THRESHOLD:
        limit = None
    oc_text = read_text(d / "memory.oom_control", "memory.oom_control", cgroup, problems)
    oom_control = parse_flat_keyed(oc_text, "memory.oom_control", cgroup, problems)
    oom_kill = None
    if oom_control is not None:
        oom_kill = oom_control.get("oom_kill")
        if oom_kill is None:
            problems.add("memory.oom_control:oom_kill", REASON_FIELD_ABSENT, cgroup)
    mem: dict[str, Any] = {
        "limit": limit,
        "usage": val("memory.usage_in_bytes"),
        "peak": val("memory.max_usage_in_bytes"),
        "failcnt": val("memory.failcnt"),
        "oom": None,  # v1 has no count of OOM events, only the current under_oom state
        "oomKill": oom_kill,
    }
    if oom_control is not None:
        mem["oomControl"] = oom_control
    return mem


def read_memory_v2(d: Path, cgroup: str, problems: Problems) -> dict[str, Any]:
    """The `memory` object for one cgroup v2 directory (memory controller enabled)."""
    max_text = read_text(d / "memory.max", "memory.max", cgroup, problems)
    limit = None
    if max_text is not None and max_text.strip() != "max":
        limit = _int(max_text, "memory.max", cgroup, problems)
    usage = _int(read_text(d / "memory.current", "memory.current", cgroup, problems), "memory.current",
                 cgroup, problems)
    peak = _int(read_text(d / "memory.peak", "memory.peak", cgroup, problems), "memory.peak", cgroup,
                problems)
    events = parse_flat_keyed(read_text(d / "memory.events", "memory.events", cgroup, problems),
                              "memory.events", cgroup, problems)
    # memory.events is hierarchical (a pod's counts include its containers'); .local is this level only,
    # so a pod-level "oom" in .local means the POD limit was hit, not a container's.
    local_path = d / "memory.events.local"
    events_local = (parse_flat_keyed(read_text(local_path, "memory.events.local", cgroup, problems),
                                     "memory.events.local", cgroup, problems)
                    if local_path.exists() else None)
    ev = events or {}
    mem: dict[str, Any] = {
        "limit": limit,
        "usage": usage,
        "peak": peak,
        "failcnt": ev.get("max") if events is not None else None,
        "oom": ev.get("oom") if events is not None else None,
        "oomKill": ev.get("oom_kill") if events is not None else None,
    }
    if events is not None:
        mem["events"] = events
    if events_local is not None:
        mem["eventsLocal"] = events_local
    return mem
