#!/usr/bin/env python3
"""Batch Transform, played against a running container as SageMaker runs a transform job.

What SageMaker does for one instance of a job with SplitType=Line, BatchStrategy=MultiRecord and
AssembleWith=Line (AWS docs, "Use Batch Transform" and "Associate prediction results with input
records"):

  1. GET /execution-parameters; the job's MaxConcurrentTransforms and MaxPayloadInMB, when the job
     leaves them out, come from the answer.
  2. Each input file is split into records at line ends, and consecutive records are packed into
     one request while it stays within MaxPayloadInMB (a single record above it fails the job).
  3. POST /invocations with the job's ContentType and Accept, up to MaxConcurrentTransforms at
     once; a non-2xx answer fails the job.
  4. The answers of a file are concatenated in request order, one line each (AssembleWith=Line),
     into <file>.out. With JoinSource=Input each output line is the input record joined with its
     answer: for CSV the two joined by a comma, for JSON Lines the input object with the answer
     under "SageMakerOutput".

Usage: batch_transform.py --url http://127.0.0.1:8080 --input DIR --output DIR
                          [--content-type text/csv] [--accept text/csv] [--max-payload-mb N]
                          [--max-concurrent N] [--join-input]
Prints one JSON summary line; exits 1 when the job would fail.
"""

import argparse
import concurrent.futures
import json
import os
import sys
import urllib.error
import urllib.request


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.load(r)


def post(url, body, content_type, accept):
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type, "Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        raise SystemExit("job failed: the container answered %d: %s" % (e.code, e.read()[:300]))


def mini_batches(records, limit):
    batch, size = [], 0
    for rec in records:
        if len(rec) > limit:
            raise SystemExit("job failed: a record of %d bytes is above MaxPayloadInMB" % len(rec))
        if batch and size + len(rec) > limit:
            yield batch
            batch, size = [], 0
        batch.append(rec)
        size += len(rec)
    if batch:
        yield batch


def join(record, answer, content_type):
    record = record.rstrip(b"\r\n")
    if content_type == "text/csv":
        return record + b"," + answer
    doc = json.loads(record)
    doc["SageMakerOutput"] = json.loads(answer)
    return json.dumps(doc, separators=(",", ":")).encode()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--content-type", default="text/csv")
    p.add_argument("--accept", default="text/csv")
    p.add_argument("--max-payload-mb", type=int)
    p.add_argument("--max-concurrent", type=int)
    p.add_argument("--join-input", action="store_true")
    a = p.parse_args()
    params = get_json(a.url + "/execution-parameters")
    assert params["BatchStrategy"] == "MULTI_RECORD", params
    payload_mb = a.max_payload_mb or params["MaxPayloadInMB"]
    concurrency = a.max_concurrent or params["MaxConcurrentTransforms"]
    if payload_mb * concurrency > 100:
        raise SystemExit("job refused: MaxConcurrentTransforms x MaxPayloadInMB is above 100")
    limit = payload_mb * 1024 * 1024
    os.makedirs(a.output, exist_ok=True)
    summary = {"execution_parameters": params, "files": 0, "records": 0, "requests": 0, "largest_request": 0}
    for name in sorted(os.listdir(a.input)):
        data = open(os.path.join(a.input, name), "rb").read()
        records = [r for r in data.splitlines(keepends=True) if r.strip()]
        batches = list(mini_batches(records, limit))
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(
                lambda b: post(a.url + "/invocations", b"".join(b), a.content_type, a.accept), batches))
        out = []
        for batch, answer in zip(batches, answers):
            lines = [l for l in answer.splitlines() if l.strip()]
            if len(lines) != len(batch):
                raise SystemExit("job failed: %d records in a request, %d answer lines" % (len(batch), len(lines)))
            for rec, line in zip(batch, lines):
                out.append(join(rec, line, a.content_type) if a.join_input else line)
        with open(os.path.join(a.output, name + ".out"), "wb") as f:
            f.write(b"\n".join(out) + b"\n")
        summary["files"] += 1
        summary["records"] += len(records)
        summary["requests"] += len(batches)
        summary["largest_request"] = max([summary["largest_request"]] + [sum(map(len, b)) for b in batches])
    summary["limit_bytes"] = limit
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
