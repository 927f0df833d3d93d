"""Self-consistent Hartree–Anderson solver at T = 0 (PHYSICS.md §3).

    h = -t A + diag(eps_i - Σ_{j≠i} V_ij <n_j>),   <n_i> = Σ_{a occ} |psi_a(i)|²

with the lowest N_f levels occupied (aufbau).  A degenerate shell at the Fermi level is
occupied equally (fractional occupations; ``degenerate`` is then True).  Iteration:
Anderson (Pulay) mixing of the density with history ``history`` and damping ``beta``;
when the residual grows for ``patience`` iterations in a row (charge sloshing or an
oscillation) the history is dropped and beta halved (down to ``beta_min``).  Converged
when max_i |n_out - n_in| <= ``tol`` (default 1e-8).

At t = 0 the levels are the local fields and the occupations 0/1: instead of mixing,
one particle at a time moves from the highest occupied to the lowest empty field; the
fixed points are the single-particle-stable classical states.

Energy (double counting removed): E_H = Σ_{a occ} E_a + ½ Σ_{i≠j} V_ij <n_i><n_j>.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["HartreeResult", "hartree_solve", "aufbau", "hartree_hamiltonian"]

START_KINDS = ("classical", "random", "uniform")


@dataclass
class HartreeResult:
    """A self-consistent (or flagged unconverged) Hartree solution.

    energy : E_H; levels : (N,) ascending; orbitals : (N, N) columns; density : (N,);
    occupations : (N,) level occupations (0, 1, or equal fractions in a degenerate
    Fermi shell); mu : midpoint of the highest occupied and lowest empty level;
    gap : E_{N_f} - E_{N_f - 1}; fields : Hartree fields eps_i - Σ_j V_ij <n_j> - mu;
    converged, iterations (diagonalisations), residual (max |Δn|), start (label);
    starts : per start tried, (label, energy, converged, iterations).
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
    starts: list = field(default_factory=list)


def hartree_hamiltonian(model, density) -> np.ndarray:
    """Dense h = -t A + diag(eps - V n)."""
    h = -model.t * model.hopping_matrix().toarray()
    h[np.diag_indices_from(h)] += model.eps - model.V @ density
    return h


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


def fermi_occupations(levels, n_particles, T):
    """Fermi-Dirac occupations at temperature T > 0 with mu fixed by Σ f = n_particles."""
    from scipy.optimize import brentq

    def excess(mu):
        return (0.5 * (1 - np.tanh((levels - mu) / (2 * T)))).sum() - n_particles
    mu = brentq(excess, levels[0] - 40 * T - 1, levels[-1] + 40 * T + 1, xtol=1e-14 * (1 + T))
    return 0.5 * (1 - np.tanh((levels - mu) / (2 * T)))


def _anderson_step(xs, fs, beta):
    if len(fs) == 1:
        return xs[-1] + beta * fs[-1]
    dF = np.array([fs[i + 1] - fs[i] for i in range(len(fs) - 1)])
    dX = np.array([xs[i + 1] - xs[i] for i in range(len(xs) - 1)])
    gamma = np.linalg.lstsq(dF.T, fs[-1], rcond=None)[0]
    return xs[-1] - dX.T @ gamma + beta * (fs[-1] - dF.T @ gamma)


def _classical_step(x, n_out, phi):
    """t = 0: a 0/1 state moves one particle, from the highest occupied field to the
    lowest empty one (the parallel aufbau map tends to 2-cycles); other states jump to
    their aufbau occupation."""
    occ = x > 0.5
    if not np.allclose(x, occ):
        return n_out
    i = np.flatnonzero(occ)[np.argmax(phi[occ])]
    j = np.flatnonzero(~occ)[np.argmin(phi[~occ])]
    x = x.copy()
    x[i], x[j] = 0.0, 1.0
    return x


def energy_scale(model) -> float:
    """max(t, J, std eps): J estimated from the couplings as sqrt(N <V_ij²>)."""
    N = model.n_sites
    J = np.sqrt(N * (model.V ** 2).sum() / max(N * (N - 1), 1))
    return float(max(model.t, J, model.eps.std(), 1e-300))


def smearing_schedule(T0, scale, factor=0.3, T_last=1e-4):
    """Electronic temperatures T0, T0*factor, ... above T_last*scale, then 0."""
    temps = []
    T = T0 * scale
    while T0 > 0 and T > T_last * scale:
        temps.append(T)
        T *= factor
    return temps + [0.0]


