"""Findings that differ only in the object's name fold into one, with exact counts (issue 18).

Measured on the cluster the issue was found on (tests/report300.py): 83 Pending pods each
missing its own PersistentVolumeClaim were 83 one-pod findings.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from podtriage.audit.command import render
from podtriage.audit.model import Finding, PodRef, Suppression, fold_key
from podtriage.audit.render_machine import validate_audit
from podtriage.audit.run import AuditOptions, run_audit
from podtriage.audit.scan import ScanScope, fold_findings, scan
from podtriage.audit.suppress import AuditConfig
from podtriage.analyze import Explainer
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules
from report300 import write_cluster

NOW = dt.datetime(2026, 11, 20, 10, 15, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def snap(tmp_path_factory):
    return load_path(write_cluster(tmp_path_factory.mktemp("c300") / "c300.json"))


@pytest.fixture(scope="module")
def report(snap, rules):
    return run_audit(snap, rules, AuditOptions(), now=NOW)


@pytest.fixture(scope="module")
def unfolded(snap, rules):
    """The scan's findings before folding: one per object at fault."""
    return scan(snap, rules, ScanScope(), now=NOW, explainer=Explainer(snap, rules, NOW)).findings


def test_missing_claims_fold_into_one_finding_with_exact_counts(report, unfolded) -> None:
    singles = [f for f in unfolded if f.root_cause.rule == "pvc-not-found"]
    assert len(singles) == 83  # what the report used to show: 83 cards
    [pvc] = [f for f in report.findings if f.root_cause.rule == "pvc-not-found"]
    assert pvc.folded is not None and pvc.folded.kind == "PersistentVolumeClaim"
    # every object, with the id its own finding has, and every pod once
    assert {o.id for o in pvc.folded.objects} == {f.id for f in singles}
    assert {p.key for p in pvc.pods} == {p.key for f in singles for p in f.pods}
    assert len(pvc.pods) == sum(len(f.pods) for f in singles) == 83
    assert {w.key for w in pvc.workloads} == {w.key for f in singles for w in f.workloads}
    namespaces = sorted({f.subject.split("/")[1] for f in singles})
    assert pvc.folded.namespaces == tuple(namespaces)
    assert pvc.subject == f"83 PersistentVolumeClaims in {len(namespaces)} namespaces"
    assert pvc.headline == ("The pod mounts a PersistentVolumeClaim that does not exist "
                            f"[83 PersistentVolumeClaims in {len(namespaces)} namespaces] — 83 pods in 83 workloads")
    # the example is the first object, and the message, fix and graph are its own
    first = pvc.folded.objects[0]
    assert first.example_pod == pvc.example_pod and first.message == pvc.root_cause.message
    [symptom] = [n for n in pvc.graph["nodes"] if n["kind"] == "symptom"]
    assert symptom["label"] == "83 pod(s) Pending in 83 workload(s)"


def test_the_folded_id_is_stable_while_the_names_change(report, unfolded) -> None:
    singles = [f for f in unfolded if f.root_cause.rule == "pvc-not-found"]
    [pvc] = [f for f in report.findings if f.root_cause.rule == "pvc-not-found"]
    renamed = [_renamed(f, "data-", "claim-") for f in singles[:40]]
    [again] = fold_findings(renamed)
    assert again.id == pvc.id and again.folded is not None and again.folded.count == 40


def _renamed(f: Finding, old: str, new: str) -> Finding:
    rc = replace(f.root_cause, message=f.root_cause.message.replace(old, new))
    return replace(f, id=f.id[::-1], subject=f.subject.replace(old, new), root_cause=rc)


def test_spec_terms_are_not_names_and_stay_apart(report) -> None:
    taints = [f for f in report.findings if f.root_cause.rule == "taint-untolerated"]
    # two pools' taints: different tolerations fix them, so two findings, never folded
    assert {f.subject for f in taints} >= {"taint nvidia.com/gpu=present:NoSchedule",
                                           "taint dedicated=infra:NoSchedule"}
    assert all(f.folded is None and fold_key(f) is None for f in taints)


def test_one_object_alone_is_not_folded(unfolded) -> None:
    one = next(f for f in unfolded if f.root_cause.rule == "pvc-not-found")
    assert fold_findings([one]) == [one]


def test_a_pod_blocked_by_two_claims_counts_once() -> None:
    snap = load_path(Path(__file__).parent / "fixtures" / "cluster.yaml")
    rules = load_rules()
    [pvc] = [f for f in run_audit(snap, rules, AuditOptions(), now=NOW).findings
             if f.root_cause.rule == "pvc-not-found"]
    other = replace(pvc, id="0" * 12, subject=pvc.subject.replace("reports-data", "reports-logs"),
                    root_cause=replace(pvc.root_cause, message=pvc.root_cause.message.replace("reports-data",
                                                                                              "reports-logs")))
    [both] = fold_findings([pvc, other])
    assert both.folded is not None and both.folded.count == 2
    assert len(both.pods) == 1 and [w.pods for w in both.workloads] == [1]  # one pod, one workload, counted once


