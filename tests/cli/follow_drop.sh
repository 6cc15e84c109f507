#!/usr/bin/env bash
# exec --follow on a link that loses 2% of its packets both ways: 50 short
# runs in a row all end, each with its own output and the right exit
# status (0 for a script that finishes, 1 for one that raises).
. "$(dirname "$0")/lib.sh"

start_pair --drop-rate 0.02 --seed 11
printf 'print("ok %s")\n' done >"$T/good.py"
printf 'print("before")\nraise ValueError("bad")\n' >"$T/bad.py"

for i in $(seq 1 50); do
	if [ $((i % 2)) -eq 1 ]; then
		step "run $i: a script that finishes"
		run ctl -s "$SOCK" exec --follow "$T/good.py"
		expect_status 0
		expect_out_has "ok done"
	else
		step "run $i: a script that raises"
		run ctl -s "$SOCK" exec --follow "$T/bad.py"
		expect_status 1
		expect_out_has "before"
		expect_err_has "the script ended with an exception"
		expect_out_lacks "ok done"
	fi
done
run ctl -s "$SOCK" -j status
expect_status 0
expect_json script_running false
echo "ok"
