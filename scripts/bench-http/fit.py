"""Fits the reference scikit-learn IsolationForest on the benchmark's training CSV.

    fit.py TRAIN_CSV OUT_JOBLIB

Same data and the same settings as the Rust model in the run (100 trees, max_samples="auto",
contamination="auto"), so both servers do the same amount of work per row.
"""
import sys

import joblib
import pandas as pd
from sklearn.ensemble import IsolationForest

train_csv, out = sys.argv[1], sys.argv[2]
frame = pd.read_csv(train_csv)
features = [c for c in frame.columns if c != "timestamp"]
model = IsolationForest(n_estimators=100, max_samples="auto", contamination="auto", random_state=7)
model.fit(frame[features])
joblib.dump(model, out)
