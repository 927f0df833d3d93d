"""Localisation from ``hartree`` results against a scanned parameter x (J or W) for each
lattice size: the typical Thouless conductance <ln g> (primary diagnostic, level
curvatures under a boundary twist, simglass/ed/curvature.py) and the gap ratio <r> (secondary),
crossings of successive sizes with bootstrap errors and the finite-size drift
(simglass/analysis/finite_size.py), DOS curves, W_J (Eq. 16).

A point's value is the mean over converged, stable realisations of the per-realisation
value (``ln_g_mean``: <ln g> over the window of levels around μ and the twist
directions; ``r_mean``); its error is the standard error over realisations.  Flagged
realisations (unconverged, or a saddle point of E_H: ``stable`` false) are counted per
point and left out, never averaged silently.

    python -m simglass.analysis.localization results/localization_scan.h5 --x J --out DIR [--limit]
    python -m simglass.analysis.localization data/low_density_lng_*.csv.gz ... --x J --by density   (Eq. 19)
    python -m simglass.analysis.localization data/hartree_finite_t_loc.csv.gz --x J --shift data/hartree_finite_t_loc_T010.csv.gz
        (the crossings of a second scan on the same realisations, and their shift)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import written
from .finite_size import Estimate, estimate, pair_crossings, paired_crossing_shift, restrict, scaling_flow, size_table
from .load import lattice_key
from .plotting import pyplot, save
from .reference import ALPHA_THEORY as ALPHA, R_GOE, R_POISSON
from .stats import mean_sem

DIAGNOSTICS = {"ln_g": ("ln_g_mean", r"$\langle \ln g\rangle$ (Thouless, levels near $\mu$)"),
               "r": ("r_mean", r"$\langle r\rangle$ (levels near $\mu$)")}




def usable(rec) -> bool:
    """A task that ``simglass info`` does not flag: every ``FLAGS`` dataset of the hartree
    engine (converged, stable, not degenerate) at its sound value (simglass.engines.unsound;
    files from before the stability check have no ``stable`` and count as stable)."""
    from simglass.ed.hartree_engine import FLAGS
    from simglass.engines import unsound
    return not unsound(FLAGS, rec.get)


@dataclass
class Localization:
    """tables[d]: {size: finite_size.SizeData}; crossings[d]: successive-size Crossings;
    estimate: finite_size.Estimate of the <ln g> crossing, for d in DIAGNOSTICS;
    points: the analysis.load points read."""
    x: str
    tables: dict
    crossings: dict
    estimate: Estimate
    points: list

    def realizations(self) -> str:
        """'min-max per point, F flagged at most' over the points of the <ln g> table."""
        n = [int(k) for d in self.tables["ln_g"].values() for k in d.mean_err()[2]]
        f = [int(k) for d in self.tables["ln_g"].values() for k in d.flagged]
        return f"{min(n)}-{max(n)} per point, {max(f)} flagged at most" if n else "0"

    def rows(self):
        """(size, x, realisations used, flagged, <ln g>, err, <r>, err) per point."""
        out = []
        for s, dg in self.tables["ln_g"].items():
            dr = self.tables["r"][s]
            mg, eg, n = dg.mean_err()
            mr, er, _ = dr.mean_err()
            out += [(s, float(dg.x[j]), int(n[j]), int(dg.flagged[j]), float(mg[j]), float(eg[j]),
                     float(mr[j]), float(er[j])) for j in range(dg.x.size)]
        return out


def analyze(path, x="J", out=None, window=None, n_boot=500, sizes=None) -> Localization:
    """The localisation analysis (module docstring) of one or more hartree results files
    or compact tables (analysis.compact; e.g. the pieces of a scan, one size each); with
    ``out``, writes localization.csv, ln_g.png, r_mean.png and dos.png there.
    ``sizes``: linear sizes L to keep (e.g. (10, 14), the sizes where n = ½ closes a
    shell), the others left out; ValueError names a size the files do not hold."""
    from .compact import load_any
    _, points = load_any(path, "hartree")
    return _analyze(select_sizes(points, sizes), x, out, window, n_boot)


def select_sizes(points, sizes):
    """The points whose lattice has linear size L (its first extent) in ``sizes``; all
    points when ``sizes`` is None.  Raises ValueError for a size with no point."""
    if sizes is None:
        return points
    if len(sizes) == 0:
        raise ValueError("--sizes: give at least one linear size L")
    have = sorted({lattice_key(p.params)[0] for p in points})
    missing = [L for L in sizes if L not in have]
    if missing:
        raise ValueError(f"--sizes: no points at L = {', '.join(map(str, missing))}; the files hold L = "
                         + ", ".join(map(str, have)))
    return [p for p in points if lattice_key(p.params)[0] in set(sizes)]


def analyze_by(path, by, x="J", window=None, n_boot=500) -> dict:
    """The analysis of ``analyze`` separately for each value of the scanned model
    parameter ``by`` (e.g. density), on the lattice sizes present at every value, so
    that each group's estimate comes from the same pair of sizes.  Returns
    {value: Localization}, ascending.  Raises ValueError when a point lacks ``by`` or
    fewer than two sizes are common to all groups."""
    from .compact import load_any
    _, points = load_any(path, "hartree")
    groups = {}
    for p in points:
        v = p.params.get(by)
        if v is None:
            raise ValueError(f"--by {by}: a point with L = {p.params['L']} has no {by}")
        if isinstance(v, (bool, str, list)) or not np.isfinite(v):
            raise ValueError(f"--by {by}: must name a numeric model parameter (e.g. density), got {v!r}")
        groups.setdefault(float(v), []).append(p)
    sizes = {v: sorted({lattice_key(p.params) for p in g if p.records}, key=np.prod) for v, g in groups.items()}
    common = set.intersection(*map(set, sizes.values())) if sizes else set()
    if len(common) < 2:
        raise ValueError(f"--by {by}: fewer than two lattice sizes common to all {by} values ("
                         + "; ".join(f"{by} = {v:g}: " + ", ".join("x".join(map(str, s)) for s in z)
                                     for v, z in sorted(sizes.items())) + ")")
    return {v: _analyze([p for p in g if lattice_key(p.params) in common], x, None, window, n_boot)
            for v, g in sorted(groups.items())}


def paired_difference(path, key, x="J", value="ln_g_mean"):
    """⟨ln g⟩ (``value``) of the two values of the scanned model parameter ``key`` (e.g.
    compensate) on the same realisations: per lattice size and x, [(size, x, R, mean at
    the first value, mean at the second, mean paired difference second − first, its
    standard error)], values in the order sorted(); realisations unflagged at both only.
    Raises ValueError unless ``key`` takes exactly two values."""
    from .compact import load_any
    _, points = load_any(path, "hartree")
    values = sorted({p.params.get(key) for p in points}, key=repr)
    if len(values) != 2 or None in values:
        raise ValueError(f"--paired {key}: needs exactly two values of {key} in the scan, got {values}")
    by = {}
    for p in points:
        k = (lattice_key(p.params), p.params[x] / (p.params["t"] or 1.0))
        for r, rec in zip(p.realizations, p.records):
            if usable(rec) and np.isfinite(rec.get(value, np.nan)):
                by.setdefault(k, {}).setdefault(r, {})[values.index(p.params[key])] = float(rec[value])
    rows = []
    for (size, xv), reals in sorted(by.items(), key=lambda kv: (np.prod(kv[0][0]), kv[0][1])):
        pairs = np.array([[v[0], v[1]] for v in reals.values() if len(v) == 2])
        if len(pairs) < 2:
            continue
        d = pairs[:, 1] - pairs[:, 0]
        rows.append((size, xv, len(pairs), float(pairs[:, 0].mean()), float(pairs[:, 1].mean()), float(d.mean()),
                     float(d.std(ddof=1) / np.sqrt(len(d)))))
    return values, rows


def crossing_shift(first, second, x="J", window=None, n_boot=500):
    """The <ln g> pair crossings of two scans on the same realisations (``first`` and
    ``second``: results files or compact tables, e.g. a scan at T = 0 and its repeat at
    T > 0) and the shift second − first, bootstrapped on the realisations the two share
    (finite_size.paired_crossing_shift).  A realisation is identified by its job's seed and
    its index, so pieces of either scan may be given in any order.  Returns a list of
    finite_size.CrossingShift.

    Raises ValueError when the scans share no lattice size, when a task (size, x, seed,
    realisation) appears twice in one scan (e.g. a set-aside run given beside its rerun),
    when the scans differ in a model parameter other than L and x (W, t, density,
    compensate, couplings, onsite, n_modes, n_particles), or when a table's job file is
    not found (its seed names the realisations)."""
    from .compact import load_any
    from .phase_diagram import job_of
    fixed = ("W", "t", "density", "compensate", "couplings", "onsite", "n_modes", "n_particles")
    tables, models = [], []
    for paths in (first, second):
        paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
        _, points = load_any(paths, "hartree")
        seeds = [job_of(path).seed for path in paths]
        seen = set()
        for p in points:
            p.source = seeds[p.source]      # the disorder of a realisation: (seed, index)
            for r in p.realizations:
                key = (lattice_key(p.params), p.params[x], p.source, r)
                if key in seen:
                    raise ValueError(f"--shift: the task L = {key[0]}, {x} = {key[1]:g}, seed {key[2]}, realisation "
                                     f"{r} appears twice in one scan (give each task once)")
                seen.add(key)
        models.append({k: sorted({_param_text(p.params.get(k)) for p in points}) for k in fixed})
        tables.append(size_table(points, lambda rec: rec.get(DIAGNOSTICS["ln_g"][0], np.nan), x, usable))
    differ = [k for k in fixed if models[0][k] != models[1][k]]
    if differ:
        raise ValueError("--shift: the two scans differ in " + ", ".join(f"{k} ({', '.join(models[0][k])} against "
                                                                          f"{', '.join(models[1][k])})" for k in differ))
    if not set(tables[0]) & set(tables[1]):
        raise ValueError("--shift: the two scans share no lattice size")
    return paired_crossing_shift(*tables, n_boot=n_boot, window=window)


def _param_text(v) -> str:
    """A model parameter as text, the same from a results file and a compact table
    (True and 1.0, None and NaN, 3 and 3.0 alike)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "None"
    if isinstance(v, (bool, int, float, np.integer, np.floating)):
        return f"{float(v):g}"
    return str(v)


