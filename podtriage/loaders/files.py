"""Offline input: `kubectl get -o yaml|json` output, folders of it, `kubectl cluster-info dump`
folders, and podtriage's own snapshot files, all turned into the same Snapshot the live collector
builds.

YAML is parsed with a restricted safe loader: no aliases (Kubernetes output never has them, and
they are how "billion laughs" bombs work), no Python tags, timestamps kept as text. JSON takes the
fast path whenever a file starts with `{` or `[`.
"""

from __future__ import annotations

import gc
import gzip
import json
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

from ..convert import KNOWN_KINDS
from ..errors import InputFileError
from ..snapshot import Snapshot, SnapshotBuilder
from . import jsonstream, snapshot_file, yamlstream
from .nesting import TOO_DEEP, check_depth, is_depth_error

INPUT_SUFFIXES = (".yaml", ".yml", ".json")
MAX_DECOMPRESSED_BYTES = 8 << 30  # a gzip input larger than this once inflated is refused
_SNIFF = 8192
_KNOWN_KINDS = frozenset(KNOWN_KINDS)

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TS = "tag:yaml.org,2002:timestamp"


class KubeYAMLLoader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader (C-accelerated when libyaml is present) that refuses aliases and unknown tags.

    Only plain data is constructed: null, bool, int, float, str, list, dict. Timestamps and
    `!!binary` stay strings, as they would in Kubernetes' own JSON.
    """

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML class-level registry
        first: [(tag, rx) for tag, rx in resolvers if tag != _TS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    yaml_constructors = {  # noqa: RUF012 - PyYAML class-level registry
        "tag:yaml.org,2002:null": SafeConstructor.construct_yaml_null,
        "tag:yaml.org,2002:bool": SafeConstructor.construct_yaml_bool,
        "tag:yaml.org,2002:int": SafeConstructor.construct_yaml_int,
        "tag:yaml.org,2002:float": SafeConstructor.construct_yaml_float,
        "tag:yaml.org,2002:str": SafeConstructor.construct_yaml_str,
        "tag:yaml.org,2002:seq": SafeConstructor.construct_yaml_seq,
        "tag:yaml.org,2002:map": SafeConstructor.construct_yaml_map,
        _TS: SafeConstructor.construct_yaml_str,
        "tag:yaml.org,2002:binary": SafeConstructor.construct_yaml_str,
        None: SafeConstructor.construct_undefined,
    }
    yaml_multi_constructors: dict = {}  # noqa: RUF012

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        # A node reached a second time is an alias: refuse it before anything expands.
        if node in self.constructed_objects:
            raise ConstructorError(None, None, "YAML aliases are not allowed (Kubernetes output never uses them); this anchored node is reused by an alias",
                                   node.start_mark)
        return super().construct_object(node, deep)


# --------------------------------------------------------------------------------------------
# bytes -> documents


@contextmanager
def _read_errors(path: Path) -> Iterator[None]:
    """OS and gzip errors while reading `path` -> an InputFileError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise InputFileError(str(path), "no such file or directory") from None
    except PermissionError:
        raise InputFileError(str(path), "permission denied") from None
    except IsADirectoryError:
        raise InputFileError(str(path), "is a directory") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputFileError(str(path), f"corrupt gzip file: {exc}") from None
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read: {exc.strerror or exc}") from None


def _read_bytes(path: Path) -> bytes:
    with _read_errors(path), open(path, "rb") as f:
        head = f.read(2)
        f.seek(0)
        if head == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=f) as gz:
                data = gz.read(MAX_DECOMPRESSED_BYTES + 1)
            if len(data) > MAX_DECOMPRESSED_BYTES:
                raise InputFileError(str(path), f"gzip content larger than {MAX_DECOMPRESSED_BYTES} bytes")
            return data
        return f.read()  # not `head + f.read()`: that copies the whole file once more


