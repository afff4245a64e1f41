#!/bin/sh
# Makes the serving certificate for the plain-manifest install of Signet (the Helm chart does this
# itself) and hands it over:
#   1. a CA, or the one kept in --ca-dir, and a certificate for <service>.<namespace>.svc signed by it;
#   2. Secret <namespace>/signet-tls (tls.crt, tls.key, ca.crt): applied with kubectl, or written to
#      --secret-file for a GitOps or sealed-secrets flow;
#   3. that CA, base64, as caBundle in <manifests>/70-webhooks.yaml, which `kubectl apply -f manifests/`
#      then sends to the API server.
# Private keys exist only in a temporary directory (removed on exit), in the Secret, and in --ca-dir
# when you ask for the CA to be kept.
set -eu

usage() {
  cat <<'USAGE'
Usage: manifests/gen-certs.sh [--namespace signet] [--service signet] [--days 3650]
                              [--ca-dir DIR] [--secret-file FILE] [--manifests DIR]

  --namespace NS      namespace of the Signet Service and Secret (default signet)
  --service NAME      name of the Signet Service (default signet)
  --days N            validity of a new CA and of the serving certificate (default 3650)
  --ca-dir DIR        keep the CA here (ca.crt, ca.key). When DIR already holds one, it is reused:
                      the new serving certificate is signed by it and caBundle does not change, so
                      rotation has no window in which the API server distrusts the webhook.
                      Without --ca-dir the CA key is thrown away.
  --secret-file FILE  write the Secret manifest to FILE (mode 600) instead of applying it with kubectl
  --manifests DIR     directory whose 70-webhooks.yaml gets the caBundle (default: this script's)

Then: kubectl apply -f manifests/
USAGE
}

fail() {
  echo "gen-certs.sh: $*" >&2
  exit 1
}

namespace=signet
service=signet
secret=signet-tls
days=3650
ca_dir=
secret_file=
manifests_dir=$(cd "$(dirname "$0")" && pwd)

while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help)
      usage
      exit 0
      ;;
    --namespace | --service | --days | --ca-dir | --secret-file | --manifests)
      [ $# -ge 2 ] || { echo "gen-certs.sh: $1 needs a value" >&2; usage >&2; exit 2; }
      case "$1" in
        --namespace) namespace=$2 ;;
        --service) service=$2 ;;
        --days) days=$2 ;;
        --ca-dir) ca_dir=$2 ;;
        --secret-file) secret_file=$2 ;;
        --manifests) manifests_dir=$2 ;;
      esac
      shift 2
      ;;
    *)
      echo "gen-certs.sh: unknown option $1" >&2
      usage >&2
      exit 2
      ;;
  esac
done

# Everything is checked before anything is generated or changed.
is_dns_label() {
  printf '%s' "$1" | grep -Eq '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$'
}
is_dns_label "$namespace" || fail "--namespace \"$namespace\" is not a Kubernetes namespace name"
is_dns_label "$service" || fail "--service \"$service\" is not a Kubernetes Service name"
printf '%s' "$days" | grep -Eq '^[1-9][0-9]{0,4}$' || fail "--days must be a whole number of days from 1 to 99999, got \"$days\""
command -v openssl >/dev/null 2>&1 || fail "openssl not found; it makes the certificates"
if [ -z "$secret_file" ]; then
  command -v kubectl >/dev/null 2>&1 || fail "kubectl not found; install it, or write the Secret to a file with --secret-file FILE"
fi
webhooks="$manifests_dir/70-webhooks.yaml"
[ -f "$webhooks" ] || fail "$webhooks not found; point --manifests at the manifests directory"
grep -Eq '^[[:space:]]*caBundle:' "$webhooks" || fail "$webhooks has no caBundle line to fill in"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
umask 077

new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

