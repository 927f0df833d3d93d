"""Engine ``mc``: ground states and the local-field distribution at t = 0.

Per task (one realisation): ``mc.ground_state`` with the job's options; the record is
declared in ``OUTPUTS`` (the engines page of the documentation and ``simglass engines
mc`` print it).
"""

from __future__ import annotations

import numpy as np

from simglass.jobfile import sites_and_particles
from simglass.options import Option, default_of
from simglass.outputs import Output

from .ground_state import METHODS, ground_state

_pos = lambda x: x > 0  # noqa: E731

# per-task flags: dataset -> the value of a sound result (simglass info counts the others)
FLAGS = {"pair_stable": True}

OPTIONS = {
    "method": Option(str, default_of(ground_state, "method"), lambda x: x in METHODS, f"one of {METHODS}",
                     "parallel tempering, simulated annealing, tabu search over pair moves, or only the pair-move quench from a random state"),
    "sweeps": Option(int, default_of(ground_state, "sweeps"), _pos, ">= 1", "PT rounds, annealing sweeps (N proposals each) or tabu iterations / N"),
    "replicas": Option(int, default_of(ground_state, "replicas"), _pos, ">= 1", "PT temperatures"),
    "restarts": Option(int, default_of(ground_state, "restarts"), _pos, ">= 1", "independent runs; 2 or more give overlaps"),
    "T_min": Option(float, default_of(ground_state, "T_min"), _pos, "> 0", "lowest temperature (units of J)"),
    "T_max": Option(float, default_of(ground_state, "T_max"), _pos, "> 0", "highest temperature (units of J)"),
    "schedule": Option(str, default_of(ground_state, "schedule"), lambda x: x in ("geometric", "linear"),
                       "'geometric' or 'linear'", "annealing schedule"),
    "phi_max": Option(float, 4.0, _pos, "> 0", "histogram range of phi - mu"),
    "phi_bins": Option(int, 160, _pos, ">= 1", "histogram bins"),
    "overlap_every": Option(int, 10, _pos, ">= 1", "sweeps between overlap samples"),
    "modes": Option(int, 0, lambda x: x >= 0, ">= 0",
                    "largest eigenvectors of V the final state is projected on (0: none)"),
}


# the record of one task (simglass.outputs): every key run() returns, and only those
OUTPUTS = {
    "energy": Output("()", "energy", "E = Σ_i eps_i n_i - ½ Σ_{i≠j} V_ij n_i n_j of the lowest state found "
                     "(canonical, without -μ N_f)"),
    "energy_per_site": Output("()", "energy", "energy / N"),
    "C_sk": Output("()", "energy", "⅛ Σ_{i≠j} V_ij: (energy - C_sk)/N is the SK energy per site of the "
                   "compensated half-filled model (docs/conventions.md)"),
    "mu": Output("()", "energy", "canonical chemical potential of the state (docs/conventions.md)"),
    "occupation": Output("(N,)", "1", "n_i = 0 or 1 of the lowest state found", "int"),
    "phi": Output("(N,)", "energy", "local fields phi_i - μ of every site of that state (Eq. 15)"),
    "phi_hist": Output("(phi_bins,)", "count", "histogram of phi on phi_edges", "int"),
    "phi_edges": Output("(phi_bins + 1,)", "energy", "bin edges of phi_hist: phi_bins equal bins on "
                        "[-phi_max, phi_max]"),
    "pair_stable": Output("()", "", "no pair move (a particle moved to an empty site) lowers the energy "
                          "(checked exhaustively)", "bool"),
    "min_pair_delta": Output("()", "energy", "smallest pair-move ΔE of the state (>= 0 if pair-stable)"),
    "restarts_hit": Output("()", "count", "candidates (2 per restart) that reached the lowest energy: "
                           "1 means one restart found it once", "int"),
    "temperatures": Output("(replicas,)", "energy", "the PT temperature ladder (method pt), the "
                           "annealing schedule, shape (sweeps,) (method anneal), or empty (tabu, quench)"),
    "restart_energies": Output("(restarts,)", "energy", "the lowest quenched state of each independent "
                               "restart"),
    "restart_q": Output("(restarts (restarts - 1)/2,)", "1", "overlaps q_ab = (1/N) Σ_i s_i^a s_i^b "
                        "(s = 2n - 1) of the restarts' states for the pairs a < b: P(q) of the low-lying "
                        "states"),
    "mode_eigenvalues": Output("(min(modes, N),)", "energy", "the largest eigenvalues of V, descending", when="modes > 0"),
    "mode_weights": Output("(min(modes, N),)", "1", "ω_k = (u_k·s)²/N of the final state on the eigenvectors u_k of "
                           "mode_eigenvalues (the sum over all N eigenvectors is 1): condensation onto the "
                           "collective modes of cavity couplings", when="modes > 0"),
    "acceptance": Output("(replicas,)", "1", "accepted / proposed moves per temperature, averaged over "
                         "restarts", when='method = "pt"'),
    "exchange": Output("(replicas - 1,)", "1", "accepted / attempted swaps per adjacent pair of "
                       "temperatures, averaged over restarts", when='method = "pt"'),
    "energy_halves": Output("(restarts, 2)", "energy", "equilibration check: mean energy per site of the "
                            "coldest replica in the first and second half of the measurement window "
                            "(the second half of the sweeps), per restart", when='method = "pt"'),
    "q": Output("(samples,)", "1", "overlaps q = (1/N) Σ_i s_i^a s_i^b between the coldest replicas of "
                "restarts 0 and 1, sampled every overlap_every sweeps in the second half of the run",
                when='method = "pt", restarts >= 2'),
}