def _decode(data: bytes, path: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # PowerShell's `kubectl get ... > file` writes UTF-16 with a BOM.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputFileError(path, f"invalid UTF-16 text: {exc.reason}") from None
    if b"\x00" in data[:_SNIFF]:
        raise InputFileError(path, "binary file: expected YAML or JSON text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputFileError(path, "not UTF-8 text (binary file?): expected YAML or JSON", line=line) from None
    return text.removeprefix("\ufeff")


_WS = re.compile(r"\s*")
_LOG_START = "==== START logs for"
_LOG_END = "==== END logs for"


def _json_documents(text: str, path: str) -> Iterator[Any]:
    """One JSON document, or a stream of them (`kubectl get -w -o json`, `kubectl cluster-info dump`
    printed to stdout, whose container logs sit between `==== START/END logs` markers)."""
    if "\\u" in text and jsonstream._SURROGATE_ESCAPE.search(text):
        text = jsonstream.replace_lone_surrogates(text)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":
            raise InputFileError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise InputFileError(path, f"invalid JSON: {TOO_DEEP}") from None
    except ValueError as exc:  # not a JSONDecodeError: an integer past Python's 4300-digit limit
        raise InputFileError(path, f"invalid JSON: {exc}") from None
    else:
        # The text is as large as the file; drop it before the document is converted (rebound, not
        # deleted: ruff before 0.6 took the name for undefined in the streaming branch below).
        text = ""
        yield doc
        return
    decoder = json.JSONDecoder()
    pos, end = 0, len(text)
    while True:
        pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            return
        if text.startswith(_LOG_START, pos):
            stop = text.find(_LOG_END, pos)
            if stop < 0:
                return
            nl = text.find("\n", stop)
            pos = end if nl < 0 else nl + 1
            continue
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputFileError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
        except RecursionError:
            raise InputFileError(path, f"invalid JSON: {TOO_DEEP}") from None
        except ValueError as exc:  # an integer past Python's 4300-digit limit
            raise InputFileError(path, f"invalid JSON: {exc}") from None
        yield doc


def _yaml_documents(text: str, path: str) -> Iterator[Any]:
    try:
        # libyaml's composer recurses in C: ~30k levels of nesting crash the process (nesting.py).
        check_depth(text, KubeYAMLLoader)
        for doc in yaml.load_all(text, Loader=KubeYAMLLoader):
            if doc is not None:
                yield doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = ", ".join(x for x in (exc.context, exc.problem) if x) or "parse error"
        if is_depth_error(exc):
            what = TOO_DEEP
        elif "could not determine a constructor" in what:
            what = f"YAML tag {exc.problem.split('tag ', 1)[-1] if exc.problem else ''} is not allowed"
        raise InputFileError(path, f"invalid YAML: {what}", line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputFileError(path, f"invalid YAML: {TOO_DEEP if is_depth_error(exc) else exc}") from None
    except RecursionError:
        raise InputFileError(path, f"invalid YAML: {TOO_DEEP}") from None
    except ValueError as exc:  # an integer past Python's 4300-digit limit
        raise InputFileError(path, f"invalid YAML: {exc}") from None


def parse_documents(data: bytes, path: str) -> Iterator[Any]:
    """The top-level documents in a file's bytes (JSON fast path, else restricted YAML)."""
    text = _decode(data, path)
    first = _WS.match(text).end()  # type: ignore[union-attr]
    if first >= len(text):
        raise InputFileError(path, "empty file: no Kubernetes objects found")
    if text[first] in "{[":
        return _json_documents(text, path)
    return _yaml_documents(text, path)


# --------------------------------------------------------------------------------------------
# documents -> builder


class _Ingest:
    streaming = True  # large files through jsonstream/yamlstream (see file())

    def __init__(self, builder: SnapshotBuilder) -> None:
        self.builder = builder
        self.objects = 0  # Kubernetes objects seen (any kind)
        self.lists = 0  # typed Lists seen (`PodList`), even empty ones

    def document(self, doc: Any, origin: str) -> None:
        if isinstance(doc, list):  # a bare JSON array of objects (jq output; `jq -s` nests arrays)
            # Iterative, not recursive: an array nested thousands deep must not exhaust the stack.
            stack: list[list] = [doc]
            pos = [0]
            while stack:
                top, i = stack[-1], pos[-1]
                if i >= len(top):
                    top.clear()
                    stack.pop()
                    pos.pop()
                    continue
                pos[-1] = i + 1
                d, top[i] = top[i], None  # released once converted, as for List items
                if isinstance(d, list):
                    stack.append(d)
                    pos.append(0)
                else:
                    self.document(d, origin)
            return
        if not isinstance(doc, dict):
            return
        if snapshot_file.is_snapshot_document(doc):
            self.objects += snapshot_file.add_snapshot_document(doc, self.builder, origin)
            self.lists += 1
            return
        kind = doc.get("kind")
        items = doc.get("items")
        if isinstance(items, list) and (kind is None or (isinstance(kind, str) and kind.endswith("List"))):
            item_kind = kind[:-4] if isinstance(kind, str) and kind not in ("List", "") else None
            if item_kind:
                self.lists += 1
                if item_kind in KNOWN_KINDS:
                    # An explicit typed List is complete even when empty: "NodeList, no items" = no nodes.
                    self.builder.mark_collected(item_kind)
            self._items(items, item_kind, origin)
            return
        if isinstance(kind, str) and kind and isinstance(doc.get("metadata"), dict):
            self.item(doc, origin)

    def _items(self, items: list, item_kind: str | None, origin: str) -> None:
        """The items of one List: `item()` for each, with the common case inlined (150k calls)."""
        add, mark_collected = self.builder.add, self.builder.mark_collected
        marked: set[str] = set()
        objects = 0
        try:
            for i, obj in enumerate(items):
                # Release each raw object once converted: with 150k pods the raw dicts are the
                # largest thing in memory, and the converted snapshot keeps none of them.
                items[i] = None
                if isinstance(obj, dict):
                    kind = obj.get("kind")
                    if not kind and item_kind:
                        obj["kind"] = kind = item_kind  # typed API Lists (cluster-info dump) omit it
                    if type(kind) is str and kind:
                        objects += 1
                        if kind in _KNOWN_KINDS:
                            if kind not in marked:
                                marked.add(kind)
                                mark_collected(kind)
                            add(obj, origin=origin)
                        continue
                self.item(obj, origin)  # anything unusual: the general path, with its warnings
        finally:
            self.objects += objects
        items.clear()

    def item(self, obj: Any, origin: str) -> None:
        if not isinstance(obj, dict):
            self.builder.warnings.append(f"{origin}: skipped a List item that is not an object")
            return
        kind = obj.get("kind")
        if not isinstance(kind, str) or not kind:
            self.builder.warnings.append(f"{origin}: skipped a List item without kind")
            return
        self.objects += 1
        if kind in KNOWN_KINDS:
            self.builder.mark_collected(kind)
            self.builder.add(obj, origin=origin)

    def file(self, path: Path) -> int:
        """Load one file; returns how many objects (and typed Lists) it held."""
        before = self.objects + self.lists
        origin = str(path)
        if not (self.streaming and _stream_large(path, self, origin, jsonstream.STREAM_MIN_BYTES)):
            for doc in parse_documents(_read_bytes(path), origin):
                self.document(doc, origin)
        return self.objects + self.lists - before


def _stream_large(path: Path, ingest: _Ingest, origin: str, min_bytes: int) -> bool:
    """Stream a large JSON or YAML file into `ingest` (see jsonstream, yamlstream); False when it
    is small, or UTF-16, binary or empty (the whole-file path and its messages)."""
    with _read_errors(path):
        size = path.stat().st_size
        if size < min_bytes or not path.is_file():
            return False
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            f: Any = gzip.GzipFile(fileobj=raw) if gz else raw
            with f:
                head = f.read(_SNIFF)
                f.seek(0)
                if not head.strip() or head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
                    return False
                if not _json_text(head):
                    return yamlstream.ingest_yaml_file(f, origin, ingest, _yaml_documents)
                if gz:
                    jsonstream.ingest_json_file(f, str(path), origin, ingest, size=size, seekable=False,
                                                max_bytes=MAX_DECOMPRESSED_BYTES)
                else:
                    jsonstream.ingest_json_file(f, str(path), origin, ingest, size=size, seekable=True,
                                                ingest_factory=lambda: _Ingest(SnapshotBuilder(source=origin)))
                return True


def _json_text(head: bytes) -> bool:
    """UTF-8 (or ASCII) text whose first character opens a JSON object or array."""
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1]
    return first in (b"{", b"[")


def _is_input_file(name: str) -> bool:
    base = name.removesuffix(".gz")
    return base.lower().endswith(INPUT_SUFFIXES)


def _walk(root: Path, warnings: list[str]) -> Iterator[Path]:
    def onerror(exc: OSError) -> None:
        warnings.append(f"{exc.filename}: unreadable folder: {exc.strerror or exc}")

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))  # .git and the like
        for name in sorted(filenames):
            if not name.startswith(".") and _is_input_file(name):
                yield Path(dirpath) / name


