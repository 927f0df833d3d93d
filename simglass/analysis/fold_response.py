"""Eq. 47 judged as an asymptote: D(0) - D(Ω) of the Fermi liquid exactly at its glass
instability (the fold of Eq. 38, ``simglass.meanfield.fold_response``), on a dense grid
of imaginary frequencies down to Ω = 1e-5 t, for two k quadratures.

Two exponents, because the quadrature cannot follow D(Ω) itself to small Ω:

* the fold exponent β: D(0) - D(Ω) against the change of the free bubble at the fold,
  A(Ω) = ∫_q [c_q(0) - c_q(Ω)]/(1 + s0 c_q(0))².  Expanding Eq. 38 about its double root
  gives D(0) - D = (2A/F'')^½ (1 + O(A^½)) on any rule, so the local exponent
  β(A) = d ln[D(0) - D]/d ln A is extrapolated as β0 + c1 A^½ (+ c2 A) to A -> 0, and
  this holds to Ω = 1e-5 because A and D come from the same bubble rows;
* the exponent a of A(Ω) itself (Landau damping: a -> 1 as Ω -> 0), measured where the
  two k quadratures agree (the bubble's k integral resolves structure of width Ω only
  above that window), and the apparent exponent b = d ln[D(0) - D]/d ln Ω there.

Eq. 47's ½ is β0 × (the limit of a).  β0 = ½ follows from the double root on any rule
(a check that the solver sits on the fold); the Ω dependence is all in a, which the
quadrature resolves only where the two k rules agree.  The limit of A/Ω is known apart
from the bubble's frequency dependence: the Landau coefficient Γ, a Fermi-surface
integral on the same rule (``meanfield.landau.fold_landau``, columns Gamma and
Gamma_error).  The Landau check (``landau``) asks whether the resolved data reach it:
at the smallest resolved Ω, A/Ω must lie within the quadratures' difference of Γ and
its last step must go towards Γ.  If so, the Eq. 47 estimate is β0 × 1, with
β0 × (1 - a) at the smallest resolved Ω as the window's systematic error; otherwise it
is β0 × a there, settled only if a no longer moves across that window
(simglass.analysis.checks.saddle_rows).  The choices (fixed before the production table was
computed): primary β0 from the finer quadrature, form β0 + c1 A^½ on the 6 smallest-A
intervals; systematic error half the range over both quadratures, both forms (with and
without c2 A) and windows of 6 and 10 intervals.

    python -m simglass.analysis.fold_response --density 0.3 --n-k 12 24 --table data/saddle_fold_response.csv --out results/fold_response
    python -m simglass.analysis.fold_response --from-table data/saddle_fold_response.csv
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

OMEGA = np.geomspace(1e-5, 0.05, 25)
WINDOWS = (6, 10)          # smallest-A intervals in the β extrapolation
PRIMARY_WINDOW = 6
AGREE = 0.005              # the two quadratures' a(Ω) agree within this: the converged window
COLUMNS = ["density", "n_q", "n_k", "J_c", "s0", "Omega", "D0_minus_D", "A", "Gamma", "Gamma_error"]
LANDAU_PLANES = 400       # Gauss planes per family of meanfield.landau.fermi_surface_overlap


def local_exponent(x, y):
    """Geometric midpoints of neighbouring x and the slopes d ln y / d ln x between them
    (x, y: 1-D, positive, same length >= 2)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return np.sqrt(x[1:] * x[:-1]), np.diff(np.log(y)) / np.diff(np.log(x))


def fold_exponent(A, d, n_fit=PRIMARY_WINDOW, quadratic=False):
    """β0 of β(A) = β0 + c1 A^½ (+ c2 A with ``quadratic``), fitted on the ``n_fit``
    smallest-A intervals of the local exponent of d = D(0) - D against A: (β0, its
    standard error from the residuals).  Raises ValueError with fewer than n_fit + 1 points
    or too few intervals for the form."""
    order = np.argsort(A)
    A, d = np.asarray(A, float)[order], np.asarray(d, float)[order]
    m, beta = local_exponent(A, d)
    if m.size < n_fit or n_fit < (4 if quadratic else 3):
        raise ValueError(f"{m.size} intervals of A: the fit needs {n_fit} (and at least "
                         f"{4 if quadratic else 3})")
    x = np.sqrt(m[:n_fit])
    X = np.column_stack([np.ones_like(x), x] + ([x ** 2] if quadratic else []))
    coef, res, *_ = np.linalg.lstsq(X, beta[:n_fit], rcond=None)
    dof = n_fit - X.shape[1]
    s2 = float(res[0]) / dof if res.size and dof > 0 else 0.0
    cov = s2 * np.linalg.inv(X.T @ X)
    return float(coef[0]), float(np.sqrt(cov[0, 0]))


