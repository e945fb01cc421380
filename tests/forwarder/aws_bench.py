#!/usr/bin/env python3
"""Set-up and read-back helpers of the forwarder suite, against moto (SNS, SQS, S3) and
kinesis-mock (Kinesis). Endpoints come from MOTO_URL and KINESIS_URL.

  setup NAME                   create the topic, the alert queue subscribed to it, the
                               dead-letter queue and the results bucket; prints JSON
  create-stream NAME SHARDS    create a stream and wait until it is ACTIVE
  put-garbage NAME N           write N undecodable records (partition keys garbage-0..)
  split NAME                   split the first open shard in the middle of its hash range
  shards NAME                  print the stream's shards as JSON
  drain-alerts URL             print every alert anomaly ({partition_key, ...}) as JSON lines
  drain-dlq URL                print every dead letter as JSON lines
  scored BUCKET                print the distinct partition keys in the results as JSON
  results BUCKET               print every result row as JSON lines
  put-series NAME KEY=CSV...   put the rows of each CSV (no header) as one series under KEY,
                               interleaved row by row, one PutRecord each (ordered); every
                               fifth round goes as one KPL-aggregated record holding every
                               key's row
"""

import hashlib

import json
import os
import sys
import time

import boto3

MOTO = os.environ["MOTO_URL"]
KINESIS = os.environ.get("KINESIS_URL")


def client(service, url=None):
    return boto3.client(service, endpoint_url=url or MOTO, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def setup(name):
    sns, sqs, s3 = client("sns"), client("sqs"), client("s3")
    topic = sns.create_topic(Name=name + "-alerts")["TopicArn"]
    alerts = sqs.create_queue(QueueName=name + "-alerts")["QueueUrl"]
    alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=alerts_arn,
                  Attributes={"RawMessageDelivery": "true"})
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    s3.create_bucket(Bucket=name + "-results")
    return {"topic": topic, "alerts": alerts, "dlq": dlq, "bucket": name + "-results"}


def kinesis():
    return client("kinesis", KINESIS)


def wait_active(k, name):
    for _ in range(200):
        if k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.1)
    raise SystemExit("stream %s never became ACTIVE" % name)


def create_stream(name, shards):
    k = kinesis()
    k.create_stream(StreamName=name, ShardCount=int(shards))
    wait_active(k, name)


def put_garbage(name, n):
    k = kinesis()
    for i in range(int(n)):
        k.put_record(StreamName=name, PartitionKey="garbage-%d" % i, Data=b"not,a,number,row")


def shards(name):
    return kinesis().list_shards(StreamName=name)["Shards"]


def split(name, quiet=False):
    k = kinesis()
    open_shards = [s for s in shards(name) if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    s = open_shards[0]
    lo, hi = int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])
    k.split_shard(StreamName=name, ShardToSplit=s["ShardId"], NewStartingHashKey=str((lo + hi) // 2))
    wait_active(k, name)
    if not quiet:
        print(s["ShardId"])
    return s["ShardId"]


def drain(url):
    sqs = client("sqs")
    idle = 0
    while idle < 2:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            idle += 1
            continue
        idle = 0
        for m in msgs:
            yield m["Body"]
        sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)])


def drain_alerts(url):
    for body in drain(url):
        doc = json.loads(body)
        # count covers the whole run of the key; a message lists its anomalies of one batch.
        assert 0 < len(doc["anomalies"]) <= doc["count"], doc
        for a in doc["anomalies"]:
            print(json.dumps(a))


def alert_streams(url):
    """The stream each alert message names, one per line."""
    for body in drain(url):
        print(json.loads(body)["stream"])


def drain_dlq(url):
    for body in drain(url):
        print(json.dumps(json.loads(body)))


def scored(bucket):
    s3 = client("s3")
    keys = set()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    for page in pages:
        for obj in page.get("Contents", []):
            assert obj["Key"].startswith("results/dt="), obj["Key"]
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
            for line in body.splitlines():
                keys.add(json.loads(line)["partition_key"])
    print(json.dumps(sorted(keys)))


def results(bucket):
    s3 = client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
            for line in body.splitlines():
                print(line)


def varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(tag, payload):
    return bytes([tag]) + varint(len(payload)) + payload


def kpl(entries):
    """A KPL-aggregated record (magic, protobuf AggregatedRecord, MD5) of (key, data) entries."""
    table, records = [], b""
    for key, data in entries:
        if key not in table:
            table.append(key)
        records += field(0x1A, b"\x08" + varint(table.index(key)) + field(0x1A, data))
    message = b"".join(field(0x0A, k.encode()) for k in table) + records
    return b"\xf3\x89\x9a\xc2" + message + hashlib.md5(message).digest()


def put_series(name, *specs):
    k = kinesis()
    series = []
    for spec in specs:
        key, path = spec.split("=", 1)
        series.append((key, [l.strip() for l in open(path) if l.strip()]))
    for i in range(max(len(rows) for _, rows in series)):
        round_ = [(key, rows[i].encode()) for key, rows in series if i < len(rows)]
        if i % 5 == 4:
            k.put_record(StreamName=name, PartitionKey=round_[0][0], Data=kpl(round_))
            continue
        for key, data in round_:
            k.put_record(StreamName=name, PartitionKey=key, Data=data)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "shards":
        print(json.dumps(shards(*args)))
        return
    if cmd == "setup":
        print(json.dumps(setup(*args)))
        return
    {
        "create-stream": create_stream, "put-garbage": put_garbage, "split": split,
        "drain-alerts": drain_alerts, "drain-dlq": drain_dlq, "scored": scored,
        "results": results, "put-series": put_series, "alert-streams": alert_streams,
    }[cmd](*args)


if __name__ == "__main__":
    main()
