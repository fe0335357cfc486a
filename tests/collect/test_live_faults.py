"""collect_live through the fault proxy (tests/e2e/faultproxy.py) in front of the recorded API server.

The server is the replay of fixtures/recorded-api (test_live.py's `api_server`), the proxy is the
same one the e2e suite puts in front of the real kube-apiserver, serving TLS with its own
certificate: podtriage's whole client path (kubeconfig, TLS, urllib3 pool) runs for real.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from podtriage.collect import collect_live
from podtriage.collect.live import RetryPolicy
from podtriage.errors import ClusterError, InputError
from e2e.faultproxy import Fault, FaultProxy  # tests/ is on sys.path (pytest's rootdir-relative import)

from .test_live import TOKEN, api_server  # noqa: F401  (the fixture)

PODS = "/api/v1/pods"
FAST = RetryPolicy(backoff=0.05, backoff_cap=0.2, retry_after_cap=1.5)


@pytest.fixture
def proxied(api_server: Any, tmp_path: Path) -> Iterator[tuple[Any, FaultProxy, str]]:  # noqa: F811
    fake = api_server()
    with FaultProxy(fake.url, None, tmp_path / "proxy") as proxy:
        yield fake, proxy, str(proxy.kubeconfig(TOKEN, "triage", tmp_path / "kubeconfig"))


def collect(kubeconfig: str, **kw: Any) -> Any:
    args: dict[str, Any] = {"kubeconfig": kubeconfig, "namespaces": None, "scope": "all", "page_size": 2,
                            "timeout": 5, "retry": FAST}
    args.update(kw)
    return collect_live(**args)


def digest(snap: Any) -> tuple:
    return (sorted(p.key for p in snap.pods), sorted(n.name for n in snap.nodes), len(snap.events),
            sorted(snap.meta.collected), snap.meta.scheduler_names, snap.meta.server_version)


TRANSIENT = [
    Fault("status", PODS, nth=(1,), status=500),
    Fault("status", PODS, nth=(1, 2, 3), status=503),
    Fault("status", PODS, nth=(1,), status=429, retry_after="1"),
    Fault("reset", PODS, nth=(1,)),
    Fault("reset-mid-body", PODS, nth=(1,)),
    Fault("truncate-length", PODS, nth=(1,)),
    Fault("truncate-chunked", PODS, nth=(1,)),
    Fault("truncate-json", PODS, nth=(1,)),
    Fault("delay-headers", PODS, nth=(1,), delay=3.0),  # > the 1 s request timeout below: retried
    Fault("delay-body", PODS, nth=(1,), delay=3.0),
    Fault("expire-continue", PODS, query="continue=", nth=(1,)),
]


@pytest.mark.parametrize("fault", TRANSIENT, ids=lambda f: f"{f.label}x{len(f.nth or ())}")
def test_transient_faults_are_survived(proxied: Any, fault: Fault) -> None:
    _, proxy, kc = proxied
    clean = collect(kc).snapshot
    proxy.set_faults(fault)
    res = collect(kc, timeout=1.0)
    assert digest(res.snapshot) == digest(clean)
    assert res.snapshot.meta.missing == clean.meta.missing  # only the recording's 403 and 404
    assert fault.injected == len(fault.nth or ()), proxy.records
    pods = proxy.requests_to(PODS)
    faulted = [r for r in pods if r.fault]
    assert len(faulted) == fault.injected
    assert pods[-1].status == 200 and pods[-1].fault is None  # the last try answered and was used
    if fault.kind == "expire-continue":  # restarted from the first page, then paged on
        assert [("continue=" in r.query, r.status) for r in pods] == [(False, 200), (True, 410),
                                                                      (False, 200), (True, 200)]
    else:  # the same page asked again, right after
        first = pods.index(faulted[0])
        assert pods[first + 1].query == pods[first].query


def test_retry_after_is_honoured_and_capped(proxied: Any) -> None:
    _, proxy, kc = proxied
    proxy.set_faults(Fault("status", PODS, nth=(1,), status=429, retry_after="1"))
    collect(kc)
    first, second = proxy.requests_to(PODS)[:2]
    assert second.started - first.started >= 1.0  # waited as asked, not the 0.05 s backoff
    proxy.set_faults(Fault("status", PODS, nth=(1,), status=429, retry_after="3600"))
    t0 = time.monotonic()
    snap = collect(kc).snapshot
    assert time.monotonic() - t0 < 10  # the 1.5 s cap, not an hour
    first, second = proxy.requests_to(PODS)[:2]
    assert 1.4 <= second.started - first.started < 5
    assert not [m for m in snap.meta.missing if m.resource == "pods"]


def test_a_resource_that_keeps_failing_is_missing_with_the_reason(proxied: Any) -> None:
    _, proxy, kc = proxied
    proxy.set_faults(Fault("status", "/api/v1/nodes", status=503))
    snap = collect(kc).snapshot
    assert len(proxy.requests_to("/api/v1/nodes")) == 4
    missing = {(m.resource, m.namespace): m.reason for m in snap.meta.missing}
    assert missing[("nodes", "")] == "unavailable: HTTP 503 (fault injected: HTTP 503) after 4 attempts"
    assert len(missing) == 3  # and the recording's forbidden PDBs and unserved RuntimeClasses
    assert not snap.has("Node") and len(snap.pods) == 4 and snap.has("Event")


def test_a_list_failing_on_its_second_page_says_how_far_it_got(proxied: Any) -> None:
    _, proxy, kc = proxied
    proxy.set_faults(Fault("reset", PODS, query="continue="))
    snap = collect(kc).snapshot
    (reason,) = [m.reason for m in snap.meta.missing if m.resource == "pods"]
    assert reason.startswith("unavailable: ") and "after 4 attempts" in reason, reason
    assert reason.endswith("(incomplete: 2 item(s) read in 1 page(s))"), reason
    assert not snap.has("Pod")


def test_truncated_json_that_never_heals(proxied: Any) -> None:
    _, proxy, kc = proxied
    proxy.set_faults(Fault("truncate-json", "/api/v1/events"))
    snap = collect(kc).snapshot
    (reason,) = [m.reason for m in snap.meta.missing if m.resource == "events"]
    assert reason.startswith("unavailable: invalid JSON in the response") and "after 4 attempts" in reason


def test_the_deadline_bounds_a_stalled_server(proxied: Any) -> None:
    _, proxy, kc = proxied
    proxy.set_faults(Fault("stall", PODS))
    t0 = time.monotonic()
    snap = collect(kc, timeout=30, deadline=2.0).snapshot
    took = time.monotonic() - t0
    assert took < 3.5, took
    reasons = {m.resource: m.reason for m in snap.meta.missing}
    assert reasons["pods"].startswith("timed out: the 2 s deadline (--timeout) was reached"), reasons
    # everything after the pods was not even asked for, and says so
    assert reasons["events"] == "timed out: not read, the 2 s deadline (--timeout) was reached"
    assert snap.has("Node") and not snap.has("Pod")
    assert len(proxy.requests_to(PODS)) == 1


def test_the_deadline_bounds_a_body_that_trickles(proxied: Any) -> None:
    _, proxy, kc = proxied
    proxy.set_faults(Fault("trickle", "/api/v1/nodes", delay=0.2))  # each byte well within the read timeout
    t0 = time.monotonic()
    snap = collect(kc, timeout=5, deadline=2.0).snapshot
    assert time.monotonic() - t0 < 3.5
    assert [m.reason.split(":")[0] for m in snap.meta.missing if m.resource == "nodes"] == ["timed out"]


def test_request_timeout_retries_then_reports(proxied: Any) -> None:
    _, proxy, kc = proxied
    proxy.set_faults(Fault("delay-headers", "/api/v1/events", delay=30))
    snap = collect(kc, timeout=0.5).snapshot
    (reason,) = [m.reason for m in snap.meta.missing if m.resource == "events"]
    assert reason.startswith("timed out: ") and "after 4 attempts" in reason, reason
    assert len(proxy.requests_to("/api/v1/events")) == 4


def test_a_failing_server_is_asked_once_per_resource(proxied: Any) -> None:
    """After three resources failed in a row, each further one gets one attempt: no 4x100 requests."""
    _, proxy, kc = proxied
    proxy.set_faults(Fault("status", "/apis?/.*", status=503))
    res = collect(kc)
    lists = [r for r in proxy.records if r.path != "/version"]
    assert all(r.fault == "status-503" for r in lists)
    paths = [r.path for r in lists]
    first = list(dict.fromkeys(paths))[:3]
    assert paths[:12] == [p for p in first for _ in range(4)], paths
    assert len(paths) > 20 and len(set(paths[12:])) == len(paths) - 12, paths  # one request each
    reasons = {m.reason for m in res.snapshot.meta.missing}
    assert "unavailable: HTTP 503 (fault injected: HTTP 503) after 1 attempt" in reasons
    assert not res.snapshot.meta.collected


def test_a_server_that_resets_everything_is_unreachable(proxied: Any) -> None:
    _, proxy, kc = proxied
    proxy.set_faults(Fault("reset"))
    t0 = time.monotonic()
    with pytest.raises(ClusterError, match="cannot reach the cluster at https://127.0.0.1:.*after 4 attempts"):
        collect(kc)
    assert time.monotonic() - t0 < 5
    assert [r.path for r in proxy.records] == ["/version"] * 4


def test_unauthorized_is_not_retried(proxied: Any, tmp_path: Path) -> None:
    _, proxy, _ = proxied
    kc = proxy.kubeconfig("wrong-token", "triage", tmp_path / "bad")
    with pytest.raises(ClusterError, match="rejected the credentials"):
        collect(str(kc))
    assert len(proxy.records) == 1


def test_page_size_from_the_environment(proxied: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, proxy, kc = proxied
    monkeypatch.setenv("PODTRIAGE_PAGE_SIZE", "3")
    collect(kc, page_size=None)
    assert {r.query.split("limit=")[1].split("&")[0] for r in proxy.requests_to(PODS)} == {"3"}
    monkeypatch.setenv("PODTRIAGE_PAGE_SIZE", "many")
    with pytest.raises(InputError, match="PODTRIAGE_PAGE_SIZE"):
        collect(kc, page_size=None)


def test_only_get_requests_reach_the_server(proxied: Any) -> None:
    fake, proxy, kc = proxied
    proxy.set_faults(Fault("status", PODS, nth=(1,), status=503), Fault("reset", "/api/v1/nodes", nth=(1,)))
    collect(kc)
    assert {r.method for r in proxy.records} == {"GET"}
    assert {s.method for s in fake.seen} == {"GET"}
    assert all(r.user_agent.startswith("podtriage/") for r in proxy.records)
