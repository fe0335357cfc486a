"""A Watcher whose Store holds given objects as the reflectors would put them, every stream
marked listed and synced, and no API server: its diagnosis never talks to one. Shared by the
offline watch tests and benchmarks/bench_watch_store.py."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from podtriage.loaders.files import parse_documents
from podtriage.rulebook import load_rules
from podtriage.watch.reflector import Reflector
from podtriage.watch.watcher import Watcher, WatchConfig, plan_streams

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "cluster.yaml"


def objects_of(path: Path = DEMO) -> list[dict]:
    """The objects of a snapshot file (Lists unpacked)."""
    out: list[dict] = []
    for doc in parse_documents(path.read_bytes(), str(path)):
        if isinstance(doc, dict):
            out += doc.get("items", []) if doc.get("kind", "").endswith("List") else [doc]
    return out


def filled_watcher(objects: Iterable[dict]) -> Watcher:
    w = Watcher(WatchConfig())
    w.rules = load_rules()
    w.reflectors = [Reflector(s, None, w.store, w.health, w.stop, 500) for s in plan_streams(None)]  # type: ignore[arg-type]
    stream_of: dict[str, str] = {}
    for r in w.reflectors:
        r.listed, r.version = True, r.spec.res.versions[0]
        r.synced.set()
        stream_of.setdefault(r.spec.res.kind, r.spec.name)
    by_stream: dict[str, list[dict]] = {}
    for o in objects:
        if o.get("kind") in stream_of:
            by_stream.setdefault(stream_of[o["kind"]], []).append(o)
    for stream, objs in by_stream.items():
        w.store.replace(stream, objs)
    return w
