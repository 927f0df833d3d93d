"""The previous Hartree iteration, kept as ``hartree_solve(method="mixing")`` for
comparison (benchmarks/hartree.py) and for the t = 0 and J = 0 limits.

Anderson (Pulay) mixing of the density with history ``history`` and damping ``beta``;
when the residual grows for ``patience`` iterations in a row (charge sloshing or an
oscillation) the history is dropped and beta halved (down to ``beta_min``).  With
``smearing`` > 0 the occupations are first Fermi functions at an electronic temperature
lowered stage by stage (units of ``energy_scale``), then the T = 0 aufbau.

At t = 0 the levels are the local fields and the occupations 0/1: instead of mixing,
one particle at a time moves from the highest occupied to the lowest empty field; the
fixed points are the single-particle-stable classical states.  At J = 0 (no V) h does
not depend on the density: one diagonalisation.
"""

from __future__ import annotations

import numpy as np

from .hartree import aufbau, energy_scale, finish, shifted

def fermi_level(levels, n_particles, T):
    """The chemical potential μ (energy units) with Σ_a f(E_a - μ) = n_particles, f the
    Fermi function at temperature T > 0 (bisection by brentq to 1e-14 (1 + T))."""
    from scipy.optimize import brentq

    def excess(mu):
        return (0.5 * (1 - np.tanh((levels - mu) / (2 * T)))).sum() - n_particles
    return brentq(excess, levels[0] - 40 * T - 1, levels[-1] + 40 * T + 1, xtol=1e-14 * (1 + T))


def fermi_occupations(levels, n_particles, T):
    """Fermi-Dirac occupations at temperature T > 0 with mu fixed by Σ f = n_particles."""
    mu = fermi_level(levels, n_particles, T)
    return 0.5 * (1 - np.tanh((levels - mu) / (2 * T)))


def _anderson_step(xs, fs, beta):
    if len(fs) == 1:
        return xs[-1] + beta * fs[-1]
    dF = np.array([fs[i + 1] - fs[i] for i in range(len(fs) - 1)])
    dX = np.array([xs[i + 1] - xs[i] for i in range(len(xs) - 1)])
    gamma = np.linalg.lstsq(dF.T, fs[-1], rcond=None)[0]
    return xs[-1] - dX.T @ gamma + beta * (fs[-1] - dF.T @ gamma)


def _classical_step(x, n_out, phi):
    """t = 0: a 0/1 state moves one particle, from the highest occupied field to the
    lowest empty one (the parallel aufbau map tends to 2-cycles); other states jump to
    their aufbau occupation."""
    occ = x > 0.5
    if not np.allclose(x, occ):
        return n_out
    i = np.flatnonzero(occ)[np.argmax(phi[occ])]
    j = np.flatnonzero(~occ)[np.argmin(phi[~occ])]
    x = x.copy()
    x[i], x[j] = 0.0, 1.0
    return x


def smeared_warmup(model, h0, x, T, iterations, beta=0.5, history=8):
    """``iterations`` diagonalisations of Anderson mixing with Fermi occupations at the
    electronic temperature T (energy units), from the density x; returns the last input
    density.  Not converged on purpose: it only moves a start out of a shallow basin
    (the newton method's warm-up)."""
    x = np.array(x, dtype=float)
    xs, fs = [], []
    for _ in range(iterations):
        E, psi = np.linalg.eigh(shifted(h0, -(model.V @ x)))
        f = np.abs(psi) ** 2 @ fermi_occupations(E, model.n_particles, T) - x
        xs, fs = (xs + [x.copy()])[-history:], (fs + [f])[-history:]
        x = _anderson_step(xs, fs, beta)
    return x


def smearing_schedule(T0, scale, factor=0.3, T_last=1e-4):
    """Electronic temperatures T0, T0*factor, ... above T_last*scale, then 0."""
    temps = []
    T = T0 * scale
    while T0 > 0 and T > T_last * scale:
        temps.append(T)
        T *= factor
    return temps + [0.0]


def mixing_solve(model, h0, n0, tol, max_iter, beta=0.5, history=8, patience=5, beta_min=0.02,
                 smearing=0.0, stage_iter=60, stage_tol=1e-6, temperature=0.0):
    """Mix the density from ``n0`` to self-consistency (module docstring); h0 is the dense
    -t A + diag eps.  Returns a HartreeResult (``finish``).

    ``temperature`` > 0 (energy units): solve the equations at that fixed temperature
    instead (Fermi occupations, ed.hartree_thermal), one stage without annealing
    (``smearing`` is then ignored); the result's ``occupations`` are the Fermi functions,
    its ``energy`` the internal energy Σ f E + ½ n·V·n, its ``mu`` and ``gap`` are the
    aufbau ones of ``finish`` (ed.hartree_thermal replaces μ).  At t = 0 the levels are
    the fields and the same mixing solves the mean-field equations at T."""
    nf = model.n_particles
    scale = energy_scale(model)
    deg_tol = 1e-10 * scale
    static = not np.any(model.V)  # J = 0: h does not depend on n (Anderson model)
    classical = model.t == 0
    if classical:
        smearing = 0.0
    x = np.array(n0, dtype=float)
    it, res = 0, np.inf
    beta0 = beta
    if temperature > 0:
        temps = [temperature]
    else:
        temps = smearing_schedule(smearing, scale) if not static else [0.0]
    for T in temps:
        final = T == temperature       # the last stage: converge to tol
        xs, fs, norms, beta, k = [], [], [], beta0, 0
        while True:
            h = shifted(h0, -(model.V @ x))
            E, psi = np.linalg.eigh(h)
            it += 1
            k += 1
            if T > 0:
                occ = fermi_occupations(E, nf, T)
                n_out, deg = np.abs(psi) ** 2 @ occ, False
            else:
                n_out, occ, deg = aufbau(E, psi, nf, deg_tol)
            f = n_out - x
            res = float(np.abs(f).max())
            if static:
                x, res = n_out, 0.0
                break
            if res <= (tol if final else stage_tol) or it >= max_iter or (not final and k >= stage_iter):
                break
            if classical and T == 0:
                x = _classical_step(x, n_out, h.diagonal())
                continue
            norms.append(res)
            if len(norms) > patience and all(norms[-j] > norms[-j - 1] for j in range(1, patience + 1)):
                xs, fs = [], []          # sloshing / oscillation: restart, damp harder
                beta = max(beta / 2, beta_min)
                norms = [res]
            xs.append(x.copy())
            fs.append(f)
            xs, fs = xs[-history:], fs[-history:]
            x = _anderson_step(xs, fs, beta)
        if it >= max_iter:
            break
    return finish(model, x, E, psi, occ, deg, res, tol, it)
