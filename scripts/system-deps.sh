#!/usr/bin/env bash
# Makes sure the real programs the tests run against are installed (Debian packages).
# --packages prints the Debian package list (used by .ci/run); --binaries prints the programs checked.
set -euo pipefail
# Program → Debian package. Every binary a test starts must be listed here (test/ci/ci-honesty.test.ts checks).
declare -A PACKAGE_OF=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [notary]=notary
  [notary-server]=notary
  [notary-signer]=notary
  [openssl]=openssl
  [perl]=perl-base
  [redis-server]=redis-server
  [redis-cli]=redis-tools
)
case "${1:-}" in
  --packages) printf '%s\n' "${PACKAGE_OF[@]}" | sort -u | tr '\n' ' '; echo; exit 0 ;;
  --binaries) printf '%s\n' "${!PACKAGE_OF[@]}" | sort; exit 0 ;;
esac
missing=()
for bin in "${!PACKAGE_OF[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("${PACKAGE_OF[$bin]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
echo "missing packages: $packages; installing" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root, or: sudo apt-get install -y $packages" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $packages >/dev/null
