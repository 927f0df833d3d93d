"""One Monte-Carlo replica at t = 0: occupation, incrementally kept fields and energy.

``moves="pair"`` (default): canonical pair moves at fixed N_f, energy
E = Σ eps_i n_i - ½ Σ V_ij n_i n_j.  ``moves="flip"``: single flips at fixed chemical
potential ``mu``, energy E - mu N_f.  docs/conventions.md.
"""

from __future__ import annotations

import numpy as np

from . import kernels

__all__ = ["State", "check_moves"]

MOVES = ("pair", "flip")


def check_moves(moves, mu):
    if moves not in MOVES:
        raise ValueError(f"moves must be one of {MOVES}, got {moves!r}")
    if moves == "flip" and (mu is None or not np.isfinite(mu)):
        raise ValueError("moves='flip' needs a finite chemical potential mu")


class State:
    def __init__(self, model, occ, moves: str = "pair", mu: float | None = None):
        check_moves(moves, mu)
        if getattr(model, "t", 0) != 0:   # every mc entry point (anneal, metropolis, tabu) builds a State
            raise ValueError(f"model.t = {model.t!r}: the Monte Carlo treats the classical model (t = 0) "
                             "only; for t > 0 use ed.hartree_solve or ed.exact_ground_state")
        self.V = np.ascontiguousarray(model.V, dtype=np.float64)
        self.eps = np.ascontiguousarray(model.eps, dtype=np.float64)
        self.moves, self.mu = moves, (0.0 if mu is None else float(mu))
        self.occ = np.ascontiguousarray(occ, dtype=np.int8)
        N, nf = self.occ.size, int(self.occ.sum())
        if moves == "pair" and not 0 < nf < N:
            raise ValueError(f"n_particles must lie in 1 .. N-1 = {N - 1} for pair moves, got {nf}")
        self.phi = kernels.fields(self.V, self.eps, self.occ)
        self.occ_list = np.flatnonzero(self.occ).astype(np.int64)
        self.emp_list = np.flatnonzero(self.occ == 0).astype(np.int64)
        self.E = self.scratch_energy()

    @classmethod
    def random(cls, model, rng, moves="pair", mu=None):
        occ = np.zeros(model.n_sites, np.int8)
        occ[rng.choice(model.n_sites, model.n_particles, replace=False)] = 1
        return cls(model, occ, moves, mu)

    @property
    def n_sites(self):
        return self.occ.size

    def scratch_energy(self) -> float:
        e = kernels.energy(self.V, self.eps, self.occ)
        return e - self.mu * self.occ.sum() if self.moves == "flip" else e

    def sweep(self, beta: float, rng, n_proposals: int | None = None) -> int:
        """n_proposals (default N) Metropolis proposals at inverse temperature beta.
        Returns the number accepted."""
        n = self.n_sites if n_proposals is None else n_proposals
        if self.moves == "pair":
            return self.pair_sweep(beta, rng.integers(0, self.occ_list.size, n),
                                   rng.integers(0, self.emp_list.size, n), rng.random(n))
        else:
            dE, acc = kernels.flip_sweep(self.V, self.occ, self.phi, self.mu, beta,
                                         rng.integers(0, self.n_sites, n), rng.random(n))
        self.E += dE
        return acc

    def pair_sweep(self, beta: float, ia, ib, u) -> int:
        """Pair moves with the given draws: occupied site occ_list[ia[s]] to empty site
        emp_list[ib[s]], accepted when u[s] < exp(-beta ΔE) (ia, ib integer arrays with
        entries in 0 .. N_f - 1 and 0 .. N - N_f - 1, u in [0, 1), all of one length).
        Returns the number accepted.  Raises ValueError for a state of single flips."""
        if self.moves != "pair":
            raise ValueError(f"pair_sweep needs a state of pair moves, this one has moves = {self.moves!r}")
        dE, acc = kernels.pair_sweep(self.V, self.occ, self.phi, self.occ_list, self.emp_list, beta, ia, ib, u)
        self.E += dE
        return acc

    def quench(self) -> int:
        """Zero-temperature steepest descent to a pair-stable (or flip-stable) state."""
        tol = kernels.EPS_STABLE * max(1.0, np.abs(self.V).max() * np.sqrt(self.n_sites))
        if self.moves == "pair":
            dE, m = kernels.pair_quench(self.V, self.occ, self.phi, self.occ_list, self.emp_list, tol)
        else:
            dE, m = kernels.flip_quench(self.V, self.occ, self.phi, self.mu, tol)
        self.E += dE
        return m

    def drift(self) -> float:
        """Largest difference of the incremental fields and energy from a recomputation."""
        phi = kernels.fields(self.V, self.eps, self.occ)
        return max(np.abs(phi - self.phi).max(), abs(self.E - self.scratch_energy()))

    def copy_occ(self) -> np.ndarray:
        return self.occ.copy()
