#!/usr/bin/env python3
"""The forwarder under faults, one scenario at a time, each on a fresh stream and fresh sinks.

Every scenario writes the first ROWS rows of the test CSV (partition key = the row's index) into
a Kinesis stream (kinesis-mock), runs the forwarder on it (standalone, or as the Lambda
`bootstrap` behind an event-source-mapping emulator) while the SageMaker stand-in injects the
scenario's faults, and waits until every record is either scored (in S3) or parked (in the
dead-letter queue). Then it reconciles: records in = scored + parked, lost 0, the alerted rows
exactly the model's flagged rows among those written, the parked records exactly the poison and
undecodable ones.

Scenarios:
  storm           every request fails with a 5xx for 3 s (InternalFailure, 503, container 500)
  throttle        half the requests throttled
  timeout         a fifth of the answers come after 2.5 s; the attempt timeout is 1 s
  poison          5 rows the container refuses every time (400) and 3 undecodable records
  reshard         a shard split half-way through the writes
  kill9           kill -9 of the forwarder after a third of the rows, then a restart
  all             every fault above at once
  lambda-timeout  Lambda mode: a third of the answers take 5 s, longer than the function's 3 s
                  timeout; the handler stops at its deadline and reports what it finished
  lambda-all      Lambda mode: 5xx, throttling, slow answers, poison, undecodable records and a
                  kill -9 of the function mid-invocation

Environment: MOTO_URL, KINESIS_URL, AWS_* as for the forwarder (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME
pointing at the stand-in).

Usage: fault_matrix.py --bin target/release --csv test.csv --expected flagged.json --standin URL
                       --rows N --work DIR --table out.md [--scenarios storm,kill9,...]
"""

import argparse
import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aws_bench  # noqa: E402
from lambda_runtime_api import JsonHandler  # noqa: E402

POISON = "-7777.125"
ALL = ["storm", "throttle", "timeout", "poison", "reshard", "kill9", "all", "lambda-timeout", "lambda-all"]
STORM = ["internal", "unavailable", "model5xx"]


def faults(doc):
    req = urllib.request.Request(ARGS.standin + "/_standin/faults", data=json.dumps(doc).encode(), method="POST")
    urllib.request.urlopen(req).read()


class Sinks:
    """Reads what the forwarder wrote so far: results in S3, parked records, alerts."""

    def __init__(self, setup):
        self.setup = setup
        self.s3, self.sqs = aws_bench.client("s3"), aws_bench.client("sqs")
        self.objects = {}
        self.dead = []
        self.alerts = []

    def results(self):
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.setup["bucket"]):
            for obj in page.get("Contents", []):
                if obj["Key"] not in self.objects:
                    body = self.s3.get_object(Bucket=self.setup["bucket"], Key=obj["Key"])["Body"].read()
                    self.objects[obj["Key"]] = [json.loads(l) for l in body.decode().splitlines()]
        return [r for rows in self.objects.values() for r in rows]

    def drain(self):
        self.dead += [json.loads(b) for b in aws_bench.drain(self.setup["dlq"])]

    def drain_alerts(self):
        for body in aws_bench.drain(self.setup["alerts"]):
            self.alerts += json.loads(body)["anomalies"]


class Standalone:
    """The standalone forwarder as a child process (restartable)."""

    def __init__(self, name, setup, work):
        self.name, self.setup, self.work = name, setup, work
        self.proc = None

    def start(self):
        log = open(os.path.join(self.work, "%s-forwarder.log" % self.name), "ab")
        self.proc = subprocess.Popen([
            os.path.join(ARGS.bin, "forwarder"), "--stream", self.name, "--endpoint-name", "iso-endpoint",
            "--alert-every-anomaly",
            "--feature-names", FEATURES, "--sns-topic-arn", self.setup["topic"], "--dlq-url", self.setup["dlq"],
            "--results-bucket", self.setup["bucket"],
            "--checkpoint-file", os.path.join(self.work, "%s-checkpoint.json" % self.name),
            "--idle-wait-ms", "200", "--discovery-interval-secs", "1", "--max-rows", "40",
            "--max-attempts", "4", "--base-delay-ms", "20", "--max-delay-ms", "400", "--invoke-timeout-secs", "1",
        ], stdout=subprocess.DEVNULL, stderr=log)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise SystemExit("%s: the forwarder did not stop within 15 s of SIGTERM" % self.name)
        if code != 0:
            raise SystemExit("%s: the forwarder exited %d after SIGTERM" % (self.name, code))


