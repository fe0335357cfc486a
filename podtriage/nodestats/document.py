"""The NodeStats file: frozen dataclasses, loading with validation, and writing.

    {"apiVersion": "podtriage.dev/v1", "kind": "NodeStats", "node": ..., "collected": RFC3339,
     "cgroupVersion": 1|2, "driver": "systemd"|"cgroupfs"|null, "root": ..., "nodeMemory": {...}|null,
     "pods": [{"uid", "qos", "cgroup", "memory": {...},
               "containers": [{"id", "runtime", "cgroup", "memory": {...}}]}],
     "warnings": [str]}

memory = {"limit", "usage", "peak", "failcnt", "oom", "oomKill"}: int (bytes or counts) or null; v2 files
add "events"/"eventsLocal" (memory.events[.local]), v1 files "oomControl" (memory.oom_control).
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputFileError
from ..loaders.nesting import TOO_DEEP
from .collect import API_VERSION, KIND
from .layout import normalize_container_id, normalize_uid

QOS_CLASSES = ("guaranteed", "burstable", "besteffort")
DRIVERS = ("systemd", "cgroupfs")
_MEMORY_INT_FIELDS = (("limit", "limit"), ("usage", "usage"), ("peak", "peak"), ("failcnt", "failcnt"),
                      ("oom", "oom"), ("oomKill", "oom_kill"))


@dataclass(frozen=True)
class MemoryStats:
    """One cgroup's memory accounting; None where the kernel or the file did not say."""

    limit: int | None = None  # bytes; None = unlimited or unknown
    usage: int | None = None
    peak: int | None = None
    failcnt: int | None = None  # v1 memory.failcnt; v2 memory.events "max"
    oom: int | None = None  # v2 memory.events "oom"; None on v1
    oom_kill: int | None = None  # v1 memory.oom_control "oom_kill"; v2 memory.events "oom_kill"
    events: tuple[tuple[str, int], ...] = ()  # raw memory.events / memory.oom_control counters
    events_local: tuple[tuple[str, int], ...] = ()  # v2 memory.events.local

    def event(self, name: str, *, local: bool = False) -> int | None:
        return dict(self.events_local if local else self.events).get(name)


@dataclass(frozen=True)
class ContainerStats:
    id: str
    runtime: str
    cgroup: str
    memory: MemoryStats


@dataclass(frozen=True)
class PodStats:
    uid: str
    qos: str
    cgroup: str
    memory: MemoryStats
    containers: tuple[ContainerStats, ...] = ()

    def find_container(self, container_id: str) -> ContainerStats | None:
        """By ID, with or without the runtime prefix of a pod status (`containerd://...`)."""
        cid = normalize_container_id(container_id)
        return next((c for c in self.containers if c.id.lower() == cid), None)


@dataclass(frozen=True)
class NodeStats:
    node: str
    pods: tuple[PodStats, ...]
    cgroup_version: int
    driver: str | None
    collected: str = ""
    root: str = ""
    kernel: str = ""
    node_memory: MemoryStats | None = None
    node_memory_cgroup: str = ""
    warnings: tuple[str, ...] = ()
    source: str = ""  # the file it was loaded from: provenance for evidence

    def find_pod(self, uid: str) -> PodStats | None:
        """The pod with this UID (dashes or the systemd underscores), or None."""
        want = normalize_uid(uid)
        return next((p for p in self.pods if p.uid == want), None)

    def find_container(self, container_id: str) -> tuple[PodStats, ContainerStats] | None:
        for p in self.pods:
            c = p.find_container(container_id)
            if c is not None:
                return p, c
        return None


