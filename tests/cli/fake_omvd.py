#!/usr/bin/env python3
"""A stand-in for omvd in the CLI tests, for answers a cam rarely gives on
demand (BUSY, a stdin size, no frames ever).

usage: fake_omvd.py SOCKET SCRIPT.json LOG

SCRIPT maps a method name to its answer, {"result": X} or {"error": {...}},
or to a list of answers given in turn (the last one repeats). A method not
in SCRIPT gets "method not found". Every request is appended to LOG as one
JSON line. The socket is ready once it exists.
"""
import json
import os
import socketserver
import sys
import threading

SOCKET, SCRIPT, LOG = sys.argv[1:4]
with open(SCRIPT) as f:
    script = json.load(f)
calls = {}
lock = threading.Lock()


def answer(method):
    with lock:
        plan = script.get(method)
        if plan is None:
            return {"error": {"code": -32601, "message": "method not found"}}
        if isinstance(plan, list):
            n = calls.get(method, 0)
            calls[method] = n + 1
            return plan[min(n, len(plan) - 1)]
        return plan


class Client(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            try:
                req = json.loads(line)
            except ValueError:
                continue
            with lock, open(LOG, "a") as log:
                log.write(json.dumps(req) + "\n")
            if "id" not in req:
                continue
            reply = {"jsonrpc": "2.0", "id": req["id"]}
            reply.update(answer(req.get("method")))
            self.wfile.write((json.dumps(reply) + "\n").encode())
            self.wfile.flush()


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


tmp = SOCKET + ".new"
if os.path.exists(tmp):
    os.unlink(tmp)
server = Server(tmp, Client)
os.rename(tmp, SOCKET)  # appears ready to serve
server.serve_forever()
