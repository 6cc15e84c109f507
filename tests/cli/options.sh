#!/usr/bin/env bash
# omvctl's command line as a user meets it: --version, usage errors (one
# line and where to get help, exit 2), global options anywhere with short
# forms, help naming the installed documentation, and connection errors
# with a hint (exit 3). Environment: see lib.sh; VERSION, DOCDIR, MANPAGE.
. "$(dirname "$0")/lib.sh"
: "${VERSION:?}" "${DOCDIR:?}" "${MANPAGE:?}" "${SOURCE_ROOT:?}"

step "--version"
run ctl --version
expect_status 0
[ "$out" = "omvctl $VERSION" ] || fail "version line: $out"
run ctl -V
[ "$out" = "omvctl $VERSION" ] || fail "-V: $out"

step "unknown option: one line, then where help is"
run ctl --bogus status
expect_status 2
expect_err_eq "omvctl: unknown option '--bogus'
Try 'omvctl --help' for more information."
[ -z "$out" ] || fail "usage error printed on stdout"
run ctl -x status
expect_status 2
expect_err_eq "omvctl: unknown option '-x'
Try 'omvctl --help' for more information."
run ctl status --bogus
expect_status 2
expect_err_eq "omvctl status: unknown option '--bogus'
Try 'omvctl status --help' for more information."
run ctl snapshot -o
expect_status 2
expect_err_has "option '-o' needs a value"
run ctl bogus
expect_status 2
expect_err_eq "omvctl: unknown command 'bogus'
Try 'omvctl --help' for more information."
run ctl
expect_status 2
expect_err_has "usage: omvctl"
run ctl --timeout x status
expect_status 2
expect_err_has "invalid --timeout 'x'"
run ctl status extra
expect_status 2
expect_err_has "unexpected argument 'extra'"

step "help needs no daemon, for every command"
run ctl --help
expect_status 0
expect_out_has "Exit status"
commands=$(sed -n '/^Commands:/,/^$/p' "$T/out" | awk 'NR > 1 && NF { print $1 }' | sort -u)
for c in status list wait info exec stop stdout snapshot stream channels channel events stats \
	profile reset boot call bridge; do
	grep -qx "$c" <<<"$commands" || fail "--help does not list $c"
	run ctl "$c" --help
	expect_status 0
	expect_out_has "usage: omvctl [OPTIONS] $c"
done

step "help and man page name the installed documentation"
run ctl call --help
expect_out_has "$DOCDIR/rpc.md"
expect_out_lacks "docs/rpc.md"
grep -qF "$DOCDIR/rpc.md" "$MANPAGE" || fail "omvctl(1) does not name $DOCDIR/rpc.md"
! grep -n '@[A-Z]*@' "$MANPAGE" || fail "omvctl(1) has an unreplaced placeholder"
for code in "0" "1" "2" "3" "130"; do
	grep -q "^\.B $code\$" "$MANPAGE" || fail "omvctl(1) does not document exit status $code"
done

step "no project jargon in what users read"
for f in README.md docs/rpc.md client/omvctl.1 client/omvclient.h daemon/omvd.8 \
	tests/camsim/omv-camsim.1; do
	! grep -niE "the seed|seed's|seed api|seed-exact|seeds/" "$SOURCE_ROOT/$f" ||
		fail "$f talks about the seed"
done
ctl --help >"$T/help"
for c in $commands; do ctl "$c" --help >>"$T/help"; done
! grep -niE "seed" "$T/help" || fail "help talks about the seed"

step "bash completion knows the commands and options"
comp=$SOURCE_ROOT/client/omvctl.bash-completion
bash -n "$comp" || fail "the completion does not parse"
for word in list bridge --stop-on-exit --no-frames --firmware --duration --host; do
	grep -qw -- "$word" "$comp" || fail "the completion lacks $word"
done

step "connection errors: exit 3 and a hint"
run ctl -s "$T/none.sock" status
expect_status 3
expect_err_eq "omvctl: cannot connect to $T/none.sock: No such file or directory
omvctl: is omvd running? (--socket PATH, OMVD_SOCKET; omvctl list)"
run ctl status
expect_status 3
expect_err_has "no omvd socket in $OMVD_RUNTIME_DIR"
expect_err_has "is omvd running?"

step "permission denied names the group"
start_pair
chmod 0600 "$SOCK"
if [ "$(id -u)" -eq 0 ]; then
	command -v setpriv >/dev/null || skip "setpriv is needed to test as another user"
	as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
else
	chmod 0 "$SOCK"
	as_user=()
fi
run "${as_user[@]}" "$OMVCTL" -s "$SOCK" status
expect_status 3
expect_err_has "Permission denied"
expect_err_has "permission denied: is this user in group omvd?"
chmod 0755 "$SOCK"

step "global options after the command, short forms"
run ctl status -s "$SOCK" -j
expect_status 0
expect_json link '"ready"'
run ctl --json status --socket "$SOCK"
expect_status 0
expect_json link '"ready"'
run ctl info --timeout 5 --socket="$SOCK"
expect_status 0
expect_out_has "Firmware version:"
run ctl -j channel read stdout -s "$SOCK"
expect_status 0
expect_json name '"stdout"'

echo "ok"
