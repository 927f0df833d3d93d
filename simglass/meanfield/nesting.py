"""The saddle point's glass line at n = ½, where the Fermi surface is perfectly nested
(docs/conventions.md, "The nesting pole at n = ½").

Eq. 38 at Ω = 0, D(0) = ∫_q c_q/(1 + s0 c_q) with c_q = -Π⁰(0, q) and the mass
s0 = 2λ - J² D(0), has a pole wherever 1 + s0 c_q = 0.  On the Fermi-liquid branch the
mass is negative at every J > 0: to second order in J the constraint Eq. 39 gives

    s0(J) - s0(0) = -J² [D⁰(0) - ⟨D⁰⟩],   ⟨D⁰⟩ = Σ_k w_k D⁰(Ω_k) m_k / Σ_k w_k m_k,

with D⁰(Ω) = ∫_q c_q(Ω) the free D, m(Ω) = ∫_q c_q(Ω)², w_k the frequency weights; D⁰
peaks at Ω = 0, so the bracket is positive (``mass_second_order``; s0(0) is the
quadrature's rounding of the J = 0 sum rule, 1e-4 to 2e-4).  At n = ½ the static bubble
diverges logarithmically at Q = (π, π, π), c ≈ ρ(0) ln(1/T) at temperature T, or
ρ(0) ln(1/|q - Q|), so a negative mass puts the pole inside the zone at any J > 0: on
the infinite lattice at T = 0 the Fermi-liquid solution does not exist at any J > 0.
On a momentum rule, a grid, or at T > 0 the bubble is bounded by c_max, and the fold
of Eq. 43 is pinned just above the pole of the largest c: J_c is, to a few 10⁻³,
the coupling at which the Fermi liquid's mass reaches -1/c_max (``pole_coupling``).
So J_c(½) is a function of the resolution through c_max alone; it falls to zero only
as c_max → ∞, i.e. logarithmically slowly in the resolution.

    python -m simglass.meanfield.nesting [--check-rules 12 16 20]   # the tables of docs/validation.md §6
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy.optimize import brentq

from .saddle import BubbleTable, bubble_table_infinite, critical_coupling_table, saddle_grid

__all__ = ["fermi_liquid_mass", "mass_second_order", "pole_coupling", "density_of_states", "nesting_bubble"]

Q = np.array([np.pi, np.pi, np.pi])   # the nesting vector of the cubic lattice at n = ½


def fermi_liquid_mass(J, table: BubbleTable) -> float | None:
    """The Ω = 0 mass s0 = 2λ - J² D(0) (a float, units of 1/c, i.e. t) of the Fermi
    liquid at coupling J >= 0 (units of t) on ``table`` (``saddle.saddle_grid``); None
    beyond its instability.  Raises ValueError for J not finite or negative."""
    if not (np.isfinite(J) and J >= 0):
        raise ValueError(f"J must be a finite coupling >= 0 (units of t), got {J!r}")
    sg = saddle_grid(J, table)
    return None if sg is None else float(2 * sg.lam - J ** 2 * sg.D[0])


def mass_second_order(table: BubbleTable) -> float:
    """The coefficient a of s0(J) - s0(0) = -a J² + O(J⁴) (module docstring), from the
    free bubble of ``table`` alone (a float, units of 1/t: s0/J²);
    a > 0 when the free D⁰(Ω) peaks at Ω = 0.  Static couplings only: raises ValueError
    for a table with retarded couplings (``omega0``), where J(Ω)² weights the average."""
    if table.omega0 is not None:
        raise ValueError("mass_second_order: table.omega0 must be None (static couplings)")
    d = table.qmean(table.c)
    m = table.qmean(table.c ** 2)
    w = table.weights
    return float(d[0] - (w @ (d * m)) / (w @ m))


def pole_coupling(c_pole, table: BubbleTable, J_min=1e-2, J_c=None) -> float:
    """The coupling J (units of t) at which the Fermi liquid of ``table`` puts the pole of
    Eq. 38 at the static bubble ``c_pole`` (1/t): 1 + s0(J) c_pole = 0.  With c_pole the
    largest static bubble of a finer rule, a grid or a temperature (``nesting_bubble``)
    at n = ½, this is that rule's J_c to a few 10⁻³ (module docstring); ``table`` needs
    only to resolve the smooth part of the bubble.  J_min: the lower end of the search
    (units of t, > 0); J_c: the table's own J_c if already known (computed otherwise).
    Returns a float (units of t).

    Raises ValueError when c_pole is not finite and positive, J_min is not in (0, J_c), or
    c_pole is not large enough for the pole to be
    reached on the Fermi-liquid branch of ``table`` (c_pole must exceed the table's own
    largest static bubble clearly: that branch ends at the table's own pole).
    """
    try:
        c_pole = float(c_pole)
    except (TypeError, ValueError):
        raise ValueError(f"c_pole must be a finite positive bubble (1/t), got {c_pole!r}") from None
    if not (np.isfinite(c_pole) and c_pole > 0):
        raise ValueError(f"c_pole must be a finite positive bubble (1/t), got {c_pole!r}")
    J_max = critical_coupling_table(table, 1.0, 1e6) if J_c is None else float(J_c)
    J_hi = J_max * (1 - 1e-6)
    if not (np.isfinite(J_min) and 0 < J_min < J_hi):
        raise ValueError(f"J_min must lie in (0, {J_hi:.4g}) (units of t), got {J_min!r}")

    def f(J):
        s0 = fermi_liquid_mass(J, table)
        return -1.0 if s0 is None else 1.0 + s0 * c_pole
    if not f(J_hi) < 0:
        raise ValueError(f"c_pole = {c_pole:.4g} is not reached on the Fermi-liquid branch of this table "
                         f"(its largest static bubble is {table.c[0].max():.4g}; its J_c = {J_max:.4g}): "
                         "give a coarser table or a larger c_pole")
    return float(brentq(f, J_min, J_hi, xtol=1e-10, rtol=1e-12))


def density_of_states(energy, t=1.0) -> float:
    """ρ(ε) per site (1/t) of the clean cubic lattice at ``energy`` (units of t, measured
    from the band centre), dn/dμ of the infinite lattice's filling
    (meanfield.infinite) by a central difference of step 10⁻⁴ t."""
    from .infinite import _filling
    h = 1e-4 * t
    return float((_filling(energy + h, t) - _filling(energy - h, t)) / (2 * h))


def nesting_bubble(T, t=1.0) -> float:
    """c_Q = -Π⁰(0, Q) (1/t) at n = ½ and temperature T > 0 (units of t) on the infinite
    lattice.  Perfect nesting, ξ_{k+Q} = -ξ_k at μ = 0, turns the bubble into one
    integral over the density of states ρ(ε) (per site, from the filling n(μ) of
    meanfield.infinite, ρ = dn/dμ):

        c_Q(T) = ∫_0^{6t} dε ρ(ε) tanh(ε/2T)/ε
               = ρ(0) [ln(3t/T) + ln(4 e^γ/π)] + ∫_0^{6t} dε [ρ(ε) - ρ(0)] tanh(ε/2T)/ε

    (the first line's ρ(0) part in closed form for T <= t/10, exponentially accurate), so
    c_Q(T) ≈ ρ(0) ln(t/T) + const for T << t, ρ(0) = 0.14267/t (``density_of_states``).
    Returns a float (1/t).  Raises ValueError for t <= 0 or T not in (0, t]."""
    from scipy.integrate import quad
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"t must be a finite hopping > 0, got {t!r}")
    if not (np.isfinite(T) and 0 < T <= t):
        raise ValueError(f"T must lie in (0, t] (units of t), got {T!r}")

    def rho(e):
        return density_of_states(e, t)
    r0 = rho(0.0)
    X = 3 * t / T
    if X >= 30:
        flat = np.log(X) + np.log(4 * np.exp(np.euler_gamma) / np.pi)
    else:
        flat = quad(lambda x: np.tanh(x) / x if x > 0 else 1.0, 0, X, limit=200)[0]
    rest = quad(lambda e: (rho(e) - r0) * np.tanh(e / (2 * T)) / e, 0, 6 * t, points=[2 * t], limit=200)[0]
    return float(r0 * flat + rest)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m simglass.meanfield.nesting", description=__doc__.split("\n\n")[0])
    p.add_argument("--n-q", type=int, default=8, help="momentum rule of the Fermi-liquid branch (default 8)")
    p.add_argument("--temperatures", type=float, nargs="+", default=[0.1, 0.01, 0.003, 0.001, 1e-4],
                   help="T/t (each in (0, 1]) at which c_Q is computed (default 0.1 0.01 0.003 0.001 1e-4)")
    p.add_argument("--couplings", type=float, nargs="+", default=[3.0, 2.5, 2.0, 1.0],
                   help="J/t whose c_Q and T are given (default 3 2.5 2 1)")
    p.add_argument("--check-rules", type=int, nargs="*", default=[],
                   help="finer rules n_q whose fold J_c is set beside pole_coupling(their largest c) "
                        "(about 25 s, 45 s, 90 s for 12, 16, 20 on one core)")
    a = p.parse_args(argv)
    if a.n_q < 2 or any(n < 2 for n in a.check_rules):
        print("error: --n-q and --check-rules must be >= 2", file=sys.stderr)
        return 2
    if any(not (0 < T <= 1) for T in a.temperatures) or any(not J > 0 for J in a.couplings):
        print("error: --temperatures must lie in (0, 1] and --couplings be > 0", file=sys.stderr)
        return 2
    table = bubble_table_infinite(0.5, n_q=a.n_q)
    jc = critical_coupling_table(table, 1.0, 1e6)
    print(f"n = 1/2, Fermi-liquid branch on momentum_rule(n_q = {a.n_q}) (largest c {table.c[0].max():.4f}/t)")
    print(f"second order: s0 = -a J^2 with a = {mass_second_order(table):.5f}")
    for n_q in a.check_rules:
        fine = bubble_table_infinite(0.5, n_q=n_q)
        cm = float(fine.c[0].max())
        jf = critical_coupling_table(fine, 1.0, 1e6)
        print(f"rule n_q = {n_q}: largest c {cm:.4f}, fold J_c {jf:.4f}, pole_coupling {pole_coupling(cm, table, J_c=jc):.4f}")
    print("T/t       c_Q(T) t   J at the pole (units of t; the T = 0 mass of the rule with c_Q(T))")
    for T in a.temperatures:
        c = nesting_bubble(T)
        try:
            J = f"{pole_coupling(c, table, J_c=jc):.4f}"
        except ValueError:
            J = "-  (below the rule's own largest c)"
        print(f"{T:<9g} {c:9.4f}   {J}")
    rho0, ref = density_of_states(0.0), nesting_bubble(1e-3)
    print(f"c_Q(T) = {ref:.4f} + rho(0) ln(1e-3 t/T) below T = 1e-3 t, rho(0) = {rho0:.5f}/t")
    print("J/t    c_Q = -1/s0(J)   T/t at which c_Q(T) reaches it (pole-coupling estimate)")
    for J in a.couplings:
        s0 = fermi_liquid_mass(J, table)
        if s0 is None or s0 >= 0:
            print(f"{J:<6g} (no negative Fermi-liquid mass on this rule)")
            continue
        print(f"{J:<6g} {-1 / s0:12.4f}   {1e-3 * np.exp(-(-1 / s0 - ref) / rho0):.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
