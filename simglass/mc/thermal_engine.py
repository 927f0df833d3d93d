"""Engine ``thermal``: equilibrium thermal averages at t = 0 by parallel tempering with two (or four) independent replica chains.

Per task (one realisation): ``mc.thermal`` over a ladder of ``replicas`` temperatures
in [T_min, T_max] (canonical pair moves at fixed N_f); per temperature ⟨E⟩, ⟨E²⟩, the
specific heat, ⟨q²⟩, ⟨q⁴⟩ and P(q) of the chains' overlaps (with ``chains = 4`` also the
moments of the connected spin-glass susceptibility), P(φ − μ(T)), and the equilibration
diagnostics.  A task whose logarithmic-binning test fails, or whose
chains made fewer than MIN_ROUND_TRIPS round trips, is flagged (``equilibrated``):
``simglass info`` counts it and analysis.thermal leaves it out.
The record is declared in ``OUTPUTS``; conventions in docs/conventions.md ("Thermal
Monte Carlo").
"""

from __future__ import annotations

import numpy as np

from simglass.jobfile import sites_and_particles
from simglass.options import Option
from simglass.outputs import Output

from .parallel_tempering import LADDERS, temperature_ladder
from .mc_engine import check_classical_point
from .thermal import CHAINS, EQUILIBRATION_FALSE_ALARM, MIN_ROUND_TRIPS, MIN_SWEEPS, WINDOW_BLOCKS, thermal

_pos = lambda x: x > 0  # noqa: E731

# per-task flags: dataset -> the value of a sound result (simglass info counts the others)
FLAGS = {"equilibrated": True}

OPTIONS = {
    "sweeps": Option(int, 4096, lambda x: x >= MIN_SWEEPS, f">= {MIN_SWEEPS}",
                     "rounds (one sweep of N pair moves per replica, then swaps); the first half equilibrates, "
                     "the second half measures"),
    "replicas": Option(int, 16, _pos, ">= 1", "temperatures of the ladder (each with one replica per chain)"),
    "T_min": Option(float, 0.15, _pos, "> 0", "lowest temperature (energy unit of J; not scaled by J)"),
    "T_max": Option(float, 0.6, _pos, "> 0", "highest temperature (energy unit of J; not scaled by J)"),
    "ladder": Option(str, "geometric", lambda x: x in LADDERS, f"one of {LADDERS}",
                     "temperature spacing: constant ratio, equal steps in T, or equal steps in 1/T"),
    "q_bins": Option(int, 64, _pos, ">= 1", "bins of the overlap histogram on [-1, 1]"),
    "phi_bins": Option(int, 160, _pos, ">= 1", "bins of the histogram of phi - mu(T)"),
    "phi_max": Option(float, 4.0, _pos, "> 0", "histogram range [-phi_max, phi_max] of phi - mu(T)"),
    "chains": Option(int, 2, lambda x: x in CHAINS, f"one of {CHAINS}",
                     "independent replica chains: 2 for P(q) and the Binder cumulant; 4 also for the connected "
                     "spin-glass susceptibility (twice the cost)"),
}

