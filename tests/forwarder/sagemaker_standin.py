#!/usr/bin/env python3
"""A SageMaker Runtime stand-in on loopback for the forwarder's tests.

Serves `POST /endpoints/{name}/invocations` (InvokeEndpoint's REST shape) by forwarding the body
to a real inference container's `POST /invocations`, and answers the way SageMaker does: the
container's 2xx answer as is, a container error as `ModelError` (HTTP 424 with
`OriginalStatusCode`). Faults are injected on request:

  POST /_standin/faults  {"script": [{"kind": "throttle"}, ...], "rate": 0.1,
                          "kinds": ["throttle", "unavailable"], "seed": 1, "delay_ms": 1500,
                          "poison": ["666.25"]}
      `script` faults are served first, one per request, in order; afterwards each request
      fails with probability `rate` with a kind drawn from `kinds` (a drawn delay lasts
      `delay_ms`). A body holding any of the `poison` strings is always answered as a
      container 400 (a row the model refuses, every time).
      kinds: throttle (400 ThrottlingException), unavailable (503 ServiceUnavailable),
      internal (500 InternalFailure), not_ready (429 ModelNotReadyException),
      model4xx (424 ModelError, OriginalStatusCode 400), model5xx (424, OriginalStatusCode 500),
      delay (answers normally after `ms` milliseconds, default 1500).
  GET /_standin/stats    counters as JSON.

`X-Amzn-SageMaker-Custom-Attributes` (InvokeEndpoint's CustomAttributes) is passed to the
container as SageMaker does.

Multi-model endpoints (`--models-dir DIR`, the stand-in's S3 prefix: `<name>.tar.gz` archives, and
an upstream container started with SAGEMAKER_MULTI_MODEL=true): a request's TargetModel
(`X-Amzn-SageMaker-Target-Model`) is served as SageMaker's multi-model agent does. On first use
the archive is unpacked under `--work-dir` as `<id>/model` and loaded with `POST /models`
(`model_name` an opaque id, not the TargetModel); a 507 unloads the least recently used model and
retries; then the request goes to `POST /models/<id>/invoke` with the TargetModel header. A
TargetModel with no archive is answered as SageMaker answers it: a 400 ValidationError saying the
model data could not be downloaded.

Usage: sagemaker_standin.py --port 18090 --upstream http://127.0.0.1:18080
       [--models-dir DIR --work-dir DIR]
Listens on 127.0.0.1 only.
"""

import argparse
import collections
import hashlib
import http.client
import json
import os
import random
import tarfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"script": [], "rate": 0.0, "kinds": [], "rng": random.Random(0), "delay_ms": 1500, "poison": []}
STATS = {"requests": 0, "forwarded": 0, "rows": 0, "faults": {}, "loads": 0, "unloads": 0}
LOCAL = threading.local()
# Multi-model: TargetModel -> the id it is loaded under, least recently used first.
LOADED = collections.OrderedDict()
LOAD_LOCK = threading.Lock()

ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "unavailable": (503, "ServiceUnavailable", "Service is unavailable"),
    "internal": (500, "InternalFailure", "An internal failure occurred"),
    "not_ready": (429, "ModelNotReadyException", "Model is loading"),
}


def next_fault(body):
    with LOCK:
        if any(p in body for p in STATE["poison"]):
            STATS["faults"]["poison"] = STATS["faults"].get("poison", 0) + 1
            return {"kind": "model4xx"}
        if STATE["script"]:
            fault = STATE["script"].pop(0)
        elif STATE["rate"] > 0 and STATE["kinds"] and STATE["rng"].random() < STATE["rate"]:
            fault = {"kind": STATE["rng"].choice(STATE["kinds"]), "ms": STATE["delay_ms"]}
        else:
            return None
        kind = fault["kind"]
        STATS["faults"][kind] = STATS["faults"].get(kind, 0) + 1
        return fault


def upstream():
    conn = getattr(LOCAL, "conn", None)
    if conn is None:
        u = urllib.parse.urlsplit(ARGS.upstream)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        LOCAL.conn = conn
    return conn


def call_upstream(method, path, body=None, headers=None):
    try:
        conn = upstream()
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheader("Content-Type", "application/json")
    except (OSError, http.client.HTTPException):
        LOCAL.conn = None
        raise


