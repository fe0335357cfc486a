"""The terminal view of a Report: the answer first, then evidence, the fix, the chain, the gaps.

Everything user-provided (messages, label values, node names) goes into `rich.text.Text` pieces
printed with markup off, so nothing is parsed as markup: a label value such as `a[b]` prints as
itself. With a no-colour console no style is applied at all, so the output is plain text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..findings import Fix, PodReport, Report, RootCause, VerdictGroup

_SEVERITY_STYLE = {
    "critical": "bold white on red",
    "high": "bold white on dark_orange3",
    "medium": "bold black on yellow",
    "low": "bold black on cyan",
    "info": "bold white on blue",
}

# How much a default (non-verbose) view shows before saying "+N more (-v)".
_TOP_FIXES = 3
_TOP_EVIDENCE = 3
_POD_LINES = 20
_EXAMPLES = 3


class _Out:
    """The console plus the colour decision: every style goes through `style()`."""

    def __init__(self, console: Console, verbose: bool, pod: str = "") -> None:
        self.console = console
        self.verbose = verbose
        self.color = not console.no_color
        self.pod = pod  # the pod the screen is about: its name is said once, in the headline

    def said(self, message: str) -> str:
        """A cause's message with the explained pod called "the pod" (its name is in the headline)."""
        if not self.pod:
            return message
        return message.replace(f"Pod {self.pod}", "The pod").replace(f"pod {self.pod}", "the pod")

    def style(self, style: str) -> str:
        return style if self.color else ""

    def text(self, *parts: str | tuple[str, str]) -> Text:
        """Text from plain strings and (string, style) pairs; strings are never parsed as markup."""
        t = Text()
        for p in parts:
            if isinstance(p, tuple):
                t.append(p[0], style=self.style(p[1]))
            else:
                t.append(p)
        return t

    def code_spans(self, message: str, base: str = "") -> Text:
        """`message` with its `backticked` keys rendered as code: in colour, styled without the
        backticks (Markdown's marks are not text); without colour, the backticks are the marking."""
        t = Text(style=self.style(base))
        for i, chunk in enumerate(message.split("`")):
            if i % 2:
                t.append(chunk if self.color else f"`{chunk}`", style=self.style("bold cyan"))
            else:
                t.append(chunk)
        if message.count("`") % 2:  # unbalanced: keep the text exactly as given
            t = Text(message, style=self.style(base))
        return t

    def print(self, renderable: Any = "") -> None:
        self.console.print(renderable, highlight=False, markup=False, emoji=False)

    def section(self, title: str) -> None:
        self.print()
        self.print(self.text((title, "bold underline")))

    def badge(self, severity: str) -> Text:
        if not self.color:
            return Text(f"[{severity.upper()}]")
        return self.text((f" {severity.upper()} ", _SEVERITY_STYLE.get(severity, "bold reverse")))


def render_text(report: Report, *, console: Console, tree: list[tuple[int, str]] | None = None,
                verbose: bool = False) -> None:
    """Print the report for a person: headline, ranked causes, evidence, fix, causal chain, footer."""
    workload = report.target.get("kind", "Pod") != "Pod"
    t = report.target
    out = _Out(console, verbose, pod="" if workload else f"{t.get('namespace', '')}/{t.get('name', '')}")
    pod = report.pods[0] if report.pods else None

    if workload:
        _workload_headline(out, report)
        _workload_state(out, report)
    else:
        _pod_headline(out, report, pod)
    _other_causes(out, report.root_causes, blocked=report.blocked)
    if workload:
        _pod_lines(out, report.pods)

    # Evidence: for a pod, its own; for a workload, the first blocked pod stands for the rest
    # (they share a template), every blocked pod with -v.
    # Quiet on success: a pod that runs gets its evidence only with -v.
    shown = [p for p in report.pods if p.blocked] or (list(report.pods[:1]) if verbose else [])
    if not verbose:
        shown = shown[:1]
    for p in shown:
        _evidence(out, p, report.root_causes[:1] if not workload else p.root_causes[:1],
                  title=f"Evidence ({p.key})" if workload else "Evidence")
    _fixes(out, report.root_causes)
    if tree and _something_pending(report):
        _causal_chain(out, tree)
    _footer(out, report)


