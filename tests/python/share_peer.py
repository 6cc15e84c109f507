"""The second program of test_sharing: connects to the daemon, says
"ready", then collects frames and stdout until the marker appears, and
prints what it got as one JSON line."""

import json
import sys
import time

from omvd import Camera

socket_path, marker, frames_wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 30
with Camera(socket_path, timeout=15) as cam:
    cam.streaming(True)
    print(json.dumps({"ready": True}), flush=True)
    frames, out = [], ""
    while (len(frames) < frames_wanted or marker not in out) and time.monotonic() < deadline:
        frame = cam.read_frame()
        if frame is not None and len(frames) < frames_wanted:
            frames.append({"number": frame["number"], "size": len(frame["data"]),
                           "width": frame["width"], "height": frame["height"]})
        text = cam.read_stdout()
        if text is not None:
            out += text
        time.sleep(0.001)  # pacing a poll loop, not synchronisation
print(json.dumps({"frames": frames, "stdout": out}), flush=True)