def load_target(target):
    """The id `target` is loaded under, loading it first if needed; or an error to answer."""
    with LOAD_LOCK:
        if target in LOADED:
            LOADED.move_to_end(target)
            return LOADED[target], None
        archive = os.path.join(ARGS.models_dir, target)
        if "/" in target or not os.path.isfile(archive):
            return None, (400, "ValidationError",
                          "Failed to download model data(bucket: standin, key: %s). Please ensure that there "
                          "is an object located at the URL and that the role passed to CreateModel has "
                          "permissions to download the model." % target)
        model_id = hashlib.sha256(target.encode()).hexdigest()[:32]
        where = os.path.join(ARGS.work_dir, model_id, "model")
        os.makedirs(where, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(where, filter="data")
        load = json.dumps({"model_name": model_id, "url": where}).encode()
        while True:
            status, answer, _ = call_upstream("POST", "/models", load, {"Content-Type": "application/json"})
            if status in (200, 409):
                break
            if status == 507 and LOADED:
                _, oldest = LOADED.popitem(last=False)
                call_upstream("DELETE", "/models/" + oldest)
                STATS["unloads"] += 1
                continue
            return None, (500, "InternalFailure", "loading %s answered %d: %s" % (target, status, answer[:300]))
        LOADED[target] = model_id
        STATS["loads"] += 1
        return model_id, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, content_type="application/json", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message, extra=None):
        doc = {"message": message}
        doc.update(extra or {})
        self.reply(status, json.dumps(doc).encode(), headers=[("X-Amzn-ErrorType", code)])

    def do_GET(self):
        if self.path == "/_standin/stats":
            with LOCK:
                body = json.dumps(STATS).encode()
            self.reply(200, body)
        else:
            self.reply(404, b"{}")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/_standin/faults":
            doc = json.loads(body or b"{}")
            with LOCK:
                STATE["script"] = list(doc.get("script", []))
                STATE["rate"] = float(doc.get("rate", 0.0))
                STATE["kinds"] = list(doc.get("kinds", []))
                STATE["rng"] = random.Random(doc.get("seed", 0))
                STATE["delay_ms"] = float(doc.get("delay_ms", 1500))
                STATE["poison"] = [p.encode() for p in doc.get("poison", [])]
            self.reply(200, b"{}")
            return
        parts = self.path.split("/")
        if len(parts) != 4 or parts[1] != "endpoints" or parts[3] != "invocations":
            self.error(404, "UnknownOperationException", "no such operation: " + self.path)
            return
        with LOCK:
            STATS["requests"] += 1
        fault = next_fault(body)
        if fault:
            kind = fault["kind"]
            if kind in ERRORS:
                self.error(*ERRORS[kind])
                return
            if kind in ("model4xx", "model5xx"):
                original = 400 if kind == "model4xx" else 500
                self.error(424, "ModelError", "Received client error (%d) from primary" % original, {
                    "OriginalStatusCode": original,
                    "OriginalMessage": "injected container error",
                    "LogStreamArn": "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/" + parts[2],
                })
                return
            if kind == "delay":
                time.sleep(fault.get("ms", 1500) / 1000.0)
        target = self.headers.get("X-Amzn-SageMaker-Target-Model")
        path = "/invocations"
        if target and not ARGS.models_dir:
            self.error(400, "ValidationError", "TargetModel is only for multi-model endpoints")
            return
        if ARGS.models_dir:
            if not target:
                self.error(400, "ValidationError", "a multi-model endpoint needs a TargetModel")
                return
            try:
                model_id, err = load_target(target)
            except (OSError, http.client.HTTPException) as e:
                self.error(500, "InternalFailure", "container unreachable: %s" % e)
                return
            if err:
                self.error(*err)
                return
            path = "/models/%s/invoke" % model_id
        headers = {"Content-Type": self.headers.get("Content-Type", "text/csv")}
        if target:
            headers["X-Amzn-SageMaker-Target-Model"] = target
        # InvokeEndpoint's CustomAttributes reach the container as this header, unchanged.
        for name in ("Accept", "X-Amzn-SageMaker-Custom-Attributes"):
            if self.headers.get(name):
                headers[name] = self.headers[name]
        if self.headers.get("X-Amzn-SageMaker-Custom-Attributes"):
            with LOCK:
                STATS["with_custom_attributes"] = STATS.get("with_custom_attributes", 0) + 1
        try:
            conn = upstream()
            conn.request("POST", path, body=body, headers=headers)
            resp = conn.getresponse()
            answer = resp.read()
        except (OSError, http.client.HTTPException) as e:
            LOCAL.conn = None
            self.error(500, "InternalFailure", "container unreachable: %s" % e)
            return
        if 200 <= resp.status < 300:
            with LOCK:
                STATS["forwarded"] += 1
                STATS["rows"] += body.count(b"\n")
            self.reply(200, answer, resp.getheader("Content-Type", "application/json"),
                       [("X-Amzn-Invoked-Production-Variant", "AllTraffic")])
        else:
            self.error(424, "ModelError", "Received error (%d) from primary" % resp.status, {
                "OriginalStatusCode": resp.status,
                "OriginalMessage": answer.decode("utf-8", "replace")[:1000],
            })


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="base URL of the inference container")
    p.add_argument("--models-dir", help="multi-model endpoint: the <TargetModel> archives")
    p.add_argument("--work-dir", help="multi-model endpoint: where archives are unpacked")
    ARGS = p.parse_args()
    if ARGS.models_dir and not ARGS.work_dir:
        p.error("--models-dir needs --work-dir")
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
