"""Kubernetes JSON -> model: a realistic pod converts field by field, shared defaults are safe,
and the fast construction path yields the same objects as the dataclass constructors."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle

import pytest
import yaml

from podtriage import convert
from podtriage import model as m
from podtriage.scheduler.framework import effective_requests, host_ports

# As `kubectl get pod -o yaml` prints it (managedFields and most annotations left out).
POD_YAML = """
apiVersion: v1
kind: Pod
metadata:
  name: checkout-7d9f8b6c5d-x2kqp
  generateName: checkout-7d9f8b6c5d-
  namespace: shop
  uid: 6b0b1a2e-9d55-4a3c-8c1e-2f7f3c1d9a10
  creationTimestamp: "2026-11-20T09:58:12Z"
  labels:
    app.kubernetes.io/name: checkout
    pod-template-hash: 7d9f8b6c5d
  ownerReferences:
  - apiVersion: apps/v1
    kind: ReplicaSet
    name: checkout-7d9f8b6c5d
    uid: 0c6e4f55-1d1e-4b8a-9f57-5b1d3a6e2c11
    controller: true
    blockOwnerDeletion: true
spec:
  schedulerName: default-scheduler
  priorityClassName: shop-critical
  priority: 1000
  preemptionPolicy: PreemptLowerPriority
  serviceAccountName: checkout
  runtimeClassName: gvisor
  overhead:
    cpu: 250m
    memory: 120Mi
  nodeSelector:
    kubernetes.io/os: linux
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions:
          - key: topology.kubernetes.io/zone
            operator: In
            values: [eu-west-1a, eu-west-1b]
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            app.kubernetes.io/name: checkout
  tolerations:
  - key: node.kubernetes.io/not-ready
    operator: Exists
    effect: NoExecute
    tolerationSeconds: 300
  - key: dedicated
    value: shop
    effect: NoSchedule
  topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: DoNotSchedule
    labelSelector:
      matchLabels:
        app.kubernetes.io/name: checkout
    matchLabelKeys: [pod-template-hash]
  schedulingGates:
  - name: example.com/quota-check
  imagePullSecrets:
  - name: registry-creds
  initContainers:
  - name: migrate
    image: registry.example.com/shop/migrate:2.1
    resources:
      requests: {cpu: "2", memory: 1Gi}
  - name: istio-proxy
    image: istio/proxyv2:1.24.0
    restartPolicy: Always
    resources:
      requests: {cpu: 100m, memory: 128Mi}
      limits: {cpu: "1", memory: 1Gi}
  containers:
  - name: app
    image: registry.example.com/shop/checkout:5.4.1
    ports:
    - containerPort: 8080
      hostPort: 8080
      protocol: TCP
    resources:
      requests: {cpu: 500m, memory: 512Mi, ephemeral-storage: 1Gi}
      limits: {memory: 1Gi, nvidia.com/gpu: "1"}
    env:
    - name: LOG_LEVEL
      value: info
    - name: DB_HOST
      valueFrom:
        configMapKeyRef: {name: checkout-config, key: db_host}
    - name: DB_PASSWORD
      valueFrom:
        secretKeyRef: {name: checkout-db, key: password, optional: true}
    - name: POD_IP
      valueFrom:
        fieldRef: {fieldPath: status.podIP}
    envFrom:
    - configMapRef: {name: checkout-env}
    - secretRef: {name: checkout-secrets}
  - name: limits-only
    image: busybox:1.37
    resources:
      limits: {cpu: 200m, memory: 64Mi}
  - name: broken
    image: busybox:1.37
    resources:
      requests: {cpu: lots}
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: checkout-data, readOnly: true}
  - name: scratch
    ephemeral:
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  - name: config
    configMap: {name: checkout-files, optional: true}
  - name: certs
    secret: {secretName: checkout-tls}
  - name: cache
    emptyDir: {}
  - name: kube-api-access-abcde
    projected:
      sources:
      - serviceAccountToken: {path: token}
status:
  phase: Pending
  conditions:
  - type: PodScheduled
    status: "False"
    reason: Unschedulable
    message: "0/3 nodes are available: 3 node(s) had untolerated taint {dedicated: db}."
    lastTransitionTime: "2026-11-20T09:58:12Z"
