"""Hypothesis strategies for hostile input: junk values, mutated real objects, broken bytes.

The mutated objects start from the realistic fixtures (fixtures/cases, fixtures/messages,
fixtures/cgroups, rules/): each example takes a real object and breaks one to three things in it
(a field of the wrong type, a missing field, a huge string, an invalid quantity, a future
apiVersion), so that most of the object still looks like what kubectl prints and the code under
test gets past its first check.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from podtriage.loaders.files import KubeYAMLLoader

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "fixtures" / "cases"
MESSAGES = ROOT / "fixtures" / "messages"
CGROUPS = ROOT / "fixtures" / "cgroups"
RULES = ROOT / "rules"

# Text a serializer writes verbatim in place of the string: values JSON and YAML writers cannot
# produce (an integer longer than Python's 4300-digit conversion limit), or would quote.
RAW_TOKENS = {
    "\x00BIGINT\x00": "1" * 5000,
    "\x00NEGBIGINT\x00": "-" + "9" * 4400,
    "\x00BIGFLOAT\x00": "1e999999",
}

QUANTITIES = ["1e3", "0.5Gi", "100m", "+1", "1E", "Ki", "", "1.5", ".5", "5.", "-1", "1e-3", "1e30",
              "1e31", "1E+2", "12Mi", "1.5Gi", "0", "0.0001m", "1n", "2u", "1Ei", "8Pi", "9223372036854775807",
              "99999999999999999999Ei", "1e", "e3", "1..2", "1Gii", "m", "ten", " 1 ", "1 Gi", "１", "٣",
              "0x10", "1_000", "NaN", "Infinity", "-0", "+.5e-2", "1" * 65, "100" + "0" * 60 + "m"]

_short_text = st.text(max_size=24)
huge_text = st.builds(lambda c, n: c * n, st.sampled_from(["a", "9", "{", "[", " ", "é", "\\", '"', "0/"]),
                      st.sampled_from([1_000, 20_000, 200_000]))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 2, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), _short_text, st.sampled_from(QUANTITIES),
    st.sampled_from(list(RAW_TOKENS)), huge_text,
)
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(_short_text, inner, max_size=3), max_leaves=6)


# --- the real objects ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def case_documents() -> tuple[tuple[str, tuple[dict, ...]], ...]:
    """(case file name, its Kubernetes objects), expectations dropped."""
    out = []
    for path in sorted(CASES.glob("*.yaml")):
        docs = [d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader=KubeYAMLLoader)
                if isinstance(d, dict) and d.get("kind") != "PodtriageExpectation"]
        out.append((path.name, tuple(docs)))
    return tuple(out)


def _strings_under(node: Any, keys: frozenset[str], out: list[str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k in keys and isinstance(v, str) and v:
                out.append(v)
            else:
                _strings_under(v, keys, out)
    elif isinstance(node, list):
        for v in node:
            _strings_under(v, keys, out)


@functools.lru_cache(maxsize=None)
def real_messages() -> tuple[str, ...]:
    """Every event, condition and container-status message of the fixtures, and the parser corpus."""
    found: list[str] = []
    keys = frozenset({"message", "text", "note"})
    for _, docs in case_documents():
        _strings_under(list(docs), keys, found)
    for path in sorted(MESSAGES.glob("*.yaml")):
        _strings_under(yaml.safe_load(path.read_text(encoding="utf-8")), keys, found)
    for path in sorted(MESSAGES.glob("*.txt")):
        found.append(path.read_text(encoding="utf-8"))
    return tuple(sorted(set(found)))


# --- mutation -----------------------------------------------------------------------------------

def paths_of(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (dict keys and list indexes) inside node, the root excluded."""
    out: list[tuple] = []
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return out
    for k, v in items:
        p = (*prefix, k)
        out.append(p)
        out += paths_of(v, p)
    return out


