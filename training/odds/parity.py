"""scikit-learn parity helpers for tests/suites/30-sklearn-parity.sh.

    parity.py random OUT.csv [--rows N --features D --seed S --beyond-float32]   NaNs, extremes
    parity.py fit DATA.csv -o MODEL.joblib [--contamination C] [--bootstrap] [--max-features F]
    parity.py edges MODEL.joblib DATA.csv OUT.csv              rows sitting on the trees' thresholds
    parity.py check-json MODEL.joblib MODEL.json DATA.csv      the JSON alone reproduces sklearn
    parity.py compare MODEL.joblib DATA.csv SCORES.csv         our `trainer score` output vs sklearn
    parity.py records DATA.csv OUT.json                        rows as JSON records for curl
    parity.py served MODEL.joblib DATA.csv NATIVE.json SKLEARN.json   the server's answers vs sklearn

`compare` exits non-zero unless score_samples and decision_function agree within 1e-12 and
predict is identical on every row.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

TOLERANCE = 1e-12


def read_features(path: Path) -> pd.DataFrame:
    """Numeric feature columns of a CSV (a timestamp column, if any, is dropped)."""
    frame = pd.read_csv(path)
    return frame.drop(columns=[c for c in frame.columns if c == "timestamp"])


def random_data(rows: int, features: int, seed: int, beyond_float32: bool) -> np.ndarray:
    """Gaussian data salted with NaNs, huge and tiny magnitudes and exact duplicates.

    scikit-learn casts input to float32, so 1e39 becomes infinity. Training on such values
    yields NaN thresholds, which JSON cannot carry; they belong in scoring data only."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)) * rng.choice([1.0, 10.0, 1e3], size=features)
    cells = rng.random(size=x.shape)
    x[cells < 0.05] = np.nan
    extremes = [1e38, -1e38, 3.4e38, 1e-45, -1e-310, 0.0, -0.0]
    if beyond_float32:
        extremes += [1e39, -1e300, 1.7e308]
    extremes = np.array(extremes)
    pick = cells > 0.97
    x[pick] = rng.choice(extremes, size=int(pick.sum()))
    x[1::50] = x[0::50][: len(x[1::50])]  # duplicates: leaves that end with several samples
    return x


def edge_rows(model: IsolationForest, x: np.ndarray, per_tree: int = 4) -> np.ndarray:
    """Copies of real rows with one feature set exactly on a split threshold or one float32
    step beside it: they catch a `<` for `<=`, or a missing float32 cast."""
    rng = np.random.default_rng(7)
    rows = []
    subsampled = model._max_features != model.n_features_in_
    for features, est in zip(model.estimators_features_, model.estimators_):
        tree = est.tree_
        inner = np.flatnonzero(tree.children_left >= 0)
        for node in rng.choice(inner, size=min(per_tree, len(inner)), replace=False):
            local = tree.feature[node]
            column = features[local] if subsampled else local
            t = tree.threshold[node]
            f32 = np.float32(t)
            for value in (
                t,
                float(f32),
                float(np.nextafter(f32, np.float32(np.inf))),
                float(np.nextafter(f32, np.float32(-np.inf))),
            ):
                row = x[rng.integers(len(x))].copy()
                row[column] = value
                rows.append(row)
    return np.array(rows)


