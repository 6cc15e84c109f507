#!/usr/bin/env bash
# How following commands end: exec --follow's exit status for a clean end,
# a traceback and a lost link; Ctrl-C gives 130 in every waiting command;
# --stop-on-exit stops the script on Ctrl-C.
. "$(dirname "$0")/lib.sh"

# The SIGINT handler of PID is in place (so Ctrl-C is omvctl's to handle).
catches_sigint() {
	local mask
	mask=$(sed -n 's/^SigCgt:\s*//p' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$mask" ] && (((0x$mask >> 1) & 1))
}

# interrupt NAME READY...: Ctrl-C the background omvctl $BG once it
# handles SIGINT and READY succeeds; its exit status must be 130.
interrupt() {
	local name=$1 rc
	shift
	wait_for 20 catches_sigint "$BG"
	wait_for 20 "$@"
	kill -INT "$BG"
	wait "$BG"
	rc=$?
	[ "$rc" -eq 130 ] || fail "$name: exit status $rc after Ctrl-C, expected 130"
}

# in the background: omvctl ARGS..., stdout to $T/bg.out
bg() {
	"$OMVCTL" "$@" >"$T/bg.out" 2>"$T/bg.err" &
	BG=$!
	PIDS+=($BG)
}

has_output() {
	grep -q "$1" "$T/bg.out"
}

subscribed_to() {
	run ctl -s "$SOCK" -j call clients
	grep -qF "\"subscriptions\":[$1]" "$T/out"
}

script_running() {
	run ctl -s "$SOCK" -j status
	json_has script_running "$1"
}

start_pair
printf 'print("one")\nprint("two")\n' >"$T/ok.py"
printf 'print("before")\nraise ValueError("boom")\n' >"$T/raise.py"
printf 'import time\nwhile True:\n    print("tick")\n    time.sleep_ms(50)\n' >"$T/loop.py"

step "exec --follow: a script that ends well"
run ctl -s "$SOCK" exec --follow "$T/ok.py"
expect_status 0
expect_out_has "one
two"
[ -z "$err" ] || fail "stderr: $err"

step "exec --follow: a traceback is a failure"
run ctl -s "$SOCK" exec -f "$T/raise.py"
expect_status 1
expect_out_has "Traceback (most recent call last):"
expect_out_has "ValueError: boom"
expect_err_eq "omvctl: the script ended with an exception"

step "exec --follow: the link lost while the script runs"
bg -s "$SOCK" exec --follow "$T/loop.py"
wait_for 20 has_output tick
run ctl -s "$SOCK" reset
expect_status 0
wait "$BG"
rc=$?
[ "$rc" -eq 1 ] || fail "exit status $rc after the link was lost"
grep -q "^omvctl: lost the link to the cam while the script ran: " "$T/bg.err" ||
	fail "no word of the lost link: $(cat "$T/bg.err")"
run ctl -s "$SOCK" wait
expect_status 0

step "Ctrl-C in exec --follow: 130, the script goes on"
bg -s "$SOCK" exec --follow "$T/loop.py"
interrupt "exec --follow" has_output tick
script_running true || fail "the script stopped without --stop-on-exit"

step "Ctrl-C in exec --follow --stop-on-exit: 130, the script stops"
bg -s "$SOCK" exec --follow --stop-on-exit "$T/loop.py"
interrupt "exec --follow --stop-on-exit" has_output tick
wait_for 20 script_running false

step "Ctrl-C in stdout --follow"
bg -s "$SOCK" stdout --follow
interrupt "stdout --follow" subscribed_to '"stdout"'

step "Ctrl-C in events"
bg -s "$SOCK" events
interrupt "events" subscribed_to '"link","event","state"'

step "Ctrl-C in stream"
bg -s "$SOCK" stream -q
interrupt "stream" subscribed_to '"frame"'

step "Ctrl-C in stream -o FILE keeps what was written"
bg -s "$SOCK" stream -o "$T/rec.mjpeg"
interrupt "stream -o" test -s "$T/rec.mjpeg"
[ "$(head -c 2 "$T/rec.mjpeg" | od -An -tx1 | tr -d ' ')" = ffd8 ] || fail "no JPEG in the recording"

step "Ctrl-C in wait (no socket yet)"
bg -s "$T/later.sock" wait --timeout 60
interrupt "wait" true

step "Ctrl-C in snapshot (no frame comes)"
start_fake "$T/fake.sock" '{
	"subscribe": {"result": ["frame"]},
	"status": {"result": {"link": "ready", "shared": {"streaming": true}}}
}'
bg -s "$T/fake.sock" snapshot -o "$T/never.jpg" --timeout 60
interrupt "snapshot" grep -q '"method": "status"' "$T/fake.log"
[ ! -e "$T/never.jpg" ] || fail "an interrupted snapshot left a file"
[ -z "$(ls -A "$T" | grep '^\.never')" ] || fail "an interrupted snapshot left a temporary file"

echo "ok"
