"""Thin wrappers around the `trainer` binary and the CSV files it reads and writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd


def write_csv(path: Path, x: np.ndarray, names: list[str] | None = None) -> None:
    """Feature CSV with a header; %.17g round-trips every double, NaN is written as nan."""
    names = names or [f"x{j}" for j in range(x.shape[1])]
    np.savetxt(path, x, fmt="%.17g", delimiter=",", header=",".join(names), comments="")


class Trainer:
    """Runs `trainer` subcommands; any failure raises with the tool's own message."""

    def __init__(self, exe: Path):
        self.exe = Path(exe)
        if not self.exe.is_file():
            raise FileNotFoundError(
                f"trainer binary not found at {self.exe}; build it with cargo build --release -p trainer"
            )

    def run(self, *args: object) -> str:
        cmd = [str(self.exe), *map(str, args)]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr.strip()}")
        return done.stdout

    def train(self, data: Path, model: Path, seed: int, *extra: object) -> None:
        self.run("train", data, "-o", model, "--seed", seed, "--quiet", *extra)

    def score(self, model: Path, data: Path, out: Path | None = None) -> pd.DataFrame:
        """Per-row score, score_samples, decision_function and predict."""
        out = out or data.with_suffix(".scores.csv")
        self.run("score", model, data, "-o", out)
        return pd.read_csv(out, dtype={"predict": int})
