"""The streamed (and the two-process) JSON load gives the snapshot the whole-file load gives.

Streaming is used for files from jsonstream.STREAM_MIN_BYTES and the split from
PARALLEL_MIN_BYTES; here both thresholds drop to zero and the window to a few bytes, so every
fixture crosses chunk boundaries inside strings, numbers, escapes and multibyte characters.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from podtriage.errors import InputFileError
from podtriage.loaders import files, jsonstream
from podtriage.loaders.nesting import TOO_DEEP
from podtriage.snapshot import Snapshot

from .stream_helpers import streamed, whole

ROOT = Path(__file__).resolve().parents[2]


def _whole_counted(path: Path) -> tuple[Snapshot, int]:
    return whole(path)


def _whole(path: Path) -> Snapshot:
    return whole(path)[0]


def _streamed(path: Path) -> tuple[Snapshot, int]:
    got = streamed(path)
    assert got is not None, "not taken as a JSON file"
    return got


def _same(a: Snapshot, b: Snapshot, *, warnings_in_order: bool = True, items_in_order: bool = True) -> None:
    for field in Snapshot.__dataclass_fields__:
        if field == "meta":
            continue
        if not items_in_order:
            # kind-less items of a List whose kind comes last are added when it closes
            assert sorted(map(repr, getattr(a, field))) == sorted(map(repr, getattr(b, field))), field
            continue
        assert getattr(a, field) == getattr(b, field), field
    if warnings_in_order:
        assert a.meta == b.meta
    else:
        assert sorted(a.meta.warnings) == sorted(b.meta.warnings)
        assert a.meta.collected == b.meta.collected and a.meta.missing == b.meta.missing


@pytest.fixture
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK", 7)
    monkeypatch.setenv("PODTRIAGE_PARALLEL", "0")


def _json_inputs(tmp_path: Path) -> list[Path]:
    """Every JSON fixture, and every YAML case and the demo re-written as the JSON kubectl prints
    (`items` before `kind`), as a stream of documents, and gzipped."""
    out = sorted(p for p in (ROOT / "fixtures").rglob("*.json") if "malformed" not in p.name)
    sources = sorted((ROOT / "fixtures" / "cases").glob("*.yaml"))[:20] + [ROOT / "fixtures" / "demo" / "cluster.yaml"]
    for src in sources:
        docs = [d for d in yaml.safe_load_all(src.read_text()) if isinstance(d, dict)]
        objs = [o for d in docs for o in (d.get("items") if isinstance(d.get("items"), list) else [d])]
        kubectl = tmp_path / f"{src.stem}.json"
        kubectl.write_text(json.dumps({"apiVersion": "v1", "items": objs, "kind": "List",
                                       "metadata": {"resourceVersion": ""}}, indent=4, ensure_ascii=False))
        stream = tmp_path / f"{src.stem}-stream.json"
        stream.write_text("\n".join(json.dumps(o) for o in objs))
        gz = tmp_path / f"{src.stem}.json.gz"
        gz.write_bytes(gzip.compress(kubectl.read_bytes()))
        out += [kubectl, stream, gz]
    return out


def test_streamed_equals_whole_on_every_fixture(tmp_path: Path, tiny_chunks: None) -> None:
    inputs = _json_inputs(tmp_path)
    streamed_some = 0
    for path in inputs:
        whole, count = _whole_counted(path)
        streamed, found = _streamed(path)
        assert found == count, path
        _same(whole, streamed)
        streamed_some += found > 0
    assert streamed_some > 60


def test_typed_list_without_item_kinds_and_log_sections(tmp_path: Path, tiny_chunks: None) -> None:
    """A cluster-info dump printed to stdout: typed Lists whose items carry no kind, with container
    logs between them; the List kind may also come after the items."""
    pod = {"metadata": {"name": "p", "namespace": "a"}, "spec": {"containers": [{"name": "c"}]}}
    node = {"metadata": {"name": "n1", "labels": {"zone": "é-1"}}}
    text = (json.dumps({"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": [node]})
            + "\n==== START logs for container c of pod a/p ====\n{ not json [\n==== END logs for container c of pod a/p ====\n"
            + json.dumps({"apiVersion": "v1", "items": [pod], "kind": "PodList", "metadata": {}})
            + "\n" + json.dumps({"kind": "EventList", "items": []}))
    path = tmp_path / "dump.json"
    path.write_text(text)
    whole, (streamed, _) = _whole(path), _streamed(path)
    _same(whole, streamed)
    assert [p.name for p in streamed.pods] == ["p"] and [n.name for n in streamed.nodes] == ["n1"]
    assert {"Pod", "Node", "Event"} <= set(streamed.meta.collected)


def test_own_snapshot_file_streams_with_its_header(tmp_path: Path, tiny_chunks: None) -> None:
    from podtriage.loaders.snapshot_file import write_snapshot

    items = [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}},
             {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "x"}}]
    path = tmp_path / "snap.json"
    write_snapshot(items, path, meta={"collected": ["Node", "Pod", "Event"], "source": "live",
                                      "missing": [{"resource": "events", "namespace": "x", "reason": "forbidden"}]})
    whole, (streamed, _) = _whole(path), _streamed(path)
    _same(whole, streamed)
    assert streamed.has("Event") and streamed.meta.missing[0].reason == "forbidden"


@pytest.mark.parametrize("text, line", [
    ('{"items": [{"kind": "Pod", "metadata": {"name": "a"}},\n  {"kind": "Pod" "metadata": {}}]}', 2),
    ('{"items": [\n{"kind": "Pod", "metadata": {"name": "a"}}\n', 3),
    ('[{"kind": "Pod"},\n\n {"kind": ', 3),
    ('{"items": [1, 2,]}', 1),
    ('{"a": "unterminated', 1),
])
def test_errors_name_the_line(tmp_path: Path, tiny_chunks: None, text: str, line: int) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputFileError) as streamed:
        _streamed(path)
    with pytest.raises(InputFileError) as whole:
        _whole(path)
    assert streamed.value.line == line
    assert whole.value.line == line
    assert "invalid JSON" in streamed.value.message


def test_deep_nesting_is_an_input_error(tmp_path: Path, tiny_chunks: None) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"items": [' + "[" * 200_000 + "]" * 200_000 + "]}")
    with pytest.raises(InputFileError, match=re.escape(TOO_DEEP)):
        _streamed(path)


def test_huge_integer_is_an_input_error(tmp_path: Path, tiny_chunks: None) -> None:
    path = tmp_path / "digits.json"
    path.write_text('{"items": [{"kind": "Pod", "metadata": {"name": "a", "generation": ' + "9" * 5000 + "}}]}")
    with pytest.raises(InputFileError, match="invalid JSON"):
        _streamed(path)


@pytest.mark.parametrize("chunk", [5, 7, 11, 13])
def test_lone_surrogates_become_replacement_characters_across_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    monkeypatch.setenv("PODTRIAGE_PARALLEL", "0")
    names = ["lone-\\ud800", "pair-\\ud83d\\ude00", "pair2-\\ud800\\udc00", "escaped-\\\\ud800", "many-\\\\\\udfff-x", "end-\\udbff"]
    items = ",".join('{"kind": "Pod", "metadata": {"name": "%s", "namespace": "n"}}' % n for n in names)
    path = tmp_path / "surrogates.json"
    path.write_text('{"items": [' + items + "]}")
    whole, (streamed, _) = _whole(path), _streamed(path)
    _same(whole, streamed)
    assert [p.name for p in streamed.pods] == [
        "lone-\ufffd", "pair-\U0001f600", "pair2-\U00010000", "escaped-\\ud800", "many-\\\ufffd-x", "end-\ufffd"]
    for p in streamed.pods:
        p.name.encode("utf-8")  # printable: no lone surrogate left


def test_not_utf8_is_an_input_error(tmp_path: Path, tiny_chunks: None) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"items": [{"kind": "Pod", "metadata": {"name": "caf\xe9"}}]}')
    with pytest.raises(InputFileError, match="not UTF-8"):
        _streamed(path)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                     st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=12)
_meta = st.fixed_dictionaries({"name": st.text(min_size=1, max_size=8)},
                              optional={"namespace": st.sampled_from(["a", "b", ""]), "labels": _values})
_objects = st.one_of(
    st.fixed_dictionaries({"kind": st.sampled_from(["Pod", "Node", "Event", "ConfigMap", "Widget", "", None]),
                           "metadata": _meta}, optional={"spec": _values, "status": _values}),
    _values)
_roots = st.one_of(
    st.fixed_dictionaries({"items": st.lists(_objects, max_size=6)},
                          optional={"kind": st.sampled_from(["List", "PodList", "NodeList", "Pod", 3, None]),
                                    "apiVersion": st.just("v1")}),
    st.lists(_objects, max_size=4), _objects)


@settings(max_examples=int(os.environ.get("PODTRIAGE_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(docs=st.lists(_roots, min_size=1, max_size=3), indent=st.sampled_from([None, 1]),
       kind_last=st.booleans())
def test_streamed_equals_whole_on_random_documents(tmp_path: Path, tiny_chunks: None, docs: list[Any],
                                                   indent: int | None, kind_last: bool) -> None:
    def order(d: Any) -> Any:
        if not isinstance(d, dict) or "kind" not in d:
            return d
        rest = {k: v for k, v in d.items() if k != "kind"}
        # The one documented difference: an object whose kind comes after an `items` array is
        # read as a List even when that kind is not a List (no Kubernetes kind has one).
        is_list = isinstance(d["kind"], str) and d["kind"].endswith("List")
        return rest | {"kind": d["kind"]} if kind_last and is_list else {"kind": d["kind"]} | rest

    text = "\n".join(json.dumps(order(d), indent=indent) for d in docs)
    assume(text[0] in "{[")  # anything else is YAML to podtriage (JSON is a subset of it)
    path = tmp_path / "random.json"
    path.write_text(text)
    try:
        whole = _whole(path)
    except InputFileError as exc:
        with pytest.raises(InputFileError) as streamed_exc:
            _streamed(path)
        assert streamed_exc.value.line == exc.line
        return
    streamed, _ = _streamed(path)
    # Items without a kind wait for the List's kind, which kubectl prints after them: their
    # warnings may come later than in the whole-file load.
    _same(whole, streamed, warnings_in_order=False, items_in_order=False)
    assert _streamed(path)[1] == _whole_counted(path)[1]


# --- the two-process split -------------------------------------------------------------------

def _generated(tmp_path: Path, *, kubectl_order: bool) -> Path:
    spec = importlib.util.spec_from_file_location("generate_cluster", ROOT / "benchmarks" / "generate_cluster.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    sys.modules["generate_cluster"] = gen
    spec.loader.exec_module(gen)
    doc = gen.generate(60, 3000, 300, seed=7)
    # a duplicate on each side of the middle, and a kind-less item: the merge keeps the last one
    items = doc["items"]
    items.insert(len(items) * 3 // 4, json.loads(json.dumps(items[len(items) // 4])))
    if kubectl_order:
        doc = {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}}
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps(doc, indent=2 if kubectl_order else None))
    return path


@pytest.fixture
def split_everything(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    if not jsonstream.parallel_allowed(1 << 40):
        pytest.skip("the split needs Linux, fork and two cores")
    monkeypatch.setattr(jsonstream, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(jsonstream, "STREAM_MIN_BYTES", 0)
    outcomes: list[str] = []
    real = jsonstream._Child.result

    def result(self: Any) -> Any:
        r = real(self)
        outcomes.append("child" if r is not None else "failed")
        return r

    monkeypatch.setattr(jsonstream._Child, "result", result)
    return outcomes


@pytest.mark.parametrize("kubectl_order", [True, False])
def test_split_load_equals_whole(tmp_path: Path, split_everything: list[str], kubectl_order: bool) -> None:
    path = _generated(tmp_path, kubectl_order=kubectl_order)
    whole = _whole(path)
    split = files.load_path(path)
    assert split_everything == ["child"], "the child's half was not used"
    _same(whole, split, warnings_in_order=False)
    assert any("duplicate Pod" in w for w in split.meta.warnings)
    assert len(split.pods) > 2500


def test_a_wrong_split_guess_costs_only_time(tmp_path: Path, split_everything: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = _generated(tmp_path, kubectl_order=True)
    raw = path.read_bytes()
    # inside a pod's container list, not between two List items
    inner = raw.index(b'"containers"', len(raw) // 2)
    monkeypatch.setattr(jsonstream, "find_split", lambda f, size, share=0.5: raw.index(b"{", inner))
    _same(_whole(path), files.load_path(path))
    assert split_everything == []  # never landed on it: the child was cancelled


def test_a_failing_child_is_replaced_by_reading_on(tmp_path: Path, split_everything: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    path = _generated(tmp_path, kubectl_order=False)

    def boom(*args: Any) -> Any:
        raise MemoryError("child out of memory")

    monkeypatch.setattr(jsonstream._Child, "_run", staticmethod(boom))
    _same(_whole(path), files.load_path(path))
    assert split_everything == ["failed"]


def test_an_error_in_the_childs_half_is_reported_with_its_line(tmp_path: Path, split_everything: list[str]) -> None:
    path = _generated(tmp_path, kubectl_order=True)
    lines = path.read_text().splitlines()
    bad = len(lines) * 4 // 5
    while '"name":' not in lines[bad]:
        bad += 1
    lines[bad] = lines[bad].replace('"name":', '"name"')
    path.write_text("\n".join(lines))
    with pytest.raises(InputFileError) as exc:
        files.load_path(path)
    assert exc.value.line == bad + 1
