"""The audit config file (YAML) and its suppressions.

    apiVersion: podtriage.dev/v1
    kind: AuditConfig
    failOn: high                  # optional default for --fail-on
    suppressions:
      - rule: taint-untolerated   # any of rule, category, namespace, selector, finding (an id);
        namespace: ml-sandbox     # every field given must match
        reason: GPU quota requested, tracked in INFRA-1234
        expires: 2026-12-31       # optional; after that day the entry no longer applies and is reported

An entry with `namespace` or `selector` silences the matching pods (and workloads) of a finding;
the finding is suppressed when nothing is left. Suppressed findings are listed and counted, never
dropped; expired and unused entries are reported too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError, InputFileError
from ..loaders.files import KubeYAMLLoader
from ..loaders.nesting import TOO_DEEP, check_depth, is_depth_error
from ..findings import CATEGORIES, SEVERITIES
from .model import Finding, Suppression, fold_key
from .selector import parse_selector, selector_matches

_ENTRY_FIELDS = {"rule", "category", "namespace", "selector", "finding", "reason", "expires"}
FAIL_ON_CHOICES = (*SEVERITIES, "none")
MAX_SELECTOR = 1024  # far above any real label selector


@dataclass(frozen=True)
class AuditConfig:
    suppressions: tuple[Suppression, ...] = ()
    fail_on: str | None = None
    path: str = ""


def load_config(path: str | Path) -> AuditConfig:
    """Parse and check the config; InputFileError naming the file, entry and field on any problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(str(p), f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputFileError(str(p), "not UTF-8 text: expected a YAML audit config") from None
    try:
        # The loaders' restricted YAML: no aliases (an alias bomb would expand in str()), no tags,
        # timestamps as text (`expires: 2026-13-45` is checked below, not a ValueError here).
        check_depth(text, KubeYAMLLoader)
        doc = yaml.load(text, Loader=KubeYAMLLoader)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        what = TOO_DEEP if is_depth_error(exc) else getattr(exc, "problem", None) or exc
        raise InputFileError(str(p), f"invalid YAML: {what}",
                             line=line + 1 if line is not None else None) from None
    except RecursionError:
        raise InputFileError(str(p), f"invalid YAML: {TOO_DEEP}") from None
    except ValueError as exc:  # an integer past Python's 4300-digit conversion limit
        raise InputFileError(str(p), f"invalid YAML: {exc}") from None
    if doc is None:
        return AuditConfig(path=str(p))
    if not isinstance(doc, dict):
        raise InputFileError(str(p), "the config must be a mapping (apiVersion, kind, suppressions, failOn)")
    unknown = set(doc) - {"apiVersion", "kind", "suppressions", "failOn"}
    if unknown:
        raise InputFileError(str(p), f"unknown field(s): {', '.join(sorted(map(str, unknown)))}",
                             hint="allowed: apiVersion, kind, failOn, suppressions")
    fail_on = doc.get("failOn")
    if fail_on is not None and str(fail_on) not in FAIL_ON_CHOICES:
        raise InputFileError(str(p), f"failOn: {fail_on!r} is not one of {', '.join(FAIL_ON_CHOICES)}")
    raw = doc.get("suppressions") or []
    if not isinstance(raw, list):
        raise InputFileError(str(p), "suppressions: must be a list")
    out: list[Suppression] = []
    for i, e in enumerate(raw):
        where = f"suppressions[{i}]"
        if not isinstance(e, dict):
            raise InputFileError(str(p), f"{where}: must be a mapping")
        bad = set(e) - _ENTRY_FIELDS
        if bad:
            raise InputFileError(str(p), f"{where}: unknown field(s) {', '.join(sorted(map(str, bad)))}",
                                 hint="allowed: " + ", ".join(sorted(_ENTRY_FIELDS)))
        reason = str(e.get("reason") or "").strip()
        if not reason:
            raise InputFileError(str(p), f"{where}: 'reason' is required (say why it is silenced)")
        if not any(e.get(k) for k in ("rule", "category", "namespace", "selector", "finding")):
            raise InputFileError(str(p), f"{where}: give at least one of rule, category, namespace, selector, "
                                         "finding")
        category = str(e.get("category") or "")
        if category and category not in CATEGORIES:
            raise InputFileError(str(p), f"{where}: unknown category {category!r}")
        expires = e.get("expires")
        if expires is not None:
            expires = _date(expires)
            if expires is None:
                raise InputFileError(str(p), f"{where}: expires {e.get('expires')!r} is not a date (YYYY-MM-DD)")
        selector = str(e.get("selector") or "")
        if len(selector) > MAX_SELECTOR:  # audit.selector's patterns are quadratic in runs of spaces
            raise InputFileError(str(p), f"{where}: selector longer than {MAX_SELECTOR} characters")
        if selector:
            try:
                parse_selector(selector)  # fail now, with the config's name in the message
            except InputError as exc:
                raise InputFileError(str(p), f"{where}: selector: {exc.message}", hint=exc.hint) from None
        out.append(Suppression(reason=reason, rule=str(e.get("rule") or ""), category=category,
                               namespace=str(e.get("namespace") or ""), selector=selector,
                               finding=str(e.get("finding") or ""),
                               expires=expires.isoformat() if expires else "", index=i))
    return AuditConfig(suppressions=tuple(out), fail_on=str(fail_on) if fail_on is not None else None,
                       path=str(p))


def _date(value: Any) -> dt.date | None:
    """`expires` as YAML gives it (text: the loader keeps timestamps as text): a date, or a timestamp's day."""
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] in "Tt " else text)
    except ValueError:
        return None


