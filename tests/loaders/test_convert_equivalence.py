"""The fast conversion (key dispatch, per-workload caches, shared read-only parts) gives exactly
what the straightforward one gives: equal objects, equal reprs and equal warnings, on every
fixture, on generated clusters (lean and full), and on pods with fields of the wrong type.

`reference_convert` is a frozen copy of podtriage/convert.py from before the optimisation.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate_cluster import generate
from podtriage import convert
from podtriage.errors import InputFileError
from podtriage.loaders.files import parse_documents
from podtriage.snapshot import SnapshotBuilder

from . import reference_convert as ref

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _items(doc: Any) -> Iterator[dict]:
    """Every Kubernetes object in a parsed document (Lists and snapshot files flattened)."""
    if isinstance(doc, list):
        for d in doc:
            yield from _items(d)
        return
    if not isinstance(doc, dict):
        return
    items = doc.get("items")
    if isinstance(items, list):
        kind = doc.get("kind")
        item_kind = kind[:-4] if isinstance(kind, str) and kind.endswith("List") and kind != "List" else None
        for item in items:
            if isinstance(item, dict) and item_kind and not item.get("kind"):
                item = {**item, "kind": item_kind}
            yield from _items(item)
        return
    if isinstance(doc.get("kind"), str):
        yield doc


def _fixture_objects() -> list[tuple[str, list[dict]]]:
    out = []
    for path in sorted(FIXTURES.rglob("*")):
        if not path.is_file() or not path.name.endswith((".yaml", ".yml", ".json", ".json.gz")):
            continue
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            import gzip

            data = gzip.decompress(data)
        try:
            objs = [o for doc in parse_documents(data, str(path)) for o in _items(doc)]
        except InputFileError:
            continue  # fixtures of broken input: the loader tests cover them
        objs = [o for o in objs if o.get("kind") in ref.CONVERTERS]
        if objs:
            out.append((str(path.relative_to(FIXTURES)), objs))
    return out


FIXTURE_OBJECTS = _fixture_objects()


def _same(new: Any, old: Any, what: str) -> None:
    assert new == old, what
    assert repr(new) == repr(old), what


def _convert_both(kind: str, obj: dict) -> tuple[Any, Any, list[str], list[str]]:
    new_w: list[str] = []
    old_w: list[str] = []
    try:
        old = ref.CONVERTERS[kind](copy.deepcopy(obj), old_w)
    except Exception as exc:  # noqa: BLE001 - the fast path must fail the same way
        with pytest.raises(Exception) as raised:
            convert.CONVERTERS[kind](copy.deepcopy(obj), new_w)
        assert (type(raised.value).__name__, str(raised.value)) == (type(exc).__name__, str(exc))
        return None, None, new_w, old_w
    new = convert.CONVERTERS[kind](copy.deepcopy(obj), new_w)
    return new, old, new_w, old_w


def _builder_matches_reference(objs: list[dict], origin: str) -> None:
    """A SnapshotBuilder (which shares parts across pods) against per-object reference conversion."""
    b = SnapshotBuilder(source=origin)
    for o in objs:
        b.add(copy.deepcopy(o))
    snap = b.build()
    expected: dict[tuple[str, str, str], Any] = {}
    expected_warnings: list[str] = []
    for o in objs:
        if o.get("kind") != "Pod":
            continue
        w: list[str] = []
        try:
            p = ref.pod(copy.deepcopy(o), w)
        except ref.ConversionError:
            continue
        expected_warnings += w
        expected[(p.namespace, p.name, p.uid)] = p
    pods = {(p.namespace, p.name, p.uid): p for p in snap.pods}
    assert pods.keys() == expected.keys(), origin
    for k, p in pods.items():
        _same(p, expected[k], f"{origin}: pod {k}")
    assert [w for w in snap.meta.warnings if "duplicate" not in w and "skipped" not in w] == \
        expected_warnings, origin


@pytest.mark.parametrize("name,objs", FIXTURE_OBJECTS, ids=[n for n, _ in FIXTURE_OBJECTS])
def test_every_fixture_object_converts_as_before(name: str, objs: list[dict]) -> None:
    for o in objs:
        kind = o["kind"]
        new, old, new_w, old_w = _convert_both(kind, o)
        _same(new, old, f"{name}: {kind} {o.get('metadata', {}).get('name')}")
        assert new_w == old_w, name
    _builder_matches_reference(objs, name)


def test_fixtures_were_found() -> None:
    pods = sum(1 for _, objs in FIXTURE_OBJECTS for o in objs if o["kind"] == "Pod")
    assert len(FIXTURE_OBJECTS) > 50 and pods > 100


@pytest.mark.parametrize("full", [False, True], ids=["lean", "full"])
def test_generated_cluster_converts_as_before(full: bool) -> None:
    # through JSON, as a file or the API gives them: generate() shares string objects between
    # pods, which only costs the cache hits (see convert._fingerprint), never correctness
    objs = json.loads(json.dumps(generate(40, 1500, 150, seed=3, full=full)["items"]))
    _builder_matches_reference(objs, "generated")
    b = SnapshotBuilder()
    for o in json.loads(json.dumps(objs)):
        b.add(o)
    snap = b.build()
    for kind, field in (("Node", "nodes"), ("Event", "events"), ("PersistentVolume", "pvs"),
                        ("PersistentVolumeClaim", "pvcs"), ("Namespace", "namespaces")):
        old = [ref.CONVERTERS[kind](copy.deepcopy(o), []) for o in objs if o["kind"] == kind]
        _same(list(getattr(snap, field)), old, kind)
    # replicas share their converted parts
    by_owner: dict[str, list] = {}  # (the generator's Pending pods are not real replicas)
    for p in snap.pods:
        if p.owner and p.owner.kind == "ReplicaSet" and p.phase == "Running":
            by_owner.setdefault(p.owner.uid, []).append(p)
    shared = [ps for ps in by_owner.values() if len(ps) > 1]
    assert shared
    for ps in shared:
        assert all(p.containers is ps[0].containers and p.labels is ps[0].labels for p in ps)


ODD_VALUES: list[Any] = [None, True, False, 0, 1, 1.0, 1.5, -3, "", "x", "10", "250m", [], [None], [1, "a"],
                         {}, {"a": 1}, {"name": 7}, [{}], [{"key": True}], [{"name": "c", "resources": 5}]]


def _paths(obj: Any, prefix: tuple = (), depth: int = 3) -> Iterator[tuple]:
    """Paths to every value of a JSON object, a few levels deep."""
    if depth == 0:
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k), depth - 1)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i), depth - 1)


def _with(obj: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(obj)
    cur = out
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return out


def _realistic_pods() -> list[dict]:
    pods = [o for _, objs in FIXTURE_OBJECTS for o in objs if o["kind"] == "Pod"]
    # the richest ones: most distinct keys
    pods.sort(key=lambda o: -len(json.dumps(o)))
    return pods[:6]


def test_fields_of_the_wrong_type_convert_as_before() -> None:
    """Every field of a few rich pods, replaced by odd values, through the uncached and the cached
    path; replicas (same parts, other names) share a cache so both its hits and misses are seen."""
    rng = random.Random(5)
    checked = 0
    for base in _realistic_pods():
        for path in _paths(base):
            if path[0] in ("kind", "apiVersion"):
                continue
            for value in rng.sample(ODD_VALUES, 5):
                obj = _with(base, path, value)
                new, old, new_w, old_w = _convert_both("Pod", obj)
                _same(new, old, f"{path}={value!r}")
                assert new_w == old_w
                replicas = []
                for i in range(3):
                    r = copy.deepcopy(obj)
                    if isinstance(r.get("metadata"), dict):
                        r["metadata"]["name"] = f"replica-{i}"
                    replicas.append(r)
                _builder_matches_reference(replicas, f"{path}={value!r}")
                checked += 1
    assert checked > 500


def test_each_replica_warns_for_its_own_invalid_quantity() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "a", "namespace": "ns", "ownerReferences": [
        {"kind": "ReplicaSet", "name": "rs", "uid": "u", "controller": True}]},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "lots", "memory": "1Gi"}}}]}}
    b = SnapshotBuilder(source="t")
    for name in ("a", "b", "c"):
        b.add({**copy.deepcopy(pod), "metadata": {**pod["metadata"], "name": name}})
    warnings = [w for w in b.build().meta.warnings if "invalid quantity" in w]
    assert [w.split(":")[0] for w in warnings] == ["pod ns/a container c", "pod ns/b container c",
                                                   "pod ns/c container c"]


def test_template_values_that_differ_only_in_type_are_not_shared() -> None:
    """1, 1.0 and True compare equal in Python; the fingerprint keeps them apart."""
    b = SnapshotBuilder()
    for i, v in enumerate([1, True, 1.0, "1"]):
        b.add({"kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"app": "x"}},
               "spec": {"hostNetwork": v, "priority": v, "containers": [{"name": "c", "ports": [
                   {"containerPort": v, "hostPort": v}]}]}})
    pods = b.build().pods
    assert [p.host_network for p in pods] == [False, True, False, False]
    assert [p.priority for p in pods] == [1, 0, 0, 1]
    assert [p.containers[0].ports[0].host_port for p in pods] == [1, 0, 0, 1]


def test_shared_maps_are_read_only_and_behave_as_dicts() -> None:
    c = convert.container({"name": "c", "resources": {"requests": {"cpu": "1"}, "limits": {"memory": "1Gi"}}})
    for mp in (c.requests, c.limits):
        assert isinstance(mp, dict) and type(mp) is convert.FrozenMap
        with pytest.raises(TypeError):
            mp["x"] = 1  # type: ignore[index]
        with pytest.raises(TypeError):
            mp.update(x=1)  # type: ignore[attr-defined]
        assert copy.deepcopy(mp) is mp and copy.copy(mp) is mp
        again = pickle.loads(pickle.dumps(mp))
        assert again == mp and type(again) is convert.FrozenMap
        assert json.loads(json.dumps(mp)) == dict(mp)
        plain = dict(mp)
        plain["x"] = 1  # copies are ordinary dicts
        assert mp.copy() == mp and type(mp.copy()) is dict and type(mp | {"y": 1}) is dict
    assert c.requests == {"cpu": 1000, "memory": 2**30}
    assert dataclasses.asdict(c)["requests"] == {"cpu": 1000, "memory": 2**30}
