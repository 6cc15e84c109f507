#!/usr/bin/env bash
# What omvctl stream -o writes is read by ffmpeg's tools with the right
# codec, size and frame count: MJPEG on a pipe, raw RGB888, numbered PNGs.
. "$(dirname "$0")/lib.sh"
command -v ffprobe >/dev/null || skip "no ffprobe (Debian package ffmpeg)"

# probe ARGS...: ffprobe's codec, size and decoded frame count, one per line.
probe() {
	ffprobe -v error -count_frames -select_streams v:0 \
		-show_entries stream=codec_name,width,height,nb_read_frames \
		-of default=noprint_wrappers=1 "$@"
}

# expect_probe FILE CODEC W H FRAMES
expect_probe() {
	local want="codec_name=$2
width=$3
height=$4
nb_read_frames=$5"
	[ "$(cat "$1")" = "$want" ] || fail "ffprobe says: $(tr '\n' ' ' <"$1"), expected: $(tr '\n' ' ' <<<"$want")"
}

start_pair --frame-size 640x480

step "MJPEG on standard output, piped into ffprobe"
"$OMVCTL" -s "$SOCK" stream -n 12 -o - -q | probe -f mjpeg -i - >"$T/probe" 2>"$T/probe.err"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "omvctl stream failed"
expect_probe "$T/probe" mjpeg 640 480 12

step "raw RGB888 as ffmpeg's rawvideo"
"$OMVCTL" -s "$SOCK" stream -n 5 --format rgb24 -o - -q |
	probe -f rawvideo -pixel_format rgb24 -video_size 640x480 -i - >"$T/probe" 2>"$T/probe.err"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "omvctl stream --format rgb24 failed"
expect_probe "$T/probe" rawvideo 640 480 5

step "numbered PNG files as an image sequence"
run ctl -s "$SOCK" stream -n 4 -o "$T/frame-%06d.png" -q
expect_status 0
probe -f image2 -i "$T/frame-%06d.png" >"$T/probe" 2>"$T/probe.err"
expect_probe "$T/probe" png 640 480 4

echo "ok"
