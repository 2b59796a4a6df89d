"""Write data/breast-cancer.csv from scikit-learn's bundled breast-cancer data (no download).

The file is generated, never committed: `trunkml data add` pins it by sha256 in the pointer.
Besides the 30 measurements and the diagnosis it has an identifier (excluded from the features),
a categorical column and a boolean column, so every feature type is exercised.
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer

frame = load_breast_cancer(as_frame=True).frame
frame.insert(0, "patient", [f"p{i:04d}" for i in range(len(frame))])
frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
frame["size"] = np.where(frame["mean radius"] > 14, "large", "small")
frame["smooth"] = np.where(frame["mean smoothness"] < 0.1, "yes", "no")
out = Path(__file__).resolve().parent / "data" / "breast-cancer.csv"
out.parent.mkdir(exist_ok=True)
frame.to_csv(out, index=False)
print(f"wrote {out} ({len(frame)} rows)")
