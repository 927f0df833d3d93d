"""The phase diagram of the paper's Fig. 2 as far as simglass computes it: J/t against the
density n on the W̃ = 0 axis.

* J_c,met: the saddle point's Fermi liquid → metallic glass line (Eqs. 36-43, infinite
  lattice, ``simglass.meanfield.critical_coupling``);
* J_s: the Hartree spinodal of the uniform state (``simglass.meanfield.spinodal``):
  the same Ω = 0 fold without the constraint's λ, for N → ∞ and, per realisation, on
  periodic L³ clusters at closed-shell fillings (random matrices, no fit);
* J_c,loc: where the Hartree states near μ localise, the ⟨ln g⟩ crossing of the largest
  pair of sizes (analysis.localization) from the committed tables: on the W̃ = 0 axis at
  n = ½ (data/fermi_level_w0_L*) and n = 0.2, 0.3 (data/fermi_level_w0_n020, _n030), and
  at n = 0.05, 0.1, 0.2 from uncompensated couplings (W̃ = Jn, so not the axis of Fig. 2;
  marked differently);
* J_c,loc at n = ½ as L → ∞ of the states at the Fermi level (|E − μ| < 0.05 t), from the
  same W̃ = 0 tables (``fermi_level_point``: the value of the report row
  jc_loc_fermi_level_w0), drawn beside the crossing.

    python -m simglass.analysis.phase_diagram --out DIR [--n-q 12] [--realizations 8]
    python -m simglass.analysis.phase_diagram --tables     # the n = ½, W̃ = 0 localisation tables

* where the glass branch of Hartree (classical start) leaves the uniform Fermi liquid,
  per realisation in E_H (``first_order_points``), at sizes where N_f closes a shell
  (n = ½: L = 10, data/first_order_w0_L10.csv.gz and data/fermi_level_w0_L10*).

* ED: where Eq. 42 with the exact response is met on the 2x2x2 and 2x2x3 clusters at
  n = ½ (``ed_points``, data/ed_glass_w0.csv.gz, compensated couplings).

writes phase_diagram.csv and phase_diagram.png.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from .files import written
from .stats import mean_sem

DATA = Path(__file__).resolve().parents[2] / "data"
DENSITIES = (0.05, 0.1, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
LOC_UNCOMPENSATED = {0.05: "low_density_lng_005.csv.gz", 0.1: "low_density_lng_010.csv.gz",
                     0.2: ["low_density_lng_020.csv.gz", "low_density_lng_020b.csv.gz"]}
# the W~ = 0, n = 1/2 localisation tables of the phase diagram and the report, named: a
# piece joins when it covers the couplings of the pair it forms (L = 14: J/t = 3.5 in
# _L14, 4.0 in _L14b and its rest _L14c, 3.75 in _L14_J375 and its rest _b, _c, complete; 4.5 at L = 12 and 14 in
# _L12_14_J45 and _L12_J45b, partial; 3.75 at L = 12 in _L12_J375 and its rest _b, complete; 4.25 at L = 12 in
# _L12_J425 and at L = 14 in _L14_J425, complete; 4.75 and 5 at L = 12 in _L12_J475_5, complete, which with
# _L10 extends the 10/12 pair to the end of LOC_W0_WINDOW)
LOC_W0_HALF = ("fermi_level_w0_L6_8.csv.gz", "fermi_level_w0_L10.csv.gz", "fermi_level_w0_L10b.csv.gz",
               "fermi_level_w0_L12.csv.gz", "fermi_level_w0_L12b.csv.gz", "fermi_level_w0_L14.csv.gz",
               "fermi_level_w0_L14b.csv.gz", "fermi_level_w0_L14c.csv.gz", "fermi_level_w0_L12_14_J45.csv.gz",
               "fermi_level_w0_L12_J45b.csv.gz", "fermi_level_w0_L12_J375.csv.gz", "fermi_level_w0_L12_J375b.csv.gz",
               "fermi_level_w0_L14_J375.csv.gz", "fermi_level_w0_L14_J375b.csv.gz", "fermi_level_w0_L14_J375c.csv.gz",
               "fermi_level_w0_L12_J425.csv.gz", "fermi_level_w0_L14_J425.csv.gz",
               "fermi_level_w0_L12_J475_5.csv.gz", "fermi_level_w0_L12_J425b.csv.gz", "fermi_level_w0_L12_J475b.csv.gz")
LOC_W0_WINDOW = (3.25, 5.0)   # above the onset of glass order (docs/validation.md §4d)
# the W~ = 0 tables below n = 1/2 (jobs/fermi_level_w0_n020.toml, _n030.toml: L = 6, 8, 10
# on J grids that begin above the glass onset of the pilot, read on their whole grid; at
# n = 0.3 also L = 12 on J/t = 3.75-4.75, _n030_L12 and _L12b)
LOC_W0_BELOW_HALF = {0.2: ("fermi_level_w0_n020.csv.gz",),
                     0.3: ("fermi_level_w0_n030.csv.gz", "fermi_level_w0_n030b.csv.gz", "fermi_level_w0_n030_L12.csv.gz",
                           "fermi_level_w0_n030_L12b.csv.gz")}
GLASS_ONSET_HALF = 3.0   # J/t from which the L = 10 glass branch at n = ½ is ordered (docs/validation.md §11)


def loc_w0_half_tables(data):
    """The LOC_W0_HALF tables present under ``data``."""
    return [Path(data) / name for name in LOC_W0_HALF if (Path(data) / name).exists()]


def theory_lines(densities=DENSITIES, n_q=12):
    """{n: (J_s, J_c,met)} of the infinite lattice on momentum_rule(n_q) (at n = ½ both
    drift with n_q: the nesting)."""
    from simglass.meanfield import critical_coupling
    from simglass.meanfield.spinodal import hartree_spinodal_infinite
    return {n: (hartree_spinodal_infinite(n, n_q=n_q), critical_coupling(n, n_q=n_q)) for n in densities}


def closed_shells(L: int) -> list[int]:
    """The particle numbers 0 < N_f < N that close a shell of the clean periodic L³ lattice."""
    from simglass.meanfield.spinodal import _levels
    e = np.sort(_levels(L, 1.0, 3))
    return [nf for nf in range(1, e.size) if e[nf] - e[nf - 1] > 1e-9]


def spinodal_points(sizes=(6, 8, 10), densities=DENSITIES, realizations=8, seed=0):
    """[(L, n, mean J_s, sem)] at the closed shell nearest to each density (n ≤ ½; a
    density whose nearest shell lies more than 0.03 away is skipped)."""
    from simglass.meanfield.spinodal import spinodal_samples
    out = []
    for L in sizes:
        N = L ** 3
        shells = [k for k in closed_shells(L) if k <= N // 2]
        for n in densities:
            nf = min(shells, key=lambda k: abs(k / N - n))
            if abs(nf / N - n) > 0.03:
                continue
            s = spinodal_samples(L, nf, range(realizations), seed=seed)
            out.append((L, nf / N, float(s.mean()), float(s.std(ddof=1) / np.sqrt(s.size))))
    return out


def uniform_energy_per_site(L: int, nf: int, J: float, V1_sum: float, t: float = 1.0) -> float:
    """E_H/N of the uniform state n = N_f/N of the compensated model with W = 0: the
    lowest N_f clean levels plus ½ n² J Σ_ij V1_ij (V1: the couplings at J = 1)."""
    from simglass.meanfield.spinodal import _levels
    N = L ** 3
    n = nf / N
    return float((t * np.sort(_levels(L, 1.0, 3))[:nf].sum() + 0.5 * n * n * J * V1_sum) / N)


def job_of(path):
    """The job (simglass.jobfile.Job) that produced a results file (its stored job) or a
    compact table (the job file named in its header, relative to the repository root or
    the current directory).  Raises ValueError when a table's job file is not found."""
    from simglass.jobfile import load_job

    from .compact import is_table, read_table
    if not is_table(path):
        from simglass.results import read_results
        f, job = read_results(path)
        f.close()
        return job
    name = read_table(path)[0].get("job", "")
    for base in (DATA.parent, Path.cwd()):
        if name and (base / name).is_file():
            return load_job(base / name)
    raise ValueError(f"{path}: its job file {name!r} is not found (the couplings of its realisations "
                     "depend on that job's seed)")


