#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/: a few small valid and near-valid inputs per
fuzz target (standard library only; rerun after changing a format, then commit the result).

    python3 fuzz/make_corpus.py

The `csv`, `json`, `jsonlines` and `record` inputs start with a selector byte (fuzz/src/lib.rs):
'0'..'7' pick a feature-name set with the default limits, 'A'..'G' sets 1..7 with a row limit of 3.
Name sets: 0 feature_1,feature_2  1 a,b,c  2 x  3 feature_1..feature_5  4 instances,features
5 names needing JSON escapes  6 data,keys,values  7 shape,a.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"


def write(target: str, name: str, data: bytes | str) -> None:
    path = CORPUS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


# --- text bodies -------------------------------------------------------------------------------

CSV = {
    "readme-5-features": "3" + "49.0,68.1,65.6,74.6,96.1\n250,-80,300,-150,400\n",
    "header-reordered-missing": "0" + "feature_2,feature_1\n2,1\n4,\n",
    "quoted-crlf": "1" + '"a","b","c"\r\n"1",2,3\r\n  4 ,5e-3,NaN\r\n',
    "lone-cr-bom": "0" + "\ufeff1,2\r3,4",
    "infinity": "2" + "x\n1\n1e999\n",
    "width-error": "1" + "1,2,3\n4,5\n",
    "header-duplicate": "0" + "feature_1,feature_1\n1,2\n",
    "row-limit": "A" + "1,2,3\n" * 4,
}

JSON = {
    "records": "0" + '[{"feature_1": 0.5, "feature_2": -1e-3}, {"feature_2": 2, "feature_1": null}]',
    "arrays": "0" + "[[0.5, -0.001], [1, 2]]\n",
    "instances": "0" + '{ "instances" : [[0.5, -0.001], {"feature_1": 1, "feature_2": 2}] }',
    "single-record-extra-key": "1" + '{"a": 1, "b": 2, "c": 3, "id": "x"}',
    "flat-row": "3" + "[49.0, 68.1, 65.6, 74.6, 96.1]",
    "features-wrappers": "0"
    + '[{"features": [1, 2]}, {"data": {"features": {"values": [3, 4]}}},'
    + ' {"data": {"features": {"keys": [1], "shape": [2], "values": [5]}}}]',
    "documents": "1" + "[[1,2,3]]\n[[4,5,6]] {\"a\": 7, \"b\": 8, \"c\": 9}",
    "escaped-names": "5" + '[{"a b": 1, "c\\"d": 2, "\\u00e9": 3, "e\\\\f": 4}]',
    "string-value": "0" + '[[1, "2"]]',
    "row-limit": "A" + "[[1,2,3],[4,5,6],[7,8,9],[10,11,12]]",
}

JSONLINES = {
    "records": "0" + '{"feature_1": 1, "feature_2": 2}\r\n\n[3, 4]\n',
    "arrays": "1" + "[1, 2, 3]\n[4.5, null, -6e2]\n",
    "wrappers": "0" + '{"features": [1, 2]}\n{"data": {"features": {"values": [3, 4]}}}\n',
    "bom-blank-lines": "2" + "\ufeff\n[1]\n\n  \n[2]",
    "bad-line": "0" + "[1, 2]\n[1, 2\n",
    "overflow": "2" + "[1e400]\n",
    "row-limit": "B" + "[1]\n[2]\n[3]\n[4]\n",
}

HEADERS = {
    "common": "format=rcf\ncontext=5\napplication/json\ntext/csv; charset=utf-8",
    "quoted-and-q": 'Format="SKLEARN"; context="0"\n'
    "application/jsonlines;q=0.5, text/csv;q=0.9, */*;q=0.1\napplication/x-npy\napplication/vnd.api+json",
    "bad-values": "format=unknown\ncontext=-1\ntext/*;q=0\napplication/json; q=abc, text/csv;q=2",
    "empty-and-wildcards": "\n\n*/*\n  \napplication/*;q=0.3, text/*",
    "many-pairs": "a=1, b=2; format=native; context=25, format = rcf\nx-ndjson\napplication/x-ndjson",
}


