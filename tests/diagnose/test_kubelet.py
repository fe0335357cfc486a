"""Kubelet-side Pending (diagnose/kubelet.py): the signals behind fixtures/cases/kubelet-*.yaml,
the cgroup stats join (node-stats files), and the pod-level memory limit formula."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from podtriage import model as m
from podtriage.analyze import Explainer
from podtriage.diagnose import kubelet
from podtriage.diagnose.extra import ExtraEvidence
from podtriage.loaders.files import load_path
from podtriage.rulebook import load_rules
from podtriage.snapshot import Snapshot

CASES = Path(__file__).parents[2] / "fixtures" / "cases"
NOW = datetime(2026, 11, 20, 10, 15, tzinfo=timezone.utc)  # a minute after the fixtures' last events
MiB = 1 << 20


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def load(case: str) -> Snapshot:
    return load_path(CASES / f"kubelet-{case}.yaml")


def the_pod(snap: Snapshot) -> m.Pod:
    """The case's target: the one Pending pod bound to a node."""
    (pod,) = [p for p in snap.pods if p.phase == "Pending" and p.node_name]
    return pod


def signals(snap: Snapshot, extra: ExtraEvidence | None = None, now: datetime = NOW,
            pod: m.Pod | None = None) -> list:
    pod = pod or the_pod(snap)
    events = snap.events_for("Pod", pod.namespace, pod.name, pod.uid)
    return kubelet.kubelet_signals(pod, snap, events, now, extra or ExtraEvidence())


def nodestats() -> dict:
    return json.loads((CASES / "kubelet-init-oom.nodestats.json").read_text())


def as_objects(doc: dict) -> SimpleNamespace:
    """The same node-stats document as attribute objects (the node-stats module's dataclasses)."""
    def conv(x):
        if isinstance(x, dict):
            return SimpleNamespace(**{k: conv(v) for k, v in x.items()})
        if isinstance(x, list):
            return [conv(v) for v in x]
        return x
    return conv(doc)


def top(snap: Snapshot, rules, extra: ExtraEvidence | None = None):
    pod = the_pod(snap)
    report = Explainer(snap, rules, NOW, extra=extra).explain(f"pod/{pod.name}", pod.namespace)
    return report, report.root_causes[0]


# --- init container OOM and the cgroup stats ----------------------------------------------------

def test_init_oom_without_stats_doubles_the_limit(rules):
    report, rc = top(load("init-oom"), rules)
    assert rc.rule == "init-container-oom" and rc.category == "init-container-oom"
    assert rc.subject == "Pod/default/api-7b6c5d4e3-w9x8y spec.initContainers[migrate]"
    assert "512Mi" in rc.message and "OOMKilled (exit 137)" in rc.message and "8 runs" in rc.message
    assert "at least 1Gi" in rc.fix and "no cgroup stats" in rc.fix
    assert report.pods[0].status == "Init:CrashLoopBackOff"
    assert report.blocked


@pytest.mark.parametrize("shape", ["dict", "object"])
def test_init_oom_fix_is_sized_from_the_observed_peak(rules, shape):
    doc = nodestats()
    extra = ExtraEvidence(cgroup_stats=[doc if shape == "dict" else as_objects(doc)], cgroup_stats_requested=True)
    report, rc = top(load("init-oom"), rules, extra)
    assert rc.rule == "init-container-oom"
    # peak 512Mi (it hit its limit) + 25% = 640Mi, a whole number of 64Mi steps
    assert "at least 640Mi" in rc.fix and "observed peak 512Mi" in rc.fix
    assert '"memory":"640Mi"' in rc.fix_command and "patch deployment/api" in rc.fix_command
    # the new pod-level limit: max(app 768Mi, init 640Mi) = 768Mi
    assert "= 768Mi" in rc.fix
    cg = [e for e in rc.evidence if e.kind == "cgroup"]
    assert cg and cg[0].data["peak"] == 512 * MiB and cg[0].data["oomKill"] == 7
    assert "cgroup stats of node worker-1" in cg[0].source
    assert not report.missing  # stats for the node were given


