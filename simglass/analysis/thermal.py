"""Thermal observables of the t = 0 model from ``thermal`` results (issue 35).

Per parameter series (the points that differ only in the lattice size) and size N, over
the equilibrated tasks (``equilibrated``; the others are counted as flagged and left
out; with ``--z-max Z`` instead the tasks with ``equilibration_z`` <= Z, another
threshold than the stored test's, mc.thermal.equilibration_threshold, and with at least
mc.thermal.MIN_ROUND_TRIPS round trips per chain where the record or table says),
disorder averages [·] with bootstrap errors over realisations, per temperature T:

* e(T) = [⟨E⟩ - C]/(N J), C the constant of the model's spin representation at n = ½,
  W = 0 (simglass.meanfield.sk_field): C = C_sk = ⅛ Σ_{i≠j} V_ij for compensated
  couplings, where e is the SK energy per site with the exact paramagnetic line
  e = -J_SK²/(2T J) = -J/(32 T) above T_c = J_SK = J/4, and C = -C_sk without
  compensation, where e is the energy per spin of SK in a Gaussian random field of rms
  h = J_SK, with the replica-symmetric line exact above the de Almeida–Thouless
  temperature T_AT = 0.394 J_SK (docs/conventions.md); C = C_sk for every other series.
  For the random-field series whose tasks store the fields' variance h2, [⟨E⟩] is the
  control-variate mean with h2 (``control_variate_mean``);
* the specific heat per site c = [⟨E²⟩ - ⟨E⟩²]/(N T²) (NaN where a compact table's
  digits do not resolve the difference for a task, and then for its size:
  ``specific_heat``);
* the Binder cumulant g = ½(3 - [⟨q⁴⟩]/[⟨q²⟩]²) and χ_SG = N [⟨q²⟩];
* P(q) and P(φ - μ(T)) (normalised densities, realisations averaged), and P(0, T): the
  density of φ - μ(T) within PHI0_HALF_WIDTH J of zero (``phi0_density``; compact tables
  keep it per temperature, columns p_phi0_k), against the ground states' P(0) at T = 0
  (``ground_state_phi0``, from a t = 0 table of engine mc).

Binder crossings of successive sizes a < b: d(T) = g_b(T) - g_a(T) is > 0 in the glass
(g → 1) and < 0 in the paramagnet (g → 0); the crossing is the lowest T where d changes
sign from > 0 to <= 0 with increasing T, linearly interpolated between the ladder's
temperatures (NaN if none).  Error: bootstrap, realisations of each size resampled
independently; ``found`` is the fraction of resamples with a crossing.  At the sizes one
can equilibrate, SK's finite-size corrections are large: crossings away from J/4 are to
be reported with their numbers, not tuned.

    python -m simglass.analysis.thermal results/thermal_sk.h5 --out results/thermal_sk
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import written
from .load import describe, lattice_key
from .plotting import pyplot, save
from .reference import J_SK_PER_J, TC_SK
from .stats import bootstrap

__all__ = ["SizeThermal", "BinderCrossing", "size_averages", "binder", "binder_crossing", "paramagnetic_energy",
           "connected_susceptibility", "connected_crossing", "control_variate_mean", "specific_heat",
           "replica_symmetric_energy",
           "transition_temperature", "paramagnet_limit", "phi0_density", "ground_state_phi0", "analyze", "main"]

N_BOOT = 500
MIN_CONTROL = 10         # realisations for the control variate's regression slope
PHI0_HALF_WIDTH = 0.05   # P(0, T): the density of φ - μ(T) in [-w, w) with w = 0.05 J


@dataclass
class SizeThermal:
    """Disorder averages of one size of one series.  R = temperatures; T and energies in
    units of J (T/J); errors are bootstrap standard deviations over realisations (NaN
    with fewer than 2).

    N : sites; series : description of the series' fixed parameters; sk : the series is
        the compensated n = ½, W = 0 model (SK with J_SK = J/4)
    chi_conn, chi_conn_err : (R,) χ_SG,conn = N [⟨q²⟩ − 2⟨q_ab q_ac⟩ + ⟨q_ab q_cd⟩]
        (``connected_susceptibility``; None unless every task ran four chains)
    q2s, q2d : (realizations, R) per-realisation ⟨q_ab q_ac⟩, ⟨q_ab q_cd⟩ (or None)
    h : rms random field of the series' spin representation in units of J (0 for SK,
        J_SK/J = ¼ for uncompensated couplings at n = ½, W = 0), None for other series
    control : e is the control-variate mean (``control_variate_mean``) with the tasks'
        field variance h2 (random-field series whose tasks store it)
    realizations : equilibrated tasks used; flagged : tasks left out (not equilibrated)
    T : (R,) T/J
    e, e_err : (R,) [⟨E⟩ - C]/(N J) (module docstring)
    c, c_err : (R,) [⟨E²⟩ - ⟨E⟩²]/(N T²)
    g, g_err : (R,) Binder cumulant ½(3 - [⟨q⁴⟩]/[⟨q²⟩]²)
    chi, chi_err : (R,) χ_SG = N [⟨q²⟩]
    q_edges : (q_bins + 1,); p_q : (R, q_bins) P(q), each row integrating to 1
    phi_edges : (phi_bins + 1,) φ/J; p_phi : (R, phi_bins) P(φ - μ) per unit φ/J, the
        fraction inside [-phi_max, phi_max] integrating to that fraction
        (the four None from a compact table, which keeps no histograms)
    q2, q4 : (realizations, R) per-realisation ⟨q²⟩ and ⟨q⁴⟩ (for the crossings)
    p0, p0_err : (R,) P(0, T) per unit φ/J (``phi0_density``), disorder average with its
        bootstrap error (NaN without histograms with edges at ±0.05 J, e.g. a table
        written before the columns p_phi0_k; None when not measured)
    """
    N: int
    series: str
    sk: bool
    realizations: int
    flagged: int
    T: np.ndarray
    e: np.ndarray
    e_err: np.ndarray
    c: np.ndarray
    c_err: np.ndarray
    g: np.ndarray
    g_err: np.ndarray
    chi: np.ndarray
    chi_err: np.ndarray
    q_edges: np.ndarray
    p_q: np.ndarray
    phi_edges: np.ndarray
    p_phi: np.ndarray
    q2: np.ndarray
    q4: np.ndarray
    p0: np.ndarray | None = None
    p0_err: np.ndarray | None = None
    chi_conn: np.ndarray | None = None
    chi_conn_err: np.ndarray | None = None
    q2s: np.ndarray | None = None
    q2d: np.ndarray | None = None
    h: float | None = None
    control: bool = False

    def __post_init__(self):
        if self.sk and self.h is None:
            self.h = 0.0


@dataclass
class BinderCrossing:
    """Crossing of g(T) (kind "binder") or of χ_SG,conn/N^(1/3) (kind "connected",
    ``connected_crossing``) of sizes a < b of one series: T/J, its bootstrap error, and
    the fraction of bootstrap resamples with a crossing."""
    series: str
    a: int
    b: int
    T: float
    err: float
    found: float
    kind: str = "binder"


def paramagnetic_energy(T):
    """Exact paramagnetic energy per site of the compensated n = ½, W = 0 model above T_c,
    e = -J_SK²/(2T) in units of J with J_SK = J/4, T in units of J: -1/(32 T/J)
    (docs/conventions.md).  Shape of T."""
    return -J_SK_PER_J ** 2 / (2 * np.asarray(T, float))


def replica_symmetric_energy(T, h: float = 0.0):
    """The replica-symmetric energy per site in units of J of the half-filled W = 0 model
    whose spin representation has the rms random field h (units of J; module docstring):
    ``simglass.meanfield.sk_field.rs_energy`` with J_SK = J/4.  For h = 0 it is
    ``paramagnetic_energy`` above T_c = J/4.  T in units of J, scalar or array."""
    from simglass.meanfield.sk_field import rs_energy
    return np.vectorize(lambda x: rs_energy(x, J_SK_PER_J, h))(np.asarray(T, float))


def transition_temperature(h: float = 0.0) -> float:
    """T/J of the series' glass transition in replica-symmetric theory: T_c = J_SK = J/4
    for h = 0, the de Almeida–Thouless T_AT(h) otherwise (``sk_field.at_temperature``
    with J_SK = J/4; 0.0985 J for h = J/4)."""
    from simglass.meanfield.sk_field import at_temperature
    return TC_SK if h == 0.0 else at_temperature(J_SK_PER_J, h)


def control_variate_mean(y, x, x_mean):
    """Mean of y (realisations, R) corrected by a control variate x (realisations,) of
    known expectation ``x_mean``: mean(y) − b (mean(x) − x_mean) with the regression slope
    b = cov(y, x)/var(x) per column (the estimated b costs a bias of order
    1/realisations).  For the random-field series x is the sample variance of the fields,
    (1/N) Σ_i h_i², whose expectation is h²(N − 1)/N exactly (row sums of N − 1 Gaussian
    couplings of variance J²/N, over 16): at high T the energy per site moves with it
    as −x/T, and it carries most of the energy's sample-to-sample variance.  Returns (R,)."""
    y, x = np.asarray(y, float), np.asarray(x, float)
    if y.ndim != 2 or x.shape != (y.shape[0],):
        raise ValueError(f"y must be (realisations, R) and x (realisations,), got {y.shape} and {x.shape}")
    dx = x - x.mean()
    var = np.dot(dx, dx)
    b = (dx @ (y - y.mean(axis=0))) / var if var > 0 else np.zeros(y.shape[1])
    return y.mean(axis=0) - b * (x.mean() - x_mean)


