"""Level curvatures of a Hartree solution binned in the distance |E - μ| from the Fermi
level (the energy-resolved <ln g>, analysis.mobility_edge).

The ``hartree`` engine stores, per task, E_n - μ of every level with |E_n - μ| <=
``g_energy_max`` (``g_energy_levels``, shape (K,)) and their curvatures ∂²E_n/∂θ² for a
boundary twist along each periodic direction (``g_energy_curvature``, shape (d, K)).
Per bin k of ``EDGES`` (energy units of t, finer near μ) a task gives

* ``n_E{k}``: the number of levels in the bin (both sides of μ: the bins are folded, which
  at n = ½ with compensated couplings is exact, the ensemble being particle–hole
  symmetric; elsewhere it averages the two sides);
* ``lnc_E{k}``: the mean over those levels and the directions of ln |∂²E_n/∂θ²| (NaN for an
  empty bin).

The Thouless conductance of the bin is then <ln g>(E) = <ln |c|>(E) - ln Δ(E), Δ(E) =
1 / (N ρ_H(E)) the local mean level spacing from the disorder-averaged Hartree DOS
(analysis.mobility_edge).  These two columns per bin are what the compact tables keep
(analysis.compact), so the committed data can be re-analysed without the HDF5 file.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EDGES", "binned", "columns"]

EDGES = np.array([0.0, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0])   # |E - mu| in units of t


def binned(record):
    """(counts (n_bins,), mean ln|c| (n_bins,)) of one task: from its arrays
    ``g_energy_levels`` / ``g_energy_curvature`` (a results file) or from its columns
    ``n_E{k}`` / ``lnc_E{k}`` (a compact table).  Bins beyond the task's ``g_energy_max``
    are empty.  Raises KeyError for a record that holds neither (an older results file)."""
    nb = EDGES.size - 1
    if "g_energy_levels" not in record:
        counts = np.array([record[f"n_E{k}"] for k in range(nb)], dtype=float)
        return counts, np.array([record[f"lnc_E{k}"] for k in range(nb)], dtype=float)
    e = np.abs(np.asarray(record["g_energy_levels"], dtype=float))
    c = np.asarray(record["g_energy_curvature"], dtype=float).reshape(-1, e.size)
    lnc = np.log(np.maximum(np.abs(c), 1e-300)).mean(axis=0) if c.shape[0] else np.full(e.size, np.nan)
    k = np.digitize(e, EDGES) - 1                     # bin k holds EDGES[k] <= |E| < EDGES[k+1]
    k[e == EDGES[-1]] = nb - 1
    ok = (k >= 0) & (k < nb)
    counts = np.bincount(k[ok], minlength=nb).astype(float)
    sums = np.bincount(k[ok], weights=lnc[ok], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts, np.where(counts > 0, sums / counts, np.nan)


def columns(record) -> dict:
    """The compact-table columns n_E{k}, lnc_E{k} of one record (module docstring)."""
    counts, lnc = binned(record)
    out = {}
    for k, (n, v) in enumerate(zip(counts, lnc)):
        out[f"n_E{k}"] = int(n)
        out[f"lnc_E{k}"] = round(float(v), 4) if np.isfinite(v) else np.nan
    return out
