"""SK ground-state energy of the compensated half-filled model from ``mc`` results.

At n = 1/2, W = 0, t = 0 with compensation the model is SK with J_SK = J/4
(docs/conventions.md), so (E - C)/N -> -0.7631667 J_SK = -0.19079 J.  Per size the
disorder average of (E - C)/N (C = ⅛ Σ_{i≠j} V_ij, stored as ``C_sk``) with its
standard error; then a weighted least-squares fit e(N) = e_inf + a N^(-2/3) over the
sizes whose ground states are trustworthy: those where in at least half of the
realisations the lowest state was reached by two or more candidates (``restarts_hit``
>= 2: independent restarts for tabu; for PT and annealing the best and final state of
one restart also count).  A size whose lowest state is found only once per realisation
is a heuristic upper bound, biased up (docs/validation.md §2a); it is shown, not fitted.

Search-budget check (``--budget``): results of a longer search on the same realisations
(same seed and sizes, e.g. jobs/sk_ground_state_tabu_long.toml).  Realisations are paired
by size, index and the disorder's C (equal in both); per size the paired difference
d = e_long - e_short of the lowest energies per site.  A size whose lowest states are not
repeated is still fitted, with the longer search's energies, when the longer search
lowers the mean by at most BUDGET_TOL standard errors of that mean (|<d>| <= BUDGET_TOL
sem(e_long)): the search is then converged in its budget at the statistical precision
(a heuristic criterion, fixed before the longer runs were made).

    python -m simglass.analysis.sk_energy results/sk_ground_state.h5 [more.h5 | data/x.csv ...] [--out DIR]
        [--budget longer.h5 | data/y.csv ...]   (one file per budget, increasing)
        [--sweeps 40 160 ...]   (each level's budget, the x axis of sk_budget.png)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .files import written
from .compact import load_any
from .load import lattice_key
from .plotting import pyplot, save
from .reference import E_INF_THEORY, E_PARISI_SK  # noqa: F401  (E_PARISI_SK re-exported)
from .stats import mean_sem, weighted_line


REPEAT_MIN = 0.5
BUDGET_TOL = 1.0
LOWER_TOL = 1e-7     # J per site: a pair counts as lowered beyond the tables' 8-digit rounding


def _same_disorder(c1, c2):
    """True when two realisations' C/(NJ) agree, i.e. they come from the same seed."""
    return bool(np.isclose(c1, c2, rtol=1e-6, atol=1e-9))


def per_realisation(paths):
    """{(N, input position, realisation): ((E - C)/(NJ), C/(NJ), restarts_hit or NaN)} of
    compensated mc results (.h5) or compact tables (.csv); raises ValueError for a point
    that is not compensated."""
    _, points = load_any(paths, "mc")
    out = {}
    for p in points:
        if not p.params.get("compensate"):
            raise ValueError(f"{paths}: a point with L = {p.params['L']} is not compensated; the SK mapping "
                             "needs compensate = true")
        N, J = int(np.prod(lattice_key(p.params))), p.params["J"]
        for q, r in zip(p.realizations, p.records):
            out[(N, p.source, int(q))] = ((r["energy"] - r["C_sk"]) / (N * J), r["C_sk"] / (N * J),
                                          r.get("restarts_hit", np.nan))
    return out


def _size_rows(per):
    """sizes_and_energies rows from a per_realisation dict."""
    by_size = {}
    for (N, _, _), (e, _, hit) in per.items():
        by_size.setdefault(N, []).append((e, hit))
    rows = []
    for N, eh in sorted(by_size.items()):
        if len(eh) >= 2:
            e, hit = np.array(eh).T
            m, s = mean_sem(e)
            rep = float(np.mean(hit >= 2)) if np.all(np.isfinite(hit)) else np.nan
            rows.append((N, len(e), float(m), float(s), rep))
    return rows


def sizes_and_energies(paths):
    """[(N, realisations, mean (E - C)/(NJ), its standard error, fraction of realisations
    with restarts_hit >= 2 (NaN if not recorded))] per size, ascending N;
    ``paths``: results files (.h5) or compact tables (.csv) of engine mc, compensated.
    Raises ValueError for a point that is not compensated."""
    return _size_rows(per_realisation(paths))