def _significant_digits(x) -> int:
    """Significant digits of a float as it is stored (the shortest repr): 6 for a value
    read from a table written with 6 digits, up to 17 for a full double."""
    mantissa = repr(float(x)).lower().split("e")[0].replace("-", "").replace(".", "").strip("0")
    return max(len(mantissa), 1)


def specific_heat(energy, energy2, N: int, T):
    """c = (⟨E²⟩ − ⟨E⟩²)/(N T²) of one task (arrays over the ladder T), NaN where the
    difference is not resolved by the digits the values keep: a compact table written
    with d significant digits (analysis.compact --digits) rounds ⟨E²⟩ and ⟨E⟩² by about
    1.5 × 10^(1−d) ⟨E²⟩ at most, and c needs the difference to exceed that 10 times (the
    committed thermal tables rewritten with 6 digits: where c stays, it is within 0.5 %
    of its 8-digit value).  d is read off the stored values (the most digits among the
    task's finite ⟨E²⟩); values with 15 or more (full doubles: a results file) are
    taken as they are.  Returns (R,)."""
    e, e2 = np.asarray(energy, float), np.asarray(energy2, float)
    var = e2 - e * e
    c = var / (N * np.asarray(T, float) ** 2)
    d = max((_significant_digits(x) for x in e2 if np.isfinite(x)), default=17)
    if d >= 15:
        return c
    return np.where(var > 10 * 1.5 * 10.0 ** (1 - d) * np.abs(e2), c, np.nan)