def _load_dir(root: Path, ingest: _Ingest) -> None:
    files = 0
    for p in _walk(root, ingest.builder.warnings):
        files += 1
        try:
            if ingest.file(p) == 0:
                ingest.builder.warnings.append(f"{p}: no Kubernetes objects found; skipped")
        except InputFileError as exc:
            # One broken or unreadable file should not hide the rest of a dump: keep going, say so.
            ingest.builder.warnings.append(f"skipped {exc.message}")
    if ingest.objects + ingest.lists == 0:
        detail = f"{files} YAML/JSON file(s) looked at" if files else "no .yaml, .yml or .json files"
        raise InputFileError(str(root), f"no Kubernetes objects found in this folder ({detail})")


def _load_into(path: Path, ingest: _Ingest) -> None:
    if path.is_dir():
        _load_dir(path, ingest)
        return
    if not path.exists():
        raise InputFileError(str(path), "no such file or directory")
    if ingest.file(path) == 0:
        raise InputFileError(str(path), "no Kubernetes objects found (expected `kubectl get -o yaml|json` "
                             "output, a cluster-info dump or a podtriage snapshot)")


def load_path(path: str | Path) -> Snapshot:
    """Load a file or folder (see module docstring) into a Snapshot whose meta.source is `path`."""
    return load_paths([path])


