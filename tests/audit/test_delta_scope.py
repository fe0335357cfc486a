"""`--previous` compares like with like (issue 18): what lies outside either report's scope
(namespaces, selector, suppressions) is neither "resolved" nor "new", and a scope change is stated.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podtriage.audit.command import render
from podtriage.audit.delta import compute_delta
from podtriage.audit.model import Suppression
from podtriage.audit.render_machine import audit_document, validate_audit
from podtriage.audit.run import AuditOptions, run_audit
from podtriage.audit.scan import ScanScope
from podtriage.audit.suppress import AuditConfig
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules
from report300 import write_cluster

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = Path(__file__).parent / "fixtures" / "cluster.yaml"
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"
NOW = dt.datetime(2026, 11, 20, 10, 15, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def snap():
    return load_path(CLUSTER)


def audit(snap, rules, previous=None, namespaces=(), selector="", suppressions=()):
    options = AuditOptions(scope=ScanScope(namespaces=tuple(namespaces), selector=selector),
                           config=AuditConfig(suppressions=tuple(suppressions)), previous=previous,
                           previous_path="prev.json")
    return run_audit(snap, rules, options, now=NOW)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PODTRIAGE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "podtriage.cli", "audit", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120, check=False)


def test_the_report_records_its_scope(snap, rules) -> None:
    entry = Suppression(reason="known", rule="risk-init-container-no-memory-limit", index=0)
    doc = audit_document(audit(snap, rules, namespaces=["team-a"], selector="app=trainer", suppressions=[entry]))
    assert doc["scope"]["namespaces"] == ["team-a"] and doc["scope"]["selector"] == "app=trainer"
    assert [s["rule"] for s in doc["scope"]["suppressions"]] == ["risk-init-container-no-memory-limit"]
    assert validate_audit(doc) == []


def test_a_narrower_namespace_scope_resolves_nothing(snap, rules) -> None:
    full = audit_document(audit(snap, rules))
    r = audit(snap, rules, previous=full, namespaces=["team-c"])
    d = r.delta
    assert d is not None
    assert d.resolved == ()  # nothing was fixed: the other namespaces were simply not audited
    outside = {x.id for x in d.out_of_scope}
    assert outside == {f["id"] for f in full["findings"] if "team-c" not in f["namespaces"]}
    assert all(x.reason == "outside the current scope" for x in d.out_of_scope)
    assert d.new == () and set(d.persisting) == {f.id for f in r.findings}
    assert d.scope_changes == ("namespaces: the previous report covered all namespaces, this one covers "
                               "namespace team-c",)


def test_a_finding_gone_inside_the_scope_is_still_resolved(snap, rules) -> None:
    full = audit_document(audit(snap, rules))
    # yesterday team-c also had a finding that is gone today: that one is resolved
    gone = dict(full["findings"][0], id="0123456789ab", headline="yesterday's problem", namespaces=["team-c"],
                pods=[{"namespace": "team-c", "name": "old-0", "status": "Pending", "ageSeconds": 60,
                       "workload": "Pod/team-c/old-0"}], workloads=[])
    full["findings"].append(gone)
    d = audit(snap, rules, previous=full, namespaces=["team-c"]).delta
    assert d is not None and [x.id for x in d.resolved] == ["0123456789ab"]


def test_a_wider_scope_makes_nothing_new(snap, rules) -> None:
    narrow = audit_document(audit(snap, rules, namespaces=["team-c"]))
    r = audit(snap, rules, previous=narrow)
    d = r.delta
    assert d is not None and d.new == () and d.resolved == ()
    assert set(d.not_in_previous_scope) == {f.id for f in r.findings if "team-c" not in f.namespaces}
    assert all(f.delta == "" for f in r.findings if f.id in d.not_in_previous_scope)
    assert "namespaces: the previous report covered namespace team-c, this one covers all namespaces" in \
        d.scope_changes


def test_a_new_finding_inside_both_scopes_is_new(snap, rules) -> None:
    full = audit_document(audit(snap, rules))
    taken = full["findings"].pop(0)
    d = audit(snap, rules, previous=full).delta
    assert d is not None and d.new == (taken["id"],) and d.scope_changes == ()


def test_a_selector_change_is_stated_and_unselected_pods_are_not_resolved(snap, rules) -> None:
    full = audit_document(audit(snap, rules))
    r = audit(snap, rules, previous=full, selector="app=trainer")
    d = r.delta
    assert d is not None and d.resolved == ()
    assert "selector: (none) then, app=trainer now" in d.scope_changes
    # pods that still exist and do not match the selector place their findings outside the scope
    assert {x.id for x in d.out_of_scope} and all("scope" in x.reason or "selector" in x.reason
                                                    for x in d.out_of_scope)


def test_a_selector_change_with_the_pods_gone_is_not_guessed(snap, rules) -> None:
    full = audit_document(audit(snap, rules))
    ghost = dict(full["findings"][0], id="0123456789ab", headline="a pod that is gone",
                 pods=[{"namespace": "team-a", "name": "gone-0", "status": "Pending", "ageSeconds": 60,
                        "workload": "Pod/team-a/gone-0"}], workloads=[], namespaces=["team-a"])
    full["findings"].append(ghost)
    d = audit(snap, rules, previous=full, selector="app=trainer").delta
    assert d is not None and "0123456789ab" not in {x.id for x in d.resolved}
    [x] = [x for x in d.out_of_scope if x.id == "0123456789ab"]
    assert "cannot be told" in x.reason


def test_suppressed_now_is_not_resolved(snap, rules) -> None:
    full = audit_document(audit(snap, rules))
    pvc = next(f for f in full["findings"] if f["rule"] == "pvc-not-found")
    entry = Suppression(reason="restored tonight", finding=pvc["id"], index=0)
    d = audit(snap, rules, previous=full, suppressions=[entry]).delta
    assert d is not None and pvc["id"] not in {x.id for x in d.resolved}
    assert [(x.id, x.reason) for x in d.out_of_scope] == [(pvc["id"], "suppressed by the current config")]
    assert d.scope_changes == ("suppressions: 1 entry added",)


def test_a_report_from_before_folding_still_compares(tmp_path: Path) -> None:
    """Yesterday's report listed 83 one-claim findings; today's folds them: persisting, not 83 resolved + 1 new."""
    rules = load_rules()
    snap300 = load_path(write_cluster(tmp_path / "c300.json"))
    today = audit(snap300, rules)
    [pvc] = [f for f in today.findings if f.folded]
    doc = audit_document(today)
    # the same report as the old code wrote it: one finding per claim, no `folded`, no suppressions in scope
    fold = next(f for f in doc["findings"] if f["folded"])
    doc["findings"] = [f for f in doc["findings"] if not f["folded"]] + [
        dict(fold, id=o["id"], folded=None, subject=o["subject"]) for o in fold["folded"]["objects"]]
    for f in doc["findings"]:
        f.pop("folded")
    del doc["scope"]["suppressions"]
    again = audit(snap300, rules, previous=doc)
    d = again.delta
    assert d is not None and d.resolved == () and d.new == () and pvc.id in d.persisting
    [folded] = [f for f in again.findings if f.folded]
    assert {o.delta for o in folded.folded.objects} == {"persisting"}


def test_new_objects_of_a_persisting_folded_finding_are_counted(tmp_path: Path) -> None:
    rules = load_rules()
    snap300 = load_path(write_cluster(tmp_path / "c300.json"))
    doc = audit_document(audit(snap300, rules))
    fold = next(f for f in doc["findings"] if f["folded"])
    fold["folded"]["objects"] = fold["folded"]["objects"][3:]  # yesterday, three claims fewer were missing
    r = audit(snap300, rules, previous=doc)
    [folded] = [f for f in r.findings if f.folded]
    assert folded.delta == "persisting" and sum(o.delta == "new" for o in folded.folded.objects) == 3
    assert "persisting (3 of 83 new)" in render(r, "markdown-short")
    assert "| persisting (3 of 83 new) |" in render(r, "markdown")
    assert "<td>persisting (3 of 83 new)</td>" in render(r, "html")


def test_the_issue_run_states_the_scope_change_in_every_format(tmp_path: Path) -> None:
    """The issue's run: `audit -o json` of every namespace, then `audit -n ml --previous full.json`.

    It used to report 4 findings of other namespaces (the quota in shop, the deprecated label in
    default, the anti-affinity in shop, the missing claim in data) as "resolved".
    """
    full = tmp_path / "full.json"
    p = cli("--from", str(DEMO), "-o", "json", "--out", str(full), "--fail-on", "none")
    assert p.returncode == 0, p.stderr
    outputs = {}
    for fmt in ("json", "markdown", "markdown-short", "html"):
        p = cli("--from", str(DEMO), "-n", "ml", "--previous", str(full), "-o", fmt, "--fail-on", "none")
        assert p.returncode == 0, p.stderr
        outputs[fmt] = p.stdout
    doc = json.loads(outputs["json"])
    assert validate_audit(doc) == []
    delta = doc["delta"]
    assert delta["resolved"] == [] and delta["new"] == []
    before = json.loads(full.read_text())
    elsewhere = {f["id"] for f in before["findings"] if "ml" not in f["namespaces"]}
    assert {x["rule"] for x in delta["outOfScope"]} >= {"quota-exceeded", "deprecated-label", "pod-anti-affinity",
                                                        "pvc-not-found"}
    assert {x["id"] for x in delta["outOfScope"]} == elsewhere
    assert set(delta["persisting"]) == {f["id"] for f in doc["findings"]}
    change = "namespaces: the previous report covered all namespaces, this one covers namespace ml"
    assert delta["scopeChanges"] == [change] and delta["previousScope"]["namespaces"] == "all"
    assert "**The scope changed**" in outputs["markdown"] and change in outputs["markdown"]
    assert f"0 new, 0 resolved, {len(delta['persisting'])} persisting, {len(elsewhere)} not compared" in \
        outputs["markdown"]
    assert "**scope changed**" in outputs["markdown-short"] and "0 resolved" in outputs["markdown-short"]
    assert "The scope changed" in outputs["html"] and "<b>0</b>resolved" in outputs["html"]


def test_hostile_previous_scopes_do_not_crash(snap, rules) -> None:
    full = audit_document(audit(snap, rules))
    for scope in (None, 5, {"namespaces": 7, "selector": ["x"]}, {"namespaces": ["a", 3], "selector": "a in ("},
                  {"suppressions": [1, {"rule": 5}]}):
        doc = dict(full, scope=scope)
        delta, marked = compute_delta(doc, "p", audit(snap, rules).findings,
                                      scope={"namespaces": ["team-a"], "selector": "app=x"})
        assert len(marked) == len(audit(snap, rules).findings)
        assert isinstance(delta.scope_changes, tuple)
