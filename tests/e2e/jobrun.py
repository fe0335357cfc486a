"""Run a CronJob's pod as a kubelet would, without a kubelet: the pod spec read back from the real
kube-apiserver, its container started from the image's file set (tests/rootfs.py), with

* its command and args, its env, and the in-cluster variables KUBERNETES_SERVICE_HOST/PORT;
* its volumes at their mount paths: a directory for the PersistentVolumeClaim (kept between runs,
  owned by the pod's fsGroup), the ConfigMap's data as files, emptyDirs;
* the ServiceAccount's token where every pod gets it,
  /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}: a token the API server
  issues for the pod's serviceAccountName (TokenRequest), so podtriage authenticates in-cluster;
* the pod's runAsUser/runAsGroup and the container's readOnlyRootFilesystem.

Nothing here depends on pytest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import rootfs

SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass
class PodRun:
    workdir: Path
    claims: dict[str, Path] = field(default_factory=dict)  # PVC name -> its "volume", kept across runs

    def claim_dir(self, name: str, fs_group: int | None) -> Path:
        if name not in self.claims:
            d = self.workdir / "pvc" / name
            d.mkdir(parents=True)
            if fs_group is not None and os.geteuid() == 0:
                os.chown(d, 0, fs_group)
                d.chmod(0o2775)  # what fsGroup does to a volume: group-owned, group-writable, setgid
            self.claims[name] = d
        return self.claims[name]


def cronjob_pod_spec(cp: Any, namespace: str, name: str) -> dict:
    from kubernetes import client

    cj = client.BatchV1Api(cp.api_client()).read_namespaced_cron_job(name, namespace)
    return cp.api_client().sanitize_for_serialization(cj)["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def run_pod(cp: Any, image: rootfs.Stage, mode: str, namespace: str, pod: dict, state: PodRun,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Start the pod's single container once; returns its exit code and output."""
    from kubernetes import client

    [container] = pod["containers"]
    core = cp.core_v1()
    security = pod.get("securityContext") or {}
    fs_group = security.get("fsGroup")
    run_dir = Path(os.path.realpath(state.workdir)) / f"run-{len(list(state.workdir.glob('run-*')))}"
    run_dir.mkdir(parents=True)
    volumes: dict[str, rootfs.Mount] = {}
    for vol in pod.get("volumes") or ():
        if "persistentVolumeClaim" in vol:
            volumes[vol["name"]] = rootfs.Mount(state.claim_dir(vol["persistentVolumeClaim"]["claimName"], fs_group))
        elif "configMap" in vol:
            d = run_dir / "configmaps" / vol["name"]
            d.mkdir(parents=True)
            cm = core.read_namespaced_config_map(vol["configMap"]["name"], namespace)
            for key, value in (cm.data or {}).items():
                (d / key).write_text(value)
            volumes[vol["name"]] = rootfs.Mount(d, read_only=True)
        elif "emptyDir" in vol:
            d = run_dir / "emptydirs" / vol["name"]
            d.mkdir(parents=True)
            d.chmod(0o1777)
            volumes[vol["name"]] = rootfs.Mount(d)
        else:
            raise AssertionError(f"volume type not emulated here: {vol}")
    mounts = {}
    for m in container.get("volumeMounts") or ():
        base = volumes[m["name"]]
        mounts[m["mountPath"]] = rootfs.Mount(base.host, read_only=base.read_only or bool(m.get("readOnly")))
    # The ServiceAccount token, as the kubelet projects it into every pod.
    sa = pod.get("serviceAccountName") or "default"
    token = core.create_namespaced_service_account_token(
        sa, namespace, client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
            audiences=[], expiration_seconds=3600))).status.token
    sa_dir = run_dir / "serviceaccount"
    sa_dir.mkdir()
    (sa_dir / "token").write_text(token)
    shutil.copyfile(cp.ca_path, sa_dir / "ca.crt")
    (sa_dir / "namespace").write_text(namespace)
    for f in sa_dir.iterdir():
        f.chmod(0o644)
    mounts[SA_DIR] = rootfs.Mount(sa_dir, read_only=True)
    server = urlparse(cp.server)
    env = {"KUBERNETES_SERVICE_HOST": server.hostname or "", "KUBERNETES_SERVICE_PORT": str(server.port),
           **{e["name"]: e.get("value", "") for e in container.get("env") or ()}}
    user = ""
    if security.get("runAsUser") is not None:
        user = f"{security['runAsUser']}:{security.get('runAsGroup', security['runAsUser'])}"
    argv = [*container.get("command", []), *container.get("args", [])] or [*image.entrypoint, *image.cmd]
    read_only = bool((container.get("securityContext") or {}).get("readOnlyRootFilesystem"))
    return rootfs.run_container(image, argv, env=env, mounts=mounts, user=user, read_only_root=read_only,
                                mode=mode, timeout=timeout)
