#!/usr/bin/env bash
# exec --follow when another client replaces the script: exit status 1,
# saying so, and none of the new script's output is taken for ours (run
# ids: exec's result, `state` and `stdout` carry them).
. "$(dirname "$0")/lib.sh"

start_pair
printf 'import time\nwhile True:\n    print("first")\n    time.sleep_ms(50)\n' >"$T/first.py"
printf 'import time\nwhile True:\n    print("second")\n    time.sleep_ms(50)\n' >"$T/second.py"

step "exec returns the run id"
run ctl -s "$SOCK" -j exec "$T/first.py"
expect_status 0
first_run=$out
[[ $first_run =~ ^[1-9][0-9]*$ ]] || fail "exec --json printed '$first_run', not a run id"

step "a follower learns its script was replaced"
"$OMVCTL" -s "$SOCK" exec --follow "$T/first.py" >"$T/bg.out" 2>"$T/bg.err" &
BG=$!
PIDS+=($BG)
wait_for 20 grep -q first "$T/bg.out"
run ctl -s "$SOCK" -j exec "$T/second.py"
expect_status 0
second_run=$out
wait "$BG"
rc=$?
[ "$rc" -eq 1 ] || fail "exit status $rc when replaced"
grep -qx "omvctl: another client replaced the script (run $second_run started)" "$T/bg.err" ||
	fail "stderr: $(cat "$T/bg.err")"
! grep -q second "$T/bg.out" || fail "the new script's output was taken for ours"
run ctl -s "$SOCK" stop
echo "ok"
