"""Grid sampling's cost per trial as the grid grows: it should barely grow with the grid.

Walks grids of --sides cubed points (three parameters) the way the sweep driver does, two
trials running at a time (``ask`` a trial, ``tell`` the older one), and prints the whole walk
and the cost per trial, median of --repeat walks each. Before the sampler read only the trials
new since its last look, the cost per trial grew with the number of trials: a 3000-point grid
(60 x 50) took 18.5 s, against 1.0 s after.

    python benchmarks/grid_scaling.py [--sides 8 10 13 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from hyperpipe.train.hyperdrive import GridParameterSampling, choice
from hyperpipe.train.hyperdrive._space import require_optuna


def walk(side: int) -> float:
    """Seconds to walk a cube of ``side`` ** 3 points (three parameters of ``side`` choices)."""
    axis = choice(*range(side))
    sampling = GridParameterSampling({"a": axis, "b": axis, "c": axis})
    study = sampling.create_study("maximize", seed=0)
    start = time.perf_counter()
    running = []
    while not sampling.is_exhausted(study):
        trial, _values = sampling.ask(study)
        running.append(trial)
        if len(running) == 2:
            study.tell(running.pop(0), 1.0)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sides", type=int, nargs="+", default=[8, 10, 13, 16])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    optuna = require_optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print(f"{'grid points':>12} {'walk (s)':>10} {'per trial (ms)':>15}")
    for side in args.sides:
        size = side**3
        seconds = statistics.median(walk(side) for _ in range(args.repeat))
        print(f"{size:12d} {seconds:10.2f} {seconds / size * 1e3:15.3f}")


if __name__ == "__main__":
    main()
