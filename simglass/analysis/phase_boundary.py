"""The Fermi-liquid → metallic-glass line of the infinite cubic lattice (Eq. 43, Fig. 4
analogue) and the density response at the transition (Eq. 47, Fig. 5 analogue), from
``saddle`` results (issue 6; engine simglass.meanfield.saddle_engine).

Phase boundary: J_c(n) per density with the engine's quadrature error estimate.
Low-density exponent: weighted straight-line fit of ln J_c against ln n over the
densities <= ``n_fit`` (Eq. 44: -5/6), plus the local exponents between neighbouring
densities.  D(Ω): D(0) - D(Ω) at J = (1 - 1e-5) J_c and at J = 0.01 J_c (free
response) on the frequency nodes; its exponent is fitted on Ω_lo <= Ω <= Ω_hi
(Eq. 47: 1/2 at the transition, 1 for the free response).

    simglass run jobs/saddle_phase_boundary.toml
    python -m simglass.analysis.phase_boundary results/saddle_phase_boundary.h5 --out DIR
    python -m simglass.analysis.phase_boundary data/saddle_low_density.csv   (the committed Eq. 44 table)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .files import written
from .compact import load_any
from .stats import power_law_fit
from .plotting import pyplot, save

EXPONENT_THEORY = -5 / 6
N_FIT = 0.05
OMEGA_FIT = (3e-3, 0.05)
RESPONSE_DENSITY = 0.3  # the response figure and the Eq. 47 row use the density nearest this


def table(path):
    """(rows [(n, J_c/t, error, closed-form J_c,Q/t)], responses [(n, J_c/t, Ω, D_c, D_free,
    D_c on the coarser momentum rule or None)]) by density, from a ``saddle`` results file
    or its compact table (data/saddle_low_density.csv; a table has no responses)."""
    _, points = load_any(path, engine="saddle")
    rows, resp = [], []
    for p in points:
        if not p.records:
            continue
        r = p.records[0]
        n = p.params["density"]
        rows.append((float(n), float(r["Jc"]), float(r["Jc_err"]), float(r.get("Jc_Q", np.nan))))
        if "omega" in r:
            resp.append((float(n), float(r["Jc"]), r["omega"], r["D_c"], r["D_free"], r.get("D_c_coarse")))
    rows.sort()
    return rows, resp


def thermal(points):
    """[(n, J_c(T = 0)/t, T/t array, J_c(T)/t, error, J_s(T = 0)/t, J_s(T)/t, error)] for
    the densities run with the engine option ``temperatures`` (``points`` from
    load_any); the Hartree spinodal J_s (engine outputs Js, Js_T) NaN in results written
    before it was recorded."""
    out = []
    for p in points:
        if not (p.records and "Jc_T" in p.records[0]):
            continue
        r = p.records[0]
        T = np.asarray(r["T"])
        nan = np.full(T.shape, np.nan)
        out.append((float(p.params["density"]), float(r["Jc"]), T, np.asarray(r["Jc_T"]), np.asarray(r["Jc_T_err"]),
                    float(r.get("Js", np.nan)), np.asarray(r.get("Js_T", nan)), np.asarray(r.get("Js_T_err", nan))))
    return sorted(out, key=lambda r: r[0])


def figure_thermal(rows, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for n, j0, T, jc, err, s0, js, js_err in rows:
        line = ax.errorbar(np.concatenate([[0.0], T]), np.concatenate([[j0], jc]),
                           yerr=np.concatenate([[0.0], err]), marker="o", ms=3, capsize=2,
                           label=f"n = {n:g}: saddle point J_c")
        ax.axhline(j0, color=line[0].get_color(), lw=0.5, ls=":")
        if np.isfinite(js).any():
            ax.errorbar(np.concatenate([[0.0], T]), np.concatenate([[s0], js]), yerr=np.concatenate([[0.0], js_err]),
                        marker="s", ms=3, capsize=2, ls="--", color=line[0].get_color(),
                        label=f"n = {n:g}: Hartree spinodal J_s (no constraint)")
    ax.set_xlabel("T / t")
    ax.set_ylabel("(J / t)_c and J_s / t")
    ax.set_title("Glass instability of the Fermi liquid against temperature\n(infinite lattice, Matsubara sums)",
                 fontsize=9)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(0.0, 0.34))
    save(fig, path)


def low_density_exponent(rows, n_fit=N_FIT):
    sel = [r for r in rows if r[0] <= n_fit + 1e-12]
    if len(sel) < 2:
        raise ValueError(f"the exponent needs 2+ densities <= {n_fit}")
    b, e, chi2 = power_law_fit([r[0] for r in sel], [r[1] for r in sel], [r[2] for r in sel])
    return b, e, chi2, [r[0] for r in sel]


def omega_exponent(omega, D, lo=OMEGA_FIT[0], hi=OMEGA_FIT[1]):
    """Least-squares slope of ln[D(0) - D(Ω)] against ln Ω on lo <= Ω <= hi:
    (slope, its standard error from the residuals, number of nodes)."""
    m = (omega >= lo) & (omega <= hi)
    x, y = np.log(omega[m]), np.log(D[0] - D[m])
    if x.size < 3:
        raise ValueError(f"only {x.size} frequency nodes in {lo:g} <= Ω <= {hi:g}; use more (n_omega)")
    coef, res, *_ = np.polyfit(x, y, 1, full=True)
    se = np.sqrt(res[0] / (x.size - 2) / np.sum((x - x.mean()) ** 2)) if res.size and x.size > 2 else np.nan
    return float(coef[0]), float(se), int(x.size)


def figure_boundary(rows, fit, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    n = np.array([r[0] for r in rows])
    J = np.array([r[1] for r in rows])
    e = np.array([r[2] for r in rows])
    ax.errorbar(n, J, yerr=e, fmt="o-", capsize=3, label="saddle point, infinite lattice")
    jq = np.array([r[3] for r in rows])
    if np.isfinite(jq).any():
        ax.plot(n, jq, "s--", ms=3, color="gray", label="closed form D_Q (Eqs. 45-46), one Q")
    k = 0
    if fit:
        b, be, _, used = fit
        x = np.array([min(n), max(used)])
        k = np.argmin(np.abs(n - max(used)))
        ax.plot(x, J[k] * (x / n[k]) ** b, "k--", label=f"fit n ≤ {max(used):g}: exponent {b:.3f} ± {be:.3f}")
    x = np.array([min(n), n[k] if fit else max(n)])
    ax.plot(x, J[k] * (x / n[k]) ** EXPONENT_THEORY, ":", color="C3", label="Eq. 44: n^(-5/6)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("density n")
    ax.set_ylabel(r"$(J/t)_c$")
    ax.set_title("Fermi liquid → metallic glass (T = 0, W = 0)")
    ax.text(0.05, 0.05, "glass above, Fermi liquid below", transform=ax.transAxes, fontsize=8)
    ax.legend(fontsize=8)
    save(fig, path)


def figure_response(density, jc, omega, near, free, fits, path):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    m = omega > 0
    ex = (f": exponent {fits[0][0]:.3f}", f": exponent {fits[1][0]:.3f}") if fits else ("", "")
    ax.loglog(omega[m], near[0] - near[m], "o-", ms=3, label="J = (1 - 1e-5) J_c" + ex[0])
    ax.loglog(omega[m], free[0] - free[m], "s-", ms=3, label="J = 0.01 J_c (free)" + ex[1])
    x = np.array(OMEGA_FIT)
    k = np.argmin(np.abs(omega - x[0]))
    ax.loglog(x, (near[0] - near[k]) * (x / omega[k]) ** 0.5, "k--", label=r"$\Omega^{1/2}$ (Eq. 47)")
    ax.loglog(x, (free[0] - free[k]) * (x / omega[k]), "k:", label=r"$\Omega$")
    ax.axvspan(*OMEGA_FIT, color="gray", alpha=0.1)
    ax.set_xlabel(r"$\Omega/t$ (imaginary frequency)")
    ax.set_ylabel(r"$D(0) - D(\Omega)$ [1/t]")
    ax.set_title(f"Density response at the transition, n = {density:g}, J_c/t = {jc:.4f}")
    ax.legend(fontsize=8)
    save(fig, path)


def fold_terms(points):
    """The terms of the fold at J_c per density (Eqs. 38, 39, 43), sorted by n:
    [(n, J_c/t, s0/t, λ/t, D(0)·t, I_2·t²)] with the Ω = 0 mass s0 (``mass_c``), λ
    (``lam_c``, at (1 - 1e-5) J_c), D(0) = (2λ - s0)/J_c² and I_2 = ∫_q c0²/(1 + s0 c0)²
    = 1/J_c² (the fold condition)."""
    out = []
    for p in points:
        if p.records and "mass_c" in p.records[0] and "lam_c" in p.records[0]:
            r = p.records[0]
            jc, s0, lam = float(r["Jc"]), float(r["mass_c"]), float(r["lam_c"])
            out.append((float(p.params["density"]), jc, s0, lam, (2 * lam - s0) / jc ** 2, 1 / jc ** 2))
    return sorted(out)


def local_exponents(rows):
    return [(a[0], b[0], float(np.log(b[1] / a[1]) / np.log(b[0] / a[0])))
            for a, b in zip(rows[:-1], rows[1:])]


def main(argv=None):
    from simglass.cli import terminal_text
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.phase_boundary", description=terminal_text(__doc__.splitlines()[0]))
    ap.add_argument("results")
    ap.add_argument("--out", help="directory for phase_boundary.csv/png and response.png")
    ap.add_argument("--n-fit", type=float, default=N_FIT, help="largest density of the exponent fit")
    a = ap.parse_args(argv)
    from simglass.options import InputError
    try:
        rows, resp = table(a.results)
    except (InputError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        fit = low_density_exponent(rows, a.n_fit)
    except ValueError as e:
        fit = None
        print(f"no low-density exponent: {e}")
    print(f"{'n':>8} {'J_c/t':>12} {'err':>9} {'J_c,Q/t':>10}")
    for n, j, e, jq in rows:
        print(f"{n:8.4g} {j:12.6f} {e:9.2g} {jq:10.4f}")
    for n1, n2, x in local_exponents(rows):
        print(f"local exponent {n1:g}-{n2:g}: {x:.4f}")
    if fit:
        print(f"low-density exponent (n <= {max(fit[3]):g}): {fit[0]:.4f} ± {fit[1]:.4f} "
              f"(Eq. 44: {EXPONENT_THEORY:.4f}; chi2/dof {fit[2]:.2f})")
    fits = []
    for n, jc, om, dc, df, _ in resp:
        try:
            fits.append((omega_exponent(om, dc), omega_exponent(om, df)))
        except ValueError as e:
            fits.append(None)
            print(f"D(0) - D(Ω) at n = {n:g}: no exponent ({e})")
            continue
        print(f"D(0) - D(Ω) at n = {n:g}: exponent {fits[-1][0][0]:.3f} ± {fits[-1][0][1]:.3f} at the "
              f"transition (Eq. 47: 0.5), {fits[-1][1][0]:.3f} free (1); fit on {OMEGA_FIT[0]:g} <= Ω/t <= "
              f"{OMEGA_FIT[1]:g} ({fits[-1][0][2]} nodes)")
    _, points = load_any(a.results, engine="saddle")
    for p in points:
        if not p.records:
            continue
        r, n = p.records[0], p.params["density"]
        if "mass_c" in r:
            print(f"n = {n:g}: Ω = 0 mass at J_c {r['mass_c']:.4f} t, pole of the table "
                  f"{r['mass_pole']:.4f} t (mass/pole {r['mass_c'] / r['mass_pole']:.3f})")
        if "Jc_retarded" in r:
            print(f"n = {n:g}: J_c/t = {r['Jc']:.5f} static; retarded J(Ω) (Eq. 11): " + ", ".join(
                f"{j:.5f} at ω0/t = {w:g}" for w, j in zip(r["omega0"], r["Jc_retarded"])))
        if "q_EA" in r:
            print(f"n = {n:g}: q_EA/n(1-n) = " + ", ".join(
                f"{q / (n * (1 - n)):.4f} at J/J_c = {J / r['Jc']:.3g}" for J, q in zip(r["J_glass"], r["q_EA"])))
    terms = fold_terms(points)
    if len(terms) > 1:
        print("terms of the fold at J_c and their local exponents d ln|x| / d ln n between neighbouring densities:")
        print(f"{'n':>8} {'J_c/t':>11} {'s0/t':>10} {'lambda/t':>10} {'D(0)t':>10} {'I_2 t^2':>10}")
        for row in terms:
            print(f"{row[0]:8.4g} {row[1]:11.5f} {row[2]:10.5f} {row[3]:10.5f} {row[4]:10.5f} {row[5]:10.3e}")
        for a_, b_ in zip(terms[:-1], terms[1:]):
            ex = [np.log(abs(y / x)) / np.log(b_[0] / a_[0]) for x, y in zip(a_[1:], b_[1:])]
            print(f"{a_[0]:g}-{b_[0]:g}: " + ", ".join(f"{k} {e:+.3f}" for k, e in
                                                    zip(("J_c", "|s0|", "lambda", "D(0)", "I_2"), ex)))
    warm = thermal(points)
    for n, j0, T, jc, err, s0, js, js_err in warm:
        print(f"n = {n:g}: J_c/t = {j0:.5f} at T = 0; " + ", ".join(
            f"{x:.5f}({e:.1g}) at T/t = {tt:g}" for tt, x, e in zip(T, jc, err)))
        if np.isfinite(js).any():
            print(f"   Hartree spinodal J_s/t = {s0:.5f} at T = 0; " + ", ".join(
                f"{x:.5f}({e:.1g}) at T/t = {tt:g}" for tt, x, e in zip(T, js, js_err))
                + "; J_c/J_s: " + ", ".join(f"{x / y:.3f}" for x, y in zip(np.concatenate([[j0], jc]),
                                                                         np.concatenate([[s0], js]))))
    if a.out:
        out = Path(a.out)
        out.mkdir(parents=True, exist_ok=True)
        if warm:
            figure_thermal(warm, out / "temperature.png")
        with written(out / "phase_boundary.csv") as fh:
            fh.write("density,Jc_over_t,err,JcQ_over_t\n")
            for r in rows:
                fh.write(f"{r[0]:.6g},{r[1]:.8g},{r[2]:.3g},{r[3]:.6g}\n")
        figure_boundary(rows, fit, out / "phase_boundary.png")
        if resp:
            k = min(range(len(resp)), key=lambda i: abs(resp[i][0] - RESPONSE_DENSITY))
            n, jc, om, dc, df, _ = resp[k]
            figure_response(n, jc, om, dc, df, fits[k], out / "response.png")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
