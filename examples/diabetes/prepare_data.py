"""Write data/diabetes.csv from scikit-learn's bundled diabetes data (no download).

The file is generated, never committed: `trunkml data add` pins it by sha256 in the pointer.
442 patients, 10 baseline measurements in their original units (age, sex, bmi, bp, s1-s6) and
`progression`, a measure of disease progression one year later: the regression target.
"""

from pathlib import Path

from sklearn.datasets import load_diabetes

frame = load_diabetes(as_frame=True, scaled=False).frame
frame = frame.rename(columns={"target": "progression"})
out = Path(__file__).resolve().parent / "data" / "diabetes.csv"
out.parent.mkdir(exist_ok=True)
frame.to_csv(out, index=False)
print(f"wrote {out} ({len(frame)} rows)")
