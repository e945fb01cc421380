#!/usr/bin/env python3
"""A minimal AWS Lambda Runtime API on loopback: hands one event to the function (the `bootstrap`
binary, started with AWS_LAMBDA_RUNTIME_API=127.0.0.1:PORT), prints the function's response (or
error) as JSON on stdout, and exits.

Usage: lambda_runtime_api.py --port 19009 --event event.json [--timeout 60]
"""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESULT = {}
DONE = threading.Event()
SERVED = threading.Event()
PREFIX = "/2018-06-01/runtime"


class JsonHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log, and JSON replies (also the fault matrix's emulator's)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Handler(JsonHandler):
    def do_GET(self):
        if self.path != PREFIX + "/invocation/next":
            self.reply(404, b"{}")
            return
        if SERVED.is_set():
            # Only one event: park the function until the emulator exits.
            DONE.wait(120)
            self.reply(500, b"{}")
            return
        SERVED.set()
        self.reply(200, EVENT, [
            ("Lambda-Runtime-Aws-Request-Id", "req-1"),
            ("Lambda-Runtime-Deadline-Ms", "99999999999999"),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:forwarder"),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
        ])

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == PREFIX + "/invocation/req-1/response":
            RESULT["response"] = json.loads(body or b"null")
        elif self.path in (PREFIX + "/invocation/req-1/error", PREFIX + "/init/error"):
            RESULT["error"] = json.loads(body or b"null")
        else:
            self.reply(404, b"{}")
            return
        self.reply(202, b"{}")
        DONE.set()


def main():
    global EVENT
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--event", required=True)
    p.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    with open(args.event, "rb") as f:
        EVENT = f.read()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ok = DONE.wait(args.timeout)
    print(json.dumps(RESULT if ok else {"error": "timeout"}))
    sys.stdout.flush()
    server.shutdown()
    sys.exit(0 if ok and "response" in RESULT else 1)


if __name__ == "__main__":
    main()
