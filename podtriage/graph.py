"""The causal graph (root cause -> effects -> symptom, with evidence attached) and its renderings.

The order of the causes is decided in podtriage.decide.ranking, not here.

Node ids: `target:<ns/name>` (the symptom), `cause:<rule>:<i>`, `effect:<text>`, `obs:<hash>`.
Edges carry `relation`: "causes" along the chain, "evidences" from an observation to what it supports.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx

from .findings import EvidenceItem, RootCause, Signal, jsonable

_KIND_ORDER = {"symptom": 0, "effect": 1, "cause": 2, "observation": 3}


def target_id(target: str) -> str:
    return target if target.startswith("target:") else f"target:{target}"


def observation_id(item: EvidenceItem) -> str:
    """Stable graph id of an evidence item (kind + source + summary), for Signal.observations."""
    digest = hashlib.sha1(f"{item.kind}\0{item.source}\0{item.summary}".encode()).hexdigest()
    return f"obs:{digest[:12]}"


def pair_signals(root_causes: Sequence[RootCause], signals: Sequence[Signal]) -> list[Signal | None]:
    """The signal each root cause was rendered from: same name, and same nodes/subject when possible."""
    unused = list(range(len(signals)))
    paired: list[Signal | None] = []
    for rc in root_causes:
        pick = None
        for strict in (True, False):
            for i in unused:
                s = signals[i]
                if s.name != rc.signal:
                    continue
                if strict and (tuple(s.nodes) != tuple(rc.nodes) or s.subject != rc.subject):
                    continue
                pick = i
                break
            if pick is not None:
                break
        if pick is not None:
            unused.remove(pick)
        paired.append(signals[pick] if pick is not None else None)
    return paired


def _add_causal_edge(g: nx.DiGraph, u: str, v: str) -> None:
    # Effects are shared between causes; two signals listing effects in a different order must not
    # create a cycle, so an edge that would close one is dropped.
    if u == v or g.has_edge(u, v):
        return
    if g.has_node(v) and g.has_node(u) and nx.has_path(g, v, u):
        return
    g.add_edge(u, v, relation="causes")


def _default_symptom(target: str) -> str:
    key = target.removeprefix("target:")
    parts = key.split("/")
    if len(parts) == 3:  # "Deployment/namespace/name"
        return f"{parts[0]} {parts[1]}/{parts[2]} not fully available"
    return f"Pod {key} Pending"


def build_graph(
    target: str, root_causes: Sequence[RootCause], signals: Sequence[Signal], *, symptom: str | None = None
) -> nx.DiGraph:
    """The causal graph of one target: causes -> effects (from Signal.effects) -> the symptom.

    `target` is "namespace/name" (or a "Kind/namespace/name" key); `symptom` labels the target node,
    e.g. "Deployment default/web 0/3 available" (default: "Pod <target> Pending").
    """
    g = nx.DiGraph(target=target)
    tid = target_id(target)
    g.add_node(tid, kind="symptom", label=symptom or _default_symptom(target))
    paired = pair_signals(root_causes, signals)
    for i, (rc, sig) in enumerate(zip(root_causes, paired)):
        cid = f"cause:{rc.rule}:{i}"
        g.add_node(
            cid,
            kind="cause",
            label=rc.message or rc.title,
            rule=rc.rule,
            category=rc.category,
            severity=rc.severity,
            title=rc.title,
            blocking=rc.blocking,
            confidence=rc.confidence,
            score=rc.score,
            subject=rc.subject,
            nodes_count=len(rc.nodes),
            fix=rc.fix,
            fix_command=rc.fix_command,
            order=i,
        )
        effects = [e for e in (sig.effects if sig else ()) if e]
        chain = [cid] + [f"effect:{e}" for e in effects] + [tid]
        for e in effects:
            if not g.has_node(f"effect:{e}"):
                g.add_node(f"effect:{e}", kind="effect", label=e)
        for u, v in itertools.pairwise(chain):
            _add_causal_edge(g, u, v)
        evidence = list(rc.evidence) or list(sig.evidence if sig else ())
        for item in evidence:
            oid = observation_id(item)
            if not g.has_node(oid):
                g.add_node(
                    oid,
                    kind="observation",
                    label=item.summary,
                    source=item.source,
                    evidence_kind=item.kind,
                    time=item.time,
                )
            supported = item.data.get("effect") if isinstance(item.data, Mapping) else None
            dest = f"effect:{supported}" if supported and supported in effects else cid
            g.add_edge(oid, dest, relation="evidences")
        for ref in sig.observations if sig else ():
            oid = ref if ref.startswith("obs:") else f"obs:{ref}"
            if g.has_node(oid) and not g.has_edge(oid, cid):
                g.add_edge(oid, cid, relation="evidences")
    return g


# --- renderings ----------------------------------------------------------------------------------


def _ordered_nodes(g: nx.DiGraph) -> list[str]:
    return sorted(
        g.nodes,
        key=lambda n: (_KIND_ORDER.get(g.nodes[n].get("kind", ""), 9), g.nodes[n].get("order", 0), str(n)),
    )


def _short(text: str, limit: int = 200) -> str:
    """`text` on one line, at most `limit` characters, cut after a whole word (with "…")."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return (text[:cut] if cut >= limit // 2 else text[: limit - 1]).rstrip(" ,;:") + "…"


