#!/usr/bin/env bash
# snapshot and stream -o: where frames go (files, standard output, numbered
# files), in which format, what happens when the place is unwritable, and
# how the rate is reported on a terminal and elsewhere.
. "$(dirname "$0")/lib.sh"

W=320
H=240
JPEG_SOI=$'\xff\xd8\xff'

first_bytes() {	# FILE N: the first N bytes in hex
	head -c "$2" "$1" | od -An -tx1 | tr -d ' \n'
}
jpeg_count() {	# FILE: how many JPEG images start in it
	LC_ALL=C grep -obUa "$JPEG_SOI" "$1" | wc -l
}

step "an unwritable place fails at once, once, before omvd is asked"
run ctl -s "$T/none.sock" snapshot -o "$T/nodir/x.jpg"
expect_status 1
expect_err_eq "omvctl: cannot write $T/nodir/x.jpg: No such file or directory"

start_pair
run ctl -s "$SOCK" snapshot -o "$T/nodir/x.jpg"
expect_status 1
expect_err_eq "omvctl: cannot write $T/nodir/x.jpg: No such file or directory"
run ctl -s "$SOCK" stream -o "$T/nodir/x.mjpeg" -n 2
expect_status 1
expect_err_eq "omvctl: cannot write $T/nodir/x.mjpeg: No such file or directory"

step "snapshot -o -: the cam's JPEG on standard output"
run ctl -s "$SOCK" snapshot -o -
expect_status 0
[ "$(first_bytes "$T/out" 3)" = ffd8ff ] || fail "standard output is not a JPEG"
[ "$(tail -c 2 "$T/out" | od -An -tx1 | tr -d ' \n')" = ffd9 ] || fail "the JPEG has no end"
expect_err_has "standard output: frame "

step "--format when the name says nothing"
run ctl -s "$SOCK" snapshot -o - --format png
expect_status 0
[ "$(first_bytes "$T/out" 8)" = 89504e470d0a1a0a ] || fail "not a PNG"
run ctl -s "$SOCK" snapshot -o "$T/shot.img" --format ppm
expect_status 0
[ "$(head -c 15 "$T/shot.img")" = "P6
$W $H
255" ] || fail "not a $W x $H PPM"
run ctl -s "$SOCK" snapshot -o "$T/shot.img"
expect_status 2
expect_err_has "give --format"
run ctl -s "$SOCK" snapshot -o "$T/shot.jpg" --format gif
expect_status 2
expect_err_has "unknown --format 'gif'"

step "PNG is compressed"
run ctl -s "$SOCK" snapshot -o "$T/shot.png"
expect_status 0
size=$(stat -c %s "$T/shot.png")
[ "$size" -lt $((W * H * 3 / 2)) ] || fail "a $W x $H PNG of $size bytes is not compressed"

step "a failed snapshot leaves the old file alone; a good one replaces it"
echo old >"$T/keep.jpg"
start_fake "$T/fake.sock" '{
	"subscribe": {"result": ["frame"]},
	"status": {"result": {"link": "ready", "shared": {"streaming": true}}}
}'
run ctl -s "$T/fake.sock" snapshot -o "$T/keep.jpg" --timeout 0.3
expect_status 1
expect_err_eq "omvctl: no frame from the cam within 0.3 s"
[ "$(cat "$T/keep.jpg")" = old ] || fail "the old file was touched"
[ -z "$(find "$T" -maxdepth 1 -name '.keep.jpg.*')" ] || fail "a temporary file was left"
run ctl -s "$SOCK" snapshot -o "$T/keep.jpg"
expect_status 0
[ "$(first_bytes "$T/keep.jpg" 3)" = ffd8ff ] || fail "the good shot did not replace it"
[ "$(stat -c %a "$T/keep.jpg")" = "$(printf '%o' $((0666 & ~$(umask))))" ] ||
	fail "the new file has mode $(stat -c %a "$T/keep.jpg")"

step "stream -o FILE: MJPEG, N frames"
run ctl -s "$SOCK" stream -n 5 -o "$T/rec.mjpeg"
expect_status 0
[ "$(jpeg_count "$T/rec.mjpeg")" -eq 5 ] || fail "$(jpeg_count "$T/rec.mjpeg") JPEGs, not 5"
expect_out_matches "^frame [0-9]+  ${W}x${H}  .* fps .*\(5 frames\)$"

step "stream --format rgb24: W*H*3 bytes a frame"
run ctl -s "$SOCK" stream -n 3 --format rgb24 -o "$T/rec.rgb" -q
expect_status 0
[ "$(stat -c %s "$T/rec.rgb")" -eq $((3 * W * H * 3)) ] || fail "rgb24 size $(stat -c %s "$T/rec.rgb")"
[ -z "$out" ] || fail "-q still reports: $out"

step "stream to standard output: frames there, the report on stderr"
run ctl -s "$SOCK" stream -n 4 -o -
expect_status 0
[ "$(jpeg_count "$T/out")" -eq 4 ] || fail "$(jpeg_count "$T/out") JPEGs on stdout, not 4"
expect_err_has "(4 frames)"

step "the reader going away ends the stream quietly"
"$OMVCTL" -s "$SOCK" stream -o - 2>"$T/pipe.err" | head -c 1000 >/dev/null
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || fail "exit status $rc when the reader left: $(cat "$T/pipe.err")"

step "numbered files"
run ctl -s "$SOCK" stream -n 3 -o "$T/f-%03d.ppm" -q
expect_status 0
for n in 001 002 003; do
	[ "$(head -c 2 "$T/f-$n.ppm")" = P6 ] || fail "f-$n.ppm is not a PPM"
done
[ ! -e "$T/f-004.ppm" ] || fail "a fourth file"
run ctl -s "$SOCK" stream -n 2 -o "$T/j%d.jpg" -q
expect_status 0
[ "$(first_bytes "$T/j1.jpg" 3)" = ffd8ff ] && [ "$(first_bytes "$T/j2.jpg" 3)" = ffd8ff ] ||
	fail "j1.jpg, j2.jpg are not JPEGs"
run ctl -s "$SOCK" stream -n 1 -o "$T/p%%-%d.png" -q
expect_status 0
[ "$(first_bytes "$T/p%-1.png" 8)" = 89504e470d0a1a0a ] || fail "%% is not a percent sign"
for bad in "$T/x-%s.jpg" "$T/x-%d-%d.jpg" "$T/x-%d.gif"; do
	run ctl -s "$SOCK" stream -n 1 -o "$bad"
	expect_status 2
done
run ctl -s "$SOCK" stream --format mjpeg
expect_status 2
expect_err_has "--format needs -o"

step "--duration ends the stream"
run ctl -s "$SOCK" -j stream --duration 0.5
expect_status 0
expect_out_matches '"frames":[1-9][0-9]*,'

step "on a terminal: one updating line"
command -v script >/dev/null || skip "script(1) is needed for a terminal"
script -qec "$OMVCTL -s $SOCK stream -n 45" /dev/null >"$T/tty.out" </dev/null
grep -q $'\r' "$T/tty.out" || fail "no updating line on a terminal"
grep -q "fps" "$T/tty.out" || fail "no rate on a terminal"

step "elsewhere: one line per interval"
run ctl -s "$SOCK" stream -n 45
expect_status 0
! grep -q $'\r' "$T/out" || fail "carriage returns in a file"
[ "$(grep -c ' fps ' "$T/out")" -ge 2 ] || fail "not a line per second and a summary"

echo "ok"
