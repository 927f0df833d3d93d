"""Finite-size crossings of a per-realisation diagnostic y against a scanned parameter x
(issue 16): the localisation analyses (Anderson W_c, Hartree (J/t)_c,loc) use it.

Data: for each lattice size, a matrix Y[realisation, x] (NaN where a task is missing or
flagged).  A realisation index carries the same random numbers at every x of a scan
(simglass.sample_disorder scales one draw by J or W), so bootstrap resampling takes whole
rows: the realisations are resampled jointly across x, independently for each size.

The crossing of sizes a < b is the root of a weighted straight-line least-squares fit of
d(x) = <y>_b - <y>_a over the points with x in a window (default: all), weighted by the
standard errors of d; NaN when the line has no root inside the window.

The estimate: the crossing of the two largest sizes, with its bootstrap standard
deviation as the statistical error; the systematic error combines the drift
|x_c(largest pair) - x_c(next pair)| of the crossings with size (a finite-size
correction that the sizes do not resolve) and the shift of the root when the straight
line is fitted to the 4 scanned x nearest the crossing only (the curvature of d(x));
error = statistical and systematic in quadrature.

Beyond the largest pair: analysis.scaling_fit fits all sizes at once to the scaling form
with an irrelevant correction (Slevin & Ohtsuki, PRL 82, 382 (1999)), giving x_c, nu and
the irrelevant exponent y; ``crossing_extrapolation`` extrapolates the pair crossings in L
(x_inf + a L^-w, or x_inf + a/L + b/L²), with the covariance of neighbouring crossings
from ``joint_crossing_bootstrap``; ``systematic_spread`` turns the estimates of several
analysis choices into a central value with a statistical and a systematic error.
``paired_crossing_shift`` compares the crossings of two scans on the same realisations
(e.g. T = 0 and T > 0), the bootstrap drawing the same realisations in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stats import weighted_line

__all__ = ["SizeData", "Crossing", "Estimate", "size_table", "restrict", "crossing", "pair_crossings",
           "estimate", "mean_err", "Extrapolation", "crossing_extrapolation",
           "joint_crossing_bootstrap", "Spread", "systematic_spread", "Flow", "scaling_flow", "CrossingShift",
           "paired_crossing_shift"]


@dataclass
class SizeData:
    """One lattice size: x (n_x,) ascending, Y (n_realisations, n_x) with NaN for missing
    or flagged tasks, flagged (n_x,) counts of flagged tasks per x; rows: the realisation
    key of each row of Y ((source, index) from ``size_table``; empty when not known)."""
    size: tuple
    x: np.ndarray
    Y: np.ndarray
    flagged: np.ndarray
    rows: tuple = ()

    def mean_err(self):
        """Mean and standard error over the realisations present, per x."""
        return mean_err(self.Y)


def mean_err(Y):
    """Mean (n_x,), standard error (n_x,) and count (n_x,) of the finite entries of each
    column of Y (n_realisations, n_x); NaN where fewer than 1 (mean) or 2 (error)."""
    Y = np.asarray(Y, float)
    n = np.sum(np.isfinite(Y), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.nanmean(np.where(n > 0, Y, 0.0), axis=0)
        m[n == 0] = np.nan
        e = np.array([np.nanstd(c, ddof=1) if k > 1 else np.nan for c, k in zip(Y.T, n)])
        return m, e / np.sqrt(np.maximum(n, 1)), n


@dataclass
class Crossing:
    a: tuple
    b: tuple
    x: float          # NaN: no root in the window
    err: float        # bootstrap standard deviation over resamples with a root
    found: float      # fraction of bootstrap resamples with a root in the window
    window_shift: float = np.nan   # |x - the root of the fit on the 4 x nearest x| (curvature)


@dataclass
class Estimate:
    x: float
    stat: float
    sys: float
    error: float
    pair: tuple       # the two sizes of the crossing
    note: str         # the systematic error's origin, or why there is no crossing

    def line(self, x: str) -> str:
        """One line for the terminal: value, errors and note, or "no crossing: WHY"."""
        if not np.isfinite(self.x):
            return f"no crossing: {self.note}"
        return (f"{x}/t = {self.x:.3f} +- {self.stat:.3f} (stat) +- {self.sys:.3f} (sys) = "
                f"{self.x:.3f} +- {self.error:.3f}; {self.note}")


def size_table(points, value, x, usable, size=None):
    """{size: SizeData} from analysis.load points: ``value(rec)`` of the records with
    ``usable(rec)``, others counted as flagged (a usable record with a NaN value, e.g.
    ln g at t = 0, is NaN in Y but not flagged); x = params[x] / t (t = 1 when t = 0).
    Points may come from several inputs (pieces of a scan run with different seeds):
    a realisation is identified by (``point.source``, index), source 0 when unset.
    ``size(params)``: the size key, default analysis.load.lattice_key."""
    from .load import lattice_key
    size = size or lattice_key
    raw = {}
    for p in points:
        xv = p.params[x] / (p.params["t"] or 1.0)
        d = raw.setdefault(size(p.params), {}).setdefault(xv, {})
        src = getattr(p, "source", 0)
        for r, rec in zip(p.realizations, p.records):
            d[(src, r)] = (value(rec), True) if usable(rec) else (np.nan, False)
    out = {}
    for s, by_x in raw.items():
        xs = np.array(sorted(by_x))
        reals = sorted({r for v in by_x.values() for r in v})
        Y = np.full((len(reals), xs.size), np.nan)
        flagged = np.zeros(xs.size, int)
        pos = {r: i for i, r in enumerate(reals)}
        for j, xv in enumerate(xs):
            for r, (v, ok) in by_x[xv].items():
                Y[pos[r], j] = v
                flagged[j] += not ok
        out[s] = SizeData(s, xs, Y, flagged, tuple(reals))
    return dict(sorted(out.items(), key=lambda kv: np.prod(kv[0])))


def crossing(x, ya, yb, window=None):
    """Root of the weighted straight-line fit of d = mean(yb) - mean(ya) against x over
    ``window`` = (lo, hi) (default: all x); ya, yb (n_real, n_x) with NaN allowed; NaN
    when fewer than two usable points or the root lies outside the window.  A point
    whose values have no spread at either size (a bootstrap resample of few realisations
    that drew one realisation every time) has no error to weight it by and is left out."""
    x = np.asarray(x, float)
    lo, hi = window if window is not None else (x.min(), x.max())
    d, w, xs = [], [], []
    for j in np.flatnonzero((x >= lo) & (x <= hi)):
        a, b = ya[:, j][np.isfinite(ya[:, j])], yb[:, j][np.isfinite(yb[:, j])]
        if a.size > 1 and b.size > 1:
            var = a.var(ddof=1) / a.size + b.var(ddof=1) / b.size
            if not var > 0:
                continue
            d.append(b.mean() - a.mean())
            w.append(1 / np.sqrt(var))
            xs.append(x[j])
    if len(xs) < 2:
        return np.nan
    icpt, slope, _, _ = weighted_line(xs, d, 1 / np.asarray(w))
    root = -icpt / slope if slope != 0 else np.nan
    return float(root) if min(xs) <= root <= max(xs) else np.nan


def _common(da, db):
    xs = np.intersect1d(da.x, db.x)
    return xs, da.Y[:, np.searchsorted(da.x, xs)], db.Y[:, np.searchsorted(db.x, xs)]


def restrict(table, window):
    """The ``size_table`` with only the x inside ``window`` = (lo, hi) (all of it for
    None); sizes left with no x are dropped."""
    if window is None:
        return table
    lo, hi = window
    out = {}
    for s, d in table.items():
        m = (d.x >= lo) & (d.x <= hi)
        if m.any():
            out[s] = SizeData(d.size, d.x[m], d.Y[:, m], d.flagged[m], d.rows)
    return out


def pair_crossings(table, n_boot=500, seed=0, window=None):
    """Crossings of successive sizes of a ``size_table`` (on their common x), each with
    the bootstrap over realisations (rows resampled jointly across x, each size
    independently).  Returns a list of Crossing, smallest pair first."""
    sizes = list(table)
    rng = np.random.default_rng(seed)
    out = []
    for sa, sb in zip(sizes[:-1], sizes[1:]):
        xs, ya, yb = _common(table[sa], table[sb])
        x0 = crossing(xs, ya, yb, window)
        boots = np.array([crossing(xs, ya[rng.integers(0, len(ya), len(ya))],
                                   yb[rng.integers(0, len(yb), len(yb))], window)
                          for _ in range(n_boot)])
        ok = np.isfinite(boots)
        err = float(boots[ok].std(ddof=1)) if ok.sum() > 1 else np.nan
        shift = np.nan
        if np.isfinite(x0) and xs.size > 4:
            near = np.sort(xs[np.argsort(np.abs(xs - x0))[:4]])
            shift = abs(crossing(xs, ya, yb, (near[0], near[-1])) - x0)
        out.append(Crossing(sa, sb, x0, err, float(ok.mean()) if n_boot else np.nan, shift))
    return out


@dataclass
class CrossingShift:
    """The crossing of sizes a < b in two scans on the same realisations (e.g. T = 0 and
    T > 0): x_first, x_second and shift = x_second - x_first (NaN without a root), err the
    bootstrap standard deviation of the shift over the resamples where both have a root
    (found: their fraction), realizations the number of realisations paired per size."""
    a: tuple
    b: tuple
    x_first: float
    x_second: float
    shift: float
    err: float
    found: float
    realizations: tuple


def paired_crossing_shift(first, second, n_boot=500, seed=0, window=None):
    """The shift of the pair crossings of ``second`` against ``first`` (two ``size_table``
    with realisation keys, ``SizeData.rows``), paired on the realisations the two share at
    each size: a bootstrap resample draws the shared realisations of each size (sizes
    independently, as ``pair_crossings``) and uses the same draw in both scans, so
    disorder common to both cancels in the shift.  Crossings on the x common to the four
    curves of a pair, and on the tasks present and unflagged in both scans (a task
    flagged in one is left out of both).  Returns a list of CrossingShift over the successive sizes common to
    both, smallest first.  Raises ValueError when a table has no realisation keys."""
    sizes = [s for s in first if s in second]
    aligned = {}
    for s in sizes:
        fa, fb = first[s], second[s]
        if not fa.rows or not fb.rows:
            raise ValueError(f"size {s}: the tables carry no realisation keys (SizeData.rows), so they cannot be paired")
        shared = sorted(set(fa.rows) & set(fb.rows))
        pa, pb = {r: i for i, r in enumerate(fa.rows)}, {r: i for i, r in enumerate(fb.rows)}
        aligned[s] = (shared, fa, fb, [pa[r] for r in shared], [pb[r] for r in shared])
    rng = np.random.default_rng(seed)
    out = []
    for sa, sb in zip(sizes[:-1], sizes[1:]):
        xs = np.intersect1d(np.intersect1d(first[sa].x, first[sb].x), np.intersect1d(second[sa].x, second[sb].x))
        cols = {}
        for s in (sa, sb):
            _, fa, fb, ra, rb = aligned[s]
            ya, yb = fa.Y[:, np.searchsorted(fa.x, xs)][ra], fb.Y[:, np.searchsorted(fb.x, xs)][rb]
            gap = np.isnan(ya) | np.isnan(yb)          # a task flagged or missing in one scan: left out of both
            cols[s, 0], cols[s, 1] = np.where(gap, np.nan, ya), np.where(gap, np.nan, yb)

        def roots(ia, ib):
            return [crossing(xs, cols[sa, k][ia], cols[sb, k][ib], window) for k in (0, 1)]
        na, nb = len(aligned[sa][0]), len(aligned[sb][0])
        if min(na, nb) < 2:             # nothing to pair at one of the sizes
            out.append(CrossingShift(sa, sb, np.nan, np.nan, np.nan, np.nan, 0.0, (na, nb)))
            continue
        x0, x1 = roots(np.arange(na), np.arange(nb))
        boots = np.array([roots(rng.integers(0, na, na), rng.integers(0, nb, nb)) for _ in range(n_boot)]).reshape(-1, 2)
        d = boots[:, 1] - boots[:, 0]
        ok = np.isfinite(d)
        out.append(CrossingShift(sa, sb, x0, x1, x1 - x0, float(d[ok].std(ddof=1)) if ok.sum() > 1 else np.nan,
                                 float(ok.mean()) if n_boot else np.nan, (na, nb)))
    return out


@dataclass
class Flow:
    """The finite-size flow of a diagnostic y (e.g. <ln g>) between sizes a < b at one x:
    y_mid = (<y>_a + <y>_b) / 2 and beta = (<y>_b - <y>_a) / ln(L_b / L_a), with standard
    errors (the sizes' realisations are independent: errors add in quadrature)."""
    a: tuple
    b: tuple
    x: float
    y_mid: float
    y_err: float
    beta: float
    beta_err: float


def scaling_flow(table) -> list:
    """beta = d<y>/d ln L of successive sizes of a ``size_table`` at each common x
    (Abrahams, Anderson, Licciardello & Ramakrishnan, PRL 42, 673 (1979), with y = <ln g>:
    beta > 0 the conductance grows with L (metallic at these sizes), beta < 0 it falls
    (localising); where one-parameter scaling holds, the points of all pairs lie on one
    curve beta(y), whose zero is the critical <ln g>).  L is the linear size, the
    geometric mean of the extents.  Returns a list of Flow, smallest pair first,
    x ascending; points where either size has fewer than two usable realisations are left out."""
    sizes = list(table)
    out = []
    for sa, sb in zip(sizes[:-1], sizes[1:]):
        xs, ya, yb = _common(table[sa], table[sb])
        (ma, ea, na), (mb, eb, nb) = mean_err(ya), mean_err(yb)
        dl = np.log(np.prod(sb) / np.prod(sa)) / len(sb)
        for j, xv in enumerate(xs):
            if na[j] > 1 and nb[j] > 1:
                err = float(np.hypot(ea[j], eb[j]))
                out.append(Flow(sa, sb, float(xv), float(0.5 * (ma[j] + mb[j])), 0.5 * err,
                                float((mb[j] - ma[j]) / dl), err / dl))
    return out


def estimate(crossings, n_sizes=None) -> Estimate:
    """x_c from the crossing of the largest pair; statistical error its bootstrap
    deviation; systematic error the drift from the next smaller pair and the shift of
    the root when the fit uses only the 4 x nearest it (the curvature of d(x)), in
    quadrature (the drift is NaN with only one pair: the note says so).  Without a
    crossing x is NaN and the note says why (``n_sizes``: the number of sizes, for it)."""
    if not crossings:
        why = {0: "no size", 1: "one size"}.get(n_sizes, "fewer than two sizes")
        return Estimate(np.nan, np.nan, np.nan, np.nan, (), why)
    last = crossings[-1]
    if not np.isfinite(last.x):
        return Estimate(np.nan, np.nan, np.nan, np.nan, (last.a, last.b),
                        f"the {_name(last)} curves do not cross in the scanned range")
    shift = last.window_shift if np.isfinite(last.window_shift) else 0.0
    if len(crossings) > 1 and np.isfinite(crossings[-2].x) and np.isfinite(last.x):
        drift = abs(last.x - crossings[-2].x)
        note = (f"systematic: drift {drift:.3f} from the {_name(crossings[-2])} crossing "
                f"{crossings[-2].x:.3f}, fit window {shift:.3f}")
    else:
        drift = np.nan
        note = (f"systematic: fit window {shift:.3f} only; size drift not estimated "
                "(one pair of sizes with a crossing)")
    sys = float(np.hypot(drift, shift)) if np.isfinite(drift) else shift
    err = float(np.hypot(last.err, sys))
    return Estimate(last.x, last.err, sys, err, (last.a, last.b), note)


def _name(c):
    return f"L = {c.a[0]}/{c.b[0]}"


# --- Extrapolation of the pair crossings in L ---

@dataclass
class Extrapolation:
    """x_c(L_eff) fitted by one form: "power" x_inf + a L^-w (w fixed by the caller, or
    free) or "poly2" x_inf + a/L + b/L²; ``params``/``errors`` by name; ``L``, ``x``
    (n,) the crossings used."""
    form: str
    x_inf: float
    err: float
    chi2: float
    dof: int
    params: dict
    errors: dict
    L: np.ndarray
    x: np.ndarray


def _size_L(s):
    return float(s[0]) if isinstance(s, tuple) else float(s)


def _gls(X, y, C):
    """Generalised least squares y = X beta with covariance C (n, n): (beta, cov of beta,
    chi²)."""
    Lc = np.linalg.cholesky(C)
    Xw, yw = np.linalg.solve(Lc, X), np.linalg.solve(Lc, y)
    beta, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    cov = np.linalg.pinv(Xw.T @ Xw)
    return beta, cov, float(np.sum((yw - Xw @ beta) ** 2))


def _extrapolation(form, names, beta, cov, chi2, L, x):
    err = np.sqrt(np.clip(np.diag(cov), 0, None))
    return Extrapolation(form, float(beta[0]), float(err[0]), chi2, int(L.size - beta.size),
                         dict(zip(names, map(float, beta))), dict(zip(names, map(float, err))), L, x)


def _power_free(L, x, C):
    """x_inf + a L^-w with w free: starts from the best of a grid of fixed w, then
    nonlinear least squares on the whitened residuals; errors from the Jacobian."""
    from scipy.optimize import least_squares
    Lc = np.linalg.cholesky(C)
    grid = [(w, *_gls(np.c_[np.ones_like(L), L ** -w], x, C)) for w in np.linspace(0.25, 6.0, 24)]
    w0, b0, _, _ = min(grid, key=lambda g: g[3])
    res = least_squares(lambda p: np.linalg.solve(Lc, p[0] + p[1] * L ** -p[2] - x), np.r_[b0, w0],
                        bounds=([-np.inf, -np.inf, 1e-3], [np.inf, np.inf, 50.0]))
    cov = np.linalg.pinv(res.jac.T @ res.jac)
    return _extrapolation("power (w free)", ("x_inf", "a", "w"), res.x, cov, float(2 * res.cost), L, x)


def crossing_extrapolation(crossings, sizes=None, forms=("power",), omegas=(), cov=None,
                           l_eff="geometric") -> list[Extrapolation]:
    """Extrapolate pair crossings x_c(L_a, L_b) to L -> infinity.

    crossings : list of Crossing (only those with finite x and err are used);
    sizes : the size keys or L values allowed (a crossing is used when both its sizes
    are), default all; L_eff = sqrt(L_a L_b) (``l_eff="geometric"``, default) or
    (L_a + L_b) / 2 (``"mean"``), L = size[0].
    forms : "power" gives x_inf + a L^-w for each w in ``omegas`` (fixed: a linear fit,
    e.g. w = 1/nu + y) and, with >= 4 crossings, with w free; "poly2" gives
    x_inf + a/L + b/L² (>= 3 crossings).  Forms with too few crossings are left out.
    cov : optional (n_crossings, n_crossings) covariance of the crossings in the order of
    ``crossings`` (e.g. ``np.cov`` of ``joint_crossing_bootstrap``); default diagonal
    err².  Generalised weighted least squares; the errors are the ones propagated from
    the covariance (not scaled by chi²/dof)."""
    keep = [k for k, c in enumerate(crossings) if np.isfinite(c.x) and np.isfinite(c.err) and c.err > 0]
    if sizes is not None:
        allowed = {_size_L(s) for s in sizes}
        keep = [k for k in keep if _size_L(crossings[k].a) in allowed and _size_L(crossings[k].b) in allowed]
    La = np.array([_size_L(crossings[k].a) for k in keep])
    Lb = np.array([_size_L(crossings[k].b) for k in keep])
    L = np.sqrt(La * Lb) if l_eff == "geometric" else 0.5 * (La + Lb)
    x = np.array([crossings[k].x for k in keep])
    C = np.diag([crossings[k].err ** 2 for k in keep]) if cov is None else np.asarray(cov, float)[np.ix_(keep, keep)]
    out = []
    if "power" in forms:
        for w in omegas:
            if L.size >= 2:
                beta, cb, chi2 = _gls(np.c_[np.ones_like(L), L ** -w], x, C)
                out.append(_extrapolation(f"power (w = {w:.3g})", ("x_inf", "a"), beta, cb, chi2, L, x))
                out[-1].params["w"], out[-1].errors["w"] = float(w), 0.0
        if L.size >= 4:
            out.append(_power_free(L, x, C))
    if "poly2" in forms and L.size >= 3:
        beta, cb, chi2 = _gls(np.c_[np.ones_like(L), 1 / L, 1 / L ** 2], x, C)
        out.append(_extrapolation("poly2", ("x_inf", "a", "b"), beta, cb, chi2, L, x))
    return out


def joint_crossing_bootstrap(table, n_boot=200, seed=0, window=None):
    """Crossings of all successive size pairs per bootstrap resample (n_boot, n_pairs),
    NaN where a pair has no root in the window.  Each resample draws the rows of each
    size once and uses them in both pairs the size belongs to, so neighbouring crossings
    keep their covariance: ``np.cov(B[np.isfinite(B).all(1)], rowvar=False)`` is the
    ``cov`` of ``crossing_extrapolation``."""
    sizes = list(table)
    rng = np.random.default_rng(seed)
    pairs = [_common(table[sa], table[sb]) for sa, sb in zip(sizes[:-1], sizes[1:])]
    out = np.full((n_boot, len(pairs)), np.nan)
    for t in range(n_boot):
        rows = [rng.integers(0, len(table[s].Y), len(table[s].Y)) for s in sizes]
        for k, (xs, ya, yb) in enumerate(pairs):
            out[t, k] = crossing(xs, ya[rows[k]], yb[rows[k + 1]], window)
    return out


# --- Systematic spread over analysis choices ---

@dataclass
class Spread:
    x: float          # the primary estimate (first in the list)
    stat: float       # its statistical error
    sys: float        # half the full range of the x values of all choices
    error: float      # stat and sys in quadrature
    note: str


def systematic_spread(estimates) -> Spread:
    """estimates : list of (label, x_inf, stat_err), the primary choice first.  The
    systematic error is (max - min) / 2 over the finite x_inf; the note lists every
    choice with its value."""
    if not estimates:
        return Spread(np.nan, np.nan, np.nan, np.nan, "no estimates")
    _, x0, s0 = estimates[0]
    xs = np.array([e[1] for e in estimates], float)
    fin = xs[np.isfinite(xs)]
    sys = float((fin.max() - fin.min()) / 2) if fin.size else np.nan
    note = "; ".join(f"{lab}: {x:.4g} ± {s:.2g}" + (" (primary)" if k == 0 else "")
                     for k, (lab, x, s) in enumerate(estimates))
    return Spread(float(x0), float(s0), sys, float(np.hypot(s0, sys)), f"systematic = half range of {note}")
