#!/usr/bin/env python3
"""How many MJPEG viewers omv-web serves at the cam's frame rate.

Starts camsim, omvd and omv-web from a build directory, then for each
viewer count opens that many /stream.mjpg connections (one select loop),
counts the frames each receives in a window, and reads the rate omvd
fetched frames from the cam (status.counters.frames_fetched) and omv-web's
CPU time meanwhile.

usage: measure_viewers.py BUILD_DIR [--fps N] [--size WxH] [--window S]
                          [--counts 1,8,...]
"""
import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "measure-token-0123456789abcdef"


def start(build, tmp, fps, size, max_viewers):
    cam = os.path.join(tmp, "cam")
    sock = os.path.join(tmp, "omvd.sock")
    procs = [subprocess.Popen([f"{build}/tests/camsim/omv-camsim", "--link", cam, "--fps",
                               str(fps), "--frame-size", size], stdout=subprocess.PIPE)]
    procs[0].stdout.readline()
    procs.append(subprocess.Popen([f"{build}/daemon/omvd", "--port", cam, "--socket", sock],
                                  stderr=subprocess.DEVNULL))
    token = os.path.join(tmp, "token")
    with open(os.open(token, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(TOKEN + "\n")
    for _ in range(500):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    web = subprocess.Popen([f"{build}/client/web/omv-web", "--socket", sock, "--listen",
                            "127.0.0.1:0", "--token-file", token, "--max-viewers",
                            str(max_viewers), "--max-connections", str(max_viewers + 16)],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(web)
    line = web.stdout.readline()
    port = int(line.split("127.0.0.1:")[1].split("/")[0])
    for _ in range(1000):
        try:
            if status(port)["status"]["link"] == "ready":
                break
        except OSError:
            pass
        time.sleep(0.01)
    return procs, port


def status(port):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/status",
                                 headers={"X-OMV-Token": TOKEN})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port, web_pid, n, window):
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"X-OMV-Token: {TOKEN}\r\n\r\n".encode())
        s.setblocking(False)
        c = {"sock": s, "frames": 0, "tail": b""}
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)

    def pump(until, counting):
        while time.monotonic() < until:
            for key, _ in sel.select(timeout=0.1):
                c = key.data
                try:
                    data = c["sock"].recv(1 << 20)
                except BlockingIOError:
                    continue
                if not data:
                    raise SystemExit("a viewer was cut off")
                chunk = c["tail"] + data
                if counting:
                    c["frames"] += chunk.count(b"--omvframe\r\n")
                c["tail"] = chunk[-12:]
                if counting:   # the tail's boundary was counted already
                    c["frames"] -= c["tail"].count(b"--omvframe\r\n")

    pump(time.monotonic() + 2, False)       # warm up: streaming on, all flowing
    before, cpu0 = status(port), cpu_seconds(web_pid)
    t0 = time.monotonic()
    pump(t0 + window, True)
    elapsed = time.monotonic() - t0
    after, cpu1 = status(port), cpu_seconds(web_pid)
    for c in conns:
        sel.unregister(c["sock"])
        c["sock"].close()
    rates = sorted(c["frames"] / elapsed for c in conns)
    received = (after["web"]["frames"]["received"] - before["web"]["frames"]["received"]) / elapsed
    fetched = (after["status"]["counters"]["frames_fetched"] -
               before["status"]["counters"]["frames_fetched"]) / elapsed
    return {
        "viewers": n,
        "daemon_fps": round(fetched, 1),
        "omv_web_fps_in": round(received, 1),
        "viewer_fps_min": round(rates[0], 1),
        "viewer_fps_median": round(rates[len(rates) // 2], 1),
        "dropped_per_s": round((after["web"]["mjpeg"]["dropped"] -
                                before["web"]["mjpeg"]["dropped"]) / elapsed, 1),
        "omv_web_cpu_pct": round(100 * (cpu1 - cpu0) / elapsed, 1),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--window", type=float, default=5)
    ap.add_argument("--counts", default="1,8,32,64,128")
    args = ap.parse_args()
    counts = [int(x) for x in args.counts.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        procs, port = start(args.build, tmp, args.fps, args.size, max(counts))
        try:
            for n in counts:
                print(json.dumps(measure(port, procs[2].pid, n, args.window)), flush=True)
                time.sleep(3)   # past the linger: every count starts alike
        finally:
            for p in reversed(procs):
                p.terminate()
                p.wait()


if __name__ == "__main__":
    sys.exit(main())
