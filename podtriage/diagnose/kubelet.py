"""Kubelet-side Pending: the pod is bound to a node but does not run (issue #4, in progress)."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from .. import model as m
from ..findings import Signal
from ..snapshot import Snapshot
from .extra import ExtraEvidence


def kubelet_signals(pod: m.Pod, snapshot: Snapshot, events: Sequence[m.Event], now: datetime,
                    extra: ExtraEvidence) -> list[Signal]:
    """Signals for a pod bound to a node that is not running yet. Being implemented."""
    return []