def job_seed(path) -> int:
    """The root seed of the job of a results file or compact table (``job_of``)."""
    return job_of(path).seed


def first_order_points(paths):
    """[(L, n, (J_equal, J_below), table)] where the glass branch of the W̃ = 0 production
    (compensated, W = 0; the classical start) falls below the uniform Fermi liquid in
    E_H per site, paired per realisation: e_FL = (sum of the lowest N_f clean levels +
    ½ n² Σ_ij V_ij) / N, V regenerated from the seed of each table's job (``job_seed``).
    Only sizes where N_f
    closes a shell (elsewhere the uniform state is not a Hartree minimum at any J > 0).
    table: [(J, mean e_glass - e_FL, sem)].  The branches part between J_equal, the
    largest J below which the glass branch has the uniform state's energy (within 3
    standard errors + 1e-6: the classical start ends in the uniform state), and J_below,
    the first J where it lies lower (NaN where the grid has none).  A first-order step
    would show as J_below < J_s with a finite energy gap; a continuous one as a gap that
    opens from 0 at J_s."""
    from simglass import Lattice, sample_disorder
    from simglass.jobfile import sites_and_particles

    from .compact import load_any
    _, points = load_any(paths, "hartree")
    seeds = [job_seed(path) for path in paths]
    by_L = {}
    for p in points:
        if not p.records or not p.params.get("compensate") or p.params.get("W", 0) != 0:
            continue
        rec = p.records[0]
        nf = int(rec["n_particles"]) if "n_particles" in rec else sites_and_particles(p.params)[1]
        by_L.setdefault((tuple(p.params["L"]), nf), []).append(p)
    out = []
    for (Ls, nf), pts in sorted(by_L.items(), key=lambda x: (x[0][1] / np.prod(x[0][0]), np.prod(x[0][0]))):
        L = Ls[0]
        N = int(np.prod(Ls))
        if len(set(Ls)) != 1 or nf not in closed_shells(L):
            continue
        lat = Lattice(Ls)
        sumV = {}
        table = []
        by_J = {}                       # the pieces of one scan (several tables) at one J pooled
        for p in pts:
            J = p.params["J"]
            seed = seeds[p.source]
            for r, rec in zip(p.realizations, p.records):
                if (seed, r) not in sumV:
                    sumV[seed, r] = sample_disorder(lat, J=1.0, seed=seed, realization=r).V.sum()
                by_J.setdefault(J, []).append(rec["energy_per_site"] - uniform_energy_per_site(
                    L, nf, J, sumV[seed, r], p.params.get("t", 1.0)))
        for J, d in sorted(by_J.items()):
            d = np.array(d)
            table.append((J, float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else np.nan))
        below = [J for J, m, e in table if m < -(3 * e + 1e-6)]
        equal = [J for J, m, e in table if abs(m) <= 3 * e + 1e-6 and (not below or J < below[0])]
        out.append((L, nf / N, (equal[-1] if equal else np.nan, below[0] if below else np.nan), table))
    return out


