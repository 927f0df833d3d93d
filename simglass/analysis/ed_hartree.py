"""ED against Hartree on the same realisations, from ``ed`` results (issue 5).

Per cluster and J/t, disorder averages with standard errors of
  (E0 - E_H)/N            (E_H has no exchange term, so it is not a variational bound;
                           the record's hartree_expectation is),
  rms_i (<n_i>_ED - <n_i>_H),
  the many-body charge gap E(N+1) + E(N-1) - 2E(N) and the Hartree single-particle gap.
Only converged ED ground states (``converged``) and converged Hartree solutions that are
not saddle points (``hartree_stable``) enter;
their number is reported.

    python -m simglass.analysis.ed_hartree results/ed_vs_hartree.h5 --out DIR
    python -m simglass.analysis.ed_hartree data/ed_glass_w0.csv.gz    # Eq. 42 onsets only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .files import written
from .load import lattice_key, load_points
from .plotting import pyplot, save
from .stats import first_crossing, mean_sem


def glass_susceptibility(chi, J: float) -> float:
    """(J²/N) Σ_ij chi_ij² of Eq. 42: the Fermi liquid of a finite cluster is unstable
    towards the glass when it reaches 1 (lowest order: chi of free fermions)."""
    chi = np.asarray(chi)
    return float(J ** 2 * (chi ** 2).sum() / chi.shape[0])




def glass_onset(path, level: float = 1.0, n_boot: int = 500, seed: int = 0):
    """Per cluster: the J/t where the disorder average of (J²/N) Σ_ij χ_ij² (Eq. 42 with
    the interacting ED response) first reaches ``level``, by linear interpolation of its
    logarithm between scanned J; error from a bootstrap over realisations (the same
    realisations at every J are resampled together; a realisation whose ground state is
    degenerate at some J, χ = NaN there, is left out).  Needs the engine option chi = true.
    ``path``: a results file or a compact table (analysis.compact, column
    glass_susceptibility).
    Returns {cluster: (J_star/t, err, J/t array, mean, sem, realisations)}."""
    from .compact import load_any
    _, points = load_any([path], "ed")
    by_cluster = {}
    for p in points:
        if p.records and ("chi" in p.records[0] or "glass_susceptibility" in p.records[0]) and p.params["t"] > 0:
            by_cluster.setdefault(lattice_key(p.params), []).append(p)
    out = {}
    for cl, pts in by_cluster.items():
        pts.sort(key=lambda p: p.params["J"] / p.params["t"])
        common = sorted(set.intersection(*(set(p.realizations) for p in pts)))
        if len(pts) < 2 or len(common) < 2:
            continue
        x = np.array([p.params["J"] / p.params["t"] for p in pts])
        def chi_sum(rec, J):  # an unconverged ED solve counts as missing, like a degenerate one
            if not rec.get("converged", True):
                return np.nan
            return glass_susceptibility(rec["chi"], J) if "chi" in rec else rec["glass_susceptibility"]
        S = np.array([[chi_sum(p.records[p.realizations.index(r)], p.params["J"])
                       for r in common] for p in pts])  # (J, realisations)
        S = S[:, np.all(np.isfinite(S), axis=0)]  # χ is NaN where a ground state is degenerate
        if S.shape[1] < 2:
            continue

        value, err = first_crossing(x, S, np.log(level), transform=np.log, n_boot=n_boot, seed=seed)
        m, e = mean_sem(S, axis=1)
        out[cl] = (float(value), float(err), x, m, e, len(common))
    return out


def table(path):
    job, points = load_points(path, engine="ed")
    rows = []
    for p in points:
        recs = [r for r in p.records if r.get("hartree_converged", False) and r.get("hartree_stable", True)
                and r.get("converged", True)]
        if not recs:
            continue
        t = p.params["t"] or 1.0
        N = recs[0]["density"].size
        dE = mean_sem([(r["energy"] - r["hartree_energy"]) / N / t for r in recs])
        dn = mean_sem([np.sqrt(np.mean((r["density"] - r["hartree_density"]) ** 2)) for r in recs])
        gap = mean_sem([r["charge_gap"] / t for r in recs]) if "charge_gap" in recs[0] else (np.nan, np.nan)
        hgap = mean_sem([r["hartree_gap"] / t for r in recs])
        L = p.params["L"]
        rows.append(("x".join(map(str, L if isinstance(L, list) else [L])), N, p.params["J"] / t,
                     len(recs), len(p.records) - len(recs), *dE, *dn, *gap, *hgap))
    return rows


HEAD = ["cluster", "N", "J/t", "R", "H_unconv", "dE/Nt", "err", "rms_dn", "err",
        "charge_gap/t", "err", "hartree_gap/t", "err"]


def figure(rows, path):
    plt = pyplot()
    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    clusters = sorted({r[0] for r in rows}, key=lambda c: np.prod([int(x) for x in c.split("x")]))
    for k, cl in enumerate(clusters):
        rs = [r for r in rows if r[0] == cl]
        J = [r[2] for r in rs]
        kw = dict(ms=3, capsize=2, color=f"C{k}")
        ax[0].errorbar(J, [r[5] for r in rs], [r[6] for r in rs], fmt="o-", label=cl, **kw)
        ax[1].errorbar(J, [r[7] for r in rs], [r[8] for r in rs], fmt="o-", label=cl, **kw)
        ax[2].errorbar(J, [r[9] for r in rs], [r[10] for r in rs], fmt="o-", label=f"{cl} ED charge gap", **kw)
        ax[2].errorbar(J, [r[11] for r in rs], [r[12] for r in rs], fmt="s--", label=f"{cl} Hartree gap", **kw)
    ax[0].set_ylabel(r"$(E_0 - E_H)/(N t)$")
    ax[1].set_ylabel(r"rms$_i(\langle n_i\rangle_{ED} - \langle n_i\rangle_H)$")
    ax[2].set_ylabel("gap / t")
    for a in ax:
        a.set_xlabel("J/t")
        a.legend(fontsize=7)
    ax[0].set_title("Energy: ED - Hartree")
    ax[1].set_title("Densities")
    ax[2].set_title("Gaps at the Fermi level")
    save(fig, path)


def cluster_lines(cluster, n_particles, seed=None, realizations=()):
    """What to set beside ED's Eq. 42 onset of a periodic cluster at a closed shell on
    the W̃ = 0 axis (simglass.meanfield.cluster, J/t): (the J where the saddle point's
    J² χ_SG = x/(1 - x), the same quantity as ED's disorder average, reaches 1; the
    saddle point's instability J_c (x = 1); the mean and standard error of the Hartree
    spinodal J_s over ``realizations`` of ``seed`` (NaN without a seed); J_0 of Eq. 42
    with the free response).  None for an open shell."""
    from simglass import Lattice
    from simglass.meanfield.cluster import (cluster_bubble_table, cluster_spinodal_samples,
                                            coupling_at_glass_susceptibility)
    from simglass.meanfield.saddle import critical_coupling_table
    lat = Lattice(tuple(cluster))
    try:
        table = cluster_bubble_table(lat, int(n_particles))
    except ValueError:
        return None
    js = (cluster_spinodal_samples(lat, int(n_particles), realizations, seed)
          if seed is not None and len(realizations) else np.array([np.nan]))
    sem = js.std(ddof=1) / np.sqrt(js.size) if js.size > 1 else np.nan
    return (coupling_at_glass_susceptibility(table), critical_coupling_table(table, 1.0), float(js.mean()),
            float(sem), float(np.mean(table.c[0] ** 2) ** -0.5))


def saddle_curves(onset, density, points=40):
    """{cluster: (J/t, x/(1 - x))}: the saddle point's J² χ_SG on each cluster of
    ``onset`` that closes a shell at ``density`` (W̃ = 0), from J/t = 0.5 to just below
    its instability, for the figure."""
    from simglass import Lattice
    from simglass.meanfield.cluster import cluster_bubble_table, glass_susceptibility_saddle
    from simglass.meanfield.saddle import critical_coupling_table
    out = {}
    for cl in onset:
        try:
            table = cluster_bubble_table(Lattice(tuple(cl)), round(density * np.prod(cl)))
        except ValueError:
            continue
        J = np.linspace(0.5, 0.995 * critical_coupling_table(table, 1.0), points)
        out[cl] = (J, np.array([glass_susceptibility_saddle(table, j) for j in J]))
    return out


def _job_of(path):
    """The job of a results file, or of the job file named in a compact table's header
    (None when that file is not found)."""
    from .compact import is_table, read_table
    if not is_table(path):
        return load_points(path, engine="ed")[0]
    from simglass.jobfile import load_job
    job_file = Path(read_table(path)[0].get("job", ""))
    return load_job(job_file) if job_file.is_file() else None


def onset_figure(onset, path, theory=None, level=1.0):
    """(J²/N) Σ χ² against J/t per cluster, the level 1 of Eq. 42 and, if given
    (``theory``: saddle_curves), the saddle point's x/(1 - x) on each cluster's momenta."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for k, (cl, (js, err, x, m, e, R)) in enumerate(sorted(onset.items(), key=lambda kv: np.prod(kv[0]))):
        name = "x".join(map(str, cl))
        ax.errorbar(x, m, yerr=e, fmt="o", ms=3, capsize=2, color=f"C{k}",
                    label=f"ED {name} ({R} real.): 1 at J/t = {js:.2f} ± {err:.2f}")
        if theory and cl in theory:
            ax.plot(*theory[cl], "--", color=f"C{k}", lw=1,
                    label=f"saddle point on the {name} momenta: x/(1 − x)")
    ax.axhline(level, color="k", ls=":", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("J/t")
    ax.set_ylabel(r"$(J^2/N)\sum_{ij}\chi_{ij}^2$")
    ax.set_title("Eq. 42 with the exact χ on small clusters, n = 1/2", fontsize=10)
    ax.legend(fontsize=7)
    save(fig, path)


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.ed_hartree", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results")
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    from .compact import is_table
    try:
        rows = [] if is_table(a.results) else table(a.results)   # a table holds no densities
        onset = glass_onset(a.results)
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if rows:
        print(" ".join(f"{h:>12}" for h in HEAD))
    for r in rows:
        print(" ".join(f"{v:>12}" if isinstance(v, str) else f"{v:12.5g}" for v in r))
    job = _job_of(a.results) if onset else None
    for cl, (js, err, x, m, e, R) in onset.items():
        print(f"Eq. 42 on {'x'.join(map(str, cl))} ({R} realisations): (J²/N)Σχ² = 1 at J/t = {js:.3f} +- {err:.3f}")
        density = job.model.get("density") if job is not None else None
        if job is None or density is None or job.model.get("W", 0) or not job.model.get("compensate", False):
            continue    # the lines below are those of the W̃ = 0 axis at a given density
        lines = cluster_lines(cl, round(density * np.prod(cl)), job.seed, range(job.realizations))
        if lines is not None:
            print(f"  same cluster, W̃ = 0, saddle point on its momenta: J²χ_SG = x/(1 - x) = 1 at J/t = "
                  f"{lines[0]:.3f}, instability (x = 1) at J_c/t = {lines[1]:.3f}; Hartree spinodal of the same "
                  f"realisations J_s/t = {lines[2]:.3f} +- {lines[3]:.3f}; free response in Eq. 42 "
                  f"J_0/t = {lines[4]:.3f}")
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        if rows:
            with written(out / "ed_hartree.csv") as fh:
                fh.write(",".join(HEAD) + "\n")
                for r in rows:
                    fh.write(",".join(str(v) for v in r) + "\n")
            figure(rows, out / "ed_hartree.png")
        if onset:
            density = job.model.get("density") if job is not None else None
            curves = saddle_curves(onset, density) if density and job.model.get("compensate", False) else None
            onset_figure(onset, out / "glass_onset.png", theory=curves)
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
