"""Level curvatures under a boundary twist and the Thouless conductance (issue 16).

A twist θ on the hopping bonds that cross the periodic boundary of direction a,
-t c†_hi c_lo -> -t e^{iθ} c†_hi c_lo (Model ``gauge = "boundary"``; the curvature is the
same in every gauge), with the single-particle potential frozen (for a Hartree solution:
the self-consistent fields of the untwisted system), expands as
h(θ) = h + θ h1 + θ² h2 + O(θ³),

    (h1)_{hi,lo} = -i t e^{iφ_b},   (h2)_{hi,lo} = ½ t e^{iφ_b}   (and Hermitian
    conjugates) on the boundary bonds b of direction a, zero elsewhere,

so second-order perturbation theory gives the curvature of every level from the
eigenpairs of h alone (no second diagonalisation):

    c_n = ∂²E_n/∂θ² = 2 <n|h2|n> + 2 Σ_{m≠n} |<m|h1|n>|² / (E_n - E_m).

Exactly degenerate levels (within ``deg_tol``) are first rotated to diagonalise h1 in
their block (degenerate perturbation theory), and pairs inside a block are left out of
the sum.  h1 acts on the sites next to the boundary only (2 N / L of them), so the
matrix elements cost O(N · (2N/L) · len(index)) for the requested levels (far less than
one eigh).

Thouless conductance (Edwards & Thouless, J. Phys. C 5, 807 (1972)): g_n = |c_n| / Δ,
Δ the local mean level spacing.  ``thouless_g`` takes the ``n_window`` levels on each
side of the Fermi level (a window of fixed width in units of Δ), and estimates Δ from
the spacings inside that window without the one across μ (the Hartree self-consistency
pushes the levels at μ apart).  Extended states have g growing with L, localised ones
g ~ exp(-L/ξ); the typical value <ln g> separates them (Anderson transition at a fixed
point g_c, independent of L).
"""

from __future__ import annotations

import numpy as np

__all__ = ["level_curvatures", "fermi_window", "thouless_g", "window_gap_ratios", "spacing_ratios"]


def _twist_operators(model, direction):
    """Sparse h1 and h2 (N, N) of a boundary twist along ``direction``."""
    import scipy.sparse as sp
    lat = model.lattice
    if not 0 <= direction < lat.dim:
        raise ValueError(f"direction must be in 0 .. {lat.dim - 1}, got {direction!r}")
    if not (lat.periodic[direction] and lat.shape[direction] > 2):
        raise ValueError(f"direction {direction}: a twist needs a periodic direction of "
                         f"extent >= 3 (closed loops), got shape {lat.shape}, "
                         f"periodic {lat.periodic}")
    sel = (lat.bond_dirs == direction) & lat.bond_wraps
    lo, hi = lat.bonds[sel, 0], lat.bonds[sel, 1]
    ph = np.exp(1j * model.bond_phases()[sel])
    N = model.n_sites

    def herm(vals):
        m = sp.csr_matrix((vals, (hi, lo)), shape=(N, N))
        return (m + m.conj().T).tocsr()
    return herm(-1j * model.t * ph), herm(0.5 * model.t * ph)


