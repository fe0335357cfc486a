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