# Where an over-long token (a node name, a path, a label key=value) may be broken.
_BREAK_AFTER = "/.,:=-_"


def _cut(word: str, room: int) -> int:
    """Where to break `word` to fit `room` characters: after the last separator that fits, else 0."""
    return max(word.rfind(c, 0, room) for c in _BREAK_AFTER) + 1


def wrap_label(text: str, width: int = 28, max_lines: int = 6) -> list[str]:
    """A label as lines of at most `width` characters, broken between words.

    A word longer than a line is broken after a separator (`/`, `.`, `-`, ...), filling the
    current line first; mid-word only when it has none. Past `max_lines` the last line ends with
    "…" after a whole word. Never returns an empty list.
    """
    lines: list[str] = []
    split: set[int] = set()  # lines that end inside a word
    for word in " ".join(str(text).split()).split(" "):
        while word:
            room = width - (len(lines[-1]) + 1 if lines else 0)
            if len(word) <= room and lines:
                lines[-1] += " " + word
                break
            if len(word) <= width:
                lines.append(word)
                break
            cut = _cut(word, room) if lines and room >= width // 3 else 0
            if cut:
                lines[-1] += " " + word[:cut]
            else:
                cut = _cut(word, width)
                cut = cut if cut >= width // 3 else width
                lines.append(word[:cut])
            split.add(len(lines) - 1)
            word = word[cut:]
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        if max_lines - 1 in split and " " in last:
            last = last.rsplit(" ", 1)[0]  # the ellipsis goes after a whole word
        while len(last) + 1 > width and " " in last:
            last = last.rsplit(" ", 1)[0]
        if len(last) + 1 > width:
            last = last[: width - 1]
        lines = lines[: max_lines - 1] + [last.rstrip(" ,;:") + "…"]
    return lines or [""]


# Label sizes for --graph pictures that fit a portrait page (7.5 x 10 in printable) at 10 pt.
LABEL_WIDTH = 22
LABEL_LINES = {"cause": 8, "effect": 3, "symptom": 4, "observation": 6}


def _label_lines(kind: str, text: str) -> list[str]:
    return wrap_label(text, LABEL_WIDTH, LABEL_LINES.get(kind, 4))


def _mermaid_escape(text: str) -> str:
    # Mermaid entity codes keep quotes, backticks (markdown strings) and angle brackets (HTML) literal.
    return (
        text.replace("#", "#35;")
        .replace('"', "#quot;")
        .replace("`", "#96;")
        .replace("<", "#lt;")
        .replace(">", "#gt;")
    )


def _mermaid_label(text: str, kind: str = "effect") -> str:
    """Escaped, wrapped with `<br/>` (Mermaid does not wrap plain labels itself)."""
    return "<br/>".join(_mermaid_escape(line) for line in _label_lines(kind, text))


_MERMAID_SHAPES = {
    "symptom": ('{{"', '"}}'),
    "cause": ('["', '"]'),
    "effect": ('("', '")'),
    "observation": ('[/"', '"/]'),
}


def to_mermaid(g: nx.DiGraph) -> str:
    """A Mermaid flowchart: causes on the left, the symptom on the right, evidence dashed."""
    ids = {n: f"n{i}" for i, n in enumerate(_ordered_nodes(g))}
    lines = ["flowchart LR"]
    for n, mid in ids.items():
        attrs = g.nodes[n]
        kind = attrs.get("kind", "effect")
        open_, close = _MERMAID_SHAPES.get(kind, ('["', '"]'))
        label = _mermaid_label(attrs.get("label", str(n)), kind)
        if kind == "cause":
            label = f"{_mermaid_escape(str(attrs.get('rule', '')))}:<br/>{label}"
        lines.append(f"  {mid}{open_}{label}{close}")
    for u, v, data in sorted(g.edges(data=True), key=lambda e: (int(ids[e[0]][1:]), int(ids[e[1]][1:]))):
        arrow = "-.->" if data.get("relation") == "evidences" else "-->"
        lines.append(f"  {ids[u]} {arrow} {ids[v]}")
    lines += [
        "  classDef symptom fill:#eef,stroke:#446;",
        "  classDef critical fill:#fdd,stroke:#c00;",
        "  classDef high fill:#fed,stroke:#d60;",
        "  classDef medium fill:#ffd,stroke:#aa0;",
        "  classDef low fill:#efe,stroke:#6a6;",
        "  classDef info fill:#eee,stroke:#888;",
        "  classDef observation fill:#fff,stroke:#999,stroke-dasharray:3 3;",
    ]
    for n, mid in ids.items():
        attrs = g.nodes[n]
        kind = attrs.get("kind")
        cls = (
            attrs.get("severity") if kind == "cause" else kind if kind in ("symptom", "observation") else None
        )
        if cls:
            lines.append(f"  class {mid} {cls};")
    return "\n".join(lines) + "\n"


