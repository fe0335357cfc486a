"""SnapshotBuilder and the file loader's bookkeeping: duplicates, Secrets, raw objects released."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from podtriage.errors import InputFileError
from podtriage.loaders import files
from podtriage.snapshot import SnapshotBuilder


def _pod(name: str, ns: str = "shop", node: str = "") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"requests": {"cpu": "100m"}}}]},
            "status": {"phase": "Running" if node else "Pending"}}


def test_duplicates_warn_and_the_last_one_wins() -> None:
    b = SnapshotBuilder(source="test")
    assert b.add(_pod("web-0"), origin="a.yaml")
    assert b.add(_pod("web-0", node="n1"), origin="b.yaml")
    assert b.add(_pod("web-0", ns="other"), origin="b.yaml")  # same name, other namespace: not a duplicate
    snap = b.build()
    assert snap.meta.warnings == ("b.yaml: duplicate Pod shop/web-0; kept the last one",)
    assert sorted(p.key for p in snap.pods) == ["other/web-0", "shop/web-0"]
    assert snap.pod_by_key["shop/web-0"].node_name == "n1"
    assert b.counts["Pod"] == 3


def test_duplicate_nodes_and_cluster_scoped_names() -> None:
    b = SnapshotBuilder()
    node = {"kind": "Node", "metadata": {"name": "n1"}, "status": {"allocatable": {"cpu": "4"}}}
    b.add(node)
    b.add(node)
    assert b.build().meta.warnings == (": duplicate Node n1; kept the last one",)


def test_secret_data_is_never_kept(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "db", "namespace": "shop",
                           "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "c3VwZXJzZWNyZXQ="}},
              "data": {"password": "c3VwZXJzZWNyZXQ="}, "stringData": {"token": "hunter2"}}
    path = tmp_path / "list.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [secret, _pod("web-0")]}))
    snap = files.load_path(path)
    (meta,) = snap.config_objects
    assert (meta.kind, meta.namespace, meta.name, meta.keys) == ("Secret", "shop", "db", None)
    dump = repr(snap)
    assert "c3VwZXJzZWNyZXQ=" not in dump and "hunter2" not in dump and "password" not in dump


def test_configmap_keeps_key_names_only() -> None:
    b = SnapshotBuilder()
    b.add({"kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop"},
           "data": {"db_host": "db.internal"}, "binaryData": {"blob": "AAAA"}})
    (meta,) = b.build().config_objects
    assert meta.keys == ("blob", "db_host")
    assert "db.internal" not in repr(meta)


def test_broken_object_becomes_a_warning() -> None:
    b = SnapshotBuilder(source="x.yaml")
    assert not b.add({"kind": "Pod", "metadata": {"namespace": "shop"}})
    assert not b.add("not an object")
    assert b.build().meta.warnings == ("x.yaml: skipped Pod ?: pod without metadata.name",
                                       "x.yaml: skipped an item that is not an object")


def test_indexes() -> None:
    b = SnapshotBuilder()
    for p in (_pod("a", node="n1"), _pod("b", node="n1"), _pod("c")):
        b.add(p)
    done = _pod("d", node="n1")
    done["status"]["phase"] = "Succeeded"
    b.add(done)
    snap = b.build()
    assert [p.name for p in snap.pods_by_node["n1"]] == ["a", "b"]  # terminal pods free their node
    assert set(snap.pod_by_key) == {"shop/a", "shop/b", "shop/c", "shop/d"}
    assert [p.key for p in snap.pods_by_name["c"]] == ["shop/c"]


def test_loader_releases_raw_items_as_it_converts() -> None:
    b = SnapshotBuilder()
    ingest = files._Ingest(b)
    doc = {"apiVersion": "v1", "kind": "PodList", "items": [_pod("a"), _pod("b")]}
    ingest.document(doc, "mem")
    assert doc["items"] == []
    assert ingest.objects == 2 and ingest.lists == 1
    assert sorted(p.name for p in b.build().pods) == ["a", "b"]
    bare = [_pod("c"), _pod("d")]
    ingest.document(bare, "mem")
    assert bare == []


def test_gc_is_restored_after_loading(tmp_path: Path) -> None:
    good = tmp_path / "pods.json"
    good.write_text(json.dumps({"kind": "PodList", "items": [_pod("a")]}))
    assert gc.isenabled()
    files.load_path(good)
    assert gc.isenabled()
    with pytest.raises(InputFileError):
        files.load_path(tmp_path / "missing.json")
    assert gc.isenabled()
    gc.disable()
    try:
        files.load_path(good)
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()
