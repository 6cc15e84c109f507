#!/usr/bin/env bash
# The main job on a machine without a cam: build, start omv-camsim on a
# pseudo-terminal and omvd on it, then use omvctl to show the cam, run a
# script and save a frame. Run as root on a fresh Debian 12 (it installs the
# build dependencies), or as a user once they are installed.
set -eu
cd "$(dirname "$0")/.."

PKGS="meson ninja-build pkg-config gcc libc6-dev libserialport-dev libevent-dev
      libjansson-dev libturbojpeg0-dev libsystemd-dev"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	echo "== installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

echo "== building"
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

run=$(mktemp -d)
cleanup() {
	kill "$omvd_pid" "$sim_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT

echo "== starting omv-camsim and omvd in $run"
build/tests/camsim/omv-camsim --link "$run/cam" >"$run/camsim.out" &
sim_pid=$!
build/daemon/omvd --port "$run/cam" --socket "$run/omvd.sock" 2>"$run/omvd.log" &
omvd_pid=$!

omvctl() { build/client/omvctl --socket "$run/omvd.sock" "$@"; }

# The daemon's socket appears at once; the cam link a moment later.
for _ in $(seq 50); do [ -S "$run/omvd.sock" ] && break; sleep 0.1; done
omvctl wait --timeout 10

echo "== omvctl info"
omvctl info

echo "== omvctl exec (a script that prints three lines)"
printf 'import time\nprint("hello from the cam")\ntime.sleep_ms(100)\nprint("still here")\nprint("bye")\n' >"$run/hello.py"
omvctl exec --follow "$run/hello.py"

echo "== omvctl snapshot -o snapshot.jpg"
omvctl snapshot -o snapshot.jpg
ls -l snapshot.jpg
