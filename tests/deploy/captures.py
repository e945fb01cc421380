"""Writes Data Capture files as SageMaker writes them for an endpoint with a shadow variant, from
two real isoserve servers answering the same requests, and what a comparison must find in them.

Every request goes to the production server; every K-th is also replicated to the shadow server
(the shadow's sampling), under the same event id. Each request is captured in SageMaker's format:
{"captureData": {"endpointInput": {...}, "endpointOutput": {...}}, "eventMetadata": {...},
"eventVersion": "0"}, text bodies as CSV/JSON text (CaptureContentTypeHeader), one line each.

Usage: captures.py PROD_URL SHADOW_URL DATA_CSV ROWS_PER_REQUEST K OUT_DIR
Writes OUT_DIR/production.jsonl, OUT_DIR/shadow.jsonl and OUT_DIR/expected.json.
"""

import json
import sys
import urllib.request
import uuid

prod_url, shadow_url, data, per, k, out = sys.argv[1:]
per, k = int(per), int(k)

with open(data) as f:
    lines = f.read().splitlines()
header, rows = lines[0].split(","), lines[1:]
features = [i for i, name in enumerate(header) if name.startswith("feature_")]
rows = [",".join(r.split(",")[i] for i in features) for r in rows]


def invoke(url, body):
    req = urllib.request.Request(url + "/invocations", data=body.encode(), headers={
        "Content-Type": "text/csv", "Accept": "application/json"})
    with urllib.request.urlopen(req) as answer:
        return answer.headers["Content-Type"], answer.read().decode()


def line(event_id, body, content_type, answer):
    return json.dumps({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": body,
                              "encoding": "CSV"},
            "endpointOutput": {"observedContentType": content_type, "mode": "OUTPUT",
                               "data": answer, "encoding": "JSON"},
        },
        "eventMetadata": {"eventId": str(event_id), "inferenceTime": "2026-12-01T10:00:00Z"},
        "eventVersion": "0",
    })


prod, shadow = [], []
expected = {"rows": 0, "both_anomalous": 0, "production_only": 0, "shadow_only": 0, "pairs": 0}
for n, start in enumerate(range(0, len(rows) - per + 1, per)):
    body = "\n".join(rows[start:start + per]) + "\n"
    event_id = uuid.uuid4()
    ptype, panswer = invoke(prod_url, body)
    prod.append(line(event_id, body, ptype, panswer))
    if n % k:
        continue
    stype, sanswer = invoke(shadow_url, body)
    shadow.append(line(event_id, body, stype, sanswer))
    expected["pairs"] += 1
    for p, s in zip(json.loads(panswer)["predictions"], json.loads(sanswer)["predictions"]):
        expected["rows"] += 1
        key = {(True, True): "both_anomalous", (True, False): "production_only",
               (False, True): "shadow_only"}.get((p["anomaly"], s["anomaly"]))
        if key:
            expected[key] += 1

for name, records in (("production", prod), ("shadow", shadow)):
    with open(f"{out}/{name}.jsonl", "w") as f:
        f.write("\n".join(records) + "\n")
with open(f"{out}/expected.json", "w") as f:
    json.dump(expected, f)
