"""The one nesting limit for every input podtriage parses, and the guard that enforces it for YAML.

Why a limit at all: PyYAML's C-accelerated loader (CSafeLoader) builds the node tree recursively
in C, and before PyYAML 6.0.4 a document nested some 30,000 levels deep (`[[[[...` or `- - - ...`,
60 KB of text) overflowed the C stack and killed the process with a segmentation fault, which no
`except` can catch. PyYAML 6.0.4's libyaml refuses 1,000 levels with its own wording; the
pure-Python loader raises RecursionError near 490 levels; Python's JSON decoder near 1,000. So the
depth at which an input fails, and what it says, depended on the library versions installed.

podtriage decides instead: YAML nested more than MAX_DEPTH levels is refused, and every refusal
for depth (this guard, libyaml's own limit, a RecursionError in either parser) reads TOO_DEEP,
with the file and, where the parser knows it, the line. Kubernetes objects nest about 20 levels
(a CRD's OpenAPI schema perhaps 60), so MAX_DEPTH leaves ample room for real input and stays
below every parser's own limit, whichever fires first. JSON is not checked separately: its
decoder is iterative enough not to crash, deep JSON under fields podtriage never reads costs
nothing, and the decoder's own refusal (~1,000 levels) is reported as TOO_DEEP.

The check costs almost nothing for real files: an upper bound on the depth settles it without
parsing. Only when that bound reaches the limit are the parser's events counted, which is
iterative in libyaml and safe at any depth (about half the cost of loading the text).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

MAX_DEPTH = 200
TOO_DEEP = f"nested too deeply (the limit is {MAX_DEPTH} levels)"

_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
# The start of a line up to where a block node can begin: indentation and the block indicators
# `- `, `? ` and `: ` (tabs may separate an indicator from its node).
_BLOCK_PREFIX = re.compile(r"^[ \t?:-]*", re.MULTILINE)


def _depth_bound(text: str, stop: int) -> int:
    """An upper bound on the nesting depth of `text` (exact enough below `stop`).

    Flow collections nest only through brackets, so the non-empty ones bound the flow depth. A
    block collection inside another starts at least one column further right (a sequence may sit
    at its key's column: two levels per column at most), and a block node starts where the
    line's indentation and indicators end, so the longest such prefix bounds the block depth.
    Scalars after `key: ` and block-scalar text add no depth; a prefix they lengthen (a line of
    dashes inside `|` text) only makes the bound looser.
    """
    bound = text.count("[") - text.count("[]") + text.count("{") - text.count("{}") + 2
    if bound >= stop:
        return bound
    prefix = max((len(m) for m in _BLOCK_PREFIX.findall(text)), default=0)
    return bound + 2 * prefix + 2


def is_depth_error(exc: BaseException) -> bool:
    """Whether a parser refused `exc`'s input for its nesting depth (RecursionError, or libyaml's
    "while increasing block/flow level, exceeded maximum nesting depth" in PyYAML >= 6.0.4)."""
    if isinstance(exc, RecursionError):
        return True
    return isinstance(exc, yaml.YAMLError) and "maximum nesting depth" in str(exc)


def check_depth(text: str, loader: Any = None) -> None:
    """Raise yaml.MarkedYAMLError (problem TOO_DEEP, at the offending line) when a document in
    `text` nests deeper than MAX_DEPTH levels."""
    limit = MAX_DEPTH
    if _depth_bound(text, limit) <= limit:
        return
    depth = 0
    events = yaml.parse(text, Loader=loader or getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    while True:
        try:
            event = next(events, None)
        except yaml.MarkedYAMLError as exc:
            if not is_depth_error(exc):
                raise
            # libyaml's own limit came first (one lower than ours in some version): same words.
            raise yaml.MarkedYAMLError(problem=TOO_DEEP, problem_mark=exc.problem_mark) from None
        if event is None:
            return
        if isinstance(event, _OPEN):
            depth += 1
            if depth > limit:
                mark: Any = event.start_mark  # yaml.error.Mark, or the C parser's own Mark
                raise yaml.MarkedYAMLError(problem=TOO_DEEP, problem_mark=mark)
        elif isinstance(event, _CLOSE):
            depth -= 1


__all__ = ["MAX_DEPTH", "TOO_DEEP", "check_depth", "is_depth_error"]
