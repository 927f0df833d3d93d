"""Equilibrium thermal averages of the t = 0 model by parallel tempering (issue 35).

Two (or four) independent chains (a, b, …) of replicas run over the same temperature
ladder, advanced in lockstep: per round, one sweep of N canonical pair moves
(``State.sweep``, fixed N_f) per replica, then replica-exchange attempts between adjacent
temperatures within each chain (``parallel_tempering.swap_adjacent``, even and odd pairs
alternating).  The chains share nothing but the couplings, so the overlap of two of
them at one temperature samples the two-replica distribution P(q).

Measurements (docs/conventions.md, "Thermal Monte Carlo"): over the second half of the
S sweeps (the first half is equilibration), per temperature, ⟨E⟩ and ⟨E²⟩ of all
chains, the overlap q_ab = (1/N) Σ_i δn_i^a δn_i^b / (n(1 - n)), δn_i = n_i - n, n = N_f/N
(= (1/N) Σ_i s_i^a s_i^b with s = 2n - 1 at n = ½), ⟨q²⟩, ⟨q⁴⟩ and the histogram of q
over every pair of chains, with four chains also ⟨q_ab q_ac⟩ (pairs sharing one chain)
and ⟨q_ab q_cd⟩ (disjoint pairs), from which the connected spin-glass susceptibility

    χ_SG,conn = (1/N) Σ_ij (⟨s_i s_j⟩ − ⟨s_i⟩⟨s_j⟩)² = N (⟨q_ab²⟩ − 2 ⟨q_ab q_ac⟩ + ⟨q_ab q_cd⟩)

(s_i = δn_i/√(n(1 - n)); four replicas as in Young & Katzgraber, PRL 93, 207203 (2004)) follows without the
bias of estimated site averages: the susceptibility that diverges at the
de Almeida–Thouless line in a random field, where ⟨q²⟩ does not vanish.  And the histogram of the local fields φ_i - μ(T) (φ_i = ε_i - Σ_j V_ij n_j; μ(T) the
midpoint of the N_f-th and (N_f+1)-th smallest field of the state, the definition of the
canonical μ of ``Model.chemical_potential``: for a pair-stable state at T = 0 it is the
ground-state μ of the ``mc`` engine).

Equilibration (logarithmic binning): E (the mean of the chains) and q² (of the pairs) are recorded
at every sweep and averaged over the windows [S/2, S), [S/4, S/2), [S/8, S/4), … (as
long as a window holds at least WINDOW_BLOCKS sweeps), each with the standard error from
WINDOW_BLOCKS blocks of the window.  The run counts as equilibrated when, at every
temperature, the means of E and of q² of the last two windows agree: the largest
|difference| / combined standard error over the 2R comparisons (``equilibration_z``)
stays below ``equilibration_threshold(R)``, the two-sided Student-t quantile (2
(WINDOW_BLOCKS - 1) degrees of freedom: errors from WINDOW_BLOCKS blocks) at which an
equilibrated run is flagged with probability EQUILIBRATION_FALSE_ALARM over all 2R
comparisons (Bonferroni); and, with two or more temperatures, each chain made at least
MIN_ROUND_TRIPS round trips through the ladder.  A fixed 3σ per comparison flagged 4 of 12 equilibrated
tasks of a small SK test (2R = 24 comparisons; z 3.2-4.7 at scattered temperatures
while every chain made 200-500 round trips).  Blocks not much longer than the
autocorrelation time still raise the false-alarm rate.  ``equilibration_z`` is stored, so
that an analysis can apply another threshold (``python -m simglass.analysis.thermal --z-max``).
The window test alone is weak for short runs: in benchmarks/thermal.py (N = 512, 20
temperatures from 0.8 T_c) it passed runs of 128 sweeps whose ⟨E⟩ and ⟨q²⟩ at 0.8 T_c
differed from a 16384-sweep reference, with no replica yet through the ladder; hence the
round trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simglass.options import generator

from .ground_state import check_model
from .parallel_tempering import check_temperatures, swap_adjacent
from .state import State

__all__ = ["ThermalResult", "thermal", "overlap", "CHAINS", "window_edges", "WINDOW_BLOCKS", "EQUILIBRATION_FALSE_ALARM",
           "equilibration_threshold", "MIN_SWEEPS", "MIN_ROUND_TRIPS"]

WINDOW_BLOCKS = 8            # blocks per logarithmic window (standard errors)
MIN_ROUND_TRIPS = 10         # per chain, for a run with two or more temperatures to count as equilibrated
EQUILIBRATION_FALSE_ALARM = 0.01   # probability that an equilibrated run is flagged
MIN_SWEEPS = 2 * WINDOW_BLOCKS
CHAINS = (2, 4)              # independent chains: two for P(q); four for the connected χ_SG as well


def equilibration_threshold(n_temperatures: int) -> float:
    """The largest equilibration_z of an equilibrated run (module docstring): the
    two-sided Student-t quantile with 2 (WINDOW_BLOCKS - 1) degrees of freedom at
    probability EQUILIBRATION_FALSE_ALARM / (2 n_temperatures) per comparison."""
    from scipy.stats import t
    p = EQUILIBRATION_FALSE_ALARM / (2 * max(int(n_temperatures), 1))
    return float(t.ppf(1.0 - p / 2.0, 2 * (WINDOW_BLOCKS - 1)))


def window_edges(sweeps: int) -> np.ndarray:
    """Edges [S, S//2, S//4, …] of the logarithmic windows [edges[w+1], edges[w]) of a run
    of S sweeps (window 0 = the measurement window [S//2, S)), as long as a window holds
    at least WINDOW_BLOCKS sweeps.  Shape (n_windows + 1,), int, decreasing.

    Raises ValueError for sweeps < MIN_SWEEPS."""
    if sweeps < MIN_SWEEPS:
        raise ValueError(f"sweeps must be >= {MIN_SWEEPS} (the measurement window is binned into "
                         f"{WINDOW_BLOCKS} blocks), got {sweeps}")
    edges = [int(sweeps)]
    while edges[-1] - edges[-1] // 2 >= WINDOW_BLOCKS:
        edges.append(edges[-1] // 2)
    return np.array(edges)


def overlap(occ_a, occ_b, n_particles: int) -> np.ndarray:
    """q = (1/N) Σ_i δn_i^a δn_i^b / (n(1 - n)), δn = n_i - n, n = N_f/N, of occupations
    with N_f particles each, computed exactly from the integer m = Σ_i n_i^a n_i^b as
    q = (N m - N_f²) / (N_f (N - N_f)).  |q| <= 1, q = 1 for equal states; at n = ½ it is
    (1/N) Σ_i s_i^a s_i^b, s = 2n - 1 (docs/conventions.md).

    occ_a, occ_b : (..., N) 0/1 arrays (broadcast); returns (...,) float.
    Raises ValueError unless 0 < n_particles < N."""
    occ_a, occ_b = np.asarray(occ_a), np.asarray(occ_b)
    N = occ_a.shape[-1]
    if not 0 < n_particles < N:
        raise ValueError(f"n_particles must lie in 1 .. N-1 = {N - 1}, got {n_particles}")
    m = np.einsum("...i,...i->...", occ_a.astype(np.int64), occ_b.astype(np.int64))
    return (N * m - n_particles ** 2) / (n_particles * (N - n_particles))


@dataclass
class ThermalResult:
    """Equilibrium averages of ``thermal``.  R = number of temperatures, W = number of
    logarithmic windows, M = sweeps - sweeps // 2 (measurement sweeps).  Energies,
    temperatures and fields in the energy unit of V and eps; averages over all chains
    and the M measurement sweeps; errors are standard errors from WINDOW_BLOCKS blocks of
    the measurement window.

    temperatures : (R,) the ladder, increasing
    sweeps : S, rounds (one sweep per replica, then swaps); measurements : M
    chains : C, independent chains (CHAINS)
    energy, energy_err : (R,) ⟨E⟩, E = Σ ε_i n_i - ½ Σ V_ij n_i n_j (canonical)
    energy2, energy2_err : (R,) ⟨E²⟩
    specific_heat : (R,) (⟨E²⟩ - ⟨E⟩²)/T² (extensive, units of k_B)
    q2, q2_err, q4, q4_err : (R,) ⟨q²⟩, ⟨q⁴⟩ of the chains' overlaps (``overlap``), averaged
        over the C(C - 1)/2 pairs of chains
    q2_shared, q2_disjoint : (R,) ⟨q_ab q_ac⟩ over pairs of pairs sharing one chain and
        ⟨q_ab q_cd⟩ over disjoint pairs (four chains; NaN with two): χ_SG,conn =
        N (q2 - 2 q2_shared + q2_disjoint) (module docstring)
    q_hist : (R, q_bins) int, counts of q per temperature (one per pair of chains and
        measurement sweep) on
        q_edges : (q_bins + 1,) equal bins on [-1, 1], each bin [lo, hi) (q = 1 in the last)
    phi_hist : (R, phi_bins) int, counts of φ_i - μ(T) (C N per measurement sweep: all
        sites of all chains; values outside phi_edges are dropped) on
        phi_edges : (phi_bins + 1,) equal bins on [-phi_max, phi_max]
    mu : (R,) mean of μ(T) over all chains and the measurement sweeps
    acceptance : (C, R) accepted / proposed pair moves per chain and temperature (all sweeps)
    exchange : (C, R - 1) accepted / attempted swaps per chain and adjacent pair (all sweeps)
    round_trips : (C,) int, per chain, replicas that went coldest -> hottest -> coldest
        (all sweeps; 0 for R = 1)
    window_edges : (W + 1,) int, window w = sweeps [window_edges[w+1], window_edges[w])
    window_energy, window_energy_err, window_q2, window_q2_err : (W, R) means over each
        window of E (mean of the chains) and of q² (mean of the pairs), with block standard
        errors
    equilibration_z : max over temperatures and {E, q²} of |mean_0 - mean_1| / sqrt(err_0²
        + err_1²) of windows 0 and 1 (NaN if W < 2)
    equilibrated : equilibration_z <= equilibration_threshold(R) and, for R >= 2, at
        least MIN_ROUND_TRIPS round trips in each chain (False if W < 2)
    states : the final States, states[c][k] = chain c at temperature k
    """
    temperatures: np.ndarray
    sweeps: int
    measurements: int
    chains: int
    energy: np.ndarray
    energy_err: np.ndarray
    energy2: np.ndarray
    energy2_err: np.ndarray
    specific_heat: np.ndarray
    q2: np.ndarray
    q2_err: np.ndarray
    q4: np.ndarray
    q4_err: np.ndarray
    q2_shared: np.ndarray
    q2_disjoint: np.ndarray
    q_hist: np.ndarray
    q_edges: np.ndarray
    phi_hist: np.ndarray
    phi_edges: np.ndarray
    mu: np.ndarray
    acceptance: np.ndarray
    exchange: np.ndarray
    round_trips: np.ndarray
    window_edges: np.ndarray
    window_energy: np.ndarray
    window_energy_err: np.ndarray
    window_q2: np.ndarray
    window_q2_err: np.ndarray
    equilibration_z: float
    equilibrated: bool
    states: list = field(default_factory=list, repr=False)


def _check_int(name, x, lo):
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, got {x!r}")


def _z(m0, e0, m1, e1):
    """|m0 - m1| / sqrt(e0² + e1²); 0 for equal means with zero errors, inf for unequal."""
    d, s = np.abs(m0 - m1), np.sqrt(e0 ** 2 + e1 ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, d / np.where(s > 0, s, 1.0), np.where(d > 0, np.inf, 0.0))


def thermal(model, seed=None, *, rng=None, temperatures, sweeps: int, q_bins: int = 50, phi_bins: int = 160,
            phi_max: float = 4.0, chains: int = 2, callback=None) -> ThermalResult:
    """Equilibrium parallel tempering of ``model`` (t = 0, canonical, N_f =
    model.n_particles) with ``chains`` independent chains (CHAINS) over the ladder
    ``temperatures`` (energy units of V), ``sweeps`` rounds from random states; module
    docstring for what is measured and the equilibration test.  ``callback(sweep,
    states_a, states_b, …)`` (one list per chain, states ordered by temperature, coldest
    first) is called after each round's swaps.  Cost: C R sweeps of N proposals per
    round, each accepted move O(N).

    Returns a ThermalResult (shapes and units in its docstring).

    Raises TypeError for a model that is not a simglass.Model or a bad ``rng``/``seed``;
    ValueError naming the argument for t != 0, N_f outside 1 .. N-1, an invalid ladder
    (``check_temperatures``), sweeps < MIN_SWEEPS, q_bins or phi_bins < 1, phi_max not
    finite and > 0, chains not in CHAINS.
    """
    check_model(model)
    temps = check_temperatures(temperatures)
    _check_int("sweeps", sweeps, MIN_SWEEPS)
    _check_int("q_bins", q_bins, 1)
    _check_int("phi_bins", phi_bins, 1)
    if not (np.isfinite(phi_max) and phi_max > 0):
        raise ValueError(f"phi_max must be finite and > 0, got {phi_max!r}")
    if isinstance(chains, bool) or chains not in CHAINS:
        raise ValueError(f"chains must be one of {CHAINS}, got {chains!r}")
    rng = generator(seed, rng)
    S, R, N, nf, C = int(sweeps), temps.size, model.n_sites, model.n_particles, int(chains)
    betas = 1.0 / temps
    edges = window_edges(S)
    W, start = edges.size - 1, S // 2
    reps_of = [[State.random(model, rng) for _ in range(R)] for _ in range(C)]
    pairs = [(a, b) for a in range(C) for b in range(a + 1, C)]
    index = {p: k for k, p in enumerate(pairs)}
    pair = lambda a, b: index[(min(a, b), max(a, b))]                             # noqa: E731
    shared = np.array([(pair(a, b), pair(a, c)) for a in range(C) for b in range(C) for c in range(b + 1, C)
                       if a not in (b, c)], np.int64).reshape(-1, 2)              # q_ab q_ac: one chain in common
    disjoint = np.array([(pair(*p), pair(*r)) for p in pairs for r in pairs
                         if p < r and not set(p) & set(r)], np.int64).reshape(-1, 2)   # q_ab q_cd
    at = np.tile(np.arange(R), (C, 1))                 # at[c, k] = replica of chain c at temperature k
    acc = np.zeros((C, R))
    ex_try, ex_acc = np.zeros((C, max(R - 1, 0))), np.zeros((C, max(R - 1, 0)))
    label = np.zeros((C, R), np.int8)                  # per replica: 1 = came from coldest, 2 = then hottest
    label[:, 0] = 1
    trips = np.zeros(C, np.int64)
    sums = np.zeros((6, W, WINDOW_BLOCKS, R))          # E, E², q², q⁴, q_ab q_ac, q_ab q_cd per window and block
    counts = np.zeros((W, WINDOW_BLOCKS))
    q_hist = np.zeros(R * q_bins, np.int64)
    phi_hist = np.zeros(R * phi_bins, np.int64)
    phi_edges = np.linspace(-phi_max, phi_max, phi_bins + 1)
    mu_sum = np.zeros(R)
    row_T = np.tile(np.arange(R), C)                   # temperature of row c R + k
    occ = np.empty((C, R, N), np.int64)
    phi = np.empty((C, R, N))
    E = np.empty((C, R))
    den = nf * (N - nf)
    w = W - 1
    first, second = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    no_moment = np.full(R, np.nan)                    # q_ab q_ac, q_ab q_cd with two chains
    for s in range(S):
        for c in range(C):
            reps, a = reps_of[c], at[c]
            # the round's draws at once (one call each instead of three per replica)
            ia, ib, u = rng.integers(0, nf, (R, N)), rng.integers(0, N - nf, (R, N)), rng.random((R, N))
            for k in range(R):
                acc[c, k] += reps[a[k]].pair_sweep(betas[k], ia[k], ib[k], u[k])
            swap_adjacent(betas, [r.E for r in reps], a, s % 2, rng, ex_try[c], ex_acc[c])
            if R > 1:
                if label[c, a[0]] == 2:
                    trips[c] += 1
                label[c, a[0]] = 1
                if label[c, a[-1]] == 1:
                    label[c, a[-1]] = 2
        if callback is not None:
            callback(s, *[[reps_of[c][r] for r in at[c]] for c in range(C)])
        if s < edges[-1]:
            continue
        while s >= edges[w]:
            w -= 1
        lo, length = edges[w + 1], edges[w] - edges[w + 1]
        b = (s - lo) * WINDOW_BLOCKS // length
        for c in range(C):
            for k in range(R):
                st = reps_of[c][at[c, k]]
                occ[c, k] = st.occ
                E[c, k] = st.E
                if s >= start:
                    phi[c, k] = st.phi
        m = np.einsum("pki,pki->pk", occ[first], occ[second])    # (pairs, R)
        num = N * m - nf * nf                          # q = num / den exactly (``overlap``)
        q = num / den
        q2 = q * q
        qs = (q[shared[:, 0]] * q[shared[:, 1]]).mean(axis=0) if shared.size else no_moment
        qd = (q[disjoint[:, 0]] * q[disjoint[:, 1]]).mean(axis=0) if disjoint.size else no_moment
        sums[:, w, b] += (E.mean(axis=0), (E * E).mean(axis=0), q2.mean(axis=0), (q2 * q2).mean(axis=0), qs, qd)
        counts[w, b] += 1
        if s >= start:
            iq = np.minimum((num + den) * q_bins // (2 * den), q_bins - 1)   # integer: exact bin edges
            q_hist += np.bincount((np.arange(R) * q_bins + iq).ravel(), minlength=R * q_bins)
            ph = phi.reshape(C * R, N)
            part = np.partition(ph, [nf - 1, nf], axis=1)
            mu = 0.5 * (part[:, nf - 1] + part[:, nf])
            np.add.at(mu_sum, row_T, mu)
            x = (ph - mu[:, None] + phi_max) * (phi_bins / (2 * phi_max))
            ix = np.floor(x).astype(np.int64)
            inside = (ix >= 0) & (ix < phi_bins)
            phi_hist += np.bincount((row_T[:, None] * phi_bins + ix)[inside], minlength=R * phi_bins)
    with np.errstate(invalid="ignore"):
        block_means = sums / counts[None, :, :, None]
        wmean = sums.sum(axis=2) / counts.sum(axis=1)[None, :, None]        # (6, W, R)
        werr = block_means.std(axis=2, ddof=1) / np.sqrt(WINDOW_BLOCKS)
    M = S - start
    if W >= 2:
        z = max(float(_z(wmean[i, 0], werr[i, 0], wmean[i, 1], werr[i, 1]).max()) for i in (0, 2))
        ok = bool(z <= equilibration_threshold(R)) and (R < 2 or int(trips.min()) >= MIN_ROUND_TRIPS)
    else:
        z, ok = np.nan, False
    e, e2 = wmean[0, 0], wmean[1, 0]
    return ThermalResult(
        temperatures=temps, sweeps=S, measurements=M, chains=C,
        energy=e, energy_err=werr[0, 0], energy2=e2, energy2_err=werr[1, 0],
        specific_heat=(e2 - e * e) / temps ** 2,
        q2=wmean[2, 0], q2_err=werr[2, 0], q4=wmean[3, 0], q4_err=werr[3, 0],
        q2_shared=wmean[4, 0], q2_disjoint=wmean[5, 0],
        q_hist=q_hist.reshape(R, q_bins), q_edges=np.linspace(-1.0, 1.0, q_bins + 1),
        phi_hist=phi_hist.reshape(R, phi_bins), phi_edges=phi_edges, mu=mu_sum / (C * M),
        acceptance=acc / (S * N), exchange=ex_acc / np.maximum(ex_try, 1), round_trips=trips,
        window_edges=edges, window_energy=wmean[0], window_energy_err=werr[0],
        window_q2=wmean[2], window_q2_err=werr[2], equilibration_z=z, equilibrated=ok,
        states=[[reps_of[c][r] for r in at[c]] for c in range(C)])