def _paired(short, long_):
    """budget_check on per_realisation dicts."""
    index = {}
    for (N, _, r), (e_s, c_s, _) in short.items():
        index.setdefault((N, r), []).append((e_s, c_s))
    by_size = {}
    for (N, _, r), (e_l, c_l, _) in long_.items():
        match = index.get((N, r))
        if not match:
            continue
        same = [e_s for e_s, c_s in match if _same_disorder(c_s, c_l)]
        if not same:
            raise ValueError(f"N = {N}, realisation {r}: the two searches have different disorder "
                             f"(C/(NJ) {match[0][1]:.6g} and {c_l:.6g}); the budget check needs the same seed")
        by_size.setdefault(N, []).append(e_l - same[0])
    if not by_size:
        raise ValueError("no size and realisation is present in both the shorter and the longer search")
    rows = []
    for N, d in sorted(by_size.items()):
        d = np.array(d)
        m, s = mean_sem(d)
        rows.append((N, d.size, float(m), float(s), float(np.mean(d < -LOWER_TOL))))
    return rows


def budget_check(short_paths, long_paths):
    """Paired difference of the lowest energies per site found by a longer and a shorter
    search on the same realisations: [(N, pairs, <d>, sem(d), fraction of pairs with
    d < -LOWER_TOL)] per size present in both, d = e_long - e_short in units of J.
    Realisations are paired by size and index and must have the same disorder (equal C).
    Raises ValueError when a pair's C differ (other seeds) or no size has pairs."""
    return _paired(per_realisation(short_paths), per_realisation(long_paths))


def _read_levels(paths, budget):
    """(levels, per): the inputs of each budget level (0 = ``paths``, k = budget[k - 1])
    as lists of paths, and their per_realisation dicts; every input is read once."""
    levels = [list(paths)] + [[b] for b in budget]
    return levels, [per_realisation(lv) for lv in levels]


def budget_levels(paths, budget):
    """Size rows for the fit with the search-budget checks.  ``paths``: the main results
    (all sizes); ``budget``: one results file or table per longer search on the same
    realisations, in order of increasing budget.  Each size takes the row of the longest
    search that has it, checked against the next shorter search that has it
    (budget_check; a size no shorter search has is kept unchecked); it is converged in
    the search budget when |<d>| <= BUDGET_TOL sem(e_long).
    Returns (rows, checks, {N: converged}), checks a list of (N, pairs, <d>, sem(d),
    fraction lower, shorter level, longer level, converged), level 0 = ``paths``,
    k = budget[k - 1]; the verdict of a size is that of its longest search."""
    return _budget_levels(*_read_levels(paths, budget))


def _budget_levels(levels, per):
    """budget_levels on _read_levels' output."""
    tables = [{r[0]: r for r in _size_rows(pr)} for pr in per]
    best = dict(tables[0])
    checks, verdict = [], {}
    for k in range(1, len(levels)):
        pairs = {}
        for N, lr in tables[k].items():
            shorter = [j for j in range(k) if N in tables[j]]
            if not shorter:             # a size only the longer search has: unchecked, kept as it is
                best[N] = lr
                verdict.pop(N, None)
                continue
            j = shorter[-1]
            if j not in pairs:
                try:
                    pairs[j] = {c[0]: c for c in _paired(per[j], per[k])}
                except ValueError as e:
                    raise ValueError(f"--budget {levels[k][0]} against {', '.join(map(str, levels[j]))}: {e}") from None
            c = pairs[j].get(N)
            if c is None:
                raise ValueError(f"--budget {levels[k][0]}: N = {N} shares no realisation with "
                                 f"{', '.join(map(str, levels[j]))}; the budget check needs the same realisations")
            verdict[N] = bool(abs(c[2]) <= BUDGET_TOL * lr[3])
            checks.append((*c, j, k, verdict[N]))
            best[N] = lr
    return [best[N] for N in sorted(best)], checks, verdict


def budget_curves(paths, budget):
    """Lowest energy against search budget, per size present at two or more levels (levels
    as in budget_levels): {N: [(level, mean e, sem of e - e_first)]}, e = (E - C)/(NJ)
    averaged over the realisations that every level having N holds, paired by index and
    C as in budget_check; e_first is the shortest such level's (its sem entry is 0).
    Raises ValueError naming the files when a realisation's C differ between levels
    (other seeds) or fewer than two realisations are common to all levels of a size."""
    return _budget_curves(*_read_levels(paths, budget))


