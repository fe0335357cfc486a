"""`/metrics` of `podtriage watch`: Prometheus text exposition 0.0.4, bounded cardinality.

The diagnosis metrics are computed from the same AuditReport as `podtriage audit -o prometheus`
(audit/render_machine.py): each Pending pod counted once, under its primary root cause (category
"unexplained", rule "none" when there is none). Labels are namespaces, categories, rules,
severities and workload kinds: bounded by the rulebook and the cluster's namespaces. Pod names
appear only with --per-pod-metrics (`podtriage_pending_pod_info`).

Names are a contract (alert rules in deploy/ are written against them): do not rename.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..audit.render_machine import _plain_sample

# Diagnosis latency buckets (seconds): a small cluster answers in milliseconds, 150,000 pods in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RESTART_REASONS = ("410", "cut", "error", "429")


class Histogram:
    """Cumulative bucket counts, sum and count (memory does not grow with the number of diagnoses)."""

    def __init__(self, buckets: Sequence[float] = DURATION_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * len(self.buckets)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        for i, le in enumerate(self.buckets):
            if value <= le:
                self.counts[i] += 1
        self.sum += value
        self.count += 1


def pending_rows(report: Any) -> list[dict[str, Any]]:
    """One row per Pending pod: namespace, pod, category, rule, severity, age (seconds)."""
    sev = {f.id: f.severity for f in (*report.findings, *report.suppressed)}
    rows = []
    for p in report.pending:
        rows.append({"namespace": p.namespace, "pod": p.name, "category": p.primary_category or "unexplained",
                     "rule": p.primary_rule or "none", "severity": sev.get(p.primary_finding, "none"),
                     "age": p.age_seconds or 0.0})
    return rows


def workloads_blocked(report: Any) -> dict[tuple[str, str, str], int]:
    """(namespace, kind, category) -> distinct workloads an unsuppressed blocking finding of that
    category covers (a workload blocked for two reasons counts under both)."""
    seen: dict[tuple[str, str, str], set[str]] = {}
    for f in report.findings:
        if not f.blocking:
            continue
        for w in f.workloads:
            seen.setdefault((w.namespace, w.kind, f.root_cause.category), set()).add(w.key)
    return {k: len(v) for k, v in seen.items()}


class DiagnosisPart:
    """What /metrics says about one diagnosis, rendered once for it: Prometheus scrapes (and every
    replica of it, and dashboards) read the same answer until the next diagnosis. With
    --per-pod-metrics at 10,000 Pending pods, rendering it took ~37 ms of the interpreter per scrape,
    time the diagnosis thread waited for. Only the oldest ages, which grow with the clock, are
    rendered per scrape."""

    def __init__(self, report: Any | None, per_pod: bool) -> None:
        out: list[str] = []
        rows = pending_rows(report) if report is not None else []
        _family(out, "podtriage_pending_pods",
                "Pending pods by namespace and the category, rule and severity of their primary root cause.")
        counts: dict[tuple[str, str, str, str], int] = {}
        oldest: dict[tuple[str, str], float] = {}
        for r in rows:
            k = (r["namespace"], r["category"], r["rule"], r["severity"])
            counts[k] = counts.get(k, 0) + 1
            ok = (r["namespace"], r["category"])
            oldest[ok] = max(oldest.get(ok, 0.0), r["age"])
        for (ns, cat, rule, sev), n in sorted(counts.items()):
            out.append(_plain_sample("podtriage_pending_pods",
                                     {"namespace": ns, "category": cat, "rule": rule, "severity": sev}, n))
        self.head = "\n".join(out)
        self.oldest = sorted(oldest.items())  # ages at the diagnosis: the clock adds to them
        out = []
        _family(out, "podtriage_workloads_blocked",
                "Workloads with pods blocked by an unsuppressed blocking root cause, by namespace, kind and category.")
        if report is not None:
            for (ns, kind, cat), n in sorted(workloads_blocked(report).items()):
                out.append(_plain_sample("podtriage_workloads_blocked", {"namespace": ns, "kind": kind, "category": cat}, n))
        if per_pod:
            _family(out, "podtriage_pending_pod_info", "1 per Pending pod, with its primary root cause (--per-pod-metrics).")
            for r in sorted(rows, key=lambda r: (r["namespace"], r["pod"])):
                out.append(_plain_sample("podtriage_pending_pod_info", {"namespace": r["namespace"], "pod": r["pod"],
                                                                        "category": r["category"], "rule": r["rule"],
                                                                        "severity": r["severity"]}, 1))
        self.tail = "\n".join(out)


def _family(out: list[str], name: str, help_: str, type_: str = "gauge") -> None:
    out.append(f"# HELP {name} {help_}")
    out.append(f"# TYPE {name} {type_}")


def render(report: Any | None, *, made_at: float, per_pod: bool, health: Mapping[str, Any],
           durations: Histogram, objects: Mapping[str, int], version: str,
           part: DiagnosisPart | None = None) -> str:
    """The exposition; `part` is the report's DiagnosisPart when one was kept (made from `report`
    and `per_pod`, else made here)."""
    if part is None:
        part = DiagnosisPart(report, per_pod)
    out: list[str] = [part.head]

    def family(name: str, help_: str, type_: str = "gauge") -> None:
        _family(out, name, help_, type_)

    def sample(name: str, labels: Mapping[str, str], value: float) -> None:
        out.append(_plain_sample(name, labels, value))

    # Ages grow between diagnoses: measured to now, not to when the last diagnosis ran.
    since = max(time.time() - made_at, 0.0) if report is not None else 0.0
    family("podtriage_pending_oldest_seconds", "Age of the oldest Pending pod per namespace and category.")
    for (ns, cat), age in part.oldest:
        sample("podtriage_pending_oldest_seconds", {"namespace": ns, "category": cat}, round(age + since))
    out.append(part.tail)

    family("podtriage_watch_last_sync_timestamp_seconds",
           "When the last diagnosis from fully synced watches finished (Unix time); 0 before the first.")
    sample("podtriage_watch_last_sync_timestamp_seconds", {}, round(float(health.get("last_sync", 0.0)), 3))
    family("podtriage_watch_stale",
           "1 while the answers served are the last good ones because the API server or a watch is failing.")
    sample("podtriage_watch_stale", {}, 1 if health.get("stale") else 0)
    family("podtriage_watch_restarts_total",
           "Watch and list restarts by resource and reason (410: resourceVersion gone, relisted; cut: stream "
           "ended abnormally; 429: throttled; error: other failures).", "counter")
    for (res, reason), n in sorted(dict(health.get("restarts") or {}).items()):
        sample("podtriage_watch_restarts_total", {"resource": res, "reason": reason}, n)

    family("podtriage_diagnosis_duration_seconds",
           "How long one diagnosis took (snapshot from the watched objects, then the audit's analysis).",
           "histogram")
    for le, n in zip(durations.buckets, durations.counts):
        sample("podtriage_diagnosis_duration_seconds_bucket", {"le": repr(le)}, n)
    sample("podtriage_diagnosis_duration_seconds_bucket", {"le": "+Inf"}, durations.count)
    out.append(f"podtriage_diagnosis_duration_seconds_sum {durations.sum!r}")
    sample("podtriage_diagnosis_duration_seconds_count", {}, durations.count)

    family("podtriage_watch_analyses_total",
           "Analyses of equivalence classes of Pending pods by the diagnoses: made, or reused from the previous "
           "diagnosis because nothing they read changed (only Pending pods and events of other namespaces).",
           "counter")
    analyses = dict(health.get("analyses") or {})
    for how in ("made", "reused"):
        sample("podtriage_watch_analyses_total", {"how": how}, int(analyses.get(how, 0)))

    family("podtriage_objects_held", "Objects held from the watches, by kind.")
    for kind, n in sorted(objects.items()):
        sample("podtriage_objects_held", {"kind": kind}, n)

    family("podtriage_build_info", "1, labelled with the podtriage version.")
    sample("podtriage_build_info", {"version": version}, 1)
    return "\n".join(out) + "\n"