FL_TABLE = DATA / "fl_branch_w0.csv"   # J_s and Σ V (J = 1) per realisation of the clusters below
FL_SEED = 3101           # the seed of the jobs whose realisations FL_TABLE holds (keyed by L, N_f, r)
SUBCRITICAL_Q = 0.01     # glass order q (glass_order) above which a solution is not the uniform state


def _check_fl_seed(paths):
    """Refuse tables of another seed than FL_SEED: FL_TABLE's rows are keyed by (L, N_f,
    realisation) of that seed's couplings.  Raises ValueError naming the table."""
    for path in paths:
        if job_seed(path) != FL_SEED:
            raise ValueError(f"{path}: job seed {job_seed(path)}, but {FL_TABLE.name} holds the realisations "
                             f"of seed {FL_SEED}; give it only tables of that seed")


def fl_branch_table(keys, seed=FL_SEED, path=FL_TABLE):
    """Write, for each (L, N_f, realisations) of ``keys``, the Fermi-liquid branch of every
    realisation: its spinodal J_s/t (simglass.meanfield.spinodal.spinodal_samples) and
    Σ_ij V_ij at J = 1 (for uniform_energy_per_site), as a CSV table (L, n_particles,
    realization, J_s, V1_sum) under data/: the report reads it instead of regenerating
    the couplings.  Rows already in the table at ``path`` are kept, not recomputed (the
    couplings of a realisation depend only on L, ``seed`` and its index); rows of keys
    no longer asked for are dropped."""
    from simglass import Lattice, sample_disorder
    from simglass.meanfield.spinodal import spinodal_samples
    have = read_fl_branch(path) if Path(path).exists() else {}
    rows = []
    for L, nf, reals in keys:
        reals = sorted(int(r) for r in reals)
        todo = [r for r in reals if (L, nf, r) not in have]
        js = dict(zip(todo, spinodal_samples(L, nf, todo, seed=seed))) if todo else {}
        lat = Lattice((L,) * 3)
        for r in reals:
            if r in js:
                v1 = sample_disorder(lat, J=1.0, seed=seed, realization=r).V.sum()
                have[(L, nf, r)] = (float(js[r]), float(v1))
            rows.append([L, nf, r, repr(have[(L, nf, r)][0]), repr(have[(L, nf, r)][1])])
    with written(path, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["L", "n_particles", "realization", "J_s", "V1_sum"])
        w.writerows(rows)


