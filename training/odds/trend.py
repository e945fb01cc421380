"""Trend baseline: how well global detectors see spikes on trending data.

For each trend of `trainer generate` (linear, random_walk, exponential) and each seed pair,
a training set and a test set are generated with different seeds; every detector is fitted on
the training set (labels unused) and scored on the test set against its row-level `anomaly`
labels. Reported: ROC-AUC and best F1 (the best F1 over all thresholds), mean ± sd over the pairs.
These are the "before" figures for a trend-aware mode.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import precision_recall_curve, roc_auc_score

from odds.trainer_cli import Trainer

TRENDS = ("linear", "random_walk", "exponential")
DETECTORS = {
    "sklearn": "scikit-learn IsolationForest (defaults)",
    "ours": "our forest (axis-parallel)",
    "ours_extended": "our forest, extended (d−1)",
    "kmeans": "k-means distance",
}


def best_f1(labels: np.ndarray, scores: np.ndarray) -> float:
    precision, recall, _ = precision_recall_curve(labels, scores)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return float(f1.max())


def generate(trainer: Trainer, work: Path, trend: str, seed: int, rows: int) -> tuple[Path, np.ndarray]:
    data, labels = work / f"{trend}-{seed}.csv", work / f"{trend}-{seed}.labels.csv"
    trainer.run(
        "generate",
        "--quiet",
        "--trend",
        trend,
        "--seed",
        seed,
        "--rows",
        rows,
        "--out",
        data,
        "--labels",
        labels,
    )
    return data, pd.read_csv(labels)["anomaly"].to_numpy().astype(bool)


def run_pair(trainer: Trainer, work: Path, trend: str, pair: int, rows: int) -> dict[str, tuple[float, float]]:
    train_csv, _ = generate(trainer, work, trend, 1 + pair, rows)
    test_csv, y = generate(trainer, work, trend, 1001 + pair, rows)
    x_train = pd.read_csv(train_csv).drop(columns="timestamp", errors="ignore")
    x_test = pd.read_csv(test_csv).drop(columns="timestamp", errors="ignore")
    scores = {"sklearn": -IsolationForest(random_state=pair).fit(x_train).score_samples(x_test)}
    d = x_train.shape[1]
    variants = {
        "ours": (),
        "ours_extended": ("--extension-level", d - 1),
        "kmeans": ("--detector", "kmeans"),
    }
    for name, extra in variants.items():
        model = work / f"{name}.isof"
        trainer.train(train_csv, model, pair, *extra)
        scores[name] = trainer.score(model, test_csv)["score"].to_numpy()
    return {name: (roc_auc_score(y, s), best_f1(y, s)) for name, s in scores.items()}


def markdown(results: dict, pairs: int, rows: int) -> str:
    def cell(values):
        return f"{np.mean(values):.3f} ± {np.std(values):.3f}"

    lines = ["| trend | " + " | ".join(DETECTORS.values()) + " |", "|---|" + "---|" * len(DETECTORS)]
    for trend, per in results.items():
        for metric, k in (("ROC-AUC", 0), ("best F1", 1)):
            cells = [cell([p[k] for p in per[d]]) for d in DETECTORS]
            lines.append(f"| {trend}, {metric} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"`trainer generate` defaults ({rows} rows), training seeds 1..{pairs}, test seeds "
        f"1001..{1000 + pairs}; mean ± sd over {pairs} pairs; labels = the row-level `anomaly` column."
    )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Trend baseline: ROC-AUC and best F1 of global detectors.")
    parser.add_argument("--trainer", type=Path, required=True, help="path to the trainer binary")
    parser.add_argument("--pairs", type=int, default=5, help="training/test seed pairs")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per generated set")
    parser.add_argument("--markdown", type=Path, help="write the result table here")
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)

    trainer = Trainer(args.trainer)
    results = {}
    with tempfile.TemporaryDirectory(prefix="trend-") as tmp:
        for trend in TRENDS:
            per = {d: [] for d in DETECTORS}
            for pair in range(args.pairs):
                for name, figures in run_pair(trainer, Path(tmp), trend, pair, args.rows).items():
                    per[name].append(figures)
            results[trend] = per
            summary = "  ".join(f"{d} {np.mean([p[0] for p in v]):.3f}" for d, v in per.items())
            print(f"{trend:<12} ROC-AUC  {summary}", flush=True)
    if args.markdown:
        args.markdown.write_text(markdown(results, args.pairs, args.rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
