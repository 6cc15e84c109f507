#!/usr/bin/env bash
# Remote control through a real OpenSSH server: sshd on 127.0.0.1 on a
# free port with a generated host key, key-only login as the current user,
# known_hosts and client configuration in a temporary directory (the ssh
# in PATH is a wrapper pointing at it). omvctl --host ssh://... runs
# 'omvctl bridge' on the far side; a plain ssh -L socket forward works too.
. "$(dirname "$0")/lib.sh"

SSHD=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$SSHD" ] || skip "no sshd (Debian package openssh-server)"
for tool in ssh ssh-keygen; do
	command -v $tool >/dev/null || skip "no $tool (Debian package openssh-client)"
done
REAL_SSH=$(command -v ssh)

D=$T/ssh
mkdir -m 700 "$D" "$D/bin"
ssh-keygen -q -t ed25519 -N '' -C host -f "$D/host_key" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C client -f "$D/id" || fail "ssh-keygen"
ssh-keygen -q -t ed25519 -N '' -C stranger -f "$D/stranger" || fail "ssh-keygen"
cp "$D/id.pub" "$D/authorized_keys"
USER_NAME=$(id -un)

# sshd as root needs its privilege separation directory.
if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd || skip "cannot create /run/sshd for sshd"
fi

# Start sshd on a free port: a taken one makes it exit at once.
start_sshd() {
	local attempt
	for attempt in 1 2 3 4 5 6 7 8; do
		PORT=$((20000 + RANDOM % 40000))
		cat >"$D/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $D/host_key
PidFile $D/sshd.pid
AuthorizedKeysFile $D/authorized_keys
AllowUsers $USER_NAME
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PermitUserEnvironment no
AllowStreamLocalForwarding yes
LogLevel VERBOSE
EOF
		: >"$D/sshd.log"
		"$SSHD" -D -e -f "$D/sshd_config" 2>"$D/sshd.log" &
		SSHD_PID=$!
		PIDS+=($SSHD_PID)
		local start=$SECONDS
		while [ $((SECONDS - start)) -lt 10 ]; do
			grep -q "Server listening on 127.0.0.1 port $PORT" "$D/sshd.log" && return 0
			kill -0 "$SSHD_PID" 2>/dev/null || break
			sleep 0.02
		done
		wait "$SSHD_PID" 2>/dev/null
		grep -q "Address already in use" "$D/sshd.log" && continue
		skip "sshd cannot run here: $(tail -n 3 "$D/sshd.log" | tr '\n' ' ')"
	done
	skip "no free port for sshd"
}
start_sshd

printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$D/host_key.pub")" >"$D/known_hosts"
cat >"$D/ssh_config" <<EOF
Host *
	UserKnownHostsFile $D/known_hosts
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	IdentityFile $D/id
	IdentitiesOnly yes
	BatchMode yes
	LogLevel ERROR
EOF
# The ssh omvctl finds in PATH, as a user would configure it.
printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$REAL_SSH" "$D/ssh_config" >"$D/bin/ssh"
chmod +x "$D/bin/ssh"
export PATH=$D/bin:$PATH
# The far side runs this build's omvctl (its PATH does not have it).
export OMVCTL_REMOTE=$OMVCTL

step "the ssh login works at all"
run ssh -p "$PORT" "$USER_NAME@127.0.0.1" true
[ "$status" -eq 0 ] || skip "ssh to the test sshd fails: $err $(tail -n 5 "$D/sshd.log" | tr '\n' ' ')"

start_pair
URL=ssh://$USER_NAME@127.0.0.1:$PORT$SOCK

step "info through ssh://"
run ctl --host "$URL" info
expect_status 0
expect_out_has "Firmware version:"
expect_out_has "stdin(1) stdout(2) stream(3)"

step "exec --follow through ssh://"
printf 'print("over ssh")\nprint("done")\n' >"$T/remote.py"
run ctl -H "$URL" exec --follow "$T/remote.py"
expect_status 0
expect_out_has "over ssh
done"
printf 'raise ValueError("far away")\n' >"$T/raise.py"
run ctl -H "$URL" exec -f "$T/raise.py"
expect_status 1
expect_err_eq "omvctl: the script ended with an exception"

step "snapshot through ssh:// (a connect string works as --socket too)"
run ctl -s "$URL" snapshot -o "$T/remote.jpg"
expect_status 0
[ "$(head -c 3 "$T/remote.jpg" | od -An -tx1 | tr -d ' \n')" = ffd8ff ] || fail "not a JPEG"

step "Ctrl-C over ssh: 130, and --stop-on-exit still reaches the cam"
printf 'import time\nwhile True:\n    print("tick")\n    time.sleep_ms(50)\n' >"$T/loop.py"
"$OMVCTL" -H "$URL" exec -f --stop-on-exit "$T/loop.py" >"$T/bg.out" 2>"$T/bg.err" &
BG=$!
PIDS+=($BG)
wait_for 30 grep -q tick "$T/bg.out"
kill -INT "$BG"
wait "$BG"
rc=$?
[ "$rc" -eq 130 ] || fail "exit status $rc after Ctrl-C over ssh: $(cat "$T/bg.err")"
stopped() {
	run ctl -s "$SOCK" -j status
	json_has script_running false
}
wait_for 20 stopped

step "the far side cannot reach omvd: exit 3, both sides say why"
run ctl -H "ssh://$USER_NAME@127.0.0.1:$PORT$T/nothing.sock" status
expect_status 3
expect_err_has "omvctl: cannot connect to $T/nothing.sock: No such file or directory"
expect_err_has "omvctl: cannot connect to ssh://$USER_NAME@127.0.0.1:$PORT$T/nothing.sock: "
expect_err_has "the ssh link ended: ssh exited with status 3"

step "ssh refuses the login: exit 3"
printf '#!/bin/sh\nexec %s -F %s -i %s -o IdentityFile=none "$@"\n' "$REAL_SSH" "$D/ssh_config" \
	"$D/stranger" >"$D/bin/ssh"
sed -i "s|IdentityFile $D/id|IdentityFile $D/stranger|" "$D/ssh_config"
run ctl -H "$URL" status
expect_status 3
expect_err_has "the ssh link ended: ssh exited with status 255"
sed -i "s|IdentityFile $D/stranger|IdentityFile $D/id|" "$D/ssh_config"
printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$REAL_SSH" "$D/ssh_config" >"$D/bin/ssh"

step "bad ssh:// strings are usage errors of the library"
for bad in "ssh://" "ssh://-oProxyCommand=x" "ssh://host:99999" "ssh://a b"; do
	run ctl -H "$bad" status
	[ "$status" -ne 0 ] || fail "$bad was accepted"
	expect_err_has "is not ssh://[user@]host[:port][/path/to/socket]"
done

step "plain ssh -L forwarding of the socket"
ssh -N -p "$PORT" -L "$T/fwd.sock:$SOCK" "$USER_NAME@127.0.0.1" 2>"$T/fwd.err" &
PIDS+=($!)
FWD=$!
wait_for 20 test -S "$T/fwd.sock"
run ctl -s "$T/fwd.sock" info
expect_status 0
expect_out_has "Firmware version:"
stop_pid "$FWD"

echo "ok"
