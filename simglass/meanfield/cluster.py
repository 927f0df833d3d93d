"""The clean Fermi sea of any periodic cluster in real space: its response, the saddle
point on the cluster's own momenta and its Hartree spinodal, for the small clusters of
exact diagonalisation (2x2x3, whose length-2 directions have one bond per pair, is not
an L^d grid of ``meanfield.bubble``).

For a translation-invariant cluster the real-space matrix c(Ω) = -χ⁰(iΩ) (N × N),

    c_jk(Ω) = 2 Σ_{i occupied, a empty} ψ_i(j) ψ_a(j) ψ_i(k) ψ_a(k) Δ_ai / (Δ_ai² + Ω²),

Δ_ai = ε_a - ε_i, has the eigenvalues c_q(Ω) = -Π⁰(Ω, q) of the cluster's N momenta (at
a closed-shell filling the sum does not depend on the basis chosen inside a shell).  The
saddle point's equations use only means over q at each Ω, so the eigenvalues of c(Ω)
form its bubble table (``cluster_bubble_table``); on an L^d grid it equals
``saddle.bubble_table`` (tests/test_spinodal.py).  The Hartree spinodal of a realisation
is J_s = 1/λ_max(A V₁ A) with A = c(0)^½ (``meanfield.spinodal``).

What ED measures with Eq. 42: the disorder average of (J²/N) Σ_ij χ_ij² over the
realisations, with χ the exact response of each.  Its χ holds the ladder of V
(χ = χ̄ + χ̄ V χ̄ + ...), so in the Fermi liquid at N → ∞ that average is the glass
susceptibility J² χ_SG = x/(1 - x), x = J² ⟨c²/(1 + s c)²⟩_q at Ω = 0 (the saddle
point's ``stability``, which reaches 1 at J_c; the SK relation χ_SG = χ_loc²/(1 - β²J²
χ_loc²)).  It reaches 1 where x = ½, below J_c (``coupling_at_glass_susceptibility``).
"""

from __future__ import annotations

import numpy as np

from .saddle import BubbleTable, frequency_nodes

__all__ = ["cluster_response", "cluster_bubble_table", "cluster_spinodal_samples", "glass_susceptibility_saddle",
           "coupling_at_glass_susceptibility"]


def _levels(lattice, n_particles, t):
    """(ε, ψ) of the clean cluster's hopping -t Σ_bonds (c†c + h.c.); ValueError unless
    N_f closes a shell."""
    from simglass import Model
    N = lattice.n_sites
    if isinstance(n_particles, bool) or not isinstance(n_particles, (int, np.integer)) or not 0 < n_particles < N:
        raise ValueError(f"n_particles must be an integer in 1 .. {N - 1}, got {n_particles!r}")
    model = Model(lattice, t, np.zeros((N, N)), np.zeros(N), n_particles=int(n_particles))
    E, psi = np.linalg.eigh(model.hopping_matrix().toarray())
    if E[n_particles] - E[n_particles - 1] < 1e-9 * max(abs(t), 1.0):
        raise ValueError(f"N_f = {n_particles} on the {lattice.shape} cluster is not a closed shell "
                         "(the clean response diverges at T = 0)")
    return E, psi


def cluster_response(lattice, n_particles: int, omega, t: float = 1.0) -> np.ndarray:
    """c(Ω) = -χ⁰(iΩ) of the clean periodic cluster (module docstring) at the imaginary
    frequencies ``omega`` (1-D, units of t): shape (len(omega), N, N), positive
    semidefinite.  Raises ValueError for an open shell or N_f outside 1 .. N - 1."""
    E, psi = _levels(lattice, n_particles, t)
    nf = int(n_particles)
    occ, emp = psi[:, :nf], psi[:, nf:]
    X = (occ[:, :, None] * emp[:, None, :]).reshape(psi.shape[0], -1)   # (N, pairs)
    delta = (E[nf:][None, :] - E[:nf][:, None]).ravel()
    out = []
    for w in np.atleast_1d(np.asarray(omega, dtype=float)):
        out.append((X * (2 * delta / (delta ** 2 + w ** 2))) @ X.T)
    return np.array(out)


def cluster_bubble_table(lattice, n_particles: int, t: float = 1.0, n_omega: int = 96,
                         omega_scale: float | None = None) -> BubbleTable:
    """The saddle point's bubble table of the cluster (T = 0, the nodes of
    ``saddle.frequency_nodes(t, n_omega, omega_scale)``): at each node the eigenvalues
    of c(Ω).  Use with ``saddle.critical_coupling_table``."""
    omega, weights = frequency_nodes(t, n_omega, omega_scale)
    c = np.linalg.eigvalsh(cluster_response(lattice, n_particles, omega, t))
    return BubbleTable(omega, weights, np.maximum(c, 0.0), n_particles / lattice.n_sites)


def cluster_spinodal_samples(lattice, n_particles: int, realizations, seed: int = 0,
                             t: float = 1.0) -> np.ndarray:
    """J_s/t = 1/λ_max(A V₁ A), A = c(0)^½, of each realisation r of ``realizations``
    (V₁: simglass.sample_disorder at J = 1 with ``seed``; compensation does not change
    A V₁ A, whose uniform vector is A's null vector).  Shape (len(realizations),)."""
    from simglass import sample_disorder
    lam, U = np.linalg.eigh(cluster_response(lattice, n_particles, [0.0], t)[0])
    A = (U * np.sqrt(np.maximum(lam, 0.0))) @ U.T
    out = []
    for r in realizations:
        M = A @ sample_disorder(lattice, J=1.0, seed=seed, realization=int(r)).V @ A
        out.append(1.0 / np.linalg.eigvalsh(0.5 * (M + M.T))[-1])
    return np.array(out)


def glass_susceptibility_saddle(table: BubbleTable, J: float) -> float:
    """The saddle point's J² χ_SG = x/(1 - x) of the Fermi liquid at coupling J (module
    docstring); inf at and beyond the glass instability (no Fermi-liquid solution)."""
    from .saddle import saddle_grid
    g = saddle_grid(J, table)
    if g is None or g.stability >= 1:
        return float("inf")
    return g.stability / (1 - g.stability)


def coupling_at_glass_susceptibility(table: BubbleTable, level: float = 1.0, t: float = 1.0) -> float:
    """J/t where the saddle point's J² χ_SG = x/(1 - x) equals ``level`` (> 0): x =
    level/(1 + level), between J = 0 and the glass instability J_c."""
    from scipy.optimize import brentq
    from .saddle import critical_coupling_table, saddle_grid
    if not level > 0:
        raise ValueError(f"level must be > 0, got {level!r}")
    Jc = critical_coupling_table(table, t)
    target = level / (1 + level)

    def f(J):
        g = saddle_grid(J, table)
        return (1.0 if g is None else g.stability) - target
    return float(brentq(f, 1e-6 * Jc, Jc * (1 - 1e-9), xtol=1e-10 * Jc))
