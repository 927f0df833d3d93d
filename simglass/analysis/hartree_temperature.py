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

Per temperature and J/t, over the sound tasks (converged, stable, not degenerate):
q = (1/N) Σ (⟨n_i⟩ − n)²/(n(1 − n)) (mean ± standard error), ⟨ln g⟩, the tasks flagged,
and against each realisation's own J_s(T):
  * above its spinodal (J > J_s(T, r)) no sound solution can be uniform (q ≤ UNIFORM_Q):
    their number is printed and must be 0 (a check of solver and spinodal together);
  * below it (J < J_s(T, r)) the share of sound solutions that are uniform: 1 when the
    glass minimum appears only at the spinodal (a continuous onset), less when a glass
    minimum with q > 0 exists before the uniform state becomes unstable.

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
N_Q_INFINITE = 8     # momentum rule of the N -> infinity J_s(T) (n_q = 12 differs by <= 0.02 at n = ½, T/t = 0.05-0.2)


def temperature_rows(paths) -> list[dict]:
    """One dict per (T, L, N_f, J) of the hartree results files or compact tables
    ``paths`` on the W̃ = 0 axis (compensated, W = 0; others are skipped): T, L, n_f, J,
    sound (tasks), flagged, q and q_err, ln_g and ln_g_err, and at T > 0 js_mean, js_sd
    (J_s(T, r)/t over the realisations of the row), above (sound tasks with J > J_s(r)),
    uniform_above (of them with q <= UNIFORM_Q: must be 0), below, uniform_below.
    Raises ValueError when a table's job file is not found (its seed fixes V₁)."""
    from simglass.engines import get_engine, unsound
    from simglass.meanfield.spinodal import spinodal_samples

    from .compact import load_any
    from .phase_diagram import _n_particles, job_seed
    flags = get_engine("hartree").FLAGS
    rows = []
    for path in paths:
        seed = job_seed(path)
        _, points = load_any([path], "hartree")
        for p in points:
            if not p.records or not p.params.get("compensate") or p.params.get("W", 0) != 0:
                continue
            L = int(p.params["L"][0])
            sound = [(r, rec) for r, rec in zip(p.realizations, p.records)
                     if not unsound(flags, lambda k, rec=rec: rec.get(k))]
            if not sound:
                continue
            T = float(sound[0][1].get("temperature", 0.0))
            T = T if np.isfinite(T) else 0.0          # a T = 0 piece in a table with the column: empty
            nf = _n_particles(p, sound[0][1])
            J = float(p.params["J"])
            q = np.array([float(rec["glass_order"]) for _, rec in sound])
            lng = np.array([float(rec["ln_g_mean"]) for _, rec in sound])
            row = {"T": T, "L": L, "n_f": nf, "J": J, "sound": len(sound), "flagged": len(p.records) - len(sound),
                   "q": mean_sem(q)[0], "q_err": mean_sem(q)[1], "ln_g": mean_sem(lng)[0],
                   "ln_g_err": mean_sem(lng)[1]}
            if T > 0:
                js = spinodal_samples(L, nf, [int(r) for r, _ in sound], seed=seed, t=float(p.params["t"]), T=T)
                above = J > js
                uniform = q <= UNIFORM_Q
                row |= {"js_mean": float(js.mean()), "js_sd": float(js.std(ddof=1)) if js.size > 1 else 0.0,
                        "above": int(above.sum()), "uniform_above": int((above & uniform).sum()),
                        "below": int((~above).sum()), "uniform_below": int((~above & uniform).sum())}
            rows.append(row)
    return sorted(rows, key=lambda r: (r["T"], r["L"], r["J"]))


def report(rows, infinite: dict, n_q: int = N_Q_INFINITE) -> str:
    """The printed tables of :func:`temperature_rows` and the N → ∞ J_s(T) of ``infinite``
    ({T: J_s}, on momentum_rule(n_q))."""
    out = []
    for T in sorted({r["T"] for r in rows}):
        sub = [r for r in rows if r["T"] == T]
        head = f"T/t = {T:g}"
        if T > 0:
            head += (f": J_s(T)/t per realisation on the cluster {np.mean([r['js_mean'] for r in sub]):.3f} "
                     f"(mean; sd {np.mean([r['js_sd'] for r in sub]):.3f}), N -> infinity {infinite[T]:.3f} "
                     f"(n_q = {n_q})")
        out.append(head)
        out.append("     L     J/t  sound  flagged       q      err    <ln g>    err" +
                   ("   above (uniform)   below (uniform)" if T > 0 else ""))
        for r in sub:
            line = (f"  {r['L']:4d}  {r['J']:6.3f}  {r['sound']:5d}  {r['flagged']:7d}  {r['q']:.4f}  {r['q_err']:.4f}"
                    f"  {r['ln_g']:7.3f}  {r['ln_g_err']:.3f}")
            if T > 0:
                line += f"  {r['above']:8d} ({r['uniform_above']:2d})  {r['below']:8d} ({r['uniform_below']:2d})"
            out.append(line)
    bad = sum(r.get("uniform_above", 0) for r in rows)
    out.append(f"uniform solutions above their own spinodal (must be 0): {bad}")
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
                ax.axvline(np.mean([r["js_mean"] for r in sub]), color=colour, ls=":", lw=1)
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
        keys = list(rows[0]) + [k for k in ("js_mean", "js_sd", "above", "uniform_above", "below", "uniform_below")
                                if k not in rows[0]]
        with written(out / "hartree_temperature.csv") as fh:
            fh.write(",".join(keys) + "\n")
            for r in rows:
                fh.write(",".join(str(r.get(k, "")) for k in keys) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
