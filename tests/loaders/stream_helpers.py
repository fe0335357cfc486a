"""The two ways a file is loaded, for tests holding the streamed load to the whole-file one."""

from __future__ import annotations

from pathlib import Path

from podtriage.loaders import files
from podtriage.snapshot import Snapshot, SnapshotBuilder


def whole(path: Path) -> tuple[Snapshot, int]:
    """Parsed whole (files.parse_documents): the snapshot and the objects + Lists counted."""
    builder = SnapshotBuilder(source=str(path))
    ingest = files._Ingest(builder)
    for doc in files.parse_documents(files._read_bytes(path), str(path)):
        ingest.document(doc, str(path))
    return builder.build(source=str(path)), ingest.objects + ingest.lists


def streamed(path: Path) -> tuple[Snapshot, int] | None:
    """Streamed whatever its size; None when the streaming loaders decline the file (and then
    nothing may have been ingested)."""
    builder = SnapshotBuilder(source=str(path))
    ingest = files._Ingest(builder)
    if not files._stream_large(path, ingest, str(path), min_bytes=0):
        assert not builder.counts and not builder.warnings, "nothing may be ingested before declining"
        return None
    return builder.build(source=str(path)), ingest.objects + ingest.lists