def trend(groups):
    """Power law x_c ∝ v^b of the groups' crossings (analyze_by): b from the crossings of
    the largest pair of sizes with their statistical (bootstrap) errors, and the
    systematic error |b - b'| with b' from the next smaller pair (the drift with size,
    as for a single x_c).  Returns (b, stat, sys, chi²/dof, [(v, x_c, stat error)]);
    NaN where fewer than two groups have a crossing (sys: also for b')."""
    from .stats import power_law_fit

    def fit(k):
        pts = [(v, g.crossings["ln_g"][k].x, g.crossings["ln_g"][k].err) for v, g in groups.items()
               if len(g.crossings["ln_g"]) >= abs(k) and np.isfinite(g.crossings["ln_g"][k].x)
               and np.isfinite(g.crossings["ln_g"][k].err) and g.crossings["ln_g"][k].x > 0]
        if len(pts) < 2:
            return np.nan, np.nan, np.nan, pts
        return (*power_law_fit(*np.array(pts).T), pts)
    b, stat, chi2, pts = fit(-1)
    b_prev = fit(-2)[0]
    return b, stat, abs(b - b_prev) if np.isfinite(b_prev) else np.nan, chi2, pts


def _analyze(points, x, out, window, n_boot) -> Localization:
    tables, crossings = {}, {}
    for d, (key, _) in DIAGNOSTICS.items():
        tables[d] = size_table(points, lambda rec, key=key: rec.get(key, np.nan), x, usable)
        crossings[d] = pair_crossings(tables[d], n_boot=n_boot, window=window)
    res = Localization(x, tables, crossings, estimate(crossings["ln_g"], len(tables["ln_g"])), points)
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with written(out / "localization.csv") as fh:
            fh.write(f"size,{x}_over_t,realizations,flagged,ln_g,ln_g_err,r_mean,r_err\n")
            for s, xv, n, u, g, ge, r, re in res.rows():
                fh.write(f"{'x'.join(map(str, s))},{xv:.6g},{n},{u},{g:.6f},{ge:.6f},{r:.6f},{re:.6f}\n")
        for d in DIAGNOSTICS:
            _figure(res, d, out / ("ln_g.png" if d == "ln_g" else "r_mean.png"))
        _flow_figure(_in_window(scaling_flow(tables["ln_g"]), window), x, out / "flow.png")
        _dos_figure(points, x, out / "dos.png")
    return res