def test_init_oom_effect_chain():
    (sig,) = signals(load("init-oom"))
    assert sig.name == "init-container-oom" and sig.blocking
    assert sig.effects == ("OOM kill in the cgroup of init container migrate (limit 512Mi)",
                           "init container migrate OOMKilled (exit 137) x8", "Init:CrashLoopBackOff",
                           "app containers never start", "pod Pending")
    params = sig.params
    for key in ("pod", "total_nodes", "nodes_count", "node_examples", "node_example", "status", "container",
                "image", "reason", "message"):
        assert key in params
    assert params["node_example"] == "worker-1" and params["total_nodes"] == 0


def test_stats_of_another_pod_are_ignored():
    doc = nodestats()
    doc["pods"][0]["uid"] = "00000000-0000-0000-0000-000000000000"
    (sig,) = signals(load("init-oom"), ExtraEvidence(cgroup_stats=[doc]))
    assert sig.params["peak"] == "unknown" and sig.params["suggested"] == "1Gi"


def test_stats_matched_by_container_id_prefix_and_systemd_uid():
    doc = nodestats()
    c = doc["pods"][0]["containers"][0]
    c["id"] = c["id"][:12]
    c["memory"]["peak"] = 700 * MiB
    doc["pods"][0]["uid"] = doc["pods"][0]["uid"].replace("-", "_")
    (sig,) = signals(load("init-oom"), ExtraEvidence(cgroup_stats=[doc]))
    assert sig.params["peak"] == "700Mi" and sig.params["suggested"] == "896Mi"


def test_pod_memory_limit_formula():
    pod = the_pod(load("init-oom"))
    limit, text = kubelet.pod_memory_limit(pod)
    assert limit == 768 * MiB and "max(app containers 768Mi, largest init container 512Mi)" in text
    limit, _ = kubelet.pod_memory_limit(pod, {"migrate": 2048 * MiB})
    assert limit == 2048 * MiB
    no_init_limit = replace(pod, init_containers=(replace(pod.init_containers[0], limits={}),))
    limit, text = kubelet.pod_memory_limit(no_init_limit)
    assert limit is None and "init container migrate has none" in text
    with_overhead = replace(pod, overhead={"memory": 64 * MiB})
    assert kubelet.pod_memory_limit(with_overhead)[0] == 832 * MiB


# --- the bleed: an init container without a memory limit -----------------------------------------

def test_init_memory_bleed_names_the_neighbours(rules):
    _, rc = top(load("init-memory-bleed"), rules)
    assert (rc.rule, rc.category) == ("init-memory-bleed", "init-container-oom")
    assert "default/cache-0 (evicted)" in rc.message
    assert "default/checkout-5c4b3a2d1-v5u4t (OOMKilled)" in rc.message
    assert "process python3" in rc.message and "MemoryPressure=True" in rc.message
    kinds = {e.kind for e in rc.evidence}
    assert {"condition", "event", "status"} <= kinds
    sig = next(s for s in signals(load("init-memory-bleed")) if s.name == "init-memory-bleed")
    assert sig.effects[0].startswith("init container warmup peaks at")
    assert sig.effects[1] == "node worker-3 memory pressure / SystemOOM"
    assert sig.effects[2].startswith("neighbours killed/evicted: default/cache-0")


def test_init_memory_bleed_sized_from_stats():
    snap = load("init-memory-bleed")
    pod = the_pod(snap)
    cid = pod.init_container_statuses[0].container_id.split("://")[1]
    stats = {"node": "worker-3", "pods": [{"uid": pod.uid, "memory": {"limit": None, "usage": 0, "peak": 5 << 30},
                                           "containers": [{"id": cid, "name": "warmup",
                                                           "memory": {"limit": None, "usage": 0,
                                                                      "peak": 5 << 30}}]}]}
    (sig,) = [s for s in signals(snap, ExtraEvidence(cgroup_stats=[stats])) if s.name == "init-memory-bleed"]
    assert sig.params["peak"] == "5Gi" and sig.params["suggested"] == "6400Mi"
    assert '"initContainers":[{"name":"warmup","resources":{"limits":{"memory":"6400Mi"}}}]' in sig.params["fix_command"]
    assert any(e.kind == "cgroup" and "pod cgroup limit none" in e.summary for e in sig.evidence)


# --- images, config objects, the rest -------------------------------------------------------------

