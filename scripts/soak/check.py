"""Sends every request of a soak manifest once and checks its exact status.

Usage: python3 check.py PAYLOAD_DIR URL   (stdlib only; exit 1 on any difference)
"""
import sys
import urllib.error
import urllib.request

directory, url = sys.argv[1], sys.argv[2]
wrong = 0
lines = open(f"{directory}/manifest.tsv").read().splitlines()
for line in lines:
    expected, content_type, accept, attributes, name = line.split("\t")
    with open(f"{directory}/{name}", "rb") as f:
        request = urllib.request.Request(url, data=f.read(), method="POST")
    request.add_header("Content-Type", content_type)
    if accept != "-":
        request.add_header("Accept", accept)
    if attributes != "-":
        request.add_header("X-Amzn-SageMaker-Custom-Attributes", attributes)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, body = answer.status, answer.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    if str(status) != expected:
        wrong += 1
        print(f"{name} ({content_type}, accept {accept}, attributes {attributes}): "
              f"expected {expected}, got {status}: {body[:200]!r}")
print(f"{len(lines) - wrong} of {len(lines)} requests answered with the expected status")
sys.exit(1 if wrong else 0)
