"""Offline sources: kubectl output files and folders, cluster-info dumps, podtriage snapshots."""

from .files import load_path, load_paths
from .snapshot_file import trim_object, write_snapshot

__all__ = ["load_path", "load_paths", "trim_object", "write_snapshot"]
