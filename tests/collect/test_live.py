"""collect_live against a local HTTP server replaying recorded API responses (fixtures/recorded-api)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from podtriage.collect import collect_live
from podtriage.collect.live import METADATA_LIST_ACCEPT
from podtriage.errors import ClusterError

RECORDED = Path(__file__).resolve().parents[2] / "fixtures" / "recorded-api" / "small-cluster"
TOKEN = "podtriage-test-token-3f9a1c"


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class FakeAPIServer:
    """Replays `routes*.json`; records every request."""

    routes: list[dict]
    date: str
    seen: list[Seen] = field(default_factory=list)
    served: dict[int, int] = field(default_factory=dict)  # route index -> responses served
    url: str = ""

    def match(self, path: str, query: dict[str, str], accept: str) -> tuple[int, bytes]:
        for i, route in enumerate(self.routes):
            if route["path"] != path:
                continue
            if any(query.get(k, "") != v for k, v in route.get("query", {}).items()):
                continue
            if "accept" in route and route["accept"] != accept:
                continue
            n = self.served.get(i, 0)
            self.served[i] = n + 1
            resp = route["responses"][min(n, len(route["responses"]) - 1)]
            return resp.get("status", 200), (RECORDED / resp["body"]).read_bytes()
        kind = path.rstrip("/").rsplit("/", 1)[-1]
        return 200, json.dumps({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": "48400"},
                                "items": [], "_unrecorded": kind}).encode()


def load_routes(*names: str) -> tuple[list[dict], str]:
    routes: list[dict] = []
    date = ""
    for name in reversed(names):  # later files override earlier ones: put their routes first
        doc = json.loads((RECORDED / name).read_text())
        routes += doc["routes"]
        date = date or doc.get("date", "")
    base = json.loads((RECORDED / "routes.json").read_text())
    return routes, date or base["date"]


@pytest.fixture
def api_server() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(*route_files: str, token: str = TOKEN) -> FakeAPIServer:
        routes, date = load_routes("routes.json", *route_files)
        fake = FakeAPIServer(routes=routes, date=date)

        class Handler(BaseHTTPRequestHandler):
            def date_time_string(self, timestamp: float | None = None) -> str:
                return fake.date  # the recording's clock, so the scheduler lease looks as fresh as it was

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query, keep_blank_values=True))
                fake.seen.append(Seen(self.command, parts.path, query, dict(self.headers.items())))
                if self.command != "GET":
                    status, body = 405, b'{"kind":"Status","code":405}'
                elif self.headers.get("Authorization") != f"Bearer {token}":
                    status, body = 401, (RECORDED / "status-401.json").read_bytes()
                else:
                    status, body = fake.match(parts.path, query, self.headers.get("Accept", ""))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        servers.append(srv)
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        fake.url = f"http://127.0.0.1:{srv.server_address[1]}"
        return fake

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def kubeconfig(tmp_path: Path, server: str, token: str = TOKEN) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    server: {server}
  name: recorded
contexts:
- context:
    cluster: recorded
    user: triage
    namespace: shop
  name: recorded-ctx
- context:
    cluster: recorded
    user: triage
  name: other-ctx
current-context: recorded-ctx
users:
- name: triage
  user:
    token: {token}
""")
    return str(path)


def paths(fake: FakeAPIServer, path: str) -> list[Seen]:
    return [s for s in fake.seen if s.path == path]


# --- whole cluster -------------------------------------------------------------------------------

