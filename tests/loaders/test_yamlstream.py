"""The streamed YAML load gives the snapshot the whole-file load gives (see loaders/yamlstream.py).

The streaming threshold drops to zero and the batch to one byte, so every item is its own batch.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from podtriage.errors import InputFileError
from podtriage.loaders import yamlstream
from podtriage.snapshot import Snapshot

from .stream_helpers import streamed, whole

ROOT = Path(__file__).resolve().parents[2]


def _whole(path: Path) -> tuple[Snapshot, int]:
    return whole(path)


def _streamed(path: Path, *, must: bool = True) -> tuple[Snapshot, int] | None:
    got = streamed(path)
    assert got is not None or not must, "not streamed"
    return got


def _same(path: Path, *, must: bool = True, warnings_in_order: bool = True) -> Snapshot | None:
    whole, n_whole = _whole(path)
    got = _streamed(path, must=must)
    if got is None:
        return None
    streamed, n_streamed = got
    assert n_streamed == n_whole, path
    for field in Snapshot.__dataclass_fields__:
        if field == "meta" and not warnings_in_order:
            assert sorted(whole.meta.warnings) == sorted(streamed.meta.warnings)
            assert whole.meta.collected == streamed.meta.collected
            continue
        if not warnings_in_order and isinstance(getattr(whole, field), tuple):
            # kind-less items of a List whose kind comes last are added when it closes
            assert sorted(map(repr, getattr(whole, field))) == sorted(map(repr, getattr(streamed, field)))
            continue
        assert getattr(whole, field) == getattr(streamed, field), (path, field)
    return streamed


@pytest.fixture(autouse=True)
def one_item_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlstream, "BATCH_BYTES", 1)


def test_every_yaml_fixture(tmp_path: Path) -> None:
    paths = sorted(p for p in (ROOT / "fixtures").rglob("*.yaml")
                   if "malformed" not in p.name and "rules" not in p.parts)
    checked = 0
    for path in paths:
        try:
            _whole(path)
        except InputFileError:
            continue  # not a Kubernetes input (rule files and the like fail both ways)
        _same(path)
        checked += 1
    assert checked > 50


def test_kubectl_list_styles(tmp_path: Path) -> None:
    """kubectl's List (items before kind), an indented items list, comments, block scalars,
    a typed List whose items carry no kind, several documents, and gzip."""
    docs = [d for d in yaml.safe_load_all((ROOT / "fixtures" / "demo" / "cluster.yaml").read_text())
            if isinstance(d, dict)]
    objs = [o for d in docs for o in (d["items"] if isinstance(d.get("items"), list) else [d])]
    kubectl = yaml.safe_dump({"apiVersion": "v1", "items": objs, "kind": "List",
                              "metadata": {"resourceVersion": ""}}, sort_keys=False)
    p1 = tmp_path / "kubectl.yaml"
    p1.write_text(kubectl)
    snap = _same(p1)
    assert snap and len(snap.pods) > 5 and snap.nodes

    indented = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "  " + line if line.strip() else line
        for line in yaml.safe_dump(objs[:6], sort_keys=False).splitlines(keepends=True))
    indented = indented.replace("\n  - ", "\n  # a comment between items\n\n  - ", 2)
    p2 = tmp_path / "indented.yaml"
    p2.write_text(indented + "metadata:\n  note: |\n    kept\n    as text\n")
    _same(p2)

    node = {"metadata": {"name": "n1", "annotations": {"a": "line one\nline two\n"}}}
    pod = {"metadata": {"name": "p", "namespace": "a"}, "spec": {"containers": [{"name": "c"}]}}
    stream = "---\n".join([
        yaml.safe_dump({"kind": "NodeList", "apiVersion": "v1", "items": [node]}, sort_keys=False),
        yaml.safe_dump({"apiVersion": "v1", "items": [pod], "kind": "PodList"}, sort_keys=False),
        yaml.safe_dump(objs[0], sort_keys=False),
        "items: []\nkind: EventList\n",
        "kind: ConfigMapList\nitems:\n# nothing yet\n",
        "kind: List\nitems: [" + yaml.safe_dump(pod, default_flow_style=True).strip() + "]\n",
    ]) + "...\n"
    p3 = tmp_path / "stream.yaml"
    p3.write_text(stream)
    snap = _same(p3)
    assert snap and {"Node", "Pod", "Event"} <= set(snap.meta.collected)

    gz = tmp_path / "kubectl.yaml.gz"
    gz.write_bytes(gzip.compress(kubectl.encode()))
    _same(gz)


@pytest.mark.parametrize("text, line, streamed_line", [
    ("apiVersion: v1\nitems:\n- kind: Pod\n  metadata:\n    name: a\n- kind: Pod\n  metadata: {name: [b}\nkind: List\n",
     7, 7),
    # an alias across items: refused either way, at the anchor (whole) or at the alias (streamed)
    ("apiVersion: v1\nitems:\n- kind: Pod\n  metadata:\n    name: a\n- &x kind: Pod\n- *x\n", 6, 7),
    ("items:\n- kind: Pod\n  metadata:\n    name: !!python/object:os.system a\n", 4, 4),
    ("kind: List\nitems:\n- kind: Pod\nkind: List\nmetadata: [\n", 6, 6),
])
def test_errors_keep_the_files_line(tmp_path: Path, text: str, line: int, streamed_line: int) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputFileError) as whole:
        _whole(path)
    with pytest.raises(InputFileError) as streamed:
        _streamed(path)
    assert whole.value.line == line
    assert streamed.value.line == streamed_line


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=10))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=3)),
    max_leaves=10)
_objects = st.one_of(
    st.fixed_dictionaries({"kind": st.sampled_from(["Pod", "Node", "ConfigMap", "Widget", ""]),
                           "metadata": st.fixed_dictionaries({"name": st.text(min_size=1, max_size=6)},
                                                             optional={"labels": _values})},
                          optional={"spec": _values}),
    _values)
_roots = st.one_of(
    st.fixed_dictionaries({"items": st.lists(_objects, max_size=5)},
                          optional={"kind": st.sampled_from(["List", "PodList"]), "metadata": _values}),
    st.fixed_dictionaries({"kind": st.just("Pod"), "metadata": st.just({"name": "x"}),
                           "items": st.lists(_objects, max_size=2)}),
    _objects)


@settings(max_examples=int(os.environ.get("PODTRIAGE_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(docs=st.lists(_roots, min_size=1, max_size=3), flow=st.sampled_from([False, None]),
       sort_keys=st.booleans(), indent=st.sampled_from([2, 4]))
def test_random_documents(tmp_path: Path, docs: list[Any], flow: bool | None, sort_keys: bool, indent: int) -> None:
    for d in docs:
        # The one documented difference (see jsonstream.Listing.finish): a non-List kind after items.
        if isinstance(d, dict) and "items" in d and d.get("kind") == "Pod":
            assume(not sort_keys and list(d).index("kind") < list(d).index("items"))
    text = yaml.safe_dump_all(docs, default_flow_style=flow, sort_keys=sort_keys, indent=indent,
                              allow_unicode=True)
    path = tmp_path / "random.yaml"
    path.write_text(text)
    if text.lstrip()[:1] in ("{", "["):
        return  # JSON-looking: not a YAML input to podtriage
    try:
        _whole(path)
    except InputFileError as exc:
        try:
            _streamed(path, must=False)
        except InputFileError as streamed:
            assert streamed.line == exc.line
        else:
            assert _streamed(path, must=False) is None  # declined: the whole-file path gives the error
        return
    # Items without a kind wait for the List's kind, which kubectl prints after them: their
    # warnings may come later than in the whole-file load.
    _same(path, must=False, warnings_in_order=False)
