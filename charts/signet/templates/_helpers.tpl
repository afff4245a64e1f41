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

{{/* The bundled Redis's object names: the full name with "-redis", still a DNS label. */}}
{{- define "signet.redisName" -}}
{{- printf "%s-redis" (include "signet.fullname" . | trunc 57 | trimSuffix "-") -}}
{{- end -}}

{{/*
Selector labels of the bundled Redis. Its name is not "signet", so the webhook's Service, Deployment,
PodDisruptionBudget and NetworkPolicy never select the Redis pod.
*/}}
{{- define "signet.redisSelectorLabels" -}}
app.kubernetes.io/name: redis
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: shared-cache
{{- end -}}

{{- define "signet.redisLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "signet.redisSelectorLabels" . }}
app.kubernetes.io/part-of: {{ include "signet.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The Secret with the shared cache's HMAC key (and password): an existing one or the chart's. */}}
{{- define "signet.sharedCacheSecretName" -}}
{{- .Values.sharedCache.existingSecret | default (printf "%s-shared-cache" (include "signet.fullname" .)) -}}
{{- end -}}

{{/* The data key of that Secret holding the password; empty when there is none. */}}
{{- define "signet.sharedCachePasswordKey" -}}
{{- if .Values.sharedCache.existingSecret -}}
{{- .Values.sharedCache.existingSecretPasswordKey -}}
{{- else if or .Values.sharedCache.password .Values.sharedCache.bundledRedis.enabled -}}
password
{{- end -}}
{{- end -}}

{{/* The data key of that Secret holding the HMAC key. */}}
{{- define "signet.sharedCacheKeyKey" -}}
{{- ternary .Values.sharedCache.existingSecretKeyKey "key" (ne .Values.sharedCache.existingSecret "") -}}
{{- end -}}

{{/*
The URL Signet connects to: sharedCache.url, or the bundled Redis's Service. Checked here, once for
every template that uses it, so each refusal reads the same; the schema refuses the same values
(this holds with --skip-schema-validation too).
*/}}
{{- define "signet.sharedCacheUrl" -}}
{{- if and .Values.sharedCache.bundledRedis.enabled (not .Values.sharedCache.enabled) -}}
{{- fail "sharedCache.bundledRedis.enabled needs sharedCache.enabled: the bundled Redis serves only the shared cache" -}}
{{- end -}}
{{- if .Values.sharedCache.enabled -}}
{{- if and .Values.sharedCache.url .Values.sharedCache.bundledRedis.enabled -}}
{{- fail "set sharedCache.url or sharedCache.bundledRedis.enabled, not both" -}}
{{- end -}}
{{- if and (not .Values.sharedCache.url) (not .Values.sharedCache.bundledRedis.enabled) -}}
{{- fail "sharedCache.enabled needs sharedCache.url (redis://HOST:PORT or rediss://HOST:PORT), or sharedCache.bundledRedis.enabled for a trial" -}}
{{- end -}}
{{- if .Values.sharedCache.url -}}
{{- if not (regexMatch "^rediss?://[^/?#\\s]+(/[0-9]{0,2})?$" .Values.sharedCache.url) -}}
{{- fail (printf "sharedCache.url must be redis://HOST:PORT or rediss://HOST:PORT (optionally with a user and /DB), got %q" .Values.sharedCache.url) -}}
{{- end -}}
{{- if contains ":" (urlParse .Values.sharedCache.url).userinfo -}}
{{- fail "sharedCache.url must not carry a password: put it in sharedCache.password or sharedCache.existingSecret (the URL is an argument, readable by whoever can read the Deployment)" -}}
{{- end -}}
{{- if and .Values.sharedCache.caConfigMap (not (hasPrefix "rediss://" .Values.sharedCache.url)) -}}
{{- fail "sharedCache.caConfigMap is for rediss:// (TLS) URLs; this URL is redis://, which has no certificate to check" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.sharedCache.existingSecret .Values.sharedCache.password -}}
{{- fail "set sharedCache.password or sharedCache.existingSecret, not both: with an existing Secret the password comes from its existingSecretPasswordKey" -}}
{{- end -}}
{{- if and .Values.sharedCache.existingSecret .Values.sharedCache.bundledRedis.enabled (not .Values.sharedCache.existingSecretPasswordKey) -}}
{{- fail "sharedCache.bundledRedis needs a password: set sharedCache.existingSecretPasswordKey to the key of sharedCache.existingSecret that holds one" -}}
{{- end -}}
{{- .Values.sharedCache.url | default (printf "redis://%s.%s.svc:6379" (include "signet.redisName" .) .Release.Namespace) -}}
{{- end -}}
{{- end -}}

{{/* The TCP port of the shared cache: the URL's, or Redis's default. */}}
{{- define "signet.sharedCachePort" -}}
{{- $host := (urlParse (include "signet.sharedCacheUrl" .)).host -}}
{{- $port := regexFind "[0-9]+$" (regexFind ":[0-9]+$" $host) -}}
{{- $port | default "6379" -}}
{{- end -}}
