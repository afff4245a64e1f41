#!/usr/bin/env bash
# Makes sure the real servers the tests run against are installed (Debian packages).
set -euo pipefail
missing=()
for bin in docker-registry skopeo notary notary-server notary-signer openssl; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "missing: ${missing[*]}; installing docker-registry skopeo notary openssl" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root, or: sudo apt-get install -y docker-registry skopeo notary openssl" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq docker-registry skopeo notary openssl >/dev/null
