"""Finite-size scaling with an irrelevant correction (Slevin & Ohtsuki, PRL 82, 382
(1999)): all sizes and scanned points of a ``finite_size.size_table`` fitted at once,

    <y>(x, L) = F(u1(w) L^{1/nu}, u2(w) L^{-y}),   w = x - x_c,
    u1(w) = w + Σ_{k=2..m_r} b_k w^k,   u2(w) = 1 + Σ_{k=1..m_i} c_k w^k,
    F(psi, phi) = Σ_{i=0..n_i} Σ_{j=0..n_r} a_ij psi^j phi^i,

by weighted nonlinear least squares (the standard errors of the disorder averages), with
a bootstrap that resamples whole realisations jointly across x, independently per size
(as finite_size.pair_crossings).  Pair crossings drift like L^{-(y + 1/nu)}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .finite_size import mean_err

__all__ = ["ScalingFit", "scaling_fit"]


@dataclass
class ScalingFit:
    """Result of ``scaling_fit``.  ``params`` (n_params,) in the order of ``names``:
    x_c, nu, [y], a_ij (i = 0..n_i, j = 0..n_r, row-major), b_k (k = 2..m_r), c_k
    (k = 1..m_i); ``orders`` = (n_r, n_i, m_r, m_i); errors are bootstrap standard
    deviations over the ``n_boot_ok`` resamples whose refit converged."""
    x_c: float
    nu: float
    y: float                  # NaN without correction
    x_c_err: float
    nu_err: float
    y_err: float
    chi2: float
    dof: int
    p_value: float
    params: np.ndarray
    names: tuple
    orders: tuple
    window: tuple
    correction: bool
    n_points: int
    n_boot_ok: int

    def predict(self, x, L):
        """Model mean y(x, L), broadcast over x and L."""
        return _model(self.params, np.asarray(x, float), np.asarray(L, float), self.orders, self.correction)

    def collapse(self, x, L, y=None):
        """(psi, y_c) for a collapse plot: psi = u1(x - x_c) L^(1/nu) and y_c = y minus
        the irrelevant part F(psi, phi) - F(psi, 0); ``y`` (data) broadcast with x and L,
        default the model itself (then y_c = F(psi, 0), the scaling curve)."""
        x, L = np.asarray(x, float), np.asarray(L, float)
        psi, phi = _fields(self.params, x, L, self.orders, self.correction)
        A = _unpack(self.params, self.orders, self.correction)["a"]
        full, bare = _poly(A, psi, phi), _poly(A, psi, np.zeros_like(phi))
        y = full if y is None else np.asarray(y, float)
        return psi, y - (full - bare)


def _orders(n_r, n_i, m_r, m_i, correction):
    return (n_r, n_i, m_r, m_i) if correction else (n_r, 0, m_r, 0)


def _names(orders, correction):
    n_r, n_i, m_r, m_i = orders
    return tuple(["x_c", "nu"] + (["y"] if correction else [])
                 + [f"a_{i}{j}" for i in range(n_i + 1) for j in range(n_r + 1)]
                 + [f"b_{k}" for k in range(2, m_r + 1)] + [f"c_{k}" for k in range(1, m_i + 1)])


def _unpack(p, orders, correction):
    """Named pieces of the parameter vector p: x_c, nu, y (NaN without correction),
    a (n_i + 1, n_r + 1), b (m_r - 1,) for w^2..w^m_r, c (m_i,) for w^1..w^m_i."""
    n_r, n_i, m_r, m_i = orders
    k = 3 if correction else 2
    na = (n_i + 1) * (n_r + 1)
    return {"x_c": p[0], "nu": p[1], "y": p[2] if correction else np.nan,
            "a": np.asarray(p[k:k + na]).reshape(n_i + 1, n_r + 1),
            "b": np.asarray(p[k + na:k + na + m_r - 1]), "c": np.asarray(p[k + na + m_r - 1:k + na + m_r - 1 + m_i])}


def _fields(p, x, L, orders, correction):
    """Relevant psi = u1(w) L^(1/nu) and irrelevant phi = u2(w) L^(-y) (0 without
    correction), w = x - x_c; arrays broadcast from x and L."""
    q = _unpack(p, orders, correction)
    w = x - q["x_c"]
    u1 = w + sum(b * w ** k for k, b in enumerate(q["b"], start=2))
    psi = u1 * L ** (1.0 / q["nu"])
    if not correction:
        return psi, np.zeros_like(psi)
    u2 = 1.0 + sum(c * w ** k for k, c in enumerate(q["c"], start=1))
    return psi, u2 * L ** (-q["y"]) + np.zeros_like(psi)


def _poly(A, psi, phi):
    """F = sum_ij A[i, j] psi^j phi^i."""
    return sum(A[i, j] * psi ** j * phi ** i for i in range(A.shape[0]) for j in range(A.shape[1]))


def _model(p, x, L, orders, correction):
    psi, phi = _fields(p, x, L, orders, correction)
    return _poly(_unpack(p, orders, correction)["a"], psi, phi)


def _jacobian(p, x, L, orders, correction):
    """d model / d p, shape (n_points, n_params), in the order of ``_names``: the chain
    rule through psi = u1(w) L^(1/nu) and phi = u2(w) L^(-y) (``_fields``)."""
    q = _unpack(p, orders, correction)
    n_r, n_i, m_r, m_i = orders
    w = x - q["x_c"]
    lnL = np.log(L) + np.zeros_like(w)
    Lnu = L ** (1.0 / q["nu"]) + np.zeros_like(w)
    psi, phi = _fields(p, x, L, orders, correction)
    A = q["a"]
    dF_dpsi = sum(A[i, j] * j * psi ** (j - 1) * phi ** i for i in range(n_i + 1) for j in range(1, n_r + 1))
    dF_dphi = sum(A[i, j] * i * psi ** j * phi ** (i - 1) for i in range(1, n_i + 1) for j in range(n_r + 1)) \
        + np.zeros_like(w)
    du1 = 1.0 + sum(k * b * w ** (k - 1) for k, b in enumerate(q["b"], start=2))
    cols = [-dF_dpsi * du1 * Lnu, -dF_dpsi * psi * lnL / q["nu"] ** 2]
    if correction:
        Ly = L ** (-q["y"]) + np.zeros_like(w)
        du2 = sum(k * c * w ** (k - 1) for k, c in enumerate(q["c"], start=1)) + np.zeros_like(w)
        cols[0] = cols[0] - dF_dphi * du2 * Ly
        cols.append(-dF_dphi * phi * lnL)
    cols += [psi ** j * phi ** i for i in range(n_i + 1) for j in range(n_r + 1)]
    cols += [dF_dpsi * w ** k * Lnu for k in range(2, m_r + 1)]
    if correction:
        cols += [dF_dphi * w ** k * Ly for k in range(1, m_i + 1)]
    return np.stack(cols, axis=1)


def _scaling_points(table, window, rng=None):
    """Flattened (x, L, mean, err) (n_points,) over the sizes of ``table`` and the x in
    ``window``; rows of each size's Y resampled (jointly across x) when ``rng`` is given.
    Points with fewer than two finite realisations or a zero error are left out."""
    out = []
    for s, d in table.items():
        Y = np.asarray(d.Y, float)
        if rng is not None:
            Y = Y[rng.integers(0, len(Y), len(Y))]
        m, e, _ = mean_err(Y)
        x = np.asarray(d.x, float)
        lo, hi = window if window is not None else (-np.inf, np.inf)
        ok = np.isfinite(m) & np.isfinite(e) & (e > 0) & (x >= lo) & (x <= hi)
        out.append(np.array([x[ok], np.full(ok.sum(), float(s[0])), m[ok], e[ok]]))
    return np.concatenate(out, axis=1)


def _linear_start(xc, nu, y, pts, orders, correction):
    """Parameter vector with x_c, nu, y given, b = c = 0 and the a_ij from the weighted
    linear least squares (the model is linear in them)."""
    x, L, m, e = pts
    n_r, n_i, m_r, m_i = orders
    p = np.r_[xc, nu, [y] if correction else [], np.zeros((n_i + 1) * (n_r + 1) + m_r - 1 + m_i)]
    psi, phi = _fields(p, x, L, orders, correction)
    X = np.stack([psi ** j * phi ** i for i in range(n_i + 1) for j in range(n_r + 1)], axis=1)
    a, *_ = np.linalg.lstsq(X / e[:, None], m / e, rcond=None)
    k = 3 if correction else 2
    p[k:k + a.size] = a
    return p


def _bounds(pts, n_par, correction):
    lo, hi = np.full(n_par, -np.inf), np.full(n_par, np.inf)
    lo[:2], hi[:2] = (pts[0].min(), 0.2), (pts[0].max(), 20.0)        # x_c inside the data, 0.2 < nu < 20
    if correction:
        lo[2], hi[2] = 0.05, 20.0
    return lo, hi


def _least_squares(p0, pts, orders, correction):
    from scipy.optimize import least_squares
    x, L, m, e = pts
    lo, hi = _bounds(pts, p0.size, correction)
    return least_squares(lambda p: (_model(p, x, L, orders, correction) - m) / e, np.clip(p0, lo, hi),
                         jac=lambda p: _jacobian(p, x, L, orders, correction) / e[:, None],
                         bounds=(lo, hi), x_scale="jac", method="trf")


def _best_fit(pts, x0, nu0, y0, orders, correction):
    """Lowest-chi² least-squares fit over starts x_c in x0 + (-1, 0, 1) tenths of the x
    range and (correction) y in y0 (1/2, 1, 2); a_ij started from the linear fit."""
    dx = 0.1 * (pts[0].max() - pts[0].min())
    ys = (0.5 * y0, y0, 2.0 * y0) if correction else (np.nan,)
    fits = [_least_squares(_linear_start(xc, nu0, yv, pts, orders, correction), pts, orders, correction)
            for xc in (x0 - dx, x0, x0 + dx) for yv in ys]
    return min(fits, key=lambda r: 2 * r.cost if np.all(np.isfinite(r.x)) else np.inf)


def _converged(res):
    return bool(res.success) and not np.any(res.active_mask[:3]) and np.all(np.isfinite(res.x))


def scaling_fit(table, x0, nu0=1.5, y0=2.0, n_r=2, n_i=1, m_r=1, m_i=0, window=None, correction=True,
                n_boot=200, seed=0) -> ScalingFit:
    """Finite-size scaling fit with an irrelevant correction (Slevin & Ohtsuki 1999).

    Model for the disorder average y at (x, L), w = x - x_c:
    y = F(psi, phi) = sum_{i<=n_i, j<=n_r} a_ij psi^j phi^i, psi = u1(w) L^(1/nu),
    phi = u2(w) L^(-y), u1 = w + sum_{k=2..m_r} b_k w^k, u2 = 1 + sum_{k=1..m_i} c_k w^k
    (the w coefficient of u1 and the constant of u2 are 1: all a_ij are free).  Without
    ``correction`` phi = 0 (n_i = m_i = 0) and y is NaN.

    table : {size: SizeData} (or objects with x (n_x,) and Y (n_real, n_x)); L = size[0].
    Data: per size and x in ``window`` = (lo, hi) (default all) the mean over the finite
    realisations and its standard error; weighted nonlinear least squares on all sizes
    at once, the lowest chi² over a small grid of starts (x_c around ``x0``, y around
    ``y0``; nu from ``nu0``).  x_c is bounded to the x range of the data, 0.2 < nu < 20,
    0.05 < y < 20.  Errors: std over ``n_boot`` bootstrap resamples (rows of each size's
    Y, jointly across x, each size independently) refitted from the best fit; a resample
    counts when the refit converges away from the bounds on x_c, nu, y."""
    from scipy.stats import chi2 as chi2_dist
    orders = _orders(n_r, n_i, m_r, m_i, correction)
    pts = _scaling_points(table, window)
    best = _best_fit(pts, x0, nu0, y0, orders, correction)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        r = _least_squares(best.x, _scaling_points(table, window, rng), orders, correction)
        if _converged(r):
            boots.append(r.x[:3])
    boots = np.array(boots).reshape(-1, 3)
    err = boots.std(axis=0, ddof=1) if len(boots) > 1 else np.full(3, np.nan)
    chi2, dof = float(2 * best.cost), int(pts.shape[1] - best.x.size)
    q = _unpack(best.x, orders, correction)
    return ScalingFit(float(q["x_c"]), float(q["nu"]), float(q["y"]), float(err[0]), float(err[1]),
                      float(err[2]) if correction else np.nan, chi2, dof,
                      float(chi2_dist.sf(chi2, dof)) if dof > 0 else np.nan, best.x, _names(orders, correction),
                      orders, tuple(window) if window is not None else (float(pts[0].min()), float(pts[0].max())),
                      correction, int(pts.shape[1]), len(boots))
