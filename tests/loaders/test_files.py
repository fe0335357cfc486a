"""Offline loading: kubectl output files, folders, cluster-info dumps; errors with file and line."""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import pytest

from podtriage.errors import InputError, InputFileError
from podtriage.loaders import load_path, load_paths

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "loaders"
DUMP = FIX / "cluster-info-dump"


# --- accepted inputs ----------------------------------------------------------------------------

def test_list_yaml() -> None:
    snap = load_path(FIX / "pods-list.yaml")
    assert snap.meta.source == str(FIX / "pods-list.yaml")
    assert sorted(p.name for p in snap.pods) == [
        "web-6d8f7b9c5d-4qmzt", "web-6d8f7b9c5d-9bd8w", "web-6d8f7b9c5d-x7k2p"]
    pending = snap.pod_by_key["shop/web-6d8f7b9c5d-x7k2p"]
    assert pending.phase == "Pending"
    assert pending.condition("PodScheduled").reason == "Unschedulable"
    assert pending.containers[0].requests == {"cpu": 500, "memory": 512 * 2**20}
    # timestamps stay text, whatever the YAML quoting
    assert pending.creation_timestamp == "2024-05-14T09:12:03Z"
    assert snap.has("Pod")
    # no node list in the input: per-node verdicts must be known to be unavailable
    assert not snap.has("Node") and snap.nodes == ()
    assert snap.meta.warnings == ()


def test_list_json() -> None:
    snap = load_path(str(FIX / "nodes-list.json"))
    assert len(snap.nodes) == 3 and snap.has("Node") and not snap.has("Pod")
    gpu = snap.node_by_name["ip-10-0-3-17.eu-west-1.compute.internal"]
    assert [str(t) for t in gpu.taints] == ["dedicated=gpu:NoSchedule"]
    assert gpu.allocatable["cpu"] == 7910
    assert gpu.ready == "True"


def test_multi_document_yaml() -> None:
    snap = load_path(FIX / "multi-doc.yaml")
    assert [w.kind for w in snap.workloads] == ["Deployment"]
    assert snap.workloads[0].template_pod is not None
    assert snap.pvcs[0].selected_node == "ip-10-0-1-23.eu-west-1.compute.internal"
    assert snap.default_storage_class is not None and snap.default_storage_class.name == "gp3"
    assert snap.meta.collected == {"Deployment", "PersistentVolumeClaim", "StorageClass"}


def test_folder_recursive_ignores_other_files() -> None:
    snap = load_path(FIX / "folder")
    assert len(snap.pods) == 2 and len(snap.nodes) == 2
    assert [c.name for c in snap.pvcs] == ["data-db-0"]  # from storage/pvc.yml
    assert [s.name for s in snap.storage_classes] == ["gp3"]
    assert snap.meta.warnings == ()  # README.txt is not an input file, silently ignored


def test_folder_warns_about_unreadable_and_broken_files(tmp_path: Path) -> None:
    (tmp_path / "pods.yaml").write_bytes((FIX / "pods-list.yaml").read_bytes())
    (tmp_path / "gone.yaml").symlink_to(tmp_path / "does-not-exist.yaml")
    (tmp_path / "broken.yaml").write_bytes((FIX / "malformed.yaml").read_bytes())
    snap = load_path(tmp_path)
    assert len(snap.pods) == 3
    text = "\n".join(snap.meta.warnings)
    assert "gone.yaml" in text
    assert f"{tmp_path / 'broken.yaml'}:17" in text


