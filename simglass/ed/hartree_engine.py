"""Engine ``hartree``: self-consistent Hartree–Anderson solution per realisation.

The record (energies in the job's units) is declared in ``OUTPUTS``; the engines page of
the documentation and ``simglass engines hartree`` print it.  An unconverged solution
is stored with ``converged = 0`` and a saddle point with ``stable = 0``; the analyses
count both per point and never average them silently.
"""

from __future__ import annotations

import numpy as np

from simglass.jobfile import sites_and_particles
from simglass.options import Option, default_of
from simglass.outputs import Output

from .curvature import fermi_window, level_curvatures, spacing_ratios, thouless_g, window_gap_ratios
from .hartree import SOLVER_OPTIONS, START_KINDS, THERMAL_START_KINDS, hartree_solve
from .hartree_thermal import hartree_thermal_solve

_pos = lambda x: x > 0  # noqa: E731
FIXED_WINDOWS = (4, 16)   # levels per side of the extra fixed-count <ln g> (ln_g_mean_4, _16)

# per-task flags: dataset -> the value of a sound result (simglass info counts the others)
FLAGS = {"converged": True, "stable": True, "degenerate": False}

OPTIONS = {
    "starts": Option(str, default_of(hartree_solve, "starts"), lambda x: x in THERMAL_START_KINDS,
                     f"one or more of {START_KINDS}, and at T > 0 also 'zero_temperature'",
                     "starting densities; the lowest converged E_H (at T > 0 free energy) is kept; "
                     "'zero_temperature': the T = 0 solution of the classical start (ed.hartree_thermal)",
                     many=True),
    **SOLVER_OPTIONS,   # tol, max_iter, method, smearing, warmup, classical_sweeps (ed.hartree)
    "T": Option(float, 0.0, lambda x: x >= 0, ">= 0",
                "temperature (energy units, k_B = 1): 0 is the T = 0 solver (method, smearing, warmup); "
                "T > 0 solves the Hartree equations with Fermi-Dirac occupations at T by Anderson mixing with L-BFGS "
                "on the free energy as its fallback "
                "(ed.hartree_thermal; method, smearing and warmup unused), keeping the lowest free energy"),
    "continue_along": Option(str, "none", lambda x: x in ("none", "J", "t", "W"), 'one of "none", "J", "t", "W"',
                             "continue each realisation's solution along this scanned key: the "
                             "solution at the previous value (in the scan list's order) is the "
                             "start, without warm-up (method mixing anneals from `smearing` "
                             "regardless); the first value uses `starts`"),
    "r_fraction": Option(float, 0.1, lambda x: 0 < x <= 1, "in (0, 1]",
                         "fraction of levels around mu used for r"),
    "g_window": Option(int, 8, lambda x: x >= 2, ">= 2",
                       "levels on each side of mu used for the Thouless g and r_below / r_above"),
    "g_energy_max": Option(float, 1.0, lambda x: x >= 0, ">= 0",
                           "curvatures of every level with |E - mu| <= this (energy units) for the "
                           "energy-resolved <ln g> (g_energy_levels, g_energy_curvature); 0: none"),
    "dos_max": Option(float, 10.0, _pos, "> 0", "DOS / P(phi) histogram range"),
    "dos_bins": Option(int, 200, _pos, ">= 1", "DOS / P(phi) histogram bins"),
}

_G = "twisted directions: the periodic directions of extent >= 3 (none at t = 0)"

