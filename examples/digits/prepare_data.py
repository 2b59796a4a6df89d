"""Write data/digits.csv from scikit-learn's bundled digits data (no download).

The file is generated, never committed: `trunkml data add` pins it by sha256 in the pointer.
1,797 images of 8×8 pixels (64 numeric features, 0-16) and the digit shown, named `d0`…`d9`.
"""

from pathlib import Path

from sklearn.datasets import load_digits

frame = load_digits(as_frame=True).frame
frame["digit"] = frame.pop("target").map(lambda d: f"d{d}")
out = Path(__file__).resolve().parent / "data" / "digits.csv"
out.parent.mkdir(exist_ok=True)
frame.to_csv(out, index=False)
print(f"wrote {out} ({len(frame)} rows)")