def test_unauthorized_names_the_missing_pull_secret():
    (sig,) = signals(load("image-unauthorized"))
    assert sig.name == "image-pull-unauthorized"
    assert sig.subject == "Secret/default/regcred (imagePullSecrets)"
    assert sig.params["pull_secrets"] == "regcred (missing)" and sig.params["registry"] == "registry.example.com"


def test_unauthorized_without_secret_list_says_existence_unknown():
    snap = load("image-unauthorized")
    snap = replace(snap, config_objects=(), meta=replace(snap.meta, collected=snap.meta.collected - {"Secret"}))
    (sig,) = signals(snap)
    assert "existence unknown" in sig.params["pull_secrets"] and not sig.params["missing_secrets"]


def test_image_not_found_suggests_the_tag_other_pods_run():
    (sig,) = signals(load("image-not-found"))
    assert sig.name == "image-not-found"
    assert sig.params["suggested_image"] == "registry.example.com/shop/app:1.4.2"
    assert sig.params["workload"] == "deployment/web"


@pytest.mark.parametrize("ref,repo", [
    ("nginx", "docker.io/library/nginx"), ("nginx:1.27", "docker.io/library/nginx"),
    ("bitnami/redis:7", "docker.io/bitnami/redis"), ("localhost:5000/app:1", "localhost:5000/app"),
    ("registry.example.com:5000/a/b@sha256:" + "0" * 64, "registry.example.com:5000/a/b"),
])
def test_normalize_repository(ref, repo):
    assert kubelet.normalize_repository(kubelet._split_image(ref)[0]) == repo


def test_configmap_key_missing_names_reference_and_close_key():
    (sig,) = signals(load("configmap-key-missing"))
    assert sig.name == "config-key-missing" and sig.subject == "ConfigMap/default/app-config"
    assert sig.params["ref"] == "env DB_HOST" and sig.params["suggested_key"] == "DB_HOSTNAME"


def test_static_check_finds_missing_objects_without_a_status_message():
    """The status may not say it yet (ContainerCreating): the references alone are checked."""
    snap = load("configmap-key-missing")
    pod = the_pod(snap)
    pod = replace(pod, container_statuses=(m.ContainerState(name="app", state="waiting",
                                                            reason="ContainerCreating"),))
    (sig,) = signals(snap, pod=pod, now=NOW)
    assert sig.name == "config-key-missing" and "ConfigMap default/app-config data keys" in sig.evidence[0].source


def test_optional_references_are_not_errors():
    snap = load("secret-missing-envfrom")
    pod = the_pod(snap)
    c = pod.containers[0]
    c = replace(c, config_refs=tuple(replace(r, optional=True) for r in c.config_refs))
    pod = replace(pod, containers=(c,), container_statuses=(m.ContainerState(name="api", state="waiting",
                                                                             reason="ContainerCreating"),))
    assert signals(snap, pod=pod) == []


def test_secret_data_is_never_kept():
    snap = load("secret-missing-envfrom")
    secrets = [o for o in snap.config_objects if o.kind == "Secret"]
    assert secrets and all(o.keys is None for o in secrets)


def test_multi_attach_points_at_the_claim():
    (sig,) = signals(load("multi-attach"))
    assert sig.subject == "PersistentVolumeClaim/default/db-data"
    assert sig.params["used_by"] == "db-5f7b9c4d8-q8w2z"


def test_nfs_helper_type_from_mount_arguments():
    (sig,) = signals(load("nfs-helper-missing"))
    assert sig.params["fs_type"] == "nfs" and sig.subject == "Node/worker-2"


def test_cni_plugin_named():
    (sig,) = signals(load("sandbox-cni"))
    assert sig.params["plugin"] == "calico" and sig.params["count"] == 42


def test_runtime_class_subject():
    (sig,) = signals(load("runtime-class-missing"))
    assert sig.subject == "RuntimeClass/gvisor" and sig.params["known_runtime_classes"] == "kata"


@pytest.mark.parametrize("case,name", [("node-deleted", "bound-node-deleted"),
                                       ("node-not-ready", "bound-node-not-ready"),
                                       ("node-unreachable", "bound-node-unreachable")])
def test_node_lost(case, name):
    sigs = signals(load(case))
    assert sigs[0].name == name and sigs[0].subject.startswith("Node/")


