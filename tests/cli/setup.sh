#!/usr/bin/env bash
# The user's first steps: the README's commands work as root without sudo
# and through sudo for others (tests/install-deps.sh, with apt-get, dpkg
# and sudo replaced by recorders), the demo runs, names its snapshot
# outside the repository and stops what it started, the README's "by
# hand" block builds first, runs as written and stops what it started
# without socat, and .gitignore covers build outputs and snapshots.
. "$(dirname "$0")/lib.sh"
: "${SOURCE_ROOT:?}" "${BUILD_ROOT:?}"

# ---- installing dependencies -------------------------------------------------

FAKE=$T/fakebin
mkdir -m 755 "$FAKE"
LOG=$T/install.log
INSTALLED=$T/installed
touch "$LOG" "$INSTALLED"
chmod 666 "$LOG" "$INSTALLED"
# dpkg -s PKG: installed when listed.
cat >"$FAKE/dpkg" <<EOF
#!/bin/sh
grep -qx "\$2" "$INSTALLED"
EOF
cat >"$FAKE/apt-get" <<EOF
#!/bin/sh
echo "apt-get uid=\$(id -u) \$*" >>"$LOG"
[ "\$1" = install ] || exit 0
shift 3
for p in "\$@"; do echo "\$p" >>"$INSTALLED"; done
EOF
cat >"$FAKE/sudo" <<EOF
#!/bin/sh
echo "sudo \$*" >>"$LOG"
exec "\$@"
EOF
chmod 755 "$FAKE"/*

install_deps() {	# [USER-COMMAND...] -- PKG...
	local as=()
	while [ "$1" != -- ]; do as+=("$1"); shift; done
	shift
	run "${as[@]}" env PATH="$FAKE:/usr/bin:/bin" bash "$SOURCE_ROOT/tests/install-deps.sh" "$@"
}

if [ "$(id -u)" -eq 0 ]; then
	step "as root: apt-get directly, no sudo"
	echo libfoo >"$INSTALLED"
	: >"$LOG"
	install_deps -- libfoo libbar
	expect_status 0
	grep -qx "apt-get uid=0 install -y -qq libbar" "$LOG" || fail "apt-get not run as root: $(cat "$LOG")"
	! grep -q "^sudo" "$LOG" || fail "sudo used as root"
	command -v setpriv >/dev/null || skip "setpriv is needed to test as another user"
	user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
	user=()
fi

step "as a user: through sudo"
echo libfoo >"$INSTALLED"
: >"$LOG"
install_deps "${user[@]}" -- libfoo libbaz
expect_status 0
grep -qx "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libbaz" "$LOG" ||
	fail "not through sudo: $(cat "$LOG")"

step "nothing missing: nothing run"
: >"$LOG"
install_deps "${user[@]}" -- libfoo libbaz
expect_status 0
[ ! -s "$LOG" ] || fail "ran: $(cat "$LOG")"

step "a user without sudo is told what to install"
rm "$FAKE/sudo"
install_deps "${user[@]}" -- libfoo libqux
expect_status 1
expect_err_has "install them as root: apt-get install libqux"

# ---- the demo -------------------------------------------------------------

# Processes running with TEXT in their command line (builtins only: no
# helper process of ours shows up).
running_in() {
	local f args IFS=
	for f in /proc/[0-9]*/cmdline; do
		{ mapfile -d '' -t args <"$f"; } 2>/dev/null || continue
		[[ "${args[*]}" == *"$1"* ]] && echo "$f"
	done
	return 0
}

step "the demo, as root (no sudo) or as the user it is"
ls -A "$SOURCE_ROOT" >"$T/root.before"
printf '%s\n' meson ninja-build pkg-config gcc libc6-dev libserialport-dev libevent-dev \
	libjansson-dev libturbojpeg0-dev libpng-dev libdw-dev libsystemd-dev >"$INSTALLED"
: >"$LOG"
run env PATH="$FAKE:$PATH" BUILD_DIR="$BUILD_ROOT" bash "$SOURCE_ROOT/tests/demo.sh"
expect_status 0
[ ! -s "$LOG" ] || fail "the demo installed: $(cat "$LOG")"
expect_out_has "Firmware version:"
expect_out_has "hello from the cam
still here
bye"
shot=$(sed -n 's/^snapshot saved to //p' "$T/out")
[ -n "$shot" ] || fail "the demo does not say where the snapshot is"
case $shot in "$SOURCE_ROOT"/*) fail "the snapshot is in the repository: $shot" ;; esac
[ "$(head -c 3 "$shot" | od -An -tx1 | tr -d ' \n')" = ffd8ff ] || fail "$shot is not a JPEG"
rm -f "$shot"
ls -A "$SOURCE_ROOT" >"$T/root.after"
cmp -s "$T/root.before" "$T/root.after" ||
	fail "the demo left files in the repository: $(diff "$T/root.before" "$T/root.after")"
rundir=$(sed -n 's/^== starting omv-camsim and omvd in //p' "$T/out")
[ -n "$rundir" ] && [ ! -e "$rundir" ] || fail "the demo left $rundir"
[ -z "$(running_in "$rundir")" ] || fail "the demo left processes running"

# ---- the README's "by hand" block ---------------------------------------------

step "README: the by-hand block builds first, runs as written, stops what it started"
# The first sh block under the heading.
awk '/^## Use it by hand/ { section = 1; next }
     section && /^```sh$/ { inside = 1; next }
     inside && /^```$/ { exit }
     inside { print }' "$SOURCE_ROOT/README.md" >"$T/by-hand.sh"
[ "$(head -n 1 "$T/by-hand.sh")" = "meson setup build && ninja -C build" ] ||
	fail "the by-hand block does not build first: $(head -n 1 "$T/by-hand.sh")"
grep -q '^kill ' "$T/by-hand.sh" || fail "the by-hand block does not stop what it started"
! grep -q socat "$T/by-hand.sh" || fail "the by-hand block needs socat"
# As written, with this build and a directory of its own instead of /tmp.
mkdir "$T/hand"
{
	echo "set -e"
	echo "cd '$T/hand'"
	# /tmp/ first: the build may itself be under /tmp
	tail -n +2 "$T/by-hand.sh" | sed -e "s|/tmp/|$T/hand/|g" -e "s|build/|$BUILD_ROOT/|g"
	echo "wait"
} >"$T/by-hand.run"
run bash "$T/by-hand.run"
expect_status 0
expect_out_has "Firmware version:"
expect_out_has "hi"
expect_out_has '"firmware_version"'
[ "$(head -c 4 "$T/hand/frame.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ] ||
	fail "no frame.png"
[ ! -e "$T/hand/omvd.sock" ] || fail "omvd did not stop (its socket is there)"
[ -z "$(running_in "$T/hand/")" ] || fail "the by-hand block left processes running"

# ---- .gitignore ---------------------------------------------------------------

step ".gitignore covers build outputs and snapshots"
if git -C "$SOURCE_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	for f in build build-asan build-ci.build.log frame.png frame-000001.jpg snapshot.jpg \
		rec.mjpeg; do
		git -C "$SOURCE_ROOT" check-ignore -q "$f" || fail ".gitignore does not cover $f"
	done
	! git -C "$SOURCE_ROOT" check-ignore -q tests/demo.sh || fail ".gitignore hides sources"
fi

echo "ok"
