"""Summary of ``disorder`` results: sampler moments against their exact values, and the
Hartree-shift variance of Eq. 26 against J² (1/N) Σ_j n_j²."""

from __future__ import annotations

import sys

import numpy as np

from .load import load_points
from .stats import mean_sem


def table(path):
    """Per point with 2+ realisations: (point, J, W, realisations, N<V²> mean, sem,
    <h²> mean, sem, Eq. 26 expectation J² (1/N) Σ_j n_j²)."""
    job, points = load_points(path, engine="disorder")
    rows = []
    for p in points:
        if len(p.records) < 2:
            continue
        J = p.params["J"]
        v = mean_sem([r["V_var_N"] for r in p.records])
        h = mean_sem([r["shift_msq"] for r in p.records])
        e = np.mean([r["shift_msq_expected_per_J2"] for r in p.records]) * J ** 2
        rows.append((p.index, J, p.params["W"], len(p.records), float(v[0]), float(v[1]),
                     float(h[0]), float(h[1]), float(e)))
    return rows


def main(argv=None):
    path = argv[0]
    print(f"{'point':>5} {'J':>6} {'W':>6} {'R':>4} {'N<V²>':>16} {'J²':>8} {'<h²>':>16} {'J²(1/N)Σn²':>11}")
    for i, J, W, R, v, ve, h, he, e in table(path):
        print(f"{i:5d} {J:6.3g} {W:6.3g} {R:4d} {v:9.4f} ± {ve:.4f} {J ** 2:8.4f} "
              f"{h:9.4f} ± {he:.4f} {e:11.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
