"""The Python container isoserve replaces, as it served: Flask behind gunicorn, a scikit-learn
IsolationForest, JSON records in, {"predictions": [1, -1, ...]} out.

Run by scripts/bench-http.sh: MODEL_PATH names the joblib file written by fit.py.
"""
import os

import flask
import joblib
import pandas as pd

model = joblib.load(os.environ["MODEL_PATH"])
app = flask.Flask(__name__)


@app.route("/ping", methods=["GET"])
def ping():
    return flask.Response(response="pong", status=200)


@app.route("/invocations", methods=["POST"])
def invocations():
    records = flask.request.get_json(force=True)
    frame = pd.DataFrame(records if isinstance(records, list) else [records])
    predictions = model.predict(frame)
    return flask.jsonify({"predictions": predictions.tolist()})
