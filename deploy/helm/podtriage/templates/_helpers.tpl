{{/* Names and labels, as `helm create` lays them out. */}}
{{- define "podtriage.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "podtriage.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "podtriage.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "podtriage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "podtriage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "podtriage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "podtriage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "podtriage.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "podtriage.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "podtriage.claimName" -}}
{{- default (printf "%s-reports" (include "podtriage.fullname" .)) .Values.report.pvc.existingClaim -}}
{{- end -}}

{{/* How podtriage reads the cluster: shared by `snapshot` and `audit` (shell words, quoted). */}}
{{- define "podtriage.clusterArgs" -}}
--timeout {{ .Values.audit.timeout | quote }} --request-timeout {{ .Values.audit.requestTimeout | quote }}
{{- end -}}

{{- define "podtriage.scopeArgs" -}}
{{- if .Values.audit.namespaces -}}
{{- range .Values.audit.namespaces }} -n {{ . | quote }}{{ end -}}
{{- else }} -A{{ end -}}
{{- end -}}

{{/* audit-only arguments: selector, config, metrics, extra arguments. */}}
{{- define "podtriage.auditArgs" -}}
--config /config/audit.yaml --no-progress
{{- if .Values.audit.selector }} -l {{ .Values.audit.selector | quote }}{{ end }}
{{- if .Values.clusterName }} --cluster {{ .Values.clusterName | quote }}{{ end }}
{{- range .Values.audit.extraArgs }} {{ . | quote }}{{ end }}
{{- end -}}

{{- define "podtriage.pushArgs" -}}
{{- if .Values.pushgateway.enabled -}}
--pushgateway {{ required "pushgateway.url is required when pushgateway.enabled" .Values.pushgateway.url | quote }}
{{- end -}}
{{- end -}}

{{/* The watch Deployment's names: its own ServiceAccount (and ClusterRole), apart from the audit's. */}}
{{- define "podtriage.watchName" -}}
{{- printf "%s-watch" (include "podtriage.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "podtriage.watchServiceAccountName" -}}
{{- if .Values.watch.serviceAccount.create -}}
{{- default (include "podtriage.watchName" .) .Values.watch.serviceAccount.name -}}
{{- else -}}
{{- required "watch.serviceAccount.name is required when watch.serviceAccount.create is false" .Values.watch.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "podtriage.watchSelectorLabels" -}}
{{ include "podtriage.selectorLabels" . }}
app.kubernetes.io/component: watch
{{- end -}}

{{/* The resources podtriage reads (podtriage/collect/live.py), as RBAC rules with the given verbs. */}}
{{- define "podtriage.readRules" -}}
{{- $verbs := .verbs -}}
- apiGroups: [""]
  resources: [nodes, namespaces, pods, events, persistentvolumes, persistentvolumeclaims, configmaps,
              resourcequotas, limitranges]
  verbs: {{ $verbs }}
{{- if .secrets }}
# Opted in (rbac.secretMetadata): podtriage lists Secrets as PartialObjectMetadata, names only. RBAC
# cannot enforce that: this token could read Secret data.
- apiGroups: [""]
  resources: [secrets]
  verbs: {{ $verbs }}
{{- end }}
- apiGroups: [apps]
  resources: [deployments, replicasets, statefulsets, daemonsets]
  verbs: {{ $verbs }}
- apiGroups: [batch]
  resources: [jobs, cronjobs]
  verbs: {{ $verbs }}
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: {{ $verbs }}
- apiGroups: [storage.k8s.io]
  resources: [storageclasses, csinodes, csidrivers, csistoragecapacities, volumeattachments]
  verbs: {{ $verbs }}
# Dynamic Resource Allocation (resource.k8s.io/v1): device classes, the devices drivers publish and
# the claims on them. A cluster without DRA serves these empty (or not at all: podtriage says so).
- apiGroups: [resource.k8s.io]
  resources: [deviceclasses, resourceslices, resourceclaims, resourceclaimtemplates]
  verbs: {{ $verbs }}
- apiGroups: [scheduling.k8s.io]
  resources: [priorityclasses]
  verbs: {{ $verbs }}
- apiGroups: [node.k8s.io]
  resources: [runtimeclasses]
  verbs: {{ $verbs }}
# Kueue (kueue.x-k8s.io): the queues, quotas and flavors a gated pod or suspended Job waits on. A
# cluster without Kueue does not serve them: podtriage then says Kueue is not installed.
- apiGroups: [kueue.x-k8s.io]
  resources: [clusterqueues, resourceflavors, workloads, localqueues]
  verbs: {{ $verbs }}
# The VerticalPodAutoscaler that set a pod's requests: its maxAllowed is the fix when they outgrow every node.
- apiGroups: [autoscaling.k8s.io]
  resources: [verticalpodautoscalers]
  verbs: {{ $verbs }}
# KServe: `explain inferenceservice/NAME` finds the predictor's workloads.
- apiGroups: [serving.kserve.io]
  resources: [inferenceservices]
  verbs: {{ $verbs }}
# The NVIDIA GPU Operator's ClusterPolicy: an operand disabled in it is the broken link of the GPU stack.
- apiGroups: [nvidia.com]
  resources: [clusterpolicies]
  verbs: {{ $verbs }}
# The HorizontalPodAutoscaler that added Pending replicas is named as their origin.
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: {{ $verbs }}
# Coscheduling's PodGroup (scheduler-plugins): a gang's minMember.
- apiGroups: [scheduling.x-k8s.io]
  resources: [podgroups]
  verbs: {{ $verbs }}
{{- end -}}

{{/* `podtriage watch` arguments (shell-free: one list item each). */}}
{{- define "podtriage.watchArgs" -}}
- watch
{{- if .Values.watch.namespaces }}
{{- range .Values.watch.namespaces }}
- -n
- {{ . | quote }}
{{- end }}
{{- else }}
- -A
{{- end }}
{{- with .Values.watch.selector }}
- -l
- {{ . | quote }}
{{- end }}
- --listen
- {{ printf ":%d" (int .Values.watch.port) | quote }}
{{- if .Values.watch.perPodMetrics }}
- --per-pod-metrics
{{- end }}
- --config
- /config/audit.yaml
{{- range .Values.watch.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end -}}