@dataclass
class Limit:
    """The L -> infinity estimate of a crossing point over the analysis choices fixed in
    ``limit_estimate``: ``spread`` (finite_size.Spread: the primary choice's value and
    statistical error, the systematic error half the range over all choices) and
    ``choices``, (label, x_inf, stat) of each choice that could be evaluated; for the
    figure (``limit_figure``) the primary scaling fit, the pair crossings and their
    extrapolations."""
    spread: object
    choices: list
    nu: float = np.nan
    nu_err: float = np.nan
    primary: object = None
    crossings: list = field(default_factory=list)
    extrapolations: list = field(default_factory=list)


def limit_estimate(table, x0, n_boot=100, seed=0, window=None) -> Limit:
    """x_c as L -> infinity from a finite_size size table, with the extrapolation and the
    estimator in its error, on the x inside ``window`` = (lo, hi) (default: all x; the
    command's --window, the range of its crossing fits).  The choices (fixed before the
    W~ = 0 production was looked at, and the same for the Anderson check):

    * the scaling fit of all sizes (analysis.scaling_fit) with expansion orders n_r = 2
      and 3, with the irrelevant correction (n_i = 1) when there are at least 4 sizes
      and without it; on the full x range (of the window) and on its central half
      (around the primary x_c);
    * the pair crossings (finite_size.pair_crossings) extrapolated as x_inf + a L^-w
      with w = 1/nu + y of the primary scaling fit (or 1/nu + 2 without a fitted y) and
      w = 1/nu + 1, with their joint-bootstrap covariance, when there are at least 2
      crossings (with 4: also w free and x_inf + a/L + b/L²).

    The primary value: the corrected scaling fit (n_r = 2) with 4 or more sizes, else
    the uncorrected one.  Systematic error: half the range of all choices' values."""
    from .finite_size import crossing_extrapolation, joint_crossing_bootstrap, systematic_spread
    from .scaling_fit import scaling_fit
    table = restrict(table, window)
    sizes = len(table)
    if sizes < 2:
        raise ValueError(f"fewer than two sizes with points in the window {window}: no L -> infinity estimate")
    corr = (True, False) if sizes >= 4 else (False,)
    x = np.concatenate([d.x for d in table.values()])
    choices, primary = [], None
    for c in corr:
        for n_r in (2, 3):
            f = scaling_fit(table, x0, n_r=n_r, correction=c, n_boot=n_boot, seed=seed)
            if primary is None:
                primary = f
            choices.append((f"scaling fit, n_r = {n_r}, {'with' if c else 'no'} correction, "
                            + ("all x" if window is None else f"x in {window[0]:g}-{window[1]:g}"),
                            f.x_c, f.x_c_err))
    half = 0.25 * (x.max() - x.min())
    win = (primary.x_c - half, primary.x_c + half)
    f = scaling_fit(table, primary.x_c, n_r=2, correction=corr[0], window=win, n_boot=n_boot, seed=seed)
    choices.append((f"scaling fit, n_r = 2, x in {win[0]:.2f}-{win[1]:.2f}", f.x_c, f.x_c_err))
    cs = pair_crossings(table, n_boot=n_boot, seed=seed)
    ok = [c for c in cs if np.isfinite(c.x) and np.isfinite(c.err)]
    extrapolations = []
    if len(ok) >= 2:
        boots = joint_crossing_bootstrap(table, n_boot=n_boot, seed=seed)
        keep = [i for i, c in enumerate(cs) if np.isfinite(c.x) and np.isfinite(c.err)]
        b = boots[:, keep]
        b = b[np.all(np.isfinite(b), axis=1)]
        cov = np.cov(b.T) if len(b) > len(keep) else None
        y = primary.y if np.isfinite(primary.y) else 2.0
        forms = ("power", "poly2") if len(ok) >= 4 else ("power",)
        extrapolations = crossing_extrapolation(ok, forms=forms, omegas=(1 / primary.nu + y, 1 / primary.nu + 1),
                                                cov=cov)
        for e in extrapolations:
            choices.append((f"pair crossings, {e.form}", e.x_inf, e.err))
    return Limit(systematic_spread(choices), choices, primary.nu, primary.nu_err, primary, ok, extrapolations)


