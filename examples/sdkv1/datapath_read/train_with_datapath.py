"""Read the folder a DataPath pipeline parameter points at; summarise it in the output."""

import argparse
import json
import os

from azureml.core import Run

parser = argparse.ArgumentParser("train")
parser.add_argument("--arg1", type=str, help="sample string argument")
parser.add_argument("--arg2", type=str, help="sample datapath argument")
parser.add_argument("--output", type=str, help="where the summary goes")
args = parser.parse_args()

print(f"Sample string argument  : {args.arg1}")
print(f"Sample datapath argument: {args.arg2}")

files = sorted(
    os.path.relpath(os.path.join(folder, name), args.arg2)
    for folder, _, names in os.walk(args.arg2)
    for name in names
)
lines = 0
for name in files:
    with open(os.path.join(args.arg2, name)) as data:
        lines += sum(1 for _ in data)
summary = {"string": args.arg1, "files": files, "lines": lines}
os.makedirs(args.output, exist_ok=True)
with open(os.path.join(args.output, "summary.json"), "w") as out:
    json.dump(summary, out)
Run.get_context().log("lines", lines)
print(json.dumps(summary))
