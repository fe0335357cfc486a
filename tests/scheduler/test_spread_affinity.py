"""PodTopologySpread and InterPodAffinity against the fixtures in fixtures/scheduler/spread-affinity.

The cluster (cluster.yaml): zones us-east-1a (ip-10-0-1-10, ip-10-0-1-11), us-east-1b
(ip-10-0-2-20), us-east-1c (ip-10-0-3-30), a GPU zone us-east-1d whose only node ip-10-0-4-40 is
tainted nvidia.com/gpu=present:NoSchedule, and edge-gw-01 without a zone label.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
import yaml

from podtriage.scheduler import selectors
from podtriage.scheduler.framework import ClusterState, Evaluation, Failure, evaluate
from podtriage.scheduler.plugins import inter_pod_affinity as ipa_mod
from podtriage.scheduler.plugins import pod_topology_spread as pts_mod
from podtriage.scheduler.plugins.inter_pod_affinity import InterPodAffinity
from podtriage.scheduler.plugins.pod_topology_spread import PodTopologySpread
from podtriage.snapshot import Snapshot, SnapshotBuilder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "scheduler" / "spread-affinity"

N1A = "ip-10-0-1-10.ec2.internal"
N1A2 = "ip-10-0-1-11.ec2.internal"
N1B = "ip-10-0-2-20.ec2.internal"
N1C = "ip-10-0-3-30.ec2.internal"
NGPU = "ip-10-0-4-40.ec2.internal"
EDGE = "edge-gw-01"
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"

PTS_REASON = "node(s) didn't match pod topology spread constraints"
PTS_MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"
IPA_AFFINITY = "node(s) didn't match pod affinity rules"
IPA_ANTI = "node(s) didn't match pod anti-affinity rules"
IPA_EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"


def load(*names: str) -> Snapshot:
    b = SnapshotBuilder(source=str(FIXTURES))
    for name in names:
        path = FIXTURES / name
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                b.add(doc, origin=str(path))
    for kind in ("Node", "Pod", "Namespace"):
        b.mark_collected(kind)
    snap = b.build()
    assert not snap.meta.warnings, snap.meta.warnings
    return snap


@cache
def cluster(*names: str) -> ClusterState:
    return ClusterState(load("cluster.yaml", *names))


SPREAD = ("spread-existing.yaml", "spread-pending.yaml")
IPA = ("ipa-existing.yaml", "ipa-pending.yaml")


def run(files: tuple[str, ...], pod_name: str, plugin, namespace: str = "shop") -> tuple[Evaluation, dict[str, Failure]]:
    cs = cluster(*files)
    pod = cs.snapshot.pod_by_key[f"{namespace}/{pod_name}"]
    assert not pod.node_name
    ev = evaluate(pod, cs, plugins=[plugin])
    first = {}
    for v in ev.verdicts:
        assert len(v.first) <= 1, "one reason per node, like upstream"
        if v.first:
            first[v.node] = v.first[0]
    return ev, first


# --- PodTopologySpread ---------------------------------------------------------------------------

def test_default_policies_tainted_empty_zone_holds_the_minimum():
    """nodeTaintsPolicy Ignore (default): the tainted, empty GPU zone is the global minimum (0)."""
    ev, first = run(SPREAD, "web-7f9c6d8b4-zt6vn", PodTopologySpread())
    assert set(first) == {N1A, N1A2, N1B, N1C, EDGE}
    assert ev.feasible == (NGPU,)  # only the node TaintToleration will reject

    f = first[N1A]
    assert (f.plugin, f.code, f.reason, f.unresolvable) == ("PodTopologySpread", "topology-spread", PTS_REASON, False)
    d = f.detail
    assert (d["topology_key"], d["domain"], d["count"], d["global_min"], d["min_domain"]) == (
        ZONE, "us-east-1a", 3, 0, "us-east-1d")
    assert (d["max_skew"], d["skew"], d["self_match"]) == (1, 4, 1)
    assert d["selector"] == "app=web"
    # terminating, evicted and other-namespace pods in us-east-1c are not counted
    assert d["eligible_domains"] == {"us-east-1a": 3, "us-east-1b": 2, "us-east-1c": 1, "us-east-1d": 0}
    assert f.message.startswith(
        "topology.kubernetes.io/zone=us-east-1a has 3 matching pods, min is 0 (us-east-1d), "
        "skew would be 4 > maxSkew 1")

    assert first[N1C].detail["skew"] == 2 and first[N1C].detail["count"] == 1
    assert "us-east-1c has 1 matching pod, min is 0 (us-east-1d)" in first[N1C].message
    json.dumps(f.detail)  # JSON-serialisable


def test_missing_topology_label_is_unresolvable():
    _, first = run(SPREAD, "web-7f9c6d8b4-zt6vn", PodTopologySpread())
    f = first[EDGE]
    assert (f.code, f.reason, f.unresolvable) == ("topology-spread-missing-label", PTS_MISSING, True)
    assert f.detail["topology_key"] == ZONE and f.detail["domain"] is None
    assert "edge-gw-01 has no label topology.kubernetes.io/zone" in f.message


def test_node_taints_policy_honor_drops_the_tainted_zone():
    ev, first = run(SPREAD, "web-7f9c6d8b4-k2t9v", PodTopologySpread())
    assert set(ev.feasible) == {N1C, NGPU}
    f = first[N1A]
    assert f.message.startswith(
        "topology.kubernetes.io/zone=us-east-1a has 3 matching pods, min is 1 (us-east-1c), "
        "skew would be 3 > maxSkew 1")
    assert f.detail["eligible_domains"] == {"us-east-1a": 3, "us-east-1b": 2, "us-east-1c": 1}
    assert (first[N1B].detail["domain"], first[N1B].detail["skew"]) == ("us-east-1b", 2)


def test_min_domains_forces_global_min_to_zero():
    _, first = run(SPREAD, "web-7f9c6d8b4-f5r8b", PodTopologySpread())  # minDomains 4, 3 eligible
    f = first[N1C]
    d = f.detail
    assert (d["domain"], d["count"], d["global_min"], d["skew"], d["min_domains"], d["min_forced_zero"]) == (
        "us-east-1c", 1, 0, 2, 4, True)
    assert "min is 0 (only 3 eligible domain(s) < minDomains 4)" in f.message

    ev, first = run(SPREAD, "web-7f9c6d8b4-j9w2c", PodTopologySpread())  # minDomains 3: satisfied
    assert N1C in ev.feasible
    assert first[N1A].detail["global_min"] == 1


def test_node_affinity_policy_honor_counts_only_nodes_the_pod_may_use():
    ev, first = run(SPREAD, "web-7f9c6d8b4-p6d4x", PodTopologySpread())  # zone in (1a, 1b), Honor
    assert N1B in ev.feasible
    d = first[N1A].detail
    assert d["eligible_domains"] == {"us-east-1a": 3, "us-east-1b": 2}
    assert (d["global_min"], d["min_domain"], d["skew"]) == (2, "us-east-1b", 2)

    ev, first = run(SPREAD, "web-7f9c6d8b4-s3h7m", PodTopologySpread())  # same affinity, Ignore
    assert N1B not in ev.feasible
    d = first[N1B].detail
    assert (d["global_min"], d["min_domain"], d["skew"]) == (0, "us-east-1d", 3)


def test_match_label_keys_counts_only_the_pods_own_revision():
    ev, first = run(SPREAD, "web-7f9c6d8b4-v8q2n", PodTopologySpread())
    assert set(ev.feasible) == {N1B, NGPU}
    d = first[N1A].detail
    assert d["selector"] == "app=web,pod-template-hash in (7f9c6d8b4)"
    assert d["eligible_domains"] == {"us-east-1a": 1, "us-east-1b": 0, "us-east-1c": 1}
    assert (d["count"], d["global_min"], d["min_domain"], d["skew"]) == (1, 0, "us-east-1b", 2)


def test_second_constraint_is_reported_when_the_first_passes():
    _, first = run(SPREAD, "web-7f9c6d8b4-m2z8r", PodTopologySpread())
    f = first[N1C]  # zone (Honor) passes; hostname (Ignore) counts the empty GPU node as min 0
    assert f.detail["constraint"] == 1
    assert (f.detail["topology_key"], f.detail["domain"], f.detail["skew"]) == (HOST, N1C, 2)
    assert f.detail["min_domain"] == NGPU


@pytest.mark.parametrize("pod_name", ["web-7f9c6d8b4-g4b6t", "web-7f9c6d8b4-c7x5k"])
def test_schedule_anyway_and_no_constraints_never_filter(pod_name):
    ev, first = run(SPREAD, pod_name, PodTopologySpread())
    assert not first and len(ev.feasible) == 6


# --- InterPodAffinity ----------------------------------------------------------------------------

def test_pod_affinity_requires_a_matching_pod_in_the_domain():
    ev, first = run(IPA, "storefront-7d4b9c8f6-m2kx9", InterPodAffinity())
    assert set(ev.feasible) == {N1A, N1A2, N1B}
    f = first[N1C]
    assert (f.plugin, f.code, f.reason, f.unresolvable) == ("InterPodAffinity", "pod-affinity", IPA_AFFINITY, True)
    assert f.detail["missing_topology_key"] is False
    assert f.detail["domain"] == "us-east-1c"
    assert f.detail["domains_with_matches"] == {"us-east-1a": 1, "us-east-1b": 1}
    assert f.detail["example_pods"] == {"us-east-1a": ["shop/redis-0"], "us-east-1b": ["shop/redis-1"]}
    assert f.detail["selector"] == "app=redis" and f.detail["topology_key"] == ZONE
    assert "matching pods run in topology.kubernetes.io/zone=us-east-1a, us-east-1b" in f.message
    json.dumps(f.detail)

    e = first[EDGE]
    assert e.code == "pod-affinity" and e.detail["missing_topology_key"] is True
    assert "edge-gw-01 has no label topology.kubernetes.io/zone" in e.message


def test_first_pod_of_a_group_may_schedule():
    """No zookeeper pod anywhere and zookeeper-0 matches its own term: allowed (not on edge-gw-01)."""
    _, first = run(IPA, "zookeeper-0", InterPodAffinity())
    assert set(first) == {EDGE}
    assert first[EDGE].detail["missing_topology_key"] is True

    # The client does not match its own term: stuck everywhere.
    ev, first = run(IPA, "zk-client-6b8c9d7f5-w3e4r", InterPodAffinity())
    assert not ev.feasible
    d = first[N1A].detail
    assert d["any_match_in_cluster"] is False and d["pod_matches_own_terms"] is False
    assert "first-pod exception does not apply" in first[N1A].message


def test_pod_anti_affinity_names_the_pod_in_the_domain():
    _, first = run(IPA, "redis-2", InterPodAffinity())
    assert set(first) == {N1A, N1B}
    f = first[N1A]
    assert (f.code, f.reason, f.unresolvable) == ("pod-anti-affinity", IPA_ANTI, False)
    assert f.detail["matching_pods"] == ["shop/redis-0"]
    assert (f.detail["topology_key"], f.detail["domain"]) == (HOST, N1A)
    assert "already runs shop/redis-0" in f.message


def test_existing_pods_anti_affinity_with_namespace_selector():
    """payments/ledger-0 repels app=batch-worker pods of namespaces labelled team=shop, per zone."""
    _, first = run(IPA, "report-batch-worker-28471530-xq7pd", InterPodAffinity())
    assert set(first) == {N1C}
    f = first[N1C]
    assert (f.code, f.reason, f.unresolvable) == ("existing-anti-affinity", IPA_EXISTING, False)
    assert (f.detail["pod"]["namespace"], f.detail["pod"]["name"]) == ("payments", "ledger-0")
    assert f.detail["term"]["namespace_selector"] == {"matchLabels": {"team": "shop"}, "matchExpressions": []}
    assert (f.detail["topology_key"], f.detail["domain"]) == (ZONE, "us-east-1c")
    assert "pod payments/ledger-0" in f.message
    json.dumps(f.detail)


def test_existing_anti_affinity_ignores_namespaces_outside_the_selector():
    """The same batch worker in namespace staging (team=shop too) is repelled; payments-staging
    pods are not, since their namespace has team=payments."""
    cs = cluster(*IPA)
    ledger = cs.snapshot.pod_by_key["payments/ledger-0"]
    term = ipa_mod.resolve_term(ledger, ledger.pod_anti_affinity[0], 0)
    worker = cs.snapshot.pod_by_key["shop/report-batch-worker-28471530-xq7pd"]
    assert term.matches(worker, cs.namespace_labels("staging"))
    assert not term.matches(worker, cs.namespace_labels("payments-staging"))


def test_incoming_anti_affinity_with_namespace_selector():
    """etl avoids app=ledger pods of env=prod namespaces: payments/ledger-0 counts,
    payments-staging/ledger-0 (env=staging, on ip-10-0-2-20) does not."""
    _, first = run(IPA, "etl-5f6d7c8b9-p4r7t", InterPodAffinity())
    assert set(first) == {N1C}
    assert first[N1C].detail["matching_pods"] == ["payments/ledger-0"]


def test_upstream_order_affinity_before_existing_anti_affinity():
    """On us-east-1c both the pod's affinity (no redis there) and ledger-0's anti-affinity fail;
    upstream reports the affinity failure. On us-east-1a/1b nothing fails."""
    ev, first = run(IPA, "nightly-batch-worker-28471560-d9k2w", InterPodAffinity())
    assert first[N1C].code == "pod-affinity"
    assert first[N1C].unresolvable is True
    assert {N1A, N1A2, N1B} <= set(ev.feasible)


def test_match_label_keys_in_anti_affinity():
    """anti-affinity app=web + matchLabelKeys [pod-template-hash]: only the same revision repels."""
    ev, first = run(("spread-existing.yaml",) + IPA, "web-7f9c6d8b4-c4n9r", InterPodAffinity())
    assert set(first) == {N1A2, N1C}
    assert first[N1A2].detail["matching_pods"] == ["shop/web-7f9c6d8b4-h2j8d"]
    assert first[N1A2].detail["selector"] == "app=web,pod-template-hash in (7f9c6d8b4)"
    assert N1A in ev.feasible  # only old-revision pods there


def test_mismatch_label_keys_in_anti_affinity():
    """tenant Exists + mismatchLabelKeys [tenant]: acme avoids other tenants' nodes only."""
    ev, first = run(IPA, "api-6c9f8d7b5-n7m3v", InterPodAffinity())
    assert set(first) == {N1B}
    assert first[N1B].detail["matching_pods"] == ["shop/api-84b7c6d9f-k8s2x"]
    assert first[N1B].detail["selector"] == "tenant,tenant notin (acme)"
    assert N1A2 in ev.feasible  # the acme api pod does not repel