def _something_pending(report: Report) -> bool:
    """A causal chain explains a Pending pod (or a controller's missing pods); a pod that runs has none."""
    missing = report.workload.get("missing") if isinstance(report.workload, Mapping) else None
    return report.blocked or any(p.phase == "Pending" for p in report.pods) or bool(missing)


# -- 1. headline ------------------------------------------------------------------------------

def _pod_headline(out: _Out, report: Report, pod: PodReport | None) -> None:
    name = _target_name(report)
    status = (pod.status or pod.phase) if pod else "unknown"
    top = report.root_causes[0] if report.root_causes else None
    if report.blocked:
        line = out.text(("✗ ", "bold red"), (f"{name} is {status}", "bold"), ": ")
        if top:
            _append_cause(out, line, top)
        else:
            line.append("no known root cause matched; see the scheduler's view below")
        out.print(line)
        if top:
            out.print(_cause_details(out, top, indent="  "))
            _counterfactual(out, top, indent="  ")
        return
    where = f" on {pod.node}" if pod and pod.node else ""
    line = out.text(("✓ ", "bold green"), (f"{name} is {status}{where}", "bold"), ": nothing blocks it")
    notes = [r for r in report.root_causes if not r.blocking]
    if notes:
        line.append(f" ({len(notes)} note{'s' if len(notes) != 1 else ''} below)")
    out.print(line)


def _workload_headline(out: _Out, report: Report) -> None:
    name = _target_name(report)
    top = report.root_causes[0] if report.root_causes else None
    if not report.blocked:
        out.print(out.text(("✓ ", "bold green"), (name, "bold"), ": nothing blocks its pods"))
        return
    blocked = [p for p in report.pods if p.blocked]
    what = f"{len(blocked)} pod{'s' if len(blocked) != 1 else ''} blocked" if report.pods else "no pods"
    line = out.text(("✗ ", "bold red"), (f"{name}: {what}", "bold"), ": ")
    if top:
        _append_cause(out, line, top)
    else:
        line.append("no known root cause matched")
    out.print(line)
    if top:
        out.print(_cause_details(out, top, indent="  "))
        _counterfactual(out, top, indent="  ")


def _counterfactual(out: _Out, cause: RootCause, indent: str) -> None:
    """Why this cause comes first, and what would still block after its fix."""
    if cause.rank_reason:
        out.print(out.text(indent, ("why first: ", "dim"), cause.rank_reason))
    for other in cause.still_blocked_by:
        line = out.text(indent, ("still blocked after it by: ", "yellow"), f"{other.get('rule', '')}: ")
        line.append_text(out.code_spans(out.said(str(other.get("message", "")))))
        out.print(line)


def _append_cause(out: _Out, line: Text, cause: RootCause) -> None:
    """badge, title — message: the one line that names the cause and the object at fault."""
    line.append_text(out.badge(cause.severity))
    line.append(" ")
    line.append_text(out.text((cause.title, "bold"), " — "))
    line.append_text(out.code_spans(out.said(cause.message)))


def _target_name(report: Report) -> str:
    t = report.target
    ns, name = t.get("namespace", ""), t.get("name", "")
    key = f"{ns}/{name}" if ns else name
    kind = t.get("kind", "Pod")
    return key if kind == "Pod" else f"{kind} {key}"


def _cause_details(out: _Out, cause: RootCause, indent: str) -> Text:
    """The line under a cause: category (and the rule, when it says more), confidence, object at
    fault, affected pods."""
    parts: list[str | tuple[str, str]] = [indent, (cause.category, "magenta")]
    if cause.rule != cause.category:
        parts += [" (", (cause.rule, "magenta"), ")"]
    parts.append(f" · confidence {cause.confidence:.2f}")
    if not cause.blocking:
        parts.append(" · not blocking")
    if cause.subject:
        parts += [" · ", (cause.subject, "bold")]
    if cause.pods:
        parts.append(f" · pods: {_some(cause.pods, 4)}")
    return out.text(*parts)


