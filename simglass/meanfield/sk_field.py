"""Replica-symmetric theory of the t = 0 model at n = ½: the SK model in a Gaussian random
field (docs/conventions.md, "Thermal Monte Carlo").

At W = 0 and n = ½ the classical energy in spins s = 2n − 1 is

    E = C − Σ_{i<j} J_ij s_i s_j − Σ_i h_i s_i,   J_ij = V_ij/4,   h_i = ¼ Σ_{j≠i} V_ij − ½ ε_i,

with C = ½ Σ_i ε_i − ⅛ Σ_{i≠j} V_ij (:func:`spin_representation`).  Compensated couplings (ε_i = ½ Σ_j V_ij) cancel
the fields: SK with J_SK = J/4.  Uncompensated couplings keep them; the h_i are sums of
the same V_ij, but at fixed N_f (Σ_i s_i = 0) the disorder average of the replicated
partition function is that of SK with an independent Gaussian field of variance
h² = J_SK²:  [Z^n] ∝ Σ exp(β² J_SK² N/4 Σ_{a,b} (q_ab² + 2 q_ab)) in both cases, up to
terms of relative order 1/N.

For SK (couplings of variance J²/N) in a Gaussian field of variance h², the
replica-symmetric solution (Sherrington & Kirkpatrick 1975) has, with H = √(J² q + h²),

    q = E_z tanh²(β H z),   u = −(β J²/2)(1 − q²) − β h² (1 − q)

(energy per spin; the field term by Gaussian integration by parts, E[h tanh βH'] =
β h² E[sech² βH']).  It is exact above the de Almeida–Thouless line (J. Phys. A 11, 983
(1978)), where the replicon mode turns unstable:

    (β J)² E_z sech⁴(β H z) = 1            (:func:`at_temperature`).

For h = 0 it is T_c = J with q = 0 and u = −J²/(2T) above it; for small h,
(h/J)² ≈ (4/3)(1 − T_AT/J)³.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

__all__ = ["spin_representation", "rs_overlap", "rs_energy", "at_temperature"]


def spin_representation(model):
    """(C, h) of the module docstring for a simglass.Model: the constant C (energy units)
    and the fields h (N,) of E = C − Σ_{i<j} J_ij s_i s_j − Σ_i h_i s_i, s = 2n − 1,
    J_ij = V_ij/4 (the diagonal of V, zero for the package's couplings, is left out)."""
    V = np.asarray(model.V, float)
    eps = np.asarray(model.eps, float)
    off = V.sum() - np.trace(V)
    h = (V.sum(axis=1) - np.diag(V)) / 4.0 - eps / 2.0
    return float(eps.sum() / 2.0 - off / 8.0), h


def _number(name, x):
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    return float(x)


def _check(T, J, h):
    for name, x in (("T", T), ("J", J)):
        if not (np.isfinite(_number(name, x)) and x > 0):
            raise ValueError(f"{name} must be finite and > 0, got {x!r}")
    if not (np.isfinite(_number("h", h)) and h >= 0):
        raise ValueError(f"h must be finite and >= 0, got {h!r}")


def _gauss(f, width):
    """E_z f(z) for a standard normal z, f even and varying on the scale ``width``."""
    w = min(float(width), 1.0)
    g = lambda z: f(z) * np.exp(-0.5 * z * z)                               # noqa: E731
    inner = quad(g, 0.0, 30.0 * w, limit=200, epsabs=1e-14, epsrel=1e-12)[0]
    outer = quad(g, 30.0 * w, np.inf, limit=200, epsabs=1e-14, epsrel=1e-12)[0] if w < 1.0 else 0.0
    return 2.0 * (inner + outer) / np.sqrt(2.0 * np.pi)


def _tanh2_mean(beta, J, h, q):
    a = beta * np.sqrt(J * J * q + h * h)
    return _gauss(lambda z: np.tanh(a * z) ** 2, 1.0 / max(a, 1e-300))


def rs_overlap(T: float, J: float = 1.0, h: float = 0.0) -> float:
    """The replica-symmetric q(T) of SK (coupling J) in a Gaussian field of rms h (module
    docstring); T, J, h in one energy unit.  For h = 0: 0 above T = J, the nonzero root
    below.  Raises ValueError for T, J not finite and > 0 or h not finite and >= 0."""
    _check(T, J, h)
    beta = 1.0 / T
    f = lambda q: _tanh2_mean(beta, J, h, q) - q                            # noqa: E731
    if h == 0.0:
        if T >= J:
            return 0.0
        lo = 1e-12
        while f(lo) <= 0.0:            # just below T_c the root is small; start below it
            lo *= 1e-3
            if lo < 1e-300:
                return 0.0
        return float(brentq(f, lo, 1.0, xtol=1e-15, rtol=1e-13))
    return float(brentq(f, 0.0, 1.0, xtol=1e-15, rtol=1e-13))


def rs_energy(T: float, J: float = 1.0, h: float = 0.0) -> float:
    """The replica-symmetric energy per spin u(T) = −(β J²/2)(1 − q²) − β h² (1 − q) of SK
    in a Gaussian field of rms h (module docstring; the thermodynamic limit, exact above
    ``at_temperature(J, h)``); units of J.  Raises ValueError as ``rs_overlap``."""
    q = rs_overlap(T, J, h)
    beta = 1.0 / T
    return float(-0.5 * beta * J * J * (1.0 - q * q) - beta * h * h * (1.0 - q))


def at_temperature(J: float = 1.0, h: float = 0.0) -> float:
    """The de Almeida–Thouless temperature T_AT(h) of SK (coupling J) in a Gaussian field
    of rms h: the T where (β J)² E_z sech⁴(β √(J² q + h²) z) = 1 with q = ``rs_overlap``
    (module docstring); J for h = 0.  Raises ValueError for J not finite and > 0 or h not
    finite and >= 0."""
    _check(1.0, J, h)
    if h == 0.0:
        return float(J)

    def replicon(T):
        beta = 1.0 / T
        a = beta * np.sqrt(J * J * rs_overlap(T, J, h) + h * h)
        return (beta * J) ** 2 * _gauss(lambda z: np.cosh(np.minimum(a * z, 700.0)) ** -4, 1.0 / a) - 1.0

    lo = 1e-3 * J                      # the replicon grows as 1/T for T → 0: find where it is > 0
    while replicon(lo) <= 0.0:
        lo *= 1e-2
        if lo < 1e-12 * J:
            raise ValueError(f"no de Almeida–Thouless temperature above 1e-12 J for h/J = {h / J:g}")
    return float(brentq(replicon, lo, J, xtol=1e-12 * J))