def first_order_tables(data=DATA) -> list:
    """The committed tables of the first-order question under ``data``: the
    first_order_w0_* scans and the n = ½ production at L = 10 (a closed shell)."""
    data = Path(data)
    return sorted(data.glob("first_order_w0_*.csv.gz")) + sorted(data.glob("fermi_level_w0_L10*.csv.gz"))


def read_fl_branch(path=FL_TABLE) -> dict:
    """{(L, N_f, realization): (J_s, V1_sum)} of a fl_branch_table."""
    with open(path, newline="") as fh:
        return {(int(r["L"]), int(r["n_particles"]), int(r["realization"])): (float(r["J_s"]), float(r["V1_sum"]))
                for r in csv.DictReader(fh)}


def subcritical_order(paths, fl: dict):
    """Whether the Hartree glass branch (the classical start, W̃ = 0 production) exists
    below the Fermi liquid's own spinodal: per density (closed shells, realisations in
    ``fl``), the glass order q (glass_order) and e_glass - e_FL per site of each
    realisation at the largest scanned J below its J_s(r).  A continuous transition has
    only the uniform state there (q = 0: the glass minimum bifurcates from it at J_s);
    a first-order one has a glass minimum with q > 0 before the uniform state becomes
    unstable.  Returns [(L, n, J/J_s median, q mean, q sem, fraction with q >
    SUBCRITICAL_Q, (e_glass - e_FL) mean, sem, realisations)], realisations without a
    scanned J below J_s(r) left out.  Raises ValueError for a table of another seed than
    FL_SEED (``fl`` is keyed by that seed's realisations)."""
    from .compact import load_any
    _check_fl_seed(paths)
    _, points = load_any(paths, "hartree")
    rows = {}
    for p in points:
        if not p.records or not p.params.get("compensate") or p.params.get("W", 0) != 0:
            continue
        Ls = tuple(p.params["L"])
        for r, rec in zip(p.realizations, p.records):
            nf = _n_particles(p, rec)
            key = (Ls[0], nf, int(r))
            if len(set(Ls)) != 1 or key not in fl or "glass_order" not in rec:
                continue
            js, v1 = fl[key]
            J = p.params["J"]
            if J < js:
                e = rec["energy_per_site"] - uniform_energy_per_site(Ls[0], nf, J, v1, p.params.get("t", 1.0))
                best = rows.setdefault((Ls[0], nf), {}).get(r)
                if best is None or J > best[0]:
                    rows[(Ls[0], nf)][r] = (J, J / js, float(rec["glass_order"]), e)
    out = []
    for (L, nf), by_r in sorted(rows.items(), key=lambda x: x[0][1] / x[0][0] ** 3):
        x, q, e = (np.array([v[i] for v in by_r.values()]) for i in (1, 2, 3))
        (qm, qe), (em, ee) = mean_sem(q), mean_sem(e)
        out.append((L, nf / L ** 3, float(np.median(x)), float(qm), float(qe),
                    float(np.mean(q > SUBCRITICAL_Q)), float(em), float(ee), len(by_r)))
    return out


