"""The ODDS acceptance protocol: our isolation forest against scikit-learn's, side by side.

PyOD's benchmark protocol: 60/40 stratified split, features standardised with the training
part's mean and standard deviation, fit on the training part (labels unused), ROC-AUC of the
scores on the test part, repeated over seeds. Three detectors run on identical splits:
scikit-learn's IsolationForest (defaults, random_state = seed), ours through `trainer train` +
`trainer score` (axis-parallel, defaults, --seed seed) and ours with fully extended splits
(extension level d - 1).

Acceptance: on every set, our axis-parallel mean ROC-AUC >= scikit-learn's mean minus one
scikit-learn standard deviation. The extended forest is reported, not gated.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from odds import datasets
from odds.trainer_cli import Trainer, write_csv

DETECTORS = ("sklearn", "ours", "ours_extended")


def split(x, y, seed):
    """60/40 stratified split, standardised with the training part's statistics."""
    x_train, x_test, _, y_test = train_test_split(x, y, test_size=0.4, stratify=y, random_state=seed)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0
    return (x_train - mean) / std, (x_test - mean) / std, y_test


def subsample(ds: datasets.Dataset, rows: int, seed: int = 0) -> datasets.Dataset:
    """A stratified subsample (for the reduced suite), keeping the anomaly share."""
    if rows >= len(ds.y):
        return ds
    keep, _ = train_test_split(np.arange(len(ds.y)), train_size=rows, stratify=ds.y, random_state=seed)
    keep = np.sort(keep)
    return datasets.Dataset(ds.name, ds.x[keep], ds.y[keep], f"{ds.recipe}; stratified subsample of {rows} rows")


def run_seed(trainer: Trainer, work: Path, ds: datasets.Dataset, seed: int) -> dict[str, float]:
    x_train, x_test, y_test = split(ds.x, ds.y, seed)
    sk = IsolationForest(random_state=seed).fit(x_train)
    aucs = {"sklearn": roc_auc_score(y_test, -sk.score_samples(x_test))}

    train_csv, test_csv = work / "train.csv", work / "test.csv"
    write_csv(train_csv, x_train)
    write_csv(test_csv, x_test)
    variants = {"ours": (), "ours_extended": ("--extension-level", ds.x.shape[1] - 1)}
    for name, extra in variants.items():
        model = work / f"{name}.isof"
        trainer.train(train_csv, model, seed, *extra)
        scores = trainer.score(model, test_csv)["score"].to_numpy()
        if len(scores) != len(y_test):
            raise RuntimeError(f"{name}: {len(scores)} scores for {len(y_test)} test rows")
        aucs[name] = roc_auc_score(y_test, scores)
    return aucs


def evaluate(trainer: Trainer, ds: datasets.Dataset, seeds: list[int]) -> dict:
    per_seed = {d: [] for d in DETECTORS}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"odds-{ds.name}-") as tmp:
        for seed in seeds:
            for name, auc in run_seed(trainer, Path(tmp), ds, seed).items():
                per_seed[name].append(auc)
    summary = {d: (float(np.mean(v)), float(np.std(v))) for d, v in per_seed.items()}
    sk_mean, sk_std = summary["sklearn"]
    return {
        "name": ds.name,
        "n": int(ds.x.shape[0]),
        "d": int(ds.x.shape[1]),
        "anomaly_pct": round(100.0 * float(ds.y.mean()), 2),
        "recipe": ds.recipe,
        "seeds": seeds,
        "per_seed": per_seed,
        "summary": summary,
        "bar": sk_mean - sk_std,
        "passed": summary["ours"][0] >= sk_mean - sk_std,
        "seconds": round(time.monotonic() - start, 1),
    }


def markdown(results: list[dict], n_seeds: int) -> str:
    def cell(pair):
        return f"{pair[0]:.4f} ± {pair[1]:.4f}"

    lines = [
        "| data | n | d | anomaly % | scikit-learn | ours | ours, extended (d−1) | bar (sk mean − sd) | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s = r["summary"]
        verdict = "pass" if r["passed"] else "**FAIL**"
        lines.append(
            f"| {r['name']} | {r['n']} | {r['d']} | {r['anomaly_pct']:.2f} | {cell(s['sklearn'])} | "
            f"{cell(s['ours'])} | {cell(s['ours_extended'])} | {r['bar']:.4f} | {verdict} |"
        )
    lines.append("")
    lines.append(f"ROC-AUC on the 40 % test part, mean ± standard deviation over {n_seeds} seeds.")
    lines += ["", "How each set is rebuilt from mlbench:", "", "| data | recipe |", "|---|---|"]
    lines += [f"| {r['name']} | {r['recipe']} |" for r in results]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ODDS acceptance: our forest against scikit-learn's.")
    parser.add_argument("--trainer", type=Path, required=True, help="path to the trainer binary")
    parser.add_argument("--data-dir", type=Path, required=True, help="mlbench's data/ directory (.rda files)")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (0..N-1)")
    parser.add_argument("--sets", nargs="+", default=list(datasets.BUILDERS), choices=list(datasets.BUILDERS))
    parser.add_argument("--max-rows", type=int, default=0, help="stratified subsample of larger sets (0 = all)")
    parser.add_argument("--markdown", type=Path, help="write the result table here")
    parser.add_argument("--json", type=Path, help="write every per-seed figure here")
    args = parser.parse_args(argv)

    trainer = Trainer(args.trainer)
    seeds = list(range(args.seeds))
    results = []
    for name in args.sets:
        ds = datasets.load(name, args.data_dir)
        if args.max_rows:
            ds = subsample(ds, args.max_rows)
        r = evaluate(trainer, ds, seeds)
        s = r["summary"]
        print(
            f"{name:<11} n={r['n']:<6} sklearn {s['sklearn'][0]:.4f}±{s['sklearn'][1]:.4f}  "
            f"ours {s['ours'][0]:.4f}±{s['ours'][1]:.4f}  extended {s['ours_extended'][0]:.4f}±"
            f"{s['ours_extended'][1]:.4f}  bar {r['bar']:.4f}  {'pass' if r['passed'] else 'FAIL'}  "
            f"({r['seconds']} s)",
            flush=True,
        )
        results.append(r)
    if args.markdown:
        args.markdown.write_text(markdown(results, len(seeds)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    failed = [r["name"] for r in results if not r["passed"]]
    if failed:
        print(f"ODDS acceptance FAILED on: {', '.join(failed)} (our mean ROC-AUC below scikit-learn's mean - 1 sd)")
        return 1
    print(f"ODDS acceptance passed on all {len(results)} sets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
