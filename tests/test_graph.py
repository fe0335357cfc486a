"""The causal graph, its renderings, and the ranking of root causes."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import networkx as nx
import pytest

from podtriage.findings import EvidenceItem, RootCause, Signal
from podtriage.decide.ranking import rank
from podtriage.graph import (
    build_graph,
    observation_id,
    render_tree,
    to_dot,
    to_mermaid,
    to_node_link,
)
from podtriage.rulebook import load_rules

TARGET = "shop/web-0"
POD = {"pod": TARGET, "total_nodes": 12}

EVENT = EvidenceItem(
    kind="event",
    summary="Warning FailedScheduling: 0/12 nodes are available: 9 node(s) had "
    'untolerated taint {dedicated: "gpu"}, 3 Insufficient cpu.',
    source="Event shop/web-0.17a2f",
    data={"count": 40, "effect": "PodScheduled=False Unschedulable"},
)
TAINT_VERDICT = EvidenceItem(
    kind="node-verdict",
    summary="9 node(s): untolerated taint dedicated=gpu:NoSchedule",
    source="podtriage TaintToleration filter on nodes gpu-1, ...",
)
CPU_VERDICT = EvidenceItem(
    kind="node-verdict", summary="3 node(s): Insufficient cpu", source="NodeResourcesFit"
)
SCHEDULED = "PodScheduled=False Unschedulable"


def _signals() -> list[Signal]:
    return [
        Signal(
            name="taint-untolerated",
            params={
                **POD,
                "taint": "dedicated=gpu:NoSchedule",
                "key": "dedicated",
                "value": "gpu",
                "effect": "NoSchedule",
                "value_suffix": "=gpu",
                "nodes_count": 9,
                "node_examples": "gpu-1, gpu-2, gpu-3",
                "node_example": "gpu-1",
            },
            nodes=tuple(f"gpu-{i}" for i in range(9)),
            evidence=(TAINT_VERDICT, EVENT),
            effects=("9/12 nodes rejected by TaintToleration", SCHEDULED),
            attempts=40,
        ),
        Signal(
            name="insufficient-resources",
            params={
                **POD,
                "resource": "cpu",
                "requested": "4",
                "largest_free": "1",
                "largest_allocatable": "8",
                "total_free": "3",
                "too_large": False,
                "fragmented": False,
                "nodes_count": 3,
                "node_examples": "cpu-1, cpu-2, cpu-3",
                "node_example": "cpu-1",
            },
            nodes=("cpu-1", "cpu-2", "cpu-3"),
            evidence=(CPU_VERDICT, EVENT),
            effects=("3/12 nodes rejected by NodeResourcesFit", SCHEDULED),
            attempts=40,
        ),
        Signal(
            name="autoscaler-scale-up",
            params={**POD, "groups": "workers 3->4"},
            blocking=False,
            evidence=(),
            effects=("a node is being added for this pod",),
        ),
    ]


@pytest.fixture(scope="module")
def causes() -> list[RootCause]:
    return load_rules().apply(_signals())


@pytest.fixture(scope="module")
def graph(causes: list[RootCause]) -> nx.DiGraph:
    return build_graph(TARGET, causes, _signals())


# --- shape -----------------------------------------------------------------------------------------


def test_nodes_and_kinds(graph: nx.DiGraph) -> None:
    kinds = nx.get_node_attributes(graph, "kind")
    assert kinds["target:shop/web-0"] == "symptom"
    assert graph.nodes["target:shop/web-0"]["label"] == "Pod shop/web-0 Pending"
    assert kinds["cause:taint-untolerated:0"] == "cause"
    assert kinds["cause:insufficient-resources:1"] == "cause"
    assert kinds["cause:autoscaler-scale-up:2"] == "cause"
    assert kinds[f"effect:{SCHEDULED}"] == "effect"
    assert kinds[observation_id(EVENT)] == "observation"
    cause = graph.nodes["cause:taint-untolerated:0"]
    assert (cause["rule"], cause["category"], cause["severity"]) == (
        "taint-untolerated",
        "taint-untolerated",
        "critical",
    )
    assert "dedicated=gpu:NoSchedule" in cause["label"]
    assert nx.is_directed_acyclic_graph(graph)


def test_edges_run_cause_effect_symptom(graph: nx.DiGraph) -> None:
    rel = nx.get_edge_attributes(graph, "relation")
    assert rel[("cause:taint-untolerated:0", "effect:9/12 nodes rejected by TaintToleration")] == "causes"
    assert rel[("effect:9/12 nodes rejected by TaintToleration", f"effect:{SCHEDULED}")] == "causes"
    assert rel[(f"effect:{SCHEDULED}", "target:shop/web-0")] == "causes"
    assert rel[("cause:autoscaler-scale-up:2", "effect:a node is being added for this pod")] == "causes"
    # the shared effect is one node with both chains running into it
    assert set(graph.predecessors(f"effect:{SCHEDULED}")) >= {
        "effect:9/12 nodes rejected by TaintToleration",
        "effect:3/12 nodes rejected by NodeResourcesFit",
    }
    # every cause reaches the symptom through "causes" edges only
    chain = graph.edge_subgraph([e for e, r in rel.items() if r == "causes"])
    for n, kind in graph.nodes(data="kind"):
        if kind == "cause":
            assert nx.has_path(chain, n, "target:shop/web-0")


def test_observations_are_attached(graph: nx.DiGraph) -> None:
    rel = nx.get_edge_attributes(graph, "relation")
    assert rel[(observation_id(TAINT_VERDICT), "cause:taint-untolerated:0")] == "evidences"
    assert rel[(observation_id(CPU_VERDICT), "cause:insufficient-resources:1")] == "evidences"
    # the event names the effect it supports: attached there, once, though both causes cite it
    assert rel[(observation_id(EVENT), f"effect:{SCHEDULED}")] == "evidences"
    assert list(graph.successors(observation_id(EVENT))) == [f"effect:{SCHEDULED}"]
    assert graph.nodes[observation_id(EVENT)]["source"] == "Event shop/web-0.17a2f"


def test_observation_ids_are_stable() -> None:
    same = EvidenceItem(kind=EVENT.kind, summary=EVENT.summary, source=EVENT.source, data={"other": 1})
    assert observation_id(EVENT) == observation_id(same)
    assert re.fullmatch(r"obs:[0-9a-f]{12}", observation_id(EVENT))
    assert observation_id(EVENT) != observation_id(TAINT_VERDICT)


def test_signal_observations_link_existing_evidence(causes: list[RootCause]) -> None:
    signals = _signals()
    signals[1] = replace(signals[1], observations=(observation_id(TAINT_VERDICT),))
    g = build_graph(TARGET, causes, signals)
    assert g.edges[observation_id(TAINT_VERDICT), "cause:insufficient-resources:1"]["relation"] == "evidences"


def test_cause_without_effects_points_at_the_symptom() -> None:
    rc = load_rules().apply([Signal(name="no-nodes", params={"pod": TARGET})])
    g = build_graph("Deployment/shop/web", rc, [], symptom="Deployment shop/web 0/3 available")
    assert g.has_edge("cause:no-nodes:0", "target:Deployment/shop/web")
    assert g.nodes["target:Deployment/shop/web"]["label"] == "Deployment shop/web 0/3 available"


def test_conflicting_effect_orders_do_not_make_a_cycle() -> None:
    a = Signal(name="x", params={}, effects=("e1", "e2"))
    b = Signal(name="y", params={}, effects=("e2", "e1"))
    rcs = load_rules(include_builtin=False).apply([a, b])
    g = build_graph(TARGET, rcs, [a, b])
    assert nx.is_directed_acyclic_graph(g)
    assert nx.has_path(g, "cause:unmatched-signal:1", "target:shop/web-0")


# --- renderings --------------------------------------------------------------------------------------


def test_mermaid(graph: nx.DiGraph) -> None:
    text = to_mermaid(graph)
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    unwrapped = text.replace("<br/>", " ")
    assert "taint-untolerated: " in unwrapped and "Pod shop/web-0 Pending" in unwrapped
    for line in lines:
        assert line.count('"') % 2 == 0, line
    # node ids are safe identifiers; every edge joins declared nodes
    declared = {m.group(1) for m in re.finditer(r"^\s+(n\d+)[\[({]", text, re.MULTILINE)}
    assert len(declared) == graph.number_of_nodes()
    edges = re.findall(r"^\s+(n\d+) (-->|-\.->) (n\d+)$", text, re.MULTILINE)
    assert len(edges) == graph.number_of_edges()
    assert all(u in declared and v in declared for u, _, v in edges)
    # quotes and backticks inside labels are escaped
    # (a word longer than a line is broken after a separator, here the taint after "gpu:")
    assert "{dedicated: #quot;gpu#quot;}" in unwrapped and "#96;dedicated=gpu:NoSchedule#96;" in text.replace("<br/>", "")
    assert "<br/>" in text and "<" not in text.replace("<br/>", "")  # the only markup is the line break
    assert "class n1 critical;" in text or "critical;" in text


def test_dot(graph: nx.DiGraph) -> None:
    text = to_dot(graph)
    assert text.startswith("digraph podtriage {") and text.rstrip().endswith("}")
    assert '"target:shop/web-0"' in text and '"cause:taint-untolerated:0"' in text
    assert '"cause:taint-untolerated:0" -> "effect:9/12 nodes rejected by TaintToleration"' in text
    assert '{dedicated: \\"gpu\\"}' in text.replace("\\n", " ")
    for line in text.splitlines():
        unescaped = len(re.findall(r'(?<!\\)"', line.replace("\\\\", "")))
        assert unescaped % 2 == 0, line
    assert len(re.findall(r'^  "[^"]+" -> "[^"]+" \[', text, re.MULTILINE)) == graph.number_of_edges()


def test_node_link_is_json_serialisable(graph: nx.DiGraph) -> None:
    data = to_node_link(graph)
    back = json.loads(json.dumps(data))
    assert {n["id"] for n in back["nodes"]} == set(graph.nodes)
    assert len(back["edges"]) == graph.number_of_edges()
    assert all("relation" in e for e in back["edges"])


def test_render_tree(graph: nx.DiGraph) -> None:
    tree = render_tree(graph, TARGET)
    assert tree[0] == (0, "Pod shop/web-0 Pending")
    labels = [label for _, label in tree]
    depth = {label: d for d, label in tree}
    assert depth[SCHEDULED] == 1
    assert depth["9/12 nodes rejected by TaintToleration"] == 2
    taint = next(label for label in labels if label.endswith("[taint-untolerated, critical]"))
    assert depth[taint] == 3 and "`dedicated=gpu:NoSchedule`" in taint
    # evidence sits one level below what it supports
    ev = next(label for label in labels if label.startswith("9 node(s): untolerated taint"))
    assert depth[ev] == 4
    assert any(label.startswith("Warning FailedScheduling") and d == 2 for d, label in tree)
    assert render_tree(graph, "target:shop/web-0") == tree
    assert render_tree(graph, "nope/nope") == []


def test_ranked_causes_build_an_ordered_tree(causes: list[RootCause]) -> None:
    ranked = rank(causes, total_nodes=12, total_attempts=40)
    assert [r.rule for r in ranked] == ["taint-untolerated", "insufficient-resources", "autoscaler-scale-up"]
    g = build_graph(TARGET, ranked, _signals())
    assert g.nodes["cause:taint-untolerated:0"]["score"] == ranked[0].score


def test_workload_symptom_label() -> None:
    g = build_graph("Deployment/shop/web", [], [])
    assert g.nodes["target:Deployment/shop/web"]["label"] == "Deployment shop/web not fully available"
    assert render_tree(g, "Deployment/shop/web") == [(0, "Deployment shop/web not fully available")]
