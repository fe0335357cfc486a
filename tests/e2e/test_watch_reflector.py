"""The watch's reflector state machine, in-process, against the real API server (and the fault proxy).

Each test runs one `Reflector` thread (podtriage/watch/reflector.py) with the collector's own
client and session, as `podtriage watch` does, and checks what its store holds and what it
counted: LIST then WATCH, resume after a cut stream, relist on 410 (status and ERROR event, with a
deletion missed while away), back off on 429, Missing on 403, no Missing for an add-on API the
cluster does not serve.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path


import pytest

from podtriage.collect import live as L
from podtriage.watch.reflector import Health, Reflector, StreamSpec
from podtriage.watch.store import Store

from .controlplane import NS_READER_USER, PODTRIAGE_CLI_USER
from .faultproxy import Fault, FaultProxy
from .scenarios import pod_body

pytestmark = pytest.mark.e2e


def _wait(cond: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    until = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < until, f"timed out waiting for {what}"
        time.sleep(0.05)


class Running:
    def __init__(self, kubeconfig: Path, spec: StreamSpec) -> None:
        cfg, _ = L._load_config(str(kubeconfig), None)
        self.client = L._Client(cfg, 10.0)
        self.session = L._Session(self.client, L.Deadline(None))
        self.store, self.health, self.stop = Store(), Health(), threading.Event()
        self.reflector = Reflector(spec, self.session, self.store, self.health, self.stop, page_size=2,
                                   watch_timeout=60)
        self.thread = threading.Thread(target=self.reflector.run, daemon=True)
        self.thread.start()

    def names(self) -> set[str]:
        return {o["metadata"]["name"] for o in self.store.items(self.reflector.spec.name)}

    def restarts(self, reason: str) -> int:
        return self.health.restarts.get((self.reflector.resource, reason), 0)

    def close(self) -> None:
        self.stop.set()
        self.client.close()
        self.thread.join(timeout=5)


@pytest.fixture
def proxy(control_plane, cli_kubeconfig, tmp_path) -> Iterator[tuple[FaultProxy, Path]]:
    with FaultProxy(control_plane.server, control_plane.ca_path, tmp_path / "proxy") as p:
        yield p, p.kubeconfig(control_plane.token_for(PODTRIAGE_CLI_USER), PODTRIAGE_CLI_USER, tmp_path / "kc")


def _pods_spec(ns: str) -> StreamSpec:
    return StreamSpec(f"pods@{ns}", L.PODS, ns)


def test_list_then_watch_follows_adds_changes_and_deletes(control_plane, e2e_namespace, cli_kubeconfig):
    cp, ns = control_plane, e2e_namespace
    core = cp.core_v1()
    for i in range(5):  # three LIST pages of 2
        core.create_namespaced_pod(ns, pod_body(f"p{i}"))
    r = Running(cli_kubeconfig, _pods_spec(ns))
    try:
        _wait(r.reflector.synced.is_set, "the first LIST")
        assert r.names() == {f"p{i}" for i in range(5)} and r.reflector.listed and r.reflector.missing is None
        rv = r.reflector.rv
        core.create_namespaced_pod(ns, pod_body("later"))
        core.delete_namespaced_pod("p0", ns, grace_period_seconds=0)
        core.patch_namespaced_pod("p1", ns, {"metadata": {"labels": {"changed": "yes"}}})
        _wait(lambda: "later" in r.names() and "p0" not in r.names(), "the watch events")
        _wait(lambda: any(o["metadata"]["name"] == "p1" and o["metadata"]["labels"].get("changed") == "yes"
                          for o in r.store.items(f"pods@{ns}")), "the label change")
        assert int(r.reflector.rv) > int(rv)
        assert sum(r.health.restarts.values()) == 0 and not r.health.problems()
        assert all(verb == "GET" for verb, _ in r.client.requests)
        assert sum("watch=1" in t for _, t in r.client.requests) == 1  # one watch, never re-opened
    finally:
        r.close()


def test_cut_stream_resumes_from_the_last_resource_version(proxy, control_plane, e2e_namespace):
    p, kubeconfig = proxy
    core = control_plane.core_v1()
    r = Running(kubeconfig, _pods_spec(e2e_namespace))
    try:
        _wait(lambda: p.open_streams() == 1, "the watch")
        core.create_namespaced_pod(e2e_namespace, pod_body("a"))
        _wait(lambda: "a" in r.names(), "pod a")
        rv = r.reflector.rv
        assert p.cut_streams(mid_event=True) == 1
        _wait(lambda: r.restarts("cut") == 1 and p.open_streams() == 1, "the watch to reopen")
        watches = [x for x in p.records if "watch=1" in x.query]
        assert f"resourceVersion={rv}" in watches[-1].query  # resumed, not relisted
        lists = [x for x in p.records if "watch=1" not in x.query]
        assert len(lists) == 1
        core.create_namespaced_pod(e2e_namespace, pod_body("b"))
        _wait(lambda: "b" in r.names(), "pod b after the cut")
    finally:
        r.close()


@pytest.mark.parametrize("how", ["status", "error-event"])
def test_410_relists_and_forgets_what_was_deleted_meanwhile(proxy, control_plane, e2e_namespace, how):
    p, kubeconfig = proxy
    core = control_plane.core_v1()
    core.create_namespaced_pod(e2e_namespace, pod_body("stays"))
    core.create_namespaced_pod(e2e_namespace, pod_body("goes"))
    r = Running(kubeconfig, _pods_spec(e2e_namespace))
    try:
        _wait(lambda: p.open_streams() == 1 and r.names() == {"stays", "goes"}, "the watch")
        path = f"/api/v1/namespaces/{e2e_namespace}/pods"
        fault = (Fault("status", path, query="watch=1", status=410) if how == "status"
                 else Fault("watch-gone-event", path, query="watch=1"))
        p.set_faults(fault)  # every watch now: 410, until the pod is gone
        p.cut_streams(mid_event=False)
        core.delete_namespaced_pod("goes", e2e_namespace, grace_period_seconds=0)  # missed by the watch
        _wait(lambda: r.restarts("410") >= 1, "a 410 restart")
        _wait(lambda: any("watch=1" not in x.query for x in list(p.records)), "a relist")
        p.set_faults()
        _wait(lambda: r.names() == {"stays"}, "the relist to drop the deleted pod")
        _wait(lambda: p.open_streams() == 1, "the watch again")
    finally:
        r.close()


def test_429_backs_off_with_retry_after(proxy, control_plane, e2e_namespace):
    p, kubeconfig = proxy
    r = Running(kubeconfig, _pods_spec(e2e_namespace))
    try:
        _wait(lambda: p.open_streams() == 1, "the watch")
        p.set_faults(Fault("status", f"/api/v1/namespaces/{e2e_namespace}/pods", query="watch=1", status=429,
                           retry_after="1", nth=(1, 2)))
        p.cut_streams(mid_event=False)
        _wait(lambda: r.restarts("429") == 2 and p.open_streams() == 1, "two 429s, then the watch")
        t = [x.started for x in p.records if "watch=1" in x.query]
        assert t[-1] - t[-2] >= 0.95 and t[-2] - t[-3] >= 0.95, "Retry-After: 1 honoured"
        assert not r.health.problems()
        control_plane.core_v1().create_namespaced_pod(e2e_namespace, pod_body("after-429"))
        _wait(lambda: "after-429" in r.names(), "the pod after the 429s")
    finally:
        r.close()


def test_forbidden_is_missing_and_an_absent_addon_is_not(control_plane, e2e_namespace, cli_kubeconfig):
    kubeconfig = Path(control_plane.kubeconfig_for(NS_READER_USER))  # no RBAC at all
    r = Running(kubeconfig, StreamSpec("nodes", L.NODES))
    # an add-on API no cluster serves (404), read as an identity allowed to ask
    addon = L.Resource("Widget", "widgets", ("widgets.podtriage.dev/v1",), False, addon=True)
    a = Running(cli_kubeconfig, StreamSpec("widgets", addon))
    try:
        _wait(lambda: r.reflector.synced.is_set() and a.reflector.synced.is_set(), "both first LISTs")
        assert r.reflector.missing is not None and r.reflector.missing.startswith("forbidden: ")
        assert "nodes" in r.reflector.missing and not r.reflector.listed
        assert a.reflector.not_served and a.reflector.listed and a.reflector.missing is None
        assert not any("watch=1" in t for _, t in r.client.requests + a.client.requests)
    finally:
        r.close()
        a.close()

