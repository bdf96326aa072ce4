"""How many trials each HyperDrive sampling method needs to come within 1 % of the optimum.

The objective is a smooth synthetic accuracy surface shaped like the lab's sweep (the 20
Newsgroups MLP of gh:miquelladeboer/aml-mlops-workshop): four parameters,

    learning_rate  uniform(0.001, 0.1)     (Grid: choice(0.001, 0.003, 0.01, 0.03, 0.1))
    num_epochs     choice(10, 20)
    batch_size     choice(10, 20, 50, 100, 200, 300, 500, 1000)
    hidden_size    choice(300, 400)

    accuracy = 0.90 - 0.06 * log10(lr / lr_best(batch_size))**2     learning rate, in decades
                    - 0.004 * log2(batch_size / 50)**2                batch size
                    - 0.006 * (num_epochs == 10) - 0.003 * (hidden_size == 300)
    lr_best(b) = 0.008 * sqrt(b / 50)                                 larger batches, larger steps

floored at 0.05 (chance for 20 classes). The optimum is 0.90 (lr 0.008, 20 epochs, batch 50,
400 units); "within 1 %" means accuracy >= 0.99 * 0.90 = 0.891.

Each method runs the way the HyperDrive driver runs it: ``create_study`` once, then ``ask`` ->
evaluate -> ``tell``, one trial at a time, up to the budget (80, the lab's max_total_runs). A
seed that never gets within 1 % counts as budget + 1. Prints the trials needed per seed and the
median over the seeds, side by side; Random is the baseline.

    python benchmarks/sampler_efficiency.py [--seeds 20] [--budget 80]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import optuna

from hyperpipe.train.hyperdrive import (
    BayesianParameterSampling,
    GridParameterSampling,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    uniform,
)

OPTIMUM = 0.90
TARGET = 0.99 * OPTIMUM
DISCRETE = {
    "num_epochs": choice(10, 20),
    "batch_size": choice(10, 20, 50, 100, 200, 300, 500, 1000),
    "hidden_size": choice(300, 400),
}
CONTINUOUS_SPACE = {"learning_rate": uniform(0.001, 0.1), **DISCRETE}
GRID_SPACE = {"learning_rate": choice(0.001, 0.003, 0.01, 0.03, 0.1), **DISCRETE}


def accuracy(values: dict[str, Any]) -> float:
    """The synthetic surface (see the module docstring); its maximum is ``OPTIMUM``."""
    lr, batch = values["learning_rate"], values["batch_size"]
    lr_best = 0.008 * math.sqrt(batch / 50)
    acc = (
        OPTIMUM
        - 0.06 * math.log10(lr / lr_best) ** 2
        - 0.004 * math.log2(batch / 50) ** 2
        - 0.006 * (values["num_epochs"] == 10)
        - 0.003 * (values["hidden_size"] == 300)
    )
    return max(acc, 0.05)


METHODS: dict[str, Callable[[], Any]] = {
    "Random": lambda: RandomParameterSampling(CONTINUOUS_SPACE),
    "Grid": lambda: GridParameterSampling(GRID_SPACE),
    "Bayesian": lambda: BayesianParameterSampling(CONTINUOUS_SPACE),
}


def trials_to_target(sampling: Any, seed: int, budget: int) -> tuple[int, float]:
    """Trials until the first one within 1 % of the optimum (budget + 1 if none), and the
    seconds spent sampling (ask + tell, not the objective)."""
    study = sampling.create_study(PrimaryMetricGoal.MAXIMIZE, seed=seed)
    spent = 0.0
    for n in range(1, budget + 1):
        if sampling.is_exhausted(study):
            break
        start = time.perf_counter()
        trial, values = sampling.ask(study)
        spent += time.perf_counter() - start
        value = accuracy(values)
        start = time.perf_counter()
        study.tell(trial, value)
        spent += time.perf_counter() - start
        if value >= TARGET:
            return n, spent
    return budget + 1, spent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--budget", type=int, default=80)
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    parser.add_argument(
        "--lr-range",
        type=float,
        nargs=2,
        metavar=("LO", "HI"),
        help="learning_rate uniform bounds for Random and Bayesian (default 0.001 0.1; the "
        "lab itself wrote uniform(1e-5, 1))",
    )
    args = parser.parse_args()
    if args.lr_range:
        CONTINUOUS_SPACE["learning_rate"] = uniform(*args.lr_range)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]

    results: dict[str, list[int]] = {m: [] for m in methods}
    seconds: dict[str, float] = dict.fromkeys(methods, 0.0)
    began = time.perf_counter()
    print(
        f"trials to reach accuracy >= {TARGET:.3f} (optimum {OPTIMUM}), budget {args.budget}, "
        f"learning_rate {CONTINUOUS_SPACE['learning_rate']}"
    )
    print(f"{'seed':>4}  " + "  ".join(f"{m:>9}" for m in methods), flush=True)
    for seed in range(args.seeds):
        row = []
        for method in methods:
            n, spent = trials_to_target(METHODS[method](), seed, args.budget)
            results[method].append(n)
            seconds[method] += spent
            row.append(f"{n if n <= args.budget else f'>{args.budget}':>9}")
        print(f"{seed:>4}  " + "  ".join(row), flush=True)

    print()
    print(
        f"{'method':<10}{'median':>8}{'mean':>8}{'best':>6}{'worst':>7}{'missed':>8}{'s/trial':>9}"
    )
    for method in methods:
        ns = results[method]
        missed = sum(n > args.budget for n in ns)
        per_trial = seconds[method] / max(1, sum(min(n, args.budget) for n in ns))
        print(
            f"{method:<10}{statistics.median(ns):>8.1f}{statistics.mean(ns):>8.1f}{min(ns):>6}"
            f"{max(ns):>7}{missed:>8}{per_trial:>9.3f}"
        )
    baseline = statistics.median(results["Random"]) if "Random" in results else None
    if baseline:
        print()
        for method in methods:
            speedup = baseline / statistics.median(results[method])
            print(f"{method:<10} {speedup:.2f}x fewer trials than Random (median)")
    print(f"\ntotal {time.perf_counter() - began:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