def level_curvatures(model, levels, orbitals, direction=0, index=None, deg_tol=None):
    """∂²E_n/∂θ² of the levels of h for a boundary twist θ along ``direction``.

    Parameters
    ----------
    model : simglass.Model (its lattice, t and any twist already present).
    levels : (N,) ascending eigenvalues of the single-particle h (energy units of t).
    orbitals : (N, N) eigenvectors in columns (real or complex).
    direction : lattice direction of the twist; it must be periodic with extent >= 3.
    index : level indices to compute (default: all N); the cost is
        O(N · (2N/L) · len(index)), plus the degenerate blocks.
    deg_tol : levels closer than this are treated as degenerate (default 1e-10 max(t, spread)).

    Returns
    -------
    (len(index),) curvatures in energy units (per radian²).

    Raises
    ------
    ValueError for a direction that cannot carry a twist or mismatched shapes.
    """
    E = np.asarray(levels, dtype=float)
    psi = np.asarray(orbitals)
    N = model.n_sites
    if E.shape != (N,) or psi.shape != (N, N):
        raise ValueError(f"levels must have shape ({N},) and orbitals ({N}, {N}), "
                         f"got {E.shape} and {psi.shape}")
    index = np.arange(N) if index is None else np.asarray(index, dtype=int)
    if deg_tol is None:
        deg_tol = 1e-10 * max(abs(model.t), float(np.ptp(E)), 1e-300)
    h1, h2 = _twist_operators(model, direction)
    # exactly degenerate blocks are rotated so that h1 is diagonal inside each of them
    edges = np.flatnonzero(np.diff(E) > deg_tol) + 1
    starts, ends = np.r_[0, edges], np.r_[edges, N]
    big = ends - starts > 1
    if big.any():
        psi = psi.astype(complex)
        for s0, s1 in zip(starts[big], ends[big]):
            blk = psi[:, s0:s1]
            _, u = np.linalg.eigh(blk.conj().T @ (h1 @ blk))
            psi[:, s0:s1] = blk @ u
    cols = psi[:, index]
    h1c = h1 @ cols
    rows = np.unique(h1.indices)                         # h1 lives on the boundary sites only
    M = psi[rows].conj().T @ h1c[rows]                   # <m|h1|n>, shape (N, len(index))
    dE = E[index][None, :] - E[:, None]                  # E_n - E_m at [m, n]
    same = np.abs(dE) <= deg_tol
    inv = np.where(same, 0.0, 1.0 / np.where(same, 1.0, dE))
    second = (np.abs(M) ** 2 * inv).sum(axis=0)
    diamagnetic = np.real(np.einsum("in,in->n", cols.conj(), h2 @ cols))
    return 2.0 * (diamagnetic + second)


def fermi_window(n_levels, n_particles, n_window):
    """Indices of the ``n_window`` levels below and above the Fermi level (fewer at
    the band edges): range(max(N_f - n_window, 0), min(N_f + n_window, N))."""
    return np.arange(max(n_particles - n_window, 0), min(n_particles + n_window, n_levels))


def thouless_g(levels, curvatures, n_particles, n_window=8):
    """Thouless conductances g_n = |c_n| / Δ of the levels of ``fermi_window`` and Δ,
    the mean of the level spacings inside that window without the spacing across μ
    (E_{N_f} - E_{N_f - 1}).

    Parameters
    ----------
    levels : (N,) ascending levels.
    curvatures : ∂²E_n/∂θ² of the window's levels (level_curvatures with
        ``index=fermi_window(N, N_f, n_window)``), shape (2 n_window,) away from the edges.

    Returns (g, Δ), g of the shape of ``curvatures``.  Raises ValueError when the
    window has fewer than two spacings besides the one across μ, or when
    ``curvatures`` does not match the window.
    """
    E = np.asarray(levels, dtype=float)
    nf = int(n_particles)
    idx = fermi_window(E.size, nf, n_window)
    c = np.asarray(curvatures, dtype=float)
    if c.shape != idx.shape:
        raise ValueError(f"curvatures must have the window's shape {idx.shape}, got {c.shape}")
    s = np.delete(np.diff(E[idx]), nf - 1 - idx[0])    # without the spacing across mu
    if s.size < 2:
        raise ValueError(f"n_window = {n_window} leaves fewer than two level spacings "
                         f"(N = {E.size}, N_f = {nf})")
    delta = float(s.mean())
    return np.abs(c) / delta, delta


def window_gap_ratios(levels, n_particles, n_window):
    """Adjacent-gap ratios r_k = min(s_k, s_k+1) / max(s_k, s_k+1) separately of the
    ``n_window`` + 1 levels below μ (up to E_{N_f - 1}) and above μ (from E_{N_f}), so
    that no ratio uses the spacing across μ.  Returns (r_below, r_above)."""
    E = np.asarray(levels, dtype=float)
    nf = int(n_particles)

    return (spacing_ratios(E[max(nf - n_window - 1, 0):nf]),
            spacing_ratios(E[nf:nf + n_window + 1]))


def spacing_ratios(levels):
    """Adjacent-gap ratios min(s_k, s_k+1) / max(s_k, s_k+1) of ascending levels (NaN
    ratios of degenerate pairs left out)."""
    s = np.diff(levels)
    a, b = s[:-1], s[1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.minimum(a, b) / np.maximum(a, b)
    return r[np.isfinite(r)]
