"""What `podtriage watch` holds: the trimmed raw objects of every watched stream, and what changed.

One `Store` per process, shared by the reflector threads (writers) and the diagnosis thread
(reader). Objects are kept as `loaders.snapshot_file.trim_object` leaves them (never Secret data,
no annotations podtriage does not read), keyed by stream and `namespace/name`: the key order of
the API server's etcd keys, so a snapshot built from the store lists objects in the order a fresh
LIST returns them (`podtriage audit` reads the same objects in the same order).

Each object arrives as its `marshal` bytes, not as a dict: a trimmed pod is ~1.5 KB that way
against several times that as nested dicts and strings, and `marshal.loads` gives the dict back
faster than it could be copied. The bytes are held only until the diagnosis has converted the
object (`release`): from then on the store keeps a 16-byte digest per object, which tells a
repeat from a change, and the converted object is what the snapshot is built from. At 150,000
pods that is ~8 MiB of digests where the bytes took ~200 MiB, for the life of the process.
"""

from __future__ import annotations

import hashlib
import marshal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from ..loaders.snapshot_file import trim_object

# marshal format 2 writes no back-references, so equal objects always give equal bytes (format 4
# may flag shared strings differently): a repeat is recognised as no change.
PACK_VERSION = 2
DIGEST_BYTES = 16


def _digest(packed: bytes) -> bytes:
    return hashlib.blake2b(packed, digest_size=DIGEST_BYTES).digest()


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
    """Thread-safe: `put`/`delete`/`replace` by reflectors, `packed`/`release`/`take_changes` by the
    diagnosis.

    Per stream and key: the object's digest, whose identity is the object's version (a new digest
    object when, and only when, the object changes), and its marshal bytes until released."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._digests: dict[str, dict[str, bytes]] = {}
        self._raw: dict[str, dict[str, bytes]] = {}  # bytes not yet released
        self._released: set[str] = set()  # streams whose bytes were (partly) released
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
        digest = _digest(packed)
        with self._lock:
            digests = self._digests.setdefault(stream, {})
            if digests.get(key) == digest:
                return  # a resync or a bookmark-less repeat: nothing the analysis reads changed
            digests[key] = digest
            self._raw.setdefault(stream, {})[key] = packed
            self._changed(stream)

    def delete(self, stream: str, obj: dict) -> None:
        key = object_key(obj)
        with self._lock:
            if self._digests.get(stream, {}).pop(key, None) is not None:
                self._raw.get(stream, {}).pop(key, None)
                self._changed(stream)

    @staticmethod
    def prepare(objs: Iterable[dict]) -> list[tuple[str, bytes, bytes]]:
        """(key, digest, bytes) of each object, trimmed: what `replace_prepared` takes. A LIST is
        prepared page by page, so its full objects (a pod from the API server is ~10 KB as dicts,
        most of it managedFields and fields podtriage never reads) are dropped as each page is read
        instead of all being held until the last page (~1.5 GB at 150,000 pods)."""
        out = []
        for o in objs:
            t = trim_object(o)
            packed = marshal.dumps(t, PACK_VERSION)
            out.append((object_key(t), _digest(packed), packed))
        return out

    def replace(self, stream: str, objs: Iterable[dict]) -> tuple[int, int, int]:
        """A (re)list: the stream now holds exactly these -> (added, changed, deleted)."""
        return self.replace_prepared(stream, self.prepare(objs))

    def replace_prepared(self, stream: str, prepared: Iterable[tuple[str, bytes, bytes]]) -> tuple[int, int, int]:
        """`replace` with objects from `prepare`. An object equal to the one held keeps its digest
        object (and so its conversion in the diagnosis)."""
        fresh: dict[str, tuple[bytes, bytes]] = {k: (d, packed) for k, d, packed in prepared}
        with self._lock:
            old = self._digests.get(stream, {})
            old_raw = self._raw.get(stream, {})
            digests: dict[str, bytes] = {}
            raw: dict[str, bytes] = {}
            added = changed = 0
            for k, (d, packed) in fresh.items():
                held = old.get(k)
                if held == d:
                    digests[k] = held
                    if k in old_raw:
                        raw[k] = old_raw[k]
                    continue
                added += held is None
                changed += held is not None
                digests[k], raw[k] = d, packed
            deleted = sum(1 for k in old if k not in fresh)
            self._digests[stream] = digests
            self._raw[stream] = raw
            if added or changed or deleted or stream not in self._sorted:
                self._changed(stream)
            return added, changed, deleted

    def drop(self, stream: str) -> None:
        """Forget a stream (a resource that became unreadable: its objects are no longer known)."""
        with self._lock:
            self._raw.pop(stream, None)
            self._released.discard(stream)
            if self._digests.pop(stream, None):
                self._changed(stream)

    def _keys(self, stream: str) -> list[str]:
        keys = self._sorted.get(stream)
        if keys is None:
            keys = self._sorted[stream] = sorted(self._digests.get(stream, {}))
        return keys

    def items(self, stream: str) -> Iterator[dict]:
        """The stream's objects in etcd key order (namespace/name), each a new dict, decoded one at a
        time. Only for a stream none of whose bytes were released (the lease; tests)."""
        with self._lock:
            if stream in self._released:
                raise RuntimeError(f"the objects of {stream} were released after conversion")
            raw = self._raw.get(stream, {})
            packed = [raw[k] for k in self._keys(stream)]
        return map(marshal.loads, packed)

    def packed(self, stream: str) -> list[tuple[str, bytes, bytes | None]]:
        """(key, version, marshal bytes or None once released) in etcd key order. The version (the
        digest object) of a key stays the same object until the object changes, so `is` tells a
        changed object from an unchanged one."""
        with self._lock:
            digests = self._digests.get(stream, {})
            raw = self._raw.get(stream, {})
            return [(k, digests[k], raw.get(k)) for k in self._keys(stream)]

    def release(self, stream: str, converted: Iterable[tuple[str, bytes]]) -> int:
        """Drop the bytes of objects the caller has converted: (key, version) pairs from `packed`;
        an object that changed since keeps its new bytes. -> how many were dropped."""
        n = 0
        with self._lock:
            digests = self._digests.get(stream, {})
            raw = self._raw.get(stream)
            if not raw:
                return 0
            for k, version in converted:
                if digests.get(k) is version and raw.pop(k, None) is not None:
                    n += 1
            if n:
                self._released.add(stream)
        return n

    def raw_bytes(self) -> int:
        """Bytes of marshal data held (objects not yet released)."""
        with self._lock:
            return sum(len(b) for raw in self._raw.values() for b in raw.values())

    def count(self, stream: str) -> int:
        with self._lock:
            return len(self._digests.get(stream, {}))

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
