"""Large JSON inputs, streamed: a multi-GiB `kubectl get -o json` List is never held whole.

The file is read in chunks through an incremental UTF-8 decoder. The top level (one or more
documents, `kubectl cluster-info dump` log sections between them) is walked here; every value
below it is decoded by the C JSON decoder (`raw_decode`), one List item at a time, converted and
dropped. Peak memory is then the converted snapshot plus one chunk, not the raw text plus every
raw object (about ten times the file size).

On a machine with two or more cores, a large uncompressed List is also split: a forked child
converts the items after a boundary near the middle while this process converts the ones before
it, and the child's converted objects come back pickled. The split point is only a guess (a
`},{"apiVersion"` near the middle); it is proven by this process's own parse, which must arrive at
exactly that byte between two items of the top-level `items` array. When it does not (the guess was
inside a nested list, or the child failed), this process simply reads on and the child's work is
discarded: the result never depends on the guess, only the time does.

What differs from loading the whole document (`files.parse_documents`): nothing in the snapshot,
except the order of a few warnings (duplicates across the split are reported after the child's
own warnings). `tests/loaders/test_jsonstream.py` holds the two paths to that.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from typing import Any, BinaryIO

from ..convert import KNOWN_KINDS
from ..errors import InputFileError
from ..parallel import Forked, fork_allowed
from .nesting import TOO_DEEP
from . import snapshot_file

STREAM_MIN_BYTES = 16 << 20  # JSON files at least this large are streamed (smaller: parsed whole)
PARALLEL_MIN_BYTES = 48 << 20  # ... and split across two processes from this size
CHUNK = 4 << 20
# The child also pickles its part and this process unpickles it, so this process takes a bit more.
PARALLEL_SHARE = 0.56
_KNOWN_KINDS = frozenset(KNOWN_KINDS)
_WS = re.compile(r"[ \t\n\r]*")
_LOG_START = "==== START logs for"
_LOG_END = "==== END logs for"
_decode = json.JSONDecoder().raw_decode
_NUMBER_TAIL = re.compile(r"[0-9.eE+-]*\Z")  # the window ends inside what may be one number
_SEP = re.compile(r"[ \t\n\r]*,[ \t\n\r]*").match
# Where a List item starts: `}` `,` `{"apiVersion"` (or kind/metadata first), as kubectl and the
# API server print them, compact or indented.
_ITEM_START = re.compile(rb'\}[ \t\r\n]*,[ \t\r\n]*(\{)[ \t\r\n]*"(?:apiVersion|kind|metadata)"')


# A `\uD800`-style escape: json turns a lone one into a surrogate that no UTF-8 output can encode
# (the report would fail to print). Pairs (emoji) are kept; an escaped backslash is not one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}")
_SURROGATES = re.compile(r"(?<!\\)((?:\\\\)*)(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
                         r"|\\u[dD][89a-fA-F][0-9a-fA-F]{2})")


def replace_lone_surrogates(text: str) -> str:
    """Lone surrogate escapes -> U+FFFD, as Go's encoding/json (and so the API server) would write them."""
    return _SURROGATES.sub(lambda mt: mt.group(1) + (mt.group(2) if len(mt.group(2)) == 12 else "\\ufffd"), text)


