"""Tunnelling density of states of the many-body ground state (issue 5).

Local spectral functions from Lanczos continued fractions:

    A_i^+(w) = -Im <GS| c_i [w + i eta - (H - E0)]^-1 c†_i |GS> / pi      (addition)
    A_i^-(w) = -Im <GS| c†_i [w + i eta + (H - E0)]^-1 c_i |GS> / pi      (removal)

with w the energy of the added (removed) particle: poles at E_{N+1} - E0 and
E0 - E_{N-1}.  rho(w) = (1/N) Σ_i [A_i^+(w) + A_i^-(w)], Lorentzian broadening eta,
integrates to 1 per site (sum rule: weights 1 - <n_i> and <n_i>).  Frequencies are
returned relative to mu = (E(N+1) - E(N-1)) / 2.
"""

from __future__ import annotations

import numpy as np

from simglass.blas import blas_one_thread
from simglass.jit import njit

from .exact import exact_ground_state
from .fock import _popcount, rank_tables, sector_states
from .lanczos import csr_matvec, lanczos_coefficients

__all__ = ["tunnelling_dos", "continued_fraction"]


@njit(cache=True)
def _apply_site(states_from, amp, N, i, create, m, low, pop, high, n_to):
    """c†_i (create) or c_i applied to a vector on ``states_from``; result on the sector
    of n_to states (QuSpin order: site i = bit N-1-i, JW order = site order; index by
    the rank tables of ``ed.fock.rank_tables``)."""
    out = np.zeros(n_to)
    pos = np.uint64(N - 1 - i)
    one = np.uint64(1)
    mask = (one << np.uint64(m)) - one
    for k in range(states_from.size):
        s = states_from[k]
        occ = (s >> pos) & one
        if (create and occ) or ((not create) and not occ):
            continue
        s2 = s ^ (one << pos)
        parity = _popcount(s >> (pos + one)) & one  # occupied sites 0 .. i-1
        sl = s2 & mask
        r = n_to - 1 - (low[sl] + high[s2 >> np.uint64(m), pop[sl]])
        out[r] += -amp[k] if parity else amp[k]
    return out


def continued_fraction(z, a, b, norm2):
    """norm2 / (z - a0 - b0² / (z - a1 - b1² / ...)) at complex z (array); b[k] couples
    steps k and k+1 (``lanczos_coefficients``)."""
    g = np.zeros_like(z)
    for n in range(len(a) - 1, -1, -1):
        g = 1.0 / (z - a[n] - (b[n] ** 2 * g if n < len(b) else 0.0))
    return norm2 * g


def tunnelling_dos(model, omega, eta: float = 0.05, n_lanczos: int = 200):
    """Tunnelling DOS of the ground state in the model's sector.

    Returns (rho, mu, weights): rho(omega + mu) per site on the given ``omega`` grid
    (frequencies relative to mu = (E(N+1) - E(N-1))/2, Lorentzian width ``eta``), and
    the addition + removal weight of every site (= 1 exactly).  A degenerate ground
    state contributes the average over its manifold (the T -> 0+ limit).

    Raises ValueError for a broadening eta <= 0 or N_f outside 1 .. N-1.
    """
    from .exact import sector_hamiltonian
    if not (np.isfinite(eta) and eta > 0):
        raise ValueError(f"eta must be > 0, got {eta!r}")
    N, nf = model.n_sites, model.n_particles
    if not 0 < nf < N:
        raise ValueError(f"n_particles must lie in 1 .. N-1 = {N - 1}, got {nf}")
    gs = exact_ground_state(model, keep_state=True, dense_max=0)
    states = sector_states(N, nf)
    tables = rank_tables(N)
    sp_, Hp = sector_hamiltonian(model, nf + 1)
    sm_, Hm = sector_hamiltonian(model, nf - 1)
    Ep = exact_ground_state(model, nf + 1, resolve_degeneracy=False).energy
    Em = exact_ground_state(model, nf - 1, resolve_degeneracy=False).energy
    mu = 0.5 * (Ep - Em)
    z = np.asarray(omega, float) + mu + 1j * eta
    g = gs.manifold.shape[1]
    with blas_one_thread():   # numba's threaded products; spinning BLAS threads would slow them
        rho = np.zeros(z.size)
        weights = np.zeros(N)
        for psi in gs.manifold.T:
            for i in range(N):
                vp = _apply_site(states, psi, N, i, True, *tables, sp_.size)
                a, b, w2 = lanczos_coefficients(csr_matvec(Hp), vp, n_lanczos)
                if w2 > 0:  # addition: poles at E_{N+1} - E0
                    rho += -continued_fraction(z, a - gs.energy, b, w2).imag / np.pi
                vm = _apply_site(states, psi, N, i, False, *tables, sm_.size)
                a2, b2, w2m = lanczos_coefficients(csr_matvec(Hm), vm, n_lanczos)
                if w2m > 0:  # removal: poles at E0 - E_{N-1}
                    # G^-(z) = -CF(-z): A^- = -Im G^- / pi = Im CF(-z) / pi
                    rho += continued_fraction(-z, a2 - gs.energy, b2, w2m).imag / np.pi
                weights[i] += w2 + w2m
    return rho / (N * g), mu, weights / g