class Lambda:
    """An event-source-mapping emulator over the Runtime API: reads each shard in order, hands
    batches to the `bootstrap` process with a deadline, and on `batchItemFailures` resumes from the
    reported record; an invocation that gives no answer by its deadline (or whose process dies)
    is retried whole in a new process, as Lambda does."""

    TIMEOUT = 3.0
    BATCH = 100

    def __init__(self, name, setup, work, kill_at=None):
        self.name, self.setup, self.work, self.kill_at = name, setup, work, kill_at
        self.cond = threading.Condition()
        self.pending = None  # (request id, event bytes, deadline ms)
        self.answers = {}
        self.invocations = 0
        self.timeouts = 0
        self.crashes = 0
        self.partial = 0
        self.proc = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.stop_flag = threading.Event()

    def handler(self):
        emu = self

        class Handler(JsonHandler):
            def do_GET(self):
                with emu.cond:
                    while emu.pending is None:
                        if emu.stop_flag.is_set():
                            self.reply(500, b"{}")
                            return
                        emu.cond.wait(0.5)
                    rid, event, deadline = emu.pending
                    emu.pending = None
                self.reply(200, event, [
                    ("Lambda-Runtime-Aws-Request-Id", rid),
                    ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                    ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:fwd"),
                    ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000"),
                ])

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.split("/")
                if len(parts) >= 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
                    with emu.cond:
                        emu.answers[parts[4]] = (parts[5], json.loads(body or b"null"))
                        emu.cond.notify_all()
                self.reply(202, b"{}")

        return Handler

    def start(self):
        env = dict(os.environ)
        env.update({
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % self.server.server_address[1],
            "AWS_LAMBDA_FUNCTION_NAME": "fwd", "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_LAMBDA_LOG_STREAM_NAME": "t",
            "AWS_LAMBDA_LOG_GROUP_NAME": "t", "ENDPOINT_NAME": "iso-endpoint", "FEATURE_NAMES": FEATURES,
            "STREAM_NAME": self.name, "SNS_TOPIC_ARN": self.setup["topic"], "DLQ_URL": self.setup["dlq"],
            "ALERT_EVERY_ANOMALY": "true",
            "RESULTS_BUCKET": self.setup["bucket"], "MAX_ROWS_PER_REQUEST": "20", "CONCURRENCY": "4",
            "MAX_ATTEMPTS": "4", "BASE_DELAY_MS": "20", "MAX_DELAY_MS": "400", "INVOKE_TIMEOUT_SECS": "60",
            "DEADLINE_MARGIN_MS": "700",
        })
        log = open(os.path.join(self.work, "%s-lambda.log" % self.name), "ab")
        self.proc = subprocess.Popen([os.path.join(ARGS.bin, "bootstrap")], env=env,
                                     stdout=subprocess.DEVNULL, stderr=log)

    def invoke(self, event):
        """The function's answer to `event`, or None when it timed out or crashed."""
        self.invocations += 1
        rid = "req-%d" % self.invocations
        deadline = time.time() + self.TIMEOUT
        with self.cond:
            self.pending = (rid, json.dumps(event).encode(), int(deadline * 1000))
            self.cond.notify_all()
        if self.kill_at == self.invocations:
            time.sleep(0.1)
            self.proc.send_signal(signal.SIGKILL)
        with self.cond:
            while rid not in self.answers and time.time() < deadline and self.proc.poll() is None:
                self.cond.wait(0.05)
            answer = self.answers.pop(rid, None)
            self.pending = None
        if answer is None:
            # Lambda ends a timed-out or crashed sandbox and retries the batch in a new one.
            if self.proc.poll() is None:
                self.timeouts += 1
                self.proc.kill()
            else:
                self.crashes += 1
            self.proc.wait()
            self.start()
            return None
        kind, doc = answer
        return doc if kind == "response" else None

    def event(self, shard, records):
        out = []
        for r in records:
            seq = r["SequenceNumber"]
            out.append({
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"], "sequenceNumber": seq,
                            "data": base64.b64encode(r["Data"]).decode(),
                            "approximateArrivalTimestamp": r["ApproximateArrivalTimestamp"].timestamp()},
                "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "%s:%s" % (shard, seq),
                "eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/lambda",
                "awsRegion": "us-east-1",
                "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/" + self.name})
        return {"Records": out}

    def run(self, total_records):
        """Consumes every shard from its start until `total_records` have been handed over and
        acknowledged."""
        k = aws_bench.kinesis()
        acked = 0
        for shard in aws_bench.shards(self.name):
            sid = shard["ShardId"]
            it = k.get_shard_iterator(StreamName=self.name, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                got = k.get_records(ShardIterator=it, Limit=self.BATCH)
                records, nxt = got["Records"], got.get("NextShardIterator")
                if not records:
                    break
                while records:
                    answer = self.invoke(self.event(sid, records))
                    if answer is None:
                        continue
                    failures = answer.get("batchItemFailures") or []
                    if not failures:
                        acked += len(records)
                        records = []
                        continue
                    self.partial += 1
                    first = failures[0]["itemIdentifier"]
                    i = next(i for i, r in enumerate(records) if r["SequenceNumber"] == first)
                    acked += i
                    records = records[i:]
                it = nxt
        return acked

    def stop(self):
        self.stop_flag.set()
        self.proc.kill()
        self.proc.wait()
        self.server.shutdown()


def put(stream, entries):
    k = aws_bench.kinesis()
    for i in range(0, len(entries), 100):
        chunk = entries[i:i + 100]
        resp = k.put_records(StreamName=stream, Records=[{"PartitionKey": key, "Data": data} for key, data in chunk])
        if resp.get("FailedRecordCount"):
            raise SystemExit("put_records failed for %d records" % resp["FailedRecordCount"])


def trickle(stream, entries, reshard):
    """Writes `entries` 20 at a time, 0.1 s apart; with `reshard`, splits a shard half-way."""
    for i in range(0, len(entries), 20):
        if reshard and i == len(entries) // 40 * 20:
            aws_bench.split(stream, quiet=True)
        put(stream, entries[i:i + 20])
        time.sleep(0.1)


def scenario(name, rows, expected, work):
    lam = name.startswith("lambda")
    want_poison = name in ("poison", "all", "lambda-all")
    stream = "fm-" + name
    aws_bench.create_stream(stream, 2)
    setup = aws_bench.setup(stream)
    sinks = Sinks(setup)
    entries = [(str(i), line.encode()) for i, line in enumerate(rows)]
    parked_keys = set()
    if want_poison:
        width = len(rows[0].split(","))
        for i in range(5):
            key = "poison-%d" % i
            entries.insert(40 * i + 7, (key, (",".join([POISON] + ["0.5"] * (width - 1))).encode()))
            parked_keys.add(key)
        for i in range(3):
            key = "garbage-%d" % i
            entries.insert(60 * i + 13, (key, b"not,a,number,row"))
            parked_keys.add(key)
    keys = {k for k, _ in entries}
    spec = {"rate": 0.0, "seed": 11}
    if name in ("throttle",):
        spec.update(rate=0.5, kinds=["throttle"])
    if name == "timeout":
        spec.update(rate=0.2, kinds=["delay"], delay_ms=2500)
    if name == "all":
        spec.update(rate=0.3, kinds=["throttle", "unavailable", "model5xx", "not_ready", "delay"], delay_ms=2500)
    if name == "lambda-timeout":
        spec.update(rate=0.3, kinds=["delay"], delay_ms=5000)
    if name == "lambda-all":
        spec.update(rate=0.3, kinds=["throttle", "unavailable", "model5xx", "delay"], delay_ms=5000)
    if want_poison:
        spec["poison"] = [POISON]
    storm = name in ("storm", "all", "lambda-all")

    started = time.time()
    calm = threading.Timer(3.0, faults, [spec])
    if storm:
        faults({"rate": 1.0, "kinds": STORM, "seed": 1, "poison": spec.get("poison", [])})
        calm.start()
    else:
        faults(spec)

    reshard = name in ("reshard", "all")
    checks = []
    if lam:
        put(stream, entries)
        runner = Lambda(stream, setup, work, kill_at=3 if name == "lambda-all" else None)
        runner.start()
        acked = runner.run(len(entries))
        runner.stop()
        if acked != len(entries):
            raise SystemExit("%s: the mapping acknowledged %d of %d records" % (name, acked, len(entries)))
        note = "%d invocations: %d partial, %d timed out, %d crashed" % (
            runner.invocations, runner.partial, runner.timeouts, runner.crashes)
        if runner.timeouts:
            checks.append("%d invocations ran past the function's timeout" % runner.timeouts)
        if name == "lambda-timeout" and not runner.partial:
            checks.append("no invocation stopped at its deadline: the slow answers never met one")
        if name == "lambda-all" and not runner.crashes:
            checks.append("the function was never killed")
    else:
        fwd = Standalone(stream, setup, work)
        fwd.start()
        kills = 0
        # Records arrive while the forwarder runs, a few dozen at a time, so every fault (the split
        # and the kill included) meets live traffic.
        writer = threading.Thread(target=trickle, args=(stream, entries, reshard))
        writer.start()
        deadline = time.time() + ARGS.scenario_timeout
        while time.time() < deadline:
            scored = {r["partition_key"] for r in sinks.results()}
            sinks.drain()
            parked = {d["partition_key"] for d in sinks.dead}
            if name in ("kill9", "all") and not kills and len(scored) >= len(entries) // 3:
                fwd.kill9()
                kills += 1
                fwd.start()
            if scored | parked >= keys:
                break
            time.sleep(0.3)
        writer.join()
        fwd.stop()
        note = "kill -9 and restart" if kills else ""
        if name in ("kill9", "all") and not kills:
            checks.append("the forwarder was never killed")
        if reshard:
            note = (note + ", " if note else "") + "split a shard"
    elapsed = time.time() - started
    calm.cancel()
    faults({"rate": 0.0})

    results = sinks.results()
    sinks.drain()
    sinks.drain_alerts()
    scored = {r["partition_key"] for r in results}
    parked = {d["partition_key"] for d in sinks.dead}
    alerted = {a["partition_key"] for a in sinks.alerts}
    flagged = {k for k in expected if k in keys}
    lost = keys - scored - parked
    stats = json.load(urllib.request.urlopen(ARGS.standin + "/_standin/stats"))
    row = {
        "fault": name, "records_in": len(keys), "scored": len(scored), "alerted": len(alerted),
        "flagged": len(flagged), "parked": len(parked), "lost": len(lost),
        "rescored": len(results) - len(scored), "seconds": round(elapsed, 1), "note": note,
    }
    problems = checks
    if reshard and len(aws_bench.shards(stream)) != 4:
        problems.append("the stream was not resharded")
    if lost:
        problems.append("lost %d records: %s" % (len(lost), sorted(lost)[:10]))
    if scored & parked:
        problems.append("both scored and parked: %s" % sorted(scored & parked)[:10])
    if parked != parked_keys:
        problems.append("parked %s, expected %s" % (sorted(parked), sorted(parked_keys)))
    if alerted != flagged:
        problems.append("alerted %d rows, the model flags %d: missing %s, extra %s" % (
            len(alerted), len(flagged), sorted(flagged - alerted)[:10], sorted(alerted - flagged)[:10]))
    for d in sinks.dead:
        if d["partition_key"].startswith("poison") and "HTTP 400" not in d["reason"]:
            problems.append("poison record parked for the wrong reason: %s" % d["reason"])
    print("%-15s in %5d  scored %5d  alerted %4d  parked %2d  lost %d  rescored %4d  %5.1f s  %s  faults %s" % (
        name, row["records_in"], row["scored"], row["alerted"], row["parked"], row["lost"], row["rescored"],
        elapsed, note, stats["faults"]), flush=True)
    return row, problems


def main():
    global ARGS, FEATURES
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--expected", required=True, help="JSON list of the row indexes the model flags")
    p.add_argument("--standin", required=True)
    p.add_argument("--rows", type=int, default=400)
    p.add_argument("--work", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--scenarios", default=",".join(ALL))
    p.add_argument("--scenario-timeout", type=float, default=120)
    ARGS = p.parse_args()
    lines = open(ARGS.csv).read().splitlines()
    FEATURES = lines[0].strip()
    rows = lines[1:1 + ARGS.rows]
    expected = set(json.load(open(ARGS.expected)))
    table, failed = [], []
    for name in ARGS.scenarios.split(","):
        row, problems = scenario(name, rows, expected, ARGS.work)
        table.append(row)
        failed += ["%s: %s" % (name, p) for p in problems]
    with open(ARGS.table, "w") as f:
        f.write("| fault | records in | scored | alerted (model flags) | parked | lost | scored twice | time | also |\n")
        f.write("|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
        for r in table:
            f.write("| %s | %d | %d | %d (%d) | %d | %d | %d | %.1f s | %s |\n" % (
                r["fault"], r["records_in"], r["scored"], r["alerted"], r["flagged"], r["parked"], r["lost"],
                r["rescored"], r["seconds"], r["note"]))
    if failed:
        for f in failed:
            print("FAIL: " + f, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
