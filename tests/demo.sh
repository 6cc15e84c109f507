#!/usr/bin/env bash
# The main job on a machine without a cam: build, start omv-camsim on a
# pseudo-terminal and omvd on it, then use omvctl to show the cam, run a
# script and save a frame. Run it as root on a fresh Debian 12 or as a user
# (missing build dependencies are installed with apt-get: directly as
# root, through sudo otherwise). It stops what it started and leaves the
# repository as it was; the snapshot goes to a file it names.
# BUILD_DIR: the build directory to use (default: build).
set -eu
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}

bash tests/install-deps.sh meson ninja-build pkg-config gcc libc6-dev libserialport-dev \
	libevent-dev libjansson-dev libturbojpeg0-dev libpng-dev libdw-dev libsystemd-dev

echo "== building in $build"
[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build" >/dev/null

run=$(mktemp -d)
sim_pid=""
omvd_pid=""
cleanup() {
	[ -z "$omvd_pid" ] || kill "$omvd_pid" 2>/dev/null || true
	[ -z "$sim_pid" ] || kill "$sim_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT

echo "== starting omv-camsim and omvd in $run"
"$build/tests/camsim/omv-camsim" --link "$run/cam" >"$run/camsim.out" &
sim_pid=$!
"$build/daemon/omvd" --port "$run/cam" --socket "$run/omvd.sock" 2>"$run/omvd.log" &
omvd_pid=$!

omvctl() { "$build/client/omvctl" --socket "$run/omvd.sock" "$@"; }

# Until the socket exists and the cam link is up.
omvctl wait --timeout 20

echo "== omvctl info"
omvctl info

echo "== omvctl exec --follow (a script that prints three lines)"
printf 'import time\nprint("hello from the cam")\ntime.sleep_ms(100)\nprint("still here")\nprint("bye")\n' >"$run/hello.py"
omvctl exec --follow "$run/hello.py"

shot=$(mktemp --tmpdir --suffix=.jpg omvd-demo-snapshot.XXXXXX)
echo "== omvctl snapshot -o $shot"
omvctl snapshot -o "$shot"
echo "snapshot saved to $shot"
