"""Rebuild ODDS benchmark sets from the raw data in Debian's r-cran-mlbench.

ODDS (Outlier Detection DataSets) derived its shuttle, satellite, ionosphere,
glass and pima sets from the UCI originals, which mlbench ships as .rda files.
Each rebuild below applies ODDS's published recipe and is checked against
ODDS's row count, column count and anomaly share; a mismatch is an error,
never a warning, so the acceptance figures are always about the same data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Features, anomaly labels (True = anomaly) and where they came from."""

    name: str
    x: np.ndarray
    y: np.ndarray
    recipe: str


# n, d, anomaly % as published by ODDS (and PyOD's benchmark table).
ODDS_SHAPES = {
    "shuttle": (49097, 9, 7.15),
    "satellite": (6435, 36, 31.64),
    "ionosphere": (351, 33, 35.90),
    "glass": (214, 9, 4.21),
    "pima": (768, 8, 34.90),
}


def _read(data_dir: Path, name: str):
    import rdata

    path = data_dir / f"{name}.rda"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: is r-cran-mlbench unpacked there?")
    with warnings.catch_warnings():
        # mlbench's .rda files carry no encoding mark; they are plain ASCII.
        warnings.simplefilter("ignore", UserWarning)
        return rdata.read_rda(str(path))[name]


def _shuttle(data_dir: Path) -> Dataset:
    frame = _read(data_dir, "Shuttle")
    label = frame["Class"].astype(str)
    keep = (label != "High").to_numpy()
    x = frame.drop(columns="Class").to_numpy(float)[keep]
    y = (label != "Rad.Flow").to_numpy()[keep]
    return Dataset("shuttle", x, y, "Shuttle: drop class High; anomaly = any class but Rad.Flow")


def _satellite(data_dir: Path) -> Dataset:
    frame = _read(data_dir, "Satellite")
    label = frame["classes"].astype(str)
    anomalies = {"cotton crop", "damp grey soil", "vegetation stubble"}
    x = frame.drop(columns="classes").to_numpy(float)
    y = label.isin(anomalies).to_numpy()
    return Dataset("satellite", x, y, "Satellite: anomaly = cotton crop, damp grey soil, vegetation stubble")


def _ionosphere(data_dir: Path) -> Dataset:
    frame = _read(data_dir, "Ionosphere")
    # V1 is a 0/1 factor; V2 is constant (always 0) and ODDS drops it.
    frame = frame.drop(columns="V2")
    frame["V1"] = frame["V1"].astype(str).astype(float)
    x = frame.drop(columns="Class").to_numpy(float)
    y = (frame["Class"].astype(str) == "bad").to_numpy()
    return Dataset("ionosphere", x, y, "Ionosphere: drop constant V2; anomaly = bad")


def _glass(data_dir: Path) -> Dataset:
    frame = _read(data_dir, "Glass")
    x = frame.drop(columns="Type").to_numpy(float)
    y = (frame["Type"].astype(str) == "6").to_numpy()
    return Dataset("glass", x, y, "Glass: anomaly = Type 6 (tableware)")


def _pima(data_dir: Path) -> Dataset:
    frame = _read(data_dir, "PimaIndiansDiabetes")
    x = frame.drop(columns="diabetes").to_numpy(float)
    y = (frame["diabetes"].astype(str) == "pos").to_numpy()
    return Dataset("pima", x, y, "PimaIndiansDiabetes: anomaly = pos")


BUILDERS = {
    "shuttle": _shuttle,
    "satellite": _satellite,
    "ionosphere": _ionosphere,
    "glass": _glass,
    "pima": _pima,
}


def check_shape(ds: Dataset) -> None:
    """Raise unless the rebuilt set has exactly ODDS's n, d and anomaly %."""
    n, d, pct = ODDS_SHAPES[ds.name]
    got_pct = round(100.0 * ds.y.mean(), 2)
    if ds.x.shape != (n, d) or abs(got_pct - pct) > 0.005:
        raise ValueError(
            f"{ds.name}: rebuilt {ds.x.shape[0]}x{ds.x.shape[1]} with {got_pct} % anomalies, "
            f"ODDS has {n}x{d} with {pct} %"
        )
    if not np.isfinite(ds.x).all():
        raise ValueError(f"{ds.name}: rebuilt features contain NaN or infinity")


def load(name: str, data_dir: Path) -> Dataset:
    """Rebuild one set and verify it against ODDS."""
    ds = BUILDERS[name](data_dir)
    check_shape(ds)
    return ds
