"""Re-diagnosing only what changed (audit.scan.ScanMemo): the answer must be the one a diagnosis
of everything gives, after every change.

Two watchers hold the same objects (a fixture case's, put in their Stores as the reflectors would)
and see the same random sequence of changes: Pending pods created and deleted, events about pods
written, and now and then a change elsewhere (a node relabelled, a pod bound to a node). One
reuses the previous diagnosis's analyses where ScanMemo allows; the other (--refresh 0) analyses
everything every time. Both judge at the same fixed time; after every change their documents must
be equal, field for field (only durationSeconds and generated, the wall clock, differ). The reusing one must have reused.
"""

from __future__ import annotations

import copy
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from podtriage.watch.watcher import Watcher

from .test_watcher_offline import _objects, _watcher

CASES = Path(__file__).resolve().parents[2] / "fixtures" / "cases"
FIXED = datetime(2026, 11, 2, 12, 0, 0, tzinfo=timezone.utc)
STEPS = 14
TEAMS = ("team-a", "team-b")


def _same_time(w: Watcher) -> Watcher:
    w.server_now = lambda: FIXED  # type: ignore[method-assign]
    return w


def _doc(w: Watcher) -> dict:
    w.latest = w.diagnose()
    doc = dict(w.latest.document)
    doc.pop("durationSeconds", None)
    doc.pop("generated", None)  # the wall clock when it was made
    return doc


def _pending(objects: list[dict]) -> list[dict]:
    return [o for o in objects if o.get("kind") == "Pod" and not (o.get("spec") or {}).get("nodeName")
            and (o.get("status") or {}).get("phase", "Pending") == "Pending"]


def _event(pod: dict, i: int, rng: random.Random) -> dict:
    meta = pod["metadata"]
    reason, message = rng.choice([
        ("FailedScheduling", "0/6 nodes are available: 6 Insufficient cpu. preemption: 0/6 nodes are available: "
                             "6 No preemption victims found for incoming pod."),
        ("FailedScheduling", "0/6 nodes are available: 3 node(s) had untolerated taint {gpu: true}, "
                             "3 node(s) didn't match Pod's node affinity/selector."),
        ("FailedCreatePodSandBox", "failed to create pod sandbox"),
        ("Scheduled", "Successfully assigned"),
    ])
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.churn{i}", "namespace": meta.get("namespace", "default")},
            "involvedObject": {"kind": "Pod", "name": meta["name"], "namespace": meta.get("namespace", "default"),
                               "uid": meta.get("uid", "")},
            "reason": reason, "message": message, "type": "Warning", "count": rng.randint(1, 9),
            "firstTimestamp": "2026-11-02T11:50:00Z", "lastTimestamp": "2026-11-02T11:59:00Z",
            "source": {"component": "default-scheduler"}}


def _step(ws: list[Watcher], objects: list[dict], added: list[dict], rng: random.Random, i: int) -> str:
    pending = _pending(objects) + added
    op = rng.choice(["pod", "pod", "event", "event", "delete", "world"])
    if op == "pod" and pending:
        base = copy.deepcopy(rng.choice(pending))
        base["metadata"] = {**base["metadata"], "name": f"{base['metadata']['name']}-c{i}",
                            "uid": f"churn-{i}", "creationTimestamp": "2026-11-02T11:55:00Z"}
        if rng.random() < 0.5:  # the same pod in another team's namespace
            base["metadata"]["namespace"] = rng.choice(TEAMS)
        if rng.random() < 0.4:  # a shape of its own: another request
            for c in base["spec"].get("containers", [])[:1]:
                c.setdefault("resources", {}).setdefault("requests", {})["cpu"] = f"{rng.randint(1, 90)}"
        added.append(base)
        for w in ws:
            w.store.put("pods", base)
        return f"pod {base['metadata'].get('namespace')}/{base['metadata']['name']}"
    if op == "event" and pending:
        ev = _event(rng.choice(pending), i, rng)
        for w in ws:
            w.store.put("events", ev)
        return f"event {ev['metadata']['name']}"
    if op == "delete" and pending:
        gone = rng.choice(pending)  # an added one, or one of the case's own (a class's representative)
        if gone in added:
            added.remove(gone)
        else:
            objects.remove(gone)
        for w in ws:
            w.store.delete("pods", gone)
        return f"delete {gone['metadata'].get('namespace')}/{gone['metadata']['name']}"
    nodes = [o for o in objects if o.get("kind") == "Node"]
    if nodes and rng.random() < 0.5:
        n = copy.deepcopy(rng.choice(nodes))
        n["metadata"].setdefault("labels", {})[f"churn-{i}"] = "x"
        for w in ws:
            w.store.put("nodes", n)
        return f"relabel {n['metadata']['name']}"
    if nodes and pending:
        bound = copy.deepcopy(rng.choice(pending))
        bound["metadata"] = {**bound["metadata"], "name": f"bound-{i}", "uid": f"bound-{i}"}
        bound["spec"]["nodeName"] = rng.choice(nodes)["metadata"]["name"]
        bound["status"] = {"phase": "Running"}
        for w in ws:
            w.store.put("pods", bound)
        return f"bind {bound['metadata']['name']}"
    return "nothing"


