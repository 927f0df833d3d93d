"""Summary of ``disorder`` results: sampler moments against their exact values."""

from __future__ import annotations

import sys

import numpy as np

from .load import load_points
from .stats import mean_sem


def main(argv=None):
    path = argv[0]
    job, points = load_points(path, engine="disorder")
    print(f"{'point':>5} {'J':>6} {'W':>6} {'R':>4} {'N<V²>':>16} {'J²':>8} {'<h²>':>16} {'J²(1/N)Σn²':>11}")
    for p in points:
        if len(p.records) < 2:
            continue
        J = p.params["J"]
        v = mean_sem([r["V_var_N"] for r in p.records])
        h = mean_sem([r["shift_msq"] for r in p.records])
        e = np.mean([r["shift_msq_expected_per_J2"] for r in p.records]) * J ** 2
        print(f"{p.index:5d} {J:6.3g} {p.params['W']:6.3g} {len(p.records):4d} "
              f"{v[0]:9.4f} ± {v[1]:.4f} {J ** 2:8.4f} {h[0]:9.4f} ± {h[1]:.4f} {e:11.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
