"""python3 -m omvd: a few handy commands on the package (omvctl is the
full command-line tool)."""

import argparse
import json
import os
import sys

from . import Camera, Client, OMVException, TimeoutException


def cmd_status(client, args):
    print(json.dumps(client.status(), indent=2))


def cmd_clients(client, args):
    for c in client.clients():
        print(f"{c['id']:>4} {c['name']}{' (this one)' if c.get('self') else ''}: "
              f"{c['calls']} calls, {c['frames_sent']} frames, "
              f"subscribed to {', '.join(c['subscriptions']) or 'nothing'}")


def cmd_info(cam, args):
    for key, value in {**cam.version(), **cam.system_info()}.items():
        if isinstance(value, tuple) and key.endswith("_version"):
            value = ".".join(map(str, value))
        elif isinstance(value, tuple):
            value = " ".join(f"0x{v:08X}" for v in value)
        print(f"{key}: {value}")


def cmd_exec(client, args):
    with (sys.stdin if args.script == "-" else open(args.script)) as f:
        script = f.read()
    if args.follow:
        client.subscribe("stdout", "state")
    run = client.call("exec", {"script": script})
    if not args.follow:
        print(f"run {run}")
        return
    for topic, params in client.notifications("stdout", "state", timeout=None):
        if params.get("run") != run:
            continue
        if topic == "stdout":
            sys.stdout.write(params["text"])
            sys.stdout.flush()
        elif not params["script_running"]:
            return


def write_image(path, frame):
    """Save an RGB888 frame: PPM with the standard library, other formats
    with Pillow when it is installed."""
    if path.lower().endswith(".ppm"):
        with open(path, "wb") as f:
            f.write(b"P6\n%d %d\n255\n" % (frame["width"], frame["height"]))
            f.write(frame["data"])
        return
    try:
        from PIL import Image
    except ImportError:
        raise SystemExit(f"saving {path} needs Pillow (python3-pil); use .jpg or .ppm") from None
    Image.frombytes("RGB", (frame["width"], frame["height"]), bytes(frame["data"])).save(path)


def cmd_snapshot(client, args):
    jpeg = os.path.splitext(args.file)[1].lower() in (".jpg", ".jpeg")
    try:
        frame = next(client.frames("jpeg" if jpeg else "rgb888", timeout=args.wait))
    except TimeoutException:
        raise SystemExit(f"no frame from the cam within {args.wait:g} s") from None
    if jpeg:
        with open(args.file, "wb") as f:
            f.write(frame["data"])
    else:
        write_image(args.file, frame)
    print(f"frame {frame['number']}: {frame['width']}x{frame['height']} -> {args.file}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m omvd",
                                     description="Use an OpenMV cam through omvd.")
    parser.add_argument("-p", "--port", help="omvd's socket, the cam's serial port, or "
                        "ssh://[user@]host[:port][/socket] (default: $OMVD_SOCKET, else "
                        "omvd.sock, else the only socket in $OMVD_RUNTIME_DIR or /run/omvd)")
    parser.add_argument("-t", "--timeout", type=float, default=5.0,
                        help="seconds to wait for each call (default 5)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status", help="the daemon's status as JSON").set_defaults(run=cmd_status)
    sub.add_parser("clients", help="the daemon's clients").set_defaults(run=cmd_clients)
    sub.add_parser("info", help="the cam's versions and system information"
                   ).set_defaults(run=cmd_info)
    p = sub.add_parser("exec", help="run a script (FILE, or - for stdin)")
    p.add_argument("script")
    p.add_argument("-f", "--follow", action="store_true",
                   help="print its output until it ends")
    p.set_defaults(run=cmd_exec)
    p = sub.add_parser("snapshot", help="save one frame (.jpg, .ppm, or what Pillow writes)")
    p.add_argument("file")
    p.add_argument("--wait", type=float, default=10.0,
                   help="seconds to wait for the frame (default 10)")
    p.set_defaults(run=cmd_snapshot)
    args = parser.parse_args(argv)
    connection = Camera if args.run is cmd_info else Client  # info needs the cam's link
    try:
        with connection(args.port, timeout=args.timeout) as client:
            args.run(client, args)
    except OMVException as e:
        raise SystemExit(f"omvd: {e}") from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    return 0


if __name__ == "__main__":
    sys.exit(main())