def _n_particles(point, rec) -> int:
    """N_f of a task: its record's, else the job's (older tables lack the column)."""
    from simglass.jobfile import sites_and_particles
    return int(rec["n_particles"]) if "n_particles" in rec else sites_and_particles(point.params)[1]


def n_star(sub, L: int) -> tuple:
    """The bracket (n_lo, n_hi) of the density n* where the first-order step ends on the
    L³ clusters, from the rows of :func:`subcritical_order` of that size: n_lo the highest
    density whose glass branch exists below the spinodal (q mean above SUBCRITICAL_Q by
    more than 2 standard errors, in most realisations), n_hi the lowest density above it
    where it does not (q mean at most SUBCRITICAL_Q); NaN where the densities computed do
    not bracket."""
    sub = [row for row in sub if row[0] == L]
    first = [n for _, n, _, q, e, frac, *_ in sub if q - 2 * (e if np.isfinite(e) else 0) > SUBCRITICAL_Q
             and frac > 0.5]
    lo = max(first) if first else np.nan
    cont = [n for _, n, _, q, e, frac, *_ in sub if n > (lo if np.isfinite(lo) else -1) and q <= SUBCRITICAL_Q]
    return lo, (min(cont) if cont else np.nan)


def n_star_brackets(sub) -> dict:
    """{L: (n_lo, n_hi)} of :func:`n_star` for every cluster size in ``sub``."""
    return {L: n_star(sub, L) for L in sorted({row[0] for row in sub})}


def localisation_points(n_boot=200):
    """[(n, J_c,loc, error, pair, axis, bound)] from the committed tables (module
    docstring, ``loc_point``)."""
    from .localization import analyze
    out = []
    for n, files in LOC_UNCOMPENSATED.items():
        files = [files] if isinstance(files, str) else files
        paths = [DATA / f for f in files if (DATA / f).exists()]
        if paths:
            out.append(loc_point(n, analyze(paths, n_boot=n_boot), "W~ = Jn"))
    for n, files in LOC_W0_BELOW_HALF.items():
        paths = [DATA / f for f in files if (DATA / f).exists()]
        if paths:
            out.append(loc_point(n, analyze(paths, n_boot=n_boot), "W~ = 0"))
    w0 = loc_w0_half_tables(DATA)
    if w0:
        out.append(loc_point(0.5, analyze(w0, window=LOC_W0_WINDOW, n_boot=n_boot), "W~ = 0"))
    return out


def fermi_level_point():
    """(J_c,loc, stat, sys) at n = ½ on the W̃ = 0 axis as L → ∞ for the states at the
    Fermi level: the report row jc_loc_fermi_level_w0 (analysis.checks.fermi_level_row of
    the LOC_W0_HALF tables), so both give the same numbers; None where that row has no
    value (no tables, no crossing in the lowest bin, or a limit that cannot be fitted)."""
    from .checks import fermi_level_row
    row = fermi_level_row(loc_w0_half_tables(DATA))
    return None if row.value is None else (row.value, row.error_stat, row.error_sys)


def loc_point(n, res, axis):
    """(n, J_c,loc, error, pair, axis, bound) of one analysis.localization result ``res``.
    ``bound`` is "" for a crossing of the largest pair of sizes.  Where that pair does not
    cross in the J range the two share: ">" when the larger size has the larger ⟨ln g⟩
    at every J of that range (at these sizes J_c,loc lies above it; the value is the
    range's upper end, the error NaN), "<" when it has the smaller everywhere (below the
    range's lower end), "?" otherwise (value NaN)."""
    est = res.estimate
    if np.isfinite(est.x) or not est.pair:
        return (n, est.x, est.error, est.pair, axis, "")
    from .finite_size import scaling_flow
    flow = [f for f in scaling_flow(res.tables["ln_g"]) if (f.a, f.b) == tuple(est.pair) and np.isfinite(f.beta)]
    if flow and all(f.beta > 0 for f in flow):
        return (n, max(f.x for f in flow), np.nan, est.pair, axis, ">")
    if flow and all(f.beta < 0 for f in flow):
        return (n, min(f.x for f in flow), np.nan, est.pair, axis, "<")
    return (n, np.nan, np.nan, est.pair, axis, "?")


