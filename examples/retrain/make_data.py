"""Simulate the data a team receives each day, from scikit-learn's bundled breast cancer dataset
(no download). Writes OUT/day-N/ with:
  batch.csv    the labelled rows that arrived on day N (what gets checked for quality and drift)
  train.csv    every training row received up to day N (the training snapshot)
  holdout.csv  every held-out row received up to day N, with the day it arrived (the `recent` slice)

Usage: make_data.py OUT DAY [--days 5]
Deterministic: the same DAY always gives the same files.
"""
import argparse
import os

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("day", type=int)
    ap.add_argument("--days", type=int, default=5)
    args = ap.parse_args()
    if not 1 <= args.day <= args.days:
        raise SystemExit(f"day must be between 1 and {args.days}")

    data = load_breast_cancer(as_frame=True)
    df = data.frame.rename(columns=lambda c: c.replace(" ", "_"))
    df = df.sample(frac=1.0, random_state=7).reset_index(drop=True)
    # Each row arrives on one day: a larger first delivery, then equal daily ones.
    first = len(df) * 2 // 5
    rest = np.array_split(np.arange(first, len(df)), args.days - 1)
    day_of = np.empty(len(df), dtype=int)
    day_of[:first] = 1
    for i, idx in enumerate(rest, start=2):
        day_of[idx] = i
    df.insert(0, "day", day_of)
    # Every fourth row is held out for evaluation, never trained on.
    held = (np.arange(len(df)) % 4) == 0

    out = os.path.join(args.out, f"day-{args.day}")
    os.makedirs(out, exist_ok=True)
    upto = df["day"] <= args.day
    df[~held & (df["day"] == args.day)].drop(columns="day").to_csv(os.path.join(out, "batch.csv"), index=False)
    df[~held & upto].drop(columns="day").to_csv(os.path.join(out, "train.csv"), index=False)
    df[held & upto].to_csv(os.path.join(out, "holdout.csv"), index=False)
    print(out)


if __name__ == "__main__":
    main()
