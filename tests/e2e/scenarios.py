"""Helpers for podtriage's scenario tests on the real control plane.

* pod bodies (:func:`pod_body`) as a user would write them;
* waiting for the scheduler's verdict (:func:`wait_for_verdict`): the real ``FailedScheduling``
  event and the ``PodScheduled`` condition, or only the condition for gated pods;
* running the CLI as a subprocess (:class:`Podtriage`), live and from a snapshot file;
* recording the real scheduler output under ``fixtures/real/`` when
  ``PODTRIAGE_RECORD_FIXTURES=1`` (:func:`record_fixture`).

Nothing here depends on pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .controlplane import REPO_ROOT

PAUSE = "registry.k8s.io/pause:3.10"
REAL_FIXTURES = REPO_ROOT / "fixtures" / "real"


# --------------------------------------------------------------------------
# Objects


def pod_body(name: str, *, requests: Mapping[str, str] | None = None, limits: Mapping[str, str] | None = None,
             labels: Mapping[str, str] | None = None, ports: Sequence[Mapping[str, Any]] | None = None,
             **spec: Any) -> dict[str, Any]:
    """A single-container pending pod; extra keyword arguments are pod ``spec`` fields (camelCase)."""
    resources: dict[str, Any] = {}
    if requests:
        resources["requests"] = dict(requests)
    if limits:
        resources["limits"] = dict(limits)
    container: dict[str, Any] = {"name": "main", "image": PAUSE, "resources": resources}
    if ports:
        container["ports"] = [dict(p) for p in ports]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": dict(labels or {"app": name})},
        "spec": {"containers": [container], **spec},
    }


def bound_pod_body(name: str, node: str, *, labels: Mapping[str, str] | None = None,
                   ports: Sequence[Mapping[str, Any]] | None = None,
                   requests: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A pod already assigned to ``node`` (what ``create_bound_pod`` makes, plus ports)."""
    body = pod_body(name, labels=labels, ports=ports, requests=requests)
    body["spec"]["nodeName"] = node
    body["spec"]["tolerations"] = [{"operator": "Exists"}]
    return body


