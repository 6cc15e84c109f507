#!/usr/bin/env bash
# What omvctl shows about the cam: why the link is down, caps unknown as
# "-", channel flags by name, events by name with times and filters, cam
# error statuses by name, and a script too large for the cam's stdin.
. "$(dirname "$0")/lib.sh"

SOCK=$T/omvd.sock

step "status says why the link is down, caps '-' while unknown"
start_omvd "$SOCK" "$T/nocam"
wait_for 10 test -S "$SOCK"
run ctl -s "$SOCK" status
expect_status 0
expect_out_matches "^link: +(closed|opening): .*$T/nocam: No such file or directory$"
expect_out_has "caps:      -"
expect_out_has "serial:    -"
run ctl -s "$SOCK" -j status
expect_json caps null
expect_json serial null
stop_pid "$OMVD_PID"

# --strict-writes: the cam refuses the too-large script below (a real cam
# drops it and ACKs, which only the stdin size check catches)
start_pair --strict-writes

step "status when up"
run ctl -s "$SOCK" status
expect_out_matches "^link: +ready$"
expect_out_matches "^caps: +crc yes, seq yes, ack yes, events yes, max payload [0-9]+$"

step "channels decodes the flags"
run ctl -s "$SOCK" channels
expect_status 0
expect_out_matches "^ +1  stdin +write,exec \(0x06\)$"
expect_out_matches "^ +2  stdout +read \(0x01\)$"
expect_out_matches "^ +3  stream +read,lock,stream \(0x19\)$"

step "events: names and times"
"$OMVCTL" -s "$SOCK" events >"$T/events" 2>&1 &
PIDS+=($!)
EVENTS=$!
subscribed() {
	run ctl -s "$SOCK" -j call clients
	grep -qF '"subscriptions":["link","event","state"]' "$T/out"
}
wait_for 10 subscribed
printf 'print("x")\n' >"$T/x.py"
run ctl -s "$SOCK" exec --follow "$T/x.py"
expect_status 0
run ctl -s "$SOCK" snapshot -o "$T/shot.jpg"
expect_status 0
stop_pid "$EVENTS"
TIME='^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]\.[0-9]{3}  '
grep -qE "${TIME}event  stdin\(1\) +script started$" "$T/events" || fail "no 'script started'"
grep -qE "${TIME}event  stdin\(1\) +script stopped$" "$T/events" || fail "no 'script stopped'"
grep -qE "${TIME}event  system\(0\) +SOFT_REBOOT$" "$T/events" || fail "no SOFT_REBOOT"
grep -qE "${TIME}event  stream\(3\) +frame ready$" "$T/events" || fail "no 'frame ready'"
grep -qE "${TIME}state streaming=true" "$T/events" || fail "no state line"

step "events --no-frames and --channel filter"
events_while_shooting() {
	"$OMVCTL" -s "$SOCK" events "$@" >"$T/events" 2>&1 &
	PIDS+=($!)
	EVENTS=$!
	wait_for 10 subscribed
	run ctl -s "$SOCK" exec --follow "$T/x.py"
	run ctl -s "$SOCK" snapshot -o "$T/shot.jpg"
	expect_status 0
	stop_pid "$EVENTS"
}
events_while_shooting --no-frames
! grep -q "frame ready" "$T/events" || fail "--no-frames shows frames"
grep -q "script started" "$T/events" || fail "--no-frames hides the rest"
events_while_shooting --channel stdin
grep -q "script started" "$T/events" || fail "--channel stdin lacks stdin events"
! grep -qvE "stdin\(1\)" "$T/events" || fail "--channel stdin shows other lines"
events_while_shooting --channel 3 --json
grep -qF '"what":"frame ready"' "$T/events" || fail "--channel 3 --json lacks frames"
! grep -qvF '"channel":3,' "$T/events" || fail "--channel 3 shows other lines"

step "channel read names the cam's error status"
run ctl -s "$SOCK" channel read stdin --size 5
expect_status 1
expect_err_eq "omvctl: cam answered with an error status (INVALID)"

step "a script larger than the cam's stdin: refused with both sizes"
head -c 70000 /dev/zero | tr '\0' '#' >"$T/big.py"
run ctl -s "$SOCK" exec "$T/big.py"
expect_status 1
expect_err_eq "omvctl: $T/big.py (70000 bytes) is more than the cam's stdin takes (OVERFLOW)"

step "... before anything is sent, when the cam tells its stdin's size"
start_fake "$T/fake.sock" '{
	"get_channel": {"result": 1},
	"channel_shape": {"result": [65536]},
	"exec": {"result": 1}
}'
run ctl -s "$T/fake.sock" exec "$T/big.py"
expect_status 1
expect_err_eq "omvctl: $T/big.py is 70000 bytes, more than the cam's stdin takes (65536 bytes): not sent"
! grep -q '"method": "exec"' "$T/fake.log" || fail "the script was sent"
run ctl -s "$T/fake.sock" exec "$T/x.py"
expect_status 0
grep -q '"method": "exec"' "$T/fake.log" || fail "a small script was not sent"

echo "ok"