if [ -n "$ca_dir" ] && [ -f "$ca_dir/ca.crt" ] && [ -f "$ca_dir/ca.key" ]; then
  cp "$ca_dir/ca.crt" "$ca_dir/ca.key" "$work/"
  cert_key=$(openssl x509 -in "$work/ca.crt" -noout -pubkey 2>/dev/null) || fail "$ca_dir/ca.crt is not a PEM certificate"
  key_key=$(openssl pkey -in "$work/ca.key" -pubout 2>/dev/null) || fail "$ca_dir/ca.key is not a PEM private key"
  [ "$cert_key" = "$key_key" ] || fail "$ca_dir/ca.crt and $ca_dir/ca.key do not belong together"
  openssl x509 -in "$work/ca.crt" -noout -checkend 0 >/dev/null || fail "the CA in $ca_dir has expired; move it away to make a new one"
  if ! openssl x509 -in "$work/ca.crt" -noout -checkend $(((days - 1) * 86400)) >/dev/null; then
    echo "gen-certs.sh: warning: the CA in $ca_dir expires before the new certificate would; plan a CA rotation" >&2
  fi
  echo "gen-certs.sh: reusing the CA in $ca_dir; caBundle stays the same" >&2
else
  new_key "$work/ca.key"
  openssl req -x509 -new -key "$work/ca.key" -days "$days" -subj "/CN=$service-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$work/ca.crt" 2>/dev/null
  if [ -n "$ca_dir" ]; then
    mkdir -p "$ca_dir"
    cp "$work/ca.crt" "$work/ca.key" "$ca_dir/"
    echo "gen-certs.sh: made a new CA and kept it in $ca_dir (guard ca.key: it can sign certificates the API server trusts)" >&2
  else
    echo "gen-certs.sh: made a new CA; its key is discarded (keep it with --ca-dir for rotation without a window)" >&2
  fi
fi

# The API server dials <service>.<namespace>.svc; the other names serve clients inside the cluster.
host="$service.$namespace.svc"
new_key "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$(printf '%s' "$host" | cut -c1-64)" -out "$work/tls.csr" 2>/dev/null
cat >"$work/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:$service,DNS:$service.$namespace,DNS:$host,DNS:$host.cluster.local
EXT
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
  -days "$days" -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null
openssl verify -CAfile "$work/ca.crt" "$work/tls.crt" >/dev/null || fail "the new certificate does not verify against its CA"

ca_b64=$(openssl base64 -A -in "$work/ca.crt")
crt_b64=$(openssl base64 -A -in "$work/tls.crt")
key_b64=$(openssl base64 -A -in "$work/tls.key")
cat >"$work/secret.yaml" <<SECRET
# Serving certificate of the Signet webhook, made by manifests/gen-certs.sh. Holds a private key.
apiVersion: v1
kind: Secret
metadata:
  name: $secret
  namespace: $namespace
  labels:
    app.kubernetes.io/name: signet
    app.kubernetes.io/instance: signet
type: kubernetes.io/tls
data:
  ca.crt: $ca_b64
  tls.crt: $crt_b64
  tls.key: $key_b64
SECRET

if [ -n "$secret_file" ]; then
  cp "$work/secret.yaml" "$secret_file"
  chmod 600 "$secret_file"
  echo "gen-certs.sh: wrote Secret $namespace/$secret to $secret_file (it holds the private key)" >&2
else
  # Server-side apply: client-side apply would copy the private key into an annotation.
  kubectl apply --server-side --force-conflicts --field-manager=signet-gen-certs -f "$work/secret.yaml" >&2 \
    || fail "kubectl could not apply Secret $namespace/$secret (does namespace $namespace exist? kubectl apply -f manifests/00-namespace.yaml)"
fi

# Rewrite in place with cat, so the file keeps its owner and mode.
sed "s|^\([[:space:]]*caBundle:\).*|\1 $ca_b64|" "$webhooks" >"$work/webhooks.yaml"
cat "$work/webhooks.yaml" >"$webhooks"
echo "gen-certs.sh: wrote the CA into caBundle in $webhooks" >&2
echo "gen-certs.sh: next: kubectl apply -f $manifests_dir/" >&2
