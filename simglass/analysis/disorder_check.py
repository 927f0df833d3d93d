"""Summary of ``disorder`` results: sampler moments against their exact values, and the
Hartree-shift variance of Eq. 26 against J² (1/N) Σ_j n_j²."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from .load import load_points
from .stats import mean_sem


@dataclass
class ShiftPoint:
    """One parameter point: N<V_ij²> (expected J²) and the Hartree-shift variance <h_i²>
    with their standard errors, and Eq. 26's expectation J² (1/N) Σ_j n_j²."""
    point: int
    J: float
    W: float
    realizations: int
    v_var_N: float
    v_var_N_err: float
    shift_msq: float
    shift_msq_err: float
    expected: float


def table(path) -> list[ShiftPoint]:
    """The points of a ``disorder`` results file with 2+ realisations."""
    job, points = load_points(path, engine="disorder")
    rows = []
    for p in points:
        if len(p.records) < 2:
            continue
        J = p.params["J"]
        v = mean_sem([r["V_var_N"] for r in p.records])
        h = mean_sem([r["shift_msq"] for r in p.records])
        e = np.mean([r["shift_msq_expected_per_J2"] for r in p.records]) * J ** 2
        rows.append(ShiftPoint(p.index, J, p.params["W"], len(p.records), float(v[0]), float(v[1]),
                               float(h[0]), float(h[1]), float(e)))
    return rows


def main(argv=None):
    path = argv[0]
    print(f"{'point':>5} {'J':>6} {'W':>6} {'R':>4} {'N<V²>':>16} {'J²':>8} {'<h²>':>16} {'J²(1/N)Σn²':>11}")
    for r in table(path):
        print(f"{r.point:5d} {r.J:6.3g} {r.W:6.3g} {r.realizations:4d} {r.v_var_N:9.4f} ± {r.v_var_N_err:.4f} "
              f"{r.J ** 2:8.4f} {r.shift_msq:9.4f} ± {r.shift_msq_err:.4f} {r.expected:11.4f}")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main, sys.argv[1:]))
