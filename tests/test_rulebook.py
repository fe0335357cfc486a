"""The rules engine and the built-in catalogue (rules/*.yaml)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from podtriage.errors import InputError, RuleError
from podtriage.findings import CATEGORIES, SEVERITIES, EvidenceItem, Signal
from podtriage.rulebook import (
    BUILTIN_DIR,
    UNMATCHED_RULE,
    Rule,
    RuleSet,
    load_rule_file,
    load_rules,
    placeholders,
    render_rules_markdown,
    render_template,
    validate_dir,
)

REPO = Path(__file__).resolve().parents[1]
RULE_FIXTURES = REPO / "fixtures" / "rules"
BROKEN = RULE_FIXTURES / "broken"
USER = RULE_FIXTURES / "user"

COMMON = {
    "pod": "shop/web-7d4b9-x2x7k",
    "nodes_count": 3,
    "total_nodes": 5,
    "node_examples": "worker-1, worker-2, worker-3",
    "node_example": "worker-1",
}

# Every signal the diagnosis emits: the category its generic rule must have, and realistic params.
SIGNALS: dict[str, tuple[str, dict[str, Any]]] = {
    'bound-node-deleted': ('node-lost', {'node': 'worker-9', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': '', 'message': '', 'workload': 'deployment/web'}),
    'bound-node-not-ready': ('node-lost', {'node': 'worker-2', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': '', 'message': '', 'workload': 'deployment/web', 'condition_reason': 'KubeletNotReady', 'condition_message': 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized', 'since': '75m'}),
    'bound-node-unreachable': ('node-lost', {'node': 'worker-3', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': '', 'message': '', 'workload': 'deployment/web', 'condition_reason': 'NodeStatusUnknown', 'condition_message': 'Kubelet stopped posting node status.', 'since': '75m'}),
    'config-key-missing': ('missing-config-object', {'node': 'worker-1', 'status': 'CreateContainerConfigError', 'container': 'app', 'image': '', 'reason': '', 'message': "couldn't find key DB_HOST in ConfigMap default/app-config", 'workload': 'deployment/shop', 'kind': 'ConfigMap', 'object': 'default/app-config', 'object_name': 'app-config', 'ref': 'env DB_HOST', 'where': 'env DB_HOST of container app', 'kind_lower': 'configmap', 'create_command': 'kubectl -n default patch configmap app-config --type merge -p \'{"data": {"DB_HOST": "VALUE"}}\'', 'key': 'DB_HOST', 'available_keys': 'DB_HOSTNAME, DB_PORT', 'suggestion': ' (did you mean `DB_HOSTNAME`?)', 'suggested_key': 'DB_HOSTNAME'}),
    'config-object-missing': ('missing-config-object', {'node': 'worker-1', 'status': 'CreateContainerConfigError', 'container': 'api', 'image': '', 'reason': '', 'message': 'secret "db-credentials" not found', 'workload': 'deployment/api', 'kind': 'Secret', 'object': 'default/db-credentials', 'object_name': 'db-credentials', 'ref': 'envFrom', 'where': 'envFrom of container api', 'kind_lower': 'secret', 'create_command': 'kubectl -n default create secret generic db-credentials --from-literal=KEY=VALUE', 'suggestion': ' (did you mean `db-credential`?)', 'suggested_name': 'db-credential'}),
    'container-create-error': ('container-config-error', {'node': 'worker-1', 'status': 'CreateContainerConfigError', 'container': 'app', 'image': 'registry.example.com/tools/legacy:7', 'reason': 'CreateContainerConfigError', 'message': 'container has runAsNonRoot and image will run as root (pod: "legacy-0_default(c5c0ed58-9eac-5e3a-a955-fd9af46da58a)", container: app)', 'workload': 'statefulset/legacy', 'hint': 'the image runs as root but the pod requires runAsNonRoot: set securityContext.runAsUser to a non-zero UID or use an image with a non-root USER', 'init': ''}),
    'container-run-error': ('container-config-error', {'node': 'worker-1', 'status': 'RunContainerError', 'container': 'app', 'image': 'registry.example.com/shop/app:1.4.2', 'reason': 'RunContainerError', 'message': 'failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/app/bin/start-server": stat /app/bin/start-server: no such file or directory: unknown', 'workload': 'deployment/shop', 'hint': "the command `/app/bin/start-server` does not exist in the image: fix spec.containers[app].command/args or the image's entrypoint", 'init': ''}),
    'image-name-invalid': ('image-pull', {'node': 'worker-1', 'status': 'InvalidImageName', 'container': 'app', 'image': 'registry.example.com/shop/app:1.4.3', 'reason': 'InvalidImageName', 'message': 'Failed to apply default image tag "nginx:1.25:bad": couldn\'t parse image reference "nginx:1.25:bad": invalid reference format', 'workload': 'deployment/web', 'repository': 'registry.example.com/shop/app', 'tag': '1.4.3', 'registry': 'registry.example.com', 'init': '', 'detail': 'Failed to apply default image tag "nginx:1.25:bad": couldn\'t parse image reference "nginx:1.25:bad": invalid reference format'}),
    'image-never-pull': ('image-pull', {'node': 'worker-1', 'status': 'ErrImageNeverPull', 'container': 'app', 'image': 'registry.example.com/shop/app:1.4.3', 'reason': 'ErrImageNeverPull', 'message': 'Container image "app:dev" is not present with pull policy of Never', 'workload': 'deployment/web', 'repository': 'registry.example.com/shop/app', 'tag': '1.4.3', 'registry': 'registry.example.com', 'init': '', 'detail': 'Container image "app:dev" is not present with pull policy of Never'}),
    'image-not-found': ('image-pull', {'node': 'worker-1', 'status': 'ImagePullBackOff', 'container': 'app', 'image': 'registry.example.com/shop/app:1.4.3', 'reason': 'ImagePullBackOff', 'message': 'Back-off pulling image "registry.example.com/shop/app:1.4.3"', 'workload': 'deployment/web', 'repository': 'registry.example.com/shop/app', 'tag': '1.4.3', 'registry': 'registry.example.com', 'init': '', 'detail': 'rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/shop/app:1.4.3": failed to resolve reference "registry.example.com/shop/app:1.4.3": registry.example.com/shop/app:1.4.3: not found', 'suggested_image': 'registry.example.com/shop/app:1.4.2', 'suggestion_pods': 'default/web-6b5f4c7d9-q7r2m', 'known_images': 'registry.example.com/shop/app:1.4.2', 'fix_command': 'kubectl -n default patch deployment/web -p \'{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"registry.example.com/shop/app:1.4.2"}]}}}}\''}),
    'image-pull-failed': ('image-pull', {'node': 'worker-1', 'status': 'ErrImagePull', 'container': 'app', 'image': 'registry.example.com/shop/app:1.4.3', 'reason': 'ErrImagePull', 'message': 'rpc error: code = Unknown desc = something odd', 'workload': 'deployment/web', 'repository': 'registry.example.com/shop/app', 'tag': '1.4.3', 'registry': 'registry.example.com', 'init': '', 'detail': 'rpc error: code = Unknown desc = something odd'}),
    'image-pull-unauthorized': ('image-pull', {'node': 'worker-1', 'status': 'ErrImagePull', 'container': 'api', 'image': 'registry.example.com/private/api:2.0.1', 'reason': 'ErrImagePull', 'message': 'failed to pull and unpack image "registry.example.com/private/api:2.0.1": failed to resolve reference "registry.example.com/private/api:2.0.1": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://registry.example.com/token?scope=repository%3Aprivate%2Fapi%3Apull&service=registry.example.com: 401 Unauthorized', 'workload': 'statefulset/api', 'repository': 'registry.example.com/private/api', 'tag': '2.0.1', 'registry': 'registry.example.com', 'init': '', 'detail': 'rpc error: code = Unknown desc = failed to pull and unpack image "registry.example.com/private/api:2.0.1": failed to resolve reference "registry.example.com/private/api:2.0.1": failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://registry.example.com/token?scope=repository%3Aprivate%2Fapi%3Apull&service=registry.example.com: 401 Unauthorized', 'pull_secrets': 'regcred (missing)', 'missing_secrets': 'regcred', 'secret': 'regcred', 'service_account': 'default', 'ambiguous': False}),
    'image-registry-unreachable': ('image-pull', {'node': 'worker-1', 'status': 'ImagePullBackOff', 'container': 'worker', 'image': 'registry.internal.example:5000/team/worker:3.1', 'reason': 'ImagePullBackOff', 'message': 'Back-off pulling image "registry.internal.example:5000/team/worker:3.1"', 'workload': 'deployment/worker', 'repository': 'registry.internal.example:5000/team/worker', 'tag': '3.1', 'registry': 'registry.internal.example:5000', 'init': '', 'detail': 'rpc error: code = Unknown desc = failed to pull and unpack image "registry.internal.example:5000/team/worker:3.1": failed to resolve reference "registry.internal.example:5000/team/worker:3.1": failed to do request: Head "https://registry.internal.example:5000/v2/team/worker/manifests/3.1": dial tcp: lookup registry.internal.example on 10.96.0.10:53: no such host'}),
    'init-container-failing': ('init-container-failure', {'node': 'worker-1', 'status': 'Init:CrashLoopBackOff', 'container': 'migrate', 'image': 'registry.example.com/shop/api:3.2.0', 'reason': 'Error', 'message': 'back-off 2m40s restarting failed container=migrate pod=api-5d8f7c6b4-k2j4n_default(2bcf2116-dc84-58bd-a80b-c9dafc88d83e)', 'workload': 'deployment/api', 'exit_code': 1, 'exit_meaning': 'generic error: read its logs', 'restarts': 6, 'duration': '15m', 'since': '2026-11-20T10:00:00Z', 'index': 0, 'init_count': 1, 'runs': 'image registry.example.com/shop/api:3.2.0, command /app/bin/migrate', 'waits_on': '', 'wait_fix': 'Read why it fails, from its previous run, and fix the command, its configuration or the dependency it needs:'}),
    'init-container-oom': ('init-container-oom', {'node': 'worker-1', 'status': 'Init:CrashLoopBackOff', 'container': 'migrate', 'image': 'registry.example.com/shop/api:3.2.0', 'reason': 'OOMKilled', 'message': 'back-off 5m0s restarting failed container=migrate pod=api-7b6c5d4e3-w9x8y_default(06fb2449-f530-521b-bfb0-db1d8dbbb28c)', 'workload': 'deployment/api', 'limit': '512Mi', 'exit_code': 137, 'restarts': 7, 'runs': 8, 'duration': '15m', 'since': '2026-11-20T10:00:00Z', 'peak': 'unknown', 'suggested': '1Gi', 'sizing': 'twice the current 512Mi: no cgroup stats, so the real peak is unknown; measure it with `podtriage node-stats` on worker-1', 'pod_limit': '768Mi', 'pod_limit_formula': 'pod memory limit = max(app containers 768Mi, largest init container 512Mi) = 768Mi', 'pod_limit_after': 'pod memory limit = max(app containers 768Mi, largest init container 1Gi) = 1Gi', 'fix_command': 'kubectl -n default patch deployment/api -p \'{"spec":{"template":{"spec":{"initContainers":[{"name":"migrate","resources":{"limits":{"memory":"1Gi"}}}]}}}}\''}),
    'init-container-stuck': ('init-container-failure', {'node': 'worker-1', 'status': 'Init:0/1', 'container': 'wait-for-db', 'image': 'busybox:1.36', 'reason': 'Running', 'message': '', 'workload': 'deployment/api', 'running_for': '14m', 'started': '2026-11-20T10:00:05Z', 'deadline': 'nothing will stop it: the pod sets no activeDeadlineSeconds, and probes do not apply to init containers, so an init container that never exits blocks the pod forever', 'index': 0, 'init_count': 1, 'runs': 'image busybox:1.36, command sh -c "until nc -z postgres 5432; do sleep 2; done"', 'waits_on': 'it is probably waiting on a dependency', 'wait_fix': 'See what it waits for (a database, a Service, a lock, a download) and make that available, or give the wait a timeout inside the init container:'}),
    'init-memory-bleed': ('init-container-oom', {'node': 'worker-3', 'status': 'Init:CrashLoopBackOff', 'container': 'warmup', 'image': 'registry.example.com/ml/ranker:2.3', 'reason': 'CrashLoopBackOff', 'message': '', 'workload': 'deployment/ranker', 'peak': 'unknown', 'suggested': 'its measured peak + 25%', 'sizing': 'no cgroup stats for it: measure its peak with `podtriage node-stats` on worker-3 (or in a test run) and add 25%', 'pod_limit_formula': 'the pod has no pod-level memory limit because init container warmup has none (the kubelet sets one only when every container has a memory limit)', 'neighbours': 'default/cache-0 (evicted), default/checkout-5c4b3a2d1-v5u4t (OOMKilled), process python3', 'memory_pressure': 'MemoryPressure=True', 'oom_events': 2, 'restarts': 3, 'fix_command': 'kubectl -n default edit deployment/ranker'}),
    'runtime-class-missing': ('runtime-class-missing', {'node': 'worker-1', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': '', 'message': '', 'workload': 'job/untrusted-job-28841760', 'runtime_class': 'gvisor', 'known_runtime_classes': 'kata', 'suggestion': ''}),
    'runtime-handler-missing': ('runtime-class-missing', {'node': 'worker-1', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': '', 'message': 'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to get sandbox runtime: no runtime for "kata" is configured', 'workload': 'deployment/web', 'runtime_class': '', 'handler': 'kata'}),
    'sandbox-create-failed': ('sandbox-failure', {'node': 'worker-3', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': 'FailedCreatePodSandBox', 'message': 'rpc error: code = Unknown desc = failed to setup network for sandbox "9b2f4c6d8e0a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c": plugin type="calico" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized', 'workload': 'deployment/web', 'plugin': 'calico', 'cni': True, 'count': 42}),
    'volume-mount-failed': ('mount-failure', {'node': 'worker-1', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': 'FailedMount', 'message': 'MountVolume.MountDevice failed for volume "pvc-1" : rpc error: code = Internal desc = boom', 'workload': 'deployment/web', 'volume': 'pvc-1'}),
    'volume-mount-helper-missing': ('mount-failure', {'node': 'worker-2', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': 'FailedMount', 'message': 'MountVolume.SetUp failed for volume "shared" : mount failed: exit status 32\nMounting command: mount\nMounting arguments: -t nfs 10.0.5.20:/exports/shared /var/lib/kubelet/pods/a6c4c1f6-7e65-58b6-a125-e3af5aa32d98/volumes/kubernetes.io~nfs/shared\nOutput: mount: /var/lib/kubelet/pods/a6c4c1f6-7e65-58b6-a125-e3af5aa32d98/volumes/kubernetes.io~nfs/shared: bad option; for several filesystems (e.g. nfs, cifs) you might need a /sbin/mount.<type> helper program.\n', 'workload': 'deployment/reports', 'volume': 'shared', 'fs_type': 'nfs', 'helper': '/sbin/mount.nfs', 'package': 'nfs-common (Debian/Ubuntu) or nfs-utils (RHEL/Fedora)'}),
    'volume-mount-timeout': ('mount-failure', {'node': 'worker-1', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': 'FailedMount', 'message': 'Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[], failed to process volumes=[]: timed out waiting for the condition', 'workload': 'deployment/web', 'volumes': 'data', 'unattached': 'none', 'volume': 'data'}),
    'volume-multi-attach': ('mount-failure', {'node': 'worker-2', 'status': 'ContainerCreating', 'container': '', 'image': '', 'reason': 'FailedAttachVolume', 'message': 'Multi-Attach error for volume "pvc-3f1c2a9e-7b4d-4e1a-9c2f-5d6e7f8a9b0c" Volume is already used by pod(s) db-5f7b9c4d8-q8w2z', 'workload': 'deployment/db', 'volume': 'pvc-3f1c2a9e-7b4d-4e1a-9c2f-5d6e7f8a9b0c', 'claim': 'db-data', 'used_by': 'db-5f7b9c4d8-q8w2z'}),
# not generated: []
    "insufficient-resources": (
        "insufficient-resources",
        {"request_source": "set by container `app`", "largest_node": "worker-1", "largest_capacity": "4", "largest_reserved": "80m", "where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", 
            "resource": "cpu",
            "requested": "4",
            "largest_free": "1500m",
            "largest_allocatable": "3500m",
            "fragmented": False,
            "too_large": False,
            "total_free": "3",
            # diagnose/autoscaling.py: the VPA that set the request
            "vpa": "", "vpa_container": "app", "template_request": "500m", "max_allowed": "not set", "vpa_target": "4",
        },
    ),
    "too-many-pods": ("too-many-pods", {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "max_pods": 110}),
    "extended-resource-missing": (
        "extended-resource-missing",
        {"zero_count": 0, "zero_nodes": "", "resource": "nvidia.com/gpu", "requested": "1",
         # diagnose/accelerators.py: the accelerator stack's broken link
         "accelerator_link": "", "component": "device-plugin", "component_title": "NVIDIA device plugin",
         "component_role": "registers nvidia.com/gpu with the kubelet", "vendor": "NVIDIA",
         "link_detail": "device plugin pod gpu-operator/nvidia-device-plugin-daemonset-k2v9n is Running and ready "
                        "on gpu-1, yet the node advertises `nvidia.com/gpu: 0`",
         "problem_nodes": "gpu-1, gpu-2", "problem_count": 2, "hardware_count": 2, "operator": True,
         "hardware_evidence": "gpu-1 (nvidia.com/gpu.present=true), gpu-2 (nvidia.com/gpu.present=true)",
         "other_links": "", "advertised_as": "`nvidia.com/mig-1g.10gb` on gpu-1, gpu-2",
         "suggested_resource": "nvidia.com/mig-1g.10gb", "mig": True, "shared": False,
         "cluster_policy": "cluster-policy", "cp_field": "spec.devicePlugin.enabled",
         "cp_patch": "kubectl patch clusterpolicy cluster-policy --type merge -p "
                     "'{\"spec\":{\"devicePlugin\":{\"enabled\":true}}}'"},
    ),
    "queue-admission": (
        "queue-admission",
        {"what": "Pod team-a/triton-0", "namespace": "team-a", "queue": "team-a-gpu", "workload": "pod-triton-0-b37c8",
         "flavor_fix": "flavor h100: on 2 of its 2 node(s) the pod fails only on nodeSelector pool=a100", "cluster_queue": "team-a", "kueue_message": "couldn't assign flavors to pod set main: insufficient unused "
         "quota for nvidia.com/gpu in flavor a100, 2 more needed", "quota": "flavor a100: nvidia.com/gpu 8 of 8 "
         "nominal used (no cohort to borrow from)", "flavors": "a100", "needed": "2", "resource": "nvidia.com/gpu",
         "local_queues": "team-a-gpu", "queue_state": "waiting", "problem": "its Workload waits in ClusterQueue "
         "`team-a` (3 pending)"},
    ),
    "inference-service-no-predictor": (
        "other",
        {"isvc": "llama3", "namespace": "ml", "reason": "NoSupportingRuntime",
         "message": "No runtime found to support specified framework/version", "model_format": "huggingface",
         "runtime": "(chosen by KServe)"},
    ),
    "gang-partially-placed": (
        "other",
        {"workload": "job/llm-train", "namespace": "ml", "gang": "an Indexed Job of 4 workers that run together",
         "placed": 3, "waiting": 1, "size": 4, "held": "12 nvidia.com/gpu", "waiting_pods": "llm-train-3-h5n3w",
         "placed_nodes": "gpu-1, gpu-2, gpu-3"},
    ),
    "podgroup-min-member-unmet": (
        "other",
        {"pod_group": "llm-train", "namespace": "ml", "min_member": 4, "members": 3, "gap": 1,
         "group_state": "minMember 4; phase Pending", "owner": "job/llm-train",
         "upstream_message": "pre-filter pod llm-train-0-x7k2p cannot find enough sibling pods, current pods "
                             "number: 3, minMember of group: 4"},
    ),
    "hpa-replicas-pending": (
        "other",
        {"hpa": "triton", "workload": "deployment/triton", "namespace": "ml", "min_replicas": 2, "max_replicas": 10,
         "desired": 6, "current": 6, "placed": 4, "waiting": 2, "added": 4, "at_max": False,
         "cap_hint": "it may ask for up to 10 (maxReplicas)", "scaling_limited": "",
         "hpa_patch": '{"spec":{"maxReplicas":4}}'},
    ),
    "job-suspended": (
        "queue-admission",
        {"job": "nightly-eval", "namespace": "ml", "parallelism": 2, "kueue_read": True,
         "unmanaged": "no `kueue.x-k8s.io/queue-name` label, no Kueue Workload owns it"},
    ),
    "extended-resource-exhausted": (
        "insufficient-resources",
        {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "resource": "nvidia.com/gpu", "requested": "2", "total_allocatable": "4",
         "total_free": "0", "largest_free": "0",
         "accelerator_link": "", "holders": "research/llm-0 (4 on gpu-1)", "holder_count": 1,
         "holder_namespaces": "research (4)", "top_holder": "research/llm-0",
         "own_replicas": False, "owner": "replicaset/triton-7c9d5f8b6"},
    ),
    "node-selector-mismatch": (
        "node-selector-mismatch",
        {
            "key": "disktype",
            "value": "nvme",
            "present_values": "ssd (4), hdd (1)",
            "key_absent": False,
            "closest_key": "",
            "closest_value": "",
            "system_label": False,
            "label_nodes": "worker-1 worker-2",
            "expression": "disktype=nvme",
            # diagnose/accelerators.py: a GPU feature discovery label no node has, and why
            "accelerator_link": "", "link_detail": "ClusterPolicy cluster-policy has `spec.gfd.enabled: false`",
            "problem_nodes": "gpu-1, gpu-2", "problem_count": 2, "gfd_fix": "enable it in the ClusterPolicy",
        },
    ),
    "node-affinity-mismatch": (
        "node-affinity-mismatch",
        {
            "expression": "node.kubernetes.io/instance-type in (m5.4xlarge)",
            "key": "node.kubernetes.io/instance-type",
            "present_values": "",
            "closest_value": "",
            "value": "m5.4xlarge",
            "key_absent": False,
            "closest_key": "",
            "field": "nodeAffinity",
            "system_label": False,
            "label_nodes": "worker-1 worker-2",
            # diagnose/accelerators.py: a GPU feature discovery label no node has, and why
            "accelerator_link": "", "link_detail": "ClusterPolicy cluster-policy has `spec.gfd.enabled: false`",
            "problem_nodes": "gpu-1, gpu-2", "problem_count": 2, "gfd_fix": "enable it in the ClusterPolicy",
        },
    ),
    "deprecated-label": (
        "deprecated-label",
        {
            "key": "beta.kubernetes.io/os",
            "current_key": "kubernetes.io/os",
            "value": "linux",
            "field": "nodeSelector",
        },
    ),
    "taint-untolerated": (
        "taint-untolerated",
        {"node_args": "worker-1 worker-2", "where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", 
            "taint": "dedicated=gpu:NoSchedule",
            "key": "dedicated",
            "value": "gpu",
            "effect": "NoSchedule",
            "value_suffix": "=gpu",
        },
    ),
    "taint-effect-mismatch": (
        "taint-effect-mismatch",
        {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", 
            "taint": "dedicated=gpu:NoSchedule",
            "key": "dedicated",
            "value": "gpu",
            "effect": "NoSchedule",
            "toleration": "dedicated=gpu:NoExecute",
            "mismatch": "operator",
            "toleration_effect": "NoExecute",
            "toleration_value": "gpu",
        },
    ),
    "control-plane-taint": (
        "taint-untolerated",
        {"node_args": "worker-1 worker-2", "where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", 
            "taint": "node-role.kubernetes.io/control-plane:NoSchedule",
            "key": "node-role.kubernetes.io/control-plane",
            "single_node": False,
            "pinned": False,
            "intent": "nodeSelector `kubernetes.io/hostname=cp-1`",
            "alternative_clause": " (node worker-1 passes every other filter)",
        },
    ),
    "node-not-ready": (
        "node-not-ready",
        {"condition_type": "DiskPressure", "where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "taint": "node.kubernetes.io/not-ready:NoSchedule", "key": "node.kubernetes.io/not-ready"},
    ),
    "node-unschedulable": ("node-unschedulable", {"node_args": "worker-1 worker-2", "where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`"}),
    "host-port-conflict": (
        "host-port-conflict",
        {"host_network": False, "rollout": False, "workload": "deployment/proxy", "old_revision": "proxy-6d4f9b8c7", "where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "port": 8080, "protocol": "TCP", "holders": "shop/web-old-1"},
    ),
    "pod-affinity": (
        "pod-affinity",
        {
            "topology_key": "kubernetes.io/hostname",
            "selector": "app=cache",
            "reason_detail": "no pod matches the selector",
        },
    ),
    "pod-anti-affinity": (
        "pod-anti-affinity",
        {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", 
            "topology_key": "kubernetes.io/hostname",
            "selector": "app=web",
            "matching_pods": "shop/web-1, shop/web-2",
        },
    ),
    "existing-anti-affinity": (
        "pod-anti-affinity",
        {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "other_pod": "db/postgres-0", "topology_key": "kubernetes.io/hostname"},
    ),
    "topology-spread": (
        "topology-spread",
        {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", 
            "topology_key": "topology.kubernetes.io/zone",
            "max_skew": 1,
            "domain": "eu-west-1a",
            "skew": 2,
            "min_domain": "eu-west-1c",
            "min_count": 0,
            "detail": "zone eu-west-1c has no free node",
            "min_domain_blocked": "",
        },
    ),
    "topology-spread-missing-label": ("topology-spread", {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "topology_key": "topology.kubernetes.io/zone"}),
    "pvc-not-found": ("pvc-not-found", {"claim": "data-web-0"}),
    "pvc-unbound": (
        "pvc-unbound",
        {
            "claim": "data",
            "storage_class": "manual",
            "reason_detail": "no persistent volumes available for this claim",
        },
    ),
    "no-default-storageclass": ("no-default-storageclass", {"claim": "data"}),
    "storageclass-not-found": ("pvc-unbound", {"claim": "data", "storage_class": "fast-ssd"}),
    "volume-node-affinity-conflict": (
        "volume-node-affinity-conflict",
        {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "claim": "data", "pv": "pvc-1234", "detail": "kubernetes.io/hostname in (worker-9)"},
    ),
    "volume-zone-conflict": (
        "volume-node-affinity-conflict",
        {"claim": "data", "pv": "pvc-1234", "zone": "us-east-1a"},
    ),
    "volume-limit-exceeded": ("volume-limit-exceeded", {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "driver": "ebs.csi.aws.com", "limit": 25}),
    "scheduling-gated": ("scheduling-gated", {"gates": "kueue.x-k8s.io/admission"}),
    "scheduler-name-unknown": (
        "scheduler-name-unknown",
        {"scheduler_name": "volcano", "known_schedulers": "default-scheduler"},
    ),
    "no-scheduler-activity": ("scheduler-name-unknown", {"scheduler_name": "default-scheduler", "age": "2h"}),
    "preemption-disabled": ("preemption-priority", {"preemption_policy": "Never", "priority": 1000}),
    "priority-class-missing": ("preemption-priority", {"priority_class": "business-critical"}),
    "preemption-blocked-by-pdb": ("preemption-priority", {"pdbs": "db/postgres-pdb", "node": "worker-2",
                                                          "victims": "db/postgres-1", "victim_count": 1}),
    "preemption-not-attempted": ("preemption-priority", {"reason": 'persistentvolumeclaim "data" not found'}),
    # DRA (issue 13)
    "dra-no-devices": ("dra-devices", {"claim": "ml/train-0-gpu", "request": "gpu", "device_class": "gpu.nvidia.com",
                                       "want": "1 device(s)", "drivers": "none"}),
    "dra-devices-allocated": ("dra-devices", {"claim": "ml/train-0-gpu", "request": "gpu", "want": "2 device(s)",
                                              "device_class": "gpu.nvidia.com", "matching": 4,
                                              "owners": "ml/train-1-gpu (pod ml/train-1)"}),
    "dra-selector-no-match": ("dra-devices", {"claim": "ml/train-0-gpu", "request": "gpu", "of_class": 6,
                                              "device_class": "gpu.nvidia.com",
                                              "selectors": 'device.attributes["gpu.nvidia.com"].model == "h100"',
                                              "hints": "gpu.nvidia.com/model: a100 (4), l4 (2)"}),
    "dra-devices-tainted": ("dra-devices", {"claim": "ml/train-0-gpu", "request": "gpu", "free": 2,
                                            "device_class": "gpu.nvidia.com", "taints": "example.com/unhealthy=yes:NoSchedule",
                                            "devices": "gpu.nvidia.com/worker-1/gpu-1"}),
    "dra-claim-unsatisfiable": ("dra-devices", {"claim": "ml/train-0-gpu", "why": "at most 2 free on one node"}),
    "dra-claim-allocated-elsewhere": ("dra-devices", {"claim": "ml/shared-gpu", "allocated_nodes": "worker-3",
                                                      "devices": "gpu.nvidia.com/worker-3/gpu-0",
                                                      "blocked_there": "worker-3: Insufficient cpu"}),
    "dra-device-class-missing": ("dra-devices", {"claim": "ml/train-0-gpu", "request": "gpu",
                                                 "device_class": "gpu.nvidia.com"}),
    "dra-claim-missing": ("dra-devices", {"claim": "train-0-gpu", "pod_claim": "gpu", "problem": "does not exist",
                                          "template": "gpu-template"}),
    "dra-selector-error": ("dra-devices", {"error": 'running "DynamicResources" filter plugin: CEL runtime error'}),
    "dra-not-verified": ("dra-devices", {"why": "ResourceSlices were not read"}),
    "node-features-missing": ("node-features", {"missing": "RestartAllContainersOnContainerExits"}),
    "csi-driver-not-installed": ("csi-driver-missing", {"driver": "ebs.csi.aws.com"}),
    "storage-capacity-exhausted": ("pvc-unbound", {"claim": "data", "requested": "50Gi", "provisioner": "lvm.csi.io",
                                                   "storage_class": "local-lvm"}),
    "pv-not-found": ("pvc-unbound", {"claim": "data", "pv": "pvc-3f2a", "reason": 'persistentvolume "pvc-3f2a" not found'}),
    "ephemeral-pvc-conflict": ("pvc-unbound", {"claim": "train-0-scratch", "owner": "Pod/old-train-0",
                                               "reason": "PVC ml/train-0-scratch was not created for pod ml/train-0"}),
    "preemption-pending": ("preemption-priority", {"nominated_node": "worker-4"}),
    "preemption-cannot-help": ("preemption-priority", {"priority": 0, "why": "every pod on them has priority 0 "
                                                       "or higher", "shortfall": "batch-1: short of 1500m cpu"}),
    "preemption-can-help": ("preemption-priority", {"priority": 1000, "helping_nodes": 1, "pdbs": "none",
                                                    "victims": "2 pod(s) of lower priority on batch-1"}),
    "autoscaler-no-scale-up": (
        "autoscaler-no-scale-up",
        {"reasons": "2 node(s) didn't match Pod's node affinity/selector", "max_size_reached": False,
         "target_groups": "batch (eks.amazonaws.com/nodegroup)", "new_node_check": ""},
    ),
    "autoscaler-scale-up": ("other", {"groups": "[{eks-workers-1 3->4 (max: 10)}]"}),
    "quota-exceeded": (
        "quota-exceeded",
        {
            "quota": "compute",
            "resources": "requests.cpu: requested 2, used 9, limited 10",
            "owner": "shop/web-7d4b9",
            # diagnose/accelerators.py: who holds an accelerator quota
            "accelerator": "nvidia.com/gpu", "quota_holders": "", "quota_holder_count": 0,
        },
    ),
    "quota-missing-limits": (
        "quota-exceeded",
        {"quota": "compute", "detail": "must specify limits.cpu for: app", "owner": "shop/web-7d4b9"},
    ),
    "limit-range-violation": (
        "limit-range-violation",
        {"detail": "maximum memory usage per Container is 1Gi, but limit is 2Gi", "owner": "shop/web-7d4b9"},
    ),
    "admission-rejected": (
        "admission-rejected",
        {"detail": 'violates PodSecurity "restricted:latest"', "owner": "shop/web-7d4b9"},
    ),
    "no-nodes": ("other", {}),
    "volume-restriction-conflict": (
        "other",
        {
            "detail": "node has pod using PersistentVolumeClaim with the same "
            "name and ReadWriteOncePod access mode"
        },
    ),
    "scheduler-refuses": (
        "scheduler-unreproduced",
        {"scheduler_message": "0/3 nodes are available: 3 node(s) didn't satisfy plugin(s) [ExampleGate].",
         "last_attempt": "2026-11-20T10:14:31Z", "unknown_reasons": "3 node(s) didn't satisfy plugin(s) [ExampleGate]",
         "mode": "refuses"},
    ),
    "placement-conflict": (
        "placement-conflict",
        {"terms": "nodeSelector `pool=batch` matches 2 node(s) (batch-1, batch-2); a request for `nvidia.com/gpu` "
                  "matches 1 node(s) (gpu-1)", "term_count": 2},
    ),
    "unknown-scheduling-failure": ("other", {"where": "3 of the 4 node(s) the pod asks for with nodeSelector `pool=gpu`", "reason": "node(s) didn't satisfy plugin(s) [MyFilter]"}),
}


def sig(name: str, **params: Any) -> Signal:
    base = {**COMMON, **SIGNALS[name][1], **params} if name in SIGNALS else {**COMMON, **params}
    return Signal(
        name=name,
        params=base,
        nodes=("worker-1", "worker-2", "worker-3"),
        evidence=(EvidenceItem(kind="node-verdict", summary="3 node(s) rejected", source="test"),),
    )


def matched_id(rules: RuleSet, signal: Signal) -> str | None:
    rule = rules.match(signal)
    return rule.id if rule else None


@pytest.fixture(scope="module")
def builtin() -> RuleSet:
    return load_rules()


# --- the built-in catalogue ----------------------------------------------------------------------


def test_builtin_dir_is_the_rules_folder() -> None:
    assert BUILTIN_DIR.is_dir()
    assert BUILTIN_DIR.resolve() == (REPO / "rules").resolve()


def test_builtin_rules_validate_cleanly() -> None:
    assert validate_dir(REPO / "rules") == []


def test_builtin_rules_are_well_formed(builtin: RuleSet) -> None:
    assert len(builtin) >= len(SIGNALS)
    for rule in builtin:
        assert Path(rule.path).name == f"{rule.id}.yaml", "file name = rule id + .yaml"
        assert rule.builtin
        assert rule.category in CATEGORIES and rule.severity in SEVERITIES
        assert set(rule.doc) == {"what", "why", "example", "fix"}, f"{rule.id}: ruff-style doc sections"
        assert rule.references and all(u.startswith("https://") for u in rule.references), rule.id


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_every_signal_has_a_rule_with_the_right_category(builtin: RuleSet, name: str) -> None:
    category, _params = SIGNALS[name]
    generic = [r for r in builtin.candidates(name) if not r.when]
    assert len(generic) == 1, f"{name}: exactly one generic rule"
    assert generic[0].category == category
    rule = builtin.match(sig(name))
    assert rule is not None and rule.category == category


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_builtin_templates_use_only_documented_params(builtin: RuleSet, name: str) -> None:
    known = set(COMMON) | set(SIGNALS[name][1]) | {"namespace", "pod_name", "nodes", "subject", "signal"}
    for rule in builtin.candidates(name):
        for text in (rule.message, rule.fix, rule.fix_command):
            unknown = set(placeholders(text)) - known
            assert not unknown, f"{rule.id} uses undocumented params {unknown}"


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_builtin_messages_render_completely(builtin: RuleSet, name: str) -> None:
    [rc] = builtin.apply([sig(name)])
    for text in (rc.message, rc.fix, rc.fix_command):
        assert not re.search(r"<\w+\?>", text), f"{rc.rule}: unfilled placeholder in {text!r}"
    assert rc.message and rc.fix


def test_severity_follows_blocking(builtin: RuleSet) -> None:
    assert builtin.get("preemption-pending").severity == "info"
    assert builtin.get("autoscaler-scale-up").severity == "info"
    assert builtin.get("autoscaler-scale-up").category == "other"
    assert builtin.get("taint-untolerated").severity == "critical"


def test_messages_name_the_exact_objects(builtin: RuleSet) -> None:
    [rc] = builtin.apply([sig("taint-untolerated")])
    assert rc.rule == "taint-untolerated"
    assert "`dedicated=gpu:NoSchedule`" in rc.message and "shop/web-7d4b9-x2x7k" in rc.message
    assert rc.fix_command == "kubectl taint nodes worker-1 worker-2 dedicated=gpu:NoSchedule-"  # every node
    assert 'key: "dedicated"' in rc.fix and 'effect: "NoSchedule"' in rc.fix

    [rc] = builtin.apply([sig("node-unschedulable")])
    assert rc.fix_command == "kubectl uncordon worker-1 worker-2"  # every cordoned node

    [rc] = builtin.apply([sig("node-selector-mismatch")])
    # Nodes carry disktype with other values: the fix is the selector, never relabelling them.
    assert rc.fix_command == "" and "kubectl label" not in rc.fix
    assert "ssd (4), hdd (1)" in rc.message and "ssd (4), hdd (1)" in rc.fix

    [rc] = builtin.apply([sig("scheduling-gated")])
    assert rc.fix_command.startswith(
        'kubectl patch pod web-7d4b9-x2x7k -n shop --type=json -p \'[{"op":"remove"'
    )

    [rc] = builtin.apply([sig("no-default-storageclass")])
    assert (
        '{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":"true"}}}'
        in rc.fix_command
    )


# --- rule selection: priority and `when` ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("insufficient-resources", {}, "insufficient-resources"),
        ("insufficient-resources", {"too_large": True}, "pod-larger-than-any-node"),
        ("quota-exceeded", {"quota_holders": "deployment/llm-train (4)"}, "accelerator-quota-exhausted"),
        ("insufficient-resources", {"fragmented": True}, "resources-fragmented"),
        ("insufficient-resources", {"requested": "?"}, "insufficient-resources-no-node-data"),
        ("node-selector-mismatch", {}, "node-selector-mismatch"),
        ("node-selector-mismatch", {"key_absent": True, "present_values": ""}, "node-selector-key-absent"),
        ("node-selector-mismatch", {"closest_value": "ssd"}, "node-selector-typo"),
        (
            "node-selector-mismatch",
            {"key_absent": True, "closest_key": "disk-type"},
            "node-selector-key-typo",
        ),
        ("node-affinity-mismatch", {}, "node-affinity-mismatch"),
        ("node-affinity-mismatch", {"present_values": "m6i.4xlarge (5)"}, "node-affinity-value-mismatch"),
        (
            "node-affinity-mismatch",
            {"present_values": "m6i (5)", "closest_value": "m6i"},
            "node-affinity-typo",
        ),
        ("taint-effect-mismatch", {"mismatch": "effect"}, "toleration-effect-mismatch"),
        ("taint-effect-mismatch", {"mismatch": "value"}, "toleration-value-mismatch"),
        ("taint-effect-mismatch", {"mismatch": "effect or value"}, "taint-effect-mismatch"),
        ("control-plane-taint", {"single_node": True}, "single-node-control-plane-taint"),
        ("control-plane-taint", {"pinned": True}, "control-plane-selected"),
        ("extended-resource-missing", {"zero_count": 2, "zero_nodes": "gpu-1, gpu-2"}, "extended-resource-advertised-zero"),
        ("extended-resource-missing", {"zero_count": 2, "accelerator_link": "no-devices"},
         "accelerator-plugin-sees-no-devices"),
        ("extended-resource-missing", {"zero_count": 2, "accelerator_link": "registered-zero"},
         "extended-resource-advertised-zero"),
        ("extended-resource-missing", {"accelerator_link": "other-name"}, "accelerator-requested-under-other-name"),
        ("extended-resource-missing", {"accelerator_link": "failing"}, "accelerator-component-failing"),
        ("extended-resource-missing", {"accelerator_link": "not-tolerated"}, "accelerator-component-not-scheduled"),
        ("extended-resource-missing", {"accelerator_link": "deploy-label"}, "accelerator-component-not-scheduled"),
        ("extended-resource-missing", {"accelerator_link": "mig"}, "accelerator-mig-unsettled"),
        ("extended-resource-missing", {"accelerator_link": "absent"}, "accelerator-device-plugin-absent"),
        ("extended-resource-missing", {"accelerator_link": "disabled"}, "accelerator-component-disabled"),
        ("node-selector-mismatch", {"key_absent": True, "accelerator_link": "disabled"},
         "node-selector-gpu-feature-label-absent"),
        ("node-affinity-mismatch", {"key_absent": True, "accelerator_link": "failing"},
         "node-affinity-gpu-feature-label-absent"),
        ("extended-resource-exhausted", {"accelerator_link": "exhausted"}, "accelerator-exhausted-held"),
        ("extended-resource-exhausted", {"accelerator_link": "exhausted", "own_replicas": True},
         "accelerator-exhausted-by-own-replicas"),
        ("queue-admission", {"queue_state": "quota-exhausted"}, "kueue-quota-exhausted"),
        ("queue-admission", {"queue_state": "exceeds-quota"}, "kueue-request-exceeds-quota"),
        ("queue-admission", {"queue_state": "localqueue-missing"}, "kueue-queue-missing"),
        ("queue-admission", {"queue_state": "clusterqueue-inactive"}, "kueue-queue-missing"),
        ("queue-admission", {"queue_state": "resource-not-covered"}, "kueue-resource-not-covered"),
        ("queue-admission", {"queue_state": "flavor-no-nodes"}, "kueue-flavor-unusable"),
        ("queue-admission", {"queue_state": "no-workload"}, "kueue-no-workload"),
        ("queue-admission", {"queue_state": "deactivated"}, "kueue-workload-inactive"),
        ("queue-admission", {"queue_state": "waiting"}, "queue-admission-pending"),
        ("insufficient-resources", {"too_large": True, "vpa": "api-vpa"}, "vpa-request-beyond-nodes"),
        ("insufficient-resources", {"too_large": True}, "pod-larger-than-any-node"),
        ("quota-exceeded", {"quota_holders": "deployment/llm-train (4)"}, "accelerator-quota-exhausted"),
        ("host-port-conflict", {"rollout": True}, "host-port-rollout-deadlock"),
        ("host-port-conflict", {"host_network": True}, "host-port-conflict-host-network"),
        ("node-selector-mismatch", {"key_absent": True, "system_label": True}, "node-selector-system-label-absent"),
        ("node-affinity-mismatch", {"key_absent": True, "system_label": True}, "node-affinity-system-label-absent"),
        ("scheduler-refuses", {"mode": "unmodelled"}, "scheduler-reason-unmodelled"),
        ("node-not-ready", {"key": "node.kubernetes.io/unreachable"}, "node-unreachable"),
        ("node-not-ready", {"key": "node.kubernetes.io/disk-pressure"}, "node-under-pressure"),
        ("autoscaler-no-scale-up", {"max_size_reached": True}, "autoscaler-max-size-reached"),
    ],
)
def test_specific_variants_win_by_priority(builtin: RuleSet, name: str, params: dict, expected: str) -> None:
    assert matched_id(builtin, sig(name, **params)) == expected


def test_typo_rule_says_did_you_mean(builtin: RuleSet) -> None:
    [rc] = builtin.apply([sig("node-selector-mismatch", value="SSD", closest_value="ssd")])
    assert rc.rule == "node-selector-typo"
    assert "did you mean `disktype=ssd`?" in rc.message


def _rule(
    rule_id: str, when: dict | None = None, priority: int = 0, builtin: bool = False, **kw: Any
) -> Rule:
    return Rule(
        id=rule_id,
        category="other",
        severity="high",
        title=rule_id,
        signal="s",
        when=when or {},
        priority=priority,
        message=kw.get("message", rule_id),
        fix="fix",
        builtin=builtin,
    )


@pytest.mark.parametrize(
    ("cond", "params", "holds"),
    [
        ("NoSchedule", {"x": "NoSchedule"}, True),
        ("NoSchedule", {"x": "NoExecute"}, False),
        ("NoSchedule", {}, False),
        (1, {"x": "1"}, True),  # string comparison of str(value)
        (True, {"x": True}, True),
        (True, {"x": False}, False),
        ({"in": ["NoSchedule", "NoExecute"]}, {"x": "NoExecute"}, True),
        ({"in": ["NoSchedule", "NoExecute"]}, {"x": "PreferNoSchedule"}, False),
        ({"not_in": ["a"]}, {"x": "b"}, True),
        ({"regex": "^gpu-"}, {"x": "gpu-a100"}, True),
        ({"regex": "^gpu-"}, {"x": "cpu"}, False),
        ({"exists": True}, {"x": "v"}, True),
        ({"exists": True}, {"x": ""}, False),
        ({"exists": True}, {}, False),
        ({"exists": False}, {}, True),
    ],
)
def test_when_operators(cond: Any, params: dict, holds: bool) -> None:
    rule = _rule("r", when={"x": cond})
    assert rule.matches(Signal(name="s", params=params)) is holds


def test_when_requires_every_entry() -> None:
    rule = _rule("r", when={"a": "1", "b": {"in": ["x", "y"]}})
    assert rule.matches(Signal(name="s", params={"a": 1, "b": "y"}))
    assert not rule.matches(Signal(name="s", params={"a": 1, "b": "z"}))
    assert not rule.matches(Signal(name="other", params={"a": 1, "b": "y"}))


def test_match_prefers_priority_then_user_rule_then_file_order() -> None:
    s = Signal(name="s", params={})
    assert (
        matched_id(RuleSet((_rule("low", builtin=True), _rule("high", priority=5, builtin=True))), s)
        == "high"
    )
    assert matched_id(RuleSet((_rule("builtin", builtin=True), _rule("user"))), s) == "user"
    assert matched_id(RuleSet((_rule("first"), _rule("second"))), s) == "first"
    assert RuleSet((_rule("nope", when={"k": "v"}, priority=9),)).match(s) is None


# --- templates ----------------------------------------------------------------------------------------


def test_render_template() -> None:
    params = {"taint": "a=b:NoSchedule", "nodes": ["n1", "n2"], "count": 3, "flag": True, "none": None}
    assert render_template("taint `{taint}` on {count}", params) == "taint `a=b:NoSchedule` on 3"
    assert render_template("{nodes}", params) == "n1, n2"
    assert render_template("{flag}/{none}.", params) == "true/."
    assert render_template("{missing} and {taint}", params) == "<missing?> and a=b:NoSchedule"
    assert render_template("{{literal}} {count}", params) == "{literal} 3"
    assert render_template("{count:>3}|", params) == "  3|"
    assert render_template("broken {", params) == "broken {"  # never raises


def test_unknown_placeholder_does_not_raise(builtin: RuleSet) -> None:
    [rc] = builtin.apply([Signal(name="taint-untolerated", params={"pod": "a/b"})])
    assert "<taint?>" in rc.message and "a/b" in rc.message


def test_apply_copies_signal_fields(builtin: RuleSet) -> None:
    ev = EvidenceItem(kind="event", summary="FailedScheduling", source="Event shop/x")
    s = Signal(
        name="pvc-not-found",
        params={**COMMON, "claim": "data"},
        evidence=(ev,),
        confidence=0.7,
        nodes=("a", "b"),
        subject="PersistentVolumeClaim/shop/data",
        blocking=True,
    )
    [rc] = load_rules().apply([s])
    assert (rc.rule, rc.category, rc.signal) == ("pvc-not-found", "pvc-not-found", "pvc-not-found")
    assert rc.evidence == (ev,) and rc.confidence == 0.7 and rc.nodes == ("a", "b")
    assert rc.subject == "PersistentVolumeClaim/shop/data" and rc.blocking
    assert rc.references and rc.title
    assert "`data`" in rc.message and "namespace shop" in rc.message


def test_unmatched_signal_is_kept(builtin: RuleSet) -> None:
    s = Signal(name="brand-new-thing", params={"widget": "w1", "pod": "a/b"}, blocking=False)
    causes = builtin.apply([sig("taint-untolerated"), s])
    assert len(causes) == 2
    rc = causes[1]
    assert (rc.rule, rc.category, rc.severity) == (UNMATCHED_RULE, "other", "medium")
    assert "brand-new-thing" in rc.message and "widget=w1" in rc.message
    assert rc.signal == "brand-new-thing" and rc.blocking is False


def test_get_suggests_close_ids(builtin: RuleSet) -> None:
    assert builtin.get("taint-untolerated").signal == "taint-untolerated"
    with pytest.raises(InputError) as exc:
        builtin.get("taint-untolerate")
    assert not isinstance(exc.value, KeyError)
    assert "taint-untolerated" in (exc.value.hint or "")


# --- user rules ------------------------------------------------------------------------------------


def test_user_rules_override_builtins() -> None:
    rules = load_rules([USER])
    gpu = sig("taint-untolerated", key="nvidia.com/gpu", taint="nvidia.com/gpu=present:NoSchedule")
    other = sig("taint-untolerated")
    assert matched_id(rules, gpu) == "gpu-taint"  # same priority as the built-in: the user rule wins
    assert matched_id(rules, other) == "taint-untolerated"  # its `when` does not hold: the built-in stays
    # same id as a built-in: replaces it
    no_nodes = [r for r in rules if r.id == "no-nodes"]
    assert len(no_nodes) == 1 and not no_nodes[0].builtin
    assert "Karpenter" in rules.apply([sig("no-nodes")])[0].message
    # a new category from the taxonomy, for a signal the built-ins do not know
    assert rules.get("spot-interruption").category == "node-lost"


def test_user_rules_only() -> None:
    rules = load_rules([USER], include_builtin=False)
    assert sorted(rules.ids) == ["gpu-taint", "no-nodes", "spot-interruption"]
    assert all(not r.builtin for r in rules)


def test_duplicate_ids_across_user_dirs() -> None:
    with pytest.raises(RuleError) as exc:
        load_rules([USER, RULE_FIXTURES / "user-duplicate"])
    err = exc.value
    assert err.field == "id" and err.line == 2
    assert err.path.endswith("user-duplicate/gpu-taint.yaml")
    assert "user/gpu-taint.yaml" in err.message  # names both files


def test_missing_rules_dir() -> None:
    with pytest.raises(RuleError, match="not found"):
        load_rules([RULE_FIXTURES / "does-not-exist"])


# --- broken rule files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "line", "field", "text"),
    [
        ("syntax-error.yaml", 8, None, "YAML syntax error"),
        ("unknown-category.yaml", 2, "category", "did you mean 'taint-untolerated'"),
        ("missing-fix.yaml", 1, "fix", "required field is missing"),
        ("bad-when-operator.yaml", 10, "match.when.effect.inn", "unknown operator 'inn'"),
        ("bad-placeholder.yaml", 7, "message", "bad template syntax"),
        ("unknown-field.yaml", 9, "referenses", "did you mean 'references'"),
    ],
)
def test_broken_rule_file(file: str, line: int, field: str | None, text: str) -> None:
    with pytest.raises(RuleError) as exc:
        load_rule_file(BROKEN / file)
    err = exc.value
    assert err.path == str(BROKEN / file)
    assert (err.line, err.field) == (line, field)
    assert text in err.message
    assert err.message.startswith(f"{BROKEN / file}:{line}: ")


def test_load_rules_raises_on_first_broken_file(tmp_path: Path) -> None:
    shutil.copy(BROKEN / "unknown-category.yaml", tmp_path)
    with pytest.raises(RuleError) as exc:
        load_rules([tmp_path])
    assert exc.value.path == str(tmp_path / "unknown-category.yaml") and exc.value.line == 2


def test_duplicate_id_in_one_dir_names_both_files(tmp_path: Path) -> None:
    for name in ("duplicate-a.yaml", "duplicate-b.yaml"):
        shutil.copy(BROKEN / name, tmp_path)
    with pytest.raises(RuleError) as exc:
        load_rules([tmp_path], include_builtin=False)
    err = exc.value
    assert err.path == str(tmp_path / "duplicate-b.yaml") and err.field == "id" and err.line == 1
    assert str(tmp_path / "duplicate-a.yaml") in err.message


def test_validate_dir_lists_every_problem() -> None:
    errors = validate_dir(BROKEN)
    found = {(Path(e.path).name, e.line, e.field) for e in errors}
    assert found == {
        ("bad-placeholder.yaml", 7, "message"),
        ("bad-placeholder.yaml", 8, "fix"),  # two problems in one file are both reported
        ("bad-when-operator.yaml", 10, "match.when.effect.inn"),
        ("duplicate-b.yaml", 1, "id"),
        ("missing-fix.yaml", 1, "fix"),
        ("syntax-error.yaml", 8, None),
        ("unknown-category.yaml", 2, "category"),
        ("unknown-field.yaml", 9, "referenses"),
    }


@pytest.mark.parametrize(
    ("body", "field", "line"),
    [
        ("severity: urgent\n", "severity", 3),
        ("priority: high\n", "priority", 3),
        ("match: {signal: s, when: {k: {in: notalist}}}\n", "match.when.k.in", 3),
        ("match: {signal: s, when: {k: {regex: '('}}}\n", "match.when.k.regex", 3),
        ("match: {signal: s, when: {k: {exists: maybe}}}\n", "match.when.k.exists", 3),
        ("match: {signal: s, when: {k: [a, b]}}\n", "match.when.k", 3),
        ("match: {sginal: s}\n", "match.sginal", 3),
        ("doc: {what: x, how: y}\n", "doc.how", 3),
        ("references: https://example.com\n", "references", 3),
        ("fix_command: 'kubectl {x.y}'\n", "fix_command", 3),
        ("id: Not_Kebab\n", "id", 3),
    ],
)
def test_field_validation(tmp_path: Path, body: str, field: str, line: int) -> None:
    base = {
        "id": "id: ok-rule\n",
        "category": "category: other\n",
        "severity": "severity: low\n",
        "title": "title: T\n",
        "match": "match: {signal: s}\n",
        "message": "message: m\n",
        "fix": "fix: f\n",
    }
    key = body.split(":", 1)[0]
    lines = [v for k, v in base.items() if k != key]
    lines.insert(2, body)
    path = tmp_path / "rule.yaml"
    path.write_text("".join(lines))
    with pytest.raises(RuleError) as exc:
        load_rule_file(path)
    assert (exc.value.field, exc.value.line) == (field, line)


def test_safe_loader_only(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text(
        "id: evil\ncategory: other\nseverity: low\ntitle: !!python/object/apply:os.getcwd []\n"
        "match: {signal: s}\nmessage: m\nfix: f\n"
    )
    with pytest.raises(RuleError) as exc:
        load_rule_file(path)
    assert exc.value.line == 4


# --- docs --------------------------------------------------------------------------------------------


def test_markdown_lists_every_rule(builtin: RuleSet) -> None:
    md = render_rules_markdown(builtin)
    for rule in builtin:
        assert f"## {rule.id}\n" in md
        assert f"[`{rule.id}`](#{rule.id})" in md
    assert "### Why the pod stays Pending" in md
    assert md.count("```") % 2 == 0


def test_docs_rules_md_is_up_to_date(builtin: RuleSet) -> None:
    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == render_rules_markdown(builtin), (
        "regenerate with: python -m podtriage.rulebook > docs/rules.md"
    )


def test_owner_targets_get_their_namespace(builtin: RuleSet) -> None:
    s = Signal(
        name="quota-exceeded",
        params={
            **SIGNALS["quota-exceeded"][1],
            "pod": "ReplicaSet/shop/web-7d4b9",
            "owner": "ReplicaSet/shop/web-7d4b9",
        },
    )
    [rc] = builtin.apply([s])
    assert rc.fix_command == "kubectl describe resourcequota -n shop"
