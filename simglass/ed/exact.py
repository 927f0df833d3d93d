"""Many-body exact diagonalisation of the model (Eq. 7) in a fixed particle-number
sector, on top of QuSpin (``spinless_fermion_basis_general``).

* Hopping (``path="quspin"``, the reference): QuSpin terms ``["+-", [[-t, i, j]]]`` and ``["-+", [[+t, i, j]]]`` per bond,
  i.e. -t (c†_i c_j + h.c.) with QuSpin's fermionic signs (Jordan–Wigner order = site
  order).  Sparse matrix from QuSpin.  ``path="fast"`` (default) builds the same
  matrix in the same basis order with numba (``ed.fock``); tests check they agree.
* Density terms (all-to-all, diagonal): built directly from the occupation bits of the
  basis states (a numba loop over the occupied pairs of each state, ``ed.fock``):
  E_d = Σ eps_i n_i - ½ Σ_{i≠j} V_ij n_i n_j.
  QuSpin stores site i in bit N-1-i of a state's integer.
* Ground state by Lanczos (``ed.lanczos``: plain Lanczos, Ritz vector from the Krylov
  vectors kept within max_memory_gb or from a second pass, residual checked; on the
  fast path a block Lanczos with blocks of two, which also decides the gap above E0),
  or dense ``eigh`` for sectors of at most ``dense_max`` states.  The fast path stores the real hopping compactly (one signed
  int32 per entry, ``ed.fock.hopping_operator``); twisted or QuSpin matrices are scipy
  CSR (threaded product).

Memory: the hopping holds at most about Ns * (bonds / 2) entries (4 or 12 bytes);
a sector whose estimate exceeds ``max_memory_gb`` is refused before anything is
allocated, with the dimension and the memory it would need.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

__all__ = ["ExactResult", "exact_ground_state", "sector_memory_gb", "diagonal_energies"]


@dataclass
class ExactResult:
    """energy : E0 of the sector (without -mu N_f); density : <n_i>, averaged over the
    degenerate ground-state manifold (the T -> 0+ limit; the same on every path);
    n_particles; dimension : states in the sector; state : one ground-state vector
    (QuSpin basis order) and manifold : (dimension, degeneracy) orthonormal basis of the
    manifold (with keep_state); residual : max ||H psi - E psi|| over the manifold;
    converged : every eigen-solve met its tolerance; degeneracy : number of states with
    E <= E0 + degeneracy_tol max(1, |E0|) (0: not determined, resolve_degeneracy=False)."""
    energy: float
    density: np.ndarray
    n_particles: int
    dimension: int
    state: np.ndarray | None = None
    residual: float = 0.0
    converged: bool = True
    degeneracy: int = 1
    degeneracy_tol: float = 1e-8
    manifold: np.ndarray | None = None


def sector_memory_gb(n_sites: int, n_particles: int, n_bonds: int, bytes_per_entry: int = 4) -> float:
    """Estimated peak memory of a sector: the stored hopping (at most ~Ns n_bonds/2
    entries; 4 B each in the compact form of ``ed.fock.hopping_operator``, 12 B in scipy
    CSR) and its row pointers, the basis and diagonal, and ~20 Lanczos vectors."""
    Ns = comb(n_sites, n_particles)
    return Ns * (bytes_per_entry * max(n_bonds, 1) / 2 + 8 + 8 * 24 + 16) / 2**30


def diagonal_energies(states, n_sites, V, eps):
    """Σ eps_i n_i - ½ Σ_{i≠j} V_ij n_i n_j for every basis state (``ed.fock.density_energies``)."""
    from .fock import density_energies
    return density_energies(states, n_sites, V, eps)


def _basis(n_sites, n_particles):
    from quspin.basis import spinless_fermion_basis_general
    return spinless_fermion_basis_general(n_sites, Nf=n_particles)


def hopping_matrix(basis, bonds, t, phases=None):
    """-t Σ_bonds (c†_i c_j + h.c.) in the QuSpin basis, as scipy CSR.  With ``phases``
    the hop lo -> hi of bond (lo, hi) is -t e^{iφ} c†_hi c_lo (QuSpin "+-" with coefficient
    J on (i, j) is J c†_i c_j; "-+" on (i, j) is J c_i c†_j = -J c†_j c_i)."""
    import scipy.sparse as sp
    from quspin.operators import hamiltonian
    if t == 0 or len(bonds) == 0:
        return sp.csr_matrix((basis.Ns, basis.Ns))
    ph = np.zeros(len(bonds)) if phases is None else np.asarray(phases, float)
    if np.any(ph != 0):
        e = np.exp(1j * ph)
        static = [["+-", [[-t * e[b], int(j), int(i)] for b, (i, j) in enumerate(bonds)]],
                  ["+-", [[-t * e[b].conjugate(), int(i), int(j)] for b, (i, j) in enumerate(bonds)]]]
        dtype = np.complex128
    else:
        static = [["+-", [[-t, int(i), int(j)] for i, j in bonds]],
                  ["-+", [[+t, int(i), int(j)] for i, j in bonds]]]
        dtype = np.float64
    H = hamiltonian(static, [], basis=basis, dtype=dtype,
                    check_symm=False, check_herm=False, check_pcon=False)
    return H.tocsr()


PATHS = ("fast", "quspin", "matfree")


def sector_hamiltonian(model, nf: int, path: str = "fast"):
    """(basis states, sparse H) of the N_f = nf sector; both paths give the same basis
    order (QuSpin's) and the same matrix."""
    import scipy.sparse as sp
    N = model.n_sites
    if path == "quspin":
        basis = _basis(N, nf)
        states = np.asarray(basis.states).astype(np.uint64)
        H = hopping_matrix(basis, model.lattice.bonds, model.t, model.bond_phases())
    else:
        from .fock import hopping_csr, sector_states
        states = sector_states(N, nf)
        H = hopping_csr(states, N, model.lattice.bonds, model.t, model.bond_phases())
    diag = diagonal_energies(states, N, model.V, model.eps)
    return states, (H + sp.diags(diag)).tocsr()


def exact_ground_state(model, n_particles: int | None = None, *, path: str = "fast",
                       max_memory_gb: float = 12.0, dense_max: int = 400, tol: float = 1e-12,
                       keep_state: bool = False, resolve_degeneracy: bool = True,
                       degeneracy_tol: float = 1e-8) -> ExactResult:
    """Ground state of the model in the sector of ``n_particles`` (default: the model's).

    The ground-state manifold: all states within degeneracy_tol max(1, |E0|) of E0
    (dense path: from the full spectrum; Lanczos paths: by Lanczos on H restricted to
    the complement of the states found, stopped as soon as its lowest Ritz value is
    decided to lie above or below E0 + degeneracy_tol max(1, |E0|); on the fast path
    the ground state and the first of these decisions come from one block Lanczos
    run with blocks of two; docs/validation.md §8c).
    ``density`` is its average over the manifold, so a degenerate (open-shell) ground
    state gives the same densities on every path.  With ``resolve_degeneracy=False``
    only the energy is meaningful beyond one state (degeneracy = 0, not determined).

    path : "fast" (basis and hopping matrix from ``ed.fock``, numba), "quspin"
        (QuSpin's basis and operator construction, the reference; both give the same
        matrix in the same basis order) or "matfree" (no stored matrix: H x computed on
        the fly, ~10 vectors of memory; chosen automatically when the stored matrix
        would exceed max_memory_gb).

    Examples
    --------
    >>> from simglass import Lattice, Model, sample_disorder
    >>> from simglass import ed
    >>> lat = Lattice((2, 2, 2)); d = sample_disorder(lat, J=2.0, seed=1)
    >>> gs = ed.exact_ground_state(Model(lat, 1.0, d.V, d.eps, density=0.5))
    >>> gs.dimension
    70

    Raises TypeError for a model that is not a simglass.Model; ValueError naming the
    argument for N_f outside 0 .. N, an unknown ``path``, ``max_memory_gb`` or ``tol`` not
    finite and > 0, ``degeneracy_tol`` < 0, ``dense_max`` < 0, more than 62 sites, path
    'matfree' with a twist, or a sector that needs more than ``max_memory_gb``.
    """
    from simglass import Model
    if not isinstance(model, Model):
        raise TypeError(f"model must be a simglass.Model, got {type(model).__name__}")
    N = model.n_sites
    nf = model.n_particles if n_particles is None else n_particles
    if isinstance(nf, bool) or not isinstance(nf, (int, np.integer)) or not 0 <= nf <= N:
        raise ValueError(f"n_particles must be an integer in 0 .. N = {N}, got {nf!r}")
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    for name, x in (("max_memory_gb", max_memory_gb), ("tol", tol)):
        if isinstance(x, bool) or not isinstance(x, (int, float, np.floating)) or not (np.isfinite(x) and x > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    if not (np.isfinite(degeneracy_tol) and degeneracy_tol >= 0):
        raise ValueError(f"degeneracy_tol must be a finite number >= 0, got {degeneracy_tol!r}")
    if isinstance(dense_max, bool) or not isinstance(dense_max, (int, np.integer)) or dense_max < 0:
        raise ValueError(f"dense_max must be an integer >= 0, got {dense_max!r}")
    if N > 62:
        raise ValueError(f"N = {N} sites: exact diagonalisation supports at most 62 sites")
    Ns = comb(N, nf)
    scipy_csr = path == "quspin" or model.twisted or Ns <= dense_max
    need = sector_memory_gb(N, nf, model.lattice.n_bonds, 12 if scipy_csr else 4)
    need_free = Ns * (8 * 12) / 2**30  # states, diagonal and ~10 vectors
    if need > max_memory_gb and path == "fast" and not model.twisted:
        path = "matfree"
    if path == "matfree" and model.twisted:
        raise ValueError("path 'matfree' does not support twisted boundaries; use 'fast' or 'quspin'")
    if (need_free if path == "matfree" else need) > max_memory_gb:
        raise ValueError(f"sector N = {N}, N_f = {nf} has dimension {Ns:,} and needs about "
                         f"{need:.1f} GiB (stored matrix) or {need_free:.1f} GiB (matrix-free), "
                         f"more than max_memory_gb = {max_memory_gb}")
    if scipy_csr and path != "matfree":
        states, H = sector_hamiltonian(model, nf, path)
    else:
        from .fock import hopping_operator, matfree_matvec, sector_states
        states = sector_states(N, nf)
        make = matfree_matvec if path == "matfree" else hopping_operator
        H = make(states, diagonal_energies(states, N, model.V, model.eps), N, model.lattice.bonds, model.t)
    if Ns <= dense_max and not callable(H):
        Hd = H.toarray()
        E, psi = np.linalg.eigh(Hd)
        E0 = float(E[0])
        g = int(np.sum(E <= E0 + degeneracy_tol * max(1.0, abs(E0)))) if resolve_degeneracy else 1
        Z = psi[:, :g]
        residual = float(np.linalg.norm(Hd @ Z - Z * E[:g], axis=0).max())
        converged = True
    else:
        from simglass.blas import blas_one_thread
        with blas_one_thread():   # the products are numba's; spinning BLAS threads would slow them
            Z, E0, residual, converged, g = _lanczos_manifold(
                H, Ns, tol, max(max_memory_gb - (need_free if path == "matfree" else need), 0.0),
                degeneracy_tol if resolve_degeneracy else None)
    from .fock import site_densities
    dens = site_densities(states, N, (np.abs(Z) ** 2).mean(axis=1))
    return ExactResult(energy=E0, density=dens, n_particles=int(nf), dimension=int(Ns),
                       state=Z[:, 0].copy() if keep_state else None, residual=residual,
                       converged=bool(converged), degeneracy=g if resolve_degeneracy else 0,
                       degeneracy_tol=float(degeneracy_tol), manifold=Z if keep_state else None)


def _lanczos_manifold(H, Ns, tol, memory_gb, degeneracy_tol, pair=None):
    """Ground-state manifold by Lanczos: the ground state, then a Lanczos run on H
    restricted to the complement of the states found (their directions locked out of
    every Krylov vector, ``lock`` of ed.lanczos) that stops as soon as its lowest Ritz
    value is decided to lie above E0 + degeneracy_tol max(1, |E0|)
    (ed.lanczos.lowest_above: the gap is established, the manifold complete) or below
    it (then that state is converged and added, and the search repeats).
    With ``pair`` (default: when H has the two-vector product ``mv.pair``, the stored
    compact hopping of ed.fock.hopping_operator) the ground state and the first gap test
    are one block Lanczos run with blocks of two (ed.lanczos.pair_lanczos; 1.0-1.5 times
    faster than the two runs one after the other at 18-20 sites, 1.6 times at 24,
    docs/validation.md §8c).  When it does not find the gap (a degenerate or nearly
    degenerate ground state) its second Ritz vector joins the manifold if it passes the
    ground state's residual test, and the locked search follows.
    Returns (Z (Ns, g), E0, max residual, all converged, g); g = 1 when degeneracy_tol is None."""
    from .lanczos import csr_matvec, lanczos_ground_state, lowest_above, pair_lanczos
    complex_h = not callable(H) and np.iscomplexobj(H.data)
    mv = H if callable(H) else csr_matvec(H)
    rng = np.random.default_rng(0)

    def start():
        v = rng.standard_normal(Ns)
        return v + 0j if complex_h else v
    if pair is None:
        pair = getattr(mv, "pair", None) is not None
    r = None
    if pair and degeneracy_tol is not None and Ns >= 2:
        p = pair_lanczos(mv.pair, mv, rng.standard_normal((Ns, 2)), degeneracy_tol, tol=tol,
                         memory_gb=memory_gb)
        if p.converged and p.above:
            return p.state[:, None], p.energy, p.residual, True, 1
        r = p if p.converged else lanczos_ground_state(mv, p.state, tol=tol, memory_gb=memory_gb)
    if r is None:
        r = lanczos_ground_state(mv, start(), tol=tol, memory_gb=memory_gb)
    E0, found, residual, converged = r.energy, [r.state], r.residual, r.converged
    if degeneracy_tol is None:
        return r.state[:, None], E0, residual, converged, 1
    threshold = E0 + degeneracy_tol * max(1.0, abs(E0))
    if getattr(r, "second", None) is not None:
        # the pair run found a second level within the tolerance: keep its Ritz vector
        # when it is a converged state of the manifold (the locked search alone can
        # stall above a cluster of close levels and miss it)
        psi = r.second - r.state * (r.state @ r.second)
        psi -= r.state * (r.state @ psi)
        norm = np.linalg.norm(psi)
        if norm > 0:
            psi /= norm
            h_full = mv(psi)
            h_psi = h_full - r.state * (r.state @ h_full)
            e2 = float(psi @ h_psi)
            if e2 <= threshold and np.linalg.norm(h_psi - e2 * psi) <= np.sqrt(tol) * max(1.0, abs(e2)):
                found.append(psi)
                residual = max(residual, float(np.linalg.norm(h_full - E0 * psi)))
    while len(found) < Ns:
        Z = np.column_stack(found)
        v = start()
        above, _, _ = lowest_above(mv, v, threshold, lock=Z)
        if above is None:
            converged = False   # the gap above the manifold was not established
        if above or above is None:
            break
        r = lanczos_ground_state(mv, v, tol=tol, memory_gb=memory_gb, lock=Z)
        converged = converged and r.converged
        psi = r.state   # normalised, orthogonal to Z (lanczos_ground_state with lock)
        h_psi = mv(psi)
        residual = max(residual, float(np.linalg.norm(h_psi - E0 * psi)))
        found.append(psi)
    return np.column_stack(found), E0, residual, converged, len(found)


def density_response(model, n_particles=None, step: float = 1e-4, **kw) -> np.ndarray:
    """Static density response chi_ij = -∂<n_i>/∂eps_j of the ground state, by central
    differences of exact ground states with eps_j -> eps_j ± step (truncation error
    O(step²); 2N extra ground states).  Needs a non-degenerate ground state: raises
    ValueError for a degenerate one (there the T -> 0+ response diverges)."""
    from simglass import Model
    if isinstance(step, bool) or not isinstance(step, (int, float, np.floating)) or not (np.isfinite(step) and step > 0):
        raise ValueError(f"step must be a finite number > 0, got {step!r}")
    N = model.n_sites
    gs = exact_ground_state(model, n_particles, **kw)
    if gs.degeneracy > 1:
        raise ValueError(f"degenerate ground state (degeneracy {gs.degeneracy} within "
                         f"{gs.degeneracy_tol:g} relative): the static response diverges as T -> 0+")
    chi = np.empty((N, N))
    for j in range(N):
        dn = []
        for s in (+step, -step):
            eps = model.eps.copy()
            eps[j] += s
            m = Model(model.lattice, model.t, model.V, eps,
                      n_particles=model.n_particles if n_particles is None else n_particles)
            dn.append(exact_ground_state(m, **kw).density)
        chi[:, j] = -(dn[0] - dn[1]) / (2 * step)
    return 0.5 * (chi + chi.T)