# the record of one task (simglass.outputs): every key run() returns, and only those
_HOT = "T > 0"
OUTPUTS = {
    "energy": Output("()", "energy", "E_H = Σ_{a occ} E_a + ½ Σ_{i≠j} V_ij <n_i><n_j> of the kept solution "
                     "(ed.hartree); at T > 0 the internal energy Σ_a f_a E_a + ½ Σ_{i≠j} V_ij <n_i><n_j> "
                     "(ed.hartree_thermal)"),
    "energy_per_site": Output("()", "energy", "energy / N"),
    "free_energy": Output("()", "energy", "F = energy - T entropy, the mean-field (Mermin) free energy that "
                          "the T > 0 solution minimises (ed.hartree_thermal)", when=_HOT),
    "entropy": Output("()", "1", "S = -Σ_a [f_a ln f_a + (1 - f_a) ln(1 - f_a)] of the Fermi occupations "
                      "(k_B = 1)", when=_HOT),
    "temperature": Output("()", "energy", "the option T", when=_HOT),
    "mu": Output("()", "energy", "midpoint of the highest occupied and the lowest empty level; at T > 0 the "
                 "Fermi-Dirac μ with Σ_a f_a = N_f"),
    "gap": Output("()", "energy", "single-particle gap at μ: E_{N_f} - E_{N_f - 1} (levels counted from 0)"),
    "levels": Output("(N,)", "energy", "all Hartree levels E_a, ascending (not relative to μ)"),
    "density": Output("(N,)", "1", "<n_i>, the self-consistent density"),
    "glass_order": Output("()", "1", "q = (1/N) Σ_i (<n_i> - n)² / (n(1 - n)), n the mean density: 0 in the "
                          "uniform Fermi liquid, 1 in a 0/1 state (glass_order); computed from density "
                          "when reading files written before it was stored"),
    "fields": Output("(N,)", "energy", "Hartree fields eps_i - Σ_j V_ij <n_j> - μ"),
    "converged": Output("()", "", "max_i |Δn_i| <= tol reached", "bool"),
    "iterations": Output("()", "count", "diagonalisations of the kept solution (warm-up included; at T > 0 "
                         "from the start zero_temperature also those of its T = 0 solve)", "int"),
    "response_products": Output("()", "count", "applications of the static response χ⁰ or of the orbital "
                                "Hessian (each 0.05-0.15 of a diagonalisation at N = 512); at T > 0 of the "
                                "stability operator K (two N³ products each)", "int"),
    "residual": Output("()", "1", "max_i |Δn_i| of the last iteration"),
    "stability": Output("()", "1", "lowest eigenvalue of the gap-scaled Hessian of E_H in the occupied–empty "
                        "rotations (ed.response.hessian_min): >= 0 at a local minimum, < 0 at a saddle "
                        "point, NaN when not checked; at T > 0 1 - λ_max of (-χ⁰_T)^½ V (-χ⁰_T)^½ on the "
                        "N_f-conserving density changes (ed.hartree_thermal.thermal_stability)"),
    "stable": Output("()", "", "stability >= -1e-6 (True at t = 0 and J = 0 when T = 0; False when "
                     "unconverged)", "bool"),
    "degenerate": Output("()", "", "a degenerate shell at the Fermi level, occupied equally (fractional "
                         "occupations); always False at T > 0", "bool"),
    "start": Output("()", "", 'the start that gave the kept solution ("classical", "random", "uniform", at '
                    'T > 0 "zero_temperature"; "continued" with continue_along); a string', "str"),
    "chain_iterations": Output("()", "count", "with continue_along: diagonalisations of the solutions at "
                               "the earlier values of the scanned key, recomputed in this task (the task's "
                               "cost grows with its position on the axis); else 0", "int"),
    "chain_sound": Output("()", "", "all those earlier solutions converged and stable (True without "
                          "continue_along)", "bool"),
    "starts_energy": Output("(starts,)", "energy", "E_H of every start tried (at T > 0 the free energy F)"),
    "starts_converged": Output("(starts,)", "", "converged, per start", "bool"),
    "starts_stability": Output("(starts,)", "1", "stability, per start"),
    "starts_overlap": Output("(starts,)", "1", "overlap of each start's solution with the kept one, "
                             "Σ δn_a δn_b / (|δn_a| |δn_b|) with δn = n - N_f/N (start_overlaps); NaN "
                             "where either is uniform"),
    "starts_distance": Output("(starts,)", "1", "max_i |n_a,i - n_kept,i| per start (0: the kept state)"),
    "distinct_solutions": Output("()", "count", "distinct converged, stable solutions among the starts "
                                 "(max |Δn| > DISTINCT between any two; distinct_states)", "int"),
    "ipr": Output("(N,)", "1", "inverse participation ratio Σ_i |psi_a(i)|⁴ of every level"),
    "r": Output("(≤ K - 2,)", "1", "adjacent-gap ratios r_k = min(s_k, s_{k+1}) / max(s_k, s_{k+1}) of the "
                "K = max(8, round(r_fraction N)) levels centred on the Fermi index N_f (ratios of degenerate pairs left out)"),
    "r_mean": Output("()", "1", "mean of r"),
    "g": Output("(directions, 2 g_window)", "1", "Thouless conductances g = |∂²E_n/∂θ²| / Δ of the "
                "g_window levels below and above μ, for a boundary twist θ along each direction, the "
                "Hartree potential frozen (second-order perturbation theory, ed.curvature); " + _G),
    "ln_g_mean": Output("()", "1", "<ln g> over the array g: the typical conductance of the realisation "
                        "(NaN without a twisted direction)"),
    **{f"ln_g_mean_{k}": Output("()", "1", f"the same with {k} levels per side of μ")
       for k in FIXED_WINDOWS},
    "level_spacing": Output("()", "energy", "Δ of g: the mean level spacing in the window, without the "
                            "spacing across μ"),
    "g_energy_levels": Output("(K,)", "energy", "E_n - μ of every level with |E_n - μ| <= g_energy_max "
                              "(for the mobility edge, analysis.mobility_edge)"),
    "g_energy_curvature": Output("(directions, K)", "energy", "∂²E_n/∂θ² of those levels (g_n needs the "
                                 "local mean spacing Δ(E), taken from the disorder-averaged DOS)"),
    "r_below": Output("(≤ g_window - 1,)", "1", "gap ratios of the g_window + 1 levels below μ (the spacing "
                      "across μ, which self-consistency enlarges, left out)"),
    "r_above": Output("(≤ g_window - 1,)", "1", "the same above μ"),
    "r_below_mean": Output("()", "1", "mean of r_below"),
    "r_above_mean": Output("()", "1", "mean of r_above"),
    "dos_hist": Output("(dos_bins,)", "count", "histogram of levels - μ on dos_edges", "int"),
    "phi_hist": Output("(dos_bins,)", "count", "histogram of the Hartree fields on dos_edges", "int"),
    "dos_edges": Output("(dos_bins + 1,)", "energy", "dos_bins equal bins on [-dos_max, dos_max]"),
}