class _Reader:
    """The decoded text of a file from `start`, as a sliding window over chunks.

    With `limit`, reading stops at that byte while `hold` is set (the parallel split: see
    `_array`); at any other moment reaching the limit just lifts it, so a wrong split
    guess costs nothing but the child's work.
    """

    def __init__(self, f: BinaryIO, path: str, *, start: int = 0, limit: int | None = None,
                 max_bytes: int | None = None) -> None:
        if start:
            f.seek(start)
        self.f, self.path = f, path
        self.remaining = None if limit is None else limit - start
        self.hold = False
        self.max_bytes = max_bytes
        self.read_bytes = 0
        self._dec = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.lines = 0  # newlines before buf[0], for error line numbers
        self.eof = False
        self.first = start == 0
        self._carry = ""

    def fill(self, n: int | None = None) -> bool:
        """Append the next `n` bytes (default CHUNK) to the window; False at the end of the file
        (or at a held limit)."""
        if self.eof:
            return False
        if n is None:
            n = CHUNK  # read here, not bound as a default: tests shrink it to cross every boundary
        if self.remaining is not None:
            if self.remaining <= 0:
                if self.hold:
                    return False
                self.remaining = None
            else:
                n = min(n, self.remaining)
        data = self.f.read(n)
        if self.remaining is not None:
            self.remaining -= len(data)
        self.read_bytes += len(data)
        if self.max_bytes is not None and self.read_bytes > self.max_bytes:
            raise InputFileError(self.path, f"content larger than {self.max_bytes} bytes")
        try:
            text = self._dec.decode(data, final=not data)
        except UnicodeDecodeError:
            raise InputFileError(self.path, "not UTF-8 text (binary file?): expected YAML or JSON",
                                 line=self.line_at(len(self.buf))) from None
        if not data:
            self.eof = True
        if self.first and text:
            self.first = False
            if "\x00" in text[:8192]:
                raise InputFileError(self.path, "binary file: expected YAML or JSON text")
            text = text.removeprefix("\ufeff")
        text = self._surrogates(text, last=not data or self.remaining == 0)
        if self.pos:
            self.lines += self.buf.count("\n", 0, self.pos)
            self.buf = self.buf[self.pos:] + text
            self.pos = 0
        else:
            self.buf += text
        return bool(text) or not self.eof

    def _surrogates(self, text: str, last: bool) -> str:
        """Lone surrogate escapes -> U+FFFD, as for a whole file (replace_lone_surrogates).

        An escape (or a pair, 12 characters) cut by the end of the chunk waits for the next one,
        with the whole run of backslashes before it, so `\\\\uD800` stays an escaped backslash.
        """
        text, self._carry = self._carry + text, ""
        if "\\" not in text:
            return text
        if not last:
            cut = text.find("\\", max(0, len(text) - 12))
            if cut >= 0:
                if cut >= 6 and _HIGH_SURROGATE.match(text, cut - 6):
                    cut -= 6  # `\\ud83d` + `\\ude00`: a pair stays together
                while cut > 0 and text[cut - 1] == "\\":
                    cut -= 1
                text, self._carry = text[:cut], text[cut:]
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
            text = replace_lone_surrogates(text)
        return text

    def line_at(self, pos: int) -> int:
        return self.lines + self.buf.count("\n", 0, pos) + 1

    def error(self, msg: str, pos: int | None = None) -> InputFileError:
        return InputFileError(self.path, f"invalid JSON: {msg}", line=self.line_at(self.pos if pos is None else pos))

    def ws(self) -> str:
        """Skip whitespace; the next character, or "" at the end of the input."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def value(self) -> Any:
        """The JSON value at the current position (call ws() first)."""
        while True:
            try:
                val, end = _decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # Cut by the end of the window: read on and decode again. Otherwise a real error.
                # The window grows by doubling, so a value of any size is decoded O(size) times.
                if (exc.pos >= len(self.buf) - 8 or exc.msg.startswith("Unterminated string")) \
                        and self.fill(max(CHUNK, len(self.buf) - self.pos)):
                    continue
                raise self.error(exc.msg, exc.pos) from None
            except RecursionError:
                raise self.error(TOO_DEEP) from None
            except ValueError as exc:  # not a JSONDecodeError: an integer past the 4300-digit limit
                raise self.error(str(exc)) from None
            if not self.eof and (end >= len(self.buf) or type(val) in (int, float)
                                 and _NUMBER_TAIL.match(self.buf, end)) and self.fill():
                continue  # a number may go on in the next chunk (`1.`, `2e`): decode it again, whole
            self.pos = end
            return val

    def expect(self, what: str) -> str:
        c = self.ws()
        if c == "":
            raise self.error(f"unexpected end of file, expecting {what}")
        return c

    def startswith(self, s: str) -> bool:
        while len(self.buf) - self.pos < len(s) and self.fill():
            pass
        return self.buf.startswith(s, self.pos)


HANDED_OVER = "handed-over"
LandingFn = Callable[[], bool]


def _array(rd: _Reader, sink: Callable[[Any], None], landing: LandingFn | None = None) -> str:
    """The elements of the array whose `[` was just consumed, each given to `sink`.

    With `landing` (this process's share of a split List), after each comma the reader is held at
    its limit: arriving there exactly is the proof the split fell between two top-level items, and
    `landing()` then takes the child's part (True: stop here, HANDED_OVER).
    """
    c = rd.expect("a value or ']'")
    if c == "]":
        rd.pos += 1
        return "closed"
    decode, sep = _decode, _SEP
    while True:
        # The fast path, one C call per item and one for the comma after it, while the window
        # holds the whole item and the start of the next; anything else (the end of the window,
        # the end of the array, the split point, an error) goes through the reader.
        buf, pos = rd.buf, rd.pos
        try:
            val, end = decode(buf, pos)
        except (ValueError, RecursionError):  # JSONDecodeError included: the reader says what is wrong
            end = len(buf)
        if end < len(buf) and type(val) not in (int, float):  # a number may go on: the reader decides
            rd.pos = end
            sink(val)
            m = sep(buf, end)
            if m is not None and m.end() < len(buf):
                rd.pos = m.end()
                continue
        else:
            sink(rd.value())
        c = rd.expect("',' or ']'")
        if c == ",":
            rd.pos += 1
            if landing is not None and rd.remaining is not None:
                rd.hold = True
                try:
                    at_limit = rd.ws() == ""
                finally:
                    rd.hold = False
                if at_limit and rd.remaining is not None and rd.remaining <= 0:
                    if landing():
                        return HANDED_OVER
                    rd.remaining = None  # the child failed: read its part here
                    landing = None
            rd.expect("a value")
            continue
        if c == "]":
            rd.pos += 1
            return "closed"
        raise rd.error("Expecting ',' delimiter")


def _tail(rd: _Reader, root: dict) -> None:
    """The rest of an object after a streamed member: `, "key": value`... `}`."""
    while True:
        c = rd.expect("',' or '}'")
        if c == "}":
            rd.pos += 1
            return
        if c != ",":
            raise rd.error("Expecting ',' delimiter")
        rd.pos += 1
        if rd.expect("a property name") != '"':
            raise rd.error("Expecting property name enclosed in double quotes")
        key = rd.value()
        if rd.expect("':'") != ":":
            raise rd.error("Expecting ':' delimiter")
        rd.pos += 1
        rd.expect("a value")
        root[key] = rd.value()


class Listing:
    """The items of one top-level List, streamed into an ingest (files._Ingest).

    mode: "snapshot" (a podtriage snapshot whose header came first), "list", or "unknown" (no kind
    before `items`, as `kubectl get -o json` prints it: decided when the object closes).
    """

    def __init__(self, ingest: Any, root: dict, origin: str, *, mode: str | None = None) -> None:
        self.ingest, self.origin = ingest, origin
        self.builder = ingest.builder
        self.items = 0  # every element
        self.kinded = 0  # elements that are objects with a kind
        self.kinds: set[str] = set()  # known kinds seen (marked collected in "list" mode)
        self.deferred: list[Any] = []  # elements whose handling depends on the mode
        self.item_kind: str | None = None
        if mode is None:
            if snapshot_file.is_snapshot_document(root):
                mode = "snapshot"
            elif "kind" in root:
                mode = "list"
            else:
                mode = "unknown"
        self.mode = mode
        if mode == "snapshot":
            snapshot_file.apply_snapshot_header(root.get("metadata"), self.builder, origin)
        elif mode == "list":
            self.item_kind = _item_kind(root.get("kind"))

    def item(self, obj: Any) -> None:
        self.items += 1
        if self.mode == "snapshot":
            self.builder.add(obj, origin=self.origin)
            return
        if type(obj) is dict:
            kind = obj.get("kind")
            if not kind and self.item_kind:
                obj["kind"] = kind = self.item_kind
            if type(kind) is str and kind:
                self.kinded += 1
                if kind in _KNOWN_KINDS:
                    self.kinds.add(kind)
                    self.builder.add(obj, origin=self.origin)
                return
            if self.mode == "unknown" and not kind:
                self.deferred.append(obj)  # the List's kind may still name it (`PodList`)
                return
        self.ingest.item(obj, self.origin)  # warns, in order (a snapshot would word it a bit differently)

    def absorb(self, other: Listing) -> None:
        """The child's share of the same List (its state, after unpickling)."""
        self.items += other.items
        self.kinded += other.kinded
        self.kinds |= other.kinds
        self.deferred += other.deferred

    def finish(self, root: dict) -> None:
        ingest, builder = self.ingest, self.builder
        if self.mode == "unknown" and snapshot_file.is_snapshot_document(root):
            # A snapshot whose header came after its items: every item was added as it came.
            snapshot_file.apply_snapshot_header(root.get("metadata"), builder, self.origin)
            for obj in self.deferred:
                builder.add(obj, origin=self.origin)
            self.mode = "snapshot"
        if self.mode == "snapshot":
            ingest.objects += self.items
            ingest.lists += 1
            return
        kind = root.get("kind")
        item_kind = self.item_kind if self.mode == "list" else _item_kind(kind)
        if item_kind:
            ingest.lists += 1
            if item_kind in _KNOWN_KINDS:
                builder.mark_collected(item_kind)
        if kind is not None and not (isinstance(kind, str) and kind.endswith("List")):
            builder.warnings.append(f"{self.origin}: an object of kind {kind!r} with an items array was read "
                                    "as a List")
        for k in sorted(self.kinds):
            builder.mark_collected(k)
        ingest.objects += self.kinded
        for obj in self.deferred:
            if item_kind and type(obj) is dict and not obj.get("kind"):
                obj["kind"] = item_kind
            ingest.item(obj, self.origin)

    def __getstate__(self) -> dict:
        return {"items": self.items, "kinded": self.kinded, "kinds": self.kinds, "deferred": self.deferred}


def _item_kind(kind: Any) -> str | None:
    return kind[:-4] if isinstance(kind, str) and kind.endswith("List") and kind != "List" else None


class _Stream:
    """One file's top level, fed into `ingest` (files._Ingest)."""

    def __init__(self, ingest: Any, origin: str) -> None:
        self.ingest, self.origin = ingest, origin

    def documents(self, rd: _Reader, landing: Callable[[Listing], dict | None] | None = None) -> None:
        while True:
            c = rd.ws()
            if c == "":
                return
            if c == "{":
                if self.root_object(rd, landing) == HANDED_OVER:
                    return  # the child read everything after the split, trailing documents too
            elif c == "[":  # a bare array of objects (jq output)
                rd.pos += 1
                _array(rd, lambda d: self.ingest.document(d, self.origin))
            elif c == "=" and rd.startswith(_LOG_START):
                if not self._skip_logs(rd):
                    return
            else:
                self.ingest.document(rd.value(), self.origin)
            landing = None  # only the first document can be split

    def _skip_logs(self, rd: _Reader) -> bool:
        """Skip a `==== START logs for` ... `==== END logs for ...` section (cluster-info dump);
        False when the input ends inside it."""
        while True:
            stop = rd.buf.find(_LOG_END, rd.pos)
            if stop >= 0:
                rd.pos = stop
                break
            rd.pos = max(rd.pos, len(rd.buf) - len(_LOG_END))
            if not rd.fill():
                return False
        while True:
            nl = rd.buf.find("\n", rd.pos)
            if nl >= 0:
                rd.pos = nl + 1
                return True
            rd.pos = len(rd.buf)
            if not rd.fill():
                return False

    def root_object(self, rd: _Reader, landing: Callable[[Listing], dict | None] | None = None) -> str:
        rd.pos += 1  # the `{`
        root: dict[str, Any] = {}
        listing: Listing | None = None
        c = rd.expect("a property name or '}'")
        if c == "}":
            rd.pos += 1
            self.ingest.document(root, self.origin)
            return "closed"
        while True:
            if c != '"':
                raise rd.error("Expecting property name enclosed in double quotes")
            key = rd.value()
            if rd.expect("':'") != ":":
                raise rd.error("Expecting ':' delimiter")
            rd.pos += 1
            c = rd.expect("a value")
            if key == "items" and c == "[" and _streamable(root):
                rd.pos += 1
                if listing is None:
                    listing = Listing(self.ingest, root, self.origin)
                lst = listing

                def land() -> bool:
                    tail = landing(lst) if landing is not None else None
                    if tail is None:
                        return False
                    root.update(tail)
                    return True

                if _array(rd, listing.item, land if landing is not None else None) == HANDED_OVER:
                    listing.finish(root)
                    return HANDED_OVER
                landing = None
            else:
                root[key] = rd.value()
            c = rd.expect("',' or '}'")
            if c == ",":
                rd.pos += 1
                c = rd.expect("a property name")
                continue
            if c != "}":
                raise rd.error("Expecting ',' delimiter")
            rd.pos += 1
            break
        if listing is not None:
            listing.finish(root)
        else:
            self.ingest.document(root, self.origin)
        return "closed"


def _streamable(root: dict) -> bool:
    """Whether the items of an object with these keys (so far) can be streamed as a List."""
    if "kind" not in root:
        return True
    if snapshot_file.is_snapshot_document(root):
        return isinstance(root.get("metadata"), dict)
    kind = root["kind"]
    return kind is None or (isinstance(kind, str) and kind.endswith("List") and kind != snapshot_file.KIND)


# --------------------------------------------------------------------------------------------
# the parallel split


def parallel_allowed(size: int) -> bool:
    return size >= PARALLEL_MIN_BYTES and fork_allowed()


def find_split(f: BinaryIO, size: int, share: float | None = None) -> int | None:
    """A byte offset near `share` of the file where a List item probably starts (a guess)."""
    at = int(size * (PARALLEL_SHARE if share is None else share))
    f.seek(at)
    window = f.read(1 << 20)
    m = _ITEM_START.search(window)
    f.seek(0)
    return at + m.start(1) if m else None


class _Child:
    """The forked process converting the List items from byte `start` to the end of the file."""

    def __init__(self, path: str, origin: str, start: int, ingest_factory: Callable[[], Any]) -> None:
        self._forked = Forked(lambda: self._run(path, origin, start, ingest_factory))

    @staticmethod
    def _run(path: str, origin: str, start: int, ingest_factory: Callable[[], Any]) -> tuple:
        ingest = ingest_factory()
        with open(path, "rb") as f:
            rd = _Reader(f, origin, start=start)
            rd.first = False
            listing = Listing(ingest, {}, origin, mode="unknown")
            _array(rd, listing.item)
            tail: dict[str, Any] = {}
            _tail(rd, tail)
            trailing = _Stream(ingest, origin)
            trailing.documents(rd)
        return ("ok", ingest.builder.export_state(), listing, tail, ingest.objects, ingest.lists)

    def result(self) -> tuple | None:
        """The child's share, or None when it failed (the caller then reads that part itself)."""
        return self._forked.result(default=lambda: None)

    def cancel(self) -> None:
        self._forked.cancel()


def ingest_json_file(f: BinaryIO, path: str, origin: str, ingest: Any, *, size: int, seekable: bool,
                     max_bytes: int | None = None, ingest_factory: Callable[[], Any] | None = None) -> None:
    """Stream the JSON documents of `f` into `ingest`, split across two processes when it pays."""
    split = None
    if seekable and ingest_factory is not None and parallel_allowed(size):
        split = find_split(f, size)
    if split is None or ingest_factory is None:
        _Stream(ingest, origin).documents(_Reader(f, origin, max_bytes=max_bytes))
        return
    child = _Child(path, origin, split, ingest_factory)
    done = False

    def landing(listing: Listing) -> dict | None:
        nonlocal done
        done = True
        result = child.result()
        if result is None:
            return None
        _, state, child_listing, tail, objects, lists = result
        ingest.builder.absorb_state(state, origin)
        listing.absorb(child_listing)
        ingest.objects += objects
        ingest.lists += lists
        return tail

    try:
        _Stream(ingest, origin).documents(_Reader(f, origin, limit=split), landing)
    finally:
        if not done:
            child.cancel()  # the guess was wrong (or an error): the child's work is not needed


__all__ = ["PARALLEL_MIN_BYTES", "STREAM_MIN_BYTES", "find_split", "ingest_json_file", "parallel_allowed"]
