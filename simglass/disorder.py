"""Random couplings V_ij and onsite energies eps_i (docs/conventions.md, Eqs. 12-13).

Reproducibility: realisation r of root seed s draws from
``SeedSequence(s, spawn_key=(r,))`` in a fixed order (couplings first, then onsite
energies), using standard normals that are scaled by J and W afterwards.  So a
realisation is bit-identical for every parameter point, engine, rank count and
restart, and a scan over J or W sees the same disorder pattern rescaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lattice import Lattice

__all__ = ["Disorder", "sample_disorder", "onsite_energies", "disorder_seed", "engine_seed"]

COUPLINGS = ("gaussian", "cavity")
ONSITE = ("gaussian", "box")


@dataclass(frozen=True)
class Disorder:
    """One disorder realisation.

    Attributes
    ----------
    V : (N, N) array
        Symmetric couplings, zero diagonal, variance J²/N (Eq. 12).
    eps : (N,) array
        Onsite energies: Gaussian with standard deviation W (Eq. 13), or uniform on
        [-W/2, W/2] for ``onsite="box"``; with ``compensate`` shifted by n Σ_j V_ij.
    """
    V: np.ndarray
    eps: np.ndarray
    J: float
    W: float
    seed: int
    realization: int


def disorder_seed(seed: int, realization: int) -> np.random.SeedSequence:
    """The SeedSequence that fixes the disorder of realisation ``realization``."""
    return np.random.SeedSequence(seed, spawn_key=(realization,))


def engine_seed(seed: int, realization: int) -> np.random.SeedSequence:
    """The child SeedSequence of a realisation that feeds an engine's random stream."""
    return np.random.SeedSequence(seed, spawn_key=(realization, 0))


def _check_nonneg(name, x):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {x!r}")
    if not np.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {x!r}")
    return float(x)


def _draw_onsite(rng, N, W, onsite):
    if onsite == "gaussian":
        return W * rng.standard_normal(N)
    return W * (rng.random(N) - 0.5)


def onsite_energies(n_sites: int, W: float = 0.0, *, seed: int = 0, realization: int = 0,
                    onsite: str = "gaussian") -> np.ndarray:
    """Onsite energies eps_i alone, for couplings that do not come from this sampler
    (``couplings = "file"`` in a job, simglass.couplings_file).

    Drawn from the realisation's own stream ``disorder_seed(seed, realization)`` with no
    couplings drawn before them, so they differ from the eps of :func:`sample_disorder`
    with the same seed; like those, they are the same standard normals (or uniforms)
    scaled by W at every parameter point.

    Parameters
    ----------
    n_sites : int >= 1
    W : float >= 0
        Gaussian standard deviation, or full box width for ``onsite="box"`` (energy).
    seed, realization : int >= 0
    onsite : "gaussian" or "box"

    Returns
    -------
    eps : ndarray
        Shape (n_sites,), float64, energy.

    Raises
    ------
    TypeError or ValueError naming the argument, as :func:`sample_disorder`.
    """
    W = _check_nonneg("W", W)
    for name, x in (("n_sites", n_sites), ("seed", seed), ("realization", realization)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < (1 if name == "n_sites" else 0):
            raise ValueError(f"{name} must be an integer >= {1 if name == 'n_sites' else 0}, got {x!r}")
    if onsite not in ONSITE:
        raise ValueError(f"onsite must be one of {ONSITE}, got {onsite!r}")
    rng = np.random.default_rng(disorder_seed(int(seed), int(realization)))
    return _draw_onsite(rng, int(n_sites), W, onsite)


def sample_disorder(lattice: Lattice, J: float = 1.0, W: float = 0.0, *, seed: int = 0,
                    realization: int = 0, compensate: bool = False, density: float | None = None,
                    couplings: str = "gaussian", n_modes: int | None = None,
                    onsite: str = "gaussian") -> Disorder:
    """Draw couplings and onsite energies for one realisation.

    Parameters
    ----------
    lattice : Lattice
        Only its number of sites N matters (the interactions are infinite-range).
    J : float >= 0
        Coupling scale: off-diagonal V_ij have mean 0 and variance J²/N.
    W : float >= 0
        Onsite disorder: standard deviation of the Gaussian eps_i (the paper's Eq. 13,
        variance W²), or full width of the box for ``onsite="box"``.
    seed, realization : int >= 0
        Root seed and realisation index (see module docstring).
    compensate : bool
        Shift eps_i -> eps_i + n Σ_j V_ij, removing the random Hartree shift of the mean
        density (docs/conventions.md).  Needs ``density`` (n).
    couplings : "gaussian" or "cavity"
        "cavity": V_ij = J/sqrt(N M) Σ_l g_il g_jl (i != j) from M = ``n_modes``
        standard-normal mode functions g; mean 0 and variance J²/N as the Gaussian
        ensemble, which it approaches as M -> infinity.
    onsite : "gaussian" or "box"

    Raises
    ------
    TypeError for a lattice that is not a Lattice or a J, W that is not a number;
    ValueError naming the argument for a negative or non-finite J or W, a negative seed
    or realisation, an unknown ``couplings`` or ``onsite``, ``n_modes`` missing (cavity)
    or given (Gaussian), or ``compensate`` without a density in [0, 1].
    """
    if not isinstance(lattice, Lattice):
        raise TypeError(f"lattice must be a simglass.Lattice, got {type(lattice).__name__}")
    J = _check_nonneg("J", J)
    W = _check_nonneg("W", W)
    for name, x in (("seed", seed), ("realization", realization)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {x!r}")
    if couplings not in COUPLINGS:
        raise ValueError(f"couplings must be one of {COUPLINGS}, got {couplings!r}")
    if onsite not in ONSITE:
        raise ValueError(f"onsite must be one of {ONSITE}, got {onsite!r}")
    if couplings == "cavity":
        if isinstance(n_modes, bool) or not isinstance(n_modes, (int, np.integer)) or n_modes < 1:
            raise ValueError(f"n_modes must be an integer >= 1 for couplings='cavity', got {n_modes!r}")
    elif n_modes is not None:
        raise ValueError("n_modes is only allowed with couplings='cavity'")
    if compensate:
        if density is None or not (0.0 <= float(density) <= 1.0):
            raise ValueError(f"compensate=True needs density in [0, 1], got {density!r}")

    N = lattice.n_sites
    rng = np.random.default_rng(disorder_seed(int(seed), int(realization)))
    if couplings == "gaussian":
        iu = np.triu_indices(N, k=1)
        z = rng.standard_normal(iu[0].size)
        V = np.zeros((N, N))
        V[iu] = z * (J / np.sqrt(N))
        V = V + V.T
    else:
        g = rng.standard_normal((N, int(n_modes)))
        V = (g @ g.T) * (J / np.sqrt(N * n_modes))
        np.fill_diagonal(V, 0.0)
        V = 0.5 * (V + V.T)  # exact symmetry despite BLAS rounding
    eps = _draw_onsite(rng, N, W, onsite)
    if compensate:
        eps = eps + float(density) * V.sum(axis=1)
    return Disorder(V=V, eps=eps, J=J, W=W, seed=int(seed), realization=int(realization))
