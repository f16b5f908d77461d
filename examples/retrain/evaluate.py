"""The evaluation command for `mlreg eval run`: load the model that mlreg checked out into
$MLREG_MODEL_DIR, score the holdout in $MLREG_DATASET_DIR, and print ONE JSON document on stdout:
metrics for all rows and for the `recent` slice (the rows of the newest day). Logs go to stderr.
"""
import json
import os
import sys

import joblib
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score


def scores(model, rows: pd.DataFrame) -> dict:
    X, y = rows.drop(columns=["target", "day"]), rows["target"]
    p = model.predict_proba(X)[:, 1]
    return {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "accuracy": float(accuracy_score(y, p >= 0.5)),
    }


def main() -> None:
    model = joblib.load(os.path.join(os.environ["MLREG_MODEL_DIR"], "model.joblib"))
    holdout = pd.read_csv(os.path.join(os.environ["MLREG_DATASET_DIR"], "holdout.csv"))
    recent = holdout[holdout["day"] == holdout["day"].max()]
    print(f"evaluating {os.environ['MLREG_MODEL_REF']} on {os.environ['MLREG_DATASET_REF']}: {len(holdout)} rows, {len(recent)} recent", file=sys.stderr)
    json.dump({"all": scores(model, holdout), "recent": scores(model, recent)}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
