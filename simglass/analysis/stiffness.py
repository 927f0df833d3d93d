"""Charge stiffness from ``stiffness`` results (issue 8): ED against Hartree on the same
realisations, per cluster and J/t.

Per point: disorder averages with standard errors of D (curvature at θ = 0; its sign
alternates with the shell structure of small clusters, see ed.stiffness) and of
ln D_φ (phase sensitivity, >= 0; realisations with D_φ = 0 are counted and left out of
the logarithm), for ED, Hartree re-converged at each twist, and Hartree with the
potential frozen; the Thouless number of the Hartree levels.  The drop point J*/t of a
cluster is where the typical phase sensitivity exp<ln D_φ> falls to 1/F of the free
value (J = W = 0 on the same cluster, computed here from the single-particle spectrum),
by linear interpolation of ln between scanned J; its error is a bootstrap over
realisations.

    python -m simglass.analysis.stiffness results/stiffness.h5 --out DIR [--factor 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from simglass import particle_number

from .files import write_text, written
from .load import lattice_key, load_points
from .plotting import pyplot, save
from .stats import first_crossing, mean_sem, power_law_fit

KINDS = {"ED": "D_ed", "Hartree": "D_hartree", "Hartree frozen": "D_hartree_frozen"}
FACTOR = 10.0


def free_phase_sensitivity(shape, nf, t=1.0, direction=None):
    """D_φ of free fermions (J = W = 0) on the periodic cluster ``shape``."""
    from simglass import Lattice, Model
    lat = Lattice(tuple(shape))
    a = lat.twist_direction(direction)
    N = lat.n_sites
    m = Model(lat, t, np.zeros((N, N)), np.zeros(N), n_particles=nf)
    tw = np.zeros(lat.dim)
    tw[a] = np.pi / 2

    def e(model):
        return np.linalg.eigvalsh(-t * model.hopping_matrix().toarray())[:nf].sum()
    return lat.shape[a] ** 2 / (2 * N) * abs(e(m.with_twist(tw)) - e(m))




def table(path):
    """{cluster: list of rows}; a row is a dict with J/t, realisations and, per kind,
    (mean D, sem), (mean ln D_φ, sem), zeros; plus the Thouless number."""
    job, points = load_points(path, engine="stiffness")
    out = {}
    for p in points:
        if not p.records:
            continue
        t = p.params["t"] or 1.0
        row = {"J/t": p.params["J"] / t, "R": len(p.records), "realizations": p.realizations}
        for kind, key in KINDS.items():  # an unconverged ED solve is left out (counted)
            use = [(rz, r) for rz, r in zip(p.realizations, p.records)
                   if key in r and (kind != "ED" or r.get("ed_converged", True))]
            if not use:
                continue
            recs = [r for _, r in use]
            D = np.array([r[key] for r in recs]) / t
            Dphase = np.array([r[key + "_phase"] for r in recs]) / t
            pos = Dphase > 0
            row[kind] = {"D": mean_sem(D), "lnDphase": mean_sem(np.log(Dphase[pos])) if pos.sum() else (np.nan, np.nan),
                         "zeros": int((~pos).sum()), "n": len(recs),
                         "lnDphase_samples": dict(zip([rz for rz, _ in use],
                                                   np.where(pos, np.log(np.where(pos, Dphase, 1)), -np.inf)))}
        th = [r["thouless"] for r in p.records if "thouless" in r]
        row["thouless"] = mean_sem(th) if len(th) > 1 else (np.nan, np.nan)
        row["unconverged"] = sum(1 for r in p.records if "hartree_converged" in r      # or saddle points
                                 and not (r["hartree_converged"] and r.get("hartree_stable", True)))
        row["ed_unconverged"] = sum(1 for r in p.records if not r.get("ed_converged", True))
        row["nf"] = particle_number(p.params["density"], int(np.prod(p.params["L"])))
        rows = out.setdefault(lattice_key(p.params), [])
        if rows and rows[0]["nf"] != row["nf"]:
            raise ValueError(f"{path}: several densities on cluster {lattice_key(p.params)}; the stiffness "
                             "table is per density (the Thouless analysis handles density scans)")
        rows.append(row)
    for rows in out.values():
        rows.sort(key=lambda r: r["J/t"])
    return out


def drop_point(rows, kind, level, n_boot=500, seed=0):
    """J/t where exp<ln D_φ> first falls below ``level`` (log-linear interpolation), with
    a bootstrap error over the realisations common to all J."""
    rows = [r for r in rows if kind in r]
    if len(rows) < 2:
        return np.nan, np.nan
    common = sorted(set.intersection(*(set(r[kind]["lnDphase_samples"]) for r in rows)))
    if len(common) < 2:
        return np.nan, np.nan
    x = np.array([r["J/t"] for r in rows])
    S = np.array([[r[kind]["lnDphase_samples"][c] for c in common] for r in rows])  # (J, R)
    return first_crossing(x, S, np.log(level), falling=True, n_boot=n_boot, seed=seed)


def thouless_crossings(path, n_boot=500):
    """Thouless criterion g = 1 of the Hartree levels near μ: per (cluster, density), the
    J/t where <ln g> falls below 0, with a bootstrap error; also the <ln g> curves.
    Returns {(cluster, density): (J_loc/t, err, J/t array, mean ln g, sem)}."""
    job, points = load_points(path, engine="stiffness")
    groups = {}
    for p in points:
        recs = [(r, x) for r, x in zip(p.realizations, p.records) if "thouless" in x and x["thouless"] > 0]
        if recs and p.params["t"] > 0:
            groups.setdefault((lattice_key(p.params), p.params["density"]), []).append((p.params["J"] / p.params["t"],
                                                                                   dict((r, np.log(x["thouless"])) for r, x in recs)))
    out = {}
    for key, rows in groups.items():
        rows.sort(key=lambda r: r[0])
        common = sorted(set.intersection(*(set(d) for _, d in rows)))
        if len(rows) < 2 or len(common) < 2:
            continue
        x = np.array([j for j, _ in rows])
        S = np.array([[d[c] for c in common] for _, d in rows])
        jl, err = first_crossing(x, S, 0.0, falling=True, n_boot=n_boot)
        m, e = mean_sem(S, axis=1)
        out[key] = (jl, err, x, m, e)
    return out


def drop_points(tab, factor=FACTOR):
    """{(cluster, kind): (free D_φ, J*/t, err)}."""
    out = {}
    for cl, rows in tab.items():
        free = free_phase_sensitivity(cl, rows[0]["nf"])
        for kind in KINDS:
            out[(cl, kind)] = (free, *drop_point(rows, kind, free / factor))
    return out


def figure(tab, drops, factor, path):
    plt = pyplot()
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    styles = {"ED": ("o-", 1.0), "Hartree": ("s--", 0.8), "Hartree frozen": ("^:", 0.6)}
    for k, (cl, rows) in enumerate(sorted(tab.items(), key=lambda kv: np.prod(kv[0]))):
        name = "x".join(map(str, cl))
        for kind, (fmt, alpha) in styles.items():
            rr = [r for r in rows if kind in r]
            if not rr:
                continue
            x = [r["J/t"] for r in rr]
            free = drops[(cl, kind)][0]
            lbl = f"{name} {kind}"
            ax[0].errorbar(x, [r[kind]["D"][0] for r in rr], [r[kind]["D"][1] for r in rr], fmt=fmt,
                           color=f"C{k}", alpha=alpha, ms=3, capsize=2, label=lbl)
            m = np.array([r[kind]["lnDphase"][0] for r in rr])
            e = np.array([r[kind]["lnDphase"][1] for r in rr])
            ax[1].errorbar(x, m - np.log(free), e, fmt=fmt, color=f"C{k}", alpha=alpha, ms=3, capsize=2,
                           label=lbl)
    ax[0].axhline(0, color="gray", lw=0.8)
    ax[0].set_xlabel("J/t")
    ax[0].set_ylabel(r"$\langle D\rangle / t$ (curvature at $\theta = 0$)")
    ax[0].set_title("Charge stiffness, n = 1/2, W = 0")
    ax[1].axhline(-np.log(factor), color="k", ls=":", lw=1, label=f"free value / {factor:g}")
    ax[1].set_xlabel("J/t")
    ax[1].set_ylabel(r"$\langle\ln D_\phi\rangle - \ln D_\phi^{free}$")
    ax[1].set_title("Typical phase sensitivity relative to free fermions")
    ax[0].legend(fontsize=6, ncol=2)
    ax[1].legend(fontsize=6, ncol=2)
    save(fig, path)


def thouless_report(path, out=None):
    """Print the Thouless crossings per (cluster, density), the fit of J_loc against n
    (Eq. 19: exponent -1/2) per cluster, and with ``out`` a figure and a CSV."""
    res = thouless_crossings(path)
    fits = {}
    for (cl, n), (jl, err, *_ ) in sorted(res.items()):
        print(f"Thouless g = 1: {'x'.join(map(str, cl))} n = {n:g}: J_loc/t = {jl:.3f} +- {err:.3f}")
    for cl in sorted({k[0] for k in res}, key=np.prod):
        pts = sorted((n, v[0], v[1]) for (c, n), v in res.items() if c == cl and np.isfinite(v[0]) and v[1] > 0)
        if len(pts) >= 2:
            b, be, chi2 = power_law_fit([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts])
            fits[cl] = (b, be, chi2, pts)
            print(f"{'x'.join(map(str, cl))}: J_loc ∝ n^b with b = {b:.3f} +- {be:.3f} (Eq. 19: -0.5; chi2/dof {chi2:.2f})")
    if out:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        with written(out / "thouless.csv") as fh:
            fh.write("cluster,density,J_loc_over_t,err\n")
            for (cl, n), (jl, err, *_ ) in sorted(res.items()):
                fh.write(f"{'x'.join(map(str, cl))},{n:.6g},{jl:.6g},{err:.3g}\n")
        plt = pyplot()
        fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
        for k, ((cl, n), (jl, err, x, m, e)) in enumerate(sorted(res.items())):
            ax[0].errorbar(x, m, e, fmt="o-", ms=3, capsize=2, label=f"{'x'.join(map(str, cl))}, n = {n:g}")
        ax[0].axhline(0, color="k", ls=":", lw=1)
        ax[0].set_xlabel("J/t")
        ax[0].set_ylabel(r"$\langle\ln g\rangle$ (Thouless number near $\mu$)")
        ax[0].set_title("Hartree levels: Thouless number against J/t")
        ax[0].legend(fontsize=7)
        for k, (cl, (b, be, chi2, pts)) in enumerate(fits.items()):
            n = np.array([p[0] for p in pts])
            ax[1].errorbar(n, [p[1] for p in pts], [p[2] for p in pts], fmt="o", capsize=3, color=f"C{k}",
                           label=f"{'x'.join(map(str, cl))}: exponent {b:.2f} ± {be:.2f}")
            ax[1].plot(n, pts[-1][1] * (n / n[-1]) ** -0.5, ":", color=f"C{k}")
        ax[1].set_xscale("log")
        ax[1].set_yscale("log")
        ax[1].set_xlabel("density n")
        ax[1].set_ylabel(r"$(J/t)_{loc}$ from $g = 1$")
        ax[1].set_title("Low-density trend (dotted: n^(-1/2), Eq. 19)")
        ax[1].legend(fontsize=7)
        save(fig, out / "thouless.png")
    return res, fits


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.stiffness", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results")
    ap.add_argument("--out", help="directory for stiffness.csv and stiffness.png")
    ap.add_argument("--factor", type=float, default=FACTOR, help="drop factor F from the free value")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    from simglass.results import read_results
    try:
        f, job = read_results(a.results)
        f.close()
        if len(job.scan.get("density", [])) > 1:
            thouless_report(a.results, a.out)
            return 0
        tab = table(a.results)
        drops = drop_points(tab, a.factor)
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyError as e:
        print(f"error: {a.results}: a task lacks the dataset {e} (written by an older simglass?)", file=sys.stderr)
        return 2
    lines = ["cluster,J_over_t,kind,realizations,D,D_err,lnDphase,lnDphase_err,Dphase_zeros,thouless,thouless_err,hartree_flagged"]
    print(f"{'cluster':>8} {'J/t':>5} {'kind':>15} {'R':>4} {'<D>/t':>9} {'err':>8} {'<lnD_phase>':>9} {'err':>7} {'g':>7}")
    for cl, rows in sorted(tab.items(), key=lambda kv: np.prod(kv[0])):
        name = "x".join(map(str, cl))
        for r in rows:
            for kind in KINDS:
                if kind not in r:
                    continue
                d, lnd = r[kind]["D"], r[kind]["lnDphase"]
                g = r["thouless"]
                print(f"{name:>8} {r['J/t']:5.3g} {kind:>15} {r[kind]['n']:4d} {d[0]:9.4f} {d[1]:8.4f} "
                      f"{lnd[0]:9.3f} {lnd[1]:7.3f} {g[0]:7.3f}")
                lines.append(f"{name},{r['J/t']:.6g},{kind},{r[kind]['n']},{d[0]:.6g},{d[1]:.3g},{lnd[0]:.6g},"
                             f"{lnd[1]:.3g},{r[kind]['zeros']},{g[0]:.6g},{g[1]:.3g},{r['unconverged']}")
    for (cl, kind), (free, js, err) in drops.items():
        print(f"drop by {a.factor:g} from free D_phase = {free:.4f} t: {'x'.join(map(str, cl))} {kind}: "
              f"J*/t = {js:.3f} +- {err:.3f}")
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "stiffness.csv", "\n".join(lines) + "\n")
        figure(tab, drops, a.factor, out / "stiffness.png")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
