#!/usr/bin/env bash
# omvctl profile: the records with their PMU events, function names from a
# firmware ELF file, the mode / event / reset settings acting on the cam,
# and a busy cam asked again within the timeout.
. "$(dirname "$0")/lib.sh"

# First record of the --json records on stdout: the value of KEY.
first() {
	sed -n 's/^\[{[^}]*"'"$1"'":\([0-9]*\).*/\1/p' "$T/out"
}
first_events() {
	sed -n 's/^\[{[^}]*"events":\[\([0-9,]*\)\].*/\1/p' "$T/out"
}
# Records with calls counted (the cam counts while it runs).
counting() {
	run ctl -s "$SOCK" -j profile
	[ "$status" -eq 0 ] && [ "$(first call_count)" -gt 0 ]
}

start_pair --profile --pmu-events 2

step "the table has the PMU events column"
wait_for 20 counting
run ctl -s "$SOCK" profile
expect_status 0
expect_out_matches "^function +caller +calls +min +max +total +cycles  events$"
expect_out_matches "^0x08010000  0x08004000 +[0-9]+ +35 +120 +[0-9]+ +[0-9]+  [0-9]+,[0-9]+$"
[ "$(grep -c '^0x080' "$T/out")" -eq 6 ] || fail "not 6 records"

step "--firmware names functions and callers"
command -v cc >/dev/null || skip "no C compiler to make a firmware ELF file"
{
	printf '\t.text\n\t.globl main_loop\n\t.type main_loop, @function\n'
	printf 'main_loop:\n\t.skip 0x100\n\t.size main_loop, 0x100\n\t.skip 0xC000 - 0x100\n'
	for i in 0 1 2 3 4 5; do
		printf '\t.globl fn_%s\n\t.type fn_%s, @function\nfn_%s:\n\t.skip 0x140\n' "$i" "$i" "$i"
		printf '\t.size fn_%s, 0x140\n' "$i"
	done
	printf '\t.section .note.GNU-stack,"",@progbits\n'
} >"$T/fw.s"
cc -nostdlib -static -no-pie -Wl,-Ttext=0x08004000 -Wl,-e,main_loop -o "$T/fw.elf" "$T/fw.s" ||
	fail "cannot build the firmware ELF file"
run ctl -s "$SOCK" profile --firmware "$T/fw.elf"
expect_status 0
for i in 1 2 3 4 5; do
	expect_out_matches "^fn_$i +main_loop\+0x$(printf '%x' $((i * 32))) +[0-9]+"
done
expect_out_matches "^fn_0 +main_loop +"
run ctl -s "$SOCK" -j profile --firmware "$T/fw.elf"
expect_out_has '"function":"fn_1","caller_function":"main_loop+0x20"'
run ctl -s "$SOCK" profile --firmware "$T/nothing.elf"
expect_status 1
expect_err_has "cannot read the firmware's symbols: $T/nothing.elf"

step "profile mode exclusive halves the ticks (callees left out)"
run ctl -s "$SOCK" profile mode exclusive
expect_status 0
wait_for 20 counting
[ "$(first total_ticks)" -eq $(($(first call_count) * 40 / 2)) ] || fail "ticks not exclusive: $out"
run ctl -s "$SOCK" profile mode inclusive
expect_status 0
wait_for 20 counting
[ "$(first total_ticks)" -eq $(($(first call_count) * 40)) ] || fail "ticks not inclusive: $out"

step "profile event COUNTER EVENT_ID"
run ctl -s "$SOCK" profile event 1 5
expect_status 0
wait_for 20 counting
calls=$(first call_count)
[ "$(first_events)" = "$((calls * 1)),$((calls * 6))" ] || fail "events $(first_events) for $calls calls"

step "profile reset: counters cleared, default events"
run ctl -s "$SOCK" profile reset
expect_status 0
wait_for 20 counting
calls=$(first call_count)
[ "$(first_events)" = "$((calls * 1)),$((calls * 2))" ] || fail "events $(first_events) after reset"

step "settings: usage errors"
run ctl -s "$SOCK" profile mode sideways
expect_status 2
run ctl -s "$SOCK" profile event x 1
expect_status 2
run ctl -s "$SOCK" profile reset now
expect_status 2

step "a busy cam is asked again within the timeout"
records='[{"address": 134283264, "caller": 134234112, "call_count": 3, "min_ticks": 1, "max_ticks": 2, "total_ticks": 5, "total_cycles": 9, "events": [7]}]'
busy='{"error": {"code": -32004, "message": "cam busy"}}'
# Busy twice, then records; busy ever after.
start_fake "$T/fake.sock" '{
	"read_profile": ['"$busy"', '"$busy"', {"result": '"$records"'}, '"$busy"']
}'
run ctl -s "$T/fake.sock" profile
expect_status 0
expect_out_matches "^0x08010000  0x08004000 +3 +1 +2 +5 +9  7$"
[ "$(grep -c read_profile "$T/fake.log")" -eq 3 ] || fail "asked $(grep -c read_profile "$T/fake.log") times"
run ctl -s "$T/fake.sock" --timeout 0.3 profile
expect_status 1
expect_err_eq "omvctl: cam busy"

step "a cam without a profiler"
stop_pid "$OMVD_PID"
stop_pid "$CAM_PID"
start_pair
run ctl -s "$SOCK" profile mode exclusive
expect_status 1
expect_err_eq "omvctl: the cam has no profiler (firmware built without it)"
run ctl -s "$SOCK" profile
expect_status 0
expect_out_has "no profile data"

echo "ok"