class _Recorder:
    """A SnapshotBuilder stand-in for the loaders: keeps the trimmed raw objects instead of
    converting them (Secret data is dropped by trim_object, before anything else sees it)."""

    def __init__(self, source: str) -> None:
        self._builder = SnapshotBuilder(source=source)
        self.items: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._builder, name)

    def add(self, obj: Any, *, origin: str = "") -> bool:
        if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
            self.items.append(snapshot_file.trim_object(obj))
            return True
        return self._builder.add(obj, origin=origin)


class _WholeFiles(_Ingest):
    """Every file parsed whole: the streamed load of a large JSON file converts part of it in a
    forked process, past the recorder."""

    streaming = False


@dataclass
class RawInput:
    """Files' objects as trimmed Kubernetes JSON (for writing a snapshot file), with the header."""

    items: list[dict[str, Any]]
    header: dict[str, Any]
    warnings: list[str]


def load_raw(path: str) -> RawInput:
    """`snapshot --from PATH`: the objects of a file or folder, trimmed, not converted."""
    rec = _Recorder(source=path)
    ingest = _WholeFiles(rec)  # type: ignore[arg-type]
    with gc_paused():
        _load_into(Path(path), ingest)
    b = rec._builder
    overrides = b.meta_overrides
    header = {
        "created": overrides.get("created", ""), "source": path,
        "cluster": {"server": overrides.get("cluster_server", ""), "context": overrides.get("context", ""),
                    "version": overrides.get("server_version", "")},
        "collected": sorted(b.collected), "namespaces": list(overrides.get("namespaces", ())),
        "missing": [{"resource": x.resource, "namespace": x.namespace, "reason": x.reason} for x in b.missing],
        "schedulerNames": list(overrides["scheduler_names"]) if overrides.get("scheduler_names") is not None
        else None,
    }
    return RawInput(rec.items, header, b.warnings)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large input is parsed and converted (files
    here, pages of API LISTs in collect.live).

    Loading allocates millions of long-lived containers (the parsed JSON, then the snapshot) and
    no reference cycles; every collection the allocations trigger rescans the growing heap for
    nothing, which costs more than the parsing itself on a 150k-pod cluster. Refcounting still
    frees the raw objects as they are converted.

    On the way out the survivors (the snapshot, acyclic and immutable) are moved to the permanent
    generation with gc.freeze(): otherwise the first collections after loading, and every full
    one during the analysis, would walk those millions of objects again. Frozen objects are still
    freed by reference counting when the snapshot is dropped.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.enable()


def load_paths(paths: Iterable[str | Path]) -> Snapshot:
    """Load several files/folders into one Snapshot (later duplicates win, with a warning)."""
    resolved = [Path(p) for p in paths]
    source = ", ".join(str(p) for p in resolved)
    builder = SnapshotBuilder(source=source)
    ingest = _Ingest(builder)
    with gc_paused():
        for p in resolved:
            _load_into(p, ingest)
        return builder.build(source=source)


__all__ = ["KubeYAMLLoader", "RawInput", "gc_paused", "load_path", "load_paths", "load_raw", "parse_documents"]