def test_collects_the_cluster(api_server: Any, tmp_path: Path) -> None:
    fake = api_server()
    res = collect_live(kubeconfig=kubeconfig(tmp_path, fake.url), context=None, namespaces=None, scope="all",
                       page_size=2, timeout=5)
    snap = res.snapshot
    assert (snap.meta.source, snap.meta.cluster_server, snap.meta.context, snap.meta.server_version) == (
        "live", fake.url, "recorded-ctx", "v1.29.4")
    assert len(snap.nodes) == 3
    assert {p.key for p in snap.pods} == {
        "shop/web-6d8f7b9c5d-x7k2p", "shop/web-6d8f7b9c5d-4qmzt", "shop/web-6d8f7b9c5d-9bd8w",
        "kube-system/kube-scheduler-ip-10-0-1-23.eu-west-1.compute.internal"}
    assert len(snap.events) == 3
    assert snap.pvcs[0].name == "data-web-0" and snap.storage_classes[0].is_default
    assert snap.node_by_name["ip-10-0-1-23.eu-west-1.compute.internal"].volume_limits == {"ebs.csi.aws.com": 25}
    assert snap.config_object_keys[("Secret", "shop", "db-credentials")].keys is None
    assert snap.config_object_keys[("ConfigMap", "shop", "web-config")].keys == ("LOG_LEVEL", "app.properties")
    assert {"Node", "Pod", "Event", "Secret", "ConfigMap", "PersistentVolumeClaim", "StorageClass",
            "PriorityClass", "Namespace", "Deployment"} <= snap.meta.collected
    assert snap.meta.scheduler_names == ("default-scheduler",)
    assert snap.meta.warnings == ()
    assert res.raw_items is None

    # pagination followed: limit on every LIST, page 2 asked with the continue token of page 1
    pods = paths(fake, "/api/v1/pods")
    assert [p.query.get("limit") for p in pods] == ["2", "2"]
    assert "continue" not in pods[0].query
    page1 = json.loads((RECORDED / "pods-page1.json").read_text())
    assert pods[1].query["continue"] == page1["metadata"]["continue"]

    # only GETs, all authenticated, first one is /version; the returned log matches the server's
    assert {s.method for s in fake.seen} == {"GET"}
    assert fake.seen[0].path == "/version"
    assert len(res.requests) == len(fake.seen)
    assert all(verb == "GET" for verb, _ in res.requests)
    assert res.requests[0] == ("GET", "/version")


def test_secrets_are_read_as_metadata_only(api_server: Any, tmp_path: Path) -> None:
    fake = api_server()
    res = collect_live(kubeconfig=kubeconfig(tmp_path, fake.url), context=None, namespaces=None, scope="all",
                       timeout=5, keep_raw=True)
    secrets = paths(fake, "/api/v1/secrets")
    assert secrets and all(s.headers["Accept"] == METADATA_LIST_ACCEPT for s in secrets)
    others = [s for s in fake.seen if "secrets" not in s.path]
    assert all(s.headers["Accept"] == "application/json" for s in others)
    raw = json.dumps(res.raw_items)
    assert "Q0FOQVJZ" not in raw and "CANARY" not in raw  # neither Secret data nor ConfigMap values
    kinds = {i["kind"] for i in res.raw_items or ()}
    assert {"Secret", "ConfigMap", "Pod", "Node", "CSINode"} <= kinds
    assert all("managedFields" not in i["metadata"] for i in res.raw_items or ())


def test_forbidden_and_unserved_resources_degrade(api_server: Any, tmp_path: Path) -> None:
    fake = api_server()
    snap = collect_live(kubeconfig=kubeconfig(tmp_path, fake.url), context=None, namespaces=None, scope="all",
                        timeout=5).snapshot
    missing = {(m.resource, m.namespace): m.reason for m in snap.meta.missing}
    assert missing[("poddisruptionbudgets", "")] == (
        'forbidden: User "system:serviceaccount:shop:triage" cannot list resource "poddisruptionbudgets" '
        'in API group "policy" at the cluster scope')
    assert missing[("runtimeclasses", "")].startswith("not served by this cluster (404")
    assert "/apis/node.k8s.io/v1beta1/runtimeclasses" in missing[("runtimeclasses", "")]
    assert not snap.has("PodDisruptionBudget") and not snap.has("RuntimeClass")
    assert snap.has("Node") and len(snap.pods) == 4  # and the rest is there


