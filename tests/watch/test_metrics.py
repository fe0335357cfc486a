"""`/metrics` of podtriage watch, from a real audit report over the demo cluster."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from podtriage.audit.render_machine import render_prometheus
from podtriage.audit.run import AuditOptions, run_audit
from podtriage.errors import InputError
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules
from podtriage.watch import metrics
from podtriage.watch.server import parse_listen

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')


@pytest.fixture(scope="module")
def report():
    return run_audit(load_path(str(ROOT / "fixtures" / "demo" / "cluster.yaml")), load_rules(), AuditOptions())


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, line
        labels = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out.setdefault(m.group(1), []).append((labels, float(m.group(3))))
    return out


def _render(report, per_pod: bool = False, **health) -> str:
    h = metrics.Histogram()
    for v in (0.003, 0.2, 7.0):
        h.observe(v)
    return metrics.render(report, made_at=0.0, per_pod=per_pod,
                          health={"last_sync": 1.5, "stale": False, "restarts": {("pods", "410"): 2}, **health},
                          durations=h, objects={"Pod": 3, "Node": 2}, version="9.9")


def test_pending_pods_count_each_pod_once_as_the_audit_metrics_do(report) -> None:
    assert report.pending, "the demo cluster has Pending pods"
    ours = _samples(_render(report))["podtriage_pending_pods"]
    audit = _samples(render_prometheus(report))["podtriage_pending_pods"]
    by_rule: dict[tuple[str, str, str], float] = {}
    for labels, n in ours:
        k = (labels["namespace"], labels["category"], labels["rule"])
        by_rule[k] = by_rule.get(k, 0) + n
        assert labels["severity"] in ("critical", "high", "medium", "low", "info", "none")
    assert by_rule == {(lab["namespace"], lab["category"], lab["rule"]): n for lab, n in audit}
    assert sum(n for _, n in ours) == len(report.pending)


def test_workloads_blocked_and_per_pod_info(report) -> None:
    s = _samples(_render(report, per_pod=True))
    blocked = s["podtriage_workloads_blocked"]
    assert blocked and all(set(lab) == {"namespace", "kind", "category"} for lab, _ in blocked)
    keys = {(w.namespace, w.kind, f.root_cause.category, w.name) for f in report.findings if f.blocking
            for w in f.workloads}
    assert sum(n for _, n in blocked) == len(keys)
    info = s["podtriage_pending_pod_info"]
    assert sorted((lab["namespace"], lab["pod"]) for lab, _ in info) == \
        sorted((p.namespace, p.name) for p in report.pending)
    assert "podtriage_pending_pod_info" not in _samples(_render(report))  # opt-in only


def test_process_health_metrics() -> None:
    s = _samples(_render(None, stale=True))
    assert s["podtriage_watch_stale"] == [({}, 1.0)]
    assert s["podtriage_watch_last_sync_timestamp_seconds"] == [({}, 1.5)]
    assert s["podtriage_watch_restarts_total"] == [({"resource": "pods", "reason": "410"}, 2.0)]
    buckets = {lab["le"]: n for lab, n in s["podtriage_diagnosis_duration_seconds_bucket"]}
    assert buckets["0.005"] == 1 and buckets["0.25"] == 2 and buckets["5.0"] == 2 and buckets["10.0"] == 3
    assert buckets["+Inf"] == 3 and s["podtriage_diagnosis_duration_seconds_count"] == [({}, 3.0)]
    assert s["podtriage_objects_held"] == [({"kind": "Node"}, 2.0), ({"kind": "Pod"}, 3.0)]
    assert s["podtriage_build_info"] == [({"version": "9.9"}, 1.0)]
    assert "podtriage_pending_pods" not in s  # no answer yet: no series


@pytest.mark.parametrize("text,want", [(":9417", ("", 9417)), ("127.0.0.1:80", ("127.0.0.1", 80)),
                                       ("[::1]:9417", ("::1", 9417)), ("9417", ("", 9417))])
def test_parse_listen(text: str, want: tuple[str, int]) -> None:
    assert parse_listen(text) == want


@pytest.mark.parametrize("text", ["nonsense", ":99999", "host:"])
def test_parse_listen_refuses(text: str) -> None:
    with pytest.raises(InputError, match="--listen"):
        parse_listen(text)


def test_a_kept_diagnosis_part_renders_as_a_fresh_one_and_ages_keep_growing(report) -> None:
    part = metrics.DiagnosisPart(report, True)
    h = metrics.Histogram()
    kw = dict(per_pod=True, health={"last_sync": 1.5, "stale": False, "restarts": {}}, durations=h,
              objects={"Pod": 3}, version="9.9")
    made = time.time() - 100
    fresh = metrics.render(report, made_at=made, **kw)
    kept = metrics.render(report, made_at=made, part=part, **kw)
    assert kept == fresh
    later = _samples(metrics.render(report, made_at=made - 50, part=part, **kw))["podtriage_pending_oldest_seconds"]
    now = _samples(kept)["podtriage_pending_oldest_seconds"]
    assert later and [lab for lab, _ in later] == [lab for lab, _ in now]
    assert all(49 <= b - a <= 51 for (_, a), (_, b) in zip(now, later))


def test_analyses_made_and_reused_are_counted() -> None:
    s = _samples(_render(None, analyses={"made": 7, "reused": 5}))
    assert s["podtriage_watch_analyses_total"] == [({"how": "made"}, 7.0), ({"how": "reused"}, 5.0)]
