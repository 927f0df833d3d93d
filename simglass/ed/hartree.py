"""Self-consistent Hartree–Anderson solver at T = 0 (docs/conventions.md).

    h = -t A + diag(eps_i - Σ_{j≠i} V_ij <n_j>),   <n_i> = Σ_{a occ} |psi_a(i)|²

with the lowest N_f levels occupied (aufbau).  A degenerate shell at the Fermi level is
occupied equally (fractional occupations; ``degenerate`` is then True).  Converged when
max_i |n_out - n_in| <= ``tol`` (default 1e-8).

Methods: ``"trust"`` (default): trust-region Newton on the occupied orbitals, with the
exact E_H of each trial step and one diagonalisation to verify the solution
(ed.hartree_trust); where it cannot be used (complex orbitals of a twisted model) or
does not verify (a minimum over determinants that violates aufbau), ``"newton"``
continues from its density.  ``"newton"``: exact energy descent on the relaxed density
matrix (optimal damping / EDIIS) with a Newton–Krylov finish on the static response
(ed.hartree_descent).  ``"mixing"``: the older Anderson mixing with electronic-
temperature annealing (ed.hartree_mixing).  The last two are kept for comparison
(benchmarks/hartree.py).  The t = 0 limit (0/1
classical states) and J = 0 (one diagonalisation) use the mixing module's exact paths
whatever the method.  Every converged solution gets a stability check
(ed.response.hessian_min): a saddle point of E_H is flagged ``stable = False``.

Energy (double counting removed): E_H = Σ_{a occ} E_a + ½ Σ_{i≠j} V_ij <n_i><n_j>.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simglass.blas import numpy_blas_only
from simglass.options import generator

__all__ = ["HartreeResult", "hartree_solve", "aufbau", "hartree_hamiltonian"]

START_KINDS = ("classical", "random", "uniform")
# at T > 0 (ed.hartree_thermal) also the T = 0 solution of the classical start
THERMAL_START_KINDS = START_KINDS + ("zero_temperature",)
METHODS = ("trust", "newton", "mixing")


@dataclass
class HartreeResult:
    """A self-consistent (or flagged unconverged) Hartree solution.

    energy : E_H; levels : (N,) ascending; orbitals : (N, N) columns; density : (N,);
    occupations : (N,) level occupations (0, 1, or equal fractions in a degenerate
    Fermi shell); mu : midpoint of the highest occupied and lowest empty level;
    gap : E_{N_f} - E_{N_f - 1}; fields : Hartree fields eps_i - Σ_j V_ij <n_j> - mu;
    converged, iterations (diagonalisations), residual (max |Δn|), start (label);
    response_products : applications of the static response χ⁰ or of the orbital
    Hessian (each 0.05-0.15 of a diagonalisation at N = 512, benchmarks/hartree.py:
    trust-region CG, Newton steps and a Lanczos stability check); the dense response
    of ed.response.chi0_dense (about one diagonalisation, in the Newton finish and the
    stability check) is not counted;
    stability : lowest eigenvalue of the Hessian of E_H in the occupied–empty rotations,
    scaled by the level gaps (ed.response.hessian_min): >= 0 at a local minimum, < 0 at
    a saddle point, NaN when not checked (unconverged, t = 0, complex orbitals);
    stable : stability >= -stability_tol; True at t = 0 (0/1 states that are
    single-particle stable) and J = 0 (no interaction); False when unconverged or
    not checked (complex orbitals);
    starts : per start tried, (label, energy, converged, iterations, stability, density (N,)).
    """
    energy: float
    levels: np.ndarray
    orbitals: np.ndarray
    density: np.ndarray
    occupations: np.ndarray
    mu: float
    gap: float
    fields: np.ndarray
    converged: bool
    iterations: int
    residual: float
    start: str
    degenerate: bool = False
    response_products: int = 0
    stability: float = float("nan")
    stable: bool = False
    starts: list = field(default_factory=list)


def hartree_hamiltonian(model, density) -> np.ndarray:
    """Dense h = -t A + diag(eps - V n), shape (N, N) (complex for a twisted model)."""
    return shifted(bare_hamiltonian(model), -(model.V @ density))


def bare_hamiltonian(model) -> np.ndarray:
    """Dense h0 = -t A + diag eps, built once per solve."""
    h = -model.t * model.hopping_matrix().toarray()
    h[np.diag_indices_from(h)] += model.eps
    return h


def shifted(h0, v) -> np.ndarray:
    """h0 + diag v (a new array)."""
    h = h0.copy()
    h[np.diag_indices_from(h)] += v
    return h


def finish(model, x, E, psi, occ, deg, res, tol, iterations) -> "HartreeResult":
    """The HartreeResult of the last diagonalisation, of h[x] (levels E, orbitals psi,
    aufbau occupations occ), with μ, gap and fields of its output density n and
    E_H = Tr(h0 P) - ½ n·V·n of its Slater determinant P, Tr(h0 P) = Σ occ E + n·V·x
    (equal to Σ occ E + ½ n·V·n at self-consistency; this form is the functional's
    value, so its error is second order in the residual n - x)."""
    nf = model.n_particles
    mu = 0.5 * (E[nf - 1] + E[nf])
    dens = np.abs(psi) ** 2 @ occ
    energy = occ @ E + dens @ (model.V @ (x - 0.5 * dens))
    return HartreeResult(energy=float(energy), levels=E,
                         orbitals=psi, density=dens, occupations=occ, mu=float(mu),
                         gap=float(E[nf] - E[nf - 1]), fields=model.eps - model.V @ dens - mu,
                         converged=bool(res <= tol), iterations=iterations, residual=float(res),
                         start="", degenerate=deg)


def aufbau(levels, orbitals, n_particles, deg_tol):
    """Density and level occupations of the lowest n_particles levels; a degenerate
    shell at the Fermi level (levels within deg_tol) is filled equally."""
    N = levels.size
    occ = np.zeros(N)
    occ[:n_particles] = 1.0
    degenerate = False
    if 0 < n_particles < N and levels[n_particles] - levels[n_particles - 1] <= deg_tol:
        ef = levels[n_particles - 1]
        shell = np.flatnonzero(np.abs(levels - ef) <= deg_tol)
        lo, hi = shell[0], shell[-1] + 1
        occ[lo:hi] = (n_particles - lo) / (hi - lo)
        degenerate = True
    density = np.abs(orbitals) ** 2 @ occ
    return density, occ, degenerate


def energy_scale(model) -> float:
    """max(t, J, std eps): J estimated from the couplings as sqrt(N <V_ij²>)."""
    N = model.n_sites
    J = np.sqrt(N * (model.V ** 2).sum() / max(N * (N - 1), 1))
    return float(max(model.t, J, model.eps.std(), 1e-300))


def _start_density(model, kind, rng, classical_sweeps):
    N, nf = model.n_sites, model.n_particles
    if kind == "uniform":
        return np.full(N, nf / N)
    if kind == "random":
        x = rng.random(N)
        return x * (nf / x.sum())
    # "classical": the t = 0 ground state of the same V, eps (mc), when it exists
    if not 0 < nf < N:
        return np.full(N, nf / N)
    from simglass import mc
    from simglass import Model
    m0 = Model(model.lattice, 0.0, model.V, model.eps, n_particles=nf)
    gs = mc.ground_state(m0, rng=rng, sweeps=classical_sweeps, replicas=8, restarts=1)
    return gs.occupation.astype(float)


def start_list(model, starts, init_density=None, kinds=START_KINDS) -> list:
    """[(label, density or None)] of the starts of a Hartree solve: ``init_density``
    first (labelled "given"), then each of ``starts`` (one of ``kinds``).

    Raises ValueError for an unknown start, no start at all, or an init_density that is
    not a finite array of shape (N,)."""
    if isinstance(starts, str):
        starts = (starts,)
    for s in starts:
        if s not in kinds:
            raise ValueError(f"starts: {s!r} is not one of {kinds}")
    if not starts and init_density is None:
        raise ValueError("give at least one start (starts or init_density)")
    todo = []
    if init_density is not None:
        init_density = np.asarray(init_density, dtype=float)
        N = model.n_sites
        if init_density.shape != (N,) or not np.all(np.isfinite(init_density)):
            raise ValueError(f"init_density must be a finite array of shape ({N},)")
        todo.append(("given", init_density))
    return todo + [(s, None) for s in starts]


def hartree_solve(model, seed=None, *, rng=None, starts=("classical",), init_density=None,
                  tol: float = 1e-8, max_iter: int = 500, method: str = "trust",
                  history: int = 8, newton_below: float = 0.1, beta: float = 0.5,
                  patience: int = 5, beta_min: float = 0.02, smearing: float = 0.05,
                  warmup: int = 10, classical_sweeps: int = 300, stability_tol: float = 1e-6) -> HartreeResult:
    """Solve the Hartree equations from each start and keep the best solution: converged
    and stable before converged before unconverged; then the lowest E_H (the lowest
    residual among unconverged ones).

    Parameters
    ----------
    model : simglass.Model with 0 < N_f < N.
    starts : sequence of "classical" (the mc ground state at t = 0, default),
        "random" (random density with the right particle number), "uniform".
    init_density : (N,) array, an explicit start (e.g. the previous point of a scan:
        a warm start), tried first, labelled "given".
    tol : convergence threshold on max_i |n_out - n_in|.
    max_iter : diagonalisations per start (the warm-up's included); "trust" also takes
        at most this many trust-region steps before its fallback.
    method : "trust" (default; ed.hartree_trust), "newton" (ed.hartree_descent) or
        "mixing" (ed.hartree_mixing).
    history, newton_below : "newton" (and "trust"'s fallback): projectors kept in the energy-descent simplex, and
        the residual below which Newton steps start.
    history, beta, patience, beta_min : "mixing": Anderson history and damping.
    smearing : electronic temperature in units of ``energy_scale(model)`` (max of t, J,
        std eps). "mixing": the first of its annealing stages (then down to 0).
        "trust", "newton": the temperature of the warm-up.
    warmup : "trust", "newton": diagonalisations of density mixing at the temperature
        ``smearing`` before the descent (ed.hartree_mixing.smeared_warmup), which moves
        the start out of shallow basins (lower E_H at J/t >= 5, docs/validation.md §8);
        0 descends directly from the start.
    classical_sweeps : parallel-tempering sweeps of the classical start.
    stability_tol : a converged solution with ``stability`` below -stability_tol is a
        saddle point (``stable = False``).

    Returns
    -------
    HartreeResult (energies in the units of t, J, W).

    Raises
    ------
    TypeError for a model that is not a simglass.Model; ValueError naming the argument
    for any value out of range.

    Examples
    --------
    >>> from simglass import Lattice, Model, sample_disorder
    >>> from simglass import ed
    >>> lat = Lattice((4, 4, 4)); d = sample_disorder(lat, J=2.0, seed=1)
    >>> h = ed.hartree_solve(Model(lat, 1.0, d.V, d.eps, density=0.5), seed=1)
    >>> h.converged, h.residual <= 1e-8, h.stable
    (True, True, True)
    """
    from simglass import Model
    if not isinstance(model, Model):
        raise TypeError(f"model must be a simglass.Model, got {type(model).__name__}")
    if not 0 < model.n_particles < model.n_sites:
        raise ValueError(f"n_particles must lie in 1 .. N-1 = {model.n_sites - 1} (mu needs an "
                         f"occupied and an empty level), got {model.n_particles}")
    given = {"tol": tol, "max_iter": max_iter, "method": method, "smearing": smearing, "warmup": warmup,
             "classical_sweeps": classical_sweeps}
    for name, opt in SOLVER_OPTIONS.items():   # the checks of the engine's options (one source)
        x = given[name]
        opt.convert(name, int(x) if isinstance(x, np.integer) else float(x) if isinstance(x, np.floating) else x)
    for name, x in (("newton_below", newton_below),):
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not (np.isfinite(x) and x > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    if isinstance(stability_tol, bool) or not (np.isfinite(stability_tol) and stability_tol >= 0):
        raise ValueError(f"stability_tol must be a finite number >= 0, got {stability_tol!r}")
    for name, x, lo in (("history", history, 1), ("patience", patience, 1)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    if not 0 < beta <= 1:
        raise ValueError(f"beta must lie in (0, 1], got {beta!r}")
    if not 0 < beta_min <= beta:
        raise ValueError(f"beta_min must lie in (0, beta], got {beta_min!r}")
    todo = start_list(model, starts, init_density)
    rng = generator(seed, rng)
    h0 = bare_hamiltonian(model)
    with numpy_blas_only():
        return _best_of_starts(model, h0, todo, rng, tol, max_iter, method, history, newton_below, beta,
                               patience, beta_min, smearing, warmup, classical_sweeps, stability_tol)


def _best_of_starts(model, h0, todo, rng, tol, max_iter, method, history, newton_below, beta, patience,
                    beta_min, smearing, warmup, classical_sweeps, stability_tol):
    """hartree_solve's loop over its starts (its docstring)."""
    from .hartree_mixing import mixing_solve, smeared_warmup
    exact_path = model.t == 0 or not np.any(model.V)
    best, tried = None, []
    for label, n0 in todo:
        if n0 is None:
            n0 = _start_density(model, label, rng, classical_sweeps)
        if method in ("trust", "newton") and not exact_path:
            w = min(warmup, max_iter - 1) if smearing > 0 else 0
            if w:
                n0 = smeared_warmup(model, h0, n0, smearing * energy_scale(model), w)
            r = _descend_to_minimum(model, h0, n0, tol, max_iter - w, history, newton_below,
                                    stability_tol, method, rng=rng)
            r.iterations += w
        else:
            r = mixing_solve(model, h0, n0, tol, max_iter, beta, history, patience, beta_min,
                             smearing)
            check_stability(model, r, stability_tol, rng)
        r.start = label
        tried.append((label, r.energy, r.converged, r.iterations, r.stability, r.density))
        if best is None or _rank(r) < _rank(best):
            best = r
    best.starts = tried
    return best


def _rank(r):
    return (not r.converged, not r.stable, r.energy if r.converged else r.residual)


def _solve_from(model, h0, x, tol, max_iter, history, newton_below, method):
    """One solution from the density x: trust_solve (real h0), continued by descent_solve
    from its density when it is not converged; or descent_solve alone (method "newton").
    Diagonalisations and response products of both are added up."""
    from .hartree_descent import descent_solve
    from .hartree_trust import trust_solve
    its = prods = 0
    if method == "trust" and not np.iscomplexobj(h0) and max_iter >= 2:
        r = trust_solve(model, h0, x, tol, max_outer=max_iter, max_diag=max_iter)
        if r.converged or r.iterations >= max_iter:
            return r
        its, prods, x = r.iterations, r.response_products, r.density
    r = descent_solve(model, h0, x, tol, max_iter - its, history=history, newton_below=newton_below)
    r.iterations += its
    r.response_products += prods
    return r


def _descend_to_minimum(model, h0, n0, tol, max_iter, history, newton_below, stability_tol,
                        method="trust", escapes=3, push=0.3, rng=None):
    """_solve_from, and from a saddle point (a Newton finish can land on one) up to
    ``escapes`` restarts from its density pushed by ``push`` along the softest mode;
    a restart is kept when it converges below the saddle's E_H."""
    r = _solve_from(model, h0, n0, tol, max_iter, history, newton_below, method)
    mode = check_stability(model, r, stability_tol, rng)
    its, prods = r.iterations, r.response_products
    for _ in range(escapes):
        if not r.converged or r.stable or mode is None or its >= max_iter:
            break
        for sign in (1.0, -1.0):
            if its >= max_iter:
                break
            x = np.clip(r.density + sign * push * mode, 0.0, 1.0)
            r2 = _solve_from(model, h0, x, tol, max_iter - its, history, newton_below, method)
            mode2 = check_stability(model, r2, stability_tol, rng)
            its, prods = its + r2.iterations, prods + r2.response_products
            if r2.converged and r2.energy < r.energy:
                r, mode = r2, mode2
                break
    r.iterations, r.response_products = its, prods
    return r


def check_stability(model, r, stability_tol=1e-6, rng=None):
    """Set ``r.stability`` and ``r.stable`` (ed.response.hessian_min, its Lanczos started
    from ``rng``, the solve's generator) for a converged
    solution with t > 0 and real orbitals; t = 0 solutions are single-particle-stable 0/1
    states by construction (stable, stability NaN); J = 0 has no interaction (stable).
    Returns the density change (N,) of the softest mode, or None."""
    from .response import Response, hessian_min
    if not r.converged:
        return
    if model.t == 0 or not np.any(model.V):
        r.stable = True
        return
    resp = Response(r.levels, r.orbitals, model.n_particles, 1e-10 * energy_scale(model))
    r.stability, mode = hessian_min(resp, model.V, rng=rng)
    r.response_products += resp.products
    r.stable = bool(r.stability >= -stability_tol)
    return mode


def _solver_options():
    """The solver's arguments that the ``hartree`` engine exposes as [options]: their
    ranges and help, with the defaults of :func:`hartree_solve` (one declaration, used
    by the engine's job-file checks and by hartree_solve's own argument checks)."""
    from simglass.options import Option, default_of

    def pos(x):
        return x > 0
    return {
        "tol": Option(float, default_of(hartree_solve, "tol"), pos, "> 0", "max |Δn| at convergence"),
        "max_iter": Option(int, default_of(hartree_solve, "max_iter"), pos, ">= 1", "diagonalisations per start"),
        "method": Option(str, default_of(hartree_solve, "method"), lambda x: x in METHODS, f"one of {METHODS}",
                         "Hartree solver: trust-region Newton on the orbitals (default), energy descent + "
                         "Newton-Krylov, or the older density mixing"),
        "smearing": Option(float, default_of(hartree_solve, "smearing"), lambda x: x >= 0, ">= 0",
                           "electronic temperature / energy scale: the warm-up of trust and newton, mixing's first stage"),
        "warmup": Option(int, default_of(hartree_solve, "warmup"), lambda x: x >= 0, ">= 0",
                         "method = trust or newton: smeared mixing steps before the solve"),
        "classical_sweeps": Option(int, default_of(hartree_solve, "classical_sweeps"), pos, ">= 1",
                                   "PT sweeps of the classical start"),
    }


SOLVER_OPTIONS = _solver_options()