def compute(density, n_q, n_ks, omega=OMEGA):
    """Rows (dicts of COLUMNS) of meanfield.fold_response for each k quadrature, with the
    Landau coefficient Γ of meanfield.landau.fold_landau on the same rule and fold."""
    from simglass.meanfield import fold_response
    from simglass.meanfield.landau import fold_landau
    rows = []
    for n_k in n_ks:
        r = fold_response(density, omega, n_q=n_q, n_k=n_k)
        lan = fold_landau(density, n_q, n_k, s0=r["s0"], c0=r["c0"], n_planes=LANDAU_PLANES)
        for w, dd, a in zip(r["omega"], r["D0"] - r["D"], r["A"]):
            rows.append({"density": density, "n_q": n_q, "n_k": n_k, "J_c": r["J_c"], "s0": r["s0"],
                         "Omega": float(w), "D0_minus_D": float(dd), "A": float(a), "Gamma": lan["Gamma"],
                         "Gamma_error": lan["Gamma_error"]})
    return rows


def write_table(rows, path, command):
    from .files import written
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with written(path, newline="") as f:
        f.write(f"# {command}\n")
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in r.items()})


def read_table(path):
    with open(path) as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    return [{k: (int(v) if k in ("n_q", "n_k") else float(v)) for k, v in r.items() if v not in (None, "")}
            for r in csv.DictReader(lines)]


def curves(rows):
    """{n_k: (Omega, D0 - D, A, J_c)} sorted by Ω (one density and n_q per table)."""
    out = {}
    for n_k in sorted({r["n_k"] for r in rows}):
        sel = sorted((r for r in rows if r["n_k"] == n_k), key=lambda r: r["Omega"])
        out[n_k] = tuple(np.array([r[c] for r in sel]) for c in ("Omega", "D0_minus_D", "A")) + (sel[0]["J_c"],)
    return out


def analyse(rows):
    """The Eq. 47 reading of a table (module docstring): a dict with beta0, beta_stat,
    beta_sys, the choices' values, the converged Ω window of the free-bubble exponent a,
    the ranges of a and of the apparent exponent b there, and a_low, a at the smallest
    Ω of that window."""
    cs = curves(rows)
    if len(cs) < 2:
        raise ValueError("the table needs two k quadratures (n_k) for the systematic error and the converged window")
    ks = sorted(cs)
    fine, coarse = ks[-1], ks[-2]
    beta0, se = fold_exponent(cs[fine][2], cs[fine][1], PRIMARY_WINDOW)
    choices = {}
    for n_k in (fine, coarse):
        for quad in (False, True):
            for n_fit in WINDOWS:
                choices[(n_k, quad, n_fit)] = fold_exponent(cs[n_k][2], cs[n_k][1], n_fit, quad)[0]
    vals = list(choices.values())
    om, a_f = local_exponent(cs[fine][0], cs[fine][2])
    a_c = local_exponent(cs[coarse][0], cs[coarse][2])[1]
    b_f = local_exponent(cs[fine][0], cs[fine][1])[1]
    b_c = local_exponent(cs[coarse][0], cs[coarse][1])[1]
    ok = (np.abs(a_f - a_c) <= AGREE) & (np.abs(b_f - b_c) <= AGREE)
    # the converged window: from the largest Ω down to the first disagreement
    k = len(ok)
    while k > 0 and ok[k - 1]:
        k -= 1
    window = om[k:]
    return {"beta0": beta0, "beta_stat": se, "beta_sys": (max(vals) - min(vals)) / 2, "choices": choices,
            "n_k": (coarse, fine), "J_c": cs[fine][3], "omega_converged": (float(window.min()), float(window.max()))
            if window.size else None, "a_range": (float(a_f[k:].min()), float(a_f[k:].max())) if window.size else None,
            "b_range": (float(b_f[k:].min()), float(b_f[k:].max())) if window.size else None,
            "a_low": float(a_f[k]) if window.size else None,
            "density": rows[0]["density"], "n_q": rows[0]["n_q"],
            **landau(rows, fine, coarse, k if window.size else None)}


