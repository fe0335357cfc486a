"""kubectl's label selector syntax (`-l/--selector`): `app=web,tier!=cache,env in (a,b),!legacy,team`."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .. import model as m
from ..errors import InputError
from ..scheduler.selectors import requirement_matches

# Matched against stripped terms, with no two adjacent optional runs of whitespace: `\s*(!?)\s*`
# backtracks quadratically over a long run of spaces (20,000 spaces took 15 s).
_SET = re.compile(r"^(?:(!)\s*)?([A-Za-z0-9_./-]+)\s+(in|notin)\s*\(([^)]*)\)$")
_EQ = re.compile(r"^([A-Za-z0-9_./-]+)\s*(==|=|!=)\s*([A-Za-z0-9_.-]*)$")
_KEY = re.compile(r"^(?:(!)\s*)?([A-Za-z0-9_./-]+)$")


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in parts if p.strip()]


def parse_selector(text: str) -> tuple[m.Requirement, ...]:
    """Parse a label selector string; InputError naming the bad term."""
    reqs: list[m.Requirement] = []
    for term in _split(text or ""):
        term = term.strip()
        if mt := _SET.match(term):
            if mt.group(1):
                raise InputError(f"invalid label selector term {term.strip()!r}")
            values = tuple(v.strip() for v in mt.group(4).split(",") if v.strip())
            reqs.append(m.Requirement(mt.group(2), "In" if mt.group(3) == "in" else "NotIn", values))
        elif mt := _EQ.match(term):
            reqs.append(m.Requirement(mt.group(1), "NotIn" if mt.group(2) == "!=" else "In", (mt.group(3),)))
        elif mt := _KEY.match(term):
            reqs.append(m.Requirement(mt.group(2), "DoesNotExist" if mt.group(1) else "Exists"))
        else:
            raise InputError(f"invalid label selector term {term.strip()!r}",
                             hint="use kubectl syntax: key=value, key!=value, key in (a,b), key notin (a), key, !key")
    return tuple(reqs)


def selector_matches(reqs: tuple[m.Requirement, ...], labels: Mapping[str, str]) -> bool:
    return all(requirement_matches(r, labels) for r in reqs)
