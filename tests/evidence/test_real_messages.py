"""parse_fit_message on real kube-scheduler v1.37.2 output (never hand-written text).

fixtures/real/differential/ was recorded by tests/e2e/test_differential.py
(PODTRIAGE_RECORD_FIXTURES=1) from the e2e control plane:
  failedscheduling.jsonl  the PodScheduled condition message and the FailedScheduling event
                          message of one attempt, with the number of nodes in the cluster;
  scheduler-log.txt       the scheduler's own -v=2 lines for those pods (err="...").
fixtures/real/smoke-*.txt come from tests/e2e/test_controlplane_smoke.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from podtriage.evidence.messages import CODES, FitMessage, parse_fit_message

REAL = Path(__file__).resolve().parents[2] / "fixtures" / "real"
DIFF = REAL / "differential"


def _records() -> list[dict]:
    path = DIFF / "failedscheduling.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _log_errors() -> list[tuple[str, str]]:
    """(pod, err text) of every 'Unable to schedule pod' line of the real scheduler logs."""
    out = []
    for path in (DIFF / "scheduler-log.txt", REAL / "smoke-scheduler-log.txt"):
        for line in path.read_text().splitlines():
            m = re.search(r'"Unable to schedule pod; no fit; waiting" pod="([^"]+)" err="(.*)"$', line)
            if m:
                out.append((m.group(1), m.group(2).replace('\\"', '"')))
    return out


def check_consistent(fm: FitMessage, nodes: int | None = None) -> None:
    """What must hold for any real '0/N nodes are available' text."""
    assert fm.total_nodes is not None and fm.total_nodes > 0
    if nodes is not None:
        assert fm.total_nodes == nodes
    n = fm.total_nodes
    for r in fm.all_reasons:
        assert r.code in CODES and r.code != "other", r.reason
        assert r.count is None or 0 < r.count <= n, r
    if fm.prefilter is not None:
        assert fm.prefilter.count is None
        assert fm.node_counts() == {fm.prefilter.code: n}
    else:
        counts = [r.count for r in fm.reasons]
        assert all(c is not None for c in counts)
        fit = [r.count for r in fm.reasons if r.code in ("insufficient", "too-many-pods")]
        others = sum(r.count for r in fm.reasons if r.code not in ("insufficient", "too-many-pods"))
        # 0/N available: every node failed. One reason per node, except NodeResourcesFit, which
        # prints every resource a node lacks and "Too many pods" (so its counts may overlap).
        assert others + max(fit, default=0) <= n <= others + sum(fit), fm.raw
        # The histogram is sorted as strings ("10 ..." before "2 ...").
        items = [f"{r.count} {r.reason}" for r in fm.reasons]
        assert items == sorted(items)
    if fm.preemption is not None:
        # Preemption assigns every node exactly one status.
        assert fm.preemption.total_nodes == n
        assert sum(r.count or 0 for r in fm.preemption.reasons) == n
        assert {r.code for r in fm.preemption.reasons} <= {"preemption-not-helpful", "no-preemption-victims"}


def test_there_are_enough_real_messages():
    recs = _records()
    assert len(recs) >= 20
    codes = {r.code for rec in recs for r in parse_fit_message(rec["condition_message"]).all_reasons}
    # a variety of reasons, not one text twenty times
    assert {"taint", "insufficient", "node-affinity", "node-unschedulable", "too-many-pods",
            "absent-nodes"} <= codes


@pytest.mark.parametrize("rec", _records(), ids=lambda r: f"{r['seed']}-{r['pod'].split('/')[1]}")
def test_real_condition_and_event_messages_parse_consistently(rec):
    fm = parse_fit_message(rec["condition_message"])
    assert fm is not None, rec["condition_message"]
    check_consistent(fm, rec["nodes"])
    assert not fm.truncated
    for text in rec["event_messages"]:
        ev = parse_fit_message(text)
        assert ev is not None
        if ev.truncated:
            assert rec["condition_message"].startswith(text[:-len(" ...")])
        else:
            assert text == rec["condition_message"]
            assert ev.node_counts() == fm.node_counts()
    if any(r.code == "taint" for r in fm.reasons):
        assert all("taint_key" not in r.details for r in fm.reasons_for("taint"))  # 1.35+: no key


def test_real_scheduler_log_lines_carry_the_same_fit_errors():
    errs = _log_errors()
    assert len(errs) >= 20
    by_pod = {rec["pod"]: rec["condition_message"] for rec in _records()}
    matched = 0
    for pod, err in errs:
        fm = parse_fit_message(err)
        assert fm is not None, err
        check_consistent(fm)
        if pod in by_pod:
            assert err == by_pod[pod]
            matched += 1
    assert matched >= 10


def test_real_smoke_message():
    text = (REAL / "smoke-failedscheduling.txt").read_text().strip()
    fm = parse_fit_message(text)
    assert fm is not None
    check_consistent(fm, 2)
    assert fm.node_counts() == {"insufficient": 1, "taint": 1}
