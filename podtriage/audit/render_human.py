"""Renderings for people: one self-contained HTML file, Markdown for tickets, short Markdown for chat.

HTML and Markdown open with an index (one row per finding, in the cards' order, linked to its
card), then the cards. The HTML has no external asset at all (no script, stylesheet, font or
image URL): charts and causal chains are inline SVG; details are <details> elements, collapsed by
default. Every value from the cluster is escaped. The short Markdown never exceeds CHAT_LIMIT.
"""

from __future__ import annotations

from html import escape
from collections.abc import Iterable, Sequence
from typing import Any

from .model import AuditReport, Finding, pending_by, pending_by_age
from .svg import SEVERITY_STROKE, bar_chart, causal_chain

MAX_PODS_HTML = 300
MAX_ROWS_MD = 10
MAX_FOLDED_MD = 50


def _details_table(title: str, headers: Sequence[str], total: int, rows: Iterable[Sequence[str]],
                   css: str = "") -> list[str]:
    """A collapsed table of (already escaped) cells: at most MAX_PODS_HTML rows, then a count."""
    cls = f' class="{css}"' if css else ""
    summary = f"{title} ({total:,})" if not css else title
    out = [f"<details{cls}><summary>{summary}</summary><table><tr>"
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
.more{display:flex;flex-wrap:wrap;column-gap:22px}.more details[open]{flex-basis:100%}
.cards .card{padding:4px 12px;min-width:100px}.cards .card b{font-size:1.3em}
table.index td{font-size:.88em}table.index td.n{text-align:right}.subject{font-family:monospace;font-size:.9em;
overflow-wrap:anywhere}
"""


def _badge(text: str, colour: str) -> str:
    return f'<span class="badge" style="background:{colour}">{_e(text)}</span>'


def _namespaces_cell(f: Finding) -> str:
    ns = f.namespaces
    if len(ns) <= 2:
        return ", ".join(ns)
    return f"{len(ns):,}"


def _kind_label(f: Finding) -> str:
    return "not blocking" if f.kind == "advisory" else f.kind


def _delta_text(f: Finding) -> str:
    """new / persisting, and for a folded finding that persists, how many of its objects are new."""
    if not f.delta:
        return ""
    new = sum(1 for o in f.folded.objects if o.delta == "new") if f.folded else 0
    return f.delta + (f" ({new:,} of {f.folded.count:,} new)" if f.folded and new and f.delta != "new" else "")


def _index_rows(r: AuditReport) -> list[Finding]:
    """Every finding in the order the cards come: findings by impact, then risks."""
    return [f for f in r.findings if f.kind != "risk"] + [f for f in r.findings if f.kind == "risk"]


def _index_html(r: AuditReport, failing: set[str]) -> list[str]:
    rows = _index_rows(r)
    if not rows:
        return []
    delta = r.delta is not None
    out = ['<h2 id="index">Index</h2>', '<table class="index"><tr><th>#</th><th>severity</th><th>cause</th>'
           '<th>pods</th><th>workloads</th><th>namespaces</th><th>oldest</th>'
           + ("<th>since last report</th>" if delta else "") + "</tr>"]
    for i, f in enumerate(rows, start=1):
        colour = SEVERITY_STROKE.get(f.severity, "#888")
        kind = "" if f.kind == "blocking" else f' <span class="muted">{_e(_kind_label(f))}</span>'
        fails = " " + _badge("fails", "#c00") if f.id in failing else ""
        folded = f' <span class="muted">({_e(f.folded.describe())})</span>' if f.folded else ""
        pods = f"{len(f.pods):,}" + (f" + {f.missing_pods:,} never created" if f.missing_pods else "")
        out.append(f'<tr><td>{i}</td><td>{_badge(f.severity, colour)}{kind}{fails}</td>'
                   f'<td><a href="#f-{_e(f.id)}">{_e(f.root_cause.title)}</a><br>'
                   f'<span class="subject">{_e(f.subject if not f.folded else "")}</span>{folded}</td>'
                   f"<td class=\"n\">{pods}</td><td class=\"n\">{len(f.workloads):,}</td>"
                   f'<td title="{_e(", ".join(f.namespaces))}">{_e(_namespaces_cell(f))}</td>'
                   f"<td>{_e(_age(f.oldest_seconds) if f.pods else '')}</td>"
                   + (f"<td>{_e(_delta_text(f) or 'not compared')}</td>" if delta else "") + "</tr>")
    out.append("</table>")
    return out


def _folded_html(f: Finding) -> list[str]:
    folded = f.folded
    if folded is None:
        return []
    delta = any(o.delta for o in folded.objects)
    new = sum(1 for o in folded.objects if o.delta == "new")
    title = f"{_e(folded.describe())}" + (f", {new:,} new" if delta and new else "")
    headers = [_e(folded.kind), "namespace", "pods", "workloads", "oldest", "example pod", "id"] + \
        (["since last report"] if delta else [])
    rows = ([_e(o.name), _e(o.namespace), f"{o.pods:,}" + (f" + {o.missing:,} never created" if o.missing else ""),
             f"{o.workloads:,}", _e(_age(o.oldest_seconds) if o.pods else ""), _e(o.example_pod),
             f"<code>{_e(o.id)}</code>"] + ([_e(o.delta)] if delta else [])
            for o in folded.objects[:MAX_PODS_HTML])
    return _details_table(title, headers, folded.count, rows, css="folded")


def _finding_html(f: Finding, failing: set[str]) -> str:
    rc = f.root_cause
    colour = SEVERITY_STROKE.get(rc.severity, "#888")
    out = [f'<section class="finding" id="f-{_e(f.id)}" style="border-left-color:{colour}">',
           f"<h3>{_e(f.headline)}</h3><p>", _badge(rc.severity, colour),
           _badge(_kind_label(f), "#567")]
    if f.delta:
        out.append(_badge(f.delta, "#a50" if f.delta == "new" else "#777"))
    if f.id in failing:
        out.append(_badge("fails the audit", "#c00"))
    if f.suppressed_by is not None:
        out.append(_badge("suppressed", "#999"))
    out.append(f' <span class="muted">id <code>{_e(f.id)}</code> · rule <code>{_e(rc.rule)}</code> · '
               f'category {_e(rc.category)} · <a href="#index">index</a></span></p>')
    if f.suppressed_by is not None:
        s = f.suppressed_by
        out.append(f'<p class="muted">Suppressed by {_e(s.describe())}: {_e(s.reason)}'
                   f'{" (expires " + _e(s.expires) + ")" if s.expires else ""}</p>')
    if f.suppressed_pods:
        out.append(f'<p class="muted">{f.suppressed_pods:,} more pod(s) silenced by namespace/selector '
                   "suppressions.</p>")
    if f.folded:
        first = f.folded.objects[0]
        out.append(f"<p><b>Example</b> ({_e(f.folded.kind)} {_e(first.subject.split('/', 1)[-1])}, 1 of "
                   f"{f.folded.count:,}): {_e(rc.message)}</p>")
    else:
        example = f' <span class="muted">(example: {_e(f.example_pod)})</span>' if f.example_pod and f.pods else ""
        out.append(f"<p>{_e(rc.message)}{example}</p>")
    fix_for = f" (for the example; the same for each {_e(f.folded.kind)})" if f.folded else ""
    out.append(f"<p style=\"white-space:pre-wrap\"><b>Fix{fix_for}:</b> {_e(rc.fix.strip())}</p>")
    if rc.fix_command:
        out.append(f"<pre>{_e(rc.fix_command)}</pre>")
    if f.graph:
        out.append(causal_chain(f.graph, f.id))
    out.append('<div class="more">')  # the collapsed lists side by side; an opened one takes the row
    out += _folded_html(f)
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
    out.append("</div></section>")
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


def _delta_html(r: AuditReport) -> list[str]:
    d = r.delta
    if d is None:
        return []
    by_id = r.by_id()
    out = [f"<h2>Since the last report ({_e(d.previous_generated)})</h2>"]
    if d.scope_changes:
        out.append('<div class="warn"><b>The scope changed</b>: only what both reports cover is compared.<ul>')
        out += [f"<li>{_e(c)}</li>" for c in d.scope_changes]
        out.append("</ul></div>")
    out.append(f'<div class="cards"><div class="card"><b>{len(d.new)}</b>new</div><div class="card">'
               f"<b>{len(d.resolved)}</b>resolved</div><div class=\"card\"><b>{len(d.persisting)}</b>"
               "persisting</div>"
               + (f'<div class="card"><b>{len(d.out_of_scope) + len(d.not_in_previous_scope)}</b>not compared'
                  "</div>" if d.out_of_scope or d.not_in_previous_scope else "") + "</div>")
    if d.new:
        out.append("<h3>New</h3><ul>")
        out += [f'<li><a href="#f-{_e(i)}">{_e(by_id[i].headline)}</a></li>' for i in d.new if i in by_id]
        out.append("</ul>")
    if d.resolved:
        out.append("<h3>Resolved</h3><ul>")
        out += [f"<li>{_e(x.headline)} <span class='muted'>({_e(x.id)})</span></li>" for x in d.resolved]
        out.append("</ul>")
    if d.out_of_scope or d.not_in_previous_scope:
        out.append(f"<details><summary>Not compared ({len(d.out_of_scope) + len(d.not_in_previous_scope)}): "
                   "outside one of the two scopes, so neither new nor resolved</summary><ul>")
        out += [f"<li>{_e(x.headline)} <span class='muted'>({_e(x.id)}: {_e(x.reason)})</span></li>"
                for x in d.out_of_scope]
        out += [f'<li><a href="#f-{_e(i)}">{_e(by_id[i].headline)}</a> <span class="muted">(outside the previous '
                "report's scope)</span></li>" for i in d.not_in_previous_scope if i in by_id]
        out.append("</ul></details>")
    if d.persisting:
        out.append(f"<details><summary>Persisting ({len(d.persisting)})</summary><ul>")
        out += [f'<li><a href="#f-{_e(i)}">{_e(by_id[i].headline)}</a></li>' for i in d.persisting if i in by_id]
        out.append("</ul></details>")
    return out


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
    out += _delta_html(r)
    c = r.counts
    out.append("<h2>Summary</h2><div class=\"cards\">")
    for label, key in (("Pending pods", "pendingPods"), ("blocking findings", "blockingFindings"),
                       ("workloads blocked", "workloadsBlocked"), ("controllers failing to create pods",
                                                                   "workloadsMissingPods"),
                       ("risks", "riskFindings"), ("suppressed", "suppressedFindings")):
        out.append(f'<div class="card"><b>{int(c.get(key, 0)):,}</b>{_e(label)}</div>')
    out.append("</div>")
    out += _index_html(r, failing)
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
    tags = [rc.severity, _kind_label(f)] + ([f.delta] if f.delta else []) + (["FAILS"] if f.id in failing else [])
    lines = [f'<a id="f-{f.id}"></a>', "", f"### {_md(f.headline)}", "",
             f"`{f.id}` · rule `{rc.rule}` · {' · '.join(tags)} · [index](#index)", ""]
    if f.folded:
        first = f.folded.objects[0]
        lines += [f"**Example** ({_md(f.folded.kind)} {_md(first.subject.split('/', 1)[-1])}, 1 of "
                  f"{f.folded.count:,}): {_md(rc.message)}", ""]
    else:
        lines += [_md(rc.message), ""]
    fix = "**Fix" + (f" (for the example; the same for each {_md(f.folded.kind)})" if f.folded else "") + ":**"
    if "\n" in rc.fix.strip():
        lines += [fix, "", "```", rc.fix.strip().replace("```", "'''"), "```"]
    else:
        lines.append(f"{fix} {_md(rc.fix)}")
    if rc.fix_command:
        lines += ["", "```", rc.fix_command.replace("```", "'''"), "```"]
    if f.suppressed_by is not None:
        lines += ["", f"_Suppressed by {_md(f.suppressed_by.describe())}: {_md(f.suppressed_by.reason)}_"]
    if f.folded:
        lines += _folded_md(f)
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


def _folded_md(f: Finding) -> list[str]:
    """The folded objects in a collapsed block (GitHub and GitLab render <details>)."""
    assert f.folded is not None
    objects = f.folded.objects
    delta = any(o.delta for o in objects)
    lines = ["", f"<details><summary>{_e(f.folded.describe())}</summary>", "",
             f"| {_md(f.folded.kind)} | namespace | pods | example pod |" + (" since last |" if delta else ""),
             "|---|---|---:|---|" + ("---|" if delta else "")]
    lines += [f"| {_md(o.name)} | {_md(o.namespace)} | {o.pods:,} | {_md(o.example_pod)} |"
              + (f" {o.delta or ''} |" if delta else "") for o in objects[:MAX_FOLDED_MD]]
    if len(objects) > MAX_FOLDED_MD:
        lines.append(f"| … {len(objects) - MAX_FOLDED_MD:,} more (see -o json) | | | |" + (" |" if delta else ""))
    return lines + ["", "</details>"]


def _index_md(r: AuditReport, failing: set[str]) -> list[str]:
    rows = _index_rows(r)
    if not rows:
        return []
    delta = r.delta is not None
    lines = ['<a id="index"></a>', "", "## Index", "",
             "| # | severity | cause | pods | workloads | namespaces | oldest |" + (" since last |" if delta else ""),
             "|---:|---|---|---:|---:|---|---|" + ("---|" if delta else "")]
    for i, f in enumerate(rows, start=1):
        sev = f.severity + ("" if f.kind == "blocking" else f", {_kind_label(f)}") + (", fails" if f.id in failing
                                                                                         else "")
        what = f.folded.describe() if f.folded else f.subject
        pods = f"{len(f.pods):,}" + (f" + {f.missing_pods:,} never created" if f.missing_pods else "")
        lines.append(f"| {i} | {sev} | [{_md(f.root_cause.title)}](#f-{f.id}) — {_md(what)} | {pods} | "
                     f"{len(f.workloads):,} | {_md(_namespaces_cell(f))} | {_age(f.oldest_seconds) if f.pods else ''} |"
                     + (f" {_delta_text(f) or 'not compared'} |" if delta else ""))
    return lines + [""]


def _delta_md(r: AuditReport) -> list[str]:
    d = r.delta
    if d is None:
        return []
    by_id = r.by_id()
    lines = [f"## Since the last report ({_md(d.previous_generated)})", ""]
    if d.scope_changes:
        lines += ["**The scope changed**: only what both reports cover is compared.", ""]
        lines += [f"- {_md(c)}" for c in d.scope_changes] + [""]
    skipped = len(d.out_of_scope) + len(d.not_in_previous_scope)
    lines += [f"{len(d.new)} new, {len(d.resolved)} resolved, {len(d.persisting)} persisting"
              + (f", {skipped} not compared (outside one of the two scopes)" if skipped else "") + ".", ""]
    lines += [f"- **new:** {_md(by_id[i].headline)}" for i in d.new if i in by_id]
    lines += [f"- **resolved:** {_md(x.headline)}" for x in d.resolved]
    if skipped:
        lines += ["", f"<details><summary>Not compared ({skipped})</summary>", ""]
        lines += [f"- {_md(x.headline)} ({_md(x.reason)})" for x in d.out_of_scope]
        lines += [f"- {_md(by_id[i].headline)} (outside the previous report's scope)"
                  for i in d.not_in_previous_scope if i in by_id]
        lines += ["", "</details>"]
    lines.append("")
    return lines


def render_markdown(r: AuditReport) -> str:
    """The full Markdown report: header, delta, index, summary, then one section per finding."""
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
    lines += _delta_md(r)
    lines += _index_md(r, failing)
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


# --- Markdown for chat -------------------------------------------------------------------------------

# What a chat message takes: Slack asks for at most 4,000 characters of message text (and cuts at
# 40,000), Telegram takes 4,096, Mattermost 16,383, Teams about 28 KB. The short report never
# exceeds CHAT_LIMIT characters, whatever the cluster.
CHAT_LIMIT = 4000
CHAT_TOP = 10  # findings listed at most
_CHAT_LINE = 320  # characters one finding's line may take


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_markdown_short(r: AuditReport) -> str:
    """Summary and the top findings, within CHAT_LIMIT characters (`-o markdown-short`)."""
    failing = {f.id for f in r.failing()}
    c = r.counts
    where = _md(_clip(str(r.source.get("server") or r.source.get("path") or "cluster"), 120))
    ns = r.scope.get("namespaces")
    scope = "" if ns == "all" else " · namespaces " + _md(_clip(", ".join(ns or []), 120))
    scope += f" · selector {_md(_clip(str(r.scope.get('selector')), 80))}" if r.scope.get("selector") else ""
    head = [f"**podtriage audit** · {where}{scope} · {_md(r.generated)}",
            f"**{c.get('pendingPods', 0):,} Pending pods**, {c.get('blockingFindings', 0):,} blocking findings, "
            f"{c.get('workloadsBlocked', 0):,} workloads blocked"
            + (f", {c.get('riskFindings', 0):,} risks" if c.get("riskFindings") else "")
            + (f", {c.get('suppressedFindings', 0):,} suppressed" if c.get("suppressedFindings") else "") + " · "
            + (f"**fails** ({len(failing)} at or above {r.fail_on})" if failing else f"passes (--fail-on {r.fail_on})")]
    if r.missing:
        head.append(f"⚠ {len(r.missing)} resource(s) could not be read: the report may be incomplete")
    if r.delta is not None:
        d = r.delta
        skipped = len(d.out_of_scope) + len(d.not_in_previous_scope)
        head.append(f"Since {_md(d.previous_generated)}: {len(d.new)} new, {len(d.resolved)} resolved, "
                    f"{len(d.persisting)} persisting" + (f", {skipped} not compared" if skipped else "")
                    + (" · **scope changed**: " + _md(_clip(d.scope_changes[0], 200)) if d.scope_changes else ""))
    rows = _index_rows(r)
    lines = head + [""] if rows else head + ["", "Nothing Pending in scope."]
    trailer_room = 200
    budget = CHAT_LIMIT - trailer_room - sum(len(x) + 1 for x in lines)
    shown = 0
    for i, f in enumerate(rows[:CHAT_TOP], start=1):
        what = f.folded.describe() if f.folded else f.subject
        tags = f.severity + ("" if f.kind == "blocking" else f", {_kind_label(f)}") + \
            (f", {_delta_text(f)}" if f.delta else "")
        impact = f"{len(f.pods):,} pods" + (f" + {f.missing_pods:,} never created" if f.missing_pods else "") + \
            f", {len(f.workloads):,} workloads, {len(f.namespaces):,} ns" + \
            (f", oldest {_age(f.oldest_seconds)}" if f.pods else "")
        line = _clip(f"{i}. `{tags}` **{_md(f.root_cause.title)}** — {_md(what)} · {impact}", _CHAT_LINE)
        if len(line) + 1 > budget:
            break
        lines.append(line)
        budget -= len(line) + 1
        shown += 1
    rest = rows[shown:]
    if rest:
        blocking = sum(1 for f in rest if f.kind == "blocking")
        lines.append(f"_… {len(rest):,} more finding(s)"
                     + (f" ({blocking:,} blocking)" if blocking else "") + ": the full report is `-o markdown` or "
                     "`-o html`._")
    return "\n".join(lines) + "\n"