def test_node_lost_needs_the_node_list():
    snap = load("node-deleted")
    snap = replace(snap, meta=replace(snap.meta, collected=snap.meta.collected - {"Node"}))
    assert signals(snap) == []


def test_init_failing_how_long_and_how_often():
    (sig,) = signals(load("init-crashloop"))
    assert sig.name == "init-container-failing"
    assert sig.params["exit_code"] == 1 and sig.params["restarts"] == 6
    assert sig.params["duration"] == "15m"  # first BackOff 10:00:41 .. now 10:15 → since the pod started 10:00


def test_init_waiting_dependency_threshold_and_deadline():
    snap = load("init-waiting-dependency")
    pod = the_pod(snap)
    started = datetime(2026, 11, 20, 10, 0, 5, tzinfo=timezone.utc)
    assert signals(snap, now=started + timedelta(minutes=5)) == []
    (sig,) = signals(snap, now=started + timedelta(minutes=30))
    assert sig.name == "init-container-stuck" and "no activeDeadlineSeconds" in sig.params["deadline"]
    (sig,) = signals(snap, now=started + timedelta(minutes=30), pod=replace(pod, active_deadline_seconds=3600))
    assert "activeDeadlineSeconds=3600 will fail the whole pod" in sig.params["deadline"]


def test_not_pending_pods_are_not_blocked():
    snap = load("configmap-key-missing")
    pod = replace(the_pod(snap), phase="Running")
    sigs = signals(snap, pod=pod)
    assert sigs and not any(s.blocking for s in sigs)
    assert all("pod Pending" not in s.effects for s in sigs)


def test_terminal_and_unbound_pods_have_no_kubelet_signals():
    snap = load("configmap-key-missing")
    pod = the_pod(snap)
    assert signals(snap, pod=replace(pod, phase="Failed")) == []
    assert signals(snap, pod=replace(pod, node_name="")) == []


def test_running_pods_in_other_cases_are_quiet():
    snap = load("image-not-found")
    ok = next(p for p in snap.pods if p.phase == "Running")
    assert signals(snap, pod=ok) == []


def test_pod_status_line():
    assert kubelet.pod_status_line(the_pod(load("init-oom"))) == \
        "Init:CrashLoopBackOff (init container migrate: OOMKilled, exit 137, 7 restarts)"
    assert kubelet.pod_status_line(the_pod(load("node-deleted"))) == "ContainerCreating"


@pytest.mark.parametrize("n,text", [(512 * MiB, "512Mi"), (1 << 30, "1Gi"), (int(1.5 * (1 << 30)), "1.5Gi"),
                                    (int(6.25 * (1 << 30)), "6.3Gi"), (800 * 1024, "800Ki"), (None, "?")])
def test_fmt_bytes(n, text):
    assert kubelet.fmt_bytes(n) == text


def test_suggested_limits_are_exact_and_never_below_peak_plus_margin():
    for peak in (100 * MiB, 512 * MiB, 5 << 30, 3 * (1 << 30) + 1):
        new = kubelet.suggested_limit(peak)
        assert new >= peak * 1.25 and new % (64 * MiB) == 0
    assert kubelet.fmt_limit(6400 * MiB) == "6400Mi" and kubelet.fmt_limit(2 << 30) == "2Gi"


def test_old_setup_failures_do_not_block_once_a_container_ran():
    snap = load("sandbox-cni")
    pod = the_pod(snap)
    pod = replace(pod, container_statuses=(m.ContainerState(name="app", state="running",
                                                            started_at="2026-11-20T10:14:00Z"),))
    (sig,) = signals(snap, pod=pod)
    assert sig.name == "sandbox-create-failed" and not sig.blocking and sig.confidence < 0.5


def test_no_bleed_blamed_on_an_init_container_that_never_ran():
    snap = load("init-memory-bleed")
    pod = the_pod(snap)
    never_ran = m.ContainerState(name="warmup", state="waiting", reason="ErrImagePull",
                                 message="rpc error: code = NotFound desc = ...: not found",
                                 image="registry.example.com/ml/ranker:2.3")
    sigs = signals(snap, pod=replace(pod, init_container_statuses=(never_ran,)))
    assert [s.name for s in sigs] == ["image-not-found"]
