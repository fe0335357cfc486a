"""The watch's diagnosis on objects put in its Store as the reflectors would (no API server: the
diagnosis never talks to it).

Memory: a watch process lives for weeks, so what one diagnosis allocates must not outlive the next
one. Diagnoses run with the cyclic collector off and the heap is frozen (gc.freeze) so that later
collections skip the converted objects. A cycle that is alive, or merely uncollected, when the
heap is frozen is never freed. These tests run Watcher.diagnose on the demo cluster's objects put
in a Store as the reflectors would (no API server: the diagnosis never talks to it) and look at
what the collector finds once everything is unfrozen again.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from podtriage.scheduler.framework import ClusterState
from podtriage.watch.server import Answers
from podtriage.watch.watcher import Watcher

from .offline import DEMO, filled_watcher, objects_of


def _objects(path: Path = DEMO) -> list[dict]:
    return objects_of(path)


def _watcher(objects: list[dict] | None = None) -> Watcher:
    return filled_watcher(objects_of() if objects is None else objects)


@pytest.fixture
def clean_heap() -> Iterator[None]:
    gc.unfreeze()
    gc.collect()
    yield
    gc.unfreeze()


def _frozen_garbage() -> list[object]:
    """Unreachable objects a collection cannot free because they are frozen: what is left after a
    normal collection and found once nothing is frozen (kept for inspection, then released)."""
    gc.collect()
    gc.unfreeze()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    return found


def _churn(w: Watcher, i: int) -> None:
    w.store.put("pods", {"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": f"churn-{i}", "namespace": "ml", "uid": f"u-{i}"},
                         "spec": {"containers": [{"name": "c", "image": "i",
                                                  "resources": {"requests": {"cpu": "64"}}}]},
                         "status": {"phase": "Pending"}})


def test_no_diagnosis_leaves_its_reference_cycles_frozen(clean_heap: None) -> None:
    w = _watcher()
    for i in range(4):
        _churn(w, i)
        w.latest = w.diagnose()
    assert w.freezes >= 1
    stuck = _frozen_garbage()
    # Each diagnosis builds a ClusterState (cyclic with its NodeInfos), evaluations, causal graphs;
    # none may be left for a collector that would never see it (nor anything else).
    assert [o for o in stuck if isinstance(o, ClusterState)] == []
    assert len(stuck) == 0, sorted({type(o).__name__ for o in stuck})
    assert w.latest.document["counts"]["pendingPods"] >= 4


def test_the_endpoints_cache_is_dropped_before_the_heap_is_frozen(clean_heap: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    w = _watcher()
    answers = Answers(w, per_pod=False)
    w.before_freeze = answers.forget
    w.latest = w.diagnose()
    pending = next(p for p in w.latest.snapshot.pods if p.phase == "Pending")
    status, doc = answers.explain(pending.namespace, pending.name)
    assert status == 200 and doc["target"]["name"] == pending.name and doc["rootCauses"]
    assert answers._explainer is not None
    # The next diagnosis freezes again (as it does after enough churn).
    monkeypatch.setattr(w, "_freeze_due", lambda: True)
    _churn(w, 99)
    w.latest = w.diagnose()
    assert w.freezes == 2
    assert answers._explainer is None and answers._explained == {}
    assert not [o for o in _frozen_garbage() if isinstance(o, ClusterState)]


def _loop(w: Watcher) -> threading.Thread:
    t = threading.Thread(target=w._diagnose_loop, daemon=True)
    t.start()
    return t


def _wait(cond, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


@contextmanager
def _diagnosed(refresh: float) -> Iterator[Watcher]:
    """A watcher with `--refresh refresh` running its loop, once its first diagnosis is out."""
    w = _watcher()
    w.cfg.refresh = refresh
    t = _loop(w)
    try:
        assert _wait(lambda: w.latest is not None, 30)
        yield w
    finally:
        w.close()
        t.join(10)


def test_a_quiet_cluster_is_diagnosed_again_every_refresh_seconds() -> None:
    with _diagnosed(0.3) as w:
        first = w.latest
        assert _wait(lambda: w.durations.count >= 3, 30), "no refresh of a quiet cluster"
        assert w.latest is not first and w.latest.made_at - first.made_at >= 0.6
        assert w.latest.document["counts"] == first.document["counts"]


def test_without_refresh_a_quiet_cluster_keeps_its_answer_until_a_change() -> None:
    with _diagnosed(0) as w:
        first = w.latest
        time.sleep(1.0)
        assert w.latest is first and w.durations.count == 1
        _churn(w, 1)
        assert _wait(lambda: w.latest is not first, 30)
        assert w.latest.document["counts"]["pendingPods"] == first.document["counts"]["pendingPods"] + 1


@pytest.mark.parametrize("value", ["-1", "nan", "soon"])
def test_a_bad_refresh_is_a_usage_error_before_any_cluster_io(value: str, tmp_path: Path) -> None:
    import subprocess
    import sys
    # No kubeconfig anywhere: reaching the cluster would fail with exit 3, not 2.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "none")}
    r = subprocess.run([sys.executable, "-m", "podtriage.cli", "watch", "--refresh", value, "--listen", "127.0.0.1:0"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2, r.stderr
    assert "--refresh" in r.stderr or "refresh" in r.stderr.lower()
    assert "Traceback" not in r.stderr