def landau(rows, fine, coarse, first):
    """The Landau check (module docstring) on the resolved nodes, the Ω nodes from index
    ``first`` (in increasing Ω) up to the largest, where the two quadratures agree.
    Returns Gamma, Gamma_error (finer quadrature's fold) and Gamma_coarse; omega_low, the
    smallest resolved node; A/Ω there for both quadratures and at the largest node
    omega_high (finer); landau_gap = A/(ΓΩ) - 1 at omega_low; towards = whether the step into omega_low from the next node
    goes towards Γ; within = whether |A/Ω - Γ| there is at most the quadratures'
    difference |ΔA/Ω| plus Gamma_error; landau_ok = towards and within.  Empty without
    Gamma columns or resolved nodes."""
    sel = {n_k: sorted((r for r in rows if r["n_k"] == n_k), key=lambda r: r["Omega"]) for n_k in (fine, coarse)}
    if first is None or any("Gamma" not in r for r in sel[fine] + sel[coarse]) or len(sel[fine]) < first + 2:
        return {}
    low, step, high = sel[fine][first], sel[fine][first + 1], sel[fine][-1]
    coarse_low = sel[coarse][first]                  # both quadratures share the Ω grid (compute)
    if not np.isclose(coarse_low["Omega"], low["Omega"], rtol=1e-12):
        raise ValueError("the two k quadratures of the fold table have different Ω grids")
    ratio = {key: r["A"] / r["Omega"] for key, r in (("low", low), ("step", step), ("high", high),
                                                       ("coarse", coarse_low))}
    gamma, gamma_err = low["Gamma"], low.get("Gamma_error", 0.0)
    towards = (gamma - ratio["low"]) * (ratio["low"] - ratio["step"]) > 0
    within = abs(ratio["low"] - gamma) <= abs(ratio["low"] - ratio["coarse"]) + gamma_err
    return {"Gamma": gamma, "Gamma_error": gamma_err, "Gamma_coarse": coarse_low["Gamma"],
            "omega_low": low["Omega"], "A_over_omega_low": ratio["low"], "A_over_omega_low_coarse": ratio["coarse"],
            "A_over_omega_high": ratio["high"], "omega_high": high["Omega"], "landau_gap": ratio["low"] / gamma - 1,
            "towards": bool(towards),
            "within": bool(within), "landau_ok": bool(towards and within)}


def figure(rows, path):
    from .plotting import pyplot, save
    plt = pyplot()
    cs = curves(rows)
    res = analyse(rows) if len(cs) >= 2 else {}
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4))
    for n_k, (om, d, A, _) in cs.items():
        line, = ax3.semilogx(om, A / om, "o-", ms=3, label=f"A(Ω)/Ω, n_k = {n_k}")
        gam = [r["Gamma"] for r in rows if r["n_k"] == n_k and "Gamma" in r]
        if gam:
            ax3.axhline(gam[0], color=line.get_color(), lw=0.8, ls="--",
                        label=f"Γ = lim A/Ω (Fermi-surface integral), n_k = {n_k}")
        m, b = local_exponent(om, d)
        ax1.semilogx(m, b, "o-", ms=3, label=f"b = dln[D(0)−D]/dlnΩ, n_k = {n_k}")
        ax1.semilogx(m, local_exponent(om, A)[1] / 2, "s:", ms=3, label=f"a/2, a = dlnA/dlnΩ, n_k = {n_k}")
        mA, beta = local_exponent(A, d)
        ax2.plot(np.sqrt(mA), beta, "o-", ms=3, label=f"β = dln[D(0)−D]/dlnA, n_k = {n_k}")
    ax1.axhline(0.5, color="k", lw=0.6, ls="--")
    ax1.set_xlabel(r"$\Omega/t$")
    ax1.set_ylabel("local exponent")
    ax1.set_title("In Ω: the k quadrature resolves small Ω only above ~0.01 t", fontsize=9)
    ax1.legend(fontsize=7)
    ax2.axhline(0.5, color="k", lw=0.6, ls="--", label="Eq. 47: ½")
    ax2.set_xlabel(r"$A^{1/2}$ (free-bubble change at the fold)")
    ax2.set_ylabel(r"$\beta$")
    ax2.set_title("In A: the square root of the fold, extrapolated to A → 0", fontsize=9)
    ax2.set_xlim(left=0)
    ax2.legend(fontsize=7)
    if res.get("omega_converged"):
        ax3.axvspan(res.get("omega_low", res["omega_converged"][0]), max(cs[max(cs)][0]), color="0.9", zorder=0,
                    label="k quadratures agree")
    ax3.set_xlabel(r"$\Omega/t$")
    ax3.set_ylabel(r"$A(\Omega)/\Omega$  $(1/t^2)$")
    ax3.set_title("Landau damping: A/Ω against its Ω → 0 limit Γ", fontsize=9)
    ax3.legend(fontsize=7)
    fig.suptitle(f"D(0) − D(Ω) exactly at the glass instability, n = {rows[0]['density']:g}, "
                 f"J_c/t = {next(iter(cs.values()))[3]:.5f}", fontsize=10)
    save(fig, path)


