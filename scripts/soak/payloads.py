"""Writes the soak test's requests: valid bodies of every format from 1 to 10,000 rows, and
invalid ones that must be refused with a precise 4xx. One manifest line per request:
expected status, Content-Type, Accept, custom attributes, body file (tab-separated; '-' = absent).

Usage: python3 payloads.py OUT_DIR   (stdlib only; the rows fit the default model's 5 features)
"""
import json
import os
import random
import struct
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(7)
names = [f"feature_{i}" for i in range(1, 6)]


def rows(n):
    return [[round(rng.gauss(60, 15), 3) for _ in names] for _ in range(n)]


def csv(rs):
    return "".join(",".join(str(v) for v in r) + "\n" for r in rs).encode()


def npy(rs, header_extra=""):
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d, 5), }" % len(rs)
    header += header_extra
    while (10 + len(header) + 1) % 64:
        header += " "
    header += "\n"
    body = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    return body + b"".join(struct.pack("<d", v) for r in rs for v in r)


manifest = []


def add(expected, content_type, body, accept="-", attributes="-"):
    name = f"{len(manifest):03d}.body"
    with open(os.path.join(out, name), "wb") as f:
        f.write(body)
    manifest.append(f"{expected}\t{content_type}\t{accept}\t{attributes}\t{name}")


for n in (1, 10, 100, 1000, 10000):
    rs = rows(n)
    add(200, "text/csv", csv(rs))
    add(200, "text/csv", csv(rs), accept="text/csv")
    add(200, "application/json", json.dumps([dict(zip(names, r)) for r in rs]).encode())
    add(200, "application/json", json.dumps({"instances": rs}).encode(), attributes="format=rcf")
    add(200, "application/jsonlines", "".join(json.dumps(r) + "\n" for r in rs).encode(),
        accept="application/jsonlines")
    add(200, "application/x-npy", npy(rs), attributes="format=sklearn")

bad = csv(rows(999)) + b"1,2,x,4,5\n"
add(400, "text/csv", bad)
add(400, "text/csv", csv(rows(100)) + b"1,2,3\n")
add(400, "application/json", b"[" * 5000 + b"]" * 5000)
add(400, "application/json", json.dumps([dict(zip(names, r)) for r in rows(500)] + [{"x": 1}]).encode())
add(400, "application/jsonlines", b"[1,2,3,4,5]\n{\n")
crafted = "{'descr': '<f4', 'fortran_order': False, " + "[" * 9000
add(400, "application/x-npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", len(crafted)) + crafted.encode())
add(400, "text/csv", b"")
add(415, "image/png", csv(rows(100)))
add(406, "text/csv", csv(rows(10)), accept="image/png")
add(400, "text/csv", csv(rows(10)), attributes="format=xml")
add(400, "text/csv", csv(rows(10)), attributes="context=-1")

with open(os.path.join(out, "manifest.tsv"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(f"{len(manifest)} requests in {out}")