def test_cluster_info_dump_folder() -> None:
    snap = load_path(DUMP)
    assert len(snap.nodes) == 3
    assert {p.key for p in snap.pods} == {
        "shop/web-6d8f7b9c5d-x7k2p", "shop/web-6d8f7b9c5d-4qmzt", "shop/web-6d8f7b9c5d-9bd8w",
        "kube-system/kube-scheduler-ip-10-0-1-23.eu-west-1.compute.internal"}
    assert {(w.kind, w.name) for w in snap.workloads} == {("Deployment", "web"), ("ReplicaSet", "web-6d8f7b9c5d")}
    evs = snap.events_for("Pod", "shop", "web-6d8f7b9c5d-x7k2p")
    assert [e.reason for e in evs] == ["FailedScheduling"] and evs[0].count == 6
    # typed Lists, even empty ones, say the kind was read; kinds the dump lacks are not collected
    assert {"Node", "Pod", "Event", "ReplicaSet", "Deployment", "DaemonSet", "StatefulSet"} <= snap.meta.collected
    assert not snap.has("PersistentVolumeClaim")
    assert snap.meta.warnings == ()


def test_cluster_info_dump_to_stdout_stream(tmp_path: Path) -> None:
    """`kubectl cluster-info dump > dump.txt`: concatenated JSON Lists with container logs in between."""
    parts = [(DUMP / "nodes.json").read_text(), (DUMP / "shop" / "pods.json").read_text(),
             (DUMP / "shop" / "web-6d8f7b9c5d-4qmzt" / "logs.txt").read_text(),
             (DUMP / "shop" / "events.json").read_text()]
    (tmp_path / "dump.json").write_text("".join(parts))
    snap = load_path(tmp_path / "dump.json")
    assert (len(snap.nodes), len(snap.pods), len(snap.events)) == (3, 3, 2)


def test_json_stream_of_objects(tmp_path: Path) -> None:
    items = json.loads((FIX / "nodes-list.json").read_text())["items"]
    (tmp_path / "watch.json").write_text("\n".join(json.dumps(i, indent=2) for i in items))
    assert len(load_path(tmp_path / "watch.json").nodes) == 3


def test_gzip_input(tmp_path: Path) -> None:
    (tmp_path / "nodes.json.gz").write_bytes(gzip.compress((FIX / "nodes-list.json").read_bytes()))
    assert len(load_path(tmp_path / "nodes.json.gz").nodes) == 3
    # magic bytes decide, not the name
    (tmp_path / "nodes.json").write_bytes(gzip.compress((FIX / "nodes-list.json").read_bytes()))
    assert len(load_path(tmp_path / "nodes.json").nodes) == 3


def test_utf16_from_powershell_redirect(tmp_path: Path) -> None:
    (tmp_path / "pods.yaml").write_bytes((FIX / "pods-list.yaml").read_text().encode("utf-16"))
    assert len(load_path(tmp_path / "pods.yaml").pods) == 3


def test_explicit_empty_nodelist_means_no_nodes(tmp_path: Path) -> None:
    (tmp_path / "nodes.json").write_text('{"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": []}')
    (tmp_path / "pods.yaml").write_bytes((FIX / "pods-list.yaml").read_bytes())
    snap = load_path(tmp_path)
    assert snap.has("Node") and snap.nodes == ()


def test_generic_empty_list_says_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("apiVersion: v1\nitems: []\nkind: List\nmetadata:\n  resourceVersion: ''\n")
    (tmp_path / "pods.yaml").write_bytes((FIX / "pods-list.yaml").read_bytes())
    assert load_path(tmp_path).meta.collected == {"Pod"}


def test_duplicate_objects_warn(tmp_path: Path) -> None:
    snap = load_paths([FIX / "pods-list.yaml", FIX / "folder" / "pods.yaml"])
    assert len(snap.pods) == 3
    dups = [w for w in snap.meta.warnings if "duplicate Pod" in w]
    assert len(dups) == 2 and "shop/web-6d8f7b9c5d-x7k2p" in dups[0]


def test_unconvertible_object_becomes_a_warning(tmp_path: Path) -> None:
    docs = (FIX / "pods-list.yaml").read_text() + "---\napiVersion: v1\nkind: Pod\nmetadata:\n  namespace: shop\n"
    (tmp_path / "pods.yaml").write_text(docs)
    snap = load_path(tmp_path / "pods.yaml")
    assert len(snap.pods) == 3
    assert any("skipped Pod" in w and "pods.yaml" in w for w in snap.meta.warnings)