# --- npy ---------------------------------------------------------------------------------------


def npy(descr: str, shape: tuple[int, ...], data: bytes, fortran: bool = False, version=(1, 0)) -> bytes:
    """An .npy file laid out as numpy.save writes it (numpy >= 1.22): the dict repr, spare spaces
    for the growth axis, padding with spaces and a newline to a multiple of 64 bytes."""
    shape_repr = "(%s,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape))
    descr = descr if descr.startswith("[") else repr(descr)
    header = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape_repr)
    if shape:
        header += " " * (21 - len(repr(shape[-1 if fortran else 0])))
    len_fmt = "<H" if version[0] == 1 else "<I"
    preamble = 6 + 2 + struct.calcsize(len_fmt)
    pad = 64 - (preamble + len(header) + 1) % 64
    header += " " * (pad % 64) + "\n"
    return b"\x93NUMPY" + bytes(version) + struct.pack(len_fmt, len(header)) + header.encode() + data


def npy_files() -> dict[str, bytes]:
    f8 = struct.pack("<10d", 49.0, 68.1, 65.6, 74.6, 96.1, 250, -80, 300, -150, 400)
    return {
        "f8-2x5.npy": npy("<f8", (2, 5), f8),
        "f4-1d-5.npy": npy("<f4", (5,), struct.pack("<5f", 1, 2, 3, float("nan"), 5)),
        "f8-big-endian-fortran-3x2.npy": npy(">f8", (3, 2), struct.pack(">6d", 1, 2, 3, 4, 5, 6), True),
        "i8-2x3.npy": npy("<i8", (2, 3), struct.pack("<6q", 1, -2, 3, 2**53 + 1, 5, 6)),
        "u1-1x2.npy": npy("|u1", (1, 2), bytes([7, 255])),
        "v2-f8-1x1.npy": npy("<f8", (1, 1), struct.pack("<d", 0.5), version=(2, 0)),
        "infinity-f8-1x2.npy": npy("<f8", (1, 2), struct.pack("<2d", 1, float("inf"))),
        "truncated-data-f8-4x2.npy": npy("<f8", (4, 2), struct.pack("<3d", 1, 2, 3)),
        "structured-dtype.npy": npy("[('a', '<f8'), ('b', '<f8')]", (1,), struct.pack("<2d", 1, 2)),
    }


# --- model files -------------------------------------------------------------------------------

MAGIC = b"\x89ISOF\r\n\x1a"


def model_file(tag: int, metadata: dict, payload: bytes, version: int = 1) -> bytes:
    meta = json.dumps(metadata, separators=(",", ":")).encode()
    body = struct.pack("<IQ", tag, len(meta)) + meta + payload
    return MAGIC + struct.pack("<IQ", version, len(body)) + hashlib.sha256(body).digest() + body


def metadata(kind: str, params: dict, names: list[str], threshold: float, **extra) -> dict:
    return {
        "kind": kind,
        "params": {kind: params},
        "feature_names": names,
        "n_features": len(names),
        "threshold": threshold,
        "seed": 1,
        "training_rows": 10,
        "training_data_hash": "00" * 32,
        "tool_version": "0.1.0",
        **extra,
    }


FOREST = {"n_trees": 1, "max_samples": "auto", "contamination": "auto", "bootstrap": False,
          "extension_level": 0, "seed": 1}
LEAF = 0xFFFFFFFF


def axis_node(feature: int, threshold: float, left: int, right: int, nan_left: bool, value: float) -> bytes:
    return struct.pack("<IfII?d", feature, threshold, left, right, nan_left, value)


def axis_forest(d: int, psi: int, trees: list[list[bytes]]) -> bytes:
    out = struct.pack("<QQQ", d, psi, len(trees))
    for nodes in trees:
        out += struct.pack("<Q", len(nodes)) + b"".join(nodes)
    return out


