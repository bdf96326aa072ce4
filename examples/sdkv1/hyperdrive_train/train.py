"""A small real training script for the sweep: logistic regression by gradient descent.

HyperDrive appends ``--learning-rate`` and ``--epochs``; the script logs the validation loss (the
primary metric) and accuracy, and saves its model under ./outputs/model, as SDK v1 scripts do.
"""

import argparse
import json
import math
import os
import random

from azureml.core import Run

parser = argparse.ArgumentParser()
parser.add_argument("--learning-rate", type=float, dest="learning_rate", default=0.1)
parser.add_argument("--epochs", type=int, default=10)
args = parser.parse_args()

run = Run.get_context()
rng = random.Random(0)
truth = [2.0, -1.0, 2.5]  # the last feature is a constant: the intercept
data = []
for _ in range(400):
    x = [rng.gauss(0, 1), rng.gauss(0, 1), 1.0]
    logit = sum(w * v for w, v in zip(truth, x, strict=True))
    data.append((x, 1 if rng.random() < 1 / (1 + math.exp(-logit)) else 0))
train, valid = data[:300], data[300:]


def predict(weights, x):
    """The model's probability that y is 1."""
    return 1 / (1 + math.exp(-sum(w * v for w, v in zip(weights, x, strict=True))))


weights = [0.0, 0.0, 0.0]
for _epoch in range(args.epochs):
    grad = [0.0, 0.0, 0.0]
    for x, y in train:
        p = predict(weights, x)
        grad = [g + (p - y) * v for g, v in zip(grad, x, strict=True)]
    weights = [w - args.learning_rate * g / len(train) for w, g in zip(weights, grad, strict=True)]
accuracy = sum(int(predict(weights, x) > 0.5) == y for x, y in valid) / len(valid)
loss = -sum(math.log(predict(weights, x) if y else 1 - predict(weights, x)) for x, y in valid)
loss /= len(valid)

run.log("learning_rate", args.learning_rate)
run.log("epochs", args.epochs)
run.log("validation_loss", round(loss, 6))
run.log("validation_acc", accuracy)
os.makedirs("outputs/model", exist_ok=True)
with open("outputs/model/model.json", "w") as f:
    json.dump({"weights": weights, "learning_rate": args.learning_rate, "epochs": args.epochs}, f)
print(f"validation loss {loss:.4f}, accuracy {accuracy:.3f}")
