"""What `podtriage watch` holds: the trimmed raw objects of every watched stream, and what changed.

One `Store` per process, shared by the reflector threads (writers) and the diagnosis thread
(reader). Objects are kept as `loaders.snapshot_file.trim_object` leaves them (never Secret data,
no annotations podtriage does not read), keyed by stream and `namespace/name`: the key order of
the API server's etcd keys, so a snapshot built from the store lists objects in the order a fresh
LIST returns them (`podtriage audit` reads the same objects in the same order).

Each object is held as its `marshal` bytes, not as a dict: a trimmed pod is ~1.5 KB that way
against several times that as nested dicts and strings (150,000 pods), comparing two versions is
one bytes comparison, and `marshal.loads` gives the dict back faster than it could be copied.
"""

from __future__ import annotations

import marshal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from ..loaders.snapshot_file import trim_object

# marshal format 2 writes no back-references, so equal objects always give equal bytes (format 4
# may flag shared strings differently): a repeat is recognised as no change.
PACK_VERSION = 2


def object_key(obj: Mapping) -> str:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    ns = str(meta.get("namespace") or "")
    name = str(meta.get("name") or "")
    return f"{ns}/{name}" if ns else name


@dataclass
class Change:
    """What changed since the diagnosis thread last looked (`Store.take_changes`)."""

    streams: set[str] = field(default_factory=set)  # streams with an object added, modified or deleted
    quiet_only: bool = True  # only streams that do not change answers by themselves (the lease)
    first_at: float = 0.0  # monotonic time of the first change not yet diagnosed


class Store:
    """Thread-safe: `put`/`delete`/`replace` by reflectors, `items`/`take_changes` by the diagnosis."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._streams: dict[str, dict[str, bytes]] = {}
        self._sorted: dict[str, list[str]] = {}  # a stream's keys in order, until it changes
        self._change = Change()
        self._quiet: set[str] = set()
        self.generation = 0

    def set_quiet(self, stream: str) -> None:
        """Changes in this stream alone do not ask for a new diagnosis (a lease renewed every 2 s)."""
        self._quiet.add(stream)

    def _changed(self, stream: str) -> None:
        self.generation += 1
        self._sorted.pop(stream, None)
        ch = self._change
        if not ch.streams:
            ch.first_at = time.monotonic()
        ch.streams.add(stream)
        if stream not in self._quiet:
            ch.quiet_only = False
        self._lock.notify_all()

    def put(self, stream: str, obj: dict) -> None:
        trimmed = trim_object(obj)
        key = object_key(trimmed)
        packed = marshal.dumps(trimmed, PACK_VERSION)
        with self._lock:
            objs = self._streams.setdefault(stream, {})
            if objs.get(key) == packed:
                return  # a resync or a bookmark-less repeat: nothing the analysis reads changed
            objs[key] = packed
            self._changed(stream)

    def delete(self, stream: str, obj: dict) -> None:
        key = object_key(obj)
        with self._lock:
            if self._streams.get(stream, {}).pop(key, None) is not None:
                self._changed(stream)

    def replace(self, stream: str, objs: Iterable[dict]) -> tuple[int, int, int]:
        """A (re)list: the stream now holds exactly these -> (added, changed, deleted)."""
        fresh: dict[str, bytes] = {}
        for o in objs:
            t = trim_object(o)
            fresh[object_key(t)] = marshal.dumps(t, PACK_VERSION)
        with self._lock:
            old = self._streams.get(stream, {})
            added = sum(1 for k in fresh if k not in old)
            changed = sum(1 for k, v in fresh.items() if k in old and old[k] != v)
            deleted = sum(1 for k in old if k not in fresh)
            self._streams[stream] = fresh
            if added or changed or deleted or stream not in self._sorted:
                self._changed(stream)
            return added, changed, deleted

    def drop(self, stream: str) -> None:
        """Forget a stream (a resource that became unreadable: its objects are no longer known)."""
        with self._lock:
            if self._streams.pop(stream, None):
                self._changed(stream)

    def items(self, stream: str) -> Iterator[dict]:
        """The stream's objects in etcd key order (namespace/name), each a new dict, decoded one at a
        time (a snapshot build converts and drops each before the next is decoded)."""
        with self._lock:
            objs = self._streams.get(stream, {})
            keys = self._sorted.get(stream)
            if keys is None:
                keys = self._sorted[stream] = sorted(objs)
            packed = [objs[k] for k in keys]
        return map(marshal.loads, packed)

    def packed(self, stream: str) -> list[tuple[str, bytes]]:
        """(key, marshal bytes) in etcd key order. The bytes object of a key stays the same one until
        the object changes, so `is` tells a changed object from an unchanged one."""
        with self._lock:
            objs = self._streams.get(stream, {})
            keys = self._sorted.get(stream)
            if keys is None:
                keys = self._sorted[stream] = sorted(objs)
            return [(k, objs[k]) for k in keys]

    def count(self, stream: str) -> int:
        with self._lock:
            return len(self._streams.get(stream, {}))

    def take_changes(self) -> Change:
        with self._lock:
            ch, self._change = self._change, Change()
            return ch

    def pending_since(self) -> float | None:
        """Monotonic time of the first undiagnosed change that matters, None when there is none."""
        with self._lock:
            ch = self._change
            return ch.first_at if ch.streams and not ch.quiet_only else None

    def wait(self, timeout: float) -> None:
        with self._lock:
            self._lock.wait(timeout)

    def wake(self) -> None:
        with self._lock:
            self._lock.notify_all()
