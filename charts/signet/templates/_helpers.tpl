{{/* Chart name, or nameOverride. */}}
{{- define "signet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Full name of the release's objects. It is also the Service name, which the serving certificate names
and which must be a DNS label: at most 63 characters.
*/}}
{{- define "signet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "signet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "signet.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "signet.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "signet.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "signet.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "signet.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name must name an existing service account when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding tls.crt, tls.key and ca.crt; also the name of the cert-manager Certificate. */}}
{{- define "signet.tlsSecretName" -}}
{{- printf "%s-tls" (include "signet.fullname" .) -}}
{{- end -}}

{{- define "signet.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Names the serving certificate must carry, comma-separated. The API server dials
<service>.<namespace>.svc; the others cover clients inside the cluster that use a shorter form.
*/}}
{{- define "signet.dnsNames" -}}
{{- $service := include "signet.fullname" . -}}
{{- $namespace := .Release.Namespace -}}
{{- join "," (list $service (printf "%s.%s" $service $namespace) (printf "%s.%s.svc" $service $namespace) (printf "%s.%s.svc.cluster.local" $service $namespace)) -}}
{{- end -}}

{{/*
namespaceSelector of both webhooks. The release namespace is always exempt so that a webhook that is
down never blocks the pods that would bring it back.
*/}}
{{- define "signet.namespaceSelector" -}}
{{- $exempt := prepend .Values.webhook.exemptNamespaces .Release.Namespace | uniq -}}
{{- $byName := dict "key" "kubernetes.io/metadata.name" "operator" "NotIn" "values" $exempt -}}
{{- toYaml (dict "matchExpressions" (prepend .Values.webhook.namespaceSelectorExpressions $byName)) -}}
{{- end -}}

{{/*
matchConditions of both webhooks (evaluated by the API server before it calls Signet). Signet's own
service account never creates workloads; skipping it means Signet can never wait on itself.
*/}}
{{- define "signet.matchConditions" -}}
{{- $self := printf "system:serviceaccount:%s:%s" .Release.Namespace (include "signet.serviceAccountName" .) -}}
{{- $own := dict "name" "exclude-signet-service-account" "expression" (printf "request.userInfo.username != '%s'" $self) -}}
{{- toYaml (prepend .Values.webhook.extraMatchConditions $own) -}}
{{- end -}}

{{/*
Grace period: the preStop sleep, then Signet's drain after SIGTERM (--drain-period, 5 s by default:
still serving, connections told to close), then in-flight reviews finish (at most timeoutSeconds),
plus a margin for the process to exit before the kubelet sends SIGKILL.
*/}}
{{- define "signet.terminationGracePeriodSeconds" -}}
{{- add .Values.preStopSleepSeconds 5 .Values.webhook.timeoutSeconds 5 -}}
{{- end -}}

{{/*
Seconds in a Go duration such as 2160h or 1h30m (cert-manager's format; the schema allows h, m, s and
ms). Sprig has no duration parser, so the number-unit pairs are summed here.
*/}}
{{- define "signet.durationSeconds" -}}
{{- $total := 0.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|h|m|s)" . -1 -}}
{{- $unit := regexFind "(ms|h|m|s)$" . -}}
{{- $total = addf $total (mulf (trimSuffix $unit . | float64) (get (dict "h" 3600.0 "m" 60.0 "s" 1.0 "ms" 0.001) $unit)) -}}
{{- end -}}
{{- $total -}}
{{- end -}}
