#!/bin/bash
# Checks the built systemd units: `systemd-analyze verify` must accept them,
# and the offline security exposure of each service must be at most 2.0.
# Usage: check-units.sh UNIT_BUILD_DIR INSTALLED_OMVD BUILT_OMVD
#                       INSTALLED_OMV_WEB BUILT_OMV_WEB
set -eu -o pipefail

units=$1 installed=$2 built=$3 web_installed=$4 web_built=$5
max_exposure=2.0

command -v systemd-analyze >/dev/null || { echo "no systemd-analyze"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# verify wants ExecStart binaries to exist: point the units at the build.
for unit in omvd@.service omvd@.socket omvd.service omvd.socket; do
	sed "s|^ExecStart=$installed |ExecStart=$built |" "$units/$unit" > "$tmp/$unit"
done
grep -q "^ExecStart=$built " "$tmp/omvd@.service" "$tmp/omvd.service"
sed "s|^ExecStart=$web_installed |ExecStart=$web_built |" "$units/omv-web@.service" \
	> "$tmp/omv-web@.service"
grep -q "^ExecStart=$web_built " "$tmp/omv-web@.service"
# A template is checked through an instance of it.
cp "$tmp/omvd@.service" "$tmp/omvd@ttyACM0.service"
cp "$tmp/omvd@.socket" "$tmp/omvd@ttyACM0.socket"
cp "$tmp/omv-web@.service" "$tmp/omv-web@ttyACM0.service"

# Any complaint about our units fails (lines about the host, such as a
# missing cgroup controller, are not ours to fix).
fail=0
for unit in omvd@ttyACM0.service omvd@ttyACM0.socket omvd.service omvd.socket \
	    omv-web@ttyACM0.service; do
	if ! out=$(cd "$tmp" && systemd-analyze verify --man=no "$unit" 2>&1) ||
	   grep -q 'omvd\|omv-web' <<<"$out"; then
		echo "FAIL: systemd-analyze verify $unit:"
		echo "$out"
		fail=1
	else
		echo "ok: systemd-analyze verify $unit"
	fi
done

for unit in omvd@ttyACM0.service omvd.service omv-web@ttyACM0.service; do
	out=$(cd "$tmp" && systemd-analyze security --offline=yes --no-pager "$unit" 2>&1) || true
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' <<<"$out")
	if [ -z "$score" ]; then
		echo "FAIL: no exposure score for $unit:"
		echo "$out"
		fail=1
	elif awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s > m) }'; then
		echo "FAIL: $unit exposure $score > $max_exposure:"
		grep '✗' <<<"$out" || true
		fail=1
	else
		echo "ok: $unit exposure $score <= $max_exposure"
	fi
done
exit $fail
