"""Couplings V_ij (and onsite energies eps_i) from a file: ``couplings = "file"`` in a
job's [model] (docs/jobs.md, "Couplings from a file").

Layout of the file (HDF5)::

    V     dataset, real numbers, shape (N, N): one V for every realisation, or
          (R, N, N): a stack, realisation r uses V[r]; symmetric, zero diagonal, finite
    eps   optional dataset, shape (N,): the same eps for every realisation, or (R, N):
          realisation r uses eps[r] (R as V's when both are stacks); absent: eps is drawn
          from the job's W and onsite (simglass.disorder.onsite_energies)
    L     optional attribute (or dataset) of the root: the lattice extents the couplings
          were made for, e.g. [8, 8]; when present it must equal the job's L

N is the number of sites of the job's lattice, in the order of simglass.Lattice (site
index = row-major index of the lattice coordinates).  V is used as it is, in the energy
unit of t and W.

Every check (:func:`inspect`) happens when the job is loaded, before anything runs or
is written; a task reads only its own realisation (:func:`read_realization`).
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .options import InputError

__all__ = ["CouplingsSource", "resolve", "inspect", "read_realization", "sha256_of"]

SYMMETRY_RTOL = 1e-12   # as simglass.Model


@dataclass(frozen=True)
class CouplingsSource:
    """A checked couplings file.

    Attributes
    ----------
    path : str
        Absolute path.
    size : int
        Size in bytes.
    sha256 : str
        SHA-256 of the file's bytes (hex).
    mtime_ns : int
        Modification time when checked (tasks refuse a file changed since).
    n_sites : int
        N.
    stack : int or None
        R of a V stack (R, N, N); None for one V (N, N).
    eps_stack : int or None
        R of an eps stack (R, N); None for one eps (N,) or no eps.
    has_eps : bool
        Whether the file holds eps.
    lattice : tuple of int or None
        The file's L, if it holds one.
    """
    path: str
    size: int
    sha256: str
    mtime_ns: int
    n_sites: int
    stack: int | None
    eps_stack: int | None
    has_eps: bool
    lattice: tuple | None

    def provenance(self) -> dict:
        """{"path", "size", "sha256"}: what a results file records of it."""
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


def resolve(value: str, base_dir) -> Path:
    """The couplings file named by ``couplings_file = value`` in a job file in directory
    ``base_dir``: ``value`` itself when absolute (a leading ~ expanded), else relative to
    ``base_dir``."""
    p = Path(value).expanduser()
    return p if p.is_absolute() else Path(base_dir) / p


def sha256_of(path) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks of 1 MiB."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _real_dataset(name, d, where):
    import h5py
    if not isinstance(d, h5py.Dataset):
        raise InputError(f"{where}: {name!r} is not a dataset")
    kind = d.dtype.kind
    if kind not in "iuf":   # bool, complex, strings, compound: not real numbers
        raise InputError(f"{where}: {name} has dtype {d.dtype}; allowed: real numbers (float or integer)")
    return d


def inspect(path, *, lattices: list, realizations: int, memory_gb: float = math.inf) -> CouplingsSource:
    """Check a couplings file against a job (module docstring) and return it described.

    Parameters
    ----------
    path : str or Path
        The file (resolved already, :func:`resolve`).
    lattices : list of lists of int
        The L of every parameter point of the job (N = product must match the file).
    realizations : int >= 1
        The job's number of realisations: at most R for a stack.
    memory_gb : float
        The machine's memory in GiB: checking one V needs about 3 N² float64 numbers.

    Raises
    ------
    InputError, one line naming the file and the problem: missing, not HDF5, no V, a
    shape that does not fit N, L or the realisations, a dtype that is not real, values
    that are not finite, V not symmetric (to 1e-12 relative) or with a nonzero diagonal.
    """
    import h5py
    path = Path(path)
    where = f"couplings_file {str(path)!r}"
    if not path.exists():
        raise InputError(f"{where}: no such file")
    if path.is_dir():
        raise InputError(f"{where}: is a directory, not an HDF5 file")
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as e:
        raise InputError(f"{where}: cannot be opened as HDF5 ({str(e).splitlines()[0]})") from None
    with f:
        if "V" not in f:
            raise InputError(f"{where}: no dataset 'V' (the couplings, shape (N, N) or (R, N, N)); "
                             f"it holds: {', '.join(sorted(f)) or 'nothing'}")
        V = _real_dataset("V", f["V"], where)
        Ns = sorted({int(np.prod(L)) for L in lattices})
        N = Ns[0]
        if len(Ns) > 1:
            raise InputError(f"{where}: the job's lattices have different numbers of sites ({Ns}); "
                             "one couplings file fits one N")
        if V.ndim not in (2, 3) or V.shape[-2:] != (N, N):
            raise InputError(f"{where}: V has shape {V.shape}; allowed: ({N}, {N}) or (R, {N}, {N}) "
                             f"for the job's L = {lattices[0]} (N = {N} sites)")
        stack = V.shape[0] if V.ndim == 3 else None
        if stack == 0:
            raise InputError(f"{where}: V has shape {V.shape}: an empty stack")
        eps, eps_stack = None, None
        if "eps" in f:
            eps = _real_dataset("eps", f["eps"], where)
            if eps.ndim not in (1, 2) or eps.shape[-1] != N:
                raise InputError(f"{where}: eps has shape {eps.shape}; allowed: ({N},) or (R, {N})")
            eps_stack = eps.shape[0] if eps.ndim == 2 else None
            if stack is not None and eps_stack is not None and stack != eps_stack:
                raise InputError(f"{where}: V holds {stack} realisations and eps {eps_stack}; "
                                 "two stacks must have the same R")
        R = stack if stack is not None else eps_stack
        if R is not None and realizations > R:
            what = "V" if stack is not None else "eps"
            raise InputError(f"{where}: realizations = {realizations} but the file's {what} holds "
                             f"{R} realisations (shape {(V if stack is not None else eps).shape}); "
                             f"allowed: realizations <= {R}")
        lattice = None
        Lsrc = f.attrs["L"] if "L" in f.attrs else (f["L"][()] if "L" in f else None)
        if Lsrc is not None:
            La = np.atleast_1d(np.asarray(Lsrc))
            if La.dtype.kind not in "iu" or La.ndim != 1:
                raise InputError(f"{where}: L = {Lsrc!r}; allowed: a list of integers (the lattice extents)")
            lattice = tuple(int(x) for x in La)
            for L in lattices:
                if lattice != tuple(L):
                    raise InputError(f"{where}: made for L = {list(lattice)}, the job has L = {list(L)}")
        need = 3 * 8 * N ** 2 / 2 ** 30
        if need > memory_gb:
            raise InputError(f"{where}: checking one V of N = {N} sites needs about {need:.3g} GiB, "
                             f"more than this machine's {memory_gb:.3g} GiB")
        n_check = realizations if stack is not None else 1
        for r in range(n_check):
            _check_V(V[r] if stack is not None else V[()], where + (f", V[{r}]" if stack is not None else ""))
        if eps is not None:
            e = eps[: realizations] if eps_stack is not None else eps[()]
            if not np.all(np.isfinite(e)):
                raise InputError(f"{where}: eps holds values that are not finite (NaN or inf)")
    st = path.stat()
    return CouplingsSource(path=str(path.resolve()), size=st.st_size, sha256=sha256_of(path),
                           mtime_ns=st.st_mtime_ns, n_sites=N, stack=stack, eps_stack=eps_stack,
                           has_eps=eps is not None, lattice=lattice)


def _check_V(V, where):
    V = np.asarray(V, dtype=float)
    if not np.all(np.isfinite(V)):
        raise InputError(f"{where}: V holds values that are not finite (NaN or inf)")
    scale = max(np.abs(V).max(initial=0.0), 1e-300)
    asym = np.abs(V - V.T).max(initial=0.0)
    if asym > SYMMETRY_RTOL * scale:
        raise InputError(f"{where}: V is not symmetric: max |V - V^T| = {asym:.3g}, allowed up to "
                         f"{SYMMETRY_RTOL:g} x max |V| = {SYMMETRY_RTOL * scale:.3g}")
    d = np.abs(np.diag(V)).max(initial=0.0)
    if d > 0:
        raise InputError(f"{where}: V has a nonzero diagonal (max |V_ii| = {d:.3g}); allowed: V_ii = 0")


def read_realization(source: CouplingsSource, realization: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(V, eps) of one realisation from a checked file: V[r] of a stack or the one V
    ((N, N) float64, symmetrised exactly), eps[r] or the one eps ((N,) float64), or None
    when the file holds no eps.  The arrays are shared by later calls: do not modify them.

    Raises RuntimeError when the file changed (size or modification time) since
    :func:`inspect` checked it, and IndexError for a realisation beyond a stack."""
    try:
        st = os.stat(source.path)
        changed = (st.st_size, st.st_mtime_ns) != (source.size, source.mtime_ns)
    except OSError as e:
        raise RuntimeError(f"couplings file {source.path!r} cannot be read now: {e}") from None
    if changed:
        raise RuntimeError(f"couplings file {source.path!r} changed since the job was checked "
                           f"(SHA-256 then {source.sha256}); rerun to check it again")
    return _read(source, int(realization))


@lru_cache(maxsize=2)   # continue_along builds the same realisation at every earlier point
def _read(source, r):
    import h5py
    with h5py.File(source.path, "r", locking=False) as f:
        if source.stack is not None and not 0 <= r < source.stack:
            raise IndexError(f"realisation {r} beyond the {source.stack} of couplings file {source.path!r}")
        V = np.asarray(f["V"][r] if source.stack is not None else f["V"][()], dtype=float)
        eps = None
        if source.has_eps:
            eps = np.asarray(f["eps"][r] if source.eps_stack is not None else f["eps"][()], dtype=float)
    V = 0.5 * (V + V.T)
    V.setflags(write=False)
    if eps is not None:
        eps.setflags(write=False)
    return V, eps