# -- 2. other root causes ---------------------------------------------------------------------

def _other_causes(out: _Out, causes: Sequence[RootCause], *, blocked: bool) -> None:
    """The causes after the headline's, numbered in rank order; when nothing blocks, all are notes."""
    start = 2 if blocked else 1
    rest = list(causes[start - 1:])
    # Background: blocks only target nodes that need more changes than the top cause's (decided by
    # podtriage.decide); one line unless -v.
    background = [c for c in rest if not c.blocking and c.feasible_after is not None]
    if background and not out.verbose:
        rest = [c for c in rest if c not in background]
    if background and not out.verbose:
        summary = out.text(("Background (not the cause): ", "dim"))
        summary.append_text(out.code_spans("; ".join(f"{c.subject or c.rule} on {len(c.nodes)} node(s)"
                                                     for c in background[:4])))
        if len(background) > 4:
            summary.append(f"; +{len(background) - 4} more")
        summary.append_text(out.text((" (-v for details)", "dim")))
        if not rest:
            out.print()
            out.print(summary)
            return
    if not rest:
        return
    out.section("Other root causes" if blocked else "Notes")
    for i, cause in enumerate(rest, start=start):
        line = out.text(f"{i:>2}. ")
        _append_cause(out, line, cause)
        out.print(line)
        out.print(_cause_details(out, cause, indent="     "))
        if out.verbose:
            _evidence_items(out, cause.evidence, indent="     ", limit=None)
    if background and not out.verbose:
        out.print(summary)


# -- workload state and per-pod lines ---------------------------------------------------------

def _workload_state(out: _Out, report: Report) -> None:
    w = report.workload
    bits: list[str] = []
    replicas = w.get("replicas")
    if replicas is not None:
        bits.append(f"{replicas} desired")
    counts = (("ready", "readyReplicas", "ready"), ("available", "availableReplicas", "available"))
    for key, alt, label in counts:
        val = w.get(key, w.get(alt))
        if val is not None:
            bits.append(f"{val} {label}")
    pending = w.get("pending")
    if pending is None:
        pending = sum(1 for p in report.pods if p.blocked)
    n_pending = len(pending) if isinstance(pending, (list, tuple)) else pending
    bits.append(f"{n_pending} pod{'s' if n_pending != 1 else ''} pending")
    missing = w.get("missing")
    if missing:
        bits.append(f"{missing} not created")
    line = out.text("  ", ("Workload: ", "bold"), ", ".join(bits))
    out.print(line)
    for ev in w.get("events") or ():
        if not isinstance(ev, Mapping):
            continue
        reason = str(ev.get("reason", "Event"))
        count = ev.get("count")
        times = f" ×{count}" if count and count != 1 else ""
        ev_line = out.text("  ", (f"{reason}{times}", "yellow" if ev.get("type") != "Normal" else ""), ": ")
        ev_line.append_text(out.code_spans(str(ev.get("message", ""))))
        when = ev.get("lastSeen") or ev.get("lastTimestamp")
        if when:
            ev_line.append_text(out.text((f" (last {when})", "dim")))
        out.print(ev_line)


def _pod_lines(out: _Out, pods: Sequence[PodReport]) -> None:
    if not pods:
        return
    out.section(f"Pods ({sum(1 for p in pods if p.blocked)}/{len(pods)} blocked)")
    limit = None if out.verbose else _POD_LINES
    for p in pods[:limit]:
        status = p.status or p.phase
        if p.blocked:
            line = out.text(("✗ ", "red"), (p.key, "bold"), f"  {status}")
            top = p.root_causes[0] if p.root_causes else None
            if top:
                line.append_text(out.text("  ", (top.category, "magenta"), ": "))
                line.append_text(out.code_spans(top.message))
        else:
            where = f" on {p.node}" if p.node else ""
            line = out.text(("✓ ", "green"), (p.key, "bold"), f"  {status}{where}")
        out.print(line)
    if limit is not None and len(pods) > limit:
        out.print(out.text((f"  … {len(pods) - limit} more pods (-v to list all)", "dim")))


