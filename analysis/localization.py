"""Localisation from ``hartree`` results: <r> against a scanned parameter x (J or W)
for each lattice size, crossings with bootstrap errors, DOS curves, W_J (Eq. 16).

<r> at a point is the mean over converged, stable realisations of the per-realisation
mean of the gap ratios near mu (engine docstring); its error is the standard error over
realisations.  Flagged realisations (unconverged, or a saddle point of E_H: ``stable``
false) are counted per point and left out, never averaged silently.
The crossing of sizes L_a < L_b is the root of a weighted straight-line fit of
<r>_b - <r>_a against x on a window (default: every scanned x but the two end points,
which anchor the limits); its error is the bootstrap over realisations at every point.

    python -m analysis.localization results/localization_scan.h5 --x J --out DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .load import load_points
from .plotting import pyplot, save
from .stats import mean_sem

R_POISSON, R_GOE, R_CRIT = 0.3863, 0.5307, 0.516
ALPHA = 1.24


def _size(params):
    return tuple(params["L"]) if isinstance(params["L"], list) else (params["L"],)


def usable(rec) -> bool:
    """A converged solution that is not a saddle point (files from before the stability
    check have no ``stable`` and count as stable)."""
    return bool(rec["converged"]) and bool(rec.get("stable", True))


def r_table(points, x: str):
    """{size: (x values, list of per-realisation r_mean arrays, n_flagged)}."""
    table = {}
    for p in points:
        if not p.records:
            continue
        rs = np.array([rec["r_mean"] for rec in p.records if usable(rec)])
        bad = sum(1 for rec in p.records if not usable(rec))
        xs, samples, unconv = table.setdefault(_size(p.params), ([], [], []))
        xs.append(p.params[x] / (p.params["t"] or 1.0))
        samples.append(rs)
        unconv.append(bad)
    for k, (xs, samples, unconv) in table.items():
        order = np.argsort(xs)
        table[k] = (np.array(xs)[order], [samples[i] for i in order], np.array(unconv)[order])
    return table


def crossing(xs, ra, rb, window=None):
    """Root of a straight-line least-squares fit of d(x) = mean(rb) - mean(ra) over the
    points with x in ``window`` = (lo, hi) (default: all but the smallest and largest x,
    which anchor the metallic and insulating limits), weighted by the standard errors;
    nan if the fitted line has no root inside the window.  ra, rb: lists of
    per-realisation samples at each x."""
    xs = np.asarray(xs, float)
    lo, hi = window if window is not None else (xs.min(), xs.max())
    inner = (xs >= lo) & (xs <= hi)
    if window is None and xs.size > 3:
        inner &= (xs > xs.min()) & (xs < xs.max())
    d, w, x = [], [], []
    for k in np.flatnonzero(inner):
        a, b = ra[k], rb[k]
        if len(a) > 1 and len(b) > 1:
            d.append(np.mean(b) - np.mean(a))
            w.append(1 / np.sqrt(np.var(a, ddof=1) / len(a) + np.var(b, ddof=1) / len(b) + 1e-30))
            x.append(xs[k])
    if len(x) < 2:
        return np.nan
    slope, icpt = np.polyfit(x, d, 1, w=w)
    root = -icpt / slope if slope != 0 else np.nan
    return root if min(x) <= root <= max(x) else np.nan


def crossing_bootstrap(xs, ra, rb, n_boot=500, seed=0, window=None):
    """(crossing, bootstrap std, fraction of resamples with a crossing in the window)."""
    x0 = crossing(xs, ra, rb, window)
    rng = np.random.default_rng(seed)
    res = lambda s: [a[rng.integers(0, len(a), len(a))] if len(a) else a for a in s]  # noqa: E731
    boots = np.array([crossing(xs, res(ra), res(rb), window) for _ in range(n_boot)])
    ok = np.isfinite(boots)
    err = boots[ok].std(ddof=1) if ok.sum() > 1 else np.nan
    return x0, err, ok.mean()


def analyze(path, x="J", out=None, window=None):
    job, points = load_points(path, engine="hartree")
    table = r_table(points, x)
    sizes = sorted(table, key=lambda s: np.prod(s))
    rows = []
    for s in sizes:
        xs, samples, unconv = table[s]
        for xv, smp, u in zip(xs, samples, unconv):
            m, e = mean_sem(smp) if len(smp) else (np.nan, np.nan)
            rows.append((s, xv, len(smp), int(u), float(m), float(e)))
    crossings = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        xa, sa, _ = table[a]
        xb, sb, _ = table[b]
        common = np.intersect1d(xa, xb)
        ia = [list(xa).index(v) for v in common]
        ib = [list(xb).index(v) for v in common]
        c, err, frac = crossing_bootstrap(common, [sa[i] for i in ia], [sb[i] for i in ib], window=window)
        crossings.append((a, b, c, err, frac))
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "r_mean.csv", "w") as fh:
            fh.write(f"size,{x}_over_t,realizations,flagged,r_mean,r_err\n")
            for s, xv, n, u, m, e in rows:
                fh.write(f"{'x'.join(map(str, s))},{xv:.6g},{n},{u},{m:.6f},{e:.6f}\n")
        _figure(table, sizes, crossings, x, out / "r_mean.png")
        _dos_figure(points, x, out / "dos.png")
    return rows, crossings


def w_j(points):
    """Measured W_J = 1/P(phi = ±t) from the Hartree-field histograms, per point, with
    Eq. 16's J²/(alpha t): list of (size, J/t, W_J, err, theory)."""
    out = []
    for p in points:
        recs = [r for r in p.records if usable(r)]
        if len(recs) < 2 or p.params["t"] <= 0:
            continue
        t, J = p.params["t"], p.params["J"]
        edges = recs[0]["dos_edges"]
        w = np.diff(edges)
        bins = [np.searchsorted(edges, v) - 1 for v in (-t, t)]
        if min(bins) < 0 or max(bins) >= w.size:
            continue
        P = np.array([np.mean([r["phi_hist"][b] / (r["fields"].size * w[b]) for b in bins]) for r in recs])
        m, e = mean_sem(P)
        if m > 0:
            out.append((_size(p.params), J / t, 1 / m, e / m ** 2, J ** 2 / (ALPHA * t)))
    return out


