#!/usr/bin/env bash
# Several cams on one host: finding the socket without --socket, omvctl
# list, the serial in status, and the by-serial socket aliases.
. "$(dirname "$0")/lib.sh"
: "${SOURCE_ROOT:?}"

RUN=$OMVD_RUNTIME_DIR
SERIAL_A=0000000A00000001000000AA
SERIAL_B=0000000B00000002000000BB

step "two cams, two daemons in the runtime directory"
start_cam camA --device-id "$SERIAL_A" --usb-pid 0x1206
start_omvd "$RUN/ttyACM0.sock" "$T/camA"
PID_A=$OMVD_PID
start_cam camB --device-id "$SERIAL_B"
start_omvd "$RUN/ttyACM1.sock" "$T/camB"
run ctl -s "$RUN/ttyACM0.sock" wait
expect_status 0
run ctl -s "$RUN/ttyACM1.sock" wait
expect_status 0

step "with several sockets and none chosen, omvctl names them and stops"
run ctl status
expect_status 3
expect_err_has "2 omvd sockets in $RUN, choose one: $RUN/ttyACM0.sock $RUN/ttyACM1.sock"
expect_err_has "choose one with --socket PATH (omvctl list)"

step "status reports each cam's serial"
run ctl -s "$RUN/ttyACM0.sock" status
expect_status 0
expect_out_has "serial:    $SERIAL_A"
run ctl -j -s "$RUN/ttyACM1.sock" status
expect_json serial "\"$SERIAL_B\""

step "by-serial aliases reach the right daemon"
wait_for 10 test -L "$RUN/by-serial/$SERIAL_A.sock"
wait_for 10 test -L "$RUN/by-serial/$SERIAL_B.sock"
[ "$(readlink "$RUN/by-serial/$SERIAL_A.sock")" = ../ttyACM0.sock ] || fail "alias A target"
run ctl -j -s "$RUN/by-serial/$SERIAL_B.sock" status
expect_json port "\"$T/camB\""

step "list: every socket with port, serial, board, link and other clients"
"$OMVCTL" -s "$RUN/ttyACM1.sock" stdout --follow >/dev/null 2>&1 &
PIDS+=($!)
FOLLOWER=$!
other_clients() {
	run ctl -j -s "$RUN/ttyACM1.sock" status
	json_has clients 2
}
wait_for 10 other_clients
run ctl list
expect_status 0
expect_out_matches "^SOCKET +PORT +SERIAL +BOARD +LINK +CLIENTS$"
expect_out_matches "^$RUN/ttyACM0.sock +$T/camA +$SERIAL_A +OpenMV Cam N6 +ready +0$"
expect_out_matches "^$RUN/ttyACM1.sock +$T/camB +$SERIAL_B +OpenMV Cam H7 +ready +1$"
expect_lines "$T/out" 3
run ctl --json list
expect_status 0
[ "$(count_of '"socket":')" = 2 ] || fail "list --json has not 2 entries"
expect_out_matches '"serial":"'"$SERIAL_B"'","board":"OpenMV Cam H7","link":"ready",.*"clients":1}]$'
stop_pid "$FOLLOWER"

step "a daemon without its cam is listed with the reason"
stop_pid "$CAM_PID"
cam_b_down() {
	run ctl -j -s "$RUN/ttyACM1.sock" status
	! json_has link '"ready"'
}
wait_for 20 cam_b_down
expect_json caps null
run ctl -s "$RUN/ttyACM1.sock" status
expect_out_matches "^link: +(closed|opening): .*$T/camB"
expect_out_has "caps:      -"
expect_out_has "serial:    $SERIAL_B"

step "the alias goes with its daemon"
stop_pid "$PID_A"
[ ! -e "$RUN/by-serial/$SERIAL_A.sock" ] || fail "alias A left behind"
[ ! -e "$RUN/ttyACM0.sock" ] || fail "socket A left behind"

step "one socket left: it is found without --socket"
run ctl -j status
expect_status 0
expect_json port "\"$T/camB\""

step "omvd.sock wins over the others; OMVD_SOCKET over all"
start_cam camC
start_omvd "$RUN/omvd.sock" "$T/camC"
run ctl -s "$RUN/omvd.sock" wait
expect_status 0
run ctl -j status
expect_json port "\"$T/camC\""
OMVD_SOCKET=$RUN/ttyACM1.sock run ctl -j status
expect_json port "\"$T/camB\""

step "udev and the units name cams by serial alike"
S=$SOURCE_ROOT/systemd
grep -qx 'IMPORT{builtin}="usb_id"' "$S/60-openmv.rules" || fail "the rule does not import usb_id"
by_serial='ENV{ID_SERIAL_SHORT}=="?*", SYMLINK+="openmv/by-serial/$env{ID_SERIAL_SHORT}"'
line=$(grep -nxF "$by_serial" "$S/60-openmv.rules" | cut -d: -f1)
cam=$(grep -nx 'LABEL="openmv_cam"' "$S/60-openmv.rules" | cut -d: -f1)
end=$(grep -nx 'LABEL="openmv_end"' "$S/60-openmv.rules" | cut -d: -f1)
[ -n "$line" ] && [ "$cam" -lt "$line" ] && [ "$line" -lt "$end" ] ||
	fail "no by-serial link for OpenMV cams in 60-openmv.rules"
grep -qx 'd /run/omvd/by-serial 0775 root omvd-alias -' "$S/omvd.tmpfiles" ||
	fail "tmpfiles does not make the alias directory"
grep -qx 'g omvd-alias -' "$S/omvd.sysusers" || fail "no omvd-alias group"
grep -qx 'SupplementaryGroups=omvd-alias' "$S/sandbox.conf" &&
	grep -qx 'ReadWritePaths=-/run/omvd/by-serial' "$S/sandbox.conf" ||
	fail "the sandbox does not let the daemon write its alias"

step "an empty runtime directory"
OMVD_RUNTIME_DIR=$T/empty run ctl list
expect_status 0
expect_err_has "no omvd socket in $T/empty"

echo "ok"