# -- 3. evidence ------------------------------------------------------------------------------

def _evidence(out: _Out, pod: PodReport, top: Sequence[RootCause], *, title: str) -> None:
    sched = pod.scheduler or {}
    has_groups = bool(pod.node_groups) or pod.total_nodes is not None
    has_cited = any(c.evidence for c in top)
    if not (has_groups or sched or has_cited):
        return
    out.section(title)
    _placement(out, pod)
    if pod.node_groups:
        out.print(_groups_table(out, pod.node_groups))
    if pod.total_nodes is not None and not pod.node:  # a bound pod is past the filters: no feasibility
        n = len(pod.feasible_nodes)
        line = out.text((f"{n}/{pod.total_nodes} nodes feasible", "bold green" if n else "bold red"))
        if n:
            line.append(f": {_some(pod.feasible_nodes, _EXAMPLES)}")
        out.print(line)
    elif not pod.node_groups:
        # Why (unreadable, or never part of the input) is in `missing`, printed in the footer.
        out.print(out.text(("per-node verdicts unavailable: no nodes to evaluate (see missing below)", "yellow")))
    if sched:
        _scheduler_view(out, sched)
    for cause in top:
        if cause.evidence:
            out.print(out.text(("Cited by the top cause:", "bold")))
            _evidence_items(out, cause.evidence, indent="  ",
                            limit=None if out.verbose else _TOP_EVIDENCE,
                            shown=str(sched.get("message") or ""))


def _placement(out: _Out, pod: PodReport) -> None:
    """Where the pod wants to run: the target nodes, and that the others are its own choice."""
    p = pod.placement or {}
    if not p or pod.total_nodes is None:
        return
    terms = [t for t in p.get("constraints") or () if isinstance(t, Mapping)]
    n, total = int(p.get("targetNodes") or 0), pod.total_nodes
    line = out.text(("Wants: ", "bold"))
    if terms:
        line.append_text(out.code_spans(" and ".join(str(t.get("text", "")) for t in terms)))
        line.append(f" → {n} of {total} node(s)")
    else:
        line.append(f"any node → {n} of {total} node(s)")
    targets = [str(x) for x in p.get("targets") or ()]
    if targets:
        line.append(f" ({_some(targets, _EXAMPLES)})")
    excluded = total - n
    if excluded:
        cp = int(p.get("controlPlaneExcluded") or 0)
        why = "control-plane nodes" if cp == excluded else "the pod's own choice" + \
            (f" or control-plane nodes ({cp})" if cp else "")
        line.append_text(out.text((f"; the other {excluded} are background ({why}), not the cause", "dim")))
    out.print(line)
    corrected = p.get("corrected")
    if isinstance(corrected, Mapping) and corrected.get("nodes"):
        nodes = [str(x) for x in corrected.get("nodes") or ()]
        out.print(out.text(("  after the correction: ", "dim"), f"{len(nodes)} node(s) ({_some(nodes, _EXAMPLES)})"))


def _groups_table(out: _Out, groups: Sequence[VerdictGroup]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False,
                  header_style=out.style("bold"), safe_box=True)
    table.add_column("Nodes", justify="right", no_wrap=True)
    table.add_column("Plugin", no_wrap=True, style=out.style("cyan"))
    table.add_column("Why", ratio=3, overflow="fold")
    table.add_column("Examples", ratio=1, overflow="fold")
    for g in groups:
        more = g.count - len(g.examples)
        examples = ", ".join(g.examples[:_EXAMPLES])
        more += max(0, len(g.examples) - _EXAMPLES)
        if more > 0:  # the count column already says how many
            examples += ", …"
        table.add_row(Text(str(g.count)), Text(g.plugin), out.code_spans(g.message or g.reason),
                      Text(examples))
    return table


