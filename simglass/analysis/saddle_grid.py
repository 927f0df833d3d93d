"""Figures of the Fermi-liquid saddle point on an L³ momentum grid (Eqs. 38, 39, 43):
D(0) − D(Ω) near the glass instability against the free response (a finite-grid
analogue of the paper's Fig. 5; on a finite grid every Π⁰(Ω, q) is analytic in Ω², so
the |Ω|^(1/2) law of Eq. 47 needs the infinite-lattice bubble).

    python -m simglass.analysis.saddle_grid --L 6 --density 0.4444444444444444 --out DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


from .plotting import pyplot, save


def d_omega(density, t, L, fractions=(0.0, 0.5, 0.9, 0.999)):
    """J_c on the grid and, for J = f·J_c, (J, Ω, D(Ω)) with Ω > 0 quadrature nodes."""
    from simglass.meanfield import bubble_table, critical_coupling_grid, saddle_grid
    jc = critical_coupling_grid(density, t, L)
    table = bubble_table(density, t, L)
    curves = []
    for f in fractions:
        s = saddle_grid(f * jc, table)
        if s is not None:
            curves.append((f * jc, s.omega, s.D))
    return jc, curves


def figure(jc, curves, density, t, L, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for J, om, D in curves:
        m = om > 0
        ax.loglog(om[m] / t, (D[0] - D[m]) * t, "-", label=f"J = {J / jc:.3g} J_c")
    ax.set_xlabel(r"$\Omega/t$ (imaginary frequency)")
    ax.set_ylabel(r"$t\,[D(0) - D(\Omega)]$")
    ax.set_title(f"Saddle point on the {L}³ grid, n = {density:.3f}, J_c/t = {jc / t:.4f}")
    ax.legend(fontsize=8)
    save(fig, path)


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.saddle_grid", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("--L", type=int, default=6)
    ap.add_argument("--density", type=float, default=4 / 9)
    ap.add_argument("--t", type=float, default=1.0)
    ap.add_argument("--out", default=".")
    a = ap.parse_args(argv)
    try:
        jc, curves = d_omega(a.density, a.t, a.L)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    figure(jc, curves, a.density, a.t, a.L, out / "saddle_D.png")
    print(f"J_c/t = {jc / a.t:.6f} on the {a.L}^3 grid at n = {a.density:.6f}")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