def check_point(params, options):
    check_classical_point("mc", params, options, ladder=True)


def check_classical_point(engine, params, options, ladder):
    """The parameter checks of the t = 0 engines (mc, thermal): 0 < N_f < N, t = 0 and,
    with ``ladder``, T_max > T_min.  Raises ValueError naming the parameter."""
    N, nf = sites_and_particles(params)
    if not 0 < nf < N:
        raise ValueError(f"L = {params['L']}: N = {N} sites with N_f = {nf} particles; engine {engine!r} needs "
                         "0 < N_f < N (pair moves need an occupied and an empty site)")
    if params["t"] != 0:
        raise ValueError(f"t = {params['t']}: engine {engine!r} is the classical t = 0 limit; "
                         "allowed: t = 0")
    if ladder and not options["T_max"] > options["T_min"]:
        raise ValueError(f"options.T_max = {options['T_max']} must exceed T_min = {options['T_min']}")


def mode_weights(V, occupation, k):
    """The k largest eigenvalues of V (descending; units of V) and the weights
    ω = (u·s)²/N of s = 2n - 1 on their unit eigenvectors u.  Shapes (min(k, N),)."""
    from scipy.linalg import eigh
    N = V.shape[0]
    k = min(int(k), N)
    lam, u = eigh(V, subset_by_index=[N - k, N - 1])
    s = 2.0 * np.asarray(occupation, float) - 1.0
    return lam[::-1].copy(), ((u.T @ s) ** 2 / N)[::-1].copy()


def memory_gb(params, options):
    """Per task: V and the fields in float64, about 2 N² numbers."""
    N, _ = sites_and_particles(params)
    return 2 * 8 * N ** 2 / 2 ** 30


def run(model, rng, *, method, sweeps, replicas, restarts, T_min, T_max, schedule, phi_max, phi_bins,
        overlap_every, modes):
    N = model.n_sites
    start = sweeps // 2
    snaps = {}

    def collect(r, s, states):
        if r < 2 and s >= start and (s - start) % overlap_every == 0:
            snaps.setdefault(r, []).append(2 * states[0].occ.astype(np.int8) - 1)

    gs = ground_state(model, rng=rng, method=method, sweeps=sweeps, replicas=replicas,
                      T_min=T_min, T_max=T_max, restarts=restarts, schedule=schedule,
                      callback=collect if method == "pt" else None)
    edges = np.linspace(-phi_max, phi_max, phi_bins + 1)
    rec = {
        "energy": gs.energy,
        "energy_per_site": gs.energy / N,
        "C_sk": model.V.sum() / 8.0,
        "mu": gs.mu,
        "occupation": gs.occupation,
        "phi": gs.fields,
        "phi_hist": np.histogram(gs.fields, bins=edges)[0],
        "phi_edges": edges,
        "pair_stable": gs.pair_stable,
        "min_pair_delta": gs.min_pair_delta,
        "restarts_hit": gs.restarts_hit,
    }
    diags = gs.diagnostics["restarts"]
    rec["temperatures"] = diags[0]["temperatures"]
    rec["restart_energies"] = np.array([d["final_energy"] for d in diags])
    spins = np.array([2.0 * d["final_occupation"] - 1.0 for d in diags])
    a, b = np.triu_indices(len(diags), k=1)
    rec["restart_q"] = (spins[a] * spins[b]).mean(axis=1)
    if modes:
        rec["mode_eigenvalues"], rec["mode_weights"] = mode_weights(model.V, gs.occupation, modes)
    if method == "pt":
        rec["acceptance"] = np.mean([d["acceptance"] for d in diags], axis=0)
        rec["exchange"] = np.mean([d["exchange"] for d in diags], axis=0)
        halves = []
        for d in diags:
            e = d["energy_coldest"][start:] / N
            h = e.size // 2
            halves.append([e[:h].mean() if h else np.nan, e[h:].mean()])
        rec["energy_halves"] = np.array(halves)
        if len(snaps) == 2:
            a, b = np.array(snaps[0]), np.array(snaps[1])
            rec["q"] = (a * b).mean(axis=1)
    return rec