def model_files() -> dict[str, bytes]:
    names = ["a", "b"]
    # x0 <= 0.5 ? leaf : (x1 <= 1 ? leaf : leaf)
    tree = [
        axis_node(0, 0.5, 1, 2, True, 0.0),
        axis_node(LEAF, 0.0, 0, 0, True, 1.0),
        axis_node(1, 1.0, 3, 4, False, 0.0),
        axis_node(LEAF, 0.0, 0, 0, True, 2.0),
        axis_node(LEAF, 0.0, 0, 0, True, 2.0),
    ]
    axis = axis_forest(2, 4, [tree])
    # Extended: one split on 2 coefficients (k = 2): normal (1, -1), intercept 0.
    ext = struct.pack("<QQQQ", 2, 4, 2, 1) + struct.pack("<Q", 3)
    ext += struct.pack("<III?d", 1, 2, 0, False, 0.0)
    ext += struct.pack("<III?d", 0, 0, 0, True, 1.0)
    ext += struct.pack("<III?d", 0, 0, 0, True, 1.5)
    ext += struct.pack("<Q", 2) + struct.pack("<Id", 0, 1.0) + struct.pack("<Id", 1, -1.0)
    kmeans = struct.pack("<QdQ", 2, 3.0, 4) + struct.pack("<4d", 0.0, 0.0, 10.0, 10.0)
    kmeans_params = {"k": 2, "contamination": 0.05, "seed": 1, "max_iter": 300}
    out = {
        "axis-1-tree.isof": model_file(1, metadata("isolation_forest", FOREST, names, 0.5), axis),
        "axis-trend-v2.isof": model_file(
            1,
            metadata("isolation_forest", FOREST, names, 0.6, trend={"rolling_median": {"window": 3}}),
            axis,
            version=2,
        ),
        "extended-1-tree.isof": model_file(
            2, metadata("isolation_forest", dict(FOREST, extension_level=1), names, 0.5), ext
        ),
        "kmeans-2x2.isof": model_file(3, metadata("k_means", kmeans_params, names, 0.5), kmeans),
        "bad-checksum.isof": model_file(1, metadata("isolation_forest", FOREST, names, 0.5), axis)[:-1] + b"\x00",
    }
    default = ROOT / "models" / "default.isof"
    if default.exists() and default.stat().st_size < 400_000:
        out["default.isof"] = default.read_bytes()
    return out


# --- scikit-learn interchange JSON -------------------------------------------------------------

ONE_TREE = {
    "format": "sklearn-isolation-forest", "version": 1, "sklearn_version": "1.9.1",
    "n_features_in": 2, "feature_names_in": ["a", "b"], "max_samples": 4, "offset": -0.6,
    "contamination": 0.1, "bootstrap": False, "n_estimators": 1, "max_features_subsampled": False,
    "estimators_features": [[0, 1]],
    "trees": [{
        "children_left": [1, -1, 3, -1, -1],
        "children_right": [2, -1, 4, -1, -1],
        "feature": [0, -2, 1, -2, -2],
        "threshold": [0.1, -2.0, 2.0, -2.0, -2.0],
        "n_node_samples": [4, 1, 3, 2, 1],
        "missing_go_to_left": [0, 0, 1, 0, 0],
    }],
}

SUBSAMPLED = {
    "format": "sklearn-isolation-forest", "version": 1, "sklearn_version": "1.9.1",
    "n_features_in": 3, "feature_names_in": None, "max_samples": 2, "offset": -0.5,
    "contamination": "auto", "bootstrap": True, "n_estimators": 2, "max_features_subsampled": True,
    "estimators_features": [[0, 1, 2], [2, 0]],
    "trees": [
        {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [1, -2, -2],
         "threshold": [0.0, -2, -2], "n_node_samples": [2, 1, 1], "missing_go_to_left": [True, False, False]},
        {"children_left": [1, -1, -1], "children_right": [2, -1, -1], "feature": [0, -2, -2],
         "threshold": [0.0, -2, -2], "n_node_samples": [2, 2, 0], "missing_go_to_left": [1, 0, 0]},
    ],
}