def connected_susceptibility(N, q2, q2_shared, q2_disjoint):
    """χ_SG,conn = N (⟨q_ab²⟩ − 2 ⟨q_ab q_ac⟩ + ⟨q_ab q_cd⟩) = (1/N) Σ_ij (⟨s_i s_j⟩ −
    ⟨s_i⟩⟨s_j⟩)² (mc.thermal, four chains), elementwise; N sites.  NaN where the
    four-chain moments are NaN (two chains)."""
    return N * (np.asarray(q2, float) - 2 * np.asarray(q2_shared, float) + np.asarray(q2_disjoint, float))


def binder(q2, q4):
    """g = ½(3 - [q4]/[q2]²) of per-realisation ⟨q²⟩, ⟨q⁴⟩ arrays (realisations, R),
    averaged over axis 0.  Returns (R,)."""
    return 0.5 * (3.0 - np.mean(q4, axis=0) / np.mean(q2, axis=0) ** 2)


def phi0_density(rec, N: int, J: float, half_width: float = PHI0_HALF_WIDTH) -> np.ndarray:
    """P(0, T) of one ``thermal`` record: the fraction of the local fields φ_i - μ(T) (all
    N sites of every chain at every measurement sweep) in [-w, w), w = ``half_width`` J,
    divided by 2w/J: the density of P(φ - μ) per unit φ/J at zero, averaged over the
    window.  Returns (R,), one value per temperature.

    Raises ValueError when ±w does not fall on the edges of the record's histogram
    (phi_edges: the options phi_max and phi_bins), so that no bin is split."""
    edges = np.asarray(rec["phi_edges"], float) / J
    lo, hi = np.searchsorted(edges, [-half_width - 1e-9, half_width - 1e-9])
    if lo >= hi or not np.allclose([edges[lo], edges[hi]], [-half_width, half_width], atol=1e-9):
        raise ValueError(f"P(0, T) needs bin edges at ±{half_width:g} J; this record's phi_edges are "
                         f"{edges[0]:g} .. {edges[-1]:g} J in steps of {edges[1] - edges[0]:g} J "
                         "(choose phi_max and phi_bins so that 0.05 J is a multiple of the bin width)")
    inside = np.asarray(rec["phi_hist"])[:, lo:hi].sum(axis=1)
    return inside / (_chains(rec) * N * float(rec["measurements"])) / (2.0 * half_width)


def _chains(rec) -> int:
    """Independent chains of a thermal record (the rows of its acceptance; 2 before the
    option existed)."""
    acc = rec.get("acceptance")
    return int(np.shape(acc)[0]) if acc is not None and np.ndim(acc) == 2 else 2


def ground_state_phi0(path, half_width: float = PHI0_HALF_WIDTH) -> dict:
    """P(0) of t = 0 ground states (engine mc, a results file or compact table with the
    |φ − μ|/J counts): {N: (mean, bootstrap error, realisations)} of the fraction of
    sites with |φ − μ| < w J divided by 2w, w = ``half_width``: the T = 0 end of P(0, T).
    Raises ValueError when w is not a multiple of the counts' bin (0.005 J)."""
    from .compact import load_any
    from .coulomb_gap import FINE_BIN
    k = int(round(half_width / FINE_BIN))
    if not np.isclose(k * FINE_BIN, half_width):
        raise ValueError(f"half_width = {half_width:g}: must be a multiple of {FINE_BIN:g} J")
    _, points = load_any(path, "mc")
    out = {}
    for p in points:
        N = int(np.prod(lattice_key(p.params)))
        vals = []
        for r in p.records:
            if "absphi_0" in r:
                c = sum(float(r[f"absphi_{i}"]) for i in range(k))
            else:
                c = float(np.sum(np.abs(np.asarray(r["phi"])) < half_width * float(p.params["J"])))
            vals.append(c / N / (2 * half_width))
        if vals:
            m, e = bootstrap(lambda x: x.mean(), np.array(vals), N_BOOT, 0)
            out[N] = (float(m), float(e), len(vals))
    return out


def _is_sk(params) -> bool:
    return bool(params.get("compensate")) and params.get("density") == 0.5 and params.get("W", 0) == 0


def _spin_constant(r, sign):
    """C of one record: the stored C_spin, else sign × C_sk (``_spin_field``)."""
    c = r.get("C_spin")
    return float(c) if c is not None and np.isfinite(float(c)) else sign * float(r["C_sk"])


def _spin_field(params):
    """(h, sign of C_sk in C) of a series (module docstring): (0, +1) for SK, (J_SK/J, -1)
    for uncompensated Gaussian couplings at n = ½, W = 0 and no onsite energies from a
    file (ε = 0), (None, +1) otherwise.  The sign serves tables written before the tasks
    stored C_spin, the constant itself."""
    if _is_sk(params):
        return 0.0, 1.0
    if (params.get("density") == 0.5 and params.get("W", 0) == 0 and not params.get("compensate")
            and params.get("couplings", "gaussian") == "gaussian" and params.get("onsite", "gaussian") != "file"
            and params.get("onsite_file") in (None, "")):
        return J_SK_PER_J, -1.0
    return None, 1.0