def _budget_curves(levels, per):
    """budget_curves on _read_levels' output."""
    entries = {}                                  # {N: {level: {r: [(e, C), ...]}}}
    for k, pr in enumerate(per):
        for (N, _, r), (e, c, _) in pr.items():
            entries.setdefault(N, {}).setdefault(k, {}).setdefault(r, []).append((e, c))
    names = [", ".join(map(str, lv)) for lv in levels]
    curves = {}
    for N, lv in sorted(entries.items()):
        if len(lv) < 2:
            continue
        ks = sorted(lv)
        series = {k: [] for k in ks}
        for r, ref in sorted(lv[ks[-1]].items()):      # the longest search: each r once
            e_ref, c_ref = ref[0]
            row = {}
            for k in ks:
                if r not in lv[k]:
                    break
                same = [e for e, c in lv[k][r] if _same_disorder(c, c_ref)]
                if not same:
                    raise ValueError(f"N = {N}, realisation {r}: {names[k]} and {names[ks[-1]]} have different "
                                     "disorder (C differ); the budget curves need the same seed")
                row[k] = same[0]
            else:
                for k in ks:
                    series[k].append(row[k])
        if len(series[ks[0]]) < 2:
            raise ValueError(f"N = {N}: fewer than two realisations common to {'; '.join(names[k] for k in ks)}")
        e0 = np.array(series[ks[0]])
        curves[N] = [(k, float(np.mean(series[k])),
                      float(mean_sem(np.array(series[k]) - e0)[1]) if k != ks[0] else 0.0) for k in ks]
    return curves