def _scheduler_view(out: _Out, sched: Mapping[str, Any]) -> None:
    attempts = [a for a in sched.get("attempts") or () if isinstance(a, Mapping)]
    message = sched.get("message")
    condition = sched.get("condition")
    comparison = [c for c in sched.get("comparison") or () if isinstance(c, Mapping)]
    if not (attempts or message or condition or comparison):
        return
    out.print(out.text(("The scheduler's view:", "bold")))
    if attempts:
        total = sum(int(a.get("count") or 1) for a in attempts)
        firsts = [str(a["firstSeen"]) for a in attempts if a.get("firstSeen")]
        lasts = [str(a["lastSeen"]) for a in attempts if a.get("lastSeen")]
        line = out.text("  FailedScheduling", f" ×{total}")
        if firsts:
            line.append(f", first {min(firsts)}")
        if lasts:
            line.append(f", last {max(lasts)}")
        out.print(line)
        if out.verbose:
            for a in attempts:
                out.print(out.text(f"    ×{a.get('count') or 1} ", (str(a.get("source", "")), "dim"),
                                   f" {a.get('message', '')}"))
    if message:
        line = out.text("  latest: ")
        line.append_text(out.code_spans(str(message)))
        out.print(line)
    if isinstance(condition, Mapping) and condition:
        ctype = condition.get("type", "PodScheduled")
        line = out.text(f"  condition {ctype}={condition.get('status', '?')}")
        if condition.get("reason"):
            line.append(f" ({condition['reason']})")
        if condition.get("lastTransitionTime"):
            line.append(f" since {condition['lastTransitionTime']}")
        if out.verbose and condition.get("message"):
            line.append(f": {condition['message']}")
        out.print(line)
    for c in comparison:
        out.print(out.text(("  ⚠ ", "yellow"), (_disagreement(c), "yellow")))


def _disagreement(c: Mapping[str, Any]) -> str:
    code = str(c.get("code", "?"))
    sched, ours = c.get("scheduler"), c.get("ours")
    said = f"scheduler says {sched} {code}" if sched is not None else f"scheduler reports no {code}"
    found = f"podtriage finds {ours}" if ours is not None else "podtriage finds none"
    note = c.get("note")
    return f"{said}, {found}" + (f": {note}" if note else "")


def _evidence_items(out: _Out, items: Sequence[Any], *, indent: str, limit: int | None,
                    shown: str = "") -> None:
    """One line per evidence item with its provenance; `shown` is text already printed above."""
    for e in items[:limit]:
        line = out.text(indent, "← ", (f"{e.kind}", "dim"), " ")
        if shown and e.summary == shown and not out.verbose:
            line.append("the latest message above")
        else:
            line.append_text(out.code_spans(e.summary))
        src = f" [{e.source}" + (f", {e.time}" if e.time else "") + "]" if e.source else ""
        line.append_text(out.text((src, "dim")))
        out.print(line)
    if limit is not None and len(items) > limit:
        out.print(out.text(indent, (f"… {len(items) - limit} more (-v)", "dim")))


# -- 4. fix -----------------------------------------------------------------------------------

def _fixes(out: _Out, causes: Sequence[RootCause]) -> None:
    top = [c for c in causes if c.blocking] or list(causes)
    seen: set[tuple[str, str]] = set()
    unique = []
    for c in top:
        key = (c.fix, c.fix_command)
        if (c.fix or c.fix_command) and key not in seen:
            seen.add(key)
            unique.append(c)
    if not unique:
        return
    limit = None if out.verbose else _TOP_FIXES
    out.section("Fix")
    for i, c in enumerate(unique[:limit], start=1):
        line = out.text(f"{i}. ")
        line.append_text(out.code_spans(c.fix or c.title))
        out.print(line)
        said = c.fix or ""
        structured = _unsaid(c, said) if i == 1 else []
        for f in structured[:1]:
            who = "" if f.applied_by == "owner" else f" (needs a {f.applied_by})"
            more = len([g for g in structured if g.object.get("kind") == "Node"]) - 1
            also = f", and {more} more node(s) alike: -o json lists every patch" if more > 0 else ""
            out.print(out.text("   → ", (f.description + who + also, "bold")))
            if f.command:
                out.console.print(_command_block(out, f.command), crop=False, soft_wrap=True,
                                  highlight=False, markup=False, emoji=False)
        # Once: not again when the prose or a structured fix above already gives the command.
        if c.fix_command and c.fix_command not in said and not any(f.command == c.fix_command
                                                                    for f in structured[:1]):
            # Never wrapped or cropped: a command must survive copy and paste.
            out.console.print(_command_block(out, c.fix_command), crop=False, soft_wrap=True,
                              highlight=False, markup=False, emoji=False)
    if limit is not None and len(unique) > limit:
        out.print(out.text((f"… {len(unique) - limit} more fixes (-v)", "dim")))