def _iterate(model, n0, tol, max_iter, beta, history, patience, beta_min, smearing=0.0,
             stage_iter=60, stage_tol=1e-6):
    """Mix the density to self-consistency.  With smearing > 0 the occupations are first
    Fermi functions at an electronic temperature lowered stage by stage (smearing_schedule,
    units of energy_scale), which guides the density into a basin, then the T = 0 aufbau."""
    nf = model.n_particles
    scale = energy_scale(model)
    deg_tol = 1e-10 * scale
    static = not np.any(model.V)  # J = 0: h does not depend on n (Anderson model)
    classical = model.t == 0
    if classical:
        smearing = 0.0
    x = np.array(n0, dtype=float)
    it, res = 0, np.inf
    beta0 = beta
    for T in (smearing_schedule(smearing, scale) if not static else [0.0]):
        xs, fs, norms, beta, k = [], [], [], beta0, 0
        while True:
            E, psi = np.linalg.eigh(hartree_hamiltonian(model, x))
            it += 1
            k += 1
            if T > 0:
                occ = fermi_occupations(E, nf, T)
                n_out, deg = np.abs(psi) ** 2 @ occ, False
            else:
                n_out, occ, deg = aufbau(E, psi, nf, deg_tol)
            f = n_out - x
            res = float(np.abs(f).max())
            if static:
                x, res = n_out, 0.0
                break
            if res <= (tol if T == 0 else stage_tol) or it >= max_iter or (T > 0 and k >= stage_iter):
                break
            if classical:
                x = _classical_step(x, n_out, hartree_hamiltonian(model, x).diagonal())
                continue
            norms.append(res)
            if len(norms) > patience and all(norms[-j] > norms[-j - 1] for j in range(1, patience + 1)):
                xs, fs = [], []          # sloshing / oscillation: restart, damp harder
                beta = max(beta / 2, beta_min)
                norms = [res]
            xs.append(x.copy())
            fs.append(f)
            xs, fs = xs[-history:], fs[-history:]
            x = _anderson_step(xs, fs, beta)
        if it >= max_iter:
            break
    mu = 0.5 * (E[nf - 1] + E[nf]) if 0 < nf < E.size else (E[-1] if nf else E[0])
    gap = E[nf] - E[nf - 1] if 0 < nf < E.size else np.nan
    dens = np.abs(psi) ** 2 @ occ
    energy = float(occ @ E + 0.5 * dens @ model.V @ dens)
    fields = model.eps - model.V @ dens - mu
    return HartreeResult(energy=energy, levels=E, orbitals=psi, density=dens, occupations=occ,
                         mu=float(mu), gap=float(gap), fields=fields,
                         converged=bool(res <= tol), iterations=it, residual=res, start="",
                         degenerate=deg)


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
    import mc
    from simglass import Model
    m0 = Model(model.lattice, 0.0, model.V, model.eps, n_particles=nf)
    gs = mc.ground_state(m0, rng=rng, sweeps=classical_sweeps, replicas=8, restarts=1)
    return gs.occupation.astype(float)


def hartree_solve(model, seed=None, *, rng=None, starts=("classical",), init_density=None,
                  tol: float = 1e-8, max_iter: int = 500, beta: float = 0.5, history: int = 8,
                  patience: int = 5, beta_min: float = 0.02, smearing: float = 0.05,
                  classical_sweeps: int = 300) -> HartreeResult:
    """Solve the Hartree equations from each start and keep the lowest E_H among the
    converged solutions (the lowest residual if none converged, flagged unconverged).

    starts : sequence of "classical" (the mc ground state at t = 0, default),
        "random" (random density with the right particle number), "uniform".
    init_density : (N,) array, an explicit start (e.g. the previous point of a t-scan:
        a warm start), tried first, labelled "given".
    smearing : first electronic temperature, in units of ``energy_scale(model)``
        (max of t, J, std eps); 0 starts directly with the T = 0 aufbau.  The final
        solution is always the T = 0 aufbau one.
    max_iter : diagonalisations per start, all stages together.

    Examples
    --------
    >>> from simglass import Lattice, Model, sample_disorder
    >>> import ed
    >>> lat = Lattice((4, 4, 4)); d = sample_disorder(lat, J=2.0, seed=1)
    >>> h = ed.hartree_solve(Model(lat, 1.0, d.V, d.eps, density=0.5), seed=1)
    >>> h.converged, h.residual <= 1e-8
    (True, True)
    """
    from simglass import Model
    if not isinstance(model, Model):
        raise TypeError(f"model must be a simglass.Model, got {type(model).__name__}")
    if not 0 < model.n_particles < model.n_sites:
        raise ValueError(f"n_particles must lie in 1 .. N-1 = {model.n_sites - 1} (mu needs an "
                         f"occupied and an empty level), got {model.n_particles}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be > 0, got {tol!r}")
    for name, x, lo in (("max_iter", max_iter, 1), ("history", history, 1), ("patience", patience, 1),
                        ("classical_sweeps", classical_sweeps, 1)):
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")
    if not 0 < beta <= 1:
        raise ValueError(f"beta must lie in (0, 1], got {beta!r}")
    if not (np.isfinite(smearing) and smearing >= 0):
        raise ValueError(f"smearing must be >= 0, got {smearing!r}")
    if not 0 < beta_min <= beta:
        raise ValueError(f"beta_min must lie in (0, beta], got {beta_min!r}")
    if isinstance(starts, str):
        starts = (starts,)
    for s in starts:
        if s not in START_KINDS:
            raise ValueError(f"starts: {s!r} is not one of {START_KINDS}")
    if not starts and init_density is None:
        raise ValueError("give at least one start (starts or init_density)")
    N = model.n_sites
    if rng is None:
        rng = np.random.default_rng(seed)
    todo = []
    if init_density is not None:
        init_density = np.asarray(init_density, dtype=float)
        if init_density.shape != (N,) or not np.all(np.isfinite(init_density)):
            raise ValueError(f"init_density must be a finite array of shape ({N},)")
        todo.append(("given", init_density))
    todo += [(s, None) for s in starts]
    best, tried = None, []
    for label, n0 in todo:
        if n0 is None:
            n0 = _start_density(model, label, rng, classical_sweeps)
        r = _iterate(model, n0, tol, max_iter, beta, history, patience, beta_min, smearing)
        r.start = label
        tried.append((label, r.energy, r.converged, r.iterations))
        key = (not r.converged, r.energy if r.converged else r.residual)
        if best is None or key < (not best.converged, best.energy if best.converged else best.residual):
            best = r
    best.starts = tried
    return best