def sklearn_files() -> dict[str, str]:
    def dump(doc: dict) -> str:
        return json.dumps(doc, separators=(",", ":")) + "\n"

    def tweak(doc: dict, tree_key: str | None = None, **changes) -> dict:
        doc = json.loads(json.dumps(doc))
        if tree_key:
            doc["trees"][0][tree_key] = changes.pop("value")
        doc.update(changes)
        return doc

    return {
        "one-tree.json": json.dumps(ONE_TREE, indent=1),
        "subsampled.json": dump(SUBSAMPLED),
        "child-out-of-order.json": dump(tweak(ONE_TREE, "children_right", value=[2, -1, 1, -1, -1])),
        "feature-out-of-range.json": dump(tweak(ONE_TREE, "feature", value=[0, -2, 5, -2, -2])),
        "contamination-too-large.json": dump(tweak(ONE_TREE, contamination=0.7)),
        "no-feature-names.json": dump(tweak(ONE_TREE, feature_names_in=None)),
    }


# --- Kinesis records ---------------------------------------------------------------------------


def varint(n: int) -> bytes:
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(tag: int, wire: int, value: bytes | int) -> bytes:
    key = varint(tag << 3 | wire)
    if wire == 0:
        return key + varint(value)
    return key + varint(len(value)) + value


def kpl(entries: list[tuple[str, bytes]]) -> bytes:
    """A KPL aggregated record: magic, protobuf AggregatedRecord, MD5 of the protobuf."""
    keys: list[str] = []
    records = b""
    for key, data in entries:
        if key not in keys:
            keys.append(key)
        entry = field(1, 0, keys.index(key)) + field(3, 2, data)
        records += field(3, 2, entry)
    message = b"".join(field(1, 2, k.encode()) for k in keys) + records
    return b"\xf3\x89\x9a\xc2" + message + hashlib.md5(message).digest()


def record_files() -> dict[str, bytes]:
    return {
        "csv-line": b"0" + b"1.5,2",
        "csv-header-lines": b"1" + b"b,a,c\r\n2,1,3\r\n5,4,6\r\n",
        "json-record-extra": b"0" + b'{"feature_2": 2, "feature_1": 1, "ts": "2024-01-01T00:00:00Z"}',
        "json-lines": b"0" + b'{"feature_1": 1, "feature_2": 2}\n{"feature_1": 3, "feature_2": 4}\n',
        "kpl-two-keys": b"0" + kpl([("pk", b"1,2"), ("other", b'{"feature_1": 3, "feature_2": 4}')]),
        "kpl-bad-checksum": b"0" + kpl([("pk", b"1,2")])[:-1] + b"\x00",
        "kpl-truncated": b"0" + b"\xf3\x89\x9a\xc2\x0a\x02pk",
        # Read as round-trip payloads: length byte 3 then "1,2", length byte 0x82 (other key) then "{}".
        "payloads": b"2" + b"\x031,2\x82{}",
    }


# Training tables: a selector byte (even: default feature columns, odd: the named columns b, a).
TABLE = {
    "features": b"\x00timestamp,a,b,anomaly\n2024-01-01,1,2,0\n2024-01-02,3,,1\n",
    "named-crlf": b'\x01a,"b"\r\n1,"2"\r\n\r\n  \r\n3,4\r\n',
    "unclosed-quote": b'\x00a,name\n1,x\n3,"open\n4,5\n',
    "quoted": b'\x00"a, b","say ""hi""",v\n"multi\nline",x,7\n',
}


def main() -> None:
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    for target, files in [
        ("csv", CSV),
        ("json", JSON),
        ("jsonlines", JSONLINES),
        ("headers", HEADERS),
        ("npy", npy_files()),
        ("model_file", model_files()),
        ("sklearn_import", sklearn_files()),
        ("record", record_files()),
        ("table", TABLE),
    ]:
        for name, data in files.items():
            write(target, name, data)
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    count = sum(1 for p in CORPUS.rglob("*") if p.is_file())
    print(f"wrote {count} files, {total} bytes, under {CORPUS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
