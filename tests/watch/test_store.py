"""The watch's object store: trimmed objects, etcd key order, what counts as a change."""

from __future__ import annotations

import time

from podtriage.watch.store import Store, object_key


def _pod(ns: str, name: str, node: str = "", **status: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "resourceVersion": "1", "managedFields": [{"x": 1}]},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}]},
            "status": {"phase": "Pending", **status}}


def test_objects_are_trimmed_and_secrets_keep_no_data() -> None:
    s = Store()
    s.put("pods", _pod("a", "p"))
    s.put("secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "a"},
                      "data": {"password": "c2VjcmV0"}, "stringData": {"x": "y"}})
    (pod,) = list(s.items("pods"))
    assert "managedFields" not in pod["metadata"]
    (secret,) = list(s.items("secrets"))
    assert secret == {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "a"}}


def test_items_come_in_etcd_key_order_not_arrival_order() -> None:
    # etcd orders /registry/pods/NS/NAME bytewise: "a-b/x" sorts before "a/x" ('-' < '/')
    s = Store()
    for ns, name in (("a", "x"), ("a-b", "x"), ("a", "w"), ("b", "a")):
        s.put("pods", _pod(ns, name))
    assert [object_key(p) for p in list(s.items("pods"))] == ["a-b/x", "a/w", "a/x", "b/a"]


def test_a_repeat_of_the_same_object_is_no_change() -> None:
    s = Store()
    s.put("pods", _pod("a", "p"))
    s.take_changes()
    g = s.generation
    repeat = _pod("a", "p")
    repeat["metadata"]["resourceVersion"] = "2"  # only what the analysis never reads changed
    s.put("pods", repeat)
    assert s.generation == g and s.pending_since() is None
    s.put("pods", _pod("a", "p", node="n1"))
    assert s.generation == g + 1 and s.pending_since() is not None


def test_replace_reports_what_a_relist_changed() -> None:
    s = Store()
    s.replace("pods", [_pod("a", "keep"), _pod("a", "gone"), _pod("a", "moved")])
    added, changed, deleted = s.replace("pods", [_pod("a", "keep"), _pod("a", "moved", node="n"), _pod("a", "new")])
    assert (added, changed, deleted) == (1, 1, 1)
    assert [object_key(p) for p in list(s.items("pods"))] == ["a/keep", "a/moved", "a/new"]


def test_delete_and_drop() -> None:
    s = Store()
    s.put("pods", _pod("a", "p"))
    s.delete("pods", _pod("a", "p"))
    assert list(s.items("pods")) == [] and s.count("pods") == 0
    s.put("nodes", {"kind": "Node", "metadata": {"name": "n"}})
    s.drop("nodes")
    assert list(s.items("nodes")) == []


def test_quiet_streams_alone_ask_for_no_diagnosis() -> None:
    s = Store()
    s.set_quiet("lease")
    s.put("lease", {"kind": "Lease", "metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
                    "spec": {"renewTime": "2026-01-01T00:00:00Z"}})
    assert s.pending_since() is None
    before = time.monotonic()
    s.put("pods", _pod("a", "p"))
    since = s.pending_since()
    assert since is not None and since <= time.monotonic()
    ch = s.take_changes()
    assert ch.streams == {"lease", "pods"} and not ch.quiet_only and ch.first_at <= before + 1
    assert s.pending_since() is None
