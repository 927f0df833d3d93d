"""Engine ``saddle``: the Fermi-liquid → metallic-glass instability of the infinite cubic
lattice (Eq. 43) for the point's density and t, at T = 0 and optionally at T > 0, the
density response at the transition (Eq. 47), the glass (q_EA > 0) and the retarded
couplings of Eq. 11.  No lattice, no disorder (LATTICE_FREE): one realisation per point
is enough (the result is deterministic).

The record (units of t) is declared in ``OUTPUTS``; the engines page of the
documentation and ``simglass engines saddle`` print it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from simglass.options import Option
from simglass.outputs import Output

LATTICE_FREE = True

OPTIONS = {
    "n_q": Option(int, 12, lambda x: x >= 4, ">= 4",
                  "momentum rule size (meanfield.saddle.momentum_rule: nodes per ray piece for a convex "
                  "Fermi surface, n_q + 4 nodes per axis for an open one)"),
    "n_k": Option(int, 12, lambda x: x >= 4, ">= 4", "Gauss nodes per k_x, k_y piece of the bubble"),
    "n_omega": Option(int, 48, lambda x: x >= 8, ">= 8", "frequency nodes"),
    "response": Option(bool, False, help="D(Ω) at and far below the transition"),
    "J_max": Option(float, 2000.0, lambda x: x > 0, "> 0", "largest J/t searched"),
    "temperatures": Option(float, None, lambda x: x > 0, "> 0 (units of t)",
                           "temperatures T/t at which J_c is also computed (Matsubara sums)", many=True),
    "n_q_T": Option(int, 8, lambda x: x >= 8, ">= 8", "Gauss nodes per momentum axis at T > 0"),
    "glass": Option(float, None, lambda x: x > 1, "> 1 (J/J_c)",
                    "couplings J/J_c in the glass at which q_EA (Eq. 40) is computed", many=True),
    "omega0": Option(float, None, lambda x: x > 0, "> 0 (units of t)",
                     "photon frequencies ω0/t of the retarded couplings of Eq. 11 at which J_c "
                     "is also computed", many=True),
}


# the record of one task (simglass.outputs): every key run_params() returns, and only those
OUTPUTS = {
    "Jc": Output("()", "t", "critical coupling J_c/t of the Fermi liquid (Eq. 43) on the momentum rule "
                 "n_q + 4 (with n_k, n_omega)"),
    "Jc_err": Output("()", "t", "|J_c(n_q + 4) - J_c(n_q)|: the quadrature error estimate, not a bound (the "
                     "momentum rule converges non-monotonically, docs/validation.md)"),
    "Js": Output("()", "t", "the Hartree spinodal J_s/t of the uniform state from the static row of the same "
                 "bubble table as Jc (meanfield.spinodal.hartree_spinodal_table)"),
    "lam_c": Output("()", "t", "λ at (1 - 1e-5) J_c"),
    "mass_c": Output("()", "t", "the Ω = 0 mass s0 = 2λ - J² D(0) at J_c"),
    "mass_pole": Output("()", "t", "-1/max_q [-Π⁰(0, q)], the smallest mass the table allows"),
    "Jc_Q": Output("()", "t", "the closed-form approximation of Eqs. 45-46 at the default prototypical Q "
                   "(meanfield.saddle.closed_form_critical_coupling)"),
    "omega": Output("(n_omega + 1,)", "t", "frequency nodes Ω of D_c, D_free, D_c_coarse", when="response"),
    "D_c": Output("(n_omega + 1,)", "1/t", "D(Ω) at (1 - 1e-5) J_c (Eq. 47)", when="response"),
    "D_free": Output("(n_omega + 1,)", "1/t", "D(Ω) at 0.01 J_c", when="response"),
    "D_c_coarse": Output("(n_omega + 1,)", "1/t", "D_c on the n_q rule (the rule dependence of the Eq. 47 "
                         "exponent)", when="response"),
    "T": Output("(temperatures,)", "t", "the temperatures T/t", when="temperatures"),
    "Jc_T": Output("(temperatures,)", "t", "J_c/t at each T (rule n_q_T, Matsubara sums, "
                   "meanfield.saddle.frequency_nodes)", when="temperatures"),
    "Jc_T_err": Output("(temperatures,)", "t", "|J_c(n_q_T) - J_c(n_q_T - 4)|", when="temperatures"),
    "Js_T": Output("(temperatures,)", "t", "the Hartree spinodal J_s/t of the uniform state at each T, from the "
                   "static (Ω = 0) row of the same bubble tables as Jc_T (meanfield.spinodal: the saddle point's "
                   "glass line without the constraint's λ)", when="temperatures"),
    "Js_T_err": Output("(temperatures,)", "t", "|J_s(n_q_T) - J_s(n_q_T - 4)|", when="temperatures"),
    "J_glass": Output("(glass,)", "t", "the couplings J/t in the glass (the option's J/J_c times J_c)",
                      when="glass"),
    "q_EA": Output("(glass,)", "1", "Edwards–Anderson parameter there (Eq. 40; "
                   "meanfield.saddle.glass_solution, same table as Jc)", when="glass"),
    "omega0": Output("(omega0,)", "t", "photon frequencies ω0/t", when="omega0"),
    "Jc_retarded": Output("(omega0,)", "t", "J_c = J(0) with the retarded J(Ω) of Eq. 11 (same table as Jc)",
                          when="omega0"),
}


def check_point(params, options):
    if params["density"] is None:
        raise ValueError("engine 'saddle' needs 'density' (in (0, 1))")
    if params["t"] <= 0:
        raise ValueError(f"engine 'saddle' needs t > 0, got t = {params['t']}")


def run_params(params, rng, *, n_q, n_k, n_omega, response, J_max, temperatures, n_q_T, glass, omega0):
    from .saddle import (bubble_table_infinite, closed_form_critical_coupling, critical_coupling_table,
                         fold_mass, glass_solution, saddle_grid)
    n, t = params["density"], params["t"]
    coarse_table = bubble_table_infinite(n, t, n_q, n_k, n_omega)
    coarse = critical_coupling_table(coarse_table, t, J_max * t)
    table = bubble_table_infinite(n, t, n_q + 4, n_k, n_omega)
    jc = critical_coupling_table(table, t, J_max * t, what=f"density {n}")
    near = saddle_grid((1 - 1e-5) * jc, table)
    from .spinodal import hartree_spinodal_table
    rec = {"Jc": jc / t, "Jc_err": abs(jc - coarse) / t, "Js": hartree_spinodal_table(table) / t,
           "lam_c": near.lam / t,
           "mass_c": fold_mass(jc, table) / t, "mass_pole": -1.0 / table.c[0].max() / t,
           "Jc_Q": closed_form_critical_coupling(n, t, n_omega=n_omega)[0] / t}
    if response:
        free = saddle_grid(0.01 * jc, table)
        # D_c_coarse: the same on the n_q rule, for the rule dependence of the Eq. 47 exponent
        rec.update(omega=table.omega / t, D_c=near.D * t, D_free=free.D * t,
                   D_c_coarse=saddle_grid((1 - 1e-5) * coarse, coarse_table).D * t)
    if omega0 is not None:
        w0 = np.atleast_1d(np.asarray(omega0, float)) * t
        rec.update(omega0=w0 / t, Jc_retarded=np.array([critical_coupling_table(
            replace(table, omega0=w), t, J_max * t, what=f"density {n}, omega0 {w:g}") for w in w0]) / t)
    if glass is not None:
        J_glass = np.atleast_1d(np.asarray(glass, float)) * jc
        rec.update(J_glass=J_glass / t, q_EA=np.array([glass_solution(J, table).q_ea for J in J_glass]))
    if temperatures is not None:
        temps = np.atleast_1d(np.asarray(temperatures, float)) * t
        what = f"density {n}, T > 0"
        out = {}
        for rule in (n_q_T, n_q_T - 4):
            tables = [bubble_table_infinite(n, t, rule, n_k, n_omega, T=T) for T in temps]
            out[rule] = (np.array([critical_coupling_table(b, t, J_max * t, what=what) for b in tables]),
                         np.array([hartree_spinodal_table(b) for b in tables]))
        (fine, js), (rough, js_rough) = out[n_q_T], out[n_q_T - 4]
        rec.update(T=temps / t, Jc_T=fine / t, Jc_T_err=np.abs(fine - rough) / t, Js_T=js / t,
                   Js_T_err=np.abs(js - js_rough) / t)
    return rec