def _loc_text(v, e, bound) -> str:
    """A J_c,loc point as text: "3.830 +- 0.100", "> 4.000 (no crossing)", ..."""
    if bound in (">", "<"):
        return f"{bound} {v:.3f} (no crossing of the largest pair in the J range it shares)"
    if bound == "?":
        return "no crossing of the largest pair"
    return f"{v:.3f} +- {e:.3f}"


def _pair(pair) -> str:
    return "/".join(str(s[0]) for s in pair)


ED_GLASS = "ed_glass_w0.csv.gz"     # jobs/ed_glass.toml: Eq. 42 with the ED response, W~ = 0


def ed_points(data=None):
    """[(cluster, n, J*/t, error)]: where the disorder average of (J²/N) Σ χ² of the
    exact response reaches 1 (Eq. 42, analysis.ed_hartree.glass_onset) on the small
    clusters of the committed ED table (compensated couplings); [] without it."""
    path = Path(DATA if data is None else data) / ED_GLASS
    if not path.exists():
        return []
    from .compact import read_table
    from .ed_hartree import glass_onset
    density = {tuple(int(x) for x in p.params["L"]): p.params["density"] for p in read_table(path)[1]}
    return [(cl, float(density[cl]), js, err) for cl, (js, err, *_) in sorted(glass_onset(path).items())]


FERMI_LEVEL_DX = 0.008   # the L -> infinity point is drawn this far right of n = ½, beside the crossing


