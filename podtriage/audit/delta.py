"""`--previous REPORT.json`: what is new, resolved and persisting since the last audit.

Like is compared with like. A finding of the previous report that lies outside the current
scope (a namespace not audited now, pods the current `-l` does not select, a finding the current
config suppresses) is not "resolved": it is listed as out of scope. A finding of this run that
lies outside the previous report's scope is not "new". A change of scope (namespaces, selector,
suppression entries) is stated. Reports written before the scope was recorded count as
all namespaces, no selector, suppressions unknown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError, InputFileError
from ..loaders.nesting import TOO_DEEP
from .model import AUDIT_KIND, Delta, Finding, ResolvedFinding
from .selector import parse_selector, selector_matches


def load_previous(path: str | Path) -> dict[str, Any]:
    """The previous `-o json` audit document; InputFileError when it is not one."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(str(p), f"cannot read the previous report: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:  # also: not UTF-8, nested too deeply, a 5000-digit number
        what = TOO_DEEP if isinstance(exc, RecursionError) else str(exc)[:200]
        raise InputFileError(str(p), f"the previous report is not JSON: {what}",
                             hint="pass the file an earlier `podtriage audit -o json` wrote") from None
    if not isinstance(doc, dict) or doc.get("kind") != AUDIT_KIND or not isinstance(doc.get("findings"), list):
        raise InputFileError(str(p), f"not a podtriage audit report (kind {AUDIT_KIND!r} with findings expected)",
                             hint="pass the file an earlier `podtriage audit -o json` wrote")
    return doc


# --- the previous document, read defensively (it is a file a user hands us) -------------------------


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _strs(value: Any) -> list[str]:
    return [x for x in value if isinstance(x, str)] if isinstance(value, list) else []


def _ids(f: Mapping[str, Any]) -> set[str]:
    """A previous finding's id and, when it was folded, its objects' ids."""
    out = {f["id"]} if isinstance(f.get("id"), str) else set()
    folded = f.get("folded")
    if isinstance(folded, dict):
        out |= {o["id"] for o in _dicts(folded.get("objects")) if isinstance(o.get("id"), str)}
    return out


def _namespaces(value: Any) -> tuple[str, ...]:
    """A scope's namespaces: () for all."""
    return () if value == "all" or not isinstance(value, list) else tuple(sorted(_strs(value)))


def normal_scope(scope: Any) -> dict[str, Any]:
    """{namespaces: tuple (empty: all), selector: str, suppressions: set of entries | None (unknown)}."""
    scope = scope if isinstance(scope, dict) else {}
    sup = scope.get("suppressions")
    entries = None
    if isinstance(sup, list):
        entries = {tuple(str(s.get(k) or "") for k in ("rule", "category", "namespace", "selector", "finding"))
                   for s in _dicts(sup)}
    selector = scope.get("selector")
    return {"namespaces": _namespaces(scope.get("namespaces")),
            "selector": selector if isinstance(selector, str) else "", "suppressions": entries}


def _describe_ns(ns: tuple[str, ...]) -> str:
    return "all namespaces" if not ns else "namespace" + ("s " if len(ns) > 1 else " ") + ", ".join(ns)


def scope_changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """Plain sentences: how the previous report's scope differs from this run's."""
    out = []
    if before["namespaces"] != now["namespaces"]:
        out.append(f"namespaces: the previous report covered {_describe_ns(before['namespaces'])}, this one "
                   f"covers {_describe_ns(now['namespaces'])}")
    if before["selector"] != now["selector"]:
        out.append(f"selector: {before['selector'] or '(none)'} then, {now['selector'] or '(none)'} now")
    b, n = before["suppressions"], now["suppressions"]
    if b is None:
        if n:
            out.append("suppressions: the previous report did not record its suppression entries; "
                       f"{len(n)} apply now")
    elif n is not None and b != n:
        added, removed = len(n - b), len(b - n)
        out.append("suppressions: " + ", ".join(x for x in (f"{added} entr{'ies' if added != 1 else 'y'} added"
                                                            if added else "",
                                                            f"{removed} entr{'ies' if removed != 1 else 'y'} "
                                                            "removed" if removed else "") if x))
    return out


class _Scope:
    """Is a finding (previous: a JSON dict; current: a Finding) inside a scope?"""

    def __init__(self, scope: Mapping[str, Any], labels_of: Any = None) -> None:
        self.namespaces = set(scope["namespaces"])
        self.selector = scope["selector"]
        try:
            self.reqs = parse_selector(self.selector) if self.selector else ()
        except InputError:  # a hand-edited previous report with a broken selector: compare namespaces only
            self.reqs = ()
        self.labels_of = labels_of  # (kind, namespace, name) -> labels now, or None when unknown

    def _ns_ok(self, ns: str) -> bool:
        return not self.namespaces or ns in self.namespaces

    def verdict(self, objects: Iterable[tuple[str, str, str, Mapping[str, str] | None]]) -> str:
        """"in", "out" or "unknown" for a finding's pods/workloads: (kind, namespace, name, labels or None)."""
        objects = list(objects)
        if not objects:
            return "in"  # nothing namespaced to tell: cluster-wide
        inside = [o for o in objects if self._ns_ok(o[1])]
        if not inside:
            return "out"
        if not self.reqs:
            return "in"
        unknown = False
        for kind, ns, name, labels in inside:
            if labels is None and self.labels_of is not None:
                labels = self.labels_of(kind, ns, name)
            if labels is None:
                unknown = True
            elif selector_matches(self.reqs, labels):
                return "in"
        return "unknown" if unknown else "out"


