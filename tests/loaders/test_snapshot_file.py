"""podtriage's own snapshot file: trimmed, secret-free, and loads back into the same Snapshot."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from podtriage.errors import InputFileError
from podtriage.loaders import load_path, trim_object, write_snapshot
from podtriage.loaders.files import parse_documents
from podtriage.loaders.snapshot_file import API_VERSION, meta_to_header
from podtriage.snapshot import SnapshotMeta

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "loaders"
INPUTS = [FIX / "pods-list.yaml", FIX / "nodes-list.json", FIX / "multi-doc.yaml", FIX / "secret-canary.yaml",
          FIX / "cluster-info-dump" / "shop" / "events.json", FIX / "cluster-info-dump" / "shop" / "replicasets.json"]
CANARIES = ("CANARY", "Q0FOQVJZ")  # plain and base64 (Secret data)


def raw_items(*paths: Path) -> list[dict]:
    out: list[dict] = []
    for p in paths:
        for doc in parse_documents(p.read_bytes(), str(p)):
            if "items" in doc:
                item_kind = doc["kind"][:-4] if doc["kind"] != "List" else None
                out.extend({"kind": item_kind, **i} if item_kind and "kind" not in i else i for i in doc["items"])
            else:
                out.append(doc)
    return out


HEADER: dict[str, Any] = {
    "source": "live", "created": "2024-05-14T10:05:00Z",
    "cluster": {"server": "https://10.0.0.1:6443", "context": "prod-eu", "version": "v1.29.4"},
    "collected": ["Pod", "Node", "Event", "Deployment", "ReplicaSet", "PersistentVolumeClaim", "StorageClass",
                  "ConfigMap", "Secret"],
    "namespaces": ["shop"],
    "missing": [{"resource": "persistentvolumes", "namespace": "",
                 "reason": 'forbidden: User "jane" cannot list resource "persistentvolumes"'}],
    "schedulerNames": ["default-scheduler"],
}


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_round_trip_gives_the_same_objects(tmp_path: Path, name: str) -> None:
    direct = load_path_list(INPUTS)
    count = write_snapshot(raw_items(*INPUTS), tmp_path / name, meta=HEADER)
    assert count == len(raw_items(*INPUTS))
    back = load_path(tmp_path / name)
    # trimming keeps every field podtriage reads: the converted objects are identical
    for attr in ("pods", "nodes", "events", "workloads", "pvcs", "storage_classes", "config_objects"):
        assert sorted(map(repr, getattr(back, attr))) == sorted(map(repr, getattr(direct, attr))), attr
    assert back.meta.source == str(tmp_path / name)
    assert back.meta.created == "2024-05-14T10:05:00Z"
    assert (back.meta.cluster_server, back.meta.context, back.meta.server_version) == (
        "https://10.0.0.1:6443", "prod-eu", "v1.29.4")
    assert back.meta.collected == frozenset(HEADER["collected"])  # the header is authoritative
    assert back.meta.namespaces == ("shop",)
    assert [(x.resource, x.reason[:9]) for x in back.meta.missing] == [("persistentvolumes", "forbidden")]
    assert back.meta.scheduler_names == ("default-scheduler",)
    assert back.meta.warnings == ()


def load_path_list(paths: list[Path]):  # type: ignore[no-untyped-def]
    from podtriage.loaders import load_paths

    return load_paths(paths)


def test_file_layout(tmp_path: Path) -> None:
    write_snapshot(raw_items(FIX / "nodes-list.json"), tmp_path / "s.json", meta={"source": "live"})
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["apiVersion"] == API_VERSION and doc["kind"] == "Snapshot"
    assert doc["metadata"]["podtriageVersion"]
    assert doc["metadata"]["created"].endswith("Z")
    assert [i["kind"] for i in doc["items"]] == ["Node"] * 3
    node = doc["items"][0]
    assert "managedFields" not in node["metadata"] and "annotations" not in node["metadata"]
    assert "images" not in node["status"]


def test_gzip_detected_by_magic_bytes(tmp_path: Path) -> None:
    write_snapshot(raw_items(FIX / "nodes-list.json"), tmp_path / "s.json.gz", meta=HEADER)
    assert (tmp_path / "s.json.gz").read_bytes()[:2] == b"\x1f\x8b"
    (tmp_path / "renamed.json").write_bytes((tmp_path / "s.json.gz").read_bytes())
    assert len(load_path(tmp_path / "renamed.json").nodes) == 3


def test_snapshot_inside_a_folder(tmp_path: Path) -> None:
    write_snapshot(raw_items(FIX / "nodes-list.json"), tmp_path / "snap.json", meta=HEADER)
    (tmp_path / "pods.yaml").write_bytes((FIX / "pods-list.yaml").read_bytes())
    snap = load_path(tmp_path)
    assert len(snap.nodes) == 3 and len(snap.pods) == 3


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_secret_canary_never_written(tmp_path: Path, name: str) -> None:
    items = raw_items(FIX / "secret-canary.yaml")
    assert any(c in json.dumps(items) for c in CANARIES)  # the fixture does carry them
    write_snapshot(items, tmp_path / name, meta=HEADER)
    data = (tmp_path / name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    for canary in CANARIES:
        assert canary.encode() not in data
    assert b"last-applied-configuration" not in data
    back = load_path(tmp_path / name)
    keys = back.config_object_keys
    assert keys[("Secret", "shop", "db-credentials")].keys is None
    assert keys[("ConfigMap", "shop", "web-config")].keys == ("LOG_LEVEL", "app.properties")
    # the env reference survives, the literal value does not
    refs = back.pods[0].containers[0].config_refs
    assert [(r.kind, r.name, r.key) for r in refs] == [("Secret", "db-credentials", "password")]


def test_trim_secret_and_configmap() -> None:
    secret, cm, _ = raw_items(FIX / "secret-canary.yaml")
    assert trim_object(secret) == {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db-credentials", "namespace": "shop", "uid": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
                     "labels": {"app": "web"}}}
    assert trim_object(cm)["data"] == {"app.properties": "", "LOG_LEVEL": ""}


def test_trim_keeps_only_listed_annotations() -> None:
    pvc = raw_items(FIX / "multi-doc.yaml")[1]
    sc = raw_items(FIX / "multi-doc.yaml")[2]
    assert trim_object(pvc)["metadata"]["annotations"]["volume.kubernetes.io/selected-node"].startswith("ip-10")
    assert trim_object(sc)["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    assert "parameters" not in trim_object(sc)
    pod = raw_items(FIX / "pods-list.yaml")[0]
    assert "annotations" not in trim_object(pod)["metadata"]


def test_secret_passed_raw_to_writer_is_still_trimmed(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "d"},
              "data": {"k": "Q0FOQVJZ"}, "stringData": {"k": "CANARY"}}
    write_snapshot([secret], tmp_path / "s.json", meta={})
    assert b"CANARY" not in (tmp_path / "s.json").read_bytes()
    assert b"Q0FOQVJZ" not in (tmp_path / "s.json").read_bytes()


def test_meta_to_header_round_trip(tmp_path: Path) -> None:
    meta = SnapshotMeta(source="live", created="2024-05-14T10:05:00Z", cluster_server="https://k:6443",
                        context="ctx", server_version="v1.30.1", collected=frozenset({"Node", "Pod"}),
                        namespaces=(), scheduler_names=None)
    write_snapshot(raw_items(FIX / "nodes-list.json"), tmp_path / "s.json", meta=meta_to_header(meta))
    back = load_path(tmp_path / "s.json").meta
    assert (back.context, back.server_version, back.collected, back.scheduler_names) == (
        "ctx", "v1.30.1", frozenset({"Node", "Pod"}), None)


def test_broken_snapshot_header(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps({"apiVersion": API_VERSION, "kind": "Snapshot", "metadata": {}}))
    with pytest.raises(InputFileError, match="without an items list"):
        load_path(tmp_path / "s.json")


def test_snapshot_items_are_released_as_they_are_converted() -> None:
    """Like List items: the raw objects of a big snapshot are dropped once converted."""
    from podtriage.loaders.snapshot_file import add_snapshot_document
    from podtriage.snapshot import SnapshotBuilder

    pods = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "ns"},
             "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}} for i in range(3)]
    doc = {"apiVersion": API_VERSION, "kind": "Snapshot", "metadata": {"collected": ["Pod"]}, "items": pods}
    seen: list[int] = []
    b = SnapshotBuilder()
    add = b.add

    def spy(obj: Any, *, origin: str = "") -> bool:
        seen.append(sum(1 for x in doc["items"] if x is not None))
        return add(obj, origin=origin)

    b.add = spy  # type: ignore[method-assign]
    assert add_snapshot_document(doc, b, "s.json") == 3
    assert seen == [2, 1, 0] and doc["items"] == []
    assert [p.name for p in b.build().pods] == ["p0", "p1", "p2"]
