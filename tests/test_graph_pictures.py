"""`--graph dot|mermaid`: labels wrapped between words, pictures sized for a page.

The DOT output is laid out by the real Graphviz (`dot`, Debian's graphviz package, installed by
tools/browser/install.sh in CI) on the demo stories and on the 300-node cluster of issue 18.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from podtriage.analyze import Explainer
from podtriage.graph import LABEL_WIDTH, from_node_link, to_dot, to_mermaid, wrap_label
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules

from report300 import write_cluster

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo" / "cluster.yaml"
DEMO_TARGETS = [("deployment/inference", "ml"), ("deployment/checkout", "shop"), ("web-6d9f7c8b5-q7m2d", None),
                ("postgres-0", None), ("legacy-report-28841760-x8k2q", None)]
# A portrait page's printable area (US Letter and A4 with margins), in points.
PAGE_PT = (7.5 * 72, 10 * 72)


# --- wrapping ------------------------------------------------------------------------------------------


def test_words_are_never_cut_when_they_fit() -> None:
    text = "2 of 6 node(s) carry taint `nvidia.com/gpu=present:NoSchedule` that pod ml/inference does not tolerate"
    lines = wrap_label(text, 22, 20)
    assert all(len(line) <= 22 for line in lines)
    words = [w for w in text.split() if len(w) <= 22]
    for w in words:  # every word that fits a line is on one line, whole
        assert any(w in line.split() for line in lines), w
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")  # nothing lost
    # the one word longer than a line fills the line and is broken after a separator ("=")
    assert lines == ["2 of 6 node(s) carry", "taint `nvidia.com/gpu=", "present:NoSchedule`",
                     "that pod ml/inference", "does not tolerate"]


def test_a_word_longer_than_a_line_breaks_after_a_separator() -> None:
    lines = wrap_label("node ip-10-0-37-83.ec2.internal is NotReady", 16, 10)
    assert lines[0] == "node ip-10-0-37-"  # fills the line, broken after "-"
    assert "".join(lines).replace(" ", "") == "nodeip-10-0-37-83.ec2.internalisNotReady"
    assert all(line[-1] in "/.,:=-_" or line.endswith(("node", "NotReady", "internal", "is"))
               for line in lines), lines
    # no separator at all: cut at the width, the only way left
    assert wrap_label("x" * 50, 20, 5) == ["x" * 20, "x" * 20, "x" * 10]


def test_too_long_ends_with_an_ellipsis_after_a_whole_word() -> None:
    lines = wrap_label("one two three four five six seven eight nine ten eleven twelve", 14, 2)
    assert lines == ["one two three", "four five six…"]
    # the last line broke inside a node name: the ellipsis goes after the last whole word
    lines = wrap_label("pod cannot be placed on (e.g. ip-10-0-4-122.ec2.internal, ip-10-0-8-254)", 20, 2)
    assert lines[-1].endswith("(e.g.…") and len(lines) == 2
    assert wrap_label("", 10, 3) == [""]


def _demo_graphs() -> list[tuple[str, object]]:
    ex = Explainer(load_path(DEMO), load_rules())
    return [(t, from_node_link(ex.explain(t, ns).graph)) for t, ns in DEMO_TARGETS]


def test_mermaid_labels_are_wrapped() -> None:
    for target, g in _demo_graphs():
        text = to_mermaid(g)
        labels = re.findall(r'^\s+n\d+\W+"(.*)"\W+$', text, re.MULTILINE)
        assert labels, target
        for label in labels:
            for line in label.split("<br/>"):
                plain = re.sub(r"#(\d+|quot|lt|gt);", "x", line)
                # the rule id heads a cause's label on its own line and may be longer
                assert len(plain) <= LABEL_WIDTH + 1 or re.fullmatch(r"[a-z0-9-]+:", plain), (target, line)


def test_dot_labels_are_wrapped() -> None:
    for target, g in _demo_graphs():
        for label in re.findall(r'label="((?:[^"\\]|\\.)*)"', to_dot(g)):
            for line in label.split("\\n"):
                assert len(line.replace('\\"', '"')) <= max(LABEL_WIDTH, 30), (target, line)


# --- laid out by the real Graphviz ------------------------------------------------------------------


def _dot_binary() -> str:
    dot = shutil.which("dot")
    if dot is None:
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("Graphviz `dot` is missing: tools/browser/install.sh installs it in CI")
        pytest.skip("Graphviz `dot` is not installed (apt-get install graphviz)")
    return dot


def _layout(dot: str, source: str) -> tuple[float, float, float]:
    """(width pt, height pt, scale) of `dot -Tsvg`."""
    svg = subprocess.run([dot, "-Tsvg"], input=source, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    m = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
    s = re.search(r'transform="scale\(([\d.]+)', svg)
    assert m and s, svg[:300]
    return float(m[1]), float(m[2]), float(s[1])


def test_dot_fits_a_page_at_a_legible_scale(tmp_path: Path) -> None:
    dot = _dot_binary()
    graphs = _demo_graphs()
    # and the biggest explain graphs of the 300-node cluster (every cause of a GPU pod, cordons, ...)
    snap = load_path(write_cluster(tmp_path / "c300.json"))
    ex = Explainer(snap, load_rules())
    for name in ("pending-gpu-taint-07-00000007-00492", "pending-too-large-04-00000004-00392",
                 "pending-pvc-missing-77-0000004d-00465"):
        graphs.append((name, from_node_link(ex.explain(name, None).graph)))
    for target, g in graphs:
        width, height, scale = _layout(dot, to_dot(g))
        assert width <= PAGE_PT[0] + 1 and height <= PAGE_PT[1] + 1, (target, width, height)
        # the page cap may shrink a drawing a little; 10 pt text must stay readable (>= 8.5 pt)
        assert scale >= 0.85, (target, scale)