def figure(lines, spin, loc, path, first_order=(), brackets=None, ed=(), fermi=None):
    from .plotting import pyplot, save
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9.6, 4.8))
    n = np.array(sorted(lines))
    ax.plot(n, [lines[x][1] for x in n], "k-o", ms=3, label=r"$J_{c,\mathrm{met}}$ saddle point (FL $\to$ metallic glass)")
    ax.plot(n, [lines[x][0] for x in n], "b--s", ms=3, label=r"$J_s$ Hartree spinodal, $N\to\infty$ (no constraint)")
    if 0.5 in lines:            # nesting: both fall (logarithmically) with the rule's resolution of Q
        for j, col in ((lines[0.5][1], "k"), (lines[0.5][0], "b")):
            ax.annotate("", xy=(0.5, j / 1.25), xytext=(0.5, j), arrowprops=dict(arrowstyle="->", color=col))
        ax.text(0.49, lines[0.5][1] / 1.3, "n = ½: → 0 with the\nresolution of Q (nesting)", fontsize=6,
                ha="right", va="top")
    for k, L in enumerate(sorted({p[0] for p in spin})):
        pts = [p for p in spin if p[0] == L]
        ax.errorbar([p[1] for p in pts], [p[2] for p in pts], [p[3] for p in pts], fmt="^", ms=4,
                    color=plt.cm.Blues(0.45 + 0.2 * k), label=f"$J_s$ Hartree, {L}³ clusters")
    for axis, mk, col in (("W~ = 0", "D", "red"), ("W~ = Jn", "o", "orange")):
        for p in loc:
            if p[4] == axis and p[5] in (">", "<") and np.isfinite(p[1]):
                ax.annotate("", xy=(p[0], p[1] * (1.12 if p[5] == ">" else 1 / 1.12)), xytext=(p[0], p[1]),
                            arrowprops=dict(arrowstyle="->", color=col))
                ax.plot([p[0]], [p[1]], "_", ms=10, color=col)
                ax.text(p[0], p[1], f"  L = {_pair(p[3])}: no crossing", fontsize=6, color=col, va="center")
        pts = [p for p in loc if p[4] == axis and not p[5] and np.isfinite(p[1])]
        if pts:
            ax.errorbar([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts], fmt=mk, color=col,
                        mfc="none" if axis != "W~ = 0" else col,
                        label=r"$J_{c,\mathrm{loc}}$ Hartree $\langle\ln g\rangle$ crossing, "
                              + (r"$\tilde W = 0$" if axis == "W~ = 0" else r"$\tilde W = Jn$ (other axis)"))
    if fermi is not None:
        v, stat, sys = fermi
        ax.errorbar([0.5 + FERMI_LEVEL_DX], [v], [np.hypot(stat, sys)], fmt="P", ms=6, color="darkred", capsize=3,
                    label=r"$J_{c,\mathrm{loc}}$ of the states at $\mu$, $L\to\infty$, $n = ½$ "
                          f"(stat ⊕ sys; drawn at n = {0.5 + FERMI_LEVEL_DX:g})")
    if ed:
        ax.errorbar([p[1] for p in ed], [p[2] for p in ed], [p[3] for p in ed], fmt="*", ms=8, color="green",
                    label="ED, Eq. 42 with the exact response: "
                          + ", ".join("x".join(map(str, p[0])) for p in ed) + r" clusters ($\tilde W = 0$)")
    labelled = set()
    for L, n, (j_eq, j_below), _ in first_order:
        if np.isfinite(j_eq) and np.isfinite(j_below):
            ax.plot([n, n], [j_eq, j_below], color="purple" if L == 10 else "violet", lw=4, alpha=0.6,
                    label=None if L in labelled else f"Hartree glass branch leaves the Fermi liquid, {L}³")
            labelled.add(L)
    for k, (L, (lo, hi)) in enumerate(sorted((brackets or {}).items(), reverse=True)):
        if np.isfinite(lo) and np.isfinite(hi):
            ax.axvspan(lo, hi, ymin=0.5 * k, ymax=0.5 * (k + 1), color="gold" if k == 0 else "khaki", alpha=0.3,
                       label=f"n*: Hartree step first order below, continuous above ({L}³)")
    ax.set_yscale("log")
    ax.set_xlabel("density n")
    ax.set_ylabel("J/t")
    ax.set_title("Fig. 2 from simulation: glass lines and localisation (largest pairs of sizes)", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    save(fig, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.phase_diagram", description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="directory for phase_diagram.csv and phase_diagram.png (required without --tables)")
    ap.add_argument("--tables", action="store_true",
                    help="print the committed W~ = 0, n = 1/2 localisation tables (LOC_W0_HALF, the report's and the "
                         "figure's) on one line and stop: $(python -m simglass.analysis.phase_diagram --tables) "
                         "hands them to analysis.localization or analysis.mobility_edge")
    ap.add_argument("--n-q", type=int, help="momentum rule of the infinite-lattice lines (default 12)")
    ap.add_argument("--realizations", type=int, help="realisations per cluster J_s point (default 8)")
    ap.add_argument("--fl-table", action="store_true",
                    help=f"update {FL_TABLE.relative_to(DATA.parent)} (J_s and sum V of every realisation "
                         "of the first-order tables; rows already there are kept) before the analysis")
    a = ap.parse_args(argv)
    if a.tables:
        given = [o for o, v in (("--out", a.out), ("--fl-table", a.fl_table), ("--n-q", a.n_q),
                                ("--realizations", a.realizations)) if v is not None and v is not False]
        if given:
            ap.error(f"--tables only prints the table list; it takes no {', '.join(given)}")
        print(" ".join(str(p) for p in loc_w0_half_tables(DATA)))
        return 0
    if a.out is None:
        ap.error("--out is required (or --tables)")
    a.n_q = 12 if a.n_q is None else a.n_q
    a.realizations = 8 if a.realizations is None else a.realizations
    if a.n_q < 4 or a.realizations < 2:
        ap.error("--n-q must be >= 4 and --realizations >= 2")
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = theory_lines(n_q=a.n_q)
    spin = spinodal_points(realizations=a.realizations)
    loc = localisation_points()
    fo = first_order_points(sorted(DATA.glob("first_order_w0_*.csv.gz")) + loc_w0_half_tables(DATA))
    fo = [x for x in fo if np.isfinite(x[2][1])]
    fo_paths = first_order_tables(DATA)
    if a.fl_table:
        from .compact import load_any
        _check_fl_seed(fo_paths)
        keys = {}
        for p in load_any(fo_paths, "hartree")[1]:
            Ls = tuple(p.params["L"])
            if p.records and len(set(Ls)) == 1 and _n_particles(p, p.records[0]) in closed_shells(Ls[0]):
                keys.setdefault((Ls[0], _n_particles(p, p.records[0])), set()).update(p.realizations)
        fl_branch_table([(L, nf, r) for (L, nf), r in sorted(keys.items())])
    sub = subcritical_order(fo_paths, read_fl_branch()) if FL_TABLE.exists() else []
    with written(out / "phase_diagram.csv", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["curve", "L", "n", "J_over_t", "error", "note"])
        for n, (js, jc) in sorted(lines.items()):
            w.writerow(["J_s_infinite", "inf", n, f"{js:.5g}", "", f"n_q = {a.n_q}"])
            w.writerow(["J_c_met_infinite", "inf", n, f"{jc:.5g}", "", f"n_q = {a.n_q}"])
        for L, n, m, e in spin:
            w.writerow(["J_s_cluster", L, f"{n:.5f}", f"{m:.5g}", f"{e:.2g}", f"{a.realizations} realisations"])
        for n, v, e, pair, axis, bound in loc:
            w.writerow(["J_c_loc" + {">": "_above", "<": "_below", "?": "_none"}.get(bound, ""), _pair(pair), n,
                        f"{v:.4g}", f"{e:.2g}", axis])
        for L, n, (j_eq, j_below), _ in fo:
            w.writerow(["glass_branch_equal_up_to", L, f"{n:.4f}", j_eq, "", "W~ = 0"])
            w.writerow(["glass_branch_below_from", L, f"{n:.4f}", j_below, "", "W~ = 0"])
        fermi = fermi_level_point()
        if fermi is not None:
            w.writerow(["J_c_loc_fermi_level_limit", "inf", 0.5, f"{fermi[0]:.4g}", f"{np.hypot(*fermi[1:]):.2g}",
                        f"W~ = 0; stat {fermi[1]:.2g}, sys {fermi[2]:.2g}"])
        ed = ed_points()
        for cl, n, v, e in ed:
            w.writerow(["J_ed_eq42", "x".join(map(str, cl)), n, f"{v:.4g}", f"{e:.2g}", "W~ = 0"])
    figure(lines, spin, loc, out / "phase_diagram.png", fo, n_star_brackets(sub), ed, fermi)
    print("     n    J_s(inf)  J_c,met(inf)  J_c,met/J_s")
    for n, (js, jc) in sorted(lines.items()):
        print(f"{n:6.3f}  {js:9.4f}  {jc:12.4f}  {jc / js:10.3f}")
    for L, n, m, e in spin:
        print(f"J_s {L}^3 n = {n:.4f}: {m:.4f} +- {e:.4f}")
    for n, v, e, pair, axis, bound in loc:
        print(f"J_c,loc n = {n}: {_loc_text(v, e, bound)} (L = {_pair(pair)}, {axis})")
    if fermi is not None:
        print(f"J_c,loc n = 0.5, states at the Fermi level, L -> infinity: {fermi[0]:.3f} +- {fermi[1]:.3f} (stat) "
              f"+- {fermi[2]:.3f} (sys) (W~ = 0)")
    for cl, n, v, e in ed:
        print(f"ED Eq. 42 onset, {'x'.join(map(str, cl))}, n = {n}: {v:.3f} +- {e:.3f} (W~ = 0)")
    for L, n, (j_eq, j_below), table in fo:
        print(f"glass branch against the uniform state, L = {L}, n = {n:.4f}: equal up to J/t = {j_eq}, "
              f"below from {j_below}")
        for J, m, e in table:
            print(f"   J/t = {J:5.2f}: <e_glass - e_FL> = {m:+.5f} +- {e:.5f}")
    print("glass branch at the largest J below each realisation's own spinodal J_s(r) (q: glass_order):")
    for L, n, x, q, qe, frac, e, ee, k in sub:
        print(f"   L = {L}, n = {n:.4f}: J/J_s = {x:.3f} (median), q = {q:.4f} +- {qe:.4f}, "
              f"q > {SUBCRITICAL_Q} in {100 * frac:.0f} % of {k}, <e_glass - e_FL> = {e:+.6f} +- {ee:.6f}")
    for L, (lo, hi) in n_star_brackets(sub).items():
        print(f"n* on {L}³: the glass branch exists below the spinodal (first order) up to n = {lo:.3f}, "
              f"not at n = {hi:.3f}: n* in ({lo:.3f}, {hi:.3f})")
    print(f"wrote {out / 'phase_diagram.csv'} and {out / 'phase_diagram.png'}")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    raise SystemExit(run_command(main))
