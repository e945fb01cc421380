#!/usr/bin/env python3
"""Export a fitted scikit-learn IsolationForest to the interchange JSON that
`trainer import-sklearn` reads.

    python training/sklearn_export.py model.joblib -o model.json
    trainer import-sklearn model.json -o model.isof

The JSON carries every tree's arrays exactly as scikit-learn stores them
(feature indices are local to the tree's `estimators_features` entry when
`max_features_subsampled` is true), plus `max_samples_`, `offset_`, and
`feature_names_in_`. Floats are written with `repr`, so they round-trip
bit for bit.
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
from pathlib import Path

FORMAT = "sklearn-isolation-forest"
VERSION = 1


def load_model(path: Path):
    """Load a pickled or joblib-dumped estimator; joblib reads both."""
    try:
        import joblib
    except ImportError:  # plain pickle still works without joblib
        with path.open("rb") as f:
            return pickle.load(f)
    return joblib.load(path)


def _float(x, where: str) -> float:
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(
            f"{where} is {value!r}; JSON cannot carry it. This happens when the training data held "
            "values beyond float32's range (about ±3.4e38), which scikit-learn turns into infinities: "
            "refit on data within that range"
        )
    return value


def _ints(values) -> list[int]:
    return [int(v) for v in values]


def tree_json(index: int, estimator) -> dict:
    """The arrays of one fitted ExtraTreeRegressor."""
    tree = estimator.tree_
    # Leaves have threshold -2.0 in scikit-learn; keep the value as stored.
    return {
        "children_left": _ints(tree.children_left),
        "children_right": _ints(tree.children_right),
        "feature": _ints(tree.feature),
        "threshold": [_float(t, f"tree {index} node {node}: threshold") for node, t in enumerate(tree.threshold)],
        "n_node_samples": _ints(tree.n_node_samples),
        "missing_go_to_left": _ints(tree.missing_go_to_left),
    }


def export(model) -> dict:
    """Interchange document for a fitted IsolationForest."""
    from sklearn.ensemble import IsolationForest

    if not isinstance(model, IsolationForest):
        raise TypeError(f"expected a fitted IsolationForest, got {type(model).__name__}")
    if not hasattr(model, "estimators_"):
        raise ValueError("the IsolationForest is not fitted (no estimators_)")
    import sklearn

    names = getattr(model, "feature_names_in_", None)
    contamination = model.contamination
    return {
        "format": FORMAT,
        "version": VERSION,
        "sklearn_version": sklearn.__version__,
        "n_features_in": int(model.n_features_in_),
        "feature_names_in": None if names is None else [str(n) for n in names],
        "max_samples": int(model.max_samples_),
        "offset": _float(model.offset_, "offset_"),
        "contamination": "auto" if contamination == "auto" else _float(contamination, "contamination"),
        "bootstrap": bool(model.bootstrap),
        "n_estimators": len(model.estimators_),
        "max_features_subsampled": int(model._max_features) != int(model.n_features_in_),
        "estimators_features": [_ints(f) for f in model.estimators_features_],
        "trees": [tree_json(i, e) for i, e in enumerate(model.estimators_)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Convert a fitted scikit-learn IsolationForest (joblib or pickle file) "
        "into the interchange JSON read by `trainer import-sklearn`.",
    )
    parser.add_argument("model", type=Path, help="joblib or pickle file holding a fitted IsolationForest")
    parser.add_argument("-o", "--output", type=Path, help="output JSON file (default: stdout)")
    args = parser.parse_args(argv)

    try:
        doc = export(load_model(args.model))
    except (OSError, TypeError, ValueError, pickle.UnpicklingError) as err:
        print(f"sklearn_export: {args.model}: {err}", file=sys.stderr)
        return 1
    # json writes floats with repr(), the shortest string that parses back to the same double.
    text = json.dumps(doc, separators=(",", ":"), allow_nan=False)
    if args.output is None:
        sys.stdout.write(text + "\n")
    else:
        args.output.write_text(text + "\n")
        print(
            f"wrote {args.output}: {doc['n_estimators']} trees, {doc['n_features_in']} features, "
            f"offset {doc['offset']!r}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
