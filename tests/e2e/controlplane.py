"""A real, throw-away Kubernetes control plane for podtriage's e2e tests.

It runs genuine binaries built from Go modules by ``tools/k8s/build.sh``:

* ``etcd`` on loopback, random free ports, data dir in a temp dir;
* ``kube-apiserver`` on 127.0.0.1 with static-token authentication, RBAC
  authorization, a self-signed serving certificate (``--cert-dir``), a
  generated service-account key pair and an audit log (Metadata level);
* ``kube-scheduler`` authenticated as ``system:kube-scheduler``.

There is no kube-controller-manager and no kubelet. Consequences that tests
must know about:

* Nodes are plain API objects: :meth:`ControlPlane.create_node` creates the
  Node and then writes its ``status`` (capacity/allocatable/conditions) with a
  separate status call, as a kubelet would.
* The ``ServiceAccount`` admission plugin is disabled (nothing creates the
  ``default`` ServiceAccount, so every pod would be rejected) and so is
  ``TaintNodesByCondition`` (it would put ``node.kubernetes.io/not-ready`` on
  every new node and nothing would ever remove it).
* Nothing garbage-collects: namespace deletion never finishes, pods owned by
  nothing stay, Deployments/ReplicaSets create no pods. Use fresh,
  uniquely-named namespaces instead of deleting.
* Pods "running" on a node are created already bound (``spec.nodeName``) with
  :meth:`ControlPlane.create_bound_pod`; the scheduler accounts for their
  requests like for any assigned pod.

Nothing here depends on pytest; ``conftest.py`` wraps it in fixtures.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "tools" / "k8s" / "build.sh"
AUDIT_POLICY = Path(__file__).resolve().parent / "audit-policy.yaml"

ADMIN_USER = "podtriage-admin"
SCHEDULER_USER = "system:kube-scheduler"
NS_READER_USER = "podtriage-ns-reader"

# Admission plugins that are on by default but cannot work without
# kube-controller-manager (see module docstring).
DISABLED_ADMISSION_PLUGINS = ("ServiceAccount", "TaintNodesByCondition")

DEFAULT_NODE_ALLOCATABLE = {"cpu": "4", "memory": "8Gi", "pods": "110", "ephemeral-storage": "50Gi"}


class BuildUnavailable(RuntimeError):
    """The toolchain needed to build the binaries is missing (Go not in PATH)."""


class BuildFailed(RuntimeError):
    """tools/k8s/build.sh ran and failed."""


class ControlPlaneError(RuntimeError):
    """A control-plane process failed to start or become ready."""


# --------------------------------------------------------------------------
# Binaries


def build_binaries(timeout: float = 3600) -> Path:
    """Run ``tools/k8s/build.sh`` (cheap when the cache is warm); return ``<cache>/bin``."""
    if shutil.which("go") is None:
        cache = Path(os.environ.get("PODTRIAGE_K8S_CACHE", REPO_ROOT / ".cache" / "k8s"))
        raise BuildUnavailable(
            "Go toolchain not found in PATH: cannot build kube-apiserver/kube-scheduler/etcd "
            f"with {BUILD_SCRIPT} (cache dir {cache}). Install Go >= 1.26, or set "
            "PODTRIAGE_E2E_KUBECONFIG to use an existing cluster."
        )
    proc = subprocess.run(
        ["bash", str(BUILD_SCRIPT)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        raise BuildFailed(
            f"{BUILD_SCRIPT} exited {proc.returncode}\n--- stderr (tail) ---\n"
            + "\n".join(proc.stderr.splitlines()[-60:])
        )
    cache = Path(proc.stdout.strip().splitlines()[-1])
    bindir = cache / "bin"
    for b in ("kube-apiserver", "kube-scheduler", "etcd"):
        if not os.access(bindir / b, os.X_OK):
            raise BuildFailed(f"{BUILD_SCRIPT} succeeded but {bindir / b} is missing")
    return bindir


# --------------------------------------------------------------------------
# Small utilities


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_ports(n: int) -> list[int]:
    ports: set[int] = set()
    while len(ports) < n:
        ports.add(free_port())
    return list(ports)


def _set_pdeathsig() -> None:  # runs in the child between fork and exec
    # If the pytest process dies without running teardown (SIGKILL, crash),
    # the kernel kills the child too: no orphaned control planes.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _tail(path: Path | None, lines: int = 40) -> str:
    if path is None or not path.exists():
        return "(no log)"
    with open(path, "rb") as f:
        data = f.read()[-20000:].decode("utf-8", "replace")
    return "\n".join(data.splitlines()[-lines:])


def _parse_quantity_map(m: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (m or {}).items()}


def _taint_dict(t: Any) -> dict[str, Any]:
    """Accept "key=value:Effect", "key:Effect", a dict or a V1Taint."""
    if isinstance(t, str):
        kv, _, effect = t.rpartition(":")
        if not kv:
            raise ValueError(f"taint {t!r} must look like key[=value]:Effect")
        key, _, value = kv.partition("=")
        d = {"key": key, "effect": effect}
        if value:
            d["value"] = value
        return d
    if isinstance(t, Mapping):
        return {k: v for k, v in t.items() if v is not None}
    to_dict = getattr(t, "to_dict", None)
    if to_dict is not None:
        return {k: v for k, v in to_dict().items() if v is not None}
    raise TypeError(f"unsupported taint {t!r}")


@dataclass
class _Proc:
    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self, env: Mapping[str, str] | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logf = open(self.log_path, "ab")
        try:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
                preexec_fn=_set_pdeathsig,
            )
        finally:
            logf.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        p = self.popen
        if p is None:
            return
        if p.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.terminate()
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                p.wait(timeout=10)
        self.popen = None


# --------------------------------------------------------------------------
# Control plane


@dataclass
class ControlPlane:
    """Start with :meth:`start`, always :meth:`stop` (or use as a context manager)."""

    bindir: Path
    extra_users: Iterable[str] = (NS_READER_USER,)
    workdir: Path | None = None
    keep_workdir: bool = False
    scheduler_verbosity: int = 2
    apiserver_extra_args: Iterable[str] = ()
    scheduler_extra_args: Iterable[str] = ()  # e.g. ["--config=/path/to/KubeSchedulerConfiguration.yaml"]

    tokens: dict[str, str] = field(default_factory=dict, init=False)
    server: str = field(default="", init=False)
    kubeconfig_path: Path = field(default=Path(), init=False)
    ca_path: Path = field(default=Path(), init=False)
    audit_log_path: Path | None = field(default=None, init=False)
    scheduler_log_path: Path | None = field(default=None, init=False)
    apiserver_log_path: Path | None = field(default=None, init=False)
    etcd_log_path: Path | None = field(default=None, init=False)
    procs: list[_Proc] = field(default_factory=list, init=False)
    _own_workdir: bool = field(default=False, init=False)
    _clients: dict[str, Any] = field(default_factory=dict, init=False)

    # ---- lifecycle ------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def command_lines(self) -> dict[str, list[str]]:
        return {p.name: list(p.argv) for p in self.procs}

    def start(self, timeout: float = 120.0) -> None:
        if self.workdir is None:
            self.workdir = Path(tempfile.mkdtemp(prefix="podtriage-e2e-"))
            self._own_workdir = True
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._prepare_files()
            last_err: Exception | None = None
            for attempt in range(3):  # free ports can be raced by other processes
                try:
                    self._start_processes(timeout)
                    return
                except ControlPlaneError as e:
                    last_err = e
                    self._stop_processes()
                    if "address already in use" not in str(e).lower():
                        raise
            assert last_err is not None
            raise last_err
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self._stop_processes()
        for c in self._clients.values():
            with contextlib.suppress(Exception):
                c.close()
        self._clients.clear()
        if self._own_workdir and not self.keep_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _stop_processes(self) -> None:
        for p in reversed(self.procs):  # scheduler, apiserver, etcd
            with contextlib.suppress(Exception):
                p.stop()

    # ---- setup ------------------------------------------------------------

    def _prepare_files(self) -> None:
        wd = self.workdir
        assert wd is not None
        (wd / "certs").mkdir(exist_ok=True)
        (wd / "logs").mkdir(exist_ok=True)

        users = [ADMIN_USER, SCHEDULER_USER, *self.extra_users]
        self.tokens = {u: uuid.uuid4().hex for u in dict.fromkeys(users)}
        lines = []
        for i, (user, token) in enumerate(self.tokens.items()):
            groups = "system:masters" if user == ADMIN_USER else ""
            lines.append(f'{token},{user},uid-{i},"{groups}"' if groups else f"{token},{user},uid-{i}")
        (wd / "tokens.csv").write_text("\n".join(lines) + "\n")
        os.chmod(wd / "tokens.csv", 0o600)

        self._generate_sa_keypair(wd / "sa.key", wd / "sa.pub")

    @staticmethod
    def _generate_sa_keypair(key: Path, pub: Path) -> None:
        try:
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import rsa

            k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            key.write_bytes(
                k.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.TraditionalOpenSSL,
                    serialization.NoEncryption(),
                )
            )
            pub.write_bytes(
                k.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            )
        except ImportError:
            if shutil.which("openssl") is None:
                raise ControlPlaneError("need either the 'cryptography' package or openssl for SA keys")
            subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
            subprocess.run(
                ["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(pub)],
                check=True,
                capture_output=True,
            )
        os.chmod(key, 0o600)

    def _start_processes(self, timeout: float) -> None:
        wd = self.workdir
        assert wd is not None
        self.procs = []
        etcd_client, etcd_peer, api_port, sched_port = _free_ports(4)
        deadline = time.monotonic() + timeout
        logs = wd / "logs"

        # etcd ---------------------------------------------------------------
        etcd_url = f"http://127.0.0.1:{etcd_client}"
        peer_url = f"http://127.0.0.1:{etcd_peer}"
        data_dir = wd / f"etcd-data-{etcd_client}"
        self.etcd_log_path = logs / "etcd.log"
        etcd = _Proc(
            "etcd",
            [
                str(self.bindir / "etcd"),
                "--name=podtriage-e2e",
                f"--data-dir={data_dir}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=podtriage-e2e={peer_url}",
                "--initial-cluster-state=new",
                "--unsafe-no-fsync",  # throw-away data, speed matters more than durability
                "--log-level=warn",
            ],
            self.etcd_log_path,
        )
        self.procs.append(etcd)
        etcd.start()
        self._wait(
            "etcd",
            etcd,
            lambda: json.loads(_http_get(f"{etcd_url}/health")).get("health") == "true",
            deadline,
        )

        # kube-apiserver -------------------------------------------------------
        self.server = f"https://127.0.0.1:{api_port}"
        self.audit_log_path = logs / "audit.log"
        self.apiserver_log_path = logs / "kube-apiserver.log"
        cert_dir = wd / "certs"
        api = _Proc(
            "kube-apiserver",
            [
                str(self.bindir / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={api_port}",
                f"--cert-dir={cert_dir}",
                f"--token-auth-file={wd / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={wd / 'sa.pub'}",
                f"--service-account-signing-key-file={wd / 'sa.key'}",
                "--service-cluster-ip-range=10.0.0.0/24",
                f"--audit-log-path={self.audit_log_path}",
                f"--audit-policy-file={AUDIT_POLICY}",
                f"--disable-admission-plugins={','.join(DISABLED_ADMISSION_PLUGINS)}",
                # The "kubernetes" Endpoints object may not hold a loopback IP;
                # with no reconciler the apiserver does not try (and log errors).
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
                *self.apiserver_extra_args,
            ],
            self.apiserver_log_path,
        )
        self.procs.append(api)
        api.start()
        self.ca_path = cert_dir / "apiserver.crt"  # self-signed cert + its CA, written at startup
        admin_token = self.tokens[ADMIN_USER]
        self._wait(
            "kube-apiserver",
            api,
            lambda: (
                self.ca_path.exists()
                and _http_get(f"{self.server}/readyz", token=admin_token, insecure=True) == "ok"
            ),
            deadline,
        )

        self.kubeconfig_path = self.make_kubeconfig(admin_token, ADMIN_USER, wd / "admin.kubeconfig")
        sched_kubeconfig = self.make_kubeconfig(
            self.tokens[SCHEDULER_USER], SCHEDULER_USER, wd / "scheduler.kubeconfig"
        )

        # kube-scheduler ---------------------------------------------------------
        self.scheduler_log_path = logs / "kube-scheduler.log"
        sched = _Proc(
            "kube-scheduler",
            [
                str(self.bindir / "kube-scheduler"),
                f"--kubeconfig={sched_kubeconfig}",
                f"--authentication-kubeconfig={sched_kubeconfig}",
                f"--authorization-kubeconfig={sched_kubeconfig}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={sched_port}",
                f"--cert-dir={wd / 'scheduler-certs'}",
                "--profiling=false",
                f"-v={self.scheduler_verbosity}",
                *self.scheduler_extra_args,
            ],
            self.scheduler_log_path,
        )
        self.procs.append(sched)
        sched.start()
        self._wait(
            "kube-scheduler",
            sched,
            lambda: _http_get(f"https://127.0.0.1:{sched_port}/readyz", insecure=True) == "ok",
            deadline,
        )

    def _wait(self, name: str, proc: _Proc, check, deadline: float) -> None:
        last = ""
        while time.monotonic() < deadline:
            if not proc.alive():
                rc = proc.popen.returncode if proc.popen else None
                raise ControlPlaneError(
                    f"{name} exited with code {rc} during startup.\ncommand: {' '.join(proc.argv)}\n"
                    f"--- {proc.log_path} (tail) ---\n{_tail(proc.log_path)}"
                )
            try:
                if check():
                    return
            except Exception as e:  # not up yet
                last = f"{type(e).__name__}: {e}"
            time.sleep(0.2)
        raise ControlPlaneError(
            f"{name} did not become ready in time (last probe error: {last}).\n"
            f"command: {' '.join(proc.argv)}\n--- {proc.log_path} (tail) ---\n{_tail(proc.log_path)}"
        )

    # ---- identities / clients ----------------------------------------------

    def token_for(self, user: str) -> str:
        return self.tokens[user]

    def make_kubeconfig(self, token: str, user: str, path: Path | str | None = None) -> Path:
        """Write a kubeconfig for ``user`` authenticating with bearer ``token``; return its path."""
        assert self.workdir is not None
        if path is None:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)
            path = self.workdir / f"{safe}.kubeconfig"
        path = Path(path)
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "podtriage-e2e",
                    "cluster": {"server": self.server, "certificate-authority": str(self.ca_path)},
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [
                {
                    "name": f"{user}@podtriage-e2e",
                    "context": {"cluster": "podtriage-e2e", "user": user, "namespace": "default"},
                }
            ],
            "current-context": f"{user}@podtriage-e2e",
            "preferences": {},
        }
        path.write_text(json.dumps(cfg, indent=2) + "\n")  # JSON is valid YAML
        os.chmod(path, 0o600)
        return path

    def kubeconfig_for(self, user: str) -> Path:
        return self.make_kubeconfig(self.tokens[user], user)

    def api_client(self, user: str = ADMIN_USER):
        """A ``kubernetes.client.ApiClient`` for ``user`` (admin by default), cached."""
        if user not in self._clients:
            from kubernetes import config

            path = self.kubeconfig_path if user == ADMIN_USER else self.kubeconfig_for(user)
            self._clients[user] = config.new_client_from_config(config_file=str(path))
        return self._clients[user]

    def core_v1(self, user: str = ADMIN_USER):
        from kubernetes import client

        return client.CoreV1Api(self.api_client(user))

    # ---- logs --------------------------------------------------------------

    def audit_events(self) -> list[dict[str, Any]]:
        if self.audit_log_path is None or not self.audit_log_path.exists():
            return []
        out = []
        with open(self.audit_log_path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    with contextlib.suppress(ValueError):
                        out.append(json.loads(line))
        return out

    def scheduler_log_lines(self, contains: str | None = None) -> list[str]:
        if self.scheduler_log_path is None or not self.scheduler_log_path.exists():
            return []
        lines = self.scheduler_log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [ln for ln in lines if contains is None or contains in ln]

    # ---- object helpers ------------------------------------------------------

    def ensure_namespace(self, name: str) -> str:
        from kubernetes import client
        from kubernetes.client.rest import ApiException

        try:
            self.core_v1().create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        except ApiException as e:
            if e.status != 409:
                raise
        return name

    def create_node(
        self,
        name: str,
        labels: Mapping[str, str] | None = None,
        taints: Iterable[Any] | None = None,
        allocatable: Mapping[str, Any] | None = None,
        capacity: Mapping[str, Any] | None = None,
        ready: bool = True,
        unschedulable: bool = False,
        conditions: Iterable[Mapping[str, Any]] | None = None,
    ):
        """Create a Node and then set its status, as a kubelet would.

        ``allocatable`` is merged over DEFAULT_NODE_ALLOCATABLE (cpu 4, memory 8Gi,
        pods 110, ephemeral-storage 50Gi); pass e.g. ``{"memory": "0"}`` to zero a
        resource. ``capacity`` defaults to the resulting allocatable.
        ``taints`` items: "key=value:Effect", dicts or V1Taint.
        """
        alloc = {**DEFAULT_NODE_ALLOCATABLE, **_parse_quantity_map(allocatable)}
        cap = {**alloc, **_parse_quantity_map(capacity)} if capacity is not None else dict(alloc)
        labels = {
            "kubernetes.io/hostname": name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            **(labels or {}),
        }
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "taints": [_taint_dict(t) for t in (taints or [])] or None,
                "unschedulable": unschedulable or None,
            },
        }
        body["spec"] = {k: v for k, v in body["spec"].items() if v is not None}
        core = self.core_v1()
        core.create_node(body)

        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if conditions is None:
            conds = [
                {"type": t, "status": "False", "reason": f"KubeletHas{r}", "message": m}
                for t, r, m in (
                    ("MemoryPressure", "SufficientMemory", "kubelet has sufficient memory available"),
                    ("DiskPressure", "NoDiskPressure", "kubelet has no disk pressure"),
                    ("PIDPressure", "SufficientPID", "kubelet has sufficient PID available"),
                )
            ]
            conds.append(
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                }
                if ready
                else {
                    "type": "Ready",
                    "status": "False",
                    "reason": "KubeletNotReady",
                    "message": "container runtime network not ready",
                }
            )
        else:
            conds = [dict(c) for c in conditions]
        for c in conds:
            c.setdefault("lastHeartbeatTime", now)
            c.setdefault("lastTransitionTime", now)
        status = {
            "capacity": cap,
            "allocatable": alloc,
            "conditions": conds,
            "addresses": [{"type": "Hostname", "address": name}],
            "nodeInfo": {
                "architecture": labels.get("kubernetes.io/arch", "amd64"),
                "operatingSystem": labels.get("kubernetes.io/os", "linux"),
                "bootID": "",
                "containerRuntimeVersion": "",
                "kernelVersion": "",
                "kubeProxyVersion": "",
                "kubeletVersion": "",
                "machineID": "",
                "osImage": "",
                "systemUUID": "",
            },
        }
        # Read-modify-write so the status subresource call carries the full object.
        node = core.read_node(name)
        node_dict = self.api_client().sanitize_for_serialization(node)
        node_dict["status"] = status
        return core.replace_node_status(name, node_dict)

    def create_bound_pod(
        self,
        namespace: str,
        name: str,
        node_name: str,
        requests: Mapping[str, Any] | None = None,
        limits: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        phase: str = "Running",
        image: str = "registry.k8s.io/pause:3.10",
    ):
        """Create a pod already bound to ``node_name`` (bypassing the scheduler), mark it ``phase``."""
        core = self.core_v1()
        resources: dict[str, Any] = {}
        if requests:
            resources["requests"] = _parse_quantity_map(requests)
        if limits:
            resources["limits"] = _parse_quantity_map(limits)
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": dict(labels or {})},
            "spec": {
                "nodeName": node_name,
                "containers": [{"name": "main", "image": image, "resources": resources}],
                "tolerations": [{"operator": "Exists"}],
            },
        }
        core.create_namespaced_pod(namespace, body)
        if phase:
            pod = core.read_namespaced_pod(name, namespace)
            d = self.api_client().sanitize_for_serialization(pod)
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            d["status"] = {
                "phase": phase,
                "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now}],
                "hostIP": "127.0.0.1",
                "startTime": now,
            }
            return core.replace_namespaced_pod_status(name, namespace, d)
        return core.read_namespaced_pod(name, namespace)

    def delete_all_nodes(self) -> list[str]:
        """Delete every Node (there are no kubelets to recreate them); return their names."""
        core = self.core_v1()
        names = [n.metadata.name for n in core.list_node().items]
        for n in names:
            with contextlib.suppress(Exception):
                core.delete_node(n)
        return names

    def force_delete_pods(self, namespace: str) -> None:
        """Delete all pods in ``namespace`` with grace period 0.

        No kubelet would ever confirm a graceful delete of a bound pod.
        """
        core = self.core_v1()
        for p in core.list_namespaced_pod(namespace).items:
            with contextlib.suppress(Exception):
                core.delete_namespaced_pod(p.metadata.name, namespace, grace_period_seconds=0)

    def wait_for_failed_scheduling(self, namespace: str, pod_name: str, timeout: float = 60.0):
        """Wait for the scheduler's real FailedScheduling event for the pod.

        Returns the newest such event (a ``V1Event``); raises TimeoutError.
        """
        core = self.core_v1()
        deadline = time.monotonic() + timeout
        while True:
            evs = core.list_namespaced_event(
                namespace,
                field_selector=f"involvedObject.kind=Pod,involvedObject.name={pod_name},reason=FailedScheduling",
            ).items
            if evs:

                def _ts(e):
                    t = e.last_timestamp or e.event_time or e.first_timestamp or e.metadata.creation_timestamp
                    return t.timestamp() if t else 0.0

                return max(evs, key=_ts)
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"no FailedScheduling event for pod {namespace}/{pod_name} after {timeout}s; "
                    f"scheduler log tail:\n{_tail(self.scheduler_log_path)}"
                )
            time.sleep(0.25)


# --------------------------------------------------------------------------
# An existing cluster (PODTRIAGE_E2E_KUBECONFIG)


@dataclass
class ExternalCluster:
    """Same helper surface as ControlPlane for a cluster we did not start.

    No audit log, no scheduler log, and only the kubeconfig's own identity.
    """

    kubeconfig_path: Path
    audit_log_path: Path | None = None
    scheduler_log_path: Path | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    _client: Any = None

    def api_client(self, user: str = ADMIN_USER):
        if user != ADMIN_USER:
            raise KeyError(f"no credentials for {user!r} on an external cluster")
        if self._client is None:
            from kubernetes import config

            self._client = config.new_client_from_config(config_file=str(self.kubeconfig_path))
        return self._client

    def stop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()

    # Reuse the object helpers; they only need api_client()/core_v1().
    core_v1 = ControlPlane.core_v1
    ensure_namespace = ControlPlane.ensure_namespace
    create_node = ControlPlane.create_node
    create_bound_pod = ControlPlane.create_bound_pod
    delete_all_nodes = ControlPlane.delete_all_nodes
    force_delete_pods = ControlPlane.force_delete_pods
    wait_for_failed_scheduling = ControlPlane.wait_for_failed_scheduling
    audit_events = ControlPlane.audit_events
    scheduler_log_lines = ControlPlane.scheduler_log_lines

    def token_for(self, user: str) -> str:
        raise KeyError(f"no token for {user!r} on an external cluster")

    def make_kubeconfig(self, token: str, user: str, path: Path | str | None = None) -> Path:
        """Copy the external kubeconfig's cluster entry with a bearer-token user."""
        import yaml

        src = yaml.safe_load(Path(self.kubeconfig_path).read_text())
        ctx_name = src.get("current-context")
        ctx = next(c["context"] for c in src["contexts"] if c["name"] == ctx_name)
        cluster = next(c for c in src["clusters"] if c["name"] == ctx["cluster"])
        cfg = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [cluster],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": cluster["name"], "user": user}}],
            "current-context": user,
        }
        if path is None:
            path = Path(tempfile.mkdtemp(prefix="podtriage-kcfg-")) / f"{user}.kubeconfig"
        path = Path(path)
        path.write_text(json.dumps(cfg, indent=2) + "\n")
        return path


