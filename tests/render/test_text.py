"""The terminal view: answer first, evidence grouped, the fix, the chain, what was missing."""

from __future__ import annotations

import io
import re

from rich.console import Console

from podtriage.render import render_text

from . import (
    TAINT_FIX_CMD,
    blocked_pod_report,
    missing_evidence_report,
    running_pod_report,
    workload_report,
)

TREE = [
    (0, "Pod default/web-0 Pending"),
    (1, "0/30 nodes feasible"),
    (2, "28 nodes: taint `dedicated=gpu:NoSchedule`"),
    (2, "2 nodes: Insufficient cpu"),
    (1, "FailedScheduling x14"),
]


def render(report, *, width: int = 100, tree=None, verbose: bool = False) -> str:
    console = Console(record=True, width=width, no_color=True, file=io.StringIO())
    render_text(report, console=console, tree=tree, verbose=verbose)
    return console.export_text(styles=False)


def flat(text: str) -> str:
    """Whitespace-normalised, so wrapped lines read as one."""
    return " ".join(text.split())


def first_paragraph(text: str) -> str:
    return flat(text.strip().split("\n\n")[0])


def test_headline_comes_first_and_names_the_taint() -> None:
    out = render(blocked_pod_report(), tree=TREE)
    assert out.startswith("✗ default/web-0 is Pending: [HIGH] Untolerated taint")
    head = first_paragraph(out)
    assert "28 node(s) carry taint `dedicated=gpu:NoSchedule` that the pod does not tolerate" in head
    assert "taint-untolerated" in head and "confidence 0.90" in head and "Node/gpu-a-01" in head
    # answer before evidence, evidence before fix, fix before chain
    order = [out.index(s) for s in ("✗ default/web-0", "Other root causes", "Evidence", "Fix",
                                      "Causal chain", "source: file")]
    assert order == sorted(order)


def test_other_root_causes_are_numbered() -> None:
    out = render(blocked_pod_report())
    assert re.search(r"^ 2\. \[MEDIUM\] Insufficient CPU — 2 node\(s\) have 350m cpu free", out, re.MULTILINE)
    # the rule's id beside its category (they differ here)
    assert "insufficient-resources (PT-RES-001) · confidence 0.80" in out


def test_node_groups_show_counts_not_rows() -> None:
    out = render(blocked_pod_report())
    assert re.search(r"^\s*28\s+TaintToleration\s+node gpu-a-01 has taint", out, re.MULTILINE)
    assert re.search(r"^\s*2\s+NodeResourcesFit\s+cpu: requested 2", out, re.MULTILINE)
    assert "gpu-a-01, gpu-a-02, gpu-a-03, …" in out
    assert "gpu-a-04" not in out  # grouped, not listed
    assert "0/30 nodes feasible" in out


def test_scheduler_view_and_disagreement() -> None:
    out = flat(render(blocked_pod_report()))
    assert "FailedScheduling ×14, first 2024-05-02T08:12:40Z, last 2024-05-02T10:41:07Z" in out
    assert "latest: 0/30 nodes are available: 2 Insufficient cpu" in out
    assert "condition PodScheduled=False (Unschedulable) since 2024-05-02T08:12:40Z" in out
    assert "scheduler says 28 taint, podtriage finds 26: cluster changed since the event" in out


def test_fix_command_printed_whole() -> None:
    out = render(blocked_pod_report())
    fix = out[out.index("\nFix\n"):]
    assert "1. Add a toleration for `dedicated=gpu:NoSchedule`" in flat(fix)
    # never wrapped: the command survives copy and paste
    assert any(line.strip() == TAINT_FIX_CMD for line in fix.splitlines())
    assert "2. Lower the pod's cpu request" in fix


def test_fix_command_whole_even_when_narrow() -> None:
    out = render(blocked_pod_report(), width=60)
    assert any(line.strip() == TAINT_FIX_CMD for line in out.splitlines())


def test_causal_chain_is_a_tree() -> None:
    out = render(blocked_pod_report(), tree=TREE)
    chain = out[out.index("Causal chain"):].splitlines()
    depth = {label: next(line.index(label) for line in chain if label in line) for _, label in TREE}
    assert depth["Pod default/web-0 Pending"] < depth["0/30 nodes feasible"]
    assert depth["0/30 nodes feasible"] < depth["28 nodes: taint `dedicated=gpu:NoSchedule`"]
    assert depth["28 nodes: taint `dedicated=gpu:NoSchedule`"] == depth["2 nodes: Insufficient cpu"]
    assert depth["FailedScheduling x14"] == depth["0/30 nodes feasible"]


def test_no_tree_no_chain_section() -> None:
    assert "Causal chain" not in render(blocked_pod_report())


def test_missing_evidence_and_lowered_confidence() -> None:
    out = render(missing_evidence_report())
    assert "per-node verdicts unavailable: no nodes to evaluate (see missing below)" in out
    assert "missing: no permission to list nodes: per-node verdicts unavailable" in out
    assert out.count("missing: no permission") == 1  # report and pod say it once each: shown once
    assert "confidence lowered to 0.60" in out
    assert "warning: events older than 1h were not available" in out
    assert ("source: live cluster, context prod-eu (https://10.0.0.1:6443), "
            "snapshot 2024-05-02T10:45:00Z") in out
    assert "nodes feasible" not in out


def test_user_strings_are_not_markup() -> None:
    out = render(missing_evidence_report())
    assert "nodeSelector `pool=[blue]` matches no node" in flat(out)
    assert "kubectl label node worker-3 'pool=[blue]'" in out