"""


@pytest.fixture()
def raw_pod() -> dict:
    doc: dict = yaml.safe_load(POD_YAML)
    return doc


def test_realistic_pod(raw_pod: dict) -> None:
    warnings: list[str] = []
    pod = convert.pod(raw_pod, warnings)
    assert (pod.namespace, pod.name, pod.key) == ("shop", "checkout-7d9f8b6c5d-x2kqp", "shop/checkout-7d9f8b6c5d-x2kqp")
    assert pod.labels == {"app.kubernetes.io/name": "checkout", "pod-template-hash": "7d9f8b6c5d"}
    assert pod.owner == m.OwnerRef(kind="ReplicaSet", name="checkout-7d9f8b6c5d",
                                   uid="0c6e4f55-1d1e-4b8a-9f57-5b1d3a6e2c11", controller=True)
    assert (pod.priority, pod.priority_class_name, pod.preemption_policy) == (1000, "shop-critical",
                                                                             "PreemptLowerPriority")
    assert (pod.service_account_name, pod.runtime_class_name) == ("checkout", "gvisor")
    assert pod.overhead == {"cpu": 250, "memory": 120 * 2**20}
    assert pod.node_selector == {"kubernetes.io/os": "linux"}
    assert pod.required_node_affinity == (m.NodeSelectorTerm(match_expressions=(
        m.Requirement("topology.kubernetes.io/zone", "In", ("eu-west-1a", "eu-west-1b")),)),)
    assert pod.pod_affinity == ()
    assert pod.pod_anti_affinity == (m.PodAffinityTerm(
        topology_key="kubernetes.io/hostname",
        label_selector=m.LabelSelector(match_labels=(("app.kubernetes.io/name", "checkout"),))),)
    assert pod.tolerations == (
        m.Toleration(key="node.kubernetes.io/not-ready", operator="Exists", effect="NoExecute",
                     toleration_seconds=300),
        m.Toleration(key="dedicated", operator="Equal", value="shop", effect="NoSchedule"),
    )
    (tsc,) = pod.topology_spread_constraints
    assert (tsc.max_skew, tsc.topology_key, tsc.when_unsatisfiable, tsc.match_label_keys) == (
        1, "topology.kubernetes.io/zone", "DoNotSchedule", ("pod-template-hash",))
    assert (tsc.node_affinity_policy, tsc.node_taints_policy, tsc.min_domains) == ("Honor", "Ignore", None)
    assert pod.scheduling_gates == ("example.com/quota-check",)
    assert pod.image_pull_secrets == ("registry-creds",)

    migrate, sidecar = pod.init_containers
    assert migrate.requests == {"cpu": 2000, "memory": 2**30} and migrate.restart_policy == ""
    assert sidecar.restart_policy == "Always"
    assert sidecar.requests == {"cpu": 100, "memory": 128 * 2**20}
    assert sidecar.limits == {"cpu": 1000, "memory": 2**30}

    app, limits_only, broken = pod.containers
    # a limit with no request defaults the request (gpu), an explicit request wins (memory)
    assert app.requests == {"cpu": 500, "memory": 512 * 2**20, "ephemeral-storage": 2**30, "nvidia.com/gpu": 1}
    assert app.limits == {"memory": 2**30, "nvidia.com/gpu": 1}
    assert app.ports == (m.ContainerPort(container_port=8080, host_port=8080, protocol="TCP"),)
    assert app.config_refs == (
        m.ConfigRef(kind="ConfigMap", name="checkout-config", key="db_host", via="env DB_HOST"),
        m.ConfigRef(kind="Secret", name="checkout-db", key="password", optional=True, via="env DB_PASSWORD"),
        m.ConfigRef(kind="ConfigMap", name="checkout-env", via="envFrom"),
        m.ConfigRef(kind="Secret", name="checkout-secrets", via="envFrom"),
    )
    assert limits_only.requests == limits_only.limits == {"cpu": 200, "memory": 64 * 2**20}
    assert broken.requests == {} and broken.limits == {}
    assert warnings == ["pod shop/checkout-7d9f8b6c5d-x2kqp container broken: ignored invalid quantity cpu='lots'"]

    assert pod.volumes == (
        m.Volume(name="data", kind="persistentVolumeClaim", claim_name="checkout-data", read_only=True),
        m.Volume(name="scratch", kind="ephemeral", claim_name="checkout-7d9f8b6c5d-x2kqp-scratch"),
        m.Volume(name="config", kind="configMap", source_name="checkout-files", optional=True),
        m.Volume(name="certs", kind="secret", source_name="checkout-tls"),
        m.Volume(name="cache", kind="emptyDir"),
        m.Volume(name="kube-api-access-abcde", kind="projected"),
    )
    assert pod.phase == "Pending" and pod.node_name == ""
    cond = pod.condition("PodScheduled")
    assert cond is not None and (cond.status, cond.reason) == ("False", "Unschedulable")

    # What the scheduler adds up: max(app + sidecar, init + sidecar-before-it) + overhead
    req = effective_requests(pod)
    assert req["cpu"] == max(500 + 200 + 100, 2000) + 250
    assert req["memory"] == max((512 + 64 + 128) * 2**20, 2**30) + 120 * 2**20
    assert (req["ephemeral-storage"], req["nvidia.com/gpu"]) == (2**30, 1)
    assert host_ports(pod) == (("0.0.0.0", "TCP", 8080),)


def _rebuilt(obj: object) -> object:
    """The same object through the dataclass constructor, recursively."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        kw = {f.name: _rebuilt(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return type(obj)(**kw)
    if isinstance(obj, tuple):
        return tuple(_rebuilt(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _rebuilt(v) for k, v in obj.items()}
    return obj


def test_fast_construction_matches_the_constructors(raw_pod: dict) -> None:
    pod = convert.pod(raw_pod, [])
    again = _rebuilt(pod)
    assert again == pod
    assert repr(again) == repr(pod)
    for f in dataclasses.fields(m.Pod):  # every field is set, none comes from a class default
        assert f.name in vars(pod)
    assert dataclasses.replace(pod, name="other").name == "other"
    assert pickle.loads(pickle.dumps(pod)) == pod
    assert copy.deepcopy(pod) == pod
    with pytest.raises(dataclasses.FrozenInstanceError):
        pod.name = "x"  # type: ignore[misc]


def test_absent_fields_share_one_read_only_empty_map() -> None:
    pod = convert.pod({"metadata": {"name": "bare"}})
    assert pod.namespace == "default" and pod.phase == "Pending"
    assert pod.scheduler_name == "default-scheduler"
    assert pod.labels == {} and pod.overhead == {} and pod.node_selector == {}
    assert pod.labels is pod.overhead is convert.EMPTY
    assert pod.containers == () and pod.tolerations == () and pod.required_node_affinity is None
    with pytest.raises(TypeError):
        pod.labels["x"] = "y"  # type: ignore[index]
    with pytest.raises(TypeError):
        pod.overhead.update({"cpu": 1})  # type: ignore[attr-defined]
    assert convert.EMPTY == {}
    # it still behaves as a plain empty dict everywhere else
    assert json.dumps(pod.labels) == "{}" and repr(pod.labels) == "{}" and dict(pod.labels) == {}
    assert pickle.loads(pickle.dumps(pod.labels)) is convert.EMPTY
    assert copy.deepcopy(pod.labels) is convert.EMPTY
    assert dataclasses.asdict(pod)["labels"] == {}
    merged = dict(pod.labels)
    merged["a"] = "b"  # copies are ordinary dicts
    assert convert.EMPTY == {}


def test_requests_default_from_limits_on_a_new_dict() -> None:
    c = convert.container({"name": "c", "resources": {"limits": {"cpu": "1"}}})
    assert c.requests == c.limits == {"cpu": 1000}
    assert c.requests is not c.limits


def test_wrong_types_are_treated_as_absent() -> None:
    pod = convert.pod({"metadata": {"name": "odd", "namespace": 7, "labels": ["x"], "ownerReferences": "x"},
                       "spec": {"containers": [None, {"name": 5, "resources": "big", "env": [None, {"valueFrom": 1}]}],
                                "tolerations": {"key": "x"}, "affinity": [], "priority": "10", "volumes": [3]},
                       "status": "Running"})
    assert pod.namespace == "7" and pod.labels == {} and pod.owner is None
    assert [c.name for c in pod.containers] == ["", "5"]
    assert pod.containers[1].requests == {} and pod.containers[1].config_refs == ()
    assert pod.tolerations == () and pod.required_node_affinity is None and pod.priority == 10
    assert pod.volumes == (m.Volume(name="", kind="other"),)
    assert pod.phase == "Pending"


def test_pod_without_name_is_a_conversion_error() -> None:
    with pytest.raises(convert.ConversionError):
        convert.pod({"metadata": {"namespace": "x"}})


def test_repeated_strings_are_interned(raw_pod: dict) -> None:
    a = convert.pod(raw_pod)
    other = json.loads(json.dumps(raw_pod))  # fresh string objects
    b = convert.pod(other)
    assert a.namespace is b.namespace
    assert next(iter(a.labels)) is next(iter(b.labels))
    assert a.containers[0].image is b.containers[0].image
    assert a.tolerations[0] is b.tolerations[0]  # equal frozen values are shared


def test_secret_converts_to_metadata_only() -> None:
    obj = {"kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
           "data": {"password": "aHVudGVyMg=="}, "stringData": {"token": "s3cr3t"}}
    meta = convert.config_meta(obj)
    assert meta == m.ObjectMeta(kind="Secret", namespace="shop", name="db", keys=None)
    assert "aHVudGVyMg" not in repr(meta) and "s3cr3t" not in repr(meta)