def is_expired(s: Suppression, today: dt.date) -> bool:
    return bool(s.expires) and dt.date.fromisoformat(s.expires) < today


def _matches_finding(s: Suppression, f: Finding) -> bool:
    rc = f.root_cause
    return ((not s.rule or s.rule == rc.rule) and (not s.category or s.category == rc.category)
            and (not s.finding or s.finding == f.id or s.finding == _fold_id(f)))


def _fold_id(f: Finding) -> str:
    """The id of the folded finding `f` lands in (model.fold_key): an entry may name either."""
    key = fold_key(f)
    return key[0] if key else ""


def apply_suppressions(findings: Sequence[Finding], suppressions: Sequence[Suppression], today: dt.date
                       ) -> tuple[list[Finding], list[Finding], list[Suppression], list[Suppression]]:
    """-> (active findings, suppressed findings, expired entries, entries that matched nothing)."""
    live = [s for s in suppressions if not is_expired(s, today)]
    expired = [s for s in suppressions if is_expired(s, today)]
    used: set[int] = set()
    active: list[Finding] = []
    suppressed: list[Finding] = []
    parsed = {s.index: parse_selector(s.selector) for s in live if s.selector}
    for f in findings:
        whole = next((s for s in live if _matches_finding(s, f) and not s.namespace and not s.selector), None)
        if whole is not None:
            used.add(whole.index)
            suppressed.append(replace(f, suppressed_by=whole))
            continue
        scoped = [s for s in live if _matches_finding(s, f) and (s.namespace or s.selector)]
        if not scoped:
            active.append(f)
            continue

        def silenced(ns: str, labels: Any, scoped: list[Suppression] = scoped) -> Suppression | None:
            for s in scoped:
                if s.namespace and s.namespace != ns:
                    continue
                if s.selector and not selector_matches(parsed[s.index], labels or {}):
                    continue
                return s
            return None

        keep_pods, gone = [], 0
        hit: Suppression | None = None
        for p in f.pods:
            s = silenced(p.namespace, p.labels)
            if s is None:
                keep_pods.append(p)
            else:
                gone += 1
                hit = hit or s
                used.add(s.index)
        keep_w = []
        for w in f.workloads:
            s = silenced(w.namespace, w.labels)
            if s is None:
                keep_w.append(w)
            else:
                hit = hit or s
                used.add(s.index)
        if hit is None:
            active.append(f)
        elif not keep_pods and not keep_w:
            suppressed.append(replace(f, suppressed_by=hit, suppressed_pods=gone))
        else:
            active.append(replace(f, pods=tuple(keep_pods), workloads=tuple(keep_w), suppressed_pods=gone).retitled())
    unused = [s for s in live if s.index not in used]
    return active, suppressed, expired, unused