def create_running_pod(cp: Any, namespace: str, body: Mapping[str, Any]) -> None:
    """Create a bound pod and mark it Running (there is no kubelet to do it)."""
    core = cp.core_v1()
    name = body["metadata"]["name"]
    core.create_namespaced_pod(namespace, dict(body))
    pod = cp.api_client().sanitize_for_serialization(core.read_namespaced_pod(name, namespace))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    pod["status"] = {"phase": "Running", "hostIP": "127.0.0.1", "startTime": now,
                     "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now}]}
    core.replace_namespaced_pod_status(name, namespace, pod)


# --------------------------------------------------------------------------
# The scheduler's verdict


@dataclass
class Verdict:
    """What the real scheduler said about a pod."""

    event_message: str | None  # newest FailedScheduling message (None: no event)
    condition: dict[str, Any] | None  # PodScheduled condition as the API returns it
    scheduler_log: list[str] = field(default_factory=list)


def _pod_scheduled(cp: Any, namespace: str, name: str) -> dict[str, Any] | None:
    pod = cp.core_v1().read_namespaced_pod(name, namespace)
    for c in pod.status.conditions or ():
        if c.type == "PodScheduled":
            return {"status": c.status, "reason": c.reason, "message": c.message}
    return None


def wait_for_verdict(cp: Any, namespace: str, name: str, *, expect: str = "event",
                     timeout: float = 45.0) -> Verdict:
    """Wait until the scheduler has rejected (or gated) the pod.

    ``expect``: "event" (FailedScheduling event + PodScheduled=False/Unschedulable), "gated"
    (PodScheduled=False/SchedulingGated, no event) or "nothing" (a schedulerName nobody serves:
    waits ``timeout`` seconds and returns what there is, which should be nothing).
    """
    deadline = time.monotonic() + timeout
    if expect == "nothing":
        time.sleep(timeout)
        msg = _latest_event_message(cp, namespace, name)
        return Verdict(msg, _pod_scheduled(cp, namespace, name))
    while True:
        cond = _pod_scheduled(cp, namespace, name)
        if expect == "gated":
            if cond and cond["status"] == "False" and cond["reason"] == "SchedulingGated":
                return Verdict(_latest_event_message(cp, namespace, name), cond)
        else:
            msg = _latest_event_message(cp, namespace, name)
            if msg and cond and cond["status"] == "False" and cond["reason"] == "Unschedulable":
                return Verdict(msg, cond, cp.scheduler_log_lines(contains=f'"{namespace}/{name}"'))
        if time.monotonic() >= deadline:
            raise TimeoutError(f"pod {namespace}/{name}: no {expect} verdict after {timeout}s "
                               f"(PodScheduled={cond}); scheduler log tail:\n"
                               + "\n".join(cp.scheduler_log_lines()[-30:]))
        time.sleep(0.2)


def _latest_event_message(cp: Any, namespace: str, name: str) -> str | None:
    evs = cp.core_v1().list_namespaced_event(
        namespace, field_selector=f"involvedObject.kind=Pod,involvedObject.name={name},reason=FailedScheduling"
    ).items
    if not evs:
        return None

    def _ts(e: Any) -> float:
        t = e.last_timestamp or e.event_time or e.first_timestamp or e.metadata.creation_timestamp
        return t.timestamp() if t else 0.0

    return max(evs, key=_ts).message


def record_fixture(scenario: str, verdict: Verdict, notes: str = "") -> None:
    """With PODTRIAGE_RECORD_FIXTURES=1, keep the real scheduler output for ``scenario``."""
    if os.environ.get("PODTRIAGE_RECORD_FIXTURES") != "1":
        return
    REAL_FIXTURES.mkdir(parents=True, exist_ok=True)
    if verdict.event_message:
        (REAL_FIXTURES / f"{scenario}-failedscheduling.txt").write_text(verdict.event_message + "\n")
    if verdict.scheduler_log:
        (REAL_FIXTURES / f"{scenario}-scheduler-log.txt").write_text("\n".join(verdict.scheduler_log) + "\n")
    if notes:
        (REAL_FIXTURES / f"{scenario}-setup.txt").write_text(notes.rstrip() + "\n")


# --------------------------------------------------------------------------
# The CLI


@dataclass
class CliResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        try:
            return json.loads(self.stdout)
        except ValueError as exc:
            raise AssertionError(f"{' '.join(self.argv)} printed no JSON ({exc}); rc={self.returncode}\n"
                                 f"stdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-2000:]}") from None

    def describe(self) -> str:
        return (f"$ {' '.join(self.argv)}\nexit {self.returncode}\n--- stdout ---\n{self.stdout[-3000:]}"
                f"\n--- stderr ---\n{self.stderr[-3000:]}")


@dataclass
class Podtriage:
    """Runs ``python -m podtriage.cli`` with one identity's kubeconfig; counts its invocations."""

    kubeconfig: Path
    counter: Any = None  # anything with an ``invocations`` int (conftest's AuditWatch)
    invocations: list[list[str]] = field(default_factory=list)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "podtriage.cli", *args, "--kubeconfig", str(self.kubeconfig)]

    def start(self, *args: str) -> tuple[list[str], subprocess.Popen]:
        argv = self.argv(*args)
        self.invocations.append(argv)
        if self.counter is not None:
            self.counter.invocations += 1
        env = {**os.environ, "NO_COLOR": "1"}
        env.pop("KUBECONFIG", None)
        env.pop("PODTRIAGE_DEBUG", None)
        proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL, env=env)
        return argv, proc

    @staticmethod
    def finish(started: tuple[list[str], subprocess.Popen], timeout: float = 120.0) -> CliResult:
        argv, proc = started
        out, err = proc.communicate(timeout=timeout)
        return CliResult(argv, proc.returncode, out, err)

    def run(self, *args: str) -> CliResult:
        return self.finish(self.start(*args))


def top_cause(doc: Mapping[str, Any]) -> dict[str, Any]:
    causes = doc.get("rootCauses") or []
    assert causes, f"no root causes in report: {json.dumps(doc)[:2000]}"
    return causes[0]


def summary(doc: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["rule"], c["category"], c["message"]) for c in doc.get("rootCauses") or []]