def limit_lines(lim, x, label=""):
    """The printed lines of a Limit: one per choice, then the estimate (``label``, e.g.
    the energy bin, after "L -> inf" on each)."""
    tag = f", {label}" if label else ""
    s = lim.spread
    return ([f"  L -> inf{tag}, {lbl}: {x}/t = {v:.3f} +- {err:.3f}" for lbl, v, err in lim.choices]
            + [f"L -> inf estimate{tag}: {x}/t = {s.x:.3f} +- {s.stat:.3f} (stat) +- {s.sys:.3f} (sys: half the "
               f"range over the choices above) = {s.x:.3f} +- {s.error:.3f}; nu = {lim.nu:.2f} +- {lim.nu_err:.2f} "
               "(primary scaling fit)"])


def limit_figure(table, lim, x, path):
    """Two panels of ``limit_estimate``: the pair crossings against 1/L_eff (L_eff =
    √(L_a L_b)) with the extrapolations in L and the quoted L -> infinity band; and the
    data of every size against (x - x_c) L^(1/ν) of the primary scaling fit (the raw
    collapse: the irrelevant correction is not subtracted)."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.3))
    s = lim.spread
    if lim.crossings:
        Le = np.array([np.sqrt(c.a[0] * c.b[0]) for c in lim.crossings])
        ax1.errorbar(1 / Le, [c.x for c in lim.crossings], yerr=[c.err for c in lim.crossings], fmt="ko", capsize=3,
                     label="pair crossings")
        grid = np.linspace(0, 1.05 / Le.min(), 100)[1:]
        for k, e in enumerate(lim.extrapolations):
            Lg = 1 / grid
            if "b" in e.params:
                curve = e.x_inf + e.params["a"] / Lg + e.params["b"] / Lg ** 2
            elif "w" in e.params:
                curve = e.x_inf + e.params["a"] * Lg ** (-e.params["w"])
            else:
                continue
            ax1.plot(np.concatenate([[0], grid]), np.concatenate([[e.x_inf], curve]), "-", lw=1, color=f"C{k}",
                     label=f"{e.form}: {e.x_inf:.2f} ± {e.err:.2f}")
    if np.isfinite(s.x):
        ax1.axhspan(s.x - s.error, s.x + s.error, color="gray", alpha=0.2,
                    label=f"L → ∞ estimate {s.x:.2f} ± {s.error:.2f} (stat ⊕ sys)")
    ax1.set_xlim(left=0)
    ax1.set_xlabel("1/L_eff, L_eff = √(L_a L_b)")
    ax1.set_ylabel(f"crossing {x}/t")
    ax1.set_title("Crossings of ⟨ln g⟩ against size, and their extrapolations", fontsize=9)
    ax1.legend(fontsize=7)
    f = lim.primary
    if f is not None and np.isfinite(f.x_c) and np.isfinite(f.nu):
        for k, (size, d) in enumerate(table.items()):
            m, e, _ = d.mean_err()
            ax2.errorbar((d.x - f.x_c) * size[0] ** (1 / f.nu), m, yerr=e, fmt="o", ms=3, capsize=2, color=f"C{k}",
                         label=f"L = {size[0]}")
        ax2.set_xlabel(f"({x} − {x}_c) L^(1/ν), {x}_c = {f.x_c:.2f}, ν = {f.nu:.2f}")
        ax2.set_ylabel("⟨ln g⟩")
        ax2.set_title("Raw collapse with the primary scaling fit (irrelevant correction not subtracted)", fontsize=9)
        ax2.legend(fontsize=7)
    save(fig, path)


def w_j(points):
    """Measured W_J = 1/P(phi = ±t) from the Hartree-field histograms, per point, with
    Eq. 16's J²/(alpha t): list of (size, J/t, W_J, err, theory)."""
    out = []
    for p in points:
        recs = [r for r in p.records if usable(r)]
        if len(recs) < 2 or p.params["t"] <= 0:
            continue
        t, J = p.params["t"], p.params["J"]
        edges = recs[0]["dos_edges"]
        w = np.diff(edges)
        bins = [np.searchsorted(edges, v) - 1 for v in (-t, t)]
        if min(bins) < 0 or max(bins) >= w.size:
            continue
        P = np.array([np.mean([r["phi_hist"][b] / (r["fields"].size * w[b]) for b in bins]) for r in recs])
        m, e = mean_sem(P)
        if m > 0:
            out.append((lattice_key(p.params), J / t, 1 / m, e / m ** 2, J ** 2 / (ALPHA * t)))
    return out