def _c(n: np.ndarray) -> np.ndarray:
    """Average path length of an unsuccessful BST search, c(n), with c(<=1) = 0, c(2) = 1."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


def score_from_json(doc: dict, x: np.ndarray) -> np.ndarray:
    """score_samples recomputed from the interchange JSON alone, independently of scikit-learn:
    proves the export carries everything the scores depend on."""
    x32 = np.asarray(x, dtype=np.float64).astype(np.float32).astype(np.float64)
    depths = np.zeros(len(x32))
    for features, tree in zip(doc["estimators_features"], doc["trees"]):
        cols = x32[:, features] if doc["max_features_subsampled"] else x32
        left, right = np.array(tree["children_left"]), np.array(tree["children_right"])
        feature, threshold = np.array(tree["feature"]), np.array(tree["threshold"])
        nan_left = np.array(tree["missing_go_to_left"], dtype=bool)
        node = np.zeros(len(x32), dtype=int)
        depth = np.zeros(len(x32))
        while True:
            inner = left[node] >= 0
            if not inner.any():
                break
            rows = np.flatnonzero(inner)
            at = node[rows]
            value = cols[rows, feature[at]]
            go_left = np.where(np.isnan(value), nan_left[at], value <= threshold[at])
            node[rows] = np.where(go_left, left[at], right[at])
            depth[rows] += 1.0
        depths += depth + _c(np.array(tree["n_node_samples"])[node])
    return -(2.0 ** (-depths / (len(doc["trees"]) * _c(np.array([doc["max_samples"]]))[0])))


def compare(model: IsolationForest, x, ours: pd.DataFrame) -> list[str]:
    """Mismatches between sklearn and our scores (empty when they agree)."""
    expected = {
        "score_samples": model.score_samples(x),
        "decision_function": model.decision_function(x),
    }
    problems = []
    if len(ours) != len(x):
        return [f"{len(ours)} rows of scores for {len(x)} input rows"]
    for column, want in expected.items():
        got = ours[column].to_numpy(float)
        diff = np.abs(got - want)
        worst = int(np.argmax(diff))
        print(f"  {column}: max |ours - sklearn| = {diff[worst]:.3g} (row {worst + 1})")
        if not diff[worst] <= TOLERANCE:
            problems.append(f"{column} row {worst + 1}: ours {got[worst]!r}, sklearn {want[worst]!r}")
    score = ours["score"].to_numpy(float)
    if not np.array_equal(score, -ours["score_samples"].to_numpy(float)):
        problems.append("score is not exactly -score_samples")
    predicted = ours["predict"].to_numpy(int)
    want = model.predict(x)
    wrong = np.flatnonzero(predicted != want)
    print(f"  predict: {len(x) - len(wrong)}/{len(x)} identical, {int((want == -1).sum())} outliers")
    if len(wrong):
        r = int(wrong[0])
        problems.append(
            f"predict differs on {len(wrong)} rows, first row {r + 1}: ours {predicted[r]}, sklearn {want[r]}"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("random")
    p.add_argument("out", type=Path)
    p.add_argument("--rows", type=int, default=3000)
    p.add_argument("--features", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--beyond-float32", action="store_true", help="also values that overflow float32")
    p = sub.add_parser("fit")
    p.add_argument("data", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--contamination", default="auto")
    p.add_argument("--bootstrap", action="store_true")
    p.add_argument("--max-features", type=float, default=1.0)
    p.add_argument("--numpy", action="store_true", help="fit on a bare array (no feature_names_in_)")
    p.add_argument("--seed", type=int, default=42)
    p = sub.add_parser("edges")
    p.add_argument("model", type=Path)
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("check-json", help="the exported JSON alone reproduces score_samples")
    p.add_argument("model", type=Path)
    p.add_argument("json", type=Path)
    p.add_argument("data", type=Path)
    p = sub.add_parser("records", help="rows as a JSON array of records keyed by feature name")
    p.add_argument("data", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("served", help="the server's answers (native and sklearn shapes) vs sklearn")
    p.add_argument("model", type=Path)
    p.add_argument("data", type=Path)
    p.add_argument("native", type=Path)
    p.add_argument("sklearn", type=Path)
    p = sub.add_parser("compare")
    p.add_argument("model", type=Path)
    p.add_argument("data", type=Path)
    p.add_argument("scores", type=Path)
    args = parser.parse_args(argv)

    if args.cmd == "records":
        # NaN becomes null, which the server reads as a missing value; repr keeps every bit.
        frame = read_features(args.data)
        records = [
            {k: (None if np.isnan(v) else float(v)) for k, v in zip(frame.columns, row)}
            for row in frame.to_numpy(float)
        ]
        args.out.write_text(json.dumps(records, allow_nan=False))
        return 0
    if args.cmd == "random":
        x = random_data(args.rows, args.features, args.seed, args.beyond_float32)
        frame = pd.DataFrame(x, columns=[f"feature_{j + 1}" for j in range(args.features)])
        frame.to_csv(args.out, index=False, float_format="%.17g", na_rep="nan")
        return 0
    if args.cmd == "fit":
        frame = read_features(args.data)
        contamination = args.contamination if args.contamination == "auto" else float(args.contamination)
        model = IsolationForest(
            contamination=contamination,
            bootstrap=args.bootstrap,
            max_features=args.max_features,
            random_state=args.seed,
        ).fit(frame.to_numpy() if args.numpy else frame)
        joblib.dump(model, args.output)
        return 0
    model = joblib.load(args.model)
    frame = read_features(args.data)
    x = frame.to_numpy() if getattr(model, "feature_names_in_", None) is None else frame
    if args.cmd == "edges":
        edges = edge_rows(model, frame.to_numpy())
        pd.DataFrame(edges, columns=frame.columns).to_csv(args.out, index=False, float_format="%.17g", na_rep="nan")
        return 0
    if args.cmd == "check-json":
        doc = json.loads(args.json.read_text())
        diff = np.abs(score_from_json(doc, frame.to_numpy()) - model.score_samples(x)).max()
        print(f"  JSON re-derivation: max |json - sklearn| = {diff:.3g}")
        return 0 if diff <= TOLERANCE else 1
    if args.cmd == "served":
        native = json.loads(args.native.read_text())["predictions"]
        labels = json.loads(args.sklearn.read_text())["predictions"]
        served = pd.DataFrame({"score": [p["score"] for p in native]})
        served["score_samples"] = -served["score"]
        served["decision_function"] = served["score_samples"] - model.offset_
        served["predict"] = [-1 if p["anomaly"] else 1 for p in native]
        problems = compare(model, x, served)
        if labels != model.predict(x).tolist():
            problems.append("the sklearn-shaped predictions differ from sklearn's predict")
        else:
            print(f"  sklearn shape (no attribute, the imported model's default): {len(labels)} labels identical to sklearn's predict")
        for problem in problems:
            print(f"  MISMATCH {problem}", file=sys.stderr)
        return 1 if problems else 0
    ours = pd.read_csv(args.scores)
    problems = compare(model, x, ours)
    for problem in problems:
        print(f"  MISMATCH {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