def _cases() -> list[Path]:
    picked = sorted(CASES.glob("*.yaml"))
    return [p for p in picked if _pending(_objects(p))]


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.stem)
def test_reusing_analyses_answers_as_analysing_everything(case: Path) -> None:
    objects = _objects(case) + [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": t}} for t in TEAMS]
    objects = [o for o in objects if isinstance(o.get("metadata"), dict)]
    reusing, full = _same_time(_watcher(objects)), _same_time(_watcher(objects))
    full.cfg.refresh = 0
    assert _doc(reusing) == _doc(full)
    rng = random.Random(case.stem)
    added: list[dict] = []
    for i in range(STEPS):
        what = _step([reusing, full], objects, added, rng, i)
        assert _doc(reusing) == _doc(full), f"after step {i}: {what}"
    assert full.analyses_reused == 0


def test_only_the_changed_namespace_is_analysed_again() -> None:
    objects = _objects()
    w = _same_time(_watcher(objects))
    first = w.diagnose()
    w.latest = first
    assert first.reused == 0 and first.analysed == first.document["counts"]["analyses"]
    ml = next(p for p in _pending(objects) if p["metadata"]["namespace"] == "ml")
    w.store.put("events", _event(ml, 1, random.Random(1)))
    second = w.diagnose()
    # every class but the one whose representative is in ml is reused
    classes_in_ml = 1
    assert second.analysed == classes_in_ml and second.reused == first.analysed - classes_in_ml
    # a change elsewhere (a node) makes every analysis again
    node = copy.deepcopy(next(o for o in objects if o["kind"] == "Node"))
    node["metadata"]["labels"]["x"] = "y"
    w.store.put("nodes", node)
    third = w.diagnose()
    assert third.reused == 0 and third.analysed == first.analysed


@pytest.mark.parametrize("where", ["snapshot", "audit"])
def test_after_a_failed_diagnosis_everything_is_analysed_again(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import podtriage.audit.run as run_mod
    objects = _objects()
    w = _same_time(_watcher(objects))
    w.latest = w.diagnose()
    ml = next(p for p in _pending(objects) if p["metadata"]["namespace"] == "ml")
    w.store.put("events", _event(ml, 1, random.Random(1)))

    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError("boom")
    real_build = w.build_snapshot

    def build_then_fail() -> object:
        real_build()  # the new event converted (the store's change consumed), then a failure
        raise RuntimeError("boom")
    if where == "snapshot":
        monkeypatch.setattr(w, "build_snapshot", build_then_fail)
    else:
        monkeypatch.setattr(run_mod, "run_audit", boom)
    with pytest.raises(RuntimeError):
        w.diagnose()
    monkeypatch.undo()
    d = w.diagnose()  # no change since: the failed one's change must still be seen
    assert d.reused == 0 and d.analysed == d.document["counts"]["analyses"]
    full = _same_time(_watcher(objects))
    full.store.put("events", _event(ml, 1, random.Random(1)))
    expected = _doc(full)
    got = dict(d.document)
    got.pop("durationSeconds", None)
    got.pop("generated", None)
    assert got == expected