def _previous_objects(f: Mapping[str, Any]) -> list[tuple[str, str, str, None]]:
    out: list[tuple[str, str, str, None]] = []
    for p in _dicts(f.get("pods")):
        if isinstance(p.get("namespace"), str) and isinstance(p.get("name"), str):
            out.append(("Pod", p["namespace"], p["name"], None))
    for w in _dicts(f.get("workloads")):
        if all(isinstance(w.get(k), str) for k in ("kind", "namespace", "name")):
            out.append((w["kind"], w["namespace"], w["name"], None))
    if not out:
        out += [("", ns, "", None) for ns in _strs(f.get("namespaces"))]
    return out


def _current_objects(f: Finding) -> list[tuple[str, str, str, Mapping[str, str]]]:
    return ([("Pod", p.namespace, p.name, p.labels) for p in f.pods]
            + [(w.kind, w.namespace, w.name, w.labels) for w in f.workloads])


def _resolved(f: Mapping[str, Any], reason: str = "") -> ResolvedFinding:
    return ResolvedFinding(id=str(f.get("id", "")), headline=str(f.get("headline", "")), rule=str(f.get("rule", "")),
                           severity=str(f.get("severity", "")), kind=str(f.get("kind", "")), reason=reason)


def compute_delta(previous: dict[str, Any], path: str, findings: Sequence[Finding], *,
                  scope: Mapping[str, Any] | None = None, suppressed: Sequence[Finding] = (),
                  labels_of: Any = None) -> tuple[Delta, list[Finding]]:
    """Compare by finding id (rule + object at fault; a folded finding answers to its objects' ids too).

    `scope` is this run's report scope ({namespaces, selector, suppressions}); `suppressed` this
    run's suppressed findings (silenced is not resolved); `labels_of(kind, namespace, name)` gives
    an object's labels in the current snapshot, to place a previous report's pods when the
    selector changed.
    """
    now_scope = normal_scope(scope if scope is not None else {"namespaces": "all", "selector": ""})
    recorded = isinstance(previous.get("scope"), dict)
    before_scope = normal_scope(previous.get("scope")) if recorded else normal_scope({})
    changes = scope_changes(before_scope, now_scope) if recorded else (
        ["the previous report did not record its scope: it is taken as all namespaces, no selector"]
        if now_scope["namespaces"] or now_scope["selector"] else [])
    current_scope = _Scope(now_scope, labels_of)
    previous_scope = _Scope(before_scope)

    prev_active = _dicts(previous.get("findings"))
    prev_suppressed = _dicts(previous.get("suppressed"))
    seen_before: set[str] = set()  # every id the previous report answered to, suppressed ones included
    for pf in (*prev_active, *prev_suppressed):
        seen_before |= _ids(pf)
    seen_now: set[str] = {i for f in findings for i in f.member_ids}
    silenced_now: set[str] = {i for f in suppressed for i in f.member_ids}

    marked: list[Finding] = []
    not_compared: list[str] = []
    for f in findings:
        if seen_before & set(f.member_ids):
            state = "persisting"
        elif previous_scope.verdict(_current_objects(f)) == "in":
            state = "new"
        else:
            not_compared.append(f.id)
            state = ""
        folded = f.folded
        if folded is not None and state:
            folded = replace(folded, objects=tuple(replace(o, delta="persisting" if o.id in seen_before else "new")
                                                   for o in folded.objects))
        marked.append(replace(f, delta=state, folded=folded))

    resolved: list[ResolvedFinding] = []
    out_of_scope: list[ResolvedFinding] = []
    for pf in prev_active:
        ids = _ids(pf)
        if not ids or ids & seen_now:
            continue
        if ids & silenced_now:
            out_of_scope.append(_resolved(pf, "suppressed by the current config"))
            continue
        verdict = current_scope.verdict(_previous_objects(pf))
        if verdict == "in":
            resolved.append(_resolved(pf))
        elif verdict == "out":
            out_of_scope.append(_resolved(pf, "outside the current scope"))
        else:
            out_of_scope.append(_resolved(pf, "the selector changed and its pods are gone: whether they were "
                                             "selected now cannot be told"))
    delta = Delta(previous_generated=str(previous.get("generated", "")), previous_path=path,
                  new=tuple(f.id for f in marked if f.delta == "new"),
                  persisting=tuple(f.id for f in marked if f.delta == "persisting"), resolved=tuple(resolved),
                  previous_scope={"namespaces": list(before_scope["namespaces"]) or "all",
                                  "selector": before_scope["selector"]} if recorded else None,
                  scope_changes=tuple(changes),
                  out_of_scope=tuple(out_of_scope), not_in_previous_scope=tuple(not_compared))
    return delta, marked
