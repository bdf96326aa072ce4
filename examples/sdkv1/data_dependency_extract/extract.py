"""Step 2: keep the features a model would use, from processed_data1 into processed_data2."""

import argparse
import csv
import os

parser = argparse.ArgumentParser("extract")
parser.add_argument("--input_extract", type=str, help="processed_data1")
parser.add_argument("--output_extract", type=str, help="processed_data2")
args = parser.parse_args()

with open(os.path.join(args.input_extract, "train.csv"), newline="") as source:
    rows = list(csv.DictReader(source))
features = [
    {"Survived": r["Survived"], "Female": int(r["Sex"] == "female"), "Age": r["Age"]} for r in rows
]
os.makedirs(args.output_extract, exist_ok=True)
with open(os.path.join(args.output_extract, "features.csv"), "w", newline="") as target:
    writer = csv.DictWriter(target, fieldnames=["Survived", "Female", "Age"])
    writer.writeheader()
    writer.writerows(features)
print(f"extracted {len(features)} rows")