def _dot_quote(text: Any) -> str:
    s = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'"{s}"'


# Boxes, not ellipses or octagons: the same wrapped text in a rounder shape is a third wider.
_DOT_SHAPES = {"symptom": "box", "cause": "box", "effect": "box", "observation": "note"}
_DOT_STYLES = {"symptom": ', peripheries=2, style="rounded,bold"', "effect": ', style="rounded"',
               "observation": ', style="dashed"'}
_DOT_COLOURS = {
    "critical": "#cc0000",
    "high": "#dd6600",
    "medium": "#aaaa00",
    "low": "#66aa66",
    "info": "#888888",
}


def to_dot(g: nx.DiGraph) -> str:
    """Graphviz DOT source of the graph, every id and label quoted and escaped.

    Labels are wrapped (LABEL_WIDTH characters a line) and the drawing is capped at a portrait
    page (`size="7.5,10"`: scaled down only when larger); edges carry their relation as a tooltip,
    not a label, which would widen every rank.
    """
    lines = ["digraph podtriage {", "  rankdir=LR;", '  size="7.5,10";', "  ranksep=0.25;", "  nodesep=0.12;",
             '  node [fontname="Helvetica", fontsize=10, margin="0.08,0.04"];', "  edge [arrowsize=0.7];"]
    for n in _ordered_nodes(g):
        attrs = g.nodes[n]
        kind = attrs.get("kind", "effect")
        label = "\n".join(_label_lines(kind, str(attrs.get("label", str(n)))))
        if kind == "cause":
            label = f"{attrs.get('rule', '')}\n{label}"
        extra = _DOT_STYLES.get(kind, "")
        if kind == "cause":
            extra = f", color={_dot_quote(_DOT_COLOURS.get(attrs.get('severity', ''), '#000000'))}"
        lines.append(
            f"  {_dot_quote(n)} [label={_dot_quote(label)}, shape={_DOT_SHAPES.get(kind, 'box')}{extra}];"
        )
    for u, v, data in sorted(g.edges(data=True), key=lambda e: (str(e[0]), str(e[1]))):
        style = ', style="dashed"' if data.get("relation") == "evidences" else ""
        lines.append(
            f"  {_dot_quote(u)} -> {_dot_quote(v)} [tooltip={_dot_quote(data.get('relation', ''))}{style}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_node_link(g: nx.DiGraph) -> dict[str, Any]:
    """JSON-serialisable node-link data (edges under "edges")."""
    try:
        data = nx.node_link_data(g, edges="edges")
    except TypeError:  # networkx < 3.4 has no `edges` keyword
        data = nx.node_link_data(g)
        data["edges"] = data.pop("links", [])
    out: dict[str, Any] = jsonable(data)
    return out


def from_node_link(data: Mapping[str, Any]) -> nx.DiGraph:
    """Inverse of to_node_link (the report carries the graph as node-link data)."""
    if not data:
        return nx.DiGraph()
    try:
        g = nx.node_link_graph(dict(data), directed=True, edges="edges")
    except TypeError:  # networkx < 3.4
        d = dict(data)
        d["links"] = d.pop("edges", [])
        g = nx.node_link_graph(d, directed=True)
    return g if isinstance(g, nx.DiGraph) else nx.DiGraph(g)


def _tree_label(attrs: Mapping[str, Any]) -> str:
    kind = attrs.get("kind")
    label = str(attrs.get("label", ""))
    if kind == "cause":
        return f"{label} [{attrs.get('rule', '')}, {attrs.get('severity', '')}]"
    if kind == "observation" and attrs.get("source"):
        return f"{label} ({attrs['source']})"
    return label


def render_tree(g: nx.DiGraph, target: str) -> list[tuple[int, str]]:
    """(depth, label) lines from the symptom back to the causes, evidence under what it supports."""
    root = target_id(target)
    if root not in g:
        return []
    lines: list[tuple[int, str]] = []
    # An effect is listed in the position of the best-ranked cause behind it (causes carry `order`).
    best: dict[str, int] = {}
    for n, attrs in g.nodes(data=True):
        if attrs.get("kind") == "cause":
            for m in [n, *nx.descendants(g, n)]:
                best[m] = min(best.get(m, attrs.get("order", 0)), attrs.get("order", 0))

    def children(n: str, relation: str) -> Iterable[str]:
        preds = [p for p in g.predecessors(n) if g.edges[p, n].get("relation") == relation]
        return sorted(
            preds,
            key=lambda p: (
                best.get(p, 1 << 30),
                _KIND_ORDER.get(g.nodes[p].get("kind", ""), 9),
                str(g.nodes[p].get("label", "")),
            ),
        )

    def walk(n: str, depth: int, path: frozenset[str]) -> None:
        lines.append((depth, _tree_label(g.nodes[n])))
        for obs in children(n, "evidences"):
            lines.append((depth + 1, _tree_label(g.nodes[obs])))
        for p in children(n, "causes"):
            if p not in path:
                walk(p, depth + 1, path | {p})

    walk(root, 0, frozenset({root}))
    return lines