def test_a_taint_counts_only_the_pods_it_blocks(report) -> None:
    # The infra pool's taint blocks the 83 pods that select the pool; the 84 GPU pods, which the
    # ranking once also counted under it (as background), are counted under the GPU taint only.
    infra = [f for f in report.findings if f.subject == "taint dedicated=infra:NoSchedule"]
    assert [(f.kind, len(f.pods)) for f in infra] == [("blocking", 83)]
    assert all("infra" in p.name for p in infra[0].pods)
    for f in report.findings:  # a finding's kind is its root cause's
        assert (f.kind == "blocking") == f.root_cause.blocking or f.kind == "risk", f.headline


def test_a_background_finding_never_outranks_a_blocking_one(report) -> None:
    kinds = [f.kind for f in report.findings]
    assert kinds == sorted(kinds, key=["blocking", "advisory", "risk"].index)
    # even with more pods: an advisory finding with 500 pods comes after every blocking one
    first = report.findings[0]
    wide = replace(first, id="e" * 12, kind="advisory", pods=first.pods + tuple(
        PodRef(namespace="x", name=f"q{i}", status="Pending", age_seconds=1.0, workload="Pod/x/q") for i in range(500)),
        root_cause=replace(first.root_cause, blocking=False, severity="low"))
    ordered = sorted([wide, *report.findings], key=Finding.impact_key)
    assert ordered.index(wide) == len(ordered) - 1 or all(f.kind != "blocking" for f in ordered[ordered.index(wide):])
    # and a finding whose root cause does not block sorts as not blocking, whatever its kind says
    blocking = report.findings[0]
    fake = replace(blocking, id="f" * 12, pods=blocking.pods + tuple(
        PodRef(namespace="x", name=f"p{i}", status="Pending", age_seconds=1.0, workload="Pod/x/p") for i in range(500)),
        root_cause=replace(blocking.root_cause, blocking=False))
    assert sorted([fake, *report.findings[1:3]], key=Finding.impact_key)[-1] is fake


def test_the_report_is_6_findings_not_93(report) -> None:
    # One per cause the generator gave its Pending pods (93 before folding and the decided causes).
    assert len(report.findings) == 6 and report.counts["findings"] == 6
    assert all(f.kind == "blocking" for f in report.findings)
    assert report.counts["pendingPods"] == 500 and report.counts["blockedPods"] == 500


def test_suppressing_one_claim_by_its_own_id_leaves_the_rest_folded(snap, rules, unfolded) -> None:
    one = next(f for f in unfolded if f.root_cause.rule == "pvc-not-found")
    config = AuditConfig(suppressions=(Suppression(reason="restored from backup tonight", finding=one.id),))
    r = run_audit(snap, rules, AuditOptions(config=config), now=NOW)
    [pvc] = [f for f in r.findings if f.root_cause.rule == "pvc-not-found"]
    assert pvc.folded is not None and pvc.folded.count == 82 and one.id not in pvc.member_ids
    assert [f.id for f in r.suppressed] == [one.id] and not r.unused_suppressions


def test_suppressing_the_folded_id_silences_every_claim(snap, rules, report) -> None:
    [pvc] = [f for f in report.findings if f.root_cause.rule == "pvc-not-found"]
    config = AuditConfig(suppressions=(Suppression(reason="the data team recreates them", finding=pvc.id),))
    r = run_audit(snap, rules, AuditOptions(config=config), now=NOW)
    assert not [f for f in r.findings if f.root_cause.rule == "pvc-not-found"]
    [silenced] = r.suppressed
    assert silenced.id == pvc.id and silenced.folded is not None and silenced.folded.count == 83
    assert not r.unused_suppressions


def test_folded_findings_in_every_format(report) -> None:
    doc = json.loads(render(report, "json"))
    assert validate_audit(doc) == []
    [pvc] = [f for f in doc["findings"] if f["rule"] == "pvc-not-found"]
    assert pvc["folded"]["count"] == 83 and len(pvc["folded"]["objects"]) == 83 and pvc["podCount"] == 83
    assert all(f["folded"] is None for f in doc["findings"] if f["rule"] != "pvc-not-found")
    md = render(report, "markdown")
    assert "83 PersistentVolumeClaims in" in md and "<details><summary>83 PersistentVolumeClaims in" in md
    html = render(report, "html")
    assert html.count('<details class="folded">') == 1
    assert html.count("data-pending-pvc-missing-") >= 83
    junit = render(report, "junit")
    assert junit.count("<testcase") == len(report.findings) + len(report.suppressed)


def test_a_folded_findings_junit_name_holds_no_count(report) -> None:
    # "83 PersistentVolumeClaims in 10 namespaces" would rename the CI test case whenever a claim
    # comes or goes: a folded finding is named by the kind of its objects.
    from podtriage.audit.render_machine import junit_case_names

    names = junit_case_names(report.findings)
    [pvc] = [f for f in report.findings if f.folded]
    assert names[pvc.id] == ("The pod mounts a PersistentVolumeClaim that does not exist "
                             "[PersistentVolumeClaim objects, folded]")
    assert not any(re.search(r"\d+ (PersistentVolumeClaims?|pods?|namespaces?|workloads?)", n) for n in names.values())