def _unsaid(c: RootCause, said: str) -> list[Fix]:
    """The safe structured fixes the prose does not already give: its own command, or a command
    that names every node the node patches are for."""
    safe = [f for f in c.fixes if f.safe]
    nodes = [f for f in safe if f.object.get("kind") == "Node"]
    if nodes and len(nodes) == len(safe) and all(f.object.get("name", "") in said for f in nodes) and "kubectl" in said:
        return []
    return [f for f in safe if f.command not in said]


def _command_block(out: _Out, command: str) -> Text:
    lexer = "yaml" if _looks_like_yaml(command) else "bash"
    if not out.color:
        return Text("\n".join("    " + ln for ln in command.rstrip("\n").splitlines()))
    # Highlight to a Text (not a Syntax panel): a Syntax renderable is cut at the console width.
    syntax = Syntax("", lexer, theme="ansi_dark", background_color="default")
    lines = syntax.highlight(command.rstrip("\n")).split("\n")
    block = Text()
    for i, ln in enumerate(lines):
        if i:
            block.append("\n")
        block.append("    ")
        block.append_text(ln)
    block.rstrip()
    return block


def _looks_like_yaml(command: str) -> bool:
    first = command.lstrip().splitlines()[0] if command.strip() else ""
    return first.startswith(("apiVersion:", "spec:", "metadata:", "- "))


# -- 5. causal chain --------------------------------------------------------------------------

def _causal_chain(out: _Out, lines: Iterable[tuple[int, str]]) -> None:
    """A rich Tree from (depth, label) lines: each line hangs under the nearest shallower one."""
    root = Tree(Text("Causal chain", style=out.style("bold underline")), guide_style=out.style("dim"),
                hide_root=False)
    stack: list[tuple[int, Tree]] = [(-1, root)]
    for depth, label in lines:
        while stack[-1][0] >= depth:
            stack.pop()
        node = stack[-1][1].add(out.code_spans(label))
        stack.append((depth, node))
    out.print()
    out.print(root)


# -- 6. footer --------------------------------------------------------------------------------

def _footer(out: _Out, report: Report) -> None:
    missing = list(dict.fromkeys([*report.missing, *(m for p in report.pods for m in p.missing)]))
    out.print()
    for m in missing:
        out.print(out.text(("missing: ", "yellow"), m))
    confidence = min([report.confidence, *(p.confidence for p in report.pods)])
    if confidence < 1:
        said = "confidence lowered to" if missing else "confidence"
        out.print(out.text((f"{said} {confidence:.2f}", "yellow")))
    for w in report.warnings:
        out.print(out.text(("warning: ", "yellow"), w))
    out.print(out.text((_source_line(report.source), "dim")))


def _source_line(source: Mapping[str, Any]) -> str:
    kind = source.get("kind", "")
    if kind == "file":
        what = f"file {source.get('path', '?')}"
    elif kind == "live":
        ctx = source.get("context")
        server = source.get("server")
        what = "live cluster" + (f", context {ctx}" if ctx else "") + (f" ({server})" if server else "")
    else:
        what = str(kind or "unknown")
    when = source.get("snapshotTime")
    return f"source: {what}" + (f", snapshot {when}" if when else "")


def _some(items: Sequence[str], n: int) -> str:
    shown = ", ".join(items[:n])
    return shown + (f", +{len(items) - n} more" if len(items) > n else "")