def budget_figure(curves, e_inf, slope, path, sweeps=None):
    """Mean lowest energy against the search budget per size (budget_curves), with the
    fitted e_inf + a N^(-2/3) of each size as a dashed line; error bars: standard error
    of the paired change from the shortest budget (none at that budget).  x = the budget
    of each level when ``sweeps`` (one per level) is given, else the level index."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    for N, rows in curves.items():
        x = [sweeps[k] if sweeps else k for k, _, _ in rows]
        line = ax.errorbar(x, [m for _, m, _ in rows], yerr=[s for _, _, s in rows], fmt="o-",
                           capsize=3, label=f"N = {N} ({len(rows)} budgets)")
        ax.axhline(e_inf + slope * N ** (-2 / 3), ls="--", color=line[0].get_color(), lw=1)
    if sweeps:
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(sweeps)), [f"{v:g}" for v in sorted(set(sweeps))])
        ax.minorticks_off()
    ax.set_xlabel("tabu iterations per independent run / N" if sweeps else "search-budget level")
    ax.set_ylabel(r"mean lowest $(E - C)/(N J)$ (same realisations)")
    ax.set_title("SK energy against search budget\n" r"bars: s.e. of the paired change; dashed: $e_\infty + a N^{-2/3}$",
                 fontsize=9)
    ax.legend(fontsize=8)
    save(fig, path)


def fitted(rows, converged=None):
    """The rows of sizes with trustworthy ground states: repeat fraction >= REPEAT_MIN
    (or not recorded), or converged in the search budget (``converged``: {N: bool} from
    budget_levels).  A size admitted only by the budget check must also lie below every
    smaller fitted size: ground-state energies per site fall with N (a > 0 in
    e_inf + a N^(-2/3), docs/conventions.md), so a mean above a smaller size's is an upper bound
    (rule added 2026-12-01 after a 40-realisation budget level at N = 2048 passed the
    budget check by 0.00001 while lying 0.00018 above N = 1024, docs/validation.md §2a)."""
    converged = converged or {}
    kept = []
    for r in sorted(rows, key=lambda r: r[0]):
        repeated = not r[4] < REPEAT_MIN
        by_budget = converged.get(r[0], False)
        if repeated or (by_budget and all(r[2] < q[2] for q in kept)):
            kept.append(r)
    return [r for r in rows if r in kept]


def extrapolate(rows):
    """Weighted fit e = e_inf + a N^(-2/3): returns (e_inf, err, a, chi2/dof)."""
    N = np.array([r[0] for r in rows], float)
    y = np.array([r[2] for r in rows])
    s = np.array([r[3] for r in rows])
    if len(rows) < 3:
        raise ValueError("the N^(-2/3) extrapolation needs at least 3 sizes with 2+ realisations")
    e_inf, slope, cov, chi2 = weighted_line(N ** (-2 / 3), y, s)
    return e_inf, float(np.sqrt(cov[0, 0])), slope, chi2


def figure(rows, e_inf, err, slope, path, converged=None):
    plt = pyplot()
    x = np.array([r[0] for r in rows], float) ** (-2 / 3)
    fig, ax = plt.subplots(figsize=(5, 4))
    kept = fitted(rows, converged)
    fit = np.array([r in kept for r in rows])
    y, e = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    ax.errorbar(x[fit], y[fit], yerr=e[fit], fmt="o", capsize=3, label="ground states (fitted)")
    if not fit.all():
        ax.errorbar(x[~fit], y[~fit], yerr=e[~fit], fmt="o", mfc="none", capsize=3,
                    label="not repeated, not converged in budget (not fitted)")
    xs = np.linspace(0, x.max() * 1.05, 50)
    ax.plot(xs, e_inf + slope * xs, "-", label=f"fit: {e_inf:.4f} ± {err:.4f}")
    ax.plot([0], [E_INF_THEORY], "k*", ms=10, label="Parisi: -0.19079")
    ax.set_xlabel(r"$N^{-2/3}$")
    ax.set_ylabel(r"$(E - C)/(N J)$")
    ax.set_title("SK energy, compensated, n = 1/2, t = 0")
    ax.legend(fontsize=8)
    save(fig, path)


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.sk_energy", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results", nargs="+", help="results files (.h5) or compact tables (.csv) of engine mc")
    ap.add_argument("--out", help="directory for sk_energy.png and sk_energy.csv")
    ap.add_argument("--budget", nargs="+", default=None,
                    help="results or tables of longer searches on the same realisations, one file per "
                         "budget in increasing order (search-budget check)")
    ap.add_argument("--sweeps", type=float, nargs="+", default=None,
                    help="the budget of each level (the results, then each --budget file), e.g. the job "
                         "files' sweeps, for the x axis of sk_budget.png (default: the level index)")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    if a.sweeps is not None:
        n_lv = 1 + len(a.budget or [])
        problem = ("sets the x axis of sk_budget.png: give --out and --budget too" if not (a.out and a.budget) else
                   f"needs one value per budget level ({n_lv}: the results, then each --budget file), "
                   f"got {len(a.sweeps)}" if len(a.sweeps) != n_lv else
                   f"values must be positive, got {a.sweeps}" if min(a.sweeps) <= 0 else None)
        if problem:
            print(f"error: --sweeps {problem}", file=sys.stderr)
            return 2
    try:
        levels, per = _read_levels(a.results, a.budget or [])
        rows, checks, converged = _budget_levels(levels, per)
        e_inf, err, slope, chi2 = extrapolate(fitted(rows, converged))
        curves = _budget_curves(levels, per) if a.budget and a.out else {}
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    names = [" ".join(a.results)] + list(a.budget or [])
    for N, n, d, sd, lower, j, k, ok in checks:
        print(f"search budget, N = {N}: {names[k]} lowers (E-C)/(NJ) below {names[j]} by {-d:.5f} +- {sd:.5f} "
              f"({n} paired realisations, lower in {lower:.0%}): {'converged' if ok else 'not converged'} "
              f"(criterion: by at most {BUDGET_TOL:g} standard error of the mean)")
    kept = fitted(rows, converged)
    print(f"{'N':>6} {'R':>4} {'(E-C)/(NJ)':>12} {'err':>9} {'repeated':>8}")
    for r in rows:
        N, R, m, s, rep = r
        note = "   (longer search)" if N in converged else ""
        if r not in kept:
            note += "   (not fitted: lowest state not repeated" + (
                ", converged in budget but above a smaller size)" if converged.get(N) else
                ", not converged in budget)" if N in converged else ")")
        print(f"{N:6d} {R:4d} {m:12.5f} {s:9.5f} {rep:8.2f}" + note)
    print(f"extrapolated (N^-2/3): e_inf = {e_inf:.5f} +- {err:.5f} J  (a = {slope:.3f}, chi2/dof = {chi2:.2f})")
    print(f"Parisi: {E_INF_THEORY:.5f} J; deviation {(e_inf - E_INF_THEORY) / err:+.1f} standard errors")
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        figure(rows, e_inf, err, slope, out / "sk_energy.png", converged)
        if curves:
            budget_figure(curves, e_inf, slope, out / "sk_budget.png", a.sweeps)
        with written(out / "sk_energy.csv") as fh:
            fh.write("N,realizations,e,err,repeated\n")
            for r in rows:
                fh.write(",".join(map(str, r)) + "\n")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
