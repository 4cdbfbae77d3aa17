{{- define "vigil.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 53 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 53 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vigil.labels" -}}
app.kubernetes.io/name: vigil
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "vigil.selector" -}}
app.kubernetes.io/name: vigil
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "vigil.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "vigil.secretName" -}}
{{ .Values.server.existingSecret | default (include "vigil.fullname" .) }}
{{- end -}}

{{- define "vigil.scheme" -}}
{{ if .Values.tls.enabled }}https{{ else }}http{{ end }}
{{- end -}}

{{- define "vigil.serverURL" -}}
{{ include "vigil.scheme" . }}://{{ include "vigil.fullname" . }}.{{ .Release.Namespace }}.svc:{{ .Values.server.service.port }}
{{- end -}}

{{/* A generated secret value that survives upgrades: reuse what the cluster holds. */}}
{{- define "vigil.secretValue" -}}
{{- $given := index . 0 -}}{{- $key := index . 1 -}}{{- $ctx := index . 2 -}}
{{- if $given -}}
{{- $given | b64enc -}}
{{- else -}}
{{- $existing := lookup "v1" "Secret" $ctx.Release.Namespace (include "vigil.fullname" $ctx) -}}
{{- if and $existing (index ($existing.data | default dict) $key) -}}
{{- index $existing.data $key -}}
{{- else -}}
{{- randAlphaNum 32 | b64enc -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Changes when a given secret value changes, so pods restart; generated values
     are kept across upgrades and do not count. */}}
{{- define "vigil.secretChecksum" -}}
{{ list .Values.server.existingSecret .Values.server.adminPassword .Values.agent.token .Values.smtp.password | toJson | sha256sum }}
{{- end -}}
