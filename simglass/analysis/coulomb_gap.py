"""Coulomb gap of the t = 0 glass from ``mc`` results (Eq. 14; reference values in simglass/analysis/reference.py).

P(phi) is the disorder average of (1/N) Σ_i δ(phi - phi_i), phi relative to mu.  Its
low-field form P(phi) = alpha |phi| / J² + b |phi|³ / J⁴ is fitted, per system size, by
least squares to the folded density of x = |phi|/J, g(x) = 2 alpha x + 2 b x³ (bin
averages of both terms), on the window x_lo(N) <= x <= x_hi in ``n_fit_bins`` bins:

    x_lo(N) = c_lo / sqrt(N)   (above the 1/sqrt(N) rounding, c_lo = 2 by default)
    x_hi    = 0.3              (the documented window, fixed before the production runs)

``curvature=False`` fits the linear law alone (through the origin).  Errors: bootstrap
over realisations.  From a results file the window edges are exact; from a compact
table (analysis.compact, columns absphi_k: counts of |phi|/J in bins of width FINE_BIN)
they are rounded to that grid.

Window systematics and extrapolation (issue 21, ``alpha_windows``, ``extrapolate``): the
curvature fit on every window c_lo ∈ WINDOW_C_LO, x_hi ∈ WINDOW_X_HI that spans a
factor MIN_SPAN or more (on narrower windows alpha and b are not separable); per window a
weighted fit alpha(N) = alpha_inf + a/sqrt(N) over the sizes; the largest change of the
central value over the windows is the systematic error, and so is the change of
alpha_inf when the smallest size is left out (the finite-size form).

    python -m simglass.analysis.coulomb_gap results/coulomb_gap.h5 [more.h5 | data/x.csv ...] --out results/coulomb_gap
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import written
from .plotting import pyplot, save
from .reference import ALPHA_THEORY, SK_FIELD_SLOPE
from .stats import bootstrap, mean_sem, weighted_line

__all__ = ["AlphaFit", "AlphaExtrapolation", "fit_alpha", "fit_alpha_counts", "absphi_counts", "energies",
           "alpha_windows", "extrapolate", "analyze", "min_size", "ALPHA_THEORY"]

C_LO, X_HI, N_FIT_BINS = 2.0, 0.3, 8
WINDOW_C_LO = (1.0, 2.0, 3.0)
WINDOW_X_HI = (0.2, 0.3, 0.4, 0.5)
MIN_SPAN = 2.0                    # window scan: x_hi >= MIN_SPAN * x_lo (α and b need a range)
FINE_BIN, FINE_MAX = 0.005, 0.5   # grid of the |phi|/J counts kept in compact tables
# the columns of alpha.csv (explained in docs/tutorials/first_job.md; tests/test_docs.py keeps the two equal)
ALPHA_CSV_COLUMNS = ("N", "realizations", "curvature", "c_lo", "x_lo", "x_hi", "alpha", "alpha_err", "b", "b_err",
                     "chi2_dof")


@dataclass
class AlphaFit:
    """Fit of one size: alpha (and b with ``curvature``) with bootstrap errors; window
    [x_lo, x_hi] in units of J; chi2_dof of the fitted law with per-bin standard errors."""
    N: int
    realizations: int
    alpha: float
    alpha_err: float
    x_lo: float
    x_hi: float
    chi2_dof: float
    b: float = 0.0
    b_err: float = 0.0
    curvature: bool = False


def _basis(edges, curvature):
    """(bins, 1 or 2) bin averages of 2x and 2x³ on the bins ``edges``."""
    a, b = edges[:-1], edges[1:]
    cols = [a + b]
    if curvature:
        cols.append((b ** 4 - a ** 4) / (2 * (b - a)))
    return np.column_stack(cols)


def _fit(g, edges, N, curvature, n_boot):
    """Fit the (realisations, bins) folded densities ``g`` on ``edges``."""
    A = _basis(edges, curvature)

    def coef(gs):
        return np.linalg.lstsq(A, gs.mean(axis=0), rcond=None)[0]

    c, err = bootstrap(coef, g, n_boot=n_boot)
    err = np.broadcast_to(err, c.shape)
    gm, ge = mean_sem(g)
    ok = ge > 0  # bins empty in every realisation carry no error estimate
    dof = ok.sum() - A.shape[1]
    chi2 = (np.sum(((gm - A @ c)[ok] / ge[ok]) ** 2) / max(dof, 1) if len(g) > 1 else np.nan)
    b, b_err = (float(c[1]), float(err[1])) if curvature else (0.0, 0.0)
    return AlphaFit(int(N), len(g), float(c[0]), float(err[0]), float(edges[0]), float(edges[-1]),
                    float(chi2), b, b_err, curvature)


def _window(N, c_lo, x_hi):
    x_lo = c_lo / np.sqrt(N)
    if not x_lo < x_hi:
        raise ValueError(f"fit window empty for N = {N}: x_lo = c_lo/sqrt(N) = {x_lo:.3g} >= x_hi = {x_hi}")
    return x_lo


def fit_alpha(phis, J: float, c_lo: float = C_LO, x_hi: float = X_HI, n_fit_bins: int = N_FIT_BINS,
              n_boot: int = 1000, curvature: bool = False) -> AlphaFit:
    """Fit from the fields of several realisations of one size.

    phis : list of (N,) arrays phi_i - mu (units of J); J : coupling scale.
    Window [c_lo/sqrt(N), x_hi] in units of J, ``n_fit_bins`` equal bins.  Raises
    ValueError if the window is empty."""
    phis = [np.asarray(p) for p in phis]
    N = phis[0].size
    edges = np.linspace(_window(N, c_lo, x_hi), x_hi, n_fit_bins + 1)
    g = np.empty((len(phis), n_fit_bins))
    for k, phi in enumerate(phis):
        h, _ = np.histogram(np.abs(phi) / J, bins=edges)
        g[k] = h / (phi.size * np.diff(edges))
    return _fit(g, edges, N, curvature, n_boot)


def absphi_counts(phi, J: float) -> np.ndarray:
    """(FINE_MAX/FINE_BIN,) counts of |phi|/J in bins of width FINE_BIN from 0: the
    columns absphi_k of a compact table."""
    n = int(round(FINE_MAX / FINE_BIN))
    return np.histogram(np.abs(np.asarray(phi)) / J, bins=np.arange(n + 1) * FINE_BIN)[0]


def fit_alpha_counts(counts, N: int, c_lo: float = C_LO, x_hi: float = X_HI,
                     n_fit_bins: int = N_FIT_BINS, n_boot: int = 1000, curvature: bool = False) -> AlphaFit:
    """Fit from per-realisation counts on the FINE_BIN grid ((realisations, bins), N sites
    each): the window edges are rounded to the grid and its bins grouped into
    ``n_fit_bins`` nearly equal bins.  Raises ValueError if the window is empty or
    beyond the grid."""
    counts = np.asarray(counts, float)
    lo = int(round(_window(N, c_lo, x_hi) / FINE_BIN))
    hi = int(round(x_hi / FINE_BIN))
    if hi > counts.shape[1]:
        raise ValueError(f"x_hi = {x_hi} lies beyond the counted range {counts.shape[1] * FINE_BIN:g}")
    if hi - lo < n_fit_bins:
        raise ValueError(f"window {lo * FINE_BIN:g}-{hi * FINE_BIN:g} holds fewer than n_fit_bins = "
                         f"{n_fit_bins} bins of {FINE_BIN}")
    groups = np.array_split(np.arange(lo, hi), n_fit_bins)
    edges = np.array([grp[0] for grp in groups] + [hi]) * FINE_BIN
    g = np.column_stack([counts[:, grp].sum(axis=1) for grp in groups]) / (N * np.diff(edges))
    return _fit(g, edges, N, curvature, n_boot)


def energies(paths) -> list:
    """[(N, realisations, mean E/(NJ), standard error)] per size of mc results files or
    compact tables (E the canonical energy of the state found)."""
    return _energies(_by_size(paths))


def _energies(sizes):
    return [(N, len(e), *map(float, mean_sem(e))) for N, _, _, _, e in sizes if len(e) >= 2]


def _by_size(paths):
    """[(N, J, counts (R, bins), phis or None, E/(NJ) per realisation)] per size, ascending
    N; ``phis`` the fields of every realisation when all inputs hold them (results files)."""
    from .compact import load_any
    from .load import lattice_key
    _, points = load_any(paths, "mc")
    sizes = {}
    for p in points:
        N, J = int(np.prod(lattice_key(p.params))), float(p.params["J"])
        s = sizes.setdefault((N, J), ([], [], []))
        for rec in p.records:
            s[2].append(rec["energy"] / (N * J))
            if "phi" in rec:
                s[0].append(absphi_counts(rec["phi"], J))
                s[1].append(np.asarray(rec["phi"]))
            else:
                nb = sum(1 for k in rec if k.startswith("absphi_"))
                if nb == 0:
                    raise ValueError("records without fields: the input has neither 'phi' nor absphi_k columns")
                s[0].append(np.array([rec[f"absphi_{k}"] for k in range(nb)]))
                s[1].append(None)
    out = []
    for (N, J), (counts, phis, e) in sorted(sizes.items()):
        if not counts:
            continue
        exact = all(ph is not None for ph in phis)
        out.append((N, J, np.array(counts, float), phis if exact else None, e))
    return out


def _fit_size(N, J, counts, phis, c_lo, x_hi, curvature, n_boot=1000):
    if phis is not None:
        return fit_alpha(phis, J, c_lo, x_hi, curvature=curvature, n_boot=n_boot)
    return fit_alpha_counts(counts, N, c_lo, x_hi, curvature=curvature, n_boot=n_boot)


def _fits(sizes, c_lo, x_hi, curvature, n_boot=1000, min_span=1.0):
    """Fits of the sizes with 2+ realisations and a window c_lo/sqrt(N) * min_span < x_hi."""
    out = []
    for N, J, counts, phis, _ in sizes:
        if len(counts) < 2 or not c_lo / np.sqrt(N) * min_span < x_hi:
            continue
        try:
            out.append(_fit_size(N, J, counts, phis, c_lo, x_hi, curvature, n_boot))
        except ValueError:   # no window above the rounding at this N
            continue
    return out


def min_size(c_lo: float = C_LO, x_hi: float = X_HI, span: float = MIN_SPAN) -> int:
    """The smallest number of sites N whose window [c_lo/sqrt(N), x_hi] spans more than a
    factor ``span`` (N > (span c_lo / x_hi)²): the smallest size with a curvature fit
    on that window (span = MIN_SPAN), or with any fit (span = 1).  178 for the central
    window (C_LO, X_HI).

    Raises ValueError unless c_lo, x_hi and span are > 0."""
    if not (c_lo > 0 and x_hi > 0 and span > 0):
        raise ValueError(f"c_lo, x_hi and span must be > 0, got {c_lo!r}, {x_hi!r}, {span!r}")
    return int(np.floor((span * c_lo / x_hi) ** 2)) + 1


def _notes(sizes, windows, plain=False) -> list[str]:
    """Why the figure's slope panel (and the printed summary) lacks a fit or the N -> ∞
    extrapolation at these sizes: one sentence per missing piece, none when complete
    (``plain``: ASCII, for the terminal)."""
    root, ge, inf, law = (("sqrt(N)", ">=", "-> infinity", "alpha|phi| + b|phi|^3") if plain else
                          ("√N", "≥", "→ ∞", "α|φ| + b|φ|³"))
    fitted = [N for N, _, counts, _, _ in sizes if len(counts) >= 2]
    if not fitted:
        return ["no size has 2 or more realisations: nothing to fit"]
    central = windows.get((C_LO, X_HI), [])
    n_min = min_size()
    if not central:
        used = " (the slope panel and the extrapolation use it)" if plain else ""
        return [f"no {law} fit on the central window [{C_LO:g}/{root}, {X_HI:g}] J{used}: it needs x_hi {ge} "
                f"{MIN_SPAN:g} x_lo, i.e. N {ge} {n_min} (sizes here: N = {', '.join(map(str, fitted))})"]
    if len(central) < 3:
        return [f"no N {inf} extrapolation: it needs 3 or more sizes with N {ge} {n_min} "
                f"(here: N = {', '.join(str(f.N) for f in central)})"]
    return []


def alpha_windows(paths, c_values=WINDOW_C_LO, x_hi_values=WINDOW_X_HI, n_boot=500) -> dict:
    """{(c_lo, x_hi): [AlphaFit per size]} of the curvature fit on every window that
    spans a factor MIN_SPAN or more at that size."""
    return _windows(_by_size(paths), c_values, x_hi_values, n_boot)


def _windows(sizes, c_values=WINDOW_C_LO, x_hi_values=WINDOW_X_HI, n_boot=500):
    return {(c, x): _fits(sizes, c, x, True, n_boot, MIN_SPAN) for c in c_values for x in x_hi_values}


@dataclass
class AlphaExtrapolation:
    """alpha_inf = lim alpha(N) from alpha(N) = alpha_inf + a/sqrt(N), curvature fits.

    alpha_inf, stat : central window (C_LO, X_HI), weighted fit over all sizes;
    sys_window : largest change of alpha_inf over the windows; sys_form : its change
    when the smallest size is left out; sys : the two in quadrature; slope : a;
    per_window :
    {(c_lo, x_hi): (alpha_inf, stat, chi2_dof, sizes)}."""
    alpha_inf: float
    stat: float
    sys_window: float
    sys_form: float
    sys: float
    chi2_dof: float
    slope: float
    sizes: list
    per_window: dict = field(default_factory=dict)


def _line(fits):
    N = np.array([f.N for f in fits], float)
    a0, slope, cov, chi2 = weighted_line(N ** -0.5, np.array([f.alpha for f in fits]),
                                         np.array([f.alpha_err for f in fits]))
    return float(a0), float(np.sqrt(cov[0, 0])), float(chi2), float(slope)


def extrapolate(windows: dict) -> AlphaExtrapolation:
    """Extrapolation of the curvature fits of ``alpha_windows`` (3+ sizes per window).
    Raises ValueError if the central window has fewer than 3 sizes."""
    per = {}
    for key, fits in windows.items():
        if len(fits) >= 3:
            per[key] = (*_line(fits)[:3], [f.N for f in fits])
    central = windows.get((C_LO, X_HI), [])
    if len(central) < 3:
        raise ValueError(f"the extrapolation needs 3+ sizes on the central window ({C_LO:g}/√N, {X_HI:g}); "
                         f"got {len(central)}")
    a0, err, chi2, slope = _line(central)
    sys_w = max(abs(v[0] - a0) for v in per.values())
    sys_f = abs(_line(central[1:])[0] - a0) if len(central) >= 4 else 0.0
    return AlphaExtrapolation(a0, err, sys_w, sys_f, float(np.hypot(sys_w, sys_f)), chi2, slope,
                              [f.N for f in central], per)


def analyze(paths, out: str | None = None, c_lo: float = C_LO, x_hi: float = X_HI,
            curvature: bool = False):
    """alpha per system size on one window (list of AlphaFit; sizes with c_lo/sqrt(N) >= x_hi
    have no fit window and are left out).  ``paths``: one or more results files (.h5) or
    compact tables (.csv) of engine mc.  With ``out``, alpha.csv (columns
    ALPHA_CSV_COLUMNS: first this window's fits, then the curvature fits of every window
    of the scan) and coulomb_gap.png, whose slope panel says why a fit or the N -> ∞
    extrapolation is missing (N < min_size(), fewer than 3 such sizes).

    Raises InputError or ValueError for inputs that are not mc results or compact tables."""
    sizes = _by_size(paths)
    fits = _fits(sizes, c_lo, x_hi, curvature)
    if out is not None and sizes:
        windows = _windows(sizes)
        _write(Path(out), sizes, fits, c_lo, windows, _extrapolated(windows))
    return fits


def _extrapolated(windows):
    try:
        return extrapolate(windows)
    except ValueError:
        return None


def _write(out, sizes, fits, c_lo, windows, ext):
    """alpha.csv (this window's fits and every window's curvature fits) and coulomb_gap.png."""
    out.mkdir(parents=True, exist_ok=True)
    with written(out / "alpha.csv") as fh:
        fh.write(",".join(ALPHA_CSV_COLUMNS) + "\n")
        rows = [(c_lo, f) for f in fits] + [(c, f) for (c, _), fs in windows.items() for f in fs]
        for c, f in rows:
            fh.write(f"{f.N},{f.realizations},{int(f.curvature)},{c:g},{f.x_lo:.4g},{f.x_hi:.4g},"
                     f"{f.alpha:.6g},{f.alpha_err:.3g},{f.b:.6g},{f.b_err:.3g},{f.chi2_dof:.3g}\n")
    _figure(sizes, windows, ext, out / "coulomb_gap.png")


def _figure(sizes, windows, ext, path):
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    x = (np.arange(int(round(FINE_MAX / FINE_BIN))) + 0.5) * FINE_BIN
    for N, J, counts, _, _ in sizes:
        if len(counts) < 2:
            continue
        P = counts / (2 * N * FINE_BIN)            # P(phi) J at |phi|/J = x, both signs folded
        m, e = mean_sem(P)
        a1.errorbar(x, m, yerr=e, fmt=".", ms=2, lw=0.6, label=f"N = {N} ({len(counts)} real.)")
    a1.plot([0, 0.45], [0, 0.45 * ALPHA_THEORY], "k--", label=r"$\alpha|\phi|/J^2$, $\alpha$ = 1.24")
    a1.set_xlim(0, FINE_MAX)
    a1.set_ylim(bottom=0)
    a1.set_xlabel(r"$|\phi - \mu|/J$")
    a1.set_ylabel(r"$J\,P(\phi)$")
    a1.set_title("Low-field distribution, t = 0, n = 1/2")
    a1.legend(fontsize=7)
    central = windows.get((C_LO, X_HI), [])
    if central:
        Ns = np.array([f.N for f in central])
        a2.errorbar(Ns ** -0.5, [f.alpha for f in central], yerr=[f.alpha_err for f in central], fmt="o",
                    capsize=3, label=f"α|φ| + b|φ|³ on [{C_LO:g}/√N, {X_HI:g}]")
        for (c, xh), fs in windows.items():
            if (c, xh) != (C_LO, X_HI) and fs:
                a2.plot([f.N ** -0.5 for f in fs], [f.alpha for f in fs], "-", color="0.7", lw=0.7)
        a2.plot([], [], "-", color="0.7", lw=0.7, label="other windows")
    if ext is not None:
        xs = np.linspace(0, min(ext.sizes) ** -0.5, 20)
        a0 = ext.alpha_inf
        a2.plot(xs, a0 + ext.slope * xs, "C0-", lw=0.8)
        a2.errorbar([0], [a0], yerr=[np.hypot(ext.stat, ext.sys)], fmt="s", color="C3", capsize=3,
                    label=f"N → ∞: {a0:.3f} ± {ext.stat:.3f} ± {ext.sys:.3f}")
    a2.axhline(ALPHA_THEORY, color="k", ls="--", label="Eq. 14: 1.24")
    a2.axhspan(4 * 0.30, 4 * SK_FIELD_SLOPE, color="0.9", label="SK literature 4 × (0.30–0.31)")
    notes = _notes(sizes, windows)
    if notes:     # say in the panel why no fit (or no extrapolation) is drawn
        import textwrap
        text = "\n\n".join(textwrap.fill(n.replace(" ≥ ", "\u00a0≥\u00a0").replace("N, ", "N,\u00a0"), 52) for n in notes)
        a2.text(0.5, 0.04, text, transform=a2.transAxes, ha="center", va="bottom", fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "ec": "0.6"})
    a2.set_xlabel(r"$1/\sqrt{N}$")
    a2.set_ylabel(r"$\alpha$")
    if not central:
        a2.set_ylim(0.8, 1.6)
        if sizes:
            a2.set_xlim(right=1.1 * min(N for N, *_ in sizes) ** -0.5)
    a2.set_xlim(left=-0.002)
    a2.set_title("Coulomb-gap slope")
    a2.legend(fontsize=7)
    save(fig, path)


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.coulomb_gap", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results", nargs="+", help="results files (.h5) or compact tables (.csv) of engine mc")
    ap.add_argument("--out", help="directory for alpha.csv and coulomb_gap.png")
    ap.add_argument("--c-lo", type=float, default=C_LO, help="window start c_lo/sqrt(N) (units of J)")
    ap.add_argument("--x-hi", type=float, default=X_HI, help="window end (units of J)")
    a = ap.parse_args(argv)
    if not (a.x_hi > 0 and a.c_lo >= 0):
        print(f"error: the window needs --c-lo >= 0 and --x-hi > 0, got {a.c_lo:g} and {a.x_hi:g}", file=sys.stderr)
        return 2
    from simglass.options import InputError
    try:
        sizes = _by_size(a.results)          # read once; every fit below uses these
    except (InputError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    fits = _fits(sizes, a.c_lo, a.x_hi, False)
    curved = _fits(sizes, a.c_lo, a.x_hi, True, min_span=MIN_SPAN)   # as in the figure and alpha.csv
    windows = _windows(sizes)
    ext = _extrapolated(windows)
    if a.out and sizes:
        _write(Path(a.out), sizes, fits, a.c_lo, windows, ext)
    print(f"{'N':>6} {'R':>4} {'alpha':>8} {'err':>7} {'window [J]':>14} {'chi2/dof':>8}   "
          f"{'alpha(+b)':>9} {'err':>7} {'b':>7} {'chi2/dof':>8}")
    for f in fits:
        g = next((h for h in curved if h.N == f.N), None)
        tail = f"   {g.alpha:9.4f} {g.alpha_err:7.4f} {g.b:7.3f} {g.chi2_dof:8.2f}" if g else ""
        print(f"{f.N:6d} {f.realizations:4d} {f.alpha:8.4f} {f.alpha_err:7.4f} "
              f"{f.x_lo:6.3f}-{f.x_hi:5.3f} {f.chi2_dof:8.2f}{tail}")
    unfitted = [N for N, _, counts, _, _ in sizes if len(counts) >= 2 and not any(f.N == N for f in fits)]
    if unfitted:
        print(f"no fit for N = {', '.join(map(str, unfitted))}: the window [{a.c_lo:g}/sqrt(N), {a.x_hi:g}] J "
              f"is empty below N = {min_size(a.c_lo, a.x_hi, 1)}")
    few = [N for N, _, counts, _, _ in sizes if len(counts) < 2]
    if few:
        print(f"no fit for N = {', '.join(map(str, few))}: it needs 2 or more realisations")
    lacking = [f.N for f in fits if not any(g.N == f.N for g in curved)]
    if lacking and (a.c_lo, a.x_hi) != (C_LO, X_HI):    # on the central window: _notes below says it
        print(f"alpha(+b): the alpha|phi| + b|phi|^3 fit needs x_hi >= {MIN_SPAN:g} x_lo, i.e. N >= "
              f"{min_size(a.c_lo, a.x_hi)} on this window; not fitted for N = {', '.join(map(str, lacking))}")
    print("energy per site of the states found: " + ", ".join(
        f"N = {N}: {m:.5f} +- {e:.5f} J" for N, _, m, e in _energies(sizes)))
    for note in _notes(sizes, windows, plain=True):
        print(note)
    if ext is not None:
        print("alpha_inf (alpha + b|phi|^3 fits, alpha(N) = alpha_inf + a/sqrt(N)) per window:")
        for (c, x), (a0, err, chi2, Ns) in sorted(ext.per_window.items()):
            print(f"  [{c:g}/sqrt(N), {x:g}]: {a0:.4f} +- {err:.4f}  chi2/dof {chi2:.2f}  N = {Ns}")
        form = (f"without N = {ext.sizes[0]}: {ext.sys_form:.4f}" if len(ext.sizes) >= 4
                else "the finite-size form is not tested: that needs 4 or more sizes")
        print(f"alpha_inf = {ext.alpha_inf:.4f} +- {ext.stat:.4f} (stat) +- {ext.sys:.4f} (sys: windows "
              f"{ext.sys_window:.4f}, {form})")
    print(f"theory (Eq. 14): alpha = {ALPHA_THEORY:.2f}; SK literature 4 x (0.30-0.31) = 1.20-1.24")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
