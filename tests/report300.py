"""The cluster issue 18 was measured on, for the tests of the report's size and pictures.

`benchmarks/generate_cluster.py --nodes 300 --pods 6000 --pending 500 --seed 3`: 500 Pending pods,
83 of them each missing its own PersistentVolumeClaim, node pools behind taints, cordons, a
NotReady node. Generated, not stored: the generator is deterministic for a seed.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.generate_cluster import generate, write

ARGS = ("--nodes", "300", "--pods", "6000", "--pending", "500", "--seed", "3")


def write_cluster(path: Path) -> Path:
    write(generate(300, 6000, 500, 3), str(path))
    return path