# --------------------------------------------------------------------------


def _http_get(url: str, token: str | None = None, insecure: bool = False, timeout: float = 3.0) -> str:
    ctx = None
    if url.startswith("https://"):
        ctx = ssl.create_default_context()
        if insecure:  # readiness probes only; real clients verify against the CA
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ctx) as r:
            return r.read().decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as e:
        body = e.read().decode("utf-8", "replace")
        raise RuntimeError(f"HTTP {e.code}: {body[-500:]}") from None


# --------------------------------------------------------------------------
# podtriage's own identities (appended for the scenario, permission and audit tests)

# The identity podtriage subprocesses run as, distinct from ADMIN_USER (the test setup), so the
# audit log can tell podtriage's requests apart. conftest binds it to the built-in cluster-admin
# ClusterRole: it may do anything, which is what makes "it only reads" worth checking.
PODTRIAGE_CLI_USER = "podtriage-cli"
# Every identity only podtriage uses (NS_READER_USER: the permission tests).
PODTRIAGE_USERS = (PODTRIAGE_CLI_USER, NS_READER_USER)
READ_VERBS = frozenset({"get", "list", "watch"})


def bind_cluster_role(cp: Any, user: str, cluster_role: str = "cluster-admin") -> None:
    """ClusterRoleBinding ``<user>-<cluster_role>`` (idempotent)."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": f"{user}-{cluster_role}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    try:
        client.RbacAuthorizationV1Api(cp.api_client()).create_cluster_role_binding(body)
    except ApiException as e:
        if e.status != 409:
            raise


def podtriage_audit_events(events: Iterable[Mapping[str, Any]],
                           users: Iterable[str] = PODTRIAGE_USERS) -> list[Mapping[str, Any]]:
    """Audit events made by podtriage: its identities, or its User-Agent (``podtriage/<version>``)."""
    users = set(users)
    return [e for e in events
            if (e.get("user") or {}).get("username") in users or str(e.get("userAgent", "")).startswith("podtriage/")]
