"""Self-consistent Hartree equations at temperature T > 0 at fixed particle number N_f
(docs/conventions.md, "Hartree at T > 0"; issue 35).

With h[n] = h0 - diag(V n), h0 = -t A + diag eps (dense, ed.hartree.bare_hamiltonian),
eigenpairs (E_a, ψ_a) of h[n]:

    f_a = 1 / (e^{(E_a - μ)/T} + 1),   Σ_a f_a = N_f   (μ by bisection),
    n_i = Σ_a f_a |ψ_a(i)|²,

solved by Anderson mixing of the density at the fixed T (ed.hartree_mixing.mixing_solve
with ``temperature = T``); where mixing has not converged after ``descent_after``
diagonalisations, by L-BFGS on the free energy F̃(x) of the Fermi density matrix of
h[x] (``free_energy_descent``) followed by mixing again.  The functional is the mean-field (Mermin) free energy

    F = Σ_a f_a E_a + ½ Σ_{i≠j} V_ij n_i n_j - T S,
    S = -Σ_a [f_a ln f_a + (1 - f_a) ln(1 - f_a)],

the internal energy E = Σ f E + ½ n·V·n being the T = 0 solver's E_H at T → 0 (h
contains -V n, so Σ f E counts the interaction twice; +½ n·V·n removes one half).
Reported from the last diagonalisation, of h[x] with x the last input density, as the
Mermin functional of its Fermi density matrix P (n = diag P):
F = Tr(h0 P) - ½ n·V·n - T S with Tr(h0 P) = Σ f E + n·V·x, equal to the above at
self-consistency and in error by O(|n - x|²) otherwise (as ed.hartree.finish at T = 0).

Stability.  F as a function of the density, F[n] = F_0[n] - ½ n·V·n with F_0 the
non-interacting free energy (a Legendre transform), has the Hessian
(-χ⁰_T)⁻¹ - V on the variations that keep N_f (Σ_i δn_i = 0), with the static response
at temperature T (fixed μ)

    χ⁰_kl = Σ_{a,b} ψ_a(k) ψ_b(k) ψ_b(l) ψ_a(l) (f_a - f_b)/(E_a - E_b),

the a = b and degenerate terms f'(E_a) = -f_a (1 - f_a)/T; -χ⁰ is positive definite for
T > 0.  With δn = (-χ⁰)^½ y, the solution is a local minimum of F when λ_max of
(-χ⁰)^½ V (-χ⁰)^½ on y ⊥ (-χ⁰)^½ 1 is <= 1.  Writing -χ⁰ = C Cᵀ,
(C Y)(k) = Σ_ab ψ_a(k) s_ab Y_ab ψ_b(k), s_ab = [(f_a - f_b)/(E_b - E_a)]^½ on the N × N
pair space (Y's antisymmetric part is in the kernel), the same λ_max is that of
K = Cᵀ V C on Y ⊥ Cᵀ 1 = diag(s_aa); ``thermal_stability`` finds it by Lanczos
(ARPACK), two dense N³ products per application, without building χ⁰.
``stability`` = 1 - λ_max: >= 0 at a local minimum, < 0 at a saddle point.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from simglass.blas import numpy_blas_only
from simglass.options import generator

from .hartree import (SOLVER_OPTIONS, THERMAL_START_KINDS, _start_density, bare_hamiltonian, hartree_solve,
                      shifted, start_list)

__all__ = ["ThermalHartreeResult", "hartree_thermal_solve", "thermal_state", "fermi_entropy", "pair_weights",
           "static_response", "thermal_stability", "check_temperature", "free_energy_descent", "free_energy_gradient",
           "mermin_functional"]


@dataclass
class ThermalHartreeResult:
    """A self-consistent (or flagged unconverged) Hartree solution at temperature T > 0.

    Energies in the units of t, J, W; N = number of sites.

    free_energy : F = E - T S (module docstring); energy : internal energy
    E = Σ_a f_a E_a + ½ Σ_{i≠j} V_ij n_i n_j (E_H of ed.hartree at T → 0); entropy : S
    (dimensionless, k_B = 1); temperature : T;
    mu : the Fermi-Dirac chemical potential with Σ_a f_a = N_f;
    gap : E_{N_f} - E_{N_f - 1} (levels counted from 0); levels : (N,) ascending;
    orbitals : (N, N) eigenvectors of h[n] in columns; occupations : (N,) f_a;
    density : (N,) n_i = Σ_a f_a |ψ_a(i)|²; fields : (N,) eps_i - Σ_j V_ij n_j - mu;
    glass_order : q = (1/N) Σ_i (n_i - n)² / (n(1 - n)) (ed.hartree_engine.glass_order);
    converged : max_i |n_out - n_in| <= tol; iterations : diagonalisations;
    residual : max_i |n_out - n_in| of the last one; start : label of the start;
    stability : 1 - λ_max of the constrained density Hessian (module docstring), >= 0 at
    a local minimum of F, NaN when not checked (unconverged, complex orbitals);
    stable : stability >= -stability_tol (False when not checked);
    response_products : applications of K in the stability check;
    degenerate : always False (Fermi occupations fill a degenerate shell equally);
    starts : per start tried, (label, free_energy, converged, iterations, stability, density (N,)).
    """
    free_energy: float
    energy: float
    entropy: float
    temperature: float
    mu: float
    gap: float
    levels: np.ndarray
    orbitals: np.ndarray
    occupations: np.ndarray
    density: np.ndarray
    fields: np.ndarray
    glass_order: float
    converged: bool
    iterations: int
    residual: float
    start: str = ""
    stability: float = float("nan")
    stable: bool = False
    response_products: int = 0
    degenerate: bool = False
    starts: list = field(default_factory=list)


def check_temperature(T, name="T") -> float:
    """T as a float; ValueError (one line naming ``name``) unless it is a finite number > 0."""
    if isinstance(T, bool) or not isinstance(T, (int, float, np.integer, np.floating)) or not (np.isfinite(T) and T > 0):
        raise ValueError(f"{name} must be a finite number > 0 (energy units; T = 0 is ed.hartree_solve), got {T!r}")
    return float(T)


def _fermi(levels, mu, T):
    """f(E - μ) and 1 - f, each computed without cancellation."""
    th = np.tanh((levels - mu) / (2 * T))
    return 0.5 * (1 - th), 0.5 * (1 + th)


def fermi_entropy(levels, mu, T) -> float:
    """S = -Σ_a [f ln f + (1 - f) ln(1 - f)] of the Fermi occupations of ``levels`` (N,) at
    chemical potential mu and temperature T > 0 (dimensionless; per level
    ln(1 + e^{-|x|}) + |x| / (e^{|x|} + 1), x = (E - μ)/T, exact also where f is 0 or 1)."""
    x = np.abs(np.asarray(levels, dtype=float) - mu) / T
    return float(np.sum(np.log1p(np.exp(-x)) + x / (np.exp(np.minimum(x, 700.0)) + 1.0)))


def thermal_state(model, h0, x, T):
    """Diagonalise h[x] = h0 - diag(V x) and fill it at temperature T > 0 with N_f
    particles.

    Parameters: model (simglass.Model), h0 (N, N) dense h0, x (N,) input density, T > 0.

    Returns a dict: levels (N,), orbitals (N, N), mu, occupations (N,), density (N,) the
    output n, entropy S, energy E = Tr(h0 P) - ½ n·V·n and free_energy F = E - T S of the
    Fermi density matrix P of h[x] (Tr(h0 P) = Σ f E + n·V·x): the Mermin functional,
    stationary in x at the self-consistent density (tests/test_hartree_thermal.py).
    """
    from .hartree_mixing import fermi_level
    E, psi = np.linalg.eigh(shifted(h0, -(model.V @ x)))
    mu = fermi_level(E, model.n_particles, T)
    f = _fermi(E, mu, T)[0]
    n = np.abs(psi) ** 2 @ f
    S = fermi_entropy(E, mu, T)
    energy = float(f @ E + n @ (model.V @ (x - 0.5 * n)))
    return {"levels": E, "orbitals": psi, "mu": float(mu), "occupations": f, "density": n, "entropy": S,
            "energy": energy, "free_energy": energy - T * S}


def mermin_functional(model, h0, P, T) -> float:
    """F[P] = Tr(h0 P) - ½ n·V·n - T S(P), n = diag P, S(P) = -Tr[P ln P + (1 - P) ln(1 - P)]
    of a real symmetric density matrix 0 <= P <= 1 (N, N) at temperature T > 0 (S from the
    eigenvalues of P, clipped to [0, 1] against rounding), equal to the module docstring's
    F for a Fermi P: ``free_energy_descent`` lowers it over the Fermi matrices P(x)."""
    from scipy.special import xlogy
    w = np.clip(np.linalg.eigvalsh(P), 0.0, 1.0)
    n = np.diag(P)
    S = -float(np.sum(xlogy(w, w) + xlogy(1.0 - w, 1.0 - w)))
    return float(np.sum(h0 * P) - 0.5 * n @ (model.V @ n) - T * S)


def free_energy_gradient(model, state, x, T) -> np.ndarray:
    """∇F̃(x) (N,) of F̃(x) = F[P(x)], the Mermin functional of the Fermi density matrix
    P(x) of h[x] at T with N_f particles (``state``: thermal_state(model, h0, x, T)).

    F̃ = Ω[h[x]] + x·V·n - ½ n·V·n with Ω the non-interacting free energy at fixed N_f, so
    ∇F̃ = V G V (x - n), G = -χ⁰_T at fixed N_f (module docstring; the μ shift that keeps
    N_f projects out g = -χ⁰ 1):  G w = -χ⁰ w - g (g·w)/(Σ g).  One product is two dense
    N³ products.  Zero at self-consistency (x = n).  Energy units per unit density.
    Real orbitals and symmetric V only (ValueError for complex orbitals: a twisted model).
    Where μ lies in a gap much wider than T, f(1 - f) underflows to 0 on every level and
    g = 0: the projection is then zero as well."""
    psi, n, V = state["orbitals"], state["density"], model.V
    if np.iscomplexobj(psi):
        raise ValueError("free_energy_gradient needs real orbitals (untwisted model)")
    m = pair_weights(state["levels"], state["mu"], T)
    w = V @ (np.asarray(x, dtype=float) - n)
    Gw = np.einsum("ka,ka->k", psi @ (m * (psi.T @ (w[:, None] * psi))), psi)
    g = psi ** 2 @ np.diag(m)
    total = g.sum()
    return V @ (Gw - g * (g @ w) / total if total > 0 else Gw)


class _Budget(Exception):
    """free_energy_descent's stop: budget used up or F̃ stalled."""