def ipr_table(points, x="J", fraction=0.1):
    """Disorder-averaged IPR Σ_i |psi(i)|⁴ of the ``fraction`` of levels nearest mu, per
    size and x: list of (size, N, x/t, mean IPR, error, N * IPR).  Extended states have
    IPR ~ 1/N (N * IPR constant in L), localised ones IPR independent of N."""
    out = []
    for p in points:
        recs = [r for r in p.records if usable(r)]
        if len(recs) < 2:
            continue
        vals = []
        for r in recs:
            N = r["levels"].size
            K = max(8, int(round(fraction * N)))
            nf = int(round(r["density"].sum()))
            lo = int(np.clip(nf - K // 2, 0, N - K))
            vals.append(r["ipr"][lo:lo + K].mean())
        m, e = mean_sem(vals)
        out.append((_size(p.params), N, p.params[x] / (p.params["t"] or 1.0), float(m), float(e), float(N * m)))
    return out


def _figure(table, sizes, crossings, x, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for s in sizes:
        xs, samples, _ = table[s]
        m = [np.mean(v) if len(v) else np.nan for v in samples]
        e = [np.std(v, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan for v in samples]
        ax.errorbar(xs, m, yerr=e, fmt="o-", ms=3, capsize=2, label="L = " + "x".join(map(str, s)))
    ax.axhline(R_POISSON, color="gray", ls=":", label="Poisson 0.386")
    ax.axhline(R_GOE, color="gray", ls="--", label="GOE 0.531")
    for a, b, c, err, _ in crossings:
        if np.isfinite(c):
            ax.axvspan(c - (err if np.isfinite(err) else 0), c + (err if np.isfinite(err) else 0),
                       color="C3", alpha=0.15)
    ax.set_xlabel(f"{x}/t")
    ax.set_ylabel(r"$\langle r\rangle$ (levels near $\mu$)")
    ax.set_title("Level statistics of the Hartree levels")
    ax.legend(fontsize=8)
    save(fig, path)


def _dos_figure(points, x, path):
    """rho(E - mu) per site for each x at the largest size (Fig. 3 analogue)."""
    plt = pyplot()
    big = max((np.prod(_size(p.params)) for p in points if p.records), default=None)
    if big is None:
        return
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for p in points:
        recs = [r for r in p.records if usable(r)]
        if np.prod(_size(p.params)) != big or not recs:
            continue
        edges = recs[0]["dos_edges"]
        c = 0.5 * (edges[1:] + edges[:-1])
        rho = np.array([r["dos_hist"] / (r["levels"].size * np.diff(edges)) for r in recs])
        m, e = mean_sem(rho)
        t = p.params["t"] or 1.0
        ax.errorbar(c / t, m * t, yerr=e * t, fmt="-", lw=1, label=f"{x}/t = {p.params[x] / t:g}")
    ax.set_xlabel(r"$(E - \mu)/t$")
    ax.set_ylabel(r"$t\,\rho(E)$ per site")
    ax.set_title("Hartree density of states, L = " + "x".join(map(str, next(
        _size(p.params) for p in points if np.prod(_size(p.params)) == big))))
    ax.legend(fontsize=7)
    save(fig, path)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m analysis.localization", description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--x", default="J", choices=["J", "W"], help="scanned parameter (in units of t)")
    ap.add_argument("--out", help="directory for r_mean.csv, r_mean.png, dos.png")
    ap.add_argument("--window", type=float, nargs=2, metavar=("LO", "HI"),
                    help="x range of the crossing fit (default: all but the end points)")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    try:
        rows, crossings = analyze(a.results, a.x, a.out, a.window)
        _, points = load_points(a.results, engine="hartree")
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{'size':>10} {a.x + '/t':>7} {'R':>4} {'unconv':>6} {'<r>':>8} {'err':>7}")
    for s, xv, n, u, m, e in rows:
        print(f"{'x'.join(map(str, s)):>10} {xv:7.3g} {n:4d} {u:6d} {m:8.4f} {e:7.4f}")
    for a_, b_, c, err, frac in crossings:
        print(f"crossing {'x'.join(map(str, a_))} / {'x'.join(map(str, b_))}: {a.x}/t = {c:.3f} +- {err:.3f} "
              f"(crossing found in {100 * frac:.0f} % of bootstrap samples)")
    for s, N, xv, m, e, nm in ipr_table(points, a.x):
        print(f"IPR near mu {'x'.join(map(str, s))} {a.x}/t={xv:g}: {m:.4g} +- {e:.2g}  (N*IPR = {nm:.3g})")
    if a.x == "J":
        for s, jt, wj, e, th in w_j(points):
            print(f"W_J {'x'.join(map(str, s))} J/t={jt:g}: 1/P(phi=t) = {wj:.3f} +- {e:.3f} t; Eq. 16 J^2/(1.24 t) = {th:.3f} t")
    return 0


if __name__ == "__main__":
    sys.exit(main())
