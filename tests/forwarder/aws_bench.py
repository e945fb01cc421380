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
"""

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
    print(json.dumps({"topic": topic, "alerts": alerts, "dlq": dlq, "bucket": name + "-results"}))


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


def split(name):
    k = kinesis()
    open_shards = [s for s in shards(name) if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    s = open_shards[0]
    lo, hi = int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])
    k.split_shard(StreamName=name, ShardToSplit=s["ShardId"], NewStartingHashKey=str((lo + hi) // 2))
    wait_active(k, name)
    print(s["ShardId"])


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
        assert doc["count"] == len(doc["anomalies"]), doc
        for a in doc["anomalies"]:
            print(json.dumps(a))


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


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "shards":
        print(json.dumps(shards(*args)))
        return
    {
        "setup": setup, "create-stream": create_stream, "put-garbage": put_garbage, "split": split,
        "drain-alerts": drain_alerts, "drain-dlq": drain_dlq, "scored": scored,
    }[cmd](*args)


if __name__ == "__main__":
    main()