def ipr_table(points, x="J", fraction=0.1):
    """Disorder-averaged IPR Σ_i |psi(i)|⁴ of the ``fraction`` of levels nearest mu, per
    size and x: list of (size, N, x/t, mean IPR, error, N * IPR).  Extended states have
    IPR ~ 1/N (N * IPR constant in L), localised ones IPR independent of N."""
    out = []
    for p in points:
        recs = [r for r in p.records if usable(r)]
        if len(recs) < 2:
            continue
        vals = []
        for r in recs:
            N = r["levels"].size
            K = max(8, int(round(fraction * N)))
            nf = int(round(r["density"].sum()))
            lo = int(np.clip(nf - K // 2, 0, N - K))
            vals.append(r["ipr"][lo:lo + K].mean())
        m, e = mean_sem(vals)
        out.append((lattice_key(p.params), N, p.params[x] / (p.params["t"] or 1.0), float(m), float(e), float(N * m)))
    return out


def _figure(res, d, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for s, data in res.tables[d].items():
        m, e, _ = data.mean_err()
        ax.errorbar(data.x, m, yerr=e, fmt="o-", ms=3, capsize=2, label="L = " + "x".join(map(str, s)))
    if d == "r":
        ax.axhline(R_POISSON, color="gray", ls=":", label="Poisson 0.386")
        ax.axhline(R_GOE, color="gray", ls="--", label="GOE 0.531")
    bands = [c for c in res.crossings[d] if np.isfinite(c.x)]
    for c in bands:
        w = c.err if np.isfinite(c.err) else 0.0
        ax.axvspan(c.x - w, c.x + w, color="C3", alpha=0.12)
    ax.set_xlabel(f"{res.x}/t")
    ax.set_ylabel(DIAGNOSTICS[d][1])
    ax.set_title(("Thouless conductance" if d == "ln_g" else "Level statistics") + " near μ"
                 + (" (bands: crossings ± 1σ)" if bands else " (no crossing)"), fontsize=10)
    ax.legend(fontsize=8)
    save(fig, path)


def _in_window(flow, window):
    """The flow points with x inside ``window`` = (lo, hi) (all for None)."""
    return [f for f in flow if window is None or window[0] <= f.x <= window[1]]


def _flow_figure(flow, x, path):
    """beta = d<ln g>/d ln L against <ln g> for every pair of successive sizes (scaling_flow)."""
    if not flow:
        return
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    pairs = list(dict.fromkeys((f.a, f.b) for f in flow))
    for k, (a, b) in enumerate(pairs):
        fs = [f for f in flow if (f.a, f.b) == (a, b)]
        ax.errorbar([f.y_mid for f in fs], [f.beta for f in fs], xerr=[f.y_err for f in fs],
                    yerr=[f.beta_err for f in fs], fmt="o-", ms=3, capsize=2, color=f"C{k}",
                    label=f"L = {a[0]} → {b[0]}")
        for f in fs:
            ax.annotate(f"{f.x:g}", (f.y_mid, f.beta), fontsize=6, color=f"C{k}",
                        xytext=(3, 3), textcoords="offset points")
    ax.axhline(0.0, color="gray", lw=0.8)
    ax.set_xlabel(r"$\langle \ln g\rangle$ (mean of the two sizes)")
    ax.set_ylabel(r"$\beta = d\langle \ln g\rangle / d\ln L$")
    ax.set_title(f"Scaling flow of the Thouless conductance (labels: {x}/t); "
                 "β > 0 grows with L, β < 0 localises", fontsize=8)
    ax.legend(fontsize=8)
    save(fig, path)


def _dos_figure(points, x, path):
    """rho(E - mu) per site for each x at the largest size (Fig. 3 analogue)."""
    plt = pyplot()
    big = max((np.prod(lattice_key(p.params)) for p in points if p.records), default=None)
    if big is None:
        return
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for p in points:
        recs = [r for r in p.records if usable(r) and "dos_hist" in r]
        if np.prod(lattice_key(p.params)) != big or not recs:
            continue
        edges = recs[0]["dos_edges"]
        c = 0.5 * (edges[1:] + edges[:-1])
        rho = np.array([r["dos_hist"] / (r["levels"].size * np.diff(edges)) for r in recs])
        m, e = mean_sem(rho)
        t = p.params["t"] or 1.0
        ax.errorbar(c / t, m * t, yerr=e * t, fmt="-", lw=1, label=f"{x}/t = {p.params[x] / t:g}")
    ax.set_xlabel(r"$(E - \mu)/t$")
    ax.set_ylabel(r"$t\,\rho(E)$ per site")
    if not ax.lines:
        plt.close(fig)
        return
    ax.set_title("Hartree density of states, L = " + "x".join(map(str, next(
        lattice_key(p.params) for p in points if np.prod(lattice_key(p.params)) == big))))
    ax.legend(fontsize=7)
    save(fig, path)


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.localization", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results", nargs="+", help="results files (.h5) or compact tables (.csv)")
    ap.add_argument("--x", default="J", choices=["J", "W"], help="scanned parameter (in units of t)")
    ap.add_argument("--out", help="directory for localization.csv, ln_g.png, r_mean.png, flow.png, dos.png")
    ap.add_argument("--window", type=float, nargs=2, metavar=("LO", "HI"),
                    help="x range of the crossing fits, of the printed and drawn scaling flow and of --limit "
                         "(default: every scanned x)")
    ap.add_argument("--by", metavar="KEY",
                    help="analyse each value of this scanned model parameter separately (e.g. density) "
                         "on the sizes common to all, and fit x_c against it as a power law (Eq. 19)")
    ap.add_argument("--paired", metavar="KEY",
                    help="the two values of a scanned model parameter (e.g. compensate) on the same "
                         "realisations: <ln g> at each and the paired difference (paired_difference)")
    ap.add_argument("--shift", nargs="+", metavar="FILE",
                    help="a second scan on the same realisations (e.g. at T > 0): the <ln g> crossings of both "
                         "and their shift, bootstrapped on the shared realisations (crossing_shift)")
    ap.add_argument("--sizes", type=int, nargs="+", metavar="L",
                    help="linear sizes to analyse, the others left out (e.g. 10 14: the sizes where n = 1/2 "
                         "closes a shell)")
    ap.add_argument("--limit", action="store_true",
                    help="also the L -> infinity estimate of the <ln g> crossing: scaling fits with and "
                         "without the irrelevant correction and extrapolated pair crossings, the spread "
                         "over these choices as the systematic error (limit_estimate), on the x of --window "
                         "(default: every scanned x, below the glass onset too)")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    modes = [m for m in ("by", "paired", "shift") if getattr(a, m)]
    if len(modes) > 1:
        ap.error(f"{' and '.join('--' + m for m in modes)} are different analyses: give one of them")
    for mode, on, unused in (("--by", a.by, ("--limit", "--sizes", "--out")),
                             ("--paired", a.paired, ("--limit", "--sizes", "--out", "--window")),
                             ("--shift", a.shift, ("--limit", "--sizes", "--out"))):
        given = [o for o in unused if getattr(a, o[2:]) not in (None, False)]
        if on and given:
            ap.error(f"{mode} does not use {', '.join(given)} (they belong to the crossing analysis without {mode})")
    if a.by:
        return _main_by(a)
    if a.paired:
        return _main_paired(a)
    if a.shift:
        return _main_shift(a)
    try:
        res = analyze(a.results, a.x, a.out, a.window, sizes=a.sizes)
        points = res.points
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{'size':>10} {a.x + '/t':>7} {'R':>4} {'flag':>4} {'<ln g>':>8} {'err':>6} {'<r>':>7} {'err':>6}")
    for s, xv, n, u, g, ge, r, re in res.rows():
        print(f"{'x'.join(map(str, s)):>10} {xv:7.3g} {n:4d} {u:4d} {g:8.3f} {ge:6.3f} {r:7.4f} {re:6.4f}")
    q = size_table(points, lambda rec: rec.get("glass_order", np.nan), a.x, usable)
    if any(np.isfinite(d.Y).any() for d in q.values()):
        print("glass order q = (1/N) sum (<n_i> - n)^2 / (n(1 - n)) (the self-generated disorder; compare sizes "
              "at equal q):")
        for s, d in q.items():
            m, e, _ = d.mean_err()
            print(f"  {'x'.join(map(str, s)):>10} " + "  ".join(f"{xv:g}: {mv:.4f}({1e4 * ev:.0f})"
                                                            for xv, mv, ev in zip(d.x, m, e) if np.isfinite(mv)))
    print("scaling flow of <ln g> (beta = d<ln g>/d ln L; > 0: grows with L, < 0: falls):")
    for f in _in_window(scaling_flow(res.tables["ln_g"]), a.window):
        print(f"  {'x'.join(map(str, f.a)):>10} -> {'x'.join(map(str, f.b)):<10} {a.x}/t = {f.x:<6.3g} "
              f"<ln g> = {f.y_mid:7.3f} +- {f.y_err:.3f}  beta = {f.beta:7.3f} +- {f.beta_err:.3f}")
    for d in DIAGNOSTICS:
        for c in res.crossings[d]:
            print(f"crossing of {d:>4} {'x'.join(map(str, c.a))} / {'x'.join(map(str, c.b))}: "
                  f"{a.x}/t = {c.x:.3f} +- {c.err:.3f} (found in {100 * c.found:.0f} % of bootstrap samples)")
    e = res.estimate
    print(f"estimate (<ln g>, largest pair): {e.line(a.x)}")
    if a.limit:
        inside = restrict(res.tables["ln_g"], a.window)
        x0 = e.x if np.isfinite(e.x) else float(np.median(next(iter(inside.values())).x)) if inside else np.nan
        try:
            lim = limit_estimate(res.tables["ln_g"], x0, window=a.window)
        except (ValueError, np.linalg.LinAlgError) as err:
            print(f"error: --limit: {err}", file=sys.stderr)
            return 2
        print("\n".join(limit_lines(lim, a.x)))
        if a.out:
            limit_figure(restrict(res.tables["ln_g"], a.window), lim, a.x, Path(a.out) / "limit.png")
    points = [p for p in points if p.records and "ipr" in p.records[0]]   # not in tables
    for s, N, xv, m, e, nm in ipr_table(points, a.x):
        print(f"IPR near mu {'x'.join(map(str, s))} {a.x}/t={xv:g}: {m:.4g} +- {e:.2g}  (N*IPR = {nm:.3g})")
    if a.x == "J":
        for s, jt, wj, e, th in w_j(points):
            print(f"W_J {'x'.join(map(str, s))} J/t={jt:g}: 1/P(phi=t) = {wj:.3f} +- {e:.3f} t; Eq. 16 J^2/(1.24 t) = {th:.3f} t")
    return 0


def _main_paired(a):
    from simglass.options import InputError
    try:
        values, rows = paired_difference(a.results, a.paired, a.x)
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"<ln g> at {a.paired} = {values[0]} and {values[1]} on the same realisations; difference = "
          f"second - first, standard error over the realisations")
    for s, xv, n, m0, m1, d, e in rows:
        print(f"  {'x'.join(map(str, s)):>10} {a.x}/t = {xv:<6.3g} R = {n:<4d} <ln g> {m0:7.3f} and {m1:7.3f}  "
              f"difference {d:+.3f} +- {e:.3f}")
    return 0


def _main_shift(a):
    from simglass.options import InputError
    try:
        shifts = crossing_shift(a.results, a.shift, a.x, a.window)
    except (InputError, ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("crossings of <ln g> of the first scan (the positional files) and the second (--shift), each on the "
          "realisations and x the two share and the tasks unflagged in both; shift = second - first, bootstrap "
          "over the shared realisations")
    if not shifts:
        print("  no pair of sizes: the two scans share one lattice size")
    for c in shifts:
        print(f"  {'x'.join(map(str, c.a))} / {'x'.join(map(str, c.b))}: {a.x}/t = {c.x_first:.3f} and "
              f"{c.x_second:.3f}, shift {c.shift:+.3f} +- {c.err:.3f} (R = {c.realizations[0]}, {c.realizations[1]}; "
              f"both found in {100 * c.found:.0f} % of bootstrap samples)")
    return 0


def _main_by(a):
    from simglass.options import InputError
    try:
        groups = analyze_by(a.results, a.by, a.x, a.window)
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for v, res in groups.items():
        print(f"{a.by} = {v:g}:")
        for s, xv, n, u, g, ge, r, re in res.rows():
            print(f"  {'x'.join(map(str, s)):>10} {a.x}/t = {xv:<6.3g} R = {n:<4d} flagged {u:<3d} "
                  f"<ln g> = {g:7.3f} +- {ge:.3f}")
        for c in res.crossings["ln_g"]:
            print(f"  crossing of <ln g> {'x'.join(map(str, c.a))} / {'x'.join(map(str, c.b))}: {a.x}/t = "
                  f"{c.x:.3f} +- {c.err:.3f} (found in {100 * c.found:.0f} % of bootstrap samples)")
        e = res.estimate
        print(f"  estimate: {e.line(a.x)}")
    b, stat, sys_, chi2, pts = trend(groups)
    print(f"power law {a.x}_c/t ~ {a.by}^b over {len(pts)} values with a crossing of the largest pair: "
          + (f"b = {b:.3f} +- {stat:.3f} (stat) +- {sys_:.3f} (sys: the next smaller pair's crossings) "
             f"(chi2/dof {chi2:.2f})" if np.isfinite(b) else "not fitted (fewer than two)"))
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