class _Validator:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> InputFileError:
        return InputFileError(self.path, f"{where}: {message}" if where else message,
                              hint="produce the file with `podtriage node-stats -o FILE`")

    def obj(self, v: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(v, Mapping):
            raise self.fail(where, f"expected an object, got {_tname(v)}")
        return v

    def str_(self, m: Mapping[str, Any], key: str, where: str, *, required: bool = True,
             choices: tuple[str, ...] | None = None, nullable: bool = False) -> str | None:
        at = f"{where}.{key}" if where else key
        if key not in m:
            if required:
                raise self.fail(at, "missing")
            return None
        v = m[key]
        if v is None and nullable:
            return None
        if not isinstance(v, str) or (required and not v):
            raise self.fail(at, f"expected a non-empty string, got {_tname(v)}")
        if choices and v not in choices:
            raise self.fail(at, f"expected one of {', '.join(choices)}, got {v!r}")
        return v

    def int_or_null(self, m: Mapping[str, Any], key: str, where: str) -> int | None:
        v = m.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < _U64:
            raise self.fail(f"{where}.{key}", f"expected a non-negative integer or null (64-bit), got {_short(v)}")
        return v

    def counters(self, m: Mapping[str, Any], key: str, where: str) -> tuple[tuple[str, int], ...]:
        v = m.get(key)
        if v is None:
            return ()
        d = self.obj(v, f"{where}.{key}")
        for k, n in d.items():
            if isinstance(n, bool) or not isinstance(n, int) or not -_U64 < n < _U64:
                raise self.fail(f"{where}.{key}.{k}", f"expected a 64-bit integer, got {_short(n)}")
        return tuple(sorted(d.items()))

    def memory(self, v: Any, where: str) -> MemoryStats:
        m = self.obj(v, where)
        vals = {attr: self.int_or_null(m, key, where) for key, attr in _MEMORY_INT_FIELDS}
        events = self.counters(m, "events", where) or self.counters(m, "oomControl", where)
        return MemoryStats(**vals, events=events, events_local=self.counters(m, "eventsLocal", where))

    def list_(self, m: Mapping[str, Any], key: str, where: str) -> list[Any]:
        v = m.get(key, [])
        if not isinstance(v, list):
            raise self.fail(f"{where}.{key}" if where else key, f"expected a list, got {_tname(v)}")
        return v


# The kernel's counters are 64-bit: anything larger is not a value node-stats wrote (and would
# overflow the float arithmetic of the sizing advice).
_U64 = 2**64


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


def _tname(v: Any) -> str:
    return "null" if v is None else type(v).__name__


def node_stats_from_dict(doc: Any, source: str = "<document>") -> NodeStats:
    """Validate a parsed NodeStats document; InputFileError names the field at fault."""
    val = _Validator(source)
    d = val.obj(doc, "")
    if d.get("kind") != KIND:
        raise val.fail("kind", f"expected {KIND!r}, got {d.get('kind')!r}: not a node-stats file")
    if d.get("apiVersion") != API_VERSION:
        raise val.fail("apiVersion",
                       f"unsupported {d.get('apiVersion')!r}, this podtriage reads {API_VERSION!r}")
    version = d.get("cgroupVersion")
    if version not in (1, 2) or isinstance(version, bool):
        raise val.fail("cgroupVersion", f"expected 1 or 2, got {version!r}")
    node = val.str_(d, "node", "") or ""
    driver = val.str_(d, "driver", "", required=False, choices=DRIVERS, nullable=True)
    pods = []
    for i, raw in enumerate(val.list_(d, "pods", "")):
        where = f"pods[{i}]"
        p = val.obj(raw, where)
        containers = []
        for j, rawc in enumerate(val.list_(p, "containers", where)):
            cw = f"{where}.containers[{j}]"
            c = val.obj(rawc, cw)
            containers.append(ContainerStats(
                id=val.str_(c, "id", cw) or "",
                runtime=val.str_(c, "runtime", cw, required=False) or "unknown",
                cgroup=val.str_(c, "cgroup", cw, required=False) or "",
                memory=val.memory(c.get("memory", {}), f"{cw}.memory")))
        pods.append(PodStats(
            uid=normalize_uid(val.str_(p, "uid", where) or ""),
            qos=val.str_(p, "qos", where, choices=QOS_CLASSES) or "",
            cgroup=val.str_(p, "cgroup", where, required=False) or "",
            memory=val.memory(p.get("memory", {}), f"{where}.memory"),
            containers=tuple(containers)))
    nm_raw = d.get("nodeMemory")
    node_memory = val.memory(nm_raw, "nodeMemory") if nm_raw is not None else None
    warnings = val.list_(d, "warnings", "")
    return NodeStats(
        node=node, pods=tuple(pods), cgroup_version=version, driver=driver,
        collected=str(d.get("collected") or ""), root=str(d.get("root") or ""),
        kernel=str(d.get("kernel") or ""),
        node_memory=node_memory,
        node_memory_cgroup=str(nm_raw.get("cgroup") or "") if isinstance(nm_raw, Mapping) else "",
        warnings=tuple(str(w) for w in warnings), source=source)


def load_node_stats(path: str | Path) -> NodeStats:
    """Read and validate a file written by `podtriage node-stats` (JSON, optionally gzipped)."""
    p = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputFileError(p, "no such file") from None
    except OSError as exc:
        raise InputFileError(p, f"cannot read: {exc.strerror or exc}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:  # zlib.error: a damaged deflate stream
            raise InputFileError(p, f"corrupt gzip data: {exc}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputFileError(p, "not UTF-8 text: not a node-stats file") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(p, f"invalid JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    except RecursionError:
        raise InputFileError(p, f"invalid JSON: {TOO_DEEP}") from None
    except ValueError as exc:  # an integer past Python's 4300-digit conversion limit
        raise InputFileError(p, f"invalid JSON: {exc}") from None
    return node_stats_from_dict(doc, source=p)


def write_node_stats(doc: Mapping[str, Any], path: str | Path) -> None:
    """Write the document as indented JSON ('-' = stdout; '.gz' = gzipped); atomic for files."""
    text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    p = Path(path)
    data = gzip.compress(text.encode()) if p.name.endswith(".gz") else text.encode()
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent if str(p.parent) else ".", prefix=f".{p.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputFileError(str(path), f"cannot write: {exc.strerror or exc}") from None