def free_energy_descent(model, h0, x0, T, max_diag, stall=1e-8, window=10, history=30):
    """Minimise F̃(x) = F[P(x)] over input densities x by L-BFGS (scipy.optimize.minimize,
    "L-BFGS-B" without bounds: Byrd, Lu, Nocedal & Zhu, SIAM J. Sci. Comput. 16, 1190
    (1995); Zhu, Byrd, Lu & Nocedal, ACM Trans. Math. Softw. 23, 550 (1997)), one
    diagonalisation and one ``free_energy_gradient`` per evaluation.

    F̃(x) >= min F (P(x) is a density matrix), and a local minimum of F̃ is a stable
    solution of the Hartree equations at T.  The fallback of ``hartree_thermal_solve``
    where Anderson mixing does not converge: deep in the glass mixing can cycle far from
    any solution, and F has long flat valleys that a descent by fixed-point steps crosses
    in thousands of diagonalisations.  F̃ does not fix x along directions where V G V is
    small (|n - x| can stay large while P(x) has converged), so the descent returns the
    output density n(x) of its lowest F̃, from which mixing converges.

    Parameters
    ----------
    model : simglass.Model; h0 : (N, N) real dense h0 (ed.hartree.bare_hamiltonian);
    x0 : (N,) start density; T : temperature > 0 (energy units);
    max_diag : evaluations (diagonalisations), >= 1, never exceeded;
    stall : >= 0, stop once the lowest F̃ has fallen by less than stall × max(|F̃|, N T)
        over the last ``window`` (>= 1) evaluations; history : L-BFGS correction pairs, >= 1.
        The descent also stops at a non-finite F̃ or gradient, and where L-BFGS stops by
        itself (no decrease along its line search).

    Returns
    -------
    (n (N,), diagonalisations, F): the output density and F̃ (energy units) of the lowest
    F̃ evaluated.

    Raises
    ------
    ValueError for a complex h0 (twisted model), T <= 0, or max_diag, window, history
    below 1 or stall below 0 (each named).
    """
    from scipy.optimize import minimize
    if np.iscomplexobj(h0):
        raise ValueError("free_energy_descent needs a real h0 (untwisted model)")
    T = check_temperature(T)
    for name, v in (("max_diag", max_diag), ("window", window), ("history", history)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if isinstance(stall, bool) or not (np.isfinite(stall) and stall >= 0):
        raise ValueError(f"stall must be a finite number >= 0, got {stall!r}")
    x0 = np.asarray(x0, dtype=float)
    floor = model.n_sites * T
    Fs, best = [], [np.inf, None]

    def fun(x):
        if len(Fs) >= max_diag:
            raise _Budget
        s = thermal_state(model, h0, x, T)
        F = s["free_energy"]
        Fs.append(F)
        if best[1] is None or F < best[0]:                # the first evaluation always
            best[:] = [F, s["density"]]
        if not np.isfinite(F):
            raise _Budget
        if len(Fs) > window and min(Fs[:-window]) - best[0] <= stall * max(abs(best[0]), floor):
            raise _Budget
        grad = free_energy_gradient(model, s, x, T)
        if not np.all(np.isfinite(grad)):
            raise _Budget
        return F, grad
    try:
        minimize(fun, x0, jac=True, method="L-BFGS-B",
                 options={"maxcor": history, "maxfun": 10 * max_diag, "maxiter": 10 * max_diag, "ftol": 0.0, "gtol": 0.0})
    except _Budget:
        pass
    return best[1], len(Fs), best[0]


def pair_weights(levels, mu, T):
    """m_ab = (f_a - f_b)/(E_b - E_a) >= 0, shape (N, N), with -f'(E) = f (1 - f)/T at the
    mean level for a = b and for |E_a - E_b| <= 1e-6 T (energy⁻¹); -χ⁰ = Σ_ab m_ab φ_ab φ_abᵀ,
    φ_ab(k) = ψ_a(k) ψ_b(k)."""
    E = np.asarray(levels, dtype=float)
    f = _fermi(E, mu, T)[0]
    dE = E[None, :] - E[:, None]
    close = np.abs(dE) <= 1e-6 * T
    mid = 0.5 * (E[None, :] + E[:, None])
    fm, gm = _fermi(mid, mu, T)
    return np.where(close, fm * gm / T, (f[:, None] - f[None, :]) / np.where(close, 1.0, dE))


def static_response(levels, orbitals, mu, T) -> np.ndarray:
    """Dense χ⁰_T (N, N) (energy⁻¹, <= 0) of the module docstring, for real orbitals.
    Builds the (N, N, N) pair products: for small N (tests), N ≲ 100."""
    psi = np.asarray(orbitals)
    m = pair_weights(levels, mu, T)
    phi = psi[:, :, None] * psi[:, None, :]                      # (k, a, b)
    return -np.einsum("kab,ab,lab->kl", phi, m, phi)


def thermal_stability(levels, orbitals, mu, T, V, tol=1e-6, maxiter=1000, rng=None):
    """1 - λ_max of K = Cᵀ V C on Y ⊥ Cᵀ1 (module docstring): >= 0 when the solution is a
    local minimum of F under the density changes that keep N_f.

    Parameters
    ----------
    levels (N,), orbitals (N, N) real : eigenpairs of the self-consistent h;
    mu, T : chemical potential and temperature > 0 (energy units);
    V : (N, N) couplings; tol : relative accuracy of the ARPACK eigenvalue;
    rng : numpy Generator for ARPACK's start vector (default: seed 0, reproducible).

    Returns
    -------
    (stability, products, mode): a float (NaN for complex orbitals: not checked), the
    number of applications of K, and the density change (N,) of the softest direction,
    δn = C Y, normalised to max |δn| = 1 (None when not checked).

    Raises
    ------
    ArpackNoConvergence if ARPACK does not converge in ``maxiter``.
    """
    psi = np.asarray(orbitals)
    if np.iscomplexobj(psi):
        return float("nan"), 0, None
    N = psi.shape[0]
    s = np.sqrt(pair_weights(levels, mu, T))
    c = np.diag(np.diag(s)).ravel()
    c /= max(np.linalg.norm(c), 1e-300)
    count = [0]

    def K(y):
        count[0] += 1
        y = y - c * (c @ y)
        dn = np.einsum("ka,ka->k", psi @ (s * y.reshape(N, N)), psi)
        out = (s * (psi.T @ ((V @ dn)[:, None] * psi))).ravel()
        return out - c * (c @ out)
    if N * N <= 3:
        dense = np.column_stack([K(e) for e in np.eye(N * N)])
        w, y = np.linalg.eigh(0.5 * (dense + dense.T))
    else:
        v0 = (np.random.default_rng(0) if rng is None else rng).standard_normal(N * N)
        w, y = eigsh(LinearOperator((N * N, N * N), matvec=K, dtype=float), k=1, which="LA", tol=tol,
                     maxiter=maxiter, ncv=min(N * N, 20), v0=v0)
    y = y[:, -1] - c * (c @ y[:, -1])
    dn = np.einsum("ka,ka->k", psi @ (s * y.reshape(N, N)), psi)
    return float(1.0 - w[-1]), count[0], dn / max(np.abs(dn).max(), 1e-300)


def hartree_thermal_solve(model, T, seed=None, *, rng=None, starts=("classical",), init_density=None,
                          tol: float = 1e-8, max_iter: int = 500, history: int = 20, beta: float = 0.3,
                          patience: int = 5, beta_min: float = 0.02, classical_sweeps: int = 300,
                          stability_tol: float = 1e-6, escapes: int = 3, push: float = 0.3,
                          descent_after: int = 300) -> ThermalHartreeResult:
    """Solve the Hartree equations at temperature T > 0 from each start and keep the best
    solution: converged and stable before converged before unconverged; then the lowest
    free energy F (the lowest residual among unconverged ones).

    Parameters
    ----------
    model : simglass.Model with 0 < N_f < N (t = 0 allowed: the mean-field equations of
        the classical model at T).
    T : temperature, energy units (k_B = 1), finite and > 0.
    starts : sequence of "classical" (the t = 0 ground state of mc, default), "random",
        "uniform" (as ed.hartree_solve), "zero_temperature" (the T = 0 solution of
        ed.hartree_solve from the classical state with the default trust-region solver:
        a local minimum of E_H, which near the glass onset converges at T > 0 where the
        classical start often does not; its diagonalisations are added to the start's
        ``iterations``, outside the ``max_iter`` budget).  "classical" and
        "zero_temperature" share one classical state (annealed once).
    init_density : (N,) explicit start, tried first, labelled "given".
    tol : convergence threshold on max_i |n_out - n_in|.
    max_iter : diagonalisations per start.
    history, beta, patience, beta_min : Anderson mixing (ed.hartree_mixing.mixing_solve);
        a longer history and a smaller beta than at T = 0 (8, 0.5) converged more of the
        W~ = 0, L = 6 tasks near the glass onset (J/t = 3-4, T/t = 0.05-0.2).
    classical_sweeps : parallel-tempering sweeps of the classical start.
    stability_tol : a converged solution with stability below -stability_tol is a
        saddle point of F (``stable = False``).
    escapes, push : from a converged saddle point, up to ``escapes`` restarts from its
        density pushed by ± ``push`` along the softest mode (thermal_stability's mode,
        max |δn| = 1); a restart is kept when it converges to a lower F.  All within
        ``max_iter`` diagonalisations per start.
    descent_after : a start whose Anderson mixing has not converged after
        ``descent_after`` diagonalisations is solved again from the same density by
        ``free_energy_descent`` (L-BFGS on the free energy), then by mixing to ``tol``
        from the output density of its lowest F (min(50, a quarter) of the
        diagonalisations left are kept for that mixing), within the same ``max_iter``;
        the one with the lower residual is kept (real h0 only: twisted models use mixing
        alone).  On the W̃ = 0 axis at L = 6 and 8, T/t = 0.1, J/t = 3.5-5 deep in the
        glass, mixing alone left 15 of the first 78 tasks of
        jobs/hartree_finite_t_loc_T010.toml unconverged after 1000 diagonalisations per
        start, and an earlier fallback (a descent by fixed-point steps, F never rising)
        left 22 of its 420 tasks flagged: F has long flat valleys there.  With this
        fallback all 22 converge to stable solutions in 464-631 diagonalisations of the
        start kept (docs/validation.md §13; benchmarks/hartree_thermal_descent.py,
        benchmarks/hartree_thermal_flagged.py).

    Returns
    -------
    ThermalHartreeResult.

    Raises
    ------
    TypeError for a model that is not a simglass.Model; ValueError naming the argument
    for a value out of range (T <= 0 or not finite, N_f outside 1 .. N - 1, ...).

    Examples
    --------
    >>> from simglass import Lattice, Model, sample_disorder
    >>> import simglass.ed.hartree_thermal as ht
    >>> lat = Lattice((3, 3, 3)); d = sample_disorder(lat, J=1.0, W=1.0, seed=1)
    >>> r = ht.hartree_thermal_solve(Model(lat, 1.0, d.V, d.eps, density=0.5), 0.5, starts=("uniform",))
    >>> r.converged, r.stable, bool(r.free_energy < r.energy)
    (True, True, True)
    """
    from simglass import Model

    from .hartree_engine import glass_order
    from .hartree_mixing import mixing_solve
    if not isinstance(model, Model):
        raise TypeError(f"model must be a simglass.Model, got {type(model).__name__}")
    T = check_temperature(T)
    if not 0 < model.n_particles < model.n_sites:
        raise ValueError(f"n_particles must lie in 1 .. N-1 = {model.n_sites - 1}, got {model.n_particles}")
    given = {"tol": tol, "max_iter": max_iter, "classical_sweeps": classical_sweeps}
    for name, x in given.items():
        SOLVER_OPTIONS[name].convert(name, int(x) if isinstance(x, np.integer) else
                                     float(x) if isinstance(x, np.floating) else x)
    for name, x in (("push", push),):
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not (np.isfinite(x) and x > 0):
            raise ValueError(f"{name} must be a finite number > 0, got {x!r}")
    for name, x, lo in (("history", history, 1), ("patience", patience, 1), ("escapes", escapes, 0),
                        ("descent_after", descent_after, 1)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    if not 0 < beta <= 1:
        raise ValueError(f"beta must lie in (0, 1], got {beta!r}")
    if not 0 < beta_min <= beta:
        raise ValueError(f"beta_min must lie in (0, beta], got {beta_min!r}")
    if isinstance(stability_tol, bool) or not (np.isfinite(stability_tol) and stability_tol >= 0):
        raise ValueError(f"stability_tol must be a finite number >= 0, got {stability_tol!r}")
    todo = start_list(model, starts, init_density, kinds=THERMAL_START_KINDS)
    rng = generator(seed, rng)
    h0 = bare_hamiltonian(model)
    best, tried = None, []

    def solve(x, budget):
        m = mixing_solve(model, h0, x, tol, min(budget, descent_after), beta, history, patience, beta_min,
                         temperature=T)
        left = budget - m.iterations
        if not m.converged and left >= 4 and not np.iscomplexobj(h0):
            polish = max(1, min(50, left // 4))             # kept for the mixing after the descent
            nd, used, _ = free_energy_descent(model, h0, x, T, left - polish)
            spent = m.iterations + used
            m2 = mixing_solve(model, h0, nd, tol, budget - spent, beta, history, patience, beta_min, temperature=T)
            spent = m2.iterations = m2.iterations + spent
            m = m2 if m2.converged or m2.residual < m.residual else m
            m.iterations = spent            # every diagonalisation of the start counted
        r = _result(model, m, T, glass_order)
        mode = None
        if r.converged and not np.iscomplexobj(r.orbitals):
            r.stability, r.response_products, mode = thermal_stability(r.levels, r.orbitals, r.mu, T, model.V,
                                                                        rng=rng)
            r.stable = bool(r.stability >= -stability_tol)
        return r, mode
    with numpy_blas_only():
        classical = []                      # the classical state, annealed once for both starts that use it
        for label, n0 in todo:
            extra = 0
            if n0 is None and label in ("classical", "zero_temperature") and not classical:
                classical.append(_start_density(model, "classical", rng, classical_sweeps))
            if n0 is None and label == "zero_temperature":
                z = hartree_solve(model, rng=rng, starts=(), init_density=classical[0], tol=tol,
                                  classical_sweeps=classical_sweeps)
                n0, extra = z.density, z.iterations
            elif n0 is None and label == "classical":
                n0 = classical[0]
            elif n0 is None:
                n0 = _start_density(model, label, rng, classical_sweeps)
            r, mode = solve(n0, max_iter)
            its, prods = r.iterations, r.response_products
            for _ in range(escapes):        # from a saddle point: push along the softest mode
                if not r.converged or r.stable or mode is None or its >= max_iter:
                    break
                for sign in (1.0, -1.0):
                    if its >= max_iter:
                        break
                    r2, mode2 = solve(np.clip(r.density + sign * push * mode, 0.0, 1.0), max_iter - its)
                    its, prods = its + r2.iterations, prods + r2.response_products
                    if r2.converged and r2.free_energy < r.free_energy:
                        r, mode = r2, mode2
                        break
                else:
                    break
            r.iterations, r.response_products = its + extra, prods
            r.start = label
            tried.append((label, r.free_energy, r.converged, r.iterations, r.stability, r.density))
            if best is None or _rank(r) < _rank(best):
                best = r
    best.starts = tried
    return best


def _rank(r):
    return (not r.converged, not r.stable, r.free_energy if r.converged else r.residual)


def _result(model, m, T, glass_order):
    """The ThermalHartreeResult of mixing_solve's HartreeResult ``m`` at temperature T:
    its energy is the internal energy of the Fermi density matrix of its last h[x]
    (ed.hartree.finish), μ is replaced by the Fermi-Dirac one and F = E - T S."""
    from .hartree_mixing import fermi_level
    mu = fermi_level(m.levels, model.n_particles, T)
    S = fermi_entropy(m.levels, mu, T)
    return ThermalHartreeResult(
        free_energy=float(m.energy - T * S), energy=float(m.energy), entropy=S, temperature=T, mu=float(mu),
        gap=m.gap, levels=m.levels, orbitals=m.orbitals, occupations=m.occupations, density=m.density,
        fields=model.eps - model.V @ m.density - mu, glass_order=glass_order(m.density),
        converged=m.converged, iterations=m.iterations, residual=m.residual)
