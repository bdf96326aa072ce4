"""Step 1: clean the raw table (drop rows without an age) into processed_data1."""

import argparse
import csv
import os

parser = argparse.ArgumentParser("train")
parser.add_argument("--input_data", type=str, help="the raw CSV (a DataReference)")
parser.add_argument("--output_train", type=str, help="output folder (PipelineData)")
args = parser.parse_args()

print(f"Argument 1: {args.input_data}")
print(f"Argument 2: {args.output_train}")

with open(args.input_data, newline="") as source:
    rows = [row for row in csv.DictReader(source) if row["Age"]]
os.makedirs(args.output_train, exist_ok=True)
with open(os.path.join(args.output_train, "train.csv"), "w", newline="") as target:
    writer = csv.DictWriter(target, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
print(f"kept {len(rows)} rows with an age")