def test_unquoted_timestamps_stay_strings(tmp_path: Path) -> None:
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\n"
        "  creationTimestamp: 2024-05-14T09:12:03Z\nspec:\n  containers:\n  - name: c\n    image: busybox\n")
    assert load_path(tmp_path / "pod.yaml").pods[0].creation_timestamp == "2024-05-14T09:12:03Z"


def test_large_json_list(tmp_path: Path) -> None:
    """Per-item work only: 20,000 pods load in seconds (150,000 scale linearly)."""
    import yaml

    pod = yaml.safe_load((FIX / "pods-list.yaml").read_text())["items"][1]
    items = [{**pod, "metadata": {**pod["metadata"], "name": f"p-{i}", "uid": f"uid-{i}"}} for i in range(20_000)]
    items += json.loads((FIX / "nodes-list.json").read_text())["items"]
    (tmp_path / "big.json").write_text(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}))
    start = time.perf_counter()
    snap = load_path(tmp_path / "big.json")
    elapsed = time.perf_counter() - start
    assert len(snap.pods) == 20_000 and len(snap.nodes) == 3
    assert elapsed < 30, elapsed


# --- errors: precise, never a traceback --------------------------------------------------------

def test_malformed_yaml_reports_line() -> None:
    with pytest.raises(InputFileError) as ei:
        load_path(FIX / "malformed.yaml")
    assert ei.value.line == 17
    assert str(ei.value).startswith(f"{FIX / 'malformed.yaml'}:17: invalid YAML")


def test_malformed_json_reports_line() -> None:
    with pytest.raises(InputFileError) as ei:
        load_path(FIX / "malformed.json")
    assert ei.value.line == 10
    assert "invalid JSON" in str(ei.value) and ":10:" in str(ei.value)


def test_missing_path() -> None:
    with pytest.raises(InputFileError, match="no such file or directory"):
        load_path(FIX / "nope.yaml")


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "kubectl").write_bytes(b"\x7fELF\x02\x01\x01\x00" + os.urandom(512))
    with pytest.raises(InputFileError, match="binary file"):
        load_path(tmp_path / "kubectl")


def test_non_utf8_text(tmp_path: Path) -> None:
    (tmp_path / "latin1.yaml").write_bytes(b"kind: Pod\nmetadata:\n  name: caf\xe9\n")
    with pytest.raises(InputFileError, match="not UTF-8") as ei:
        load_path(tmp_path / "latin1.yaml")
    assert ei.value.line == 3


@pytest.mark.parametrize("content", [b"", b"\n\n   \n", b"---\n...\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "empty.yaml").write_bytes(content)
    with pytest.raises(InputFileError, match="no Kubernetes objects"):
        load_path(tmp_path / "empty.yaml")


def test_yaml_without_kubernetes_objects(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("replicaCount: 3\nimage:\n  repository: nginx\n")
    with pytest.raises(InputFileError, match="no Kubernetes objects found"):
        load_path(tmp_path / "values.yaml")


def test_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InputFileError, match="no Kubernetes objects found in this folder"):
        load_path(tmp_path)


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    (tmp_path / "bomb.yaml").write_text("kind: Pod\nmetadata: {name: x}\n" + "\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(InputFileError, match="aliases are not allowed") as ei:
        load_path(tmp_path / "bomb.yaml")
    assert time.perf_counter() - start < 2
    assert ei.value.line == 3  # where the aliased anchor `&a` is


def test_python_tags_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "evil.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: evil\n"
        f"  labels: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(InputFileError, match="not allowed") as ei:
        load_path(tmp_path / "evil.yaml")
    assert ei.value.line == 5
    assert not marker.exists()


def test_errors_belong_to_the_package_hierarchy() -> None:
    assert issubclass(InputFileError, InputError)
