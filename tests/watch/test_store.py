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


def test_bytes_are_released_after_conversion_and_a_change_brings_new_ones() -> None:
    s = Store()
    s.replace("pods", [_pod("a", "p"), _pod("a", "q")])
    (k1, v1, b1), (k2, v2, b2) = s.packed("pods")
    assert (k1, k2) == ("a/p", "a/q") and b1 is not None and b2 is not None
    held = s.raw_bytes()
    assert held == len(b1) + len(b2)
    # p changes between the diagnosis reading it and releasing it: its new bytes stay
    s.put("pods", _pod("a", "p", node="n1"))
    assert s.release("pods", [(k1, v1), (k2, v2)]) == 1
    (_, v1b, b1b), (_, v2b, b2b) = s.packed("pods")
    assert v1b is not v1 and b1b is not None and v2b is v2 and b2b is None
    assert s.raw_bytes() == len(b1b)
    # a repeat of q is still no change without its bytes (the digest says so)
    g = s.generation
    s.put("pods", _pod("a", "q"))
    assert s.generation == g and s.packed("pods")[1][1] is v2
    # items() cannot decode what was released: it says so instead of leaving objects out
    try:
        list(s.items("pods"))
    except RuntimeError as exc:
        assert "released" in str(exc)
    else:
        raise AssertionError("items() of a released stream")


def test_a_relist_keeps_the_version_of_what_did_not_change() -> None:
    s = Store()
    s.replace("pods", [_pod("a", "keep"), _pod("a", "moved")])
    versions = {k: v for k, v, _ in s.packed("pods")}
    s.release("pods", versions.items())
    assert s.raw_bytes() == 0
    s.replace("pods", [_pod("a", "keep"), _pod("a", "moved", node="n"), _pod("a", "new")])
    after = {k: (v, b) for k, v, b in s.packed("pods")}
    assert after["a/keep"][0] is versions["a/keep"] and after["a/keep"][1] is None
    assert after["a/moved"][0] is not versions["a/moved"] and after["a/moved"][1] is not None
    assert after["a/new"][1] is not None
    s.delete("pods", _pod("a", "new"))
    s.drop("pods")
    assert s.packed("pods") == [] and s.raw_bytes() == 0 and list(s.items("pods")) == []
