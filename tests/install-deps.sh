#!/usr/bin/env bash
# Install the Debian packages named as arguments that are missing: as root
# directly (a Debian 12 root often has no sudo), otherwise through sudo.
# Used by tests/demo.sh and .ci/run.
set -eu

missing=()
for p in "$@"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	as_root=(env)
elif command -v sudo >/dev/null; then
	as_root=(sudo env)
else
	echo "missing Debian packages: ${missing[*]}" >&2
	echo "install them as root: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "== installing: ${missing[*]}"
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