_T = "(replicas,)"
_W = "(windows, replicas)"
# the record of one task (simglass.outputs): every key run() returns, and only those
OUTPUTS = {
    "temperatures": Output(_T, "energy", "the ladder, increasing (ladder option)"),
    "measurements": Output("()", "count", "measurement sweeps M = sweeps - sweeps // 2 (the second half)", "int"),
    "energy": Output(_T, "energy", "⟨E⟩ over all chains and the M measurement sweeps, E = Σ_i eps_i n_i - "
                     "½ Σ_{i≠j} V_ij n_i n_j (canonical)"),
    "energy_err": Output(_T, "energy", f"standard error of energy from {WINDOW_BLOCKS} blocks of the measurement "
                         "window"),
    "energy2": Output(_T, "energy²", "⟨E²⟩ over all chains and the measurement sweeps"),
    "energy2_err": Output(_T, "energy²", "standard error of energy2 (blocks, as energy_err)"),
    "specific_heat": Output(_T, "1", "(⟨E²⟩ - ⟨E⟩²)/T² of the task (extensive; k_B = 1)"),
    "C_sk": Output("()", "energy", "⅛ Σ_{i≠j} V_ij: (energy - C_sk)/N is the SK energy per site of the "
                   "compensated half-filled model (docs/conventions.md)"),
    "C_spin": Output("()", "energy", "½ Σ_i eps_i - ⅛ Σ_{i≠j} V_ij, the constant of the spin representation "
                     "at n = ½ (meanfield.sk_field.spin_representation; +C_sk with compensated couplings, -C_sk "
                     "without at W = 0)"),
    "h2": Output("()", "energy²", "(1/N) Σ_i h_i² of the fields h_i = ¼ Σ_{j≠i} V_ij - ½ eps_i of the spin "
                 "representation at n = ½ (docs/conventions.md; 0 with compensated couplings): a control variate "
                 "of the energy of the uncompensated half-filled model"),
    "q2": Output(_T, "1", "⟨q²⟩ of the overlap q = (1/N) Σ_i δn_i^a δn_i^b / (n(1 - n)) of two chains "
                 "(δn = n_i - n; the SK overlap at n = ½), averaged over the pairs of chains"),
    "q2_err": Output(_T, "1", "standard error of q2 (blocks)"),
    "q4": Output(_T, "1", "⟨q⁴⟩ of the same overlap"),
    "q4_err": Output(_T, "1", "standard error of q4 (blocks)"),
    "q2_shared": Output(_T, "1", "⟨q_ab q_ac⟩ over pairs of pairs of chains with one chain in common (chains = 4; "
                        "NaN with 2)"),
    "q2_disjoint": Output(_T, "1", "⟨q_ab q_cd⟩ over disjoint pairs of chains (chains = 4; NaN with 2): "
                          "χ_SG,conn = N (q2 - 2 q2_shared + q2_disjoint)"),
    "q_hist": Output("(replicas, q_bins)", "count", "histogram of q per temperature, one count per pair of chains "
                     "and measurement sweep, on q_edges", "int"),
    "q_edges": Output("(q_bins + 1,)", "1", "bin edges of q_hist: q_bins equal bins [lo, hi) on [-1, 1] "
                      "(q = 1 in the last)"),
    "phi_hist": Output("(replicas, phi_bins)", "count", "histogram of the local fields phi_i - μ(T) of all "
                       "sites of all chains at each measurement sweep (μ(T): midpoint of the N_f-th and "
                       "(N_f+1)-th smallest field of the state), on phi_edges; values outside are dropped", "int"),
    "phi_edges": Output("(phi_bins + 1,)", "energy", "bin edges of phi_hist: phi_bins equal bins on "
                        "[-phi_max, phi_max]"),
    "mu": Output(_T, "energy", "mean of μ(T) over all chains and the measurement sweeps"),
    "acceptance": Output("(chains, replicas)", "1", "accepted / proposed pair moves per chain and temperature"),
    "exchange": Output("(chains, replicas - 1)", "1", "accepted / attempted swaps per chain and adjacent pair of "
                       "temperatures"),
    "round_trips": Output("(chains,)", "count", "per chain, replicas that went coldest -> hottest -> coldest over "
                          "all sweeps (0 for one temperature)", "int"),
    "window_edges": Output("(windows + 1,)", "count", "sweeps bounding the logarithmic windows: window w is "
                           "[window_edges[w+1], window_edges[w]) = [S/2^(w+1), S/2^w); windows of at least "
                           f"{WINDOW_BLOCKS} sweeps", "int"),
    "window_energy": Output(_W, "energy", "mean of E (all chains) over each window"),
    "window_energy_err": Output(_W, "energy", f"its standard error from {WINDOW_BLOCKS} blocks of the window"),
    "window_q2": Output(_W, "1", "mean of q² (all pairs of chains) over each window"),
    "window_q2_err": Output(_W, "1", f"its standard error from {WINDOW_BLOCKS} blocks of the window"),
    "equilibration_z": Output("()", "1", "largest |difference| / combined standard error of the window-0 and "
                              "window-1 means of E and q² over the temperatures (NaN with one window)"),
    "round_trips_min": Output("()", "count", "the smallest of the chains' round_trips", "int"),
    "equilibrated": Output("()", "", "equilibration_z <= mc.thermal.equilibration_threshold(replicas) (a "
                           f"Student-t quantile at a {EQUILIBRATION_FALSE_ALARM:g} false-alarm rate per task): the "
                           "last two logarithmic windows agree at every temperature; and, with two or more "
                           f"temperatures, round_trips_min >= {MIN_ROUND_TRIPS}", "bool"),
}


def check_point(params, options):
    check_classical_point("thermal", params, options, ladder=options["replicas"] > 1)


def memory_gb(params, options):
    """Per task: V and its copies in float64, about 2 N² numbers, plus ``chains`` replicas
    × N fields per temperature and the histograms."""
    N, _ = sites_and_particles(params)
    R, C = options["replicas"], options["chains"]
    return 8 * (2 * N ** 2 + 2 * C * R * N + R * (options["q_bins"] + options["phi_bins"])) / 2 ** 30


def run(model, rng, *, sweeps, replicas, T_min, T_max, ladder, q_bins, phi_bins, phi_max, chains):
    temps = temperature_ladder(T_min, T_max, replicas, ladder)
    r = thermal(model, rng=rng, temperatures=temps, sweeps=sweeps, q_bins=q_bins, phi_bins=phi_bins,
                phi_max=phi_max, chains=chains)
    rec = {k: getattr(r, k) for k in OUTPUTS if k not in ("C_sk", "C_spin", "h2", "round_trips_min")}
    rec["C_sk"] = model.V.sum() / 8.0
    from simglass.meanfield.sk_field import spin_representation
    C, h = spin_representation(model)
    rec["C_spin"], rec["h2"] = C, float(np.mean(h * h))
    rec["equilibrated"] = bool(r.equilibrated)
    rec["round_trips_min"] = int(r.round_trips.min())
    rec["equilibration_z"] = float(r.equilibration_z)
    return rec
