"""Couplings of atoms in a multimode cavity, written as a simglass couplings file.

Atoms sit on the sites of an L x L square lattice in the cavity's transverse plane
(lattice spacing 1, centred on the cavity axis) and at random positions z_i along it.
Mode ℓ = (m, n) of the cavity couples to atom i with

    g_iℓ = √2 cos(k z_i) u_mn(x_i, y_i) / rms_ℓ,
    u_mn(x, y) = H_m(√2 x / w) H_n(√2 y / w) exp(-(x² + y²) / w²)

(Hermite–Gauss modes of waist w, H_m the physicists' Hermite polynomials, rms_ℓ the
root mean square of u_mn over the sites), so that Σ_i g_iℓ² ≈ N as for the
standard-normal modes of the built-in ``couplings = "cavity"``.  Eliminating the cavity
fields gives the couplings of that ensemble's convention (docs/conventions.md),

    V_ij = J / √(N M) Σ_ℓ g_iℓ g_jℓ   (i ≠ j),   V_ii = 0,

with M modes: the Hamiltonian's -½ Σ V_ij n_i n_j is the attractive cavity-mediated
interaction.  Each realisation r draws new z_i (the atoms' positions along the axis), so
the file holds a stack V[r] of shape (R, N, N), the mode functions g[r] of shape
(R, N, M) (for analysis.cavity_modes, which takes M from them) and the lattice
L = [L, L].

    python examples/cavity_couplings.py --L 6 --modes 6 --realizations 8 --out cavity.h5
"""

from __future__ import annotations

import argparse
import math

import h5py
import numpy as np
from numpy.polynomial.hermite import hermval

from simglass import Lattice


def mode_orders(M: int) -> list[tuple[int, int]]:
    """The first M Hermite–Gauss orders (m, n), by m + n, then by n."""
    out, s = [], 0
    while len(out) < M:
        out += [(s - n, n) for n in range(s + 1)]
        s += 1
    return out[:M]


def hermite_gauss(m: int, n: int, x, y, waist: float):
    """u_mn(x, y) = H_m(√2 x/w) H_n(√2 y/w) exp(-(x² + y²)/w²), arrays of positions."""
    cm, cn = np.eye(m + 1)[m], np.eye(n + 1)[n]
    return hermval(math.sqrt(2) * x / waist, cm) * hermval(math.sqrt(2) * y / waist, cn) \
        * np.exp(-(x ** 2 + y ** 2) / waist ** 2)


def mode_functions(L: int, M: int, waist: float, rng) -> np.ndarray:
    """g (N, M) of one realisation: Hermite–Gauss profiles at the sites of the L x L
    lattice (simglass.Lattice's site order), times √2 cos(k z_i) with random k z_i."""
    xy = Lattice((L, L)).coords - (L - 1) / 2.0
    u = np.array([hermite_gauss(m, n, xy[:, 0], xy[:, 1], waist) for m, n in mode_orders(M)]).T
    u /= np.sqrt((u ** 2).mean(axis=0))
    kz = rng.uniform(0.0, 2 * np.pi, size=len(xy))
    return math.sqrt(2) * np.cos(kz)[:, None] * u


def cavity_couplings(L: int, M: int, R: int, J: float = 1.0, waist: float | None = None, seed: int = 0):
    """(V, g) of R realisations, N = L²: the stack V (R, N, N) in the energy unit of J
    and the mode functions g (R, N, M) it was made from."""
    N = L * L
    waist = L / 2.0 if waist is None else waist
    rng = np.random.default_rng(seed)
    V, g = np.empty((R, N, N)), np.empty((R, N, M))
    for r in range(R):
        g[r] = mode_functions(L, M, waist, rng)
        V[r] = (g[r] @ g[r].T) * (J / math.sqrt(N * M))
        np.fill_diagonal(V[r], 0.0)
        V[r] = 0.5 * (V[r] + V[r].T)     # exactly symmetric despite rounding
    return V, g


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--L", type=int, default=6, help="lattice extent (L x L sites)")
    p.add_argument("--modes", type=int, default=6, help="number of Hermite–Gauss modes M")
    p.add_argument("--realizations", type=int, default=8, help="realisations R (atom positions along the axis)")
    p.add_argument("--J", type=float, default=1.0, help="coupling scale (the energy unit)")
    p.add_argument("--waist", type=float, help="mode waist in lattice spacings (default L/2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="cavity.h5", help="couplings file to write")
    a = p.parse_args(argv)
    V, g = cavity_couplings(a.L, a.modes, a.realizations, a.J, a.waist, a.seed)
    with h5py.File(a.out, "w") as f:
        f["V"] = V
        f["g"] = g
        f.attrs["L"] = [a.L, a.L]
        f.attrs["description"] = f"Hermite-Gauss cavity couplings, M = {a.modes}, J = {a.J}, seed {a.seed}"
    print(f"{a.out}: V of shape {V.shape}, g of shape {g.shape} (L = [{a.L}, {a.L}], M = {a.modes}), "
          f"N x var(V_ij) = {V.shape[1] * V[:, ~np.eye(V.shape[1], dtype=bool)].var():.3f} J²")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