def test_match_label_keys_merge_is_idempotent():
    """A selector the API server already merged is not merged twice."""
    cs = cluster(*IPA)
    pod = cs.snapshot.pod_by_key["shop/api-6c9f8d7b5-n7m3v"]
    t = ipa_mod.resolve_term(pod, pod.pod_anti_affinity[0], 0)
    from dataclasses import replace
    again = ipa_mod.resolve_term(pod, replace(pod.pod_anti_affinity[0], label_selector=t.selector), 0)
    assert again.selector == t.selector


# --- scale: no pods x nodes loops ----------------------------------------------------------------

@cache
def _scaled_cluster(copies: int) -> ClusterState:
    """The spread + affinity fixtures with every node and bound pod cloned `copies` times."""
    docs = []
    for name in ("cluster.yaml", "spread-existing.yaml", "ipa-existing.yaml", "spread-pending.yaml", "ipa-pending.yaml"):
        docs += [d for d in yaml.safe_load_all((FIXTURES / name).read_text()) if d]
    b = SnapshotBuilder()
    for d in docs:
        kind, meta, spec = d["kind"], d["metadata"], d.get("spec", {})
        if kind == "Node":
            for i in range(copies):
                c = json.loads(json.dumps(d))
                c["metadata"]["name"] = f"{meta['name']}-{i}"
                c["metadata"]["labels"][HOST] = c["metadata"]["name"]
                b.add(c)
        elif kind == "Pod" and spec.get("nodeName"):
            for i in range(copies):
                c = json.loads(json.dumps(d))
                c["metadata"]["name"] = f"{meta['name']}-{i}"
                c["spec"]["nodeName"] = f"{spec['nodeName']}-{i}"
                b.add(c)
        else:
            b.add(d)
    return ClusterState(b.build())


@pytest.mark.parametrize("plugin_cls,module,pod_key", [
    (PodTopologySpread, pts_mod, "shop/web-7f9c6d8b4-m2z8r"),
    (InterPodAffinity, ipa_mod, "shop/nightly-batch-worker-28471560-d9k2w"),
    (InterPodAffinity, ipa_mod, "shop/redis-2"),
])
def test_selector_work_is_linear_in_pods(monkeypatch, plugin_cls, module, pod_key):
    cs = _scaled_cluster(20)
    calls = 0

    def counting(sel, labels):
        nonlocal calls
        calls += 1
        return selectors.label_selector_matches(sel, labels)

    monkeypatch.setattr(module, "label_selector_matches", counting)
    pod = cs.snapshot.pod_by_key[pod_key]
    evaluate(pod, cs, plugins=[plugin_cls()])
    bound = sum(len(p) for p in cs.snapshot.pods_by_node.values())
    nodes = len(cs.node_infos)
    assert bound * nodes > 20 * bound  # a pods x nodes loop would be far above the bound below
    assert calls <= 3 * bound + 2 * nodes, (calls, bound, nodes)
