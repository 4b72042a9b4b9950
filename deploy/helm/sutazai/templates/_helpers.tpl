{{/* Names: every object is <release>-<part>, cut to 63 characters. */}}
{{- define "sutazai.name" -}}
{{- printf "%s-%s" .root.Release.Name .part | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sutazai.labels" -}}
app.kubernetes.io/name: sutazai
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "sutazai.selector" -}}
app.kubernetes.io/name: sutazai
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sutazai.secret" -}}
{{- required "secrets.existingSecret is required: create a Secret with the keys jwt-secret, redis-password and neo4j-password, and name it here (see deploy/helm/README.md)" .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "sutazai.scheme" -}}{{ if .Values.internalTLS.enabled }}https{{ else }}http{{ end }}{{- end -}}

{{- define "sutazai.serviceUrl" -}}
{{- printf "%s://%s:8000" (include "sutazai.scheme" .root) (include "sutazai.name" (dict "root" .root "part" .service)) -}}
{{- end -}}

{{- define "sutazai.ollamaUrl" -}}
{{- if .Values.ollama.deploy -}}
{{- printf "http://%s:11434" (include "sutazai.name" (dict "root" . "part" "ollama")) -}}
{{- else -}}
{{- required "ollama.url is required when ollama.deploy is false" .Values.ollama.url -}}
{{- end -}}
{{- end -}}

{{/* The environment every SutazAI container gets (a service reads only the settings it knows). */}}
{{- define "sutazai.env" -}}
{{- $root := .root -}}
- name: SUTAZAI_SERVICE_NAME
  value: {{ .service | quote }}
- name: SUTAZAI_ENVIRONMENT
  value: {{ $root.Values.environment | quote }}
- name: SUTAZAI_LOG_LEVEL
  value: {{ $root.Values.logLevel | quote }}
- name: SUTAZAI_STARTUP_TIMEOUT_SECONDS
  value: "120"
- name: SUTAZAI_JWT_SECRET
  valueFrom: {secretKeyRef: {name: {{ include "sutazai.secret" $root }}, key: jwt-secret}}
- name: SUTAZAI_DATABASE_URL
  valueFrom: {secretKeyRef: {name: {{ include "sutazai.name" (dict "root" $root "part" "pg-app") }}, key: uri}}
- name: REDIS_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "sutazai.secret" $root }}, key: redis-password}}
- name: SUTAZAI_REDIS_URL
  value: {{ printf "redis+sentinel://:$(REDIS_PASSWORD)@%s-sentinel:26379/mymaster/0" (include "sutazai.name" (dict "root" $root "part" "redis-sentinel")) | quote }}
{{- range $name := list "identity" "reasoning" "knowledge" "learning" "metacognition" }}
- name: SUTAZAI_{{ upper $name }}_URL
  value: {{ include "sutazai.serviceUrl" (dict "root" $root "service" $name) | quote }}
{{- end }}
- name: SUTAZAI_API_URL
  value: {{ include "sutazai.serviceUrl" (dict "root" $root "service" "reasoning") | quote }}
- name: SUTAZAI_GRAPH_BACKEND
  value: neo4j
- name: SUTAZAI_NEO4J_URL
  value: {{ $root.Values.neo4j.url | quote }}
- name: SUTAZAI_NEO4J_USER
  value: {{ $root.Values.neo4j.user | quote }}
- name: SUTAZAI_NEO4J_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "sutazai.secret" $root }}, key: neo4j-password}}
- name: SUTAZAI_SEARCH_BACKEND
  value: {{ $root.Values.search.backend | quote }}
{{- if eq $root.Values.search.backend "elasticsearch" }}
- name: SUTAZAI_ELASTICSEARCH_URL
  value: {{ required "search.elasticsearch.url is required when search.backend is elasticsearch" $root.Values.search.elasticsearch.url | quote }}
{{- end }}
- name: SUTAZAI_MODEL_BACKEND
  value: ollama
- name: SUTAZAI_OLLAMA_URL
  value: {{ include "sutazai.ollamaUrl" $root | quote }}
- name: SUTAZAI_CHAT_MODEL
  value: {{ $root.Values.ollama.chatModel | quote }}
- name: SUTAZAI_INPROCESS_WORKER
  value: "false"
- name: HOME
  value: /srv/sutazai
{{- if $root.Values.internalTLS.enabled }}
- name: SUTAZAI_TLS_CERT_FILE
  value: /run/tls/tls.crt
- name: SUTAZAI_TLS_KEY_FILE
  value: /run/tls/tls.key
- name: SUTAZAI_TLS_CA_FILE
  value: /run/tls/ca.crt
{{- end }}
{{- end -}}

{{/* Writable scratch space (the root filesystem is read-only) and the internal TLS certificate. */}}
{{- define "sutazai.volumes" -}}
- name: tmp
  emptyDir: {}
- name: home
  emptyDir: {}
{{- if .root.Values.internalTLS.enabled }}
- name: tls
  secret: {secretName: {{ include "sutazai.name" (dict "root" .root "part" (printf "%s-tls" .service)) }}}
{{- end }}
{{- end -}}

{{- define "sutazai.mounts" -}}
- {name: tmp, mountPath: /tmp}
- {name: home, mountPath: /srv/sutazai}
{{- if .root.Values.internalTLS.enabled }}
- {name: tls, mountPath: /run/tls, readOnly: true}
{{- end }}
{{- end -}}

{{- define "sutazai.podSpec" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets: {{ toYaml . | nindent 2 }}
{{- end }}
securityContext: {{ toYaml .root.Values.podSecurityContext | nindent 2 }}
automountServiceAccountToken: false
{{- with .root.Values.nodeSelector }}
nodeSelector: {{ toYaml . | nindent 2 }}
{{- end }}
{{- with .root.Values.tolerations }}
tolerations: {{ toYaml . | nindent 2 }}
{{- end }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels: {{ include "sutazai.selector" (dict "root" .root "component" .component) | nindent 8 }}
volumes: {{ include "sutazai.volumes" . | nindent 2 }}
{{- end -}}
