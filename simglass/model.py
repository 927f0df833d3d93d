"""The model of Eq. 7 (docs/conventions.md):

    H = -t Σ_<ij> (c†_i c_j + h.c.) + Σ_i (eps_i - mu) n_i - ½ Σ_{i≠j} V_ij n_i n_j

Energies are in the units of t, J and W (all the same unit).  The classical (t = 0)
functions below work in the canonical ensemble and leave out the constant -mu N_f.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .lattice import Lattice

__all__ = ["Model", "particle_number"]


def _as_real_number(name, x):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {x!r}")
    if not np.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x!r}")
    return float(x)



def particle_number(density: float, n_sites: int) -> int:
    """N_f = ⌊n N + ½⌋: the nearest integer to n N, halves rounded up (docs/conventions.md),
    so that a size series at fixed n never alternates sides of n (Python's round() sends
    halves to the even neighbour: n = ½ gives 2, 2, 4, 4 for N = 3, 5, 7, 9).  A relative
    1e-12 guards n N = k + ½ against its floating-point representation."""
    x = float(density) * int(n_sites)
    return int(math.floor(x + 0.5 + 1e-12 * max(1.0, abs(x))))

def _real_array(name, x) -> np.ndarray:
    """x as a float array; TypeError naming ``name`` for complex or non-numeric input
    (numpy would drop an imaginary part with only a ComplexWarning)."""
    a = np.asarray(x)
    if np.iscomplexobj(a):
        raise TypeError(f"{name} must be real (the model's couplings and energies are real), got dtype {a.dtype}")
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {a.dtype}")
    return np.array(a, dtype=float)


class Model:
    """Lattice, hopping t, couplings V, onsite energies eps and particle number.

    Parameters
    ----------
    lattice : Lattice
    t : float >= 0
        Nearest-neighbour hopping amplitude.
    V : (N, N) array
        Symmetric couplings with zero diagonal (checked to 1e-12 relative).
    eps : (N,) array
        Onsite energies.
    n_particles : int in [0, N], or
    density : float in (0, 1), giving n_particles = particle_number(density, N) = ⌊density N + ½⌋.
    twist : sequence of floats, one per lattice direction, optional
        Twisted boundary conditions: total phase θ_a picked up by a particle going once
        around the periodic direction a.  Only directions that are periodic with L_a >= 3
        can carry a twist (an L = 2 direction has a single bond per pair, no loop).
    gauge : "spread" (default: phase θ_a / L_a on every bond along a) or "boundary"
        (phase θ_a on the wrap-around bonds only); the two are related by a gauge
        transformation and give the same spectrum.

    Examples
    --------
    >>> from simglass import Lattice, Model, sample_disorder
    >>> lat = Lattice((2, 2, 2))
    >>> d = sample_disorder(lat, J=1.0, seed=3)
    >>> m = Model(lat, t=0.0, V=d.V, eps=d.eps, density=0.5)
    >>> m.n_particles
    4
    """

    def __init__(self, lattice: Lattice, t: float, V, eps, n_particles: int | None = None,
                 density: float | None = None, twist=None, gauge: str = "spread"):
        if not isinstance(lattice, Lattice):
            raise TypeError(f"lattice must be a simglass.Lattice, got {type(lattice).__name__}")
        N = lattice.n_sites
        self.lattice = lattice
        self.t = _as_real_number("t", t)
        if self.t < 0:
            raise ValueError(f"t must be >= 0, got {t!r}")
        V, eps = _real_array("V", V), _real_array("eps", eps)
        if V.shape != (N, N):
            raise ValueError(f"V must have shape ({N}, {N}) for {N} sites, got {V.shape}")
        if eps.shape != (N,):
            raise ValueError(f"eps must have shape ({N},) for {N} sites, got {eps.shape}")
        if not (np.all(np.isfinite(V)) and np.all(np.isfinite(eps))):
            raise ValueError("V and eps must be finite (no NaN or inf)")
        scale = max(np.abs(V).max(initial=0.0), 1e-300)
        asym = np.abs(V - V.T).max(initial=0.0)
        if asym > 1e-12 * scale:
            raise ValueError(f"V must be symmetric (V_ij = V_ji); max |V - V^T| = {asym:.3g}")
        if np.abs(np.diag(V)).max(initial=0.0) > 0:
            raise ValueError("V must have a zero diagonal (V_ii = 0)")
        self.V = 0.5 * (V + V.T)
        self.eps = eps
        if (n_particles is None) == (density is None):
            raise ValueError("give exactly one of n_particles and density")
        if density is not None:
            density = _as_real_number("density", density)
            if not 0.0 < density < 1.0:
                raise ValueError(f"density must lie in (0, 1), got {density!r}")
            n_particles = particle_number(density, N)
        if isinstance(n_particles, bool) or not isinstance(n_particles, (int, np.integer)):
            raise TypeError(f"n_particles must be an integer, got {n_particles!r}")
        if not 0 <= n_particles <= N:
            raise ValueError(f"n_particles must lie in [0, {N}] (N = number of sites), got {n_particles}")
        self.n_particles = int(n_particles)
        self.twist, self.gauge = self._check_twist(twist, gauge)

    def _check_twist(self, twist, gauge):
        lat = self.lattice
        if gauge not in ("spread", "boundary"):
            raise ValueError(f"gauge must be 'spread' or 'boundary', got {gauge!r}")
        if twist is None:
            return np.zeros(lat.dim), gauge
        try:
            tw = np.array(twist, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise TypeError(f"twist must be a sequence of {lat.dim} real numbers, got {twist!r}") from None
        if tw.size != lat.dim:
            raise ValueError(f"twist needs one phase per direction ({lat.dim}), got {tw.size}")
        if not np.all(np.isfinite(tw)):
            raise ValueError(f"twist phases must be finite, got {twist!r}")
        for a, th in enumerate(tw):
            if th != 0 and not (lat.periodic[a] and lat.shape[a] >= 3):
                why = "open" if not lat.periodic[a] else f"has L = {lat.shape[a]} (one bond per pair, no loop)"
                raise ValueError(f"twist along direction {a}: the direction {why}; a twist needs a "
                                 f"periodic direction with L >= 3")
        return tw, gauge

    def with_twist(self, twist, gauge: str | None = None) -> "Model":
        """The same model with twisted boundary conditions (see ``twist`` above)."""
        return Model(self.lattice, self.t, self.V, self.eps, n_particles=self.n_particles,
                     twist=twist, gauge=self.gauge if gauge is None else gauge)

    @property
    def twisted(self) -> bool:
        return bool(np.any(self.twist != 0))

    def bond_phases(self) -> np.ndarray:
        """Phase φ_b of every bond (lo, hi) of ``lattice.bonds``, hi = lo + e_a: the
        hopping lo -> hi is -t e^{iφ_b} c†_hi c_lo."""
        lat = self.lattice
        L = np.array(lat.shape, float)[lat.bond_dirs]
        th = self.twist[lat.bond_dirs]
        if self.gauge == "spread":
            return th / L
        return np.where(lat.bond_wraps, th, 0.0)

    @property
    def n_sites(self) -> int:
        return self.lattice.n_sites

    @property
    def density(self) -> float:
        return self.n_particles / self.n_sites

    # ---- classical (t = 0) functions, docs/conventions.md -------------------------------
    def _occ(self, occ) -> np.ndarray:
        occ = np.asarray(occ)
        if occ.shape != (self.n_sites,):
            raise ValueError(f"occ must have shape ({self.n_sites},), got {occ.shape}")
        if not np.all((occ == 0) | (occ == 1)):
            raise ValueError("occ must contain only 0 and 1")
        return occ.astype(float)

    def energy(self, occ) -> float:
        """Classical energy Σ eps_i n_i - ½ Σ_{i≠j} V_ij n_i n_j (without -mu N_f)."""
        n = self._occ(occ)
        return float(self.eps @ n - 0.5 * n @ (self.V @ n))

    def local_fields(self, occ, mu: float = 0.0) -> np.ndarray:
        """Local fields phi_i = eps_i - mu - Σ_{j≠i} V_ij n_j (Eq. 15)."""
        n = self._occ(occ)
        return self.eps - mu - self.V @ n

    def pair_move_delta(self, occ, i: int, j: int) -> float:
        """Energy change of moving the particle on occupied site i to empty site j:
        ΔE = phi_j - phi_i + V_ij (mu drops out)."""
        n = self._occ(occ)
        if n[i] != 1 or n[j] != 0:
            raise ValueError(f"pair move needs site i={i} occupied and site j={j} empty")
        phi = self.local_fields(n)
        return float(phi[j] - phi[i] + self.V[i, j])

    def chemical_potential(self, occ) -> float:
        """Canonical mu: midpoint of the N_f-th and (N_f+1)-th smallest field (mu = 0).

        Needs 0 < N_f < N."""
        n = self._occ(occ)
        nf = int(n.sum())
        if not 0 < nf < self.n_sites:
            raise ValueError(f"chemical_potential needs 0 < N_f < N, got N_f = {nf}")
        phi = np.sort(self.local_fields(n))
        return float(0.5 * (phi[nf - 1] + phi[nf]))

    # ---- single-particle hopping ---------------------------------------------------
    def hopping_matrix(self) -> sp.csr_matrix:
        """Hermitian adjacency matrix A (each bond once), so the kinetic single-particle
        Hamiltonian is -t A: A_ij = 1 on every bond, real and symmetric; with a twist
        A_{hi,lo} = e^{iφ_b} = conj(A_{lo,hi}) (complex)."""
        b = self.lattice.bonds
        N = self.n_sites
        rows = np.concatenate([b[:, 1], b[:, 0]])
        cols = np.concatenate([b[:, 0], b[:, 1]])
        if not self.twisted:
            return sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(N, N))
        ph = np.exp(1j * self.bond_phases())
        return sp.csr_matrix((np.concatenate([ph, ph.conj()]), (rows, cols)), shape=(N, N))

    def __repr__(self):
        tw = f", twist={tuple(self.twist)}, gauge={self.gauge!r}" if self.twisted else ""
        return (f"Model({self.lattice!r}, t={self.t}, n_particles={self.n_particles}, "
                f"N={self.n_sites}{tw})")
