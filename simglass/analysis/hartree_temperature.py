"""Hartree at T > 0 on the W̃ = 0 axis (issue 35; jobs/hartree_finite_t*.toml): the glass
order against J/t at each temperature beside the uniform state's spinodal J_s(T).

With compensated couplings and W = 0 the uniform Fermi–Dirac density n is a Hartree
solution at every J and T > 0 (docs/conventions.md, "Hartree spinodal").  It stops being
a local minimum of the Hartree free energy at J_s(T), per realisation on the same
cluster 1/λ_max(A V₁ A) with A² the clean lattice's static response at T
(simglass.meanfield.spinodal.spinodal_samples at T, fixed N_f; tests/test_spinodal.py
checks it against ed.hartree_thermal.thermal_stability), and for N → ∞ from the static
bubble of the infinite lattice at T on momentum_rule(n_q) (hartree_spinodal_infinite; at n = ½
and T = 0 it falls to zero as the rule is refined, the nesting, while T > 0 cuts the
nesting off).

Per temperature, size and J/t, over the sound tasks (converged, stable, not degenerate)
of all pieces given: q = (1/N) Σ (⟨n_i⟩ − n)²/(n(1 − n)) (mean ± standard error),
⟨ln g⟩, the tasks flagged, and against each realisation's own J_s(T):
  * below it (J < J_s(T, r)) the share of sound solutions that are uniform
    (q ≤ UNIFORM_Q): 1 when the starts tried (classical, T = 0 solution) find no glass
    minimum before the uniform state becomes unstable, less when they do;
  * above it none can be uniform (a sound solution is stable; printed as a count);
  * the solver's stability of every uniform sound solution (Lanczos on the orbital-pair
    space) against 1 − J/J_s(T, r) from the momentum-space spinodal: two algorithms;
  * the flagged tasks that are uniform (the uniform state needs no iteration to be found).

    python -m simglass.analysis.hartree_temperature results/hartree_finite_t.h5 results/hartree_finite_t_T010.h5 --out DIR
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .files import written
from .stats import mean_sem

UNIFORM_Q = 1e-6     # q of a solution counted as the uniform state (converged ones reach ~1e-16)
N_Q_INFINITE = 8     # momentum rule of the N -> infinity J_s(T) (n_q = 12 differs by <= 0.025 at n = ½, T/t = 0.05-0.2)


def temperature_rows(paths) -> list[dict]:
    """One dict per (T, L, N_f, J) of the hartree results files or compact tables
    ``paths`` on the W̃ = 0 axis (compensated, W = 0; others are skipped), pieces of one
    (T, L, N_f, J) merged: T (the job's option), L, n_f, J, sound (tasks), flagged, q_of
    ({(seed, r): q} of the sound tasks), q and q_err, ln_g and ln_g_err, and at T > 0 js (J_s(T, r)/t of each sound realisation, an
    array), above (sound tasks with J > J_s(r)), uniform_above (of them with
    q <= UNIFORM_Q: 0, since a sound solution is stable), realizations ((seed, r) of each
    entry of js), below, uniform_below,
    stability_dev (max |stability - (1 - J/J_s(r))| over the uniform sound solutions:
    the solver's Lanczos stability against the momentum-space spinodal; NaN if none)
    and flagged_uniform (flagged tasks with q <= UNIFORM_Q).
    Raises ValueError when a table's job file is not found (its seed fixes V₁)."""
    from simglass.engines import get_engine, unsound
    from simglass.meanfield.spinodal import spinodal_samples

    from .compact import load_any
    from .phase_diagram import _n_particles, job_of
    flags = get_engine("hartree").FLAGS
    groups, spinodals = {}, {}
    for path in paths:
        job = job_of(path)
        T = float(job.options.get("T", 0.0))
        _, points = load_any([path], "hartree")
        for p in points:
            if not p.records or not p.params.get("compensate") or p.params.get("W", 0) != 0:
                continue
            L, J, t = int(p.params["L"][0]), float(p.params["J"]), float(p.params["t"])
            for r, rec in zip(p.realizations, p.records):
                nf = _n_particles(p, rec)
                g = groups.setdefault((T, L, nf, J), {"sound": [], "flagged": []})
                g["sound" if not unsound(flags, lambda k: rec.get(k)) else "flagged"].append((job.seed, int(r), rec))
                if T > 0:
                    spinodals.setdefault((job.seed, L, nf, T, t), set()).add(int(r))
    js_of = {}
    for (seed, L, nf, T, t), reals in spinodals.items():     # J_s(T, r) once per realisation
        reals = sorted(reals)
        js_of.update({(seed, L, nf, T, r): v for r, v in zip(reals, spinodal_samples(L, nf, reals, seed=seed,
                                                                                     t=t, T=T))})
    rows = []
    for (T, L, nf, J), g in sorted(groups.items()):
        if not g["sound"]:
            continue
        q = np.array([float(rec["glass_order"]) for *_, rec in g["sound"]])
        lng = np.array([float(rec["ln_g_mean"]) for *_, rec in g["sound"]])
        row = {"T": T, "L": L, "n_f": nf, "J": J, "sound": len(g["sound"]), "flagged": len(g["flagged"]),
               "q_of": {(seed, r): float(rec["glass_order"]) for seed, r, rec in g["sound"]},
               "q": mean_sem(q)[0], "q_err": mean_sem(q)[1], "ln_g": mean_sem(lng)[0], "ln_g_err": mean_sem(lng)[1]}
        if T > 0:
            js = np.array([js_of[(seed, L, nf, T, r)] for seed, r, _ in g["sound"]])
            stab = np.array([float(rec.get("stability", np.nan)) for *_, rec in g["sound"]])
            above, uniform = J > js, q <= UNIFORM_Q
            dev = np.abs(stab - (1.0 - J / js))[uniform]
            row |= {"js": js, "realizations": [(seed, r) for seed, r, _ in g["sound"]],
                    "above": int(above.sum()), "uniform_above": int((above & uniform).sum()),
                    "below": int((~above).sum()), "uniform_below": int((~above & uniform).sum()),
                    "stability_dev": float(dev.max()) if dev.size else float("nan"),
                    "flagged_uniform": sum(float(rec["glass_order"]) <= UNIFORM_Q for *_, rec in g["flagged"])}
        rows.append(row)
    return rows


def _paired(row, cold: dict) -> str:
    """q(T)/q(0) - 1 of ``row`` against the T = 0 row of the same (L, N_f, J) in ``cold``,
    over the realisations sound in both (same seed): Σ (q_T - q_0) / Σ q_0 ± its standard
    error (of the differences); "-" without a T = 0 row."""
    other = cold.get((row["L"], row["n_f"], row["J"]))
    both = sorted(set(row["q_of"]) & set(other["q_of"])) if other else []
    if len(both) < 2:
        return "-"
    d = np.array([row["q_of"][k] - other["q_of"][k] for k in both])
    base = np.mean([other["q_of"][k] for k in both])
    return f"{d.mean() / base:+.3f} +- {mean_sem(d)[1] / base:.3f} ({len(both)})"


def cluster_spinodals(rows) -> np.ndarray:
    """J_s(T, r)/t of each realisation of ``rows`` (rows of one T and L), once each."""
    return np.array(list({k: v for r in rows for k, v in zip(r["realizations"], r["js"])}.values()))


def report(rows, infinite: dict, n_q: int = N_Q_INFINITE) -> str:
    """The printed tables of :func:`temperature_rows` and the N → ∞ J_s(T)/t of
    ``infinite`` ({T: J_s}, on momentum_rule(n_q))."""
    out = []
    for T, L in sorted({(r["T"], r["L"]) for r in rows}):
        sub = [r for r in rows if r["T"] == T and r["L"] == L]
        head = f"T/t = {T:g}, L = {L}"
        if T > 0:
            js_real = cluster_spinodals(sub)
            head += (f": J_s(T)/t of the cluster over its realisations {js_real.mean():.3f} (sd {js_real.std(ddof=1):.3f},"
                     f" {js_real.size} realisations), N -> infinity {infinite[T]:.3f} (n_q = {n_q})")
        out.append(head)
        cold = {(r["L"], r["n_f"], r["J"]): r for r in rows if r["T"] == 0}
        out.append("     J/t  sound  flagged       q      err    <ln g>    err" +
                   ("   above (uniform)   below (uniform)  |stab - (1 - J/J_s)|  flagged uniform"
                    "  q(T)/q(0) - 1 paired" if T > 0 else ""))
        for r in sub:
            line = (f"  {r['J']:6.3f}  {r['sound']:5d}  {r['flagged']:7d}  {r['q']:.4f}  {r['q_err']:.4f}"
                    f"  {r['ln_g']:7.3f}  {r['ln_g_err']:.3f}")
            if T > 0:
                line += (f"  {r['above']:8d} ({r['uniform_above']:2d})  {r['below']:8d} ({r['uniform_below']:2d})"
                         f"  {r['stability_dev']:20.1e}  {r['flagged_uniform']:15d}  {_paired(r, cold)}")
            out.append(line)
    hot = [r for r in rows if r["T"] > 0]
    if hot:
        dev = [r["stability_dev"] for r in hot if np.isfinite(r["stability_dev"])]
        out.append(f"uniform sound solutions: {sum(r['uniform_below'] + r['uniform_above'] for r in hot)}, of them "
                   f"above their own spinodal {sum(r['uniform_above'] for r in hot)}; their stability against "
                   f"1 - J/J_s(T, r): max deviation {max(dev) if dev else float('nan'):.1e}; "
                   f"flagged tasks that are uniform: {sum(r['flagged_uniform'] for r in hot)}")
    return "\n".join(out)


def plot(rows, infinite: dict, path):
    """q against J/t per temperature (one panel per size), with the clusters' mean J_s(T)
    (dotted) and the N → ∞ J_s(T) (dashed) in the colour of each T."""
    from .plotting import pyplot, save
    plt = pyplot()
    sizes = sorted({r["L"] for r in rows})
    fig, axes = plt.subplots(1, len(sizes), figsize=(5.2 * len(sizes), 4), squeeze=False)
    temps = sorted({r["T"] for r in rows})
    for ax, L in zip(axes[0], sizes):
        for i, T in enumerate(temps):
            sub = [r for r in rows if r["T"] == T and r["L"] == L]
            if not sub:
                continue
            colour = f"C{i}"
            ax.errorbar([r["J"] for r in sub], [r["q"] for r in sub], [r["q_err"] for r in sub], marker="o",
                        ms=4, capsize=2, color=colour, label=f"T/t = {T:g}")
            if T > 0:
                ax.axvline(cluster_spinodals(sub).mean(), color=colour, ls=":", lw=1)
                ax.axvline(infinite[T], color=colour, ls="--", lw=1)
        ax.set_xlabel("J/t")
        ax.set_ylabel("glass order q")
        ax.set_title(f"Hartree, W̃ = 0, n = {rows[0]['n_f'] / L ** 3:.2g}, L = {L}; "
                     "J_s(T): cluster (dotted), N → ∞ (dashed)", fontsize=8)
        ax.legend(fontsize=8)
    save(fig, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", help="hartree results files (.h5) or compact tables of the T pieces")
    ap.add_argument("--out", help="directory for hartree_temperature.png and .csv")
    ap.add_argument("--n-q", type=int, default=N_Q_INFINITE,
                    help=f"momentum rule of the N -> infinity J_s(T) (default {N_Q_INFINITE})")
    a = ap.parse_args(argv)
    try:
        rows = temperature_rows(a.paths)
    except (OSError, ValueError) as e:
        print(f"hartree_temperature: {e}", file=sys.stderr)
        return 2
    if not rows:
        print("hartree_temperature: no sound tasks on the W~ = 0 axis in the inputs", file=sys.stderr)
        return 2
    from simglass.meanfield.spinodal import hartree_spinodal_infinite
    densities = {round(r["n_f"] / r["L"] ** 3, 6) for r in rows}
    if len(densities) != 1:
        print(f"hartree_temperature: give the pieces of one density, got {sorted(densities)}", file=sys.stderr)
        return 2
    infinite = {T: hartree_spinodal_infinite(next(iter(densities)), n_q=a.n_q, T=T)
                for T in sorted({r["T"] for r in rows}) if T > 0}
    print(report(rows, infinite, a.n_q))
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        plot(rows, infinite, out / "hartree_temperature.png")
        keys = ["T", "L", "n_f", "J", "sound", "flagged", "q", "q_err", "ln_g", "ln_g_err", "js_mean", "above",
                "uniform_above", "below", "uniform_below", "stability_dev", "flagged_uniform"]
        with written(out / "hartree_temperature.csv") as fh:
            fh.write(",".join(keys) + "\n")
            for r in rows:
                r = r | ({"js_mean": float(np.mean(r["js"]))} if "js" in r else {})
                fh.write(",".join(str(r.get(k, "")) for k in keys) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
