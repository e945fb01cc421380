"""Writes the request bodies: the first N rows of the training CSV as JSON records keyed by
feature name (what the Python container's clients send) and as headerless CSV.

    payloads.py TRAIN_CSV OUT_DIR N [N ...]
"""
import csv
import json
import sys

train_csv, out_dir, sizes = sys.argv[1], sys.argv[2], [int(n) for n in sys.argv[3:]]
with open(train_csv, newline="") as f:
    reader = csv.reader(f)
    header = next(reader)
    keep = [i for i, name in enumerate(header) if name != "timestamp"]
    names = [header[i] for i in keep]
    rows = [[float(r[i]) for i in keep] for r in reader]

for n in sizes:
    chosen = rows[:n]
    with open(f"{out_dir}/rows-{n}.json", "w") as f:
        json.dump([dict(zip(names, r)) for r in chosen], f)
    with open(f"{out_dir}/rows-{n}.csv", "w") as f:
        f.writelines(",".join(repr(v) for v in r) + "\n" for r in chosen)
