"""Coulomb gap of the t = 0 glass from ``mc`` results (Eq. 14; reference values in analysis/reference.py).

P(phi) is the disorder average of (1/N) Σ_i δ(phi - phi_i), phi relative to mu.  The
slope alpha of P(phi) = alpha |phi| / J² is fitted, per system size, by least squares
through the origin to the folded density of x = |phi|/J, g(x) = 2 alpha x, on the
window x_lo(N) <= x <= x_hi with

    x_lo(N) = c_lo / sqrt(N)   (above the 1/sqrt(N) rounding, c_lo = 2 by default)
    x_hi    = 0.3              (below the bend towards the Gaussian tail)

in ``n_fit_bins`` equal bins.  The error is a bootstrap over realisations.

    python -m analysis.coulomb_gap results/coulomb_gap.h5 --out results/coulomb_gap
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .load import load_points
from .plotting import pyplot, save
from .reference import ALPHA_THEORY
from .stats import bootstrap, mean_sem

__all__ = ["AlphaFit", "fit_alpha", "phi_distribution", "analyze", "ALPHA_THEORY"]

C_LO, X_HI, N_FIT_BINS = 2.0, 0.3, 8


@dataclass
class AlphaFit:
    N: int
    realizations: int
    alpha: float
    alpha_err: float
    x_lo: float
    x_hi: float
    chi2_dof: float  # of the linear law on the window, with per-bin standard errors


def _folded_density(phis, J, edges):
    """(realisations, bins) density of x = |phi|/J, each realisation normalised to 1."""
    out = np.empty((len(phis), edges.size - 1))
    for k, phi in enumerate(phis):
        h, _ = np.histogram(np.abs(phi) / J, bins=edges)
        out[k] = h / (phi.size * np.diff(edges))
    return out


def fit_alpha(phis, J: float, c_lo: float = C_LO, x_hi: float = X_HI,
              n_fit_bins: int = N_FIT_BINS, n_boot: int = 1000) -> AlphaFit:
    """Fit alpha from the fields of several realisations of one size (list of arrays)."""
    phis = [np.asarray(p) for p in phis]
    N = phis[0].size
    x_lo = c_lo / np.sqrt(N)
    if not x_lo < x_hi:
        raise ValueError(f"fit window empty for N = {N}: x_lo = {x_lo:.3g} >= x_hi = {x_hi}")
    edges = np.linspace(x_lo, x_hi, n_fit_bins + 1)
    x = 0.5 * (edges[1:] + edges[:-1])
    g = _folded_density(phis, J, edges)

    def slope(gs):
        return (gs.mean(axis=0) @ x) / (2 * x @ x)

    alpha, err = bootstrap(slope, g, n_boot=n_boot)
    gm, ge = mean_sem(g)
    ok = ge > 0  # bins empty in every realisation carry no error estimate
    chi2 = (np.sum(((gm - 2 * alpha * x)[ok] / ge[ok]) ** 2) / max(ok.sum() - 1, 1)
            if len(phis) > 1 else np.nan)
    return AlphaFit(N, len(phis), float(alpha), float(err), float(x_lo), float(x_hi), float(chi2))


def phi_distribution(records):
    """Disorder-averaged P(phi) from the fixed-bin histograms: (centres, P, P_err)."""
    edges = records[0]["phi_edges"]
    P = np.array([r["phi_hist"] / (r["phi"].size * np.diff(edges)) for r in records])
    m, e = mean_sem(P)
    return 0.5 * (edges[1:] + edges[:-1]), m, e


def analyze(path, out: str | None = None, c_lo: float = C_LO, x_hi: float = X_HI):
    """alpha per system size (list of AlphaFit; sizes with c_lo/sqrt(N) >= x_hi have no
    fit window and are only plotted) and, with ``out``, a figure and a CSV."""
    job, points = load_points(path, engine="mc")
    fits, curves = [], []
    for p in points:
        if len(p.records) < 2:
            continue
        J = p.params["J"]
        N = p.records[0]["phi"].size
        curves.append((N, J, phi_distribution(p.records)))
        if c_lo / np.sqrt(N) < x_hi:  # smaller N: no window above the rounding
            fits.append(fit_alpha([r["phi"] for r in p.records], J, c_lo, x_hi))
    if out is not None and curves:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "alpha.csv", "w") as fh:
            fh.write("N,realizations,alpha,alpha_err,x_lo,x_hi,chi2_dof\n")
            for f in fits:
                fh.write(f"{f.N},{f.realizations},{f.alpha:.6g},{f.alpha_err:.3g},"
                         f"{f.x_lo:.4g},{f.x_hi:.4g},{f.chi2_dof:.3g}\n")
        _figure(fits, curves, out / "coulomb_gap.png")
    return fits


def _figure(fits, curves, path):
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for N, J, (c, P, e) in curves:
        a1.errorbar(c / J, P * J, yerr=e * J, fmt=".-", ms=3, lw=0.8, label=f"N = {N}")
    xs = np.linspace(-0.5, 0.5, 3)
    a1.plot(xs, ALPHA_THEORY * np.abs(xs), "k--", label=r"$\alpha|\phi|/J^2$, $\alpha$ = 1.24")
    a1.set_xlim(-1.5, 1.5)
    a1.set_xlabel(r"$(\phi - \mu)/J$")
    a1.set_ylabel(r"$J\,P(\phi)$")
    a1.set_title("Local-field distribution, t = 0, n = 1/2")
    a1.legend(fontsize=8)
    Ns = np.array([f.N for f in fits])
    a2.errorbar(1 / np.sqrt(Ns), [f.alpha for f in fits], yerr=[f.alpha_err for f in fits],
                fmt="o", capsize=3, label="fit on window")
    a2.axhline(ALPHA_THEORY, color="k", ls="--", label="Eq. 14: 1.24")
    a2.set_xlabel(r"$1/\sqrt{N}$")
    a2.set_ylabel(r"$\alpha$")
    a2.set_xlim(left=0)
    a2.set_title("Coulomb-gap slope")
    a2.legend(fontsize=8)
    save(fig, path)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m analysis.coulomb_gap", description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--out", help="directory for alpha.csv and coulomb_gap.png")
    ap.add_argument("--c-lo", type=float, default=C_LO, help="window start c_lo/sqrt(N) (units of J)")
    ap.add_argument("--x-hi", type=float, default=X_HI, help="window end (units of J)")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    try:
        fits = analyze(a.results, a.out, a.c_lo, a.x_hi)
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{'N':>6} {'R':>4} {'alpha':>8} {'err':>7} {'window [J]':>14} {'chi2/dof':>8}")
    for f in fits:
        print(f"{f.N:6d} {f.realizations:4d} {f.alpha:8.4f} {f.alpha_err:7.4f} "
              f"{f.x_lo:6.3f}-{f.x_hi:5.3f} {f.chi2_dof:8.2f}")
    print(f"theory (Eq. 14): alpha = {ALPHA_THEORY:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
