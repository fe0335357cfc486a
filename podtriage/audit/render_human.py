"""Renderings for people: one self-contained HTML file, and Markdown for chat and tickets.

The HTML has no external asset at all (no script, stylesheet, font or image URL): charts and
causal chains are inline SVG; details are <details> elements, collapsed by default. Every value
from the cluster is escaped.
"""

from __future__ import annotations

from html import escape
from collections.abc import Iterable, Sequence
from typing import Any

from .model import AuditReport, Finding, pending_by, pending_by_age
from .svg import SEVERITY_STROKE, bar_chart, causal_chain

MAX_PODS_HTML = 300
MAX_ROWS_MD = 10


def _details_table(title: str, headers: Sequence[str], total: int, rows: Iterable[Sequence[str]]) -> list[str]:
    """A collapsed table of (already escaped) cells: at most MAX_PODS_HTML rows, then a count."""
    out = [f"<details><summary>{title} ({total:,})</summary><table><tr>"
           + "".join(f"<th>{h}</th>" for h in headers) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    out.append("</table>")
    if total > MAX_PODS_HTML:
        out.append(f"<p class='muted'>… {total - MAX_PODS_HTML:,} more (see -o json)</p>")
    out.append("</details>")
    return out


def _e(text: Any) -> str:
    return escape("" if text is None else str(text), quote=True)


def _age(seconds: float | None) -> str:
    from ..diagnose.status import human_duration

    return "" if seconds is None else human_duration(seconds)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1100px;
padding:16px 24px;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;
vertical-align:top;font-size:.92em}th{background:#f5f5f5}
.meta td:first-child{font-weight:600;background:#fafafa}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}.card{border:1px solid #ddd;border-radius:6px;
padding:8px 14px;min-width:120px}.card b{display:block;font-size:1.6em}
.finding{border:1px solid #ddd;border-left:6px solid #888;border-radius:4px;padding:8px 14px;margin:14px 0}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:.8em;color:#fff;margin-right:4px}
.fail{background:#fee;border:1px solid #c00;padding:8px 12px;border-radius:4px}
.ok{background:#efe;border:1px solid #6a6;padding:8px 12px;border-radius:4px}
.warn{background:#fff8e0;border:1px solid #d90;padding:8px 12px;border-radius:4px}
pre{background:#f6f6f6;padding:6px 10px;overflow-x:auto;white-space:pre-wrap}
details{margin:4px 0}summary{cursor:pointer;color:#345}
.chart,.chain{max-width:100%;height:auto;display:block;margin:6px 0}
.muted{color:#666}code{background:#f3f3f3;padding:0 3px}
"""


def _badge(text: str, colour: str) -> str:
    return f'<span class="badge" style="background:{colour}">{_e(text)}</span>'


def _finding_html(f: Finding, failing: set[str]) -> str:
    rc = f.root_cause
    colour = SEVERITY_STROKE.get(rc.severity, "#888")
    out = [f'<section class="finding" id="f-{_e(f.id)}" style="border-left-color:{colour}">',
           f"<h3>{_e(f.headline)}</h3><p>", _badge(rc.severity, colour), _badge(f.kind, "#567")]
    if f.delta:
        out.append(_badge(f.delta, "#a50" if f.delta == "new" else "#777"))
    if f.id in failing:
        out.append(_badge("fails the audit", "#c00"))
    if f.suppressed_by is not None:
        s = f.suppressed_by
        out.append(_badge("suppressed", "#999"))
    out.append(f' <span class="muted">id <code>{_e(f.id)}</code> · rule <code>{_e(rc.rule)}</code> · '
               f"category {_e(rc.category)}</span></p>")
    if f.suppressed_by is not None:
        s = f.suppressed_by
        out.append(f'<p class="muted">Suppressed by {_e(s.describe())}: {_e(s.reason)}'
                   f'{" (expires " + _e(s.expires) + ")" if s.expires else ""}</p>')
    if f.suppressed_pods:
        out.append(f'<p class="muted">{f.suppressed_pods:,} more pod(s) silenced by namespace/selector '
                   "suppressions.</p>")
    example = f' <span class="muted">(example: {_e(f.example_pod)})</span>' if f.example_pod and f.pods else ""
    out.append(f"<p>{_e(rc.message)}{example}</p>")
    out.append(f"<p style=\"white-space:pre-wrap\"><b>Fix:</b> {_e(rc.fix.strip())}</p>")
    if rc.fix_command:
        out.append(f"<pre>{_e(rc.fix_command)}</pre>")
    if f.graph:
        out.append(causal_chain(f.graph, f.id))
    if rc.evidence:
        out.append(f"<details><summary>Evidence ({len(rc.evidence)})</summary><ul>")
        for ev in rc.evidence:
            out.append(f"<li>{_e(ev.summary)} <span class='muted'>— {_e(ev.source)}"
                       f"{' at ' + _e(ev.time) if ev.time else ''}</span></li>")
        out.append("</ul></details>")
    if rc.nodes and not rc.nodes[0].startswith("?"):
        shown = ", ".join(rc.nodes[:200])
        more = f" and {len(rc.nodes) - 200:,} more" if len(rc.nodes) > 200 else ""
        out.append(f"<details><summary>Nodes ({len(rc.nodes):,})</summary><p>{_e(shown)}{_e(more)}</p></details>")
    if f.workloads:
        out += _details_table("Workloads", ("workload", "owner chain", "pods", "never created"), len(f.workloads),
                              ((_e(w.key), _e(" → ".join(w.chain)), f"{w.pods:,}", f"{w.missing:,}")
                               for w in f.workloads[:MAX_PODS_HTML]))
    if f.pods:
        out += _details_table("Pods", ("pod", "status", "age", "workload"), len(f.pods),
                              ((_e(p.key), _e(p.status), _e(_age(p.age_seconds)), _e(p.workload))
                               for p in f.pods[:MAX_PODS_HTML]))
    out.append("</section>")
    return "".join(out)


def _header_rows(r: AuditReport) -> list[tuple[str, str]]:
    src = r.source
    cluster = src.get("server") or "(from files)"
    scope = r.scope
    ns = scope.get("namespaces")
    return [
        ("generated", r.generated), ("cluster", f"{cluster}" + (f" (context {src.get('context')})"
                                                                 if src.get("context") else "")),
        ("source", f"{src.get('kind')}: {src.get('path')}" + (f", snapshot {src.get('snapshotTime')}"
                                                             if src.get("snapshotTime") else "")),
        ("server version", str(src.get("serverVersion") or "unknown")),
        ("scope", ("all namespaces" if ns == "all" else "namespaces " + ", ".join(ns or []))
         + (f", selector {scope.get('selector')}" if scope.get("selector") else "")),
        ("scanned", f"{r.counts.get('nodes', 0):,} nodes, {r.counts.get('scannedPods', 0):,} pods, "
                    f"{r.counts.get('pendingPods', 0):,} Pending"),
        ("podtriage", f"{r.podtriage_version} (audit took {r.duration_seconds:.1f}s)"),
    ]


def render_html(r: AuditReport) -> str:
    failing = {f.id for f in r.failing()}
    title = f"podtriage audit — {r.source.get('server') or r.source.get('path') or 'cluster'}"
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>", '<table class="meta">']
    out += [f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in _header_rows(r)]
    out.append("</table>")
    if r.missing:
        out.append('<div class="warn"><b>Could not be read</b> (the report may be incomplete):<ul>')
        out += [f"<li>{_e(m.get('resource'))}{' in ' + _e(m.get('namespace')) if m.get('namespace') else ''}: "
                f"{_e(m.get('reason'))}</li>" for m in r.missing]
        out.append("</ul></div>")
    if failing:
        out.append(f'<p class="fail"><b>{len(failing)} blocking finding(s) at or above {_e(r.fail_on)}</b>: the '
                   "audit exits 1.</p>")
    else:
        out.append(f'<p class="ok">No unsuppressed blocking finding at or above {_e(r.fail_on)}.</p>')
    if r.delta is not None:
        d = r.delta
        by_id = r.by_id()
        out.append(f"<h2>Since the last report ({_e(d.previous_generated)})</h2>")
        out.append(f'<div class="cards"><div class="card"><b>{len(d.new)}</b>new</div><div class="card">'
                   f"<b>{len(d.resolved)}</b>resolved</div><div class=\"card\"><b>{len(d.persisting)}</b>"
                   "persisting</div></div>")
        if d.new:
            out.append("<h3>New</h3><ul>")
            out += [f'<li><a href="#f-{_e(i)}">{_e(by_id[i].headline)}</a></li>' for i in d.new if i in by_id]
            out.append("</ul>")
        if d.resolved:
            out.append("<h3>Resolved</h3><ul>")
            out += [f"<li>{_e(x.headline)} <span class='muted'>({_e(x.id)})</span></li>" for x in d.resolved]
            out.append("</ul>")
        if d.persisting:
            out.append(f"<details><summary>Persisting ({len(d.persisting)})</summary><ul>")
            out += [f'<li><a href="#f-{_e(i)}">{_e(by_id[i].headline)}</a></li>' for i in d.persisting if i in by_id]
            out.append("</ul></details>")
    c = r.counts
    out.append("<h2>Summary</h2><div class=\"cards\">")
    for label, key in (("Pending pods", "pendingPods"), ("blocking findings", "blockingFindings"),
                       ("workloads blocked", "workloadsBlocked"), ("controllers failing to create pods",
                                                                   "workloadsMissingPods"),
                       ("risks", "riskFindings"), ("suppressed", "suppressedFindings")):
        out.append(f'<div class="card"><b>{int(c.get(key, 0)):,}</b>{_e(label)}</div>')
    out.append("</div>")
    out.append(bar_chart("Pending pods by category of their primary cause", pending_by(r.pending, "category")))
    out.append(bar_chart("Pending pods by age", pending_by_age(r.pending), colour="#b5794a"))
    main = [f for f in r.findings if f.kind != "risk"]
    risks = [f for f in r.findings if f.kind == "risk"]
    out.append(f"<h2>Findings ({len(main)})</h2>")
    if not main:
        out.append("<p>Nothing Pending in scope.</p>")
    out += [_finding_html(f, failing) for f in main]
    out.append(f"<h2>Risks ({len(risks)})</h2><p class='muted'>Configuration that blocks nothing today but leaves "
               "pods Pending on the next reschedule. Low severity, never blocking.</p>")
    out += [_finding_html(f, failing) for f in risks]
    if r.suppressed:
        out.append(f"<h2>Suppressed ({len(r.suppressed)})</h2>")
        out += [_finding_html(f, failing) for f in r.suppressed]
    if r.expired_suppressions or r.unused_suppressions:
        out.append("<h2>Suppression housekeeping</h2><ul>")
        out += [f"<li>expired: {_e(s.describe())} on {_e(s.expires)} — {_e(s.reason)}</li>"
                for s in r.expired_suppressions]
        out += [f"<li>matched nothing: {_e(s.describe())} — {_e(s.reason)}</li>" for s in r.unused_suppressions]
        out.append("</ul>")
    if r.notes or r.warnings:
        out.append("<h2>Notes</h2><ul>")
        out += [f"<li>{_e(n)}</li>" for n in (*r.notes, *r.warnings)]
        out.append("</ul>")
    out.append("</body></html>\n")
    return "\n".join(out)


# --- Markdown ---------------------------------------------------------------------------------------


def _md(text: Any) -> str:
    """Escape what would break a table cell or start markup; keep it readable."""
    s = " ".join(str(text if text is not None else "").split())
    for ch in ("\\", "|", "<", ">", "*", "_", "[", "]"):
        s = s.replace(ch, "\\" + ch)
    return s


def _finding_md(f: Finding, failing: set[str]) -> list[str]:
    rc = f.root_cause
    tags = [rc.severity, f.kind] + ([f.delta] if f.delta else []) + (["FAILS"] if f.id in failing else [])
    lines = [f"### {_md(f.headline)}", "",
             f"`{f.id}` · rule `{rc.rule}` · {' · '.join(tags)}", "", _md(rc.message), ""]
    if "\n" in rc.fix.strip():
        lines += ["**Fix:**", "", "```", rc.fix.strip().replace("```", "'''"), "```"]
    else:
        lines.append(f"**Fix:** {_md(rc.fix)}")
    if rc.fix_command:
        lines += ["", "```", rc.fix_command.replace("```", "'''"), "```"]
    if f.suppressed_by is not None:
        lines += ["", f"_Suppressed by {_md(f.suppressed_by.describe())}: {_md(f.suppressed_by.reason)}_"]
    if f.workloads:
        lines += ["", "| workload | owner chain | pods | never created |", "|---|---|---:|---:|"]
        lines += [f"| {_md(w.key)} | {_md(' → '.join(w.chain))} | {w.pods:,} | {w.missing:,} |"
                  for w in f.workloads[:MAX_ROWS_MD]]
        if len(f.workloads) > MAX_ROWS_MD:
            lines.append(f"| … {len(f.workloads) - MAX_ROWS_MD:,} more | | | |")
    if f.pods:
        shown = ", ".join(_md(p.key) for p in f.pods[:MAX_ROWS_MD])
        more = f" and {len(f.pods) - MAX_ROWS_MD:,} more" if len(f.pods) > MAX_ROWS_MD else ""
        lines += ["", f"Pods: {shown}{more}"]
    if rc.evidence:
        lines += ["", "<details><summary>Evidence</summary>", ""]
        lines += [f"- {_md(e.summary)} ({_md(e.source)})" for e in rc.evidence[:10]]
        lines += ["", "</details>"]
    lines.append("")
    return lines


def render_markdown(r: AuditReport) -> str:
    failing = {f.id for f in r.failing()}
    lines = [f"# podtriage audit — {_md(r.source.get('server') or r.source.get('path') or 'cluster')}", ""]
    lines += ["| | |", "|---|---|"] + [f"| {_md(k)} | {_md(v)} |" for k, v in _header_rows(r)] + [""]
    if r.missing:
        lines.append("**Could not be read:** " + "; ".join(
            f"{_md(m.get('resource'))}{' in ' + _md(m.get('namespace')) if m.get('namespace') else ''}: "
            f"{_md(m.get('reason'))}" for m in r.missing))
        lines.append("")
    lines.append(f"**{len(failing)} blocking finding(s) at or above {r.fail_on}: the audit fails.**" if failing
                 else f"No unsuppressed blocking finding at or above {r.fail_on}.")
    lines.append("")
    if r.delta is not None:
        d = r.delta
        by_id = r.by_id()
        lines += [f"## Since the last report ({_md(d.previous_generated)})", "",
                  f"{len(d.new)} new, {len(d.resolved)} resolved, {len(d.persisting)} persisting.", ""]
        lines += [f"- **new:** {_md(by_id[i].headline)}" for i in d.new if i in by_id]
        lines += [f"- **resolved:** {_md(x.headline)}" for x in d.resolved]
        lines.append("")
    c = r.counts
    lines += ["## Summary", "",
              f"{c.get('pendingPods', 0):,} Pending pods, {c.get('blockingFindings', 0):,} blocking findings, "
              f"{c.get('workloadsBlocked', 0):,} workloads blocked, {c.get('workloadsMissingPods', 0):,} controllers "
              f"failing to create pods, {c.get('riskFindings', 0):,} risks, {c.get('suppressedFindings', 0):,} "
              "suppressed.", ""]
    by_cat = pending_by(r.pending, "category")
    if by_cat:
        lines += ["| category | Pending pods |", "|---|---:|"] + [f"| {_md(k)} | {v:,} |" for k, v in by_cat.items()]
        lines.append("")
    main = [f for f in r.findings if f.kind != "risk"]
    risks = [f for f in r.findings if f.kind == "risk"]
    lines += [f"## Findings ({len(main)})", ""]
    if not main:
        lines += ["Nothing Pending in scope.", ""]
    for f in main:
        lines += _finding_md(f, failing)
    if risks:
        lines += [f"## Risks ({len(risks)})", "", "_Blocks nothing today; leaves pods Pending on the next "
                  "reschedule._", ""]
        for f in risks:
            lines += _finding_md(f, failing)
    if r.suppressed:
        lines += [f"## Suppressed ({len(r.suppressed)})", ""]
        lines += [f"- {_md(f.headline)} — {_md(f.suppressed_by.reason if f.suppressed_by else '')}"
                  for f in r.suppressed]
        lines.append("")
    if r.expired_suppressions or r.unused_suppressions:
        lines += ["## Suppression housekeeping", ""]
        lines += [f"- expired: {_md(s.describe())} on {s.expires} — {_md(s.reason)}" for s in r.expired_suppressions]
        lines += [f"- matched nothing: {_md(s.describe())} — {_md(s.reason)}" for s in r.unused_suppressions]
        lines.append("")
    if r.notes:
        lines += ["## Notes", ""] + [f"- {_md(n)}" for n in r.notes] + [""]
    return "\n".join(lines)
