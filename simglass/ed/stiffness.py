"""Charge stiffness from twisted boundary conditions (issue 8).

A twist θ along the periodic direction a (phase θ/L_a per bond, or θ on the boundary
bonds: the same up to a gauge) shifts every momentum k_a by θ/L_a.  The stiffness is

    D = (L_a² / 2N) ∂²E0/∂θ² |_{θ=0}  =  (1/2N) ∂²E0/∂φ²,   φ = θ/L_a (phase per bond),

intensive (energy per site, units of t); for a chain (N = L) this is Kohn's
D = (N/2) ∂²E0/∂θ².  A metal keeps D finite, an insulator has D -> 0 exponentially in L.
On small clusters the sign of D alternates with the shell structure (an open shell at
θ = 0 prefers θ = π: D < 0, the parity effect of rings), so the phase sensitivity

    D_φ = (L_a² / 2N) |E0(π/2) - E0(0)|

(equal to D when E0(θ) = E0(0) + A(1 - cos θ)) is reported as well; it is >= 0, and its
logarithm is the quantity to average over disorder.  (θ = π/2 rather than π: for an odd
L_a at half filling free fermions have E0(π) = E0(0) exactly, since the shift by π/L_a
maps the set of cos k_a onto its negative.)
E0(θ) is even in θ (V and eps are real), so the second derivative comes from E0 at
θ = 0, h, 2h: X(h) = 2[E0(h) - E0(0)]/h² = E0'' + E0'''' h²/12 + ..., Richardson
D ∝ [4 X(h) - X(2h)]/3 with error O(h⁴); the reported error |X(h) - X(2h)|/3 is the
size of the removed h² term, an upper estimate of what is left.

Hartree: "frozen" keeps the Hartree potential of θ = 0 and sums the N_f lowest levels of
h(θ) (the single-particle, Thouless-type response); "reconverged" solves the Hartree
equations again at every θ (warm start from the θ = 0 density) and uses E_H(θ).
Thouless number: g = <|ε_n(θ=π) - ε_n(0)|> / Δ over the levels nearest μ (frozen
potential, ε_n by index), Δ their mean spacing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Stiffness", "curvature", "ed_stiffness", "hartree_stiffness", "thouless_number",
           "twist_direction"]


@dataclass
class Stiffness:
    D: float          # (L_a²/2N) ∂²E0/∂θ², units of t
    error: float      # finite-difference error estimate
    energies: tuple   # E0 at θ = 0, h, 2h
    h: float
    D_phase: float = float("nan")  # (L_a²/2N) |E0(π/2) - E0(0)|
    residual: float = 0.0          # ED: max ||H psi - E psi|| over the ground states used
    converged: bool = True         # ED: every ground state met its tolerance


def twist_direction(lattice, direction=None) -> int:
    """The direction to twist (``Lattice.twist_direction``; kept here for callers)."""
    return lattice.twist_direction(direction)


def curvature(energy, h, L, N) -> Stiffness:
    """Stiffness from ``energy(theta)`` (total twist) by the Richardson formula above.

    Raises ValueError for a step h that is not finite and > 0.
    """
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"h must be a finite twist > 0, got {h!r}")
    e0, e1, e2 = energy(0.0), energy(h), energy(2 * h)
    x1 = 2 * (e1 - e0) / h ** 2
    x2 = 2 * (e2 - e0) / (2 * h) ** 2
    scale = L ** 2 / (2 * N)
    return Stiffness(D=float(scale * (4 * x1 - x2) / 3), error=float(scale * abs(x1 - x2) / 3),
                     energies=(e0, e1, e2), h=float(h),
                     D_phase=float(scale * abs(energy(np.pi / 2) - e0)))


def _theta(model, a, th):
    tw = np.zeros(model.lattice.dim)
    tw[a] = th
    return tw


def ed_stiffness(model, direction=None, h=0.1, **kw) -> Stiffness:
    """Stiffness of the many-body ground state (ed.exact_ground_state, keywords passed)."""
    from .exact import exact_ground_state
    a = twist_direction(model.lattice, direction)
    solves = []

    def energy(th):
        gs = exact_ground_state(model.with_twist(_theta(model, a, th)), resolve_degeneracy=False, **kw)
        solves.append(gs)
        return gs.energy
    s = curvature(energy, h, model.lattice.shape[a], model.n_sites)
    s.residual = max(g.residual for g in solves)
    s.converged = all(g.converged for g in solves)
    return s


def _band_energy(model, density, nf):
    from .hartree import hartree_hamiltonian
    E = np.linalg.eigvalsh(hartree_hamiltonian(model, density))
    return float(E[:nf].sum()), E


def hartree_stiffness(model, solution, direction=None, h=0.1, reconverge=True, tol=1e-8):
    """(frozen, reconverged) Stiffness of a converged Hartree ``solution`` of the untwisted
    model (reconverged is None when ``reconverge`` is false; its ``error`` is NaN when a
    twisted solution did not converge)."""
    from .hartree import hartree_solve
    a = twist_direction(model.lattice, direction)
    L, N, nf = model.lattice.shape[a], model.n_sites, model.n_particles
    n0 = solution.density
    frozen = curvature(lambda th: _band_energy(model.with_twist(_theta(model, a, th)), n0, nf)[0],
                       h, L, N)
    if not reconverge:
        return frozen, None
    ok = [True]

    def energy(th):
        if th == 0:
            return solution.energy
        r = hartree_solve(model.with_twist(_theta(model, a, th)), starts=(), init_density=n0,
                          smearing=0.0, tol=tol)
        ok[0] &= r.converged
        return r.energy
    rec = curvature(energy, h, L, N)
    if not ok[0]:
        rec.error = np.nan
    return frozen, rec


def thouless_number(model, density, direction=None, fraction=0.1) -> float:
    """Edwards–Thouless g = <|ε_n(π) - ε_n(0)|>/Δ for the ``fraction`` of levels nearest
    μ (at least 4), Hartree potential of ``density`` frozen.

    Raises ValueError for a ``fraction`` outside (0, 1].
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.floating)) or not 0 < fraction <= 1:
        raise ValueError(f"fraction must be a number in (0, 1], got {fraction!r}")
    a = twist_direction(model.lattice, direction)
    nf, N = model.n_particles, model.n_sites
    _, E0 = _band_energy(model, density, nf)
    _, Epi = _band_energy(model.with_twist(_theta(model, a, np.pi)), density, nf)
    K = max(4, int(round(fraction * N)))
    lo = int(np.clip(nf - K // 2, 0, N - K))
    sel = slice(lo, lo + K)
    spacing = np.diff(E0[sel]).mean()
    return float(np.abs(Epi[sel] - E0[sel]).mean() / spacing) if spacing > 0 else np.nan