def test_an_addon_api_not_served_is_no_gap(api_server: Any, tmp_path: Path) -> None:
    """Kueue not installed (404 for every version of its API): its kinds are read, there are none, and
    no report carries a "could not be read" note for them; a 403 on them is still a gap."""
    fake = api_server()
    for plural in ("workloads", "localqueues", "clusterqueues"):
        for version in ("v1beta2", "v1beta1"):
            fake.routes.insert(0, {"path": f"/apis/kueue.x-k8s.io/{version}/{plural}",
                                   "responses": [{"status": 404, "body": "status-404.json"}]})
    fake.routes.insert(0, {"path": "/apis/kueue.x-k8s.io/v1beta2/resourceflavors",
                           "responses": [{"status": 403, "body": "status-403-pdb.json"}]})
    snap = collect_live(kubeconfig=kubeconfig(tmp_path, fake.url), context=None, namespaces=None, scope="all",
                        timeout=5).snapshot
    assert {"/apis/kueue.x-k8s.io/v1beta2/workloads", "/apis/kueue.x-k8s.io/v1beta1/workloads"} <= \
        {x.path for x in fake.seen}
    assert snap.has("Workload") and snap.has("LocalQueue") and snap.has("ClusterQueue")
    assert not [m for m in snap.meta.missing if m.resource in ("workloads", "localqueues", "clusterqueues")]
    assert [m.resource for m in snap.meta.missing if m.resource == "resourceflavors"] == ["resourceflavors"]
    assert not snap.has("ResourceFlavor")


def test_expired_continue_token_restarts_the_list_once(api_server: Any, tmp_path: Path) -> None:
    fake = api_server("routes-expired-continue.json")
    snap = collect_live(kubeconfig=kubeconfig(tmp_path, fake.url), context=None, namespaces=None, scope="all",
                        page_size=2, timeout=5).snapshot
    pods = paths(fake, "/api/v1/pods")
    assert ["continue" in p.query for p in pods] == [False, True, False, True]
    assert len(snap.pods) == 4 and snap.has("Pod")
    assert not [m for m in snap.meta.missing if m.resource == "pods"]
    assert not [w for w in snap.meta.warnings if "duplicate" in w]


def test_continue_token_expiring_twice_is_reported(api_server: Any, tmp_path: Path) -> None:
    fake = api_server("routes-expired-always.json")
    snap = collect_live(kubeconfig=kubeconfig(tmp_path, fake.url), context=None, namespaces=None, scope="all",
                        page_size=2, timeout=5).snapshot
    assert len(paths(fake, "/api/v1/pods")) == 4
    assert [m.reason.split(":")[0] for m in snap.meta.missing if m.resource == "pods"] == ["incomplete"]
    assert not snap.has("Pod")


def test_pod_scope_field_selects_events(api_server: Any, tmp_path: Path) -> None:
    fake = api_server()
    snap = collect_live(kubeconfig=kubeconfig(tmp_path, fake.url), context=None, namespaces=["shop"], scope="pod",
                        pod_name="web-6d8f7b9c5d-x7k2p", timeout=5).snapshot
    events = paths(fake, "/api/v1/namespaces/shop/events")
    assert [e.query["fieldSelector"] for e in events] == [
        "involvedObject.name=web-6d8f7b9c5d-x7k2p", "involvedObject.name=data-web-0",
        "involvedObject.name=web-6d8f7b9c5d"]
    assert not paths(fake, "/api/v1/events")
    assert sorted(e.reason for e in snap.events) == ["FailedScheduling", "WaitForFirstConsumer"]
    assert snap.meta.namespaces == ("shop",)
    # pods of other namespaces still count on nodes: read cluster-wide, terminal ones filtered out
    cluster_pods = paths(fake, "/api/v1/pods")
    assert [p.query["fieldSelector"] for p in cluster_pods] == [
        "metadata.namespace!=shop,status.phase!=Succeeded,status.phase!=Failed"]
    assert len(snap.pods) == 4
    # namespaced kinds were read in the namespace only
    assert paths(fake, "/api/v1/namespaces/shop/secrets") and not paths(fake, "/api/v1/secrets")


def test_keep_raw_round_trips_through_a_snapshot_file(api_server: Any, tmp_path: Path) -> None:
    from podtriage.loaders import load_path, write_snapshot
    from podtriage.loaders.snapshot_file import meta_to_header

    fake = api_server()
    res = collect_live(kubeconfig=kubeconfig(tmp_path, fake.url), context="other-ctx", namespaces=None,
                       scope="all", timeout=5, keep_raw=True)
    assert res.snapshot.meta.context == "other-ctx"
    write_snapshot(res.raw_items or [], tmp_path / "snap.json.gz", meta=meta_to_header(res.snapshot.meta))
    back = load_path(tmp_path / "snap.json.gz")
    live = res.snapshot
    for attr in ("pods", "nodes", "events", "pvcs", "storage_classes", "config_objects", "priority_classes"):
        assert sorted(map(repr, getattr(back, attr))) == sorted(map(repr, getattr(live, attr))), attr
    assert back.meta.collected == live.meta.collected
    assert back.meta.missing == live.meta.missing
    assert back.meta.scheduler_names == live.meta.scheduler_names