def _parent(obj: Any, path: tuple) -> Any:
    for k in path[:-1]:
        obj = obj[k]
    return obj


@st.composite
def spliced_text(draw: st.DrawFn, corpus: tuple[str, ...] | None = None) -> str:
    """A real message with a piece cut out, something inserted, or cut short."""
    base = draw(st.sampled_from(corpus or real_messages()))
    how = draw(st.sampled_from(["keep", "cut", "insert", "replace", "double", "junk"]))
    if how == "keep" or not base:
        return base
    i = draw(st.integers(0, len(base)))
    j = draw(st.integers(i, len(base)))
    piece = draw(st.one_of(st.text(max_size=12), st.sampled_from(
        ["{", "}", "[", "]", "..", " ...", ", ", "0/", "99999999999999999999", "1" * 5000, "\\", '"', "\n",
         "preemption: ", ": ", "(s)", "\x00", "\ud7ff", "nodes are available: "]), huge_text))
    if how == "cut":
        return base[:i]
    if how == "insert":
        return base[:i] + piece + base[i:]
    if how == "replace":
        return base[:i] + piece + base[j:]
    if how == "double":
        return base + ", " + base
    return piece


@st.composite
def mutated(draw: st.DrawFn, obj: Any, max_mutations: int = 3) -> Any:
    """A deep copy of obj with one to `max_mutations` fields set to junk, deleted or spliced."""
    obj = copy.deepcopy(obj)
    for _ in range(draw(st.integers(1, max_mutations))):
        paths = paths_of(obj)
        if not paths:
            return draw(junk)
        path = draw(st.sampled_from(paths))
        parent = _parent(obj, path)
        key = path[-1]
        op = draw(st.sampled_from(["set", "set", "set", "delete", "splice", "wrap", "null"]))
        if op == "delete":
            del parent[key]
        elif op == "null":
            parent[key] = None
        elif op == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"x": parent[key]}, str(parent[key])]))
        elif op == "splice" and isinstance(parent[key], str):
            parent[key] = draw(spliced_text((parent[key],)))
        else:
            parent[key] = draw(junk)
    return obj


# Objects a newer or different cluster may hold: unknown kinds, future versions of known ones.
_FOREIGN = [
    {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"x": 1}},
    {"apiVersion": "apps/v2", "kind": "Deployment", "metadata": {"name": "future", "namespace": "default"},
     "spec": {"replicas": "three", "template": {"spec": {"containers": "nginx"}}}},
    {"apiVersion": "v2", "kind": "PodV2", "metadata": {"name": "p"}},
    {"apiVersion": "v1", "kind": "", "metadata": {"name": "empty-kind"}},
    {"apiVersion": "v1", "kind": "Pod"},
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "no-spec", "namespace": "default"}},
    {"apiVersion": "v1", "kind": "Pod", "metadata": "pod", "spec": [], "status": "Pending"},
    {"apiVersion": "v1", "kind": ["Pod"], "metadata": {"name": "list-kind"}},
    {"apiVersion": "v1", "kind": "CSINode", "metadata": {"name": "n"}, "spec": {"drivers": "x"}},
]


@st.composite
def object_set(draw: st.DrawFn) -> tuple[str, list[Any]]:
    """The objects of one fixture case, some mutated, maybe duplicated, maybe with foreign objects."""
    name, docs = draw(st.sampled_from(case_documents()))
    items: list[Any] = []
    for d in docs:
        if draw(st.integers(0, 3)) == 0:
            items.append(draw(mutated(d)))
        else:
            items.append(copy.deepcopy(d))
    if draw(st.booleans()) and items:
        items.append(copy.deepcopy(draw(st.sampled_from(items))))  # a duplicate object
    if draw(st.booleans()):
        items += draw(st.lists(st.sampled_from(_FOREIGN), max_size=3))
    if draw(st.integers(0, 5)) == 0:
        items.append(draw(junk))  # not an object at all
    return name, items
