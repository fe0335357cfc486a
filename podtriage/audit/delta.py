"""`--previous REPORT.json`: what is new, resolved and persisting since the last audit."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputFileError
from ..loaders.nesting import TOO_DEEP
from .model import AUDIT_KIND, Delta, Finding, ResolvedFinding


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


def compute_delta(previous: dict[str, Any], path: str, findings: Sequence[Finding]
                  ) -> tuple[Delta, list[Finding]]:
    """Compare by finding id (rule + object at fault). Suppressed findings of either run count as seen,
    so silencing something does not make it 'resolved'."""
    before: dict[str, dict[str, Any]] = {}
    earlier = [x for key in ("findings", "suppressed") if isinstance(x := previous.get(key), list)]
    for f in [f for group in earlier for f in group]:
        if isinstance(f, dict) and isinstance(f.get("id"), str):
            before[f["id"]] = f
    now_ids = {f.id for f in findings}
    marked = [replace(f, delta="persisting" if f.id in before else "new") for f in findings]
    resolved = tuple(
        ResolvedFinding(id=i, headline=str(f.get("headline", "")), rule=str(f.get("rule", "")),
                        severity=str(f.get("severity", "")), kind=str(f.get("kind", "")))
        for i, f in before.items() if i not in now_ids)
    delta = Delta(previous_generated=str(previous.get("generated", "")), previous_path=path,
                  new=tuple(f.id for f in marked if f.delta == "new"),
                  persisting=tuple(f.id for f in marked if f.delta == "persisting"), resolved=resolved)
    return delta, marked