def report(res) -> str:
    lines = [f"n = {res['density']:g}, momentum rule n_q = {res['n_q']}, k quadratures n_k = {res['n_k']}, "
             f"J_c/t = {res['J_c']:.6f}",
             f"fold exponent beta0 = {res['beta0']:.5f} +- {res['beta_stat']:.5f} (fit) +- {res['beta_sys']:.5f} "
             f"(sys: quadratures, forms, windows)"]
    for (n_k, quad, n_fit), v in res["choices"].items():
        lines.append(f"  n_k = {n_k}, {'c1 A^1/2 + c2 A' if quad else 'c1 A^1/2'}, {n_fit} intervals: {v:.5f}")
    if res["omega_converged"]:
        lo, hi = res["omega_converged"]
        lines.append(f"quadratures agree (|Δa|, |Δb| <= {AGREE}) on {lo:.3g} <= Omega/t <= {hi:.3g}: free-bubble "
                     f"exponent a = {res['a_range'][0]:.4f}..{res['a_range'][1]:.4f} ({res['a_low']:.4f} at the "
                     f"smallest Ω), apparent exponent b = {res['b_range'][0]:.4f}..{res['b_range'][1]:.4f}")
        if "Gamma" in res:
            lines.append(f"Landau coefficient Gamma = lim A/Omega = {res['Gamma']:.5f} +- {res['Gamma_error']:.5f} "
                         f"(n_k = {res['n_k'][1]}), {res['Gamma_coarse']:.5f} (n_k = {res['n_k'][0]}); A/Omega = "
                         f"{res['A_over_omega_high']:.5f} at the largest Omega, {res['A_over_omega_low']:.5f} "
                         f"({res['A_over_omega_low_coarse']:.5f} with n_k = {res['n_k'][0]}) at the smallest resolved "
                         f"Omega = {res['omega_low']:.4g} t: A/(Gamma Omega) - 1 = {res['landau_gap']:+.4f}, "
                         f"{'within' if res['within'] else 'beyond'} the quadratures' difference, last step "
                         f"{'towards' if res['towards'] else 'away from'} Gamma")
            if res["landau_ok"]:
                lines.append(f"Eq. 47 estimate beta0 * 1 = {res['beta0']:.5f}, window systematic "
                             f"beta0 * (1 - a) = {res['beta0'] * (1 - res['a_low']):.4f}")
            else:
                lines.append(f"Eq. 47 estimate beta0 * a(smallest resolved Ω) = {res['beta0'] * res['a_low']:.4f} "
                             f"(the resolved A/Omega does not reach Gamma)")
        else:
            lines.append(f"Eq. 47 estimate beta0 * a(smallest resolved Ω) = {res['beta0'] * res['a_low']:.4f}")
    else:
        lines.append("the two quadratures agree nowhere on the grid")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m simglass.analysis.fold_response",
                                 description="Eq. 47 at the fold: D(0) - D(Ω) exactly at the glass instability")
    ap.add_argument("--density", type=float, default=None, help="density n (default 0.3)")
    ap.add_argument("--n-q", type=int, default=None, help="momentum rule (meanfield.momentum_rule; default 12)")
    ap.add_argument("--n-k", type=int, nargs="+", default=None, help="k quadratures (two or more; default 12 24)")
    ap.add_argument("--table", help="write the computed table here (CSV)")
    ap.add_argument("--from-table", help="analyse a table written before instead of computing (it holds "
                                         "its own density and quadratures)")
    ap.add_argument("--out", help="folder for the figure fold_response.png")
    a = ap.parse_args(argv)
    if a.from_table:
        given = [o for o, v in (("--density", a.density), ("--n-q", a.n_q), ("--n-k", a.n_k), ("--table", a.table))
                 if v is not None]
        if given:
            ap.error(f"--from-table analyses a table written before; it does not take {', '.join(given)}")
        rows = read_table(a.from_table)
    else:
        a.density = 0.3 if a.density is None else a.density
        a.n_q = 12 if a.n_q is None else a.n_q
        a.n_k = [12, 24] if a.n_k is None else a.n_k
        if len(a.n_k) < 2 or min(a.n_k) < 4:
            print("--n-k: give two or more k quadratures, each >= 4", file=sys.stderr)
            return 2
        rows = compute(a.density, a.n_q, a.n_k)
        if a.table:
            write_table(rows, a.table, "python -m simglass.analysis.fold_response " + " ".join(
                sys.argv[1:] if argv is None else argv))
    print(report(analyse(rows)))
    if a.out:
        Path(a.out).mkdir(parents=True, exist_ok=True)
        figure(rows, Path(a.out) / "fold_response.png")
    return 0


if __name__ == "__main__":
    from simglass.analysis.files import run_command
    sys.exit(run_command(main))
