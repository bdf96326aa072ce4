"""Step 3: compare the raw data (a DataPath pipeline parameter) with the extracted features."""

import argparse
import csv
import json
import os

from azureml.core import Run

parser = argparse.ArgumentParser("compare")
parser.add_argument("--compare_data1", type=str, help="raw CSV (DataPath parameter)")
parser.add_argument("--compare_data2", type=str, help="processed_data2")
parser.add_argument("--output_compare", type=str, help="processed_data3")
args = parser.parse_args()

with open(args.compare_data1, newline="") as raw:
    raw_rows = list(csv.DictReader(raw))
with open(os.path.join(args.compare_data2, "features.csv"), newline="") as features:
    feature_rows = list(csv.DictReader(features))
survival = {
    sex: sum(int(r["Survived"]) for r in feature_rows if r["Female"] == flag)
    / max(1, sum(r["Female"] == flag for r in feature_rows))
    for sex, flag in (("female", "1"), ("male", "0"))
}
summary = {"raw_rows": len(raw_rows), "kept_rows": len(feature_rows), "survival": survival}
os.makedirs(args.output_compare, exist_ok=True)
with open(os.path.join(args.output_compare, "comparison.json"), "w") as out:
    json.dump(summary, out)
run = Run.get_context()
run.log("raw_rows", len(raw_rows))
run.log("kept_rows", len(feature_rows))
print(json.dumps(summary))
