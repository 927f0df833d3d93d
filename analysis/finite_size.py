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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .stats import weighted_line

__all__ = ["SizeData", "Crossing", "Estimate", "size_table", "crossing", "pair_crossings",
           "estimate"]


@dataclass
class SizeData:
    """One lattice size: x (n_x,) ascending, Y (n_realisations, n_x) with NaN for missing
    or flagged tasks, flagged (n_x,) counts of flagged tasks per x."""
    size: tuple
    x: np.ndarray
    Y: np.ndarray
    flagged: np.ndarray

    def mean_err(self):
        """Mean and standard error over the realisations present, per x."""
        n = np.sum(np.isfinite(self.Y), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.nanmean(np.where(n > 0, self.Y, 0.0), axis=0)
            m[n == 0] = np.nan
            e = np.array([np.nanstd(c, ddof=1) if k > 1 else np.nan for c, k in zip(self.Y.T, n)])
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
    note: str


def size_table(points, value, x, usable, size=None):
    """{size: SizeData} from analysis.load points: ``value(rec)`` of the records with
    ``usable(rec)``, others counted as flagged; x = params[x] / t (t = 1 when t = 0).
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
            d[(src, r)] = value(rec) if usable(rec) else np.nan
    out = {}
    for s, by_x in raw.items():
        xs = np.array(sorted(by_x))
        reals = sorted({r for v in by_x.values() for r in v})
        Y = np.full((len(reals), xs.size), np.nan)
        flagged = np.zeros(xs.size, int)
        pos = {r: i for i, r in enumerate(reals)}
        for j, xv in enumerate(xs):
            for r, v in by_x[xv].items():
                Y[pos[r], j] = v
                flagged[j] += not np.isfinite(v)
        out[s] = SizeData(s, xs, Y, flagged)
    return dict(sorted(out.items(), key=lambda kv: np.prod(kv[0])))


def crossing(x, ya, yb, window=None):
    """Root of the weighted straight-line fit of d = mean(yb) - mean(ya) against x over
    ``window`` = (lo, hi) (default: all x); ya, yb (n_real, n_x) with NaN allowed; NaN
    when fewer than two usable points or the root lies outside the window."""
    x = np.asarray(x, float)
    lo, hi = window if window is not None else (x.min(), x.max())
    d, w, xs = [], [], []
    for j in np.flatnonzero((x >= lo) & (x <= hi)):
        a, b = ya[:, j][np.isfinite(ya[:, j])], yb[:, j][np.isfinite(yb[:, j])]
        if a.size > 1 and b.size > 1:
            d.append(b.mean() - a.mean())
            w.append(1 / np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size + 1e-30))
            xs.append(x[j])
    if len(xs) < 2:
        return np.nan
    icpt, slope, _, _ = weighted_line(xs, d, 1 / np.asarray(w))
    root = -icpt / slope if slope != 0 else np.nan
    return float(root) if min(xs) <= root <= max(xs) else np.nan


def _common(da, db):
    xs = np.intersect1d(da.x, db.x)
    return xs, da.Y[:, np.searchsorted(da.x, xs)], db.Y[:, np.searchsorted(db.x, xs)]


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


def estimate(crossings) -> Estimate:
    """x_c from the crossing of the largest pair; statistical error its bootstrap
    deviation; systematic error the drift from the next smaller pair and the shift of
    the root when the fit uses only the 4 x nearest it (the curvature of d(x)), in
    quadrature (the drift is NaN with only one pair: the note says so)."""
    if not crossings:
        return Estimate(np.nan, np.nan, np.nan, np.nan, (), "fewer than two sizes")
    last = crossings[-1]
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