# --- failures: ClusterError, never a traceback ---------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_server(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(ClusterError, match=f"cannot reach the cluster at {url}"):
        collect_live(kubeconfig=kubeconfig(tmp_path, url), context=None, namespaces=None, scope="all", timeout=2)


def test_bad_credentials(api_server: Any, tmp_path: Path) -> None:
    fake = api_server()
    with pytest.raises(ClusterError, match="rejected the credentials"):
        collect_live(kubeconfig=kubeconfig(tmp_path, fake.url, token="wrong"), context=None, namespaces=None,
                     scope="all", timeout=5)
    assert len(fake.seen) == 1


def test_missing_kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ClusterError, match="no kubeconfig found") as ei:
        collect_live(kubeconfig=None, context=None, namespaces=None, scope="all", timeout=5)
    assert ei.value.hint and "--kubeconfig" in ei.value.hint
    with pytest.raises(ClusterError, match="not found"):
        collect_live(kubeconfig=str(tmp_path / "nope"), context=None, namespaces=None, scope="all", timeout=5)


def test_unknown_context(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="context 'prod' not found") as ei:
        collect_live(kubeconfig=kubeconfig(tmp_path, "http://127.0.0.1:1"), context="prod", namespaces=None,
                     scope="all", timeout=5)
    assert "recorded-ctx" in (ei.value.hint or "")


def test_kubeconfig_env_is_honoured(api_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = api_server()
    monkeypatch.setenv("KUBECONFIG", kubeconfig(tmp_path, fake.url))
    snap = collect_live(kubeconfig=None, context=None, namespaces=None, scope="all", timeout=5).snapshot
    assert snap.meta.cluster_server == fake.url


def test_exec_credential_plugin(api_server: Any, tmp_path: Path) -> None:
    """Exec auth plugins (aws eks get-token, gke-gcloud-auth-plugin, kubelogin) are run by the client."""
    import sys

    fake = api_server()
    plugin = tmp_path / "get-token.py"
    plugin.write_text("import json\nprint(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1beta1', "
                      f"'kind': 'ExecCredential', 'status': {{'token': '{TOKEN}'}}}}))\n")
    cfg = tmp_path / "exec-kubeconfig"
    cfg.write_text(f"""apiVersion: v1
kind: Config
clusters:
- cluster: {{server: "{fake.url}"}}
  name: c
contexts:
- context: {{cluster: c, user: u}}
  name: exec-ctx
current-context: exec-ctx
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: {sys.executable}
      args: ["{plugin}"]
      interactiveMode: Never
""")
    snap = collect_live(kubeconfig=str(cfg), context=None, namespaces=None, scope="all", timeout=5).snapshot
    assert len(snap.nodes) == 3 and snap.meta.context == "exec-ctx"


def test_in_cluster_without_service_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    if Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists():
        pytest.skip("running inside a pod")
    with pytest.raises(ClusterError, match="in-cluster service account"):
        collect_live(kubeconfig=None, context=None, namespaces=None, scope="all", timeout=5)


def test_a_bounded_request_record_keeps_only_the_latest(api_server, tmp_path: Path) -> None:
    """`podtriage watch` runs for weeks: its client records only its last requests (the read-only
    checks read them), where collect_live's records every one."""
    from podtriage.collect import live

    fake = api_server()
    cfg, _ = live._load_config(kubeconfig(tmp_path, fake.url), None)
    bounded, whole = live._Client(cfg, 5.0, recorded=3), live._Client(cfg, 5.0)
    for n in range(5):
        for client in (bounded, whole):
            client.deadline = live.Deadline(None)
            assert client.get(f"/api/v1/namespaces/ns{n}/pods").status == 200
    assert list(bounded.requests) == [("GET", f"/api/v1/namespaces/ns{n}/pods") for n in (2, 3, 4)]
    assert len(whole.requests) == 5
    assert len(fake.seen) == 10

