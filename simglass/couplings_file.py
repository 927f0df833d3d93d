"""Couplings V_ij, onsite energies eps_i and mode functions g_iℓ from files:
``couplings = "file"`` with ``couplings_file``, and ``onsite = "file"`` with
``onsite_file``, in a job's [model] (docs/jobs.md, "Couplings from a file").

Layout of a couplings file (HDF5)::

    V     dataset, real numbers, shape (N, N): one V for every realisation, or
          (R, N, N): a stack, realisation r uses V[r]; symmetric, zero diagonal, finite
    eps   optional dataset, shape (N,): the same eps for every realisation, or (R, N):
          realisation r uses eps[r] (R as V's when both are stacks); absent: eps comes
          from an onsite file, or is drawn from the job's W and onsite
          (simglass.disorder.onsite_energies)
    g     optional dataset, real numbers, shape (N, M), or (R, N, M) with V's R: the M
          mode functions g_iℓ V was made from (a cavity's V_ij ∝ Σ_ℓ g_iℓ g_jℓ);
          finite, not compared with V; the results file records M, which
          analysis.cavity_modes needs
    L     optional attribute (or dataset) of the root: the lattice extents the data
          were made for, e.g. [8, 8]; when present it must equal the job's L

An onsite file holds ``eps`` (required there) and optionally ``L``, as above; it gives
the onsite energies with couplings of any kind, sampled or from a couplings file that
holds no eps.  Other datasets of either file are not read.

N is the number of sites of the job's lattice, in the order of simglass.Lattice (site
index = row-major index of the lattice coordinates).  V and eps are used as they are, in
the energy unit of t and W; g in any unit.

Every check (:func:`inspect`, :func:`inspect_onsite`) happens when the job is loaded,
before anything runs or is written; a task reads only its own realisation
(:func:`read_realization`).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .options import InputError

__all__ = ["CouplingsSource", "resolve", "inspect", "inspect_onsite", "read_realization", "sha256_of",
           "FILE_KEYS"]

SYMMETRY_RTOL = 1e-12   # as simglass.Model
FILE_KEYS = ("couplings_file", "onsite_file")   # the [model] keys naming a file; results attributes


@dataclass(frozen=True)
class CouplingsSource:
    """A checked couplings file or onsite file.

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
        R of a V stack (R, N, N); None for one V (N, N), or no V read (an onsite file).
    eps_stack : int or None
        R of an eps stack (R, N); None for one eps (N,) or no eps.
    has_eps : bool
        Whether the file holds eps.
    lattice : tuple of int or None
        The file's L, if it holds one.
    key : str
        The [model] key that names the file: "couplings_file" or "onsite_file" (also the
        results file's attribute of its provenance).
    n_modes : int or None
        M of the mode functions g (N, M) or (R, N, M), if a couplings file holds them.
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
    key: str = "couplings_file"
    n_modes: int | None = None

    @property
    def has_V(self) -> bool:
        return self.key == "couplings_file"

    def provenance(self) -> dict:
        """{"path", "size", "sha256"}, and "n_modes" (M) when the file holds mode
        functions: what a results file records of it."""
        out = {"path": self.path, "size": self.size, "sha256": self.sha256}
        return out if self.n_modes is None else {**out, "n_modes": self.n_modes}


def resolve(value: str, base_dir) -> Path:
    """The file named by ``couplings_file = value`` (or ``onsite_file``) in a job file in
    directory ``base_dir``: ``value`` itself when absolute (a leading ~ expanded), else
    relative to ``base_dir``."""
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


@contextlib.contextmanager
def _open(path: Path, where: str):
    """The HDF5 file ``path``, open for reading; InputError when missing or not HDF5."""
    import h5py
    if not path.exists():
        raise InputError(f"{where}: no such file")
    if path.is_dir():
        raise InputError(f"{where}: is a directory, not an HDF5 file")
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as e:
        raise InputError(f"{where}: cannot be opened as HDF5 ({str(e).splitlines()[0]})") from None
    with f:
        yield f


def _n_sites(lattices, where) -> int:
    Ns = sorted({int(np.prod(L)) for L in lattices})
    if len(Ns) > 1:
        raise InputError(f"{where}: the job's lattices have different numbers of sites ({Ns}); "
                         "one file fits one N")
    return Ns[0]


def _lattice(f, lattices, where):
    """The file's L (attribute or dataset), checked against every L of the job; or None."""
    Lsrc = f.attrs["L"] if "L" in f.attrs else (f["L"][()] if "L" in f else None)
    if Lsrc is None:
        return None
    La = np.atleast_1d(np.asarray(Lsrc))
    if La.dtype.kind not in "iu" or La.ndim != 1:
        raise InputError(f"{where}: L = {Lsrc!r}; allowed: a list of integers (the lattice extents)")
    lattice = tuple(int(x) for x in La)
    for L in lattices:
        if lattice != tuple(L):
            raise InputError(f"{where}: made for L = {list(lattice)}, the job has L = {list(L)}")
    return lattice


def _enough(where, name, d, R, realizations):
    """Refuse realisations beyond the stack ``d`` (of R): ``realizations`` is one past the
    last index the job runs (first_realization + realizations)."""
    if R is not None and realizations > R:
        raise InputError(f"{where}: realizations = {realizations} (first_realization + realizations) but the "
                         f"file's {name} holds {R} realisations (shape {d.shape}); allowed: "
                         f"first_realization + realizations <= {R}")


def _eps(f, N, where, realizations, V_stack=None):
    """(eps_stack, True) of a checked eps (shape, dtype, R as ``V_stack``, finite), or
    (None, False)."""
    if "eps" not in f:
        return None, False
    eps = _real_dataset("eps", f["eps"], where)
    if eps.ndim not in (1, 2) or eps.shape[-1] != N:
        raise InputError(f"{where}: eps has shape {eps.shape}; allowed: ({N},) or (R, {N})")
    stack = eps.shape[0] if eps.ndim == 2 else None
    if stack is not None and V_stack is not None and stack != V_stack:
        raise InputError(f"{where}: V holds {V_stack} realisations and eps {stack}; "
                         "two stacks must have the same R")
    _enough(where, "eps", eps, stack, realizations)
    e = eps[: realizations] if stack is not None else eps[()]
    if not np.all(np.isfinite(e)):
        raise InputError(f"{where}: eps holds values that are not finite (NaN or inf)")
    return stack, True


def _modes(f, N, stack, where, realizations) -> int | None:
    """M of a checked g (shape against N and V's stack, dtype, finite), or None."""
    if "g" not in f:
        return None
    g = _real_dataset("g", f["g"], where)
    ok = g.ndim == 2 or (g.ndim == 3 and stack is not None and g.shape[0] == stack)
    if not ok or g.shape[-2] != N or g.shape[-1] < 1:
        allowed = f"({N}, M)" + (f" or ({stack}, {N}, M), V's R" if stack is not None else " (V is one (N, N))")
        raise InputError(f"{where}: g has shape {g.shape}; allowed: {allowed}, M >= 1 modes")
    for r in range(realizations if g.ndim == 3 else 1):
        if not np.all(np.isfinite(g[r] if g.ndim == 3 else g[()])):
            raise InputError(f"{where}: g holds values that are not finite (NaN or inf)")
    return int(g.shape[-1])


def _source(path, key, **described) -> CouplingsSource:
    st = path.stat()
    return CouplingsSource(path=str(path.resolve()), size=st.st_size, sha256=sha256_of(path),
                           mtime_ns=st.st_mtime_ns, key=key, **described)


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
    path = Path(path)
    where = f"couplings_file {str(path)!r}"
    with _open(path, where) as f:
        if "V" not in f:
            raise InputError(f"{where}: no dataset 'V' (the couplings, shape (N, N) or (R, N, N)); "
                             f"it holds: {', '.join(sorted(f)) or 'nothing'}")
        V = _real_dataset("V", f["V"], where)
        N = _n_sites(lattices, where)
        if V.ndim not in (2, 3) or V.shape[-2:] != (N, N):
            raise InputError(f"{where}: V has shape {V.shape}; allowed: ({N}, {N}) or (R, {N}, {N}) "
                             f"for the job's L = {lattices[0]} (N = {N} sites)")
        stack = V.shape[0] if V.ndim == 3 else None
        if stack == 0:
            raise InputError(f"{where}: V has shape {V.shape}: an empty stack")
        _enough(where, "V", V, stack, realizations)
        eps_stack, has_eps = _eps(f, N, where, realizations, stack)
        lattice = _lattice(f, lattices, where)
        n_modes = _modes(f, N, stack, where, realizations)
        need = 3 * 8 * N ** 2 / 2 ** 30
        if need > memory_gb:
            raise InputError(f"{where}: checking one V of N = {N} sites needs about {need:.3g} GiB, "
                             f"more than this machine's {memory_gb:.3g} GiB")
        n_check = realizations if stack is not None else 1
        for r in range(n_check):
            _check_V(V[r] if stack is not None else V[()], where + (f", V[{r}]" if stack is not None else ""))
    return _source(path, "couplings_file", n_sites=N, stack=stack, eps_stack=eps_stack, has_eps=has_eps,
                   lattice=lattice, n_modes=n_modes)


def inspect_onsite(path, *, lattices: list, realizations: int) -> CouplingsSource:
    """Check an onsite file (``onsite = "file"``: eps and optionally L, module docstring)
    against a job and return it described (``key = "onsite_file"``, no V).

    Parameters as :func:`inspect` (eps needs no memory check: N numbers).

    Raises
    ------
    InputError, one line naming the file and the problem: missing, not HDF5, no eps, a
    shape that does not fit N, L or the realisations, a dtype that is not real, values
    that are not finite.
    """
    path = Path(path)
    where = f"onsite_file {str(path)!r}"
    with _open(path, where) as f:
        N = _n_sites(lattices, where)
        if "eps" not in f:
            raise InputError(f"{where}: no dataset 'eps' (the onsite energies, shape ({N},) or (R, {N})); "
                             f"it holds: {', '.join(sorted(f)) or 'nothing'}")
        eps_stack, _ = _eps(f, N, where, realizations)
        lattice = _lattice(f, lattices, where)
    return _source(path, "onsite_file", n_sites=N, stack=None, eps_stack=eps_stack, has_eps=True,
                   lattice=lattice)


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


def read_realization(source: CouplingsSource, realization: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(V, eps) of one realisation from a checked file: V[r] of a stack or the one V
    ((N, N) float64, symmetrised exactly; None for an onsite file), eps[r] or the one eps
    ((N,) float64), or None when the file holds no eps.  The arrays are shared by later
    calls: do not modify them.

    Raises RuntimeError when the file changed (size or modification time) since
    :func:`inspect` checked it, and IndexError for a realisation beyond a stack."""
    what = source.key.replace("_", " ")     # "couplings file" or "onsite file"
    try:
        st = os.stat(source.path)
        changed = (st.st_size, st.st_mtime_ns) != (source.size, source.mtime_ns)
    except OSError as e:
        raise RuntimeError(f"{what} {source.path!r} cannot be read now: {e}") from None
    if changed:
        raise RuntimeError(f"{what} {source.path!r} changed since the job was checked "
                           f"(SHA-256 then {source.sha256}); rerun to check it again")
    return _read(source, int(realization))


@lru_cache(maxsize=4)   # continue_along builds the same realisation at every earlier point
def _read(source, r):
    import h5py
    with h5py.File(source.path, "r", locking=False) as f:
        for stack in (source.stack, source.eps_stack):
            if stack is not None and not 0 <= r < stack:
                raise IndexError(f"realisation {r} beyond the {stack} of {source.key.replace('_', ' ')} "
                                 f"{source.path!r}")
        V = None
        if source.has_V:
            V = np.asarray(f["V"][r] if source.stack is not None else f["V"][()], dtype=float)
            V = 0.5 * (V + V.T)
            V.setflags(write=False)
        eps = None
        if source.has_eps:
            eps = np.asarray(f["eps"][r] if source.eps_stack is not None else f["eps"][()], dtype=float)
            eps.setflags(write=False)
    return V, eps
