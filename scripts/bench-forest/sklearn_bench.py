"""scikit-learn IsolationForest timings on the shapes of forest/benches/scoring.rs.

Prints one JSON object: rows/s of score_samples for d = 5 and d = 20 and the one-row latency, or
with --fit the fit time of 10,000 x 5. Run pinned to one core with one BLAS/OpenMP thread
(scripts/bench-forest.sh does, once per round for the scoring figures).
"""
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest

TRAIN_ROWS = 10_000
SCORE_ROWS = 20_000


def best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    rng = np.random.default_rng(0)
    out = {"sklearn_version": sklearn.__version__}
    if sys.argv[1:] == ["--fit"]:
        train = rng.standard_normal((TRAIN_ROWS, 5))
        out["fit_10000x5_seconds"] = best_of(
            lambda: IsolationForest(n_estimators=100, random_state=0, n_jobs=1).fit(train), 5
        )
        print(json.dumps(out))
        return
    for d in (5, 20):
        train = rng.standard_normal((TRAIN_ROWS, d))
        test = rng.standard_normal((SCORE_ROWS, d))
        model = IsolationForest(n_estimators=100, max_samples=256, random_state=0, n_jobs=1).fit(train)
        model.score_samples(test[:100])
        seconds = best_of(lambda: model.score_samples(test), 5)
        out[f"score_d{d}_rows_per_s"] = SCORE_ROWS / seconds
        if d == 5:
            row = test[:1]
            out["one_row_seconds"] = best_of(lambda: model.score_samples(row), 50)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
