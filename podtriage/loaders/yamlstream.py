"""Large YAML inputs, streamed: a multi-GiB `kubectl get -o yaml` List is never held whole.

PyYAML's fast (libyaml) loader builds a whole document at once, and a List is one document. So
the top level is split here, by lines: the keys before `items:`, the items themselves (each starts
with a `- ` at the items' indentation; everything more indented belongs to it) and the keys after
them. The items are parsed in batches of about a megabyte, each batch as its own small document
(`items:` + the batch's lines), with the same restricted loader and depth guard as a whole file;
they are converted and dropped before the next batch is read. Documents without a block `items:`
list at the top (a single object per `---` document, or a flow-style list) are parsed whole, one
document at a time, which is what `yaml.load_all` would hold anyway.

Every parse error keeps the line number of the original file. tests/loaders/test_yamlstream.py
holds the streamed load equal to the whole-file load.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from ..errors import InputFileError
from .jsonstream import Listing, _streamable

BATCH_BYTES = 1 << 20
_ITEMS = re.compile(r"items:[ \t]*(?:#.*)?\r?\n?$")
_MARKER = re.compile(r"(?:---|\.\.\.)(?:[ \t]|\r?\n|$)")

ParseFn = Callable[[str, str], Iterator[Any]]  # files._yaml_documents(text, origin)


class _Doc:
    """One `---` document of the file, while its lines are being read."""

    def __init__(self, first_line: int) -> None:
        self.first_line = first_line
        self.header: list[str] = []  # lines before `items:` (or the whole document)
        self.tail: list[str] = []  # lines after the items block
        self.state = "header"
        self.indent: int | None = None
        self.batch: list[str] = []
        self.batch_line = 0
        self.batch_bytes = 0
        self.batch_items = 0  # item starts (`- ` lines) in the batch
        self.listing: Listing | None = None
        self.root: dict[str, Any] | None = None
        self.tail_line = 0
        self.whole = False  # an `items:` that cannot be streamed: this document is parsed whole

    def add(self, n: int, line: str) -> None:
        if not self.batch:
            self.batch_line = n
        self.batch.append(line)
        self.batch_bytes += len(line)

    def go_whole(self, *more: str) -> None:
        """Parse this document whole after all (nothing of it was ingested yet)."""
        self.whole = True
        self.header += ["items:\n", *self.batch, *more]
        self.batch, self.batch_items = [], 0


class _YamlStream:
    def __init__(self, ingest: Any, origin: str, parse: ParseFn) -> None:
        self.ingest, self.origin, self.parse = ingest, origin, parse

    def _load(self, text: str, first_line: int) -> list[Any]:
        """The documents in `text`, whose line 1 is line `first_line` of the file."""
        try:
            return list(self.parse(text, self.origin))
        except InputFileError as exc:
            if exc.line is None:
                raise
            prefix = f"{exc.path}:{exc.line}: "
            detail = exc.message.removeprefix(prefix)
            raise InputFileError(exc.path, detail, line=exc.line + first_line - 1, hint=exc.hint) from None

    def _mapping(self, lines: list[str], first_line: int) -> dict[str, Any] | None:
        """The top-level mapping in `lines` ({} when empty); None when it is not one mapping."""
        docs = self._load("".join(lines), first_line) if lines else []
        if not docs:
            return {}
        return docs[0] if len(docs) == 1 and isinstance(docs[0], dict) else None

    def _flush(self, doc: _Doc) -> None:
        """Parse and ingest the batch of items; the first one decides if the List streams."""
        if not doc.batch_items:
            return  # nothing, or only blank and comment lines so far
        if doc.listing is None:
            root = self._mapping(doc.header, doc.first_line)
            if root is None or not _streamable(root):
                doc.go_whole()
                return
            doc.root = root
            doc.listing = Listing(self.ingest, root, self.origin)
        # Line 1 of the batch document is the synthetic `items:`; its line 2 is doc.batch_line.
        parsed = self._load("items:\n" + "".join(doc.batch), doc.batch_line - 1)
        items = parsed[0].get("items") if len(parsed) == 1 and isinstance(parsed[0], dict) else None
        if not isinstance(items, list):
            raise InputFileError(self.origin, "invalid YAML: the items list could not be read",
                                 line=doc.batch_line)
        doc.batch, doc.batch_bytes, doc.batch_items = [], 0, 0
        for obj in items:
            doc.listing.item(obj)

    def _finish(self, doc: _Doc) -> None:
        if not doc.whole and doc.state != "header":
            self._flush(doc)  # the last batch (or the decision to parse whole)
        if doc.whole or doc.state == "header" or doc.listing is None:
            # Parsed whole: no `items:` block, one that could not stream, or an empty one.
            lines = doc.header if doc.whole or doc.state == "header" else \
                doc.header + ["items:\n", *doc.batch] + doc.tail
            for d in self._load("".join(lines), doc.first_line):
                self.ingest.document(d, self.origin)
            return
        root = dict(doc.root or {})
        tail = self._mapping(doc.tail, doc.tail_line)
        if tail is None:
            raise InputFileError(self.origin, "invalid YAML: unexpected content after the items list",
                                 line=doc.tail_line)
        root.update(tail)
        doc.listing.finish(root)

    def run(self, lines: Iterator[tuple[int, str]]) -> None:
        doc = _Doc(1)
        for n, line in lines:
            if line[:1] in "-." and _MARKER.match(line):
                self._finish(doc)
                doc = _Doc(n + 1)
                continue
            if doc.state == "header" or doc.whole:
                if not doc.whole and _ITEMS.match(line):
                    doc.state = "items"
                else:
                    doc.header.append(line)
                continue
            if doc.state == "tail":
                doc.tail.append(line)
                continue
            body = line.lstrip(" ")
            indent = len(line) - len(body)
            if not body.strip() or body.startswith("#"):
                doc.add(n, line)  # blank and comment lines go with the item they are in
                continue
            dash = body.startswith("- ") or body.rstrip("\r\n") == "-"
            if doc.indent is None:
                if not dash:  # `items:` holding a mapping or a flow list: not a List to stream
                    doc.go_whole(line)
                    continue
                doc.indent = indent
            item_start = dash and indent == doc.indent
            if item_start and doc.batch_bytes >= BATCH_BYTES or not item_start and indent <= doc.indent:
                self._flush(doc)
                if doc.whole:
                    doc.header.append(line)
                    continue
                if not item_start:  # back at the List's level: the keys after `items`
                    doc.state, doc.tail_line = "tail", n
                    doc.tail.append(line)
                    continue
            doc.batch_items += item_start
            doc.add(n, line)
        self._finish(doc)


def _lines(f: BinaryIO, origin: str) -> Iterator[tuple[int, str]]:
    for n, raw in enumerate(f, 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputFileError(origin, "not UTF-8 text (binary file?): expected YAML or JSON", line=n) from None
        if n == 1:
            line = line.removeprefix("\ufeff")
        yield n, line


def ingest_yaml_file(f: BinaryIO, origin: str, ingest: Any, parse: ParseFn) -> bool:
    """Stream the YAML documents of `f` into `ingest`. False, with nothing ingested, when the
    file's shape is not handled here (the caller loads it whole)."""
    # A dry run over the top level first: nothing may reach the ingest before the shape is known
    # to be streamable, and the check reads only the lines, not the values.
    if not _shape_ok(f):
        return False
    f.seek(0)
    _YamlStream(ingest, origin, parse).run(_lines(f, origin))
    return True


def _shape_ok(f: BinaryIO) -> bool:
    """Whether every document's top level is one this module streams (see _YamlStream.run)."""
    for raw in f:
        if raw[:1] in b"-." and _MARKER.match(raw.decode("utf-8", "replace")):
            if raw.strip() not in (b"---", b"..."):
                return False
        elif raw[:1] == b"%":
            return False  # a YAML directive
    return True


__all__ = ["BATCH_BYTES", "ingest_yaml_file"]
