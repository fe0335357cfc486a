"""A nesting-depth guard for YAML, needed before libyaml's composer sees untrusted text.

PyYAML's C-accelerated loaders (CSafeLoader) build the node tree recursively in C: a document
nested some 30,000 levels deep (`[[[[...` or `- - - - ...`, 60 KB of text) overflows the C stack
and kills the process with a segmentation fault, which no `except` can catch. The pure-Python
loaders raise RecursionError instead, after seconds of work. Kubernetes objects are about 20
levels deep, so anything near MAX_DEPTH is hostile or broken.

The check costs almost nothing for real files: an upper bound on the depth (non-empty flow
brackets plus the longest line, since every block level takes at least one column) settles it
without parsing. Only when that bound reaches the limit are the parser's events counted, which
is iterative in libyaml and safe at any depth (about half the cost of loading the text). A
large limit (the file loaders use 5,000; libyaml's composer fails near 30,000) keeps that
second pass away from real files with long lines.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_DEPTH = 1000  # deeper documents are refused; also Python's default recursion limit

_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _depth_bound(text: str, stop: int) -> int:
    """An upper bound on the nesting depth of `text` (exact enough below `stop`)."""
    bound = text.count("[") - text.count("[]") + text.count("{") - text.count("{}") + 2
    if bound >= stop:
        return bound
    longest, pos, end = 0, 0, len(text)
    find = text.find
    while pos < end:
        nl = find("\n", pos)
        if nl < 0:
            nl = end
        if nl - pos > longest:
            longest = nl - pos
            if bound + longest >= stop:
                break
        pos = nl + 1
    return bound + longest


def check_depth(text: str, loader: Any = None, limit: int = MAX_DEPTH) -> None:
    """Raise yaml.YAMLError when a document in `text` nests deeper than `limit` levels."""
    if _depth_bound(text, limit) < limit:
        return
    depth = 0
    for event in yaml.parse(text, Loader=loader or getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > limit:
                mark: Any = event.start_mark  # yaml.error.Mark, or the C parser's own Mark
                raise yaml.MarkedYAMLError(problem=f"nested more than {limit} levels deep", problem_mark=mark)
        elif isinstance(event, _CLOSE):
            depth -= 1


__all__ = ["MAX_DEPTH", "check_depth"]