def _q_density(records, N):
    """(edges, P(q) (R, bins)) of the records' q histograms averaged over realisations,
    with bins merged so that a bin is at least as wide as the spacing N/(N_f (N - N_f))
    of the possible values of q (finer bins alternate between full and empty)."""
    edges = np.asarray(records[0]["q_edges"], float)
    nf = int(records[0]["n_particles"])
    k = max(1, int(np.ceil(N / (nf * (N - nf)) / (edges[1] - edges[0]) - 1e-9)))
    h = np.mean([r["q_hist"] / r["q_hist"].sum(axis=1, keepdims=True) for r in records], axis=0)
    B = h.shape[1]
    G = max(B // k, 1)
    groups = np.minimum(np.arange(B) // k, G - 1)       # leftover bins join the last group
    merged = np.zeros((h.shape[0], G))
    np.add.at(merged.T, groups, h.T)
    edges = np.append(edges[np.arange(G) * k], edges[-1])
    return edges, merged / np.diff(edges)


def _tripped(r) -> bool:
    """At least MIN_ROUND_TRIPS round trips per chain (``round_trips_min``, or the per-chain
    ``round_trips`` of files written before it), with two or more temperatures; True for
    a table written before either was exported (nothing to check)."""
    from simglass.mc.thermal import MIN_ROUND_TRIPS
    trips = r.get("round_trips_min")
    if trips is None and r.get("round_trips") is not None:
        trips = np.min(r["round_trips"])
    if trips is None or (isinstance(trips, float) and np.isnan(trips)):
        return True
    return np.size(r["temperatures"]) < 2 or int(trips) >= MIN_ROUND_TRIPS


def size_averages(path, n_boot: int = N_BOOT, seed: int = 0, z_max: float | None = None) -> list[SizeThermal]:
    """SizeThermal of every point of ``thermal`` results files or compact tables
    (analysis.compact; one path or a list) with at least one equilibrated task,
    ordered by series, then N.  A task counts as equilibrated by its
    stored flag ``equilibrated``, or, with ``z_max``, when ``equilibration_z`` <= z_max
    and (where the record has it: files written since it was added) ``round_trips_min``
    >= simglass.mc.thermal.MIN_ROUND_TRIPS with two or more temperatures.

    Raises simglass.options.InputError for a file that is not a results file of engine
    thermal."""
    from .compact import load_any
    _, points = load_any(path, "thermal")
    out = []
    for p in points:
        if not p.records:
            continue
        fixed = [k for k in p.params if k != "L"]
        for r in p.records:
            _arrays_from_columns(r)
        N = int(np.prod(lattice_key(p.params)))
        J = float(p.params["J"])
        good = [r for r in p.records if (bool(r["equilibrated"]) if z_max is None
                                         else float(r["equilibration_z"]) <= z_max and _tripped(r))]
        if not good:
            continue
        T = np.asarray(good[0]["temperatures"], float)
        h, sign = _spin_field(p.params)
        E = np.array([(r["energy"] - _spin_constant(r, sign)) / (N * J) for r in good])
        x = np.array([float(r.get("h2", np.nan)) for r in good]) / J ** 2
        control = bool(h) and len(good) >= MIN_CONTROL and np.all(np.isfinite(x))
        C = np.array([specific_heat(r["energy"], r["energy2"], N, T) for r in good])
        q2 = np.array([r["q2"] for r in good])
        q4 = np.array([r["q4"] for r in good])
        if control:     # the random-field series: the fields' sample variance as a control variate
            Ex = h * h * (N - 1) / N
            e, e_err = bootstrap(lambda s: control_variate_mean(s[:, :-1], s[:, -1], Ex), np.column_stack([E, x]),
                                 n_boot, seed)
        else:
            e, e_err = bootstrap(lambda s: s.mean(axis=0), E, n_boot, seed)
        c, c_err = bootstrap(lambda s: s.mean(axis=0), C, n_boot, seed)
        qq = np.stack([q2, q4], axis=1)
        g, g_err = bootstrap(lambda s: binder(s[:, 0], s[:, 1]), qq, n_boot, seed)
        chi, chi_err = bootstrap(lambda s: N * s.mean(axis=0), q2, n_boot, seed)
        q_edges = hq = phi_edges = hp = None        # compact tables keep no histograms
        if "q_hist" in good[0]:
            q_edges, hq = _q_density(good, N)
            phi_edges = np.asarray(good[0]["phi_edges"], float) / J
            hp = np.mean([r["phi_hist"] / (_chains(r) * N * r["measurements"]) for r in good], axis=0) / np.diff(phi_edges)
            for r in good:
                try:        # histograms with edges at ±0.05 J only (phi0_density)
                    r.setdefault("p_phi0", phi0_density(r, N, J))
                except ValueError:
                    pass
        p0 = p0_err = np.full(T.size, np.nan)
        if all(isinstance(r.get("p_phi0"), np.ndarray) for r in good):
            p0, p0_err = bootstrap(lambda s: s.mean(axis=0), np.array([r["p_phi0"] for r in good]), n_boot, seed)
        nan = lambda x: np.full(T.size, np.nan) if np.ndim(x) == 0 else x  # noqa: E731  (bootstrap of 1)
        q2s = q2d = cc = cc_err = None
        if all(np.all(np.isfinite(np.asarray(r.get("q2_shared", np.nan), float))) for r in good):
            q2s = np.array([r["q2_shared"] for r in good])
            q2d = np.array([r["q2_disjoint"] for r in good])
            cc, cc_err = bootstrap(lambda x: connected_susceptibility(N, *x.mean(axis=0)),
                                   np.stack([q2, q2s, q2d], axis=1), n_boot, seed)
            cc_err = nan(cc_err)
        out.append(SizeThermal(N=N, series=describe(p.params, fixed), sk=_is_sk(p.params), realizations=len(good),
                               flagged=len(p.records) - len(good), T=T / J, e=e, e_err=nan(e_err), c=c,
                               c_err=nan(c_err), g=g, g_err=nan(g_err), chi=chi, chi_err=nan(chi_err),
                               q_edges=q_edges, p_q=hq, phi_edges=phi_edges,
                               p_phi=hp, q2=q2, q4=q4, p0=p0, p0_err=nan(p0_err), chi_conn=cc,
                               chi_conn_err=cc_err, q2s=q2s, q2d=q2d, h=h, control=control))
    return sorted(out, key=lambda s: (s.series, s.N))


def _arrays_from_columns(rec):
    """A compact-table record (analysis.compact: columns NAME_k per temperature) gets the
    arrays of a results file's record back, in place."""
    from .compact import THERMAL_CONNECTED, THERMAL_PER_T
    for name in THERMAL_PER_T + THERMAL_CONNECTED + ("p_phi0",):
        if f"{name}_0" in rec and not isinstance(rec.get(name), np.ndarray):
            k = 0
            vals = []
            while f"{name}_{k}" in rec:
                vals.append(rec[f"{name}_{k}"])
                k += 1
            rec[name] = np.array(vals, dtype=float)


def _first_crossing(T, d):
    """Lowest T where d changes from > 0 to <= 0, linearly interpolated; NaN if none."""
    k = np.flatnonzero((d[:-1] > 0) & (d[1:] <= 0))
    if k.size == 0:
        return np.nan
    k = k[0]
    return float(T[k] + d[k] * (T[k + 1] - T[k]) / (d[k] - d[k + 1]))


def _crossing(a: SizeThermal, b: SizeThermal, curve, kind: str, n_boot: int, seed: int) -> BinderCrossing:
    """The first crossing of curve(b, ib) − curve(a, ia) (``_first_crossing``; ``curve(s,
    idx)`` the disorder average of size s over realisations idx), with its bootstrap over
    realisations of each size independently."""
    if a.T.shape != b.T.shape or not np.allclose(a.T, b.T):
        raise ValueError(f"N = {a.N} and N = {b.N} have different temperature ladders; the crossing needs one")
    na, nb = len(a.q2), len(b.q2)
    T0 = _first_crossing(a.T, curve(b, np.arange(nb)) - curve(a, np.arange(na)))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        ia, ib = rng.integers(0, na, na), rng.integers(0, nb, nb)
        boots.append(_first_crossing(a.T, curve(b, ib) - curve(a, ia)))
    boots = np.array(boots)
    ok = np.isfinite(boots)
    err = float(boots[ok].std(ddof=1)) if ok.sum() > 1 else np.nan
    return BinderCrossing(a.series, a.N, b.N, T0, err, float(ok.mean()), kind)


def binder_crossing(a: SizeThermal, b: SizeThermal, n_boot: int = N_BOOT, seed: int = 0) -> BinderCrossing:
    """Crossing of g_a(T) and g_b(T) (module docstring), bootstrap over realisations of
    each size independently.  Raises ValueError if the two ladders differ."""
    return _crossing(a, b, lambda s, i: binder(s.q2[i], s.q4[i]), "binder", n_boot, seed)


def connected_crossing(a: SizeThermal, b: SizeThermal, n_boot: int = N_BOOT, seed: int = 0) -> BinderCrossing:
    """Crossing of χ_SG,conn/N^(1/3) of sizes a < b (four chains): at a mean-field
    spin-glass transition, also the de Almeida–Thouless line in a field, χ_SG,conn ∝
    N^(1/3) (γ = 1, ν = 1/2, N ~ L^6 at the upper critical dimension), while it grows
    faster below and stays finite above.  The difference of the scaled curves changes
    sign from > 0 to <= 0 with increasing T, as the Binder cumulant's (module
    docstring); bootstrap over realisations of each size independently.  Raises
    ValueError if the ladders differ or a size has no four-chain moments."""
    if a.q2s is None or b.q2s is None:
        raise ValueError("the connected susceptibility needs tasks run with chains = 4")

    def scaled(s, i):
        return connected_susceptibility(s.N, s.q2[i].mean(axis=0), s.q2s[i].mean(axis=0),
                                        s.q2d[i].mean(axis=0)) / s.N ** (1 / 3)
    return _crossing(a, b, scaled, "connected", n_boot, seed)


def paramagnet_limit(sizes, sizes_used=3):
    """[(T/J, e_∞, err, e_RS, chi²/dof)] for every T above the series' transition of a
    series with a spin representation (``SizeThermal.h`` not None): the weighted straight
    line e_N(T) = e_∞(T) + a(T)/N through the ``sizes_used`` largest sizes (for SK the
    high-temperature expansion's finite-N term is +J_SK²/(2 T N), with corrections of
    higher order in 1/T and 1/N), against the replica-symmetric line
    ``replica_symmetric_energy`` (for SK the exact paramagnet -J_SK²/(2T) above T_c = J/4;
    in the random field above T_AT).  Empty unless ``sizes`` (SizeThermal of one series)
    has such a representation and at least two sizes with one ladder."""
    from .stats import weighted_line
    rep = sorted((s for s in sizes if s.h is not None), key=lambda s: s.N)[-sizes_used:]
    if len(rep) < 2 or any(s.T.shape != rep[0].T.shape or not np.allclose(s.T, rep[0].T) or s.h != rep[0].h
                           for s in rep):
        return []
    h = rep[0].h
    T_ref = transition_temperature(h)
    out = []
    for k, T in enumerate(rep[0].T):
        if T <= T_ref:
            continue
        a, _, cov, chi2 = weighted_line([1.0 / s.N for s in rep], [s.e[k] for s in rep], [s.e_err[k] for s in rep])
        out.append((float(T), a, float(np.sqrt(cov[0, 0])), float(replica_symmetric_energy(T, h)), chi2))
    return out


def _at_tc(T, chi, T_c):
    """χ at T_c, linear in ln T and ln χ between the two ladder temperatures around it
    (NaN when T_c lies outside the ladder)."""
    k = np.searchsorted(T, T_c)
    if k == 0 or k == T.size:
        return np.nan
    w = np.log(T_c / T[k - 1]) / np.log(T[k] / T[k - 1])
    return float(np.exp((1 - w) * np.log(chi[k - 1]) + w * np.log(chi[k])))


def chi_sg_scaling(sizes, T_c=TC_SK, n_boot: int = N_BOOT, seed: int = 0):
    """Finite-size scaling of χ_SG at the SK transition: χ_SG(T_c) ∝ N^(1/3) (mean-field
    finite-size scaling, γ = 1 with the upper critical dimension's N ~ L^6 and ν = 1/2).

    ``sizes``: SizeThermal of one SK series.  Per size χ_SG(T_c), interpolated in
    (ln T, ln χ) between the ladder's temperatures around T_c, with a bootstrap error
    over realisations; the exponent b of the weighted straight line ln χ = a + b ln N
    over all sizes, and the local exponents between neighbouring sizes (their drift is
    the finite-size correction).  Returns None with fewer than two sizes, else
    {"N": [...], "chi": [...], "err": [...], "b": b, "b_err": error, "chi2": chi²/dof,
    "local": [(N1, N2, b12, err)]}."""
    from .stats import weighted_line
    sk = sorted((s for s in sizes if s.sk and s.realizations > 1), key=lambda s: s.N)
    if len(sk) < 2:
        return None
    rng = np.random.default_rng(seed)
    N, chi, err = [], [], []
    for s in sk:
        c0 = _at_tc(s.T, s.N * s.q2.mean(axis=0), T_c)
        boots = [_at_tc(s.T, s.N * s.q2[rng.integers(0, len(s.q2), len(s.q2))].mean(axis=0), T_c)
                 for _ in range(n_boot)]
        if not np.isfinite(c0):
            continue
        N.append(s.N)
        chi.append(c0)
        err.append(float(np.std(boots, ddof=1)))
    if len(N) < 2:
        return None
    lnN, lnc, lne = np.log(N), np.log(chi), np.asarray(err) / np.asarray(chi)
    _, b, cov, chi2 = weighted_line(lnN, lnc, lne)
    local = [(N[k], N[k + 1], float((lnc[k + 1] - lnc[k]) / (lnN[k + 1] - lnN[k])),
              float(np.hypot(lne[k], lne[k + 1]) / (lnN[k + 1] - lnN[k]))) for k in range(len(N) - 1)]
    return {"N": N, "chi": chi, "err": err, "b": b, "b_err": float(np.sqrt(cov[1, 1] * max(chi2, 1.0))),
            "chi2": chi2, "local": local}


def analyze(path, n_boot: int = N_BOOT, seed: int = 0, z_max: float | None = None):
    """(sizes, crossings): ``size_averages`` and the Binder crossings of successive
    sizes of each series, followed by the crossings of χ_SG,conn/N^(1/3)
    (``connected_crossing``, kind "connected") where both sizes ran four chains."""
    sizes = size_averages(path, n_boot, seed, z_max)
    crossings, connected = [], []
    for s0, s1 in zip(sizes[:-1], sizes[1:]):
        if s0.series == s1.series and s0.realizations >= 2 and s1.realizations >= 2:
            crossings.append(binder_crossing(s0, s1, n_boot, seed))
            if s0.q2s is not None and s1.q2s is not None:
                connected.append(connected_crossing(s0, s1, n_boot, seed))
    return sizes, crossings + connected


def _phi0_figure(sizes, out: Path, ground=None):
    """P(0, T) of every size against T (T on a log axis), with the ground states' P(0) at T = 0
    drawn as horizontal marks at the left edge; nothing without P(0, T)."""
    have = [s for s in sizes if s.p0 is not None and np.isfinite(s.p0).any()]
    if not have:
        return
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    series = sorted({s.series for s in have})
    for s in have:
        lab = f"N = {s.N}" + (f" ({s.series})" if len(series) > 1 else "")
        line = ax.errorbar(s.T, s.p0, yerr=s.p0_err, fmt="o-", ms=3, capsize=2, label=lab)
        if ground and s.N in ground:
            m, e, R = ground[s.N]
            ax.axhline(m, color=line[0].get_color(), ls=":", lw=1,
                       label=f"N = {s.N}, T = 0 ground states ({R})")
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(bottom=0)
    ax.set_title("The Coulomb gap at T > 0: P(0, T) against T (dotted: T = 0)", fontsize=9)
    ax.set_xlabel("T/J")
    ax.set_ylabel(rf"$P(0, T)\,J$: density of $|\phi - \mu(T)| < {PHI0_HALF_WIDTH:g}J$")
    ax.legend(fontsize=7)
    save(fig, out / "p_phi0.png")


def _figures(sizes, out: Path):
    plt = pyplot()
    series = sorted({s.series for s in sizes})
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for s in sizes:
        lab = f"N = {s.N}" + (f" ({s.series})" if len(series) > 1 else "")
        axes[0].errorbar(s.T, s.g, yerr=s.g_err, fmt="o-", ms=3, capsize=2, label=lab)
        axes[1].errorbar(s.T, s.e, yerr=s.e_err, fmt="o-", ms=3, capsize=2, label=lab)
    for h in sorted({s.h for s in sizes if s.h is not None}):
        T_ref = transition_temperature(h)
        name = "T_c = J/4 (SK)" if h == 0 else f"T_AT = {T_ref:.3g} J (field rms {h:g} J)"
        axes[0].axvline(T_ref, color="k", ls=":" if h == 0 else "-.", label=name)
        T = np.linspace(T_ref, max(s.T.max() for s in sizes), 60)
        line = (r"$-J_{SK}^2/(2T)$ (SK paramagnet)" if h == 0
                else f"replica-symmetric, SK in a random field of rms {h:g} J")
        axes[1].plot(T, replica_symmetric_energy(T, h), "k--" if h == 0 else "k-.", label=line)
        axes[1].axvline(T_ref, color="k", ls=":" if h == 0 else "-.")
    axes[0].set_xlabel("T/J")
    axes[0].set_ylabel(r"Binder $g = \frac{1}{2}(3 - [\langle q^4\rangle]/[\langle q^2\rangle]^2)$")
    axes[1].set_xlabel("T/J")
    axes[1].set_ylabel(r"$e = [\langle E\rangle - C]/(NJ)$ (C: docs/conventions.md)")
    for ax in axes:
        ax.legend(fontsize=7)
    save(fig, out / "binder_energy.png")
    conn = [s for s in sizes if s.chi_conn is not None]
    if conn:
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for s in conn:
            lab = f"N = {s.N}" + (f" ({s.series})" if len(series) > 1 else "")
            ax.errorbar(s.T, s.chi_conn / s.N ** (1 / 3), yerr=s.chi_conn_err / s.N ** (1 / 3), fmt="o-", ms=3,
                        capsize=2, label=lab)
        for h in sorted({s.h for s in conn if s.h is not None}):
            ax.axvline(transition_temperature(h), color="k", ls=":" if h == 0 else "-.",
                       label=("T_c = J/4 (SK)" if h == 0 else f"replica-symmetric T_AT = {transition_temperature(h):.3g} J"))
        ax.set_xscale("log")
        from matplotlib.ticker import NullFormatter
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("T/J")
        ax.set_ylabel(r"$\chi_{SG,conn}/N^{1/3}$")
        ax.set_title("Connected spin-glass susceptibility (four chains)", fontsize=9)
        ax.legend(fontsize=7)
        save(fig, out / "chi_conn.png")
    big = [s for s in sizes if s.N == max(x.N for x in sizes if x.series == s.series) and s.p_q is not None]
    if not big:
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for s in big:
        picks = np.unique(np.linspace(0, s.T.size - 1, min(4, s.T.size)).round().astype(int))
        qc = 0.5 * (s.q_edges[:-1] + s.q_edges[1:])
        pc = 0.5 * (s.phi_edges[:-1] + s.phi_edges[1:])
        for k in picks:
            axes[0].plot(qc, s.p_q[k], "-", label=f"N = {s.N}, T/J = {s.T[k]:.3g}")
            axes[1].plot(pc, s.p_phi[k], "-", label=f"N = {s.N}, T/J = {s.T[k]:.3g}")
    axes[0].set_xlabel("q")
    axes[0].set_ylabel("P(q)")
    axes[1].set_xlabel(r"$(\phi - \mu(T))/J$")
    axes[1].set_ylabel(r"$P(\phi)\,J$")
    for ax in axes:
        ax.legend(fontsize=7)
    save(fig, out / "p_q_phi.png")


def _write_tables(sizes, crossings, out: Path):
    """thermal.csv (one row per series, size and temperature) and binder_crossings.csv,
    written by the csv module (a series description holds commas and quotes)."""
    import csv
    with written(out / "thermal.csv", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["series", "N", "realizations", "flagged", "T_over_J", "e", "e_err", "e_paramagnet", "c", "c_err",
                    "g", "g_err", "chi_sg", "chi_sg_err", "p_phi0", "p_phi0_err", "chi_sg_conn", "chi_sg_conn_err"])
        for s in sizes:
            none = np.full(s.T.size, np.nan)
            p0 = s.p0 if s.p0 is not None else none
            p0_err = s.p0_err if s.p0_err is not None else none
            cc = s.chi_conn if s.chi_conn is not None else none
            cc_err = s.chi_conn_err if s.chi_conn_err is not None else none
            rs = none.copy()
            if s.h is not None:      # the replica-symmetric line where it is exact: above the transition
                above = s.T > transition_temperature(s.h)
                rs[above] = replica_symmetric_energy(s.T[above], s.h)
            for k in range(s.T.size):
                para = rs[k]
                w.writerow([s.series, s.N, s.realizations, s.flagged, f"{s.T[k]:.6g}", f"{s.e[k]:.6g}",
                            f"{s.e_err[k]:.3g}", f"{para:.6g}", f"{s.c[k]:.6g}", f"{s.c_err[k]:.3g}",
                            f"{s.g[k]:.6g}", f"{s.g_err[k]:.3g}", f"{s.chi[k]:.6g}", f"{s.chi_err[k]:.3g}",
                            f"{p0[k]:.6g}", f"{p0_err[k]:.3g}", f"{cc[k]:.6g}", f"{cc_err[k]:.3g}"])
    with written(out / "binder_crossings.csv", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["series", "kind", "N_a", "N_b", "T_over_J", "err", "found"])
        for c in crossings:
            w.writerow([c.series, c.kind, c.a, c.b, f"{c.T:.6g}", f"{c.err:.3g}", f"{c.found:.3g}"])


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.thermal", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results", nargs="+", help="results files (.h5) or compact tables (.csv.gz) of engine thermal")
    ap.add_argument("--out", help="directory for thermal.csv, binder_crossings.csv, binder_energy.png, chi_conn.png "
                    "(four chains), p_q_phi.png, "
                    "p_phi0.png")
    ap.add_argument("--ground-states", nargs="+", metavar="TABLE", default=None,
                    help="t = 0 ground states (engine mc: results files or compact tables with the |phi|/J "
                         "counts) of the same model: their P(0) beside P(0, T), printed and in p_phi0.png")
    ap.add_argument("--n-boot", type=int, default=N_BOOT, help=f"bootstrap resamples (default {N_BOOT})")
    ap.add_argument("--z-max", type=float, default=None,
                    help="use the tasks with equilibration_z <= Z (and at least mc.thermal.MIN_ROUND_TRIPS "
                         "round trips per chain where stored) instead of the stored flag 'equilibrated'")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    if a.n_boot < 2:
        print(f"error: --n-boot must be >= 2, got {a.n_boot}", file=sys.stderr)
        return 2
    if a.z_max is not None and not (np.isfinite(a.z_max) and a.z_max > 0):
        print(f"error: --z-max must be finite and > 0, got {a.z_max}", file=sys.stderr)
        return 2
    try:
        sizes, crossings = analyze(a.results, a.n_boot, z_max=a.z_max)
        ground = ground_state_phi0(a.ground_states) if a.ground_states else None
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not sizes:
        print(f"{', '.join(a.results)}: no equilibrated task: nothing to average (`simglass info` counts the flagged ones)")
        return 0
    for series in dict.fromkeys(s.series for s in sizes):
        group = [s for s in sizes if s.series == series]
        h = group[0].h
        T_ref = transition_temperature(h) if h is not None else np.nan
        rs = {s.N: replica_symmetric_energy(s.T, h) for s in group} if h is not None else {}
        kind = ("  (compensated n = 1/2, W = 0: SK with J_SK = J/4)" if h == 0 else
                f"  (n = 1/2, W = 0, uncompensated: SK with J_SK = J/4 in a Gaussian random field of rms {h:g} J; "
                f"replica-symmetric above T_AT = {T_ref:.4f} J)" if h is not None else "")
        print(("tasks used: equilibration_z <= " + f"{a.z_max:g}; " if a.z_max is not None else "")
              + f"series {series}" + kind)
        print(f"{'N':>5} {'R':>3} {'flag':>4} {'T/J':>7} {'e':>9} {'err':>8} {'e_RS':>9} {'dev/err':>7} "
              f"{'c':>7} {'g':>7} {'err':>6} {'chi_SG':>8} {'err':>7}")
        for s in group:
            for k in range(s.T.size):
                para = rs[s.N][k] if h is not None and s.T[k] > T_ref else np.nan
                dev = (s.e[k] - para) / s.e_err[k] if np.isfinite(para) else np.nan
                print(f"{s.N:5d} {s.realizations:3d} {s.flagged:4d} {s.T[k]:7.4f} {s.e[k]:9.5f} {s.e_err[k]:8.5f} "
                      f"{para:9.5f} {dev:7.2f} {s.c[k]:7.4f} {s.g[k]:7.4f} {s.g_err[k]:6.4f} {s.chi[k]:8.3f} "
                      f"{s.chi_err[k]:7.3f}")
        limit = paramagnet_limit(group)
        if limit:
            print(f"e(T) above {'T_c' if h == 0 else 'T_AT'} extrapolated as e_inf + a/N over N = "
                  + ", ".join(str(x.N) for x in sorted(group, key=lambda x: x.N)[-3:])
                  + (" against the paramagnet -J_SK^2/(2T):" if h == 0 else " against the replica-symmetric line:"))
            for T, e0, err, para, chi2 in limit:
                print(f"   T/J = {T:.4f}: e_inf = {e0:.5f} +- {err:.5f}, {'exact' if h == 0 else 'RS'} {para:.5f} "
                      f"({(e0 - para) / err:+.1f} sigma; chi2/dof {chi2:.2f})")
        fss = chi_sg_scaling(group, n_boot=a.n_boot) if group[0].sk else None
        if fss:
            print(f"chi_SG at T_c = {TC_SK:g} J: " + ", ".join(
                f"N = {n}: {c:.3f} +- {e:.3f}" for n, c, e in zip(fss["N"], fss["chi"], fss["err"])))
            print(f"   exponent of chi_SG(T_c) ~ N^b over all sizes: b = {fss['b']:.3f} +- {fss['b_err']:.3f} "
                  f"(1/3 for SK; chi2/dof {fss['chi2']:.2f}, error scaled by its root when > 1); local: "
                  + ", ".join(f"{n1}/{n2}: {x:.3f} +- {e:.3f}" for n1, n2, x, e in fss["local"]))
        for s in group:
            if s.chi_conn is not None:
                print(f"chi_SG,conn (four chains), N = {s.N}: " + ", ".join(
                    f"T/J = {T:.3g}: {c:.3f} +- {e:.3f}" for T, c, e in zip(s.T, s.chi_conn, s.chi_conn_err)))
        for c in crossings:
            if c.series == series:
                ref = (f"  (SK: T_c = {TC_SK:g} J)" if h == 0 else
                       f"  (replica-symmetric T_AT = {T_ref:.4f} J)" if h is not None and c.kind == "connected"
                       else "  (in a random field q does not vanish: not a transition estimate)"
                       if h is not None else "")
                what = "Binder crossing" if c.kind == "binder" else "crossing of chi_SG,conn/N^(1/3)"
                print(f"{what} N = {c.a}/{c.b}: T/J = {c.T:.4f} +- {c.err:.4f} "
                      f"(crossing in {c.found:.0%} of {a.n_boot} resamples){ref}")
        if len(group) > 1 and not any(c.series == series for c in crossings):
            print("no Binder crossing: sizes with fewer than 2 equilibrated realisations")
        for s in group:
            if s.p0 is not None and np.isfinite(s.p0).any():
                gs = ground.get(s.N) if ground else None
                print(f"P(0, T) J (|phi - mu(T)| < {PHI0_HALF_WIDTH:g} J), N = {s.N}: "
                      + ", ".join(f"T/J = {T:.3g}: {p:.4f} +- {e:.4f}" for T, p, e in zip(s.T, s.p0, s.p0_err))
                      + (f"; ground states (T = 0): {gs[0]:.4f} +- {gs[1]:.4f} ({gs[2]} realisations)" if gs else ""))
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        _write_tables(sizes, crossings, out)
        _figures(sizes, out)
        _phi0_figure(sizes, out, ground)
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