def twist_directions(model):
    """The lattice directions that can carry a boundary twist (periodic, extent >= 3);
    none at t = 0."""
    lat = model.lattice
    return [a for a in range(lat.dim) if lat.periodic[a] and lat.shape[a] > 2 and model.t > 0]


def gap_ratios(levels, center, K):
    """Adjacent-gap ratios of the K levels centred on index ``center``."""
    N = levels.size
    K = min(K, N)
    lo = int(np.clip(center - K // 2, 0, N - K))
    return spacing_ratios(levels[lo:lo + K])


def check_point(params, options):
    if "zero_temperature" in options["starts"] and options["T"] == 0:
        raise ValueError("starts: 'zero_temperature' (the T = 0 solution as a start) needs T > 0; at T = 0 use "
                         f"one or more of {START_KINDS}")
    N, nf = sites_and_particles(params)
    if not 0 < nf < N:
        raise ValueError(f"L = {params['L']}: N = {N} sites with N_f = {nf} particles; engine 'hartree' needs "
                         "0 < N_f < N (a Fermi level between occupied and empty orbitals)")
    if params["t"] <= 0 and params["J"] == 0:
        raise ValueError("t = 0 and J = 0: nothing to solve")


def memory_gb(params, options):
    """Per task: about 12 dense N x N float64 matrices (V, h, orbitals, eigh and response
    work arrays)."""
    N, _ = sites_and_particles(params)
    return 12 * 8 * N ** 2 / 2 ** 30


def run(model, rng, chain=(), *, starts, tol, max_iter, method, smearing, warmup, classical_sweeps, T,
        continue_along, r_fraction, g_window, g_energy_max, dos_max, dos_bins):
    solver = dict(tol=tol, max_iter=max_iter, method=method, smearing=smearing, classical_sweeps=classical_sweeps)
    if T > 0:
        solver = dict(tol=tol, max_iter=max_iter, classical_sweeps=classical_sweeps, T=T)
    density, chain_its, chain_ok = None, 0, True
    for m in chain:             # continue_along: the earlier values of the scanned key, in order
        c = _solve(m, rng, starts, density, warmup, solver)
        density, chain_its, chain_ok = c.density, chain_its + c.iterations, chain_ok and c.converged and c.stable
    continued = density is not None
    h = _solve(model, rng, starts, density, warmup, solver)
    thermal = {"free_energy": h.free_energy, "entropy": h.entropy, "temperature": T} if T > 0 else {}
    N, nf = model.n_sites, model.n_particles
    r = gap_ratios(h.levels, nf, max(8, int(round(r_fraction * N))))
    edges = np.linspace(-dos_max, dos_max, dos_bins + 1)
    dirs = twist_directions(model)
    fixed = {k: fermi_window(N, nf, k) for k in sorted({g_window, *FIXED_WINDOWS})}
    in_window = np.flatnonzero(np.abs(h.levels - h.mu) <= g_energy_max) if g_energy_max > 0 else np.arange(0)
    index = np.union1d(np.concatenate(list(fixed.values())), in_window)
    curv = np.array([level_curvatures(model, h.levels, h.orbitals, a, index) for a in dirs]).reshape(len(dirs), -1)
    ln_g = {}
    for k, win in fixed.items():
        g, delta_k = np.full((len(dirs), 2 * k), np.nan), np.nan
        for d in range(len(dirs)):
            gk, delta_k = thouless_g(h.levels, curv[d, np.searchsorted(index, win)], nf, k)
            g[d, :gk.size] = gk
        ln_g[k] = (g, delta_k, np.nanmean(np.log(np.maximum(g, 1e-300))) if dirs else np.nan)
    g, delta, ln_g_mean = ln_g[g_window]
    pick = np.searchsorted(index, in_window)
    r_below, r_above = window_gap_ratios(h.levels, nf, g_window)
    return {
        "energy": h.energy,
        "energy_per_site": h.energy / N,
        **thermal,
        "mu": h.mu,
        "gap": h.gap,
        "levels": h.levels,
        "density": h.density,
        "glass_order": glass_order(h.density),
        "fields": h.fields,
        "converged": h.converged,
        "iterations": h.iterations,
        "response_products": h.response_products,
        "residual": h.residual,
        "stability": h.stability,
        "stable": h.stable,
        "degenerate": h.degenerate,
        "start": "continued" if continued else h.start,
        "chain_iterations": chain_its,
        "chain_sound": chain_ok,
        "starts_energy": np.array([s[1] for s in h.starts]),
        "starts_converged": np.array([s[2] for s in h.starts]),
        "starts_stability": np.array([s[4] for s in h.starts]),
        "starts_overlap": start_overlaps(h.density, [s[5] for s in h.starts]),
        "starts_distance": np.array([np.abs(s[5] - h.density).max() for s in h.starts]),
        "distinct_solutions": distinct_states([s[5] for s in h.starts if s[2] and s[4] >= -STABLE_TOL]),
        "ipr": (np.abs(h.orbitals) ** 4).sum(axis=0),
        "r": r,
        "r_mean": r.mean() if r.size else np.nan,
        "g": g,
        "ln_g_mean": ln_g_mean,
        **{f"ln_g_mean_{k}": ln_g[k][2] for k in FIXED_WINDOWS},
        "g_energy_levels": h.levels[in_window] - h.mu,
        "g_energy_curvature": curv[:, pick],
        "level_spacing": delta,
        "r_below": r_below,
        "r_above": r_above,
        "r_below_mean": r_below.mean() if r_below.size else np.nan,
        "r_above_mean": r_above.mean() if r_above.size else np.nan,
        "dos_hist": np.histogram(h.levels - h.mu, bins=edges)[0],
        "phi_hist": np.histogram(h.fields, bins=edges)[0],
        "dos_edges": edges,
    }


def glass_order(density) -> float:
    """The glass (charge) order q = (1/N) Σ_i (<n_i> - n)² / (n(1 - n)) of a density (N,)
    with mean n (0 < n < 1): 0 for the uniform state, 1 for a 0/1 (classical) state;
    the same normalisation as the overlap of the thermal Monte Carlo (docs/conventions.md)."""
    d = np.asarray(density, dtype=float)
    n = d.mean()
    return float(((d - n) ** 2).mean() / (n * (1.0 - n)))


DISTINCT = 1e-4   # max |Δn| above which two converged solutions are different states
STABLE_TOL = default_of(hartree_solve, "stability_tol")   # the solver's own test of a local minimum
UNIFORM = 1e-6   # rms of n - mean n below which a state is the uniform one (no glass profile)


def start_overlaps(kept, densities) -> np.ndarray:
    """Overlaps Σ_i δn_a,i δn_i / (|δn_a| |δn|) (δn = n - mean n, the glass profile) of
    each density (N,) in ``densities`` with ``kept`` (N,): 1 for the same profile, the
    multiplicity of the Hartree landscape; NaN where either is the uniform state (rms of
    δn below UNIFORM: its direction is rounding)."""
    d0 = np.asarray(kept, dtype=float) - np.mean(kept)
    n0 = np.linalg.norm(d0)
    out = []
    for x in densities:
        d = np.asarray(x, dtype=float) - np.mean(x)
        nd = np.linalg.norm(d)
        uniform = min(nd, n0) <= UNIFORM * np.sqrt(d.size)
        out.append(np.nan if uniform else float(d @ d0 / (nd * n0)))
    return np.array(out)


def distinct_states(densities, tol=DISTINCT) -> int:
    """The number of different states among ``densities`` (each (N,)), taken in order: a
    density is a new state when max_i |Δn_i| > tol from every state counted so far."""
    reps = []
    for x in densities:
        if not any(np.abs(np.asarray(x) - r).max() <= tol for r in reps):
            reps.append(np.asarray(x, dtype=float))
    return len(reps)


# record entries added after files were written: name -> (the entry it is computed from,
# the function); analysis.load fills them in when a task of an older file lacks them
DERIVED = {"glass_order": ("density", glass_order)}


def _solve(model, rng, starts, density, warmup, solver):
    """hartree_solve from ``starts`` (density None) or, continuing a scan, from
    ``density`` alone without warm-up; hartree_thermal_solve when ``solver`` has T."""
    if "T" in solver:
        solver = dict(solver)
        T = solver.pop("T")
        if density is None:
            return hartree_thermal_solve(model, T, rng=rng, starts=tuple(starts), **solver)
        return hartree_thermal_solve(model, T, rng=rng, starts=(), init_density=density, **solver)
    if density is None:
        return hartree_solve(model, rng=rng, starts=tuple(starts), warmup=warmup, **solver)
    return hartree_solve(model, rng=rng, starts=(), init_density=density, warmup=0, **solver)
