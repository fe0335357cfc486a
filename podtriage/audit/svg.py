"""Inline SVG pictures for the HTML report: bar charts and a finding's causal chain.

Everything is escaped (labels come from the cluster: label values, messages, names); no external
fonts, scripts or links.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ..graph import wrap_label

SEVERITY_FILL = {"critical": "#fdd", "high": "#fed", "medium": "#ffd", "low": "#efe", "info": "#eee"}
SEVERITY_STROKE = {"critical": "#c00", "high": "#d60", "medium": "#aa0", "low": "#6a6", "info": "#888"}


def _e(text: Any) -> str:
    return escape(str(text), quote=True)


def bar_chart(title: str, data: Mapping[str, int], *, width: int = 640, colour: str = "#4a78b5") -> str:
    """Horizontal bars, one row per key, with the count at the end of the bar."""
    rows = list(data.items())
    row_h, label_w, top = 22, 230, 26
    height = top + row_h * max(len(rows), 1) + 8
    peak = max((v for _, v in rows), default=0) or 1
    bar_w = width - label_w - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" class="chart"><title>{_e(title)}</title>',
             f'<text x="0" y="16" font-size="13" font-weight="bold">{_e(title)}</text>']
    if not rows:
        parts.append(f'<text x="0" y="{top + 14}" font-size="12" fill="#666">nothing Pending</text>')
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = max(int(bar_w * value / peak), 1 if value else 0)
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" font-size="12" text-anchor="end">'
                     f'<title>{_e(label)}</title>{_e(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row_h - 6}" fill="{colour}">'
                     f'<title>{_e(label)}: {value}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6}" y="{y + 15}" font-size="12">{value:,}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _layers(nodes: Mapping[str, Mapping[str, Any]], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Causes left, the symptom right, effects in between at their longest distance from a cause."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for u, v in edges:
        if u in succ and v in succ:
            succ[u].append(v)
    depth: dict[str, int] = {}
    frontier = [n for n, a in nodes.items() if a.get("kind") == "cause"]
    for n in frontier:
        depth[n] = 0
    # Longest path on a small DAG: relax repeatedly (bounded by the number of nodes).
    for _ in range(len(nodes)):
        changed = False
        for u in list(depth):
            for v in succ.get(u, []):
                if depth.get(v, -1) < depth[u] + 1:
                    depth[v] = depth[u] + 1
                    changed = True
        if not changed:
            break
    symptom = [n for n, a in nodes.items() if a.get("kind") == "symptom"]
    last = max((d for n, d in depth.items() if n not in symptom), default=0) + 1
    for n in symptom:
        depth[n] = max(depth.get(n, 0), last)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for n, d in sorted(depth.items(), key=lambda kv: str(kv[0])):
        layers[d].append(n)
    return [layer for layer in layers if layer]


# Text metrics for the chain picture: 11 px labels, at most CHAR_PX per character (measured
# against DejaVu Sans, the widest common sans-serif; the browser test checks that text stays inside).
FONT_PX = 11
CHAR_PX = 6.9
LINE_PX = 13
HEAD_PX = 20
MAX_LINES = {"cause": 6, "effect": 3, "symptom": 3}
PAGE_PX = 1000  # the report's content width: a picture is never drawn wider


def causal_chain(graph: Mapping[str, Any], uid: str) -> str:
    """A layered drawing of a node-link causal graph (observations are listed, not drawn).

    Labels are wrapped between words (graph.wrap_label) into boxes as tall as their text; the
    boxes share the page's width, so the picture is drawn at its natural size.
    """
    nodes = {str(n["id"]): n for n in graph.get("nodes", []) if n.get("kind") != "observation"}
    edges = [(str(e["source"]), str(e["target"])) for e in graph.get("edges", [])
             if e.get("relation") == "causes"]
    if not nodes:
        return ""
    layers = _layers(nodes, edges)
    gap_x, gap_y, pad = 44, 14, 8
    box_w = int(min(300, (PAGE_PX - 2 * pad - (len(layers) - 1) * gap_x) / len(layers)))
    chars = max(int((box_w - 12) / CHAR_PX), 12)
    texts: dict[str, list[str]] = {}
    for n, a in nodes.items():
        kind = str(a.get("kind", "effect"))
        texts[n] = wrap_label(str(a.get("label", n)), chars, MAX_LINES.get(kind, 3))
    box_h = {n: HEAD_PX + LINE_PX * len(lines) + 6 for n, lines in texts.items()}
    col_h = [sum(box_h[n] for n in layer) + gap_y * (len(layer) - 1) for layer in layers]
    width = pad * 2 + len(layers) * box_w + (len(layers) - 1) * gap_x
    height = pad * 2 + max(col_h)
    pos: dict[str, tuple[int, int]] = {}
    for i, layer in enumerate(layers):
        x = pad + i * (box_w + gap_x)
        y = pad + (max(col_h) - col_h[i]) // 2
        for n in layer:
            pos[n] = (x, y)
            y += box_h[n] + gap_y
    marker = f"arrow-{_e(uid)}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chain" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>causal chain</title>',
             f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             f'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/>'
             f'</marker></defs>']
    for u, v in edges:
        if u in pos and v in pos:
            (x1, y1), (x2, y2) = pos[u], pos[v]
            parts.append(f'<line x1="{x1 + box_w}" y1="{y1 + box_h[u] // 2}" x2="{x2}" y2="{y2 + box_h[v] // 2}" '
                         f'stroke="#555" stroke-width="1.5" marker-end="url(#{marker})"/>')
    for n, (x, y) in pos.items():
        a = nodes[n]
        kind = a.get("kind", "effect")
        label = str(a.get("label", n))
        if kind == "cause":
            sev = str(a.get("severity", "info"))
            fill, stroke, rx = SEVERITY_FILL.get(sev, "#eee"), SEVERITY_STROKE.get(sev, "#888"), 2
            head = f"{a.get('rule', '')} ({sev})"
        elif kind == "symptom":
            fill, stroke, rx, head = "#eef", "#446", 14, "symptom"
        else:
            fill, stroke, rx, head = "#fff", "#777", 10, "effect"
        parts.append(f'<g class="box"><title>{_e(label)}</title><rect x="{x}" y="{y}" width="{box_w}" '
                     f'height="{box_h[n]}" rx="{rx}" fill="{fill}" stroke="{stroke}"/>'
                     f'<text x="{x + 6}" y="{y + 14}" font-size="10" fill="#555">{_e(head)}</text>')
        for k, line in enumerate(texts[n]):
            parts.append(f'<text x="{x + 6}" y="{y + HEAD_PX + 9 + k * LINE_PX}" font-size="{FONT_PX}">'
                         f"{_e(line)}</text>")
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
