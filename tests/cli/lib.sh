# Shared by the CLI tests (sourced): a temporary directory, omv-camsim and
# omvd started on paths in it, running omvctl as a user would and checking
# its exit status and output. Waits poll a condition with a deadline;
# nothing sleeps to let things happen.
#
# Environment (set by meson): OMVD, OMV_CAMSIM, OMVCTL; SOURCE_ROOT for
# tests that read the sources.

set -u
: "${OMVD:?}" "${OMV_CAMSIM:?}" "${OMVCTL:?}"

T=$(mktemp -d /tmp/omvctl-cli.XXXXXX)
chmod 755 "$T"
PIDS=()
# Never the machine's own omvd: discovery looks in an empty directory.
unset OMVD_SOCKET OMVCTL_REMOTE
export OMVD_RUNTIME_DIR=$T/run
mkdir -p "$OMVD_RUNTIME_DIR"

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT

STEP="start"
# step TEXT: what is being checked now (named when it fails; with
# CLI_TIMES set, printed with the seconds since the start).
step() {
	STEP=$*
	[ -z "${CLI_TIMES:-}" ] || echo "$SECONDS s: $STEP"
}

fail() {
	echo "FAIL ($STEP): $*" >&2
	if [ -e "$T/out" ]; then
		echo "--- status ${status:-?}, stdout:" >&2
		head -c 4000 "$T/out" >&2
		echo "--- stderr:" >&2
		head -c 4000 "$T/err" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# wait_for SECONDS CMD...: until CMD succeeds; fails the test at the deadline.
wait_for() {
	local limit=$1 start=$SECONDS
	shift
	until "$@"; do
		[ $((SECONDS - start)) -lt "$limit" ] || fail "timed out waiting for: $*"
		sleep 0.02
	done
}

# run CMD...: run it (at most 60 s); $status, $out and $err hold the result.
# "ctl" stands for omvctl.
run() {
	[ "$1" = ctl ] && set -- "$OMVCTL" "${@:2}"
	timeout -k 5 60 "$@" >"$T/out" 2>"$T/err" </dev/null
	status=$?
	out=$(tr -d '\0' <"$T/out")
	err=$(tr -d '\0' <"$T/err")
}

ctl() {
	"$OMVCTL" "$@"
}

expect_status() {
	[ "$status" -eq "$1" ] || fail "exit status $status, expected $1"
}
expect_out_has() {
	grep -qF -- "$1" "$T/out" || fail "stdout lacks '$1'"
}
expect_out_lacks() {
	! grep -qF -- "$1" "$T/out" || fail "stdout has '$1'"
}
expect_err_has() {
	grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1'"
}
expect_err_eq() {
	[ "$err" = "$1" ] || fail "stderr is not: $1"
}
expect_out_matches() {
	grep -qE -- "$1" "$T/out" || fail "no stdout line matches /$1/"
}
# expect_lines FILE N: exactly N lines.
expect_lines() {
	local n
	n=$(wc -l <"$1")
	[ "$n" -eq "$2" ] || fail "$1 has $n lines, expected $2"
}

# start_cam NAME [ARGS...]: omv-camsim with its link at $T/NAME.
start_cam() {
	local name=$1
	shift
	"$OMV_CAMSIM" --link "$T/$name" "$@" >"$T/$name.camsim" 2>&1 &
	PIDS+=($!)
	CAM_PID=$!
	wait_for 10 test -e "$T/$name"
}

# start_omvd SOCKET PORT [ARGS...]: omvd, not waited for ($OMVD_PID).
start_omvd() {
	local sock=$1 port=$2
	shift 2
	"$OMVD" --port "$port" --socket "$sock" "$@" 2>>"$T/omvd.log" &
	PIDS+=($!)
	OMVD_PID=$!
}

# start_pair [CAMSIM ARGS...]: a cam and its omvd at $SOCK, link up.
start_pair() {
	SOCK=$T/omvd.sock
	start_cam cam "$@"
	start_omvd "$SOCK" "$T/cam"
	run ctl -s "$SOCK" wait --timeout 20
	expect_status 0
}

# stop_pid PID: SIGTERM and reap it.
stop_pid() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# json_has KEY VALUE: the compact JSON on stdout has "KEY":VALUE (VALUE
# as JSON: '"ready"', 2, null).
json_has() {
	grep -qF -- "\"$1\":$2" "$T/out"
}
# expect_json KEY VALUE: the same, or the test fails.
expect_json() {
	json_has "$1" "$2" || fail "stdout lacks \"$1\":$2"
}
# count_of TEXT: how many times TEXT is on stdout.
count_of() {
	grep -oF -- "$1" "$T/out" | wc -l
}

CLI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# start_fake SOCKET SCRIPT-JSON: fake_omvd.py answering from the script;
# the requests it got are in $T/fake.log.
start_fake() {
	command -v python3 >/dev/null || skip "python3 is needed for the fake omvd"
	printf '%s\n' "$2" >"$T/fake.json"
	: >"$T/fake.log"
	python3 "$CLI_DIR/fake_omvd.py" "$1" "$T/fake.json" "$T/fake.log" 2>>"$T/fake.err" &
	PIDS+=($!)
	FAKE_PID=$!
	wait_for 10 test -S "$1"
}
