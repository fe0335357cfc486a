"""Read-only proof: what the real API server's audit log says podtriage did.

podtriage runs as its own identities (``podtriage-cli``, bound to cluster-admin, and
``podtriage-ns-reader``), and sends ``User-Agent: podtriage/<version>``; the test setup runs as
``podtriage-admin``. The audit policy logs every request at Metadata level.

What the audit log can prove: the verb, user, resource, namespace and name of every request
podtriage made. What it cannot prove: request headers (the Accept header that asks for
PartialObjectMetadataList) or response bodies. So "no Secret contents were read" is shown in two
halves: the audit log shows podtriage only ever LISTs secrets (never GETs one by name), and an
in-process run of the collector against the same API server records the Accept header of each of
its secrets requests and checks the bytes the server returned.

The watch tests (test_watch_*.py) sort after this module, and `podtriage watch` also WATCHes the
secrets collection (metadata only); conftest's session-scoped ``readonly_audit`` fixture repeats
the audit check after the very last test of the session.
"""

from __future__ import annotations

import base64
import collections
import json
import time
import uuid
from typing import Any

import pytest

from .controlplane import (
    PODTRIAGE_CLI_USER,
    PODTRIAGE_USERS,
    READ_VERBS,
    ExternalCluster,
    podtriage_audit_events,
)
from .scenarios import pod_body

pytestmark = pytest.mark.e2e


def _secret(cp: Any, ns: str) -> str:
    canary = f"podtriage-canary-{uuid.uuid4().hex}"
    cp.core_v1().create_namespaced_secret(ns, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-password"}, "type": "Opaque",
        "stringData": {"password": canary}})
    return canary


@pytest.fixture
def audited(control_plane):
    if isinstance(control_plane, ExternalCluster) or control_plane.audit_log_path is None:
        pytest.skip("needs the harness's audit log")
    return control_plane


def test_audit_log_shows_only_reads_by_podtriage(audited, clean_nodes, e2e_namespace, podtriage_cli, tmp_path):
    cp, ns = audited, e2e_namespace
    cp.create_node("audit-node")
    canary = _secret(cp, ns)
    cp.core_v1().create_namespaced_pod(ns, pod_body("audited", requests={"cpu": "64"}))
    cp.wait_for_failed_scheduling(ns, "audited", timeout=45)

    snap = tmp_path / "snap.json"
    res = podtriage_cli.run("snapshot", "-n", ns, "-o", str(snap))
    assert res.returncode == 0, res.describe()
    res = podtriage_cli.run("explain", "audited", "-n", ns, "-o", "json")
    assert res.returncode == 1, res.describe()
    assert canary not in snap.read_text()
    assert base64.b64encode(canary.encode()).decode() not in snap.read_text()
    time.sleep(0.5)  # let the apiserver write the last ResponseComplete lines

    events = podtriage_audit_events(cp.audit_events())
    by_verb = collections.Counter(e["verb"] for e in events)
    by_user = collections.Counter(e["user"]["username"] for e in events)
    print(f"podtriage audit events: {len(events)} by verb {dict(by_verb)} by user {dict(by_user)}")
    # The check must be able to fail: podtriage's requests are in the log, as its own identity.
    assert by_user[PODTRIAGE_CLI_USER] > 0, by_user
    # The installed CronJobs (tests/e2e/test_deploy.py) run podtriage in-cluster as their ServiceAccounts.
    job_accounts = {u for u in by_user if u.startswith("system:serviceaccount:podtriage")}
    assert set(by_user) - job_accounts <= set(PODTRIAGE_USERS), \
        f"podtriage's User-Agent under another identity: {by_user}"
    ours_here = [e for e in events if (e.get("objectRef") or {}).get("namespace") == ns]
    assert any(e["verb"] == "list" and e["objectRef"].get("resource") == "pods" for e in ours_here)
    assert any(e["objectRef"].get("resource") == "secrets" for e in ours_here), \
        "the snapshot should have listed Secrets (metadata only) in the namespace"
    bad = [f"{e['verb']} {e.get('requestURI')} as {e['user']['username']}" for e in events
           if e["verb"] not in READ_VERBS]
    assert not bad, bad
    # Secrets: LIST only (metadata-only view, see the next test), never a GET of one Secret;
    # `podtriage watch` (test_watch_live.py) also WATCHes the collection, as metadata only.
    secret_reqs = [e for e in events if (e.get("objectRef") or {}).get("resource") == "secrets"]
    assert secret_reqs and all(e["verb"] in ("list", "watch") and not e["objectRef"].get("name")
                               for e in secret_reqs), \
        [(e["verb"], e.get("requestURI")) for e in secret_reqs]


def test_collector_reads_secrets_as_metadata_only(audited, e2e_namespace, monkeypatch):
    """Unit-level, against the real server: every secrets request asks for PartialObjectMetadataList."""
    from podtriage.collect import live

    cp, ns = audited, e2e_namespace
    canary = _secret(cp, ns)
    seen: list[tuple[str, str, bytes]] = []
    original = live._Client.get

    def recording_get(self, path, query=(), accept=live.JSON_ACCEPT):
        resp = original(self, path, query, accept)
        seen.append((path, accept, resp.body))
        return resp

    monkeypatch.setattr(live._Client, "get", recording_get)
    kubeconfig = cp.kubeconfig_for(PODTRIAGE_CLI_USER)
    result = live.collect_live(kubeconfig=str(kubeconfig), namespaces=[ns], scope="namespace", keep_raw=True)

    assert all(verb == "GET" for verb, _ in result.requests)
    secret_paths = [t for _, t in result.requests if "/secrets" in t]
    assert secret_paths, result.requests
    # Collection paths only (a LIST), never /secrets/NAME.
    assert all(t.split("?")[0].endswith("/secrets") for t in secret_paths), secret_paths
    secret_calls = [(p, a, b) for p, a, b in seen if "/secrets" in p]
    assert len(secret_calls) == len(secret_paths)
    assert all(a == live.METADATA_LIST_ACCEPT for _, a, _ in secret_calls), [a for _, a, _ in secret_calls]
    for _, _, body in secret_calls:
        doc = json.loads(body)
        assert doc.get("kind") == "PartialObjectMetadataList", doc.get("kind")
        assert any(i["metadata"]["name"] == "db-password" for i in doc["items"])
        assert all("data" not in i and "stringData" not in i for i in doc["items"])
    everything = b"".join(b for _, _, b in seen)
    assert canary.encode() not in everything
    assert base64.b64encode(canary.encode()) not in everything
    raw = json.dumps(result.raw_items)
    assert "db-password" in raw and canary not in raw
