"""A small real training script: logistic regression by gradient descent on a synthetic task.

It logs the loss per epoch, a final accuracy, a table of per-class results, and saves the model
under ./outputs, as any SDK v1 training script would.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random

from hyperpipe.core import Run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning_rate", type=float, default=0.5)
    parser.add_argument("--num_epochs", type=int, default=30)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()

    run = Run.get_context()
    rng = random.Random(0)
    weights_true = [1.5, -2.0, 0.7]
    data = []
    for _ in range(args.samples):
        x = [rng.gauss(0, 1) for _ in weights_true]
        logit = sum(w * v for w, v in zip(weights_true, x, strict=True))
        data.append((x, 1 if rng.random() < 1 / (1 + math.exp(-logit)) else 0))
    split = int(0.8 * len(data))
    train, test = data[:split], data[split:]

    weights = [0.0] * len(weights_true)
    run.log("learning_rate", args.learning_rate)
    for epoch in range(args.num_epochs):
        grad = [0.0] * len(weights)
        loss = 0.0
        for x, y in train:
            p = 1 / (1 + math.exp(-sum(w * v for w, v in zip(weights, x, strict=True))))
            loss -= y * math.log(p + 1e-12) + (1 - y) * math.log(1 - p + 1e-12)
            for i, v in enumerate(x):
                grad[i] += (p - y) * v
        weights = [
            w - args.learning_rate * g / len(train) for w, g in zip(weights, grad, strict=True)
        ]
        run.log("loss", loss / len(train), step=epoch)
        print(f"epoch {epoch:3d}  loss {loss / len(train):.4f}")

    correct = {0: [0, 0], 1: [0, 0]}
    for x, y in test:
        predicted = int(sum(w * v for w, v in zip(weights, x, strict=True)) > 0)
        correct[y][0] += predicted == y
        correct[y][1] += 1
    accuracy = sum(c for c, _ in correct.values()) / len(test)
    run.log("accuracy", accuracy)
    for label, (good, total) in correct.items():
        run.log_row("per_class", label=label, accuracy=good / total, support=total)
    os.makedirs("outputs", exist_ok=True)
    with open("outputs/model.json", "w") as f:
        json.dump({"weights": weights}, f)
    print(f"accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
