"""Train the model: standardised features + logistic regression, saved with joblib.

Usage: train.py TRAIN_CSV OUT_DIR [--C 1.0]
Writes OUT_DIR/model.joblib, and OUT_DIR/../metrics.json (cross-validated scores on the training
snapshot, recorded with the version at `mlreg add --metrics-file`).
"""
import argparse
import json
import os
import sys

import joblib
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("train_csv")
    ap.add_argument("out_dir")
    ap.add_argument("--C", type=float, default=1.0)
    args = ap.parse_args()

    df = pd.read_csv(args.train_csv)
    X, y = df.drop(columns="target"), df["target"]
    model = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=2000))
    cv = cross_validate(model, X, y, cv=5, scoring={"auc": "roc_auc", "log_loss": "neg_log_loss"})
    model.fit(X, y)

    os.makedirs(args.out_dir, exist_ok=True)
    joblib.dump(model, os.path.join(args.out_dir, "model.joblib"))
    metrics = {"cv_auc": float(cv["test_auc"].mean()), "cv_log_loss": float(-cv["test_log_loss"].mean()), "train_rows": len(df)}
    with open(os.path.join(os.path.dirname(os.path.abspath(args.out_dir)), "metrics.json"), "w") as f:
        json.dump(metrics, f)
    print(f"trained on {len(df)} rows, C={args.C}: cv auc {metrics['cv_auc']:.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
