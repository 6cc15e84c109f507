#!/usr/bin/env bash
# wait for a socket that appears later (omvd ... & omvctl wait), reset /
# boot --wait following the link, and bridge copying a JSON-RPC exchange.
. "$(dirname "$0")/lib.sh"

SOCK=$T/omvd.sock

reconnects() {
	run ctl -s "$SOCK" -j status
	sed -n 's/.*"reconnects":\([0-9]*\).*/\1/p' "$T/out"
}

step "wait gives up on a socket that never appears: cannot connect"
run ctl -s "$SOCK" wait --timeout 0.3
expect_status 3
expect_err_has "cannot connect to $SOCK: No such file or directory"

step "wait waits for the socket, then for the cam"
"$OMVCTL" -s "$SOCK" wait --timeout 30 >"$T/wait.out" 2>&1 &
WAIT=$!
PIDS+=($WAIT)
start_cam cam
start_omvd "$SOCK" "$T/cam"
wait "$WAIT"
rc=$?
[ "$rc" -eq 0 ] || fail "wait: exit status $rc: $(cat "$T/wait.out")"
run ctl -s "$SOCK" -j status
expect_json link '"ready"'

step "bridge: standard input to omvd and its answers back, until omvd is done"
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"version"}' '{"jsonrpc":"2.0","id":2,"method":"is_connected"}' |
	timeout 30 "$OMVCTL" -s "$SOCK" bridge >"$T/bridge.out" 2>"$T/bridge.err"
rc=$?
[ "$rc" -eq 0 ] || fail "bridge: exit status $rc: $(cat "$T/bridge.err")"
grep -q '^{"jsonrpc":"2.0","id":1,"result":{.*"firmware_version":\[4,7,0\]' "$T/bridge.out" ||
	fail "bridge: no version answer: $(cat "$T/bridge.out")"
grep -qx '{"jsonrpc":"2.0","id":2,"result":true}' "$T/bridge.out" || fail "bridge: no second answer"
run ctl -s "$T/none.sock" bridge
expect_status 3
expect_err_has "cannot connect to $T/none.sock"

step "reset --wait returns with the link back"
before=$(reconnects)
run ctl -s "$SOCK" reset --wait --timeout 20
expect_status 0
run ctl -s "$SOCK" -j status
expect_json link '"ready"'
[ "$(reconnects)" -eq $((before + 1)) ] || fail "the link did not go down and come back"

step "boot --wait returns once the link dropped"
before=$(reconnects)
run ctl -s "$SOCK" -j boot --wait
expect_status 0
[ "$out" = null ] || fail "boot --json printed $out"
run ctl -s "$SOCK" -j status
json_has link '"ready"' && [ "$(reconnects)" -eq "$before" ] &&
	fail "boot --wait returned while the link was still the old one"

echo "ok"