def test_markup_lookalikes_print_literally() -> None:
    import dataclasses

    report = blocked_pod_report()
    cause = dataclasses.replace(report.root_causes[0], message="label `team=[bold]x[/bold]` :smile: is wrong")
    report = dataclasses.replace(report, root_causes=(cause,))
    assert "label `team=[bold]x[/bold]` :smile: is wrong" in first_paragraph(render(report))


def test_workload_state_causes_and_pods() -> None:
    out = render(workload_report())
    assert out.startswith("✗ Deployment default/web: 2 pods blocked: [HIGH] Untolerated taint")
    head = first_paragraph(out)
    assert "pods: default/web-5d8f-abcde, default/web-5d8f-fghij" in head
    assert "Workload: 4 desired, 1 ready, 1 available, 2 pods pending, 1 not created" in head
    assert 'FailedCreate ×3: pods "web-5d8f-pqrst" is forbidden: exceeded quota: compute' in head
    assert "Pods (2/3 blocked)" in out
    pod_line = r"^✗ default/web-5d8f-abcde  Pending  taint-untolerated: 28 node\(s\)"
    assert re.search(pod_line, out, re.MULTILINE)
    assert re.search(r"^✓ default/web-5d8f-klmno  Running on worker-2$", out, re.MULTILINE)
    # evidence for one representative pod by default, every blocked pod with -v
    assert out.count("Evidence (") == 1
    assert render(workload_report(), verbose=True).count("Evidence (") == 2


def test_not_blocked_is_one_quiet_line() -> None:
    out = render(running_pod_report())
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0] == "✓ default/web-0 is Running on worker-2: nothing blocks it"
    assert "Fix" not in out and "Evidence" not in out
    assert lines[-1] == "source: live cluster, context prod-eu"


def test_verbose_adds_evidence_per_cause() -> None:
    quiet = render(blocked_pod_report())
    loud = render(blocked_pod_report(), verbose=True)
    assert "the latest message above" in quiet
    assert "(uid 5c1e9a2b-0f4d-4b1e-9c7a-2d3e4f5a6b7c)" in flat(loud)
    assert len(loud) > len(quiet)


def test_no_color_emits_no_ansi_even_on_a_terminal() -> None:
    for report in (blocked_pod_report(), missing_evidence_report(), workload_report(), running_pod_report()):
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=True, color_system="truecolor", no_color=True, width=100)
        render_text(report, console=console, tree=TREE, verbose=True)
        assert "\x1b" not in buf.getvalue()


def test_color_output_is_styled() -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, color_system="standard", width=100)
    render_text(blocked_pod_report(), console=console, tree=TREE)
    assert "\x1b[" in buf.getvalue()
    assert "dedicated=gpu:NoSchedule" in buf.getvalue()


def test_fits_100_columns() -> None:
    for report in (blocked_pod_report(), missing_evidence_report(), workload_report()):
        out = render(report, tree=TREE)
        too_wide = [ln for ln in out.splitlines() if len(ln.rstrip()) > 100 and ln.strip() != TAINT_FIX_CMD]
        assert not too_wide


def test_not_blocked_lists_its_notes() -> None:
    import dataclasses

    note = dataclasses.replace(blocked_pod_report().root_causes[1], blocking=False,
                               category="deprecated-label",
                               message="node selector uses deprecated label `beta.kubernetes.io/os`")
    report = dataclasses.replace(running_pod_report(), root_causes=(note,))
    out = render(report)
    assert out.startswith("✓ default/web-0 is Running on worker-2: nothing blocks it (1 note below)")
    assert re.search(r"^ 1\. \[MEDIUM\] Insufficient CPU — node selector uses deprecated label", out,
                     re.MULTILINE)
    assert "not blocking" in out


def test_colored_fix_command_is_not_cropped() -> None:
    for width in (100, 50):
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=True, color_system="256", width=width)
        render_text(blocked_pod_report(), console=console)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", buf.getvalue())
        assert any(line.strip() == TAINT_FIX_CMD for line in plain.splitlines())


def test_backticks_are_code_in_colour_and_marks_without() -> None:
    from io import StringIO

    from rich.console import Console

    from podtriage.render.text import render_text

    report = blocked_pod_report()
    buf = StringIO()
    render_text(report, console=Console(file=buf, force_terminal=True, color_system="truecolor", width=200))
    coloured = buf.getvalue()
    assert "dedicated=gpu:NoSchedule" in coloured and "`dedicated=gpu:NoSchedule`" not in coloured
    assert "`dedicated=gpu:NoSchedule`" in render(report)  # no colour: the backticks are the marking


def test_the_explained_pod_is_named_once_then_the_pod() -> None:
    out = render(blocked_pod_report())
    head = first_paragraph(out)
    assert head.count("default/web-0") == 1, head  # the headline names it; the messages say "the pod"


def test_text_output_of_fixture_cases() -> None:
    """Bound pods get no scheduling feasibility line; a fix command is printed once and names
    every node it concerns."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def explain(case: str, target: str, ns: str = "default") -> str:
        r = subprocess.run([sys.executable, "-m", "podtriage.cli", "explain", target, "-n", ns, "--from",
                            str(root / "fixtures" / "cases" / f"{case}.yaml"), "--no-color"],
                           capture_output=True, text=True, cwd=root, timeout=120)
        assert r.returncode == 1, r.stderr
        return r.stdout

    bound = explain("kubelet-image-not-found", "web-7c9d8f6b5-x2k4p")
    assert "nodes feasible" not in bound
    cordoned = explain("node-unschedulable", "web-0")
    assert cordoned.count("kubectl uncordon worker-1 worker-2") == 1, cordoned
