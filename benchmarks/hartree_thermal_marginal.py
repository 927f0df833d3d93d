"""Why the Hartree solver at T > 0 stalls near the glass onset (issue 35): one realisation,
three readings of the same stalled solution.

On the W~ = 0 axis (compensated couplings, W = 0, n = 1/2, t = 1), the disorder of
realisation r of jobs/hartree_finite_t*.toml (seed 3501) and a classical start of its
own (mc ground state with 300 sweeps, generator default_rng(r); the engine's task seeds
its generator otherwise, so its start and its stalled point differ from these):

1. Anderson mixing at the target T from the classical start (the engine's options:
   history 20, beta 0.3, 500 diagonalisations);
2. continuation in T: mixing at each temperature of --ladder from the last solution, down
   to the target T, with the stability 1 - lambda_max of ed.hartree_thermal.thermal_stability
   at each end point (>= 0 at a local minimum of F, 0 at a marginal one);
3. from the stalled point of 1, pushes of +-push along the softest mode (as the solver's
   escapes from saddle points), --rounds times, keeping the lower F;
4. the solver itself (ed.hartree_thermal.hartree_thermal_solve, default options, with its
   L-BFGS fallback where mixing has not converged after 300 diagonalisations) from the
   same classical start, 2 x --max-iter diagonalisations.

Printed per run: converged, diagonalisations, max |n_out - n_in|, the Mermin free energy F,
the glass order q = (1/N) sum (n_i - n)^2 / (n(1 - n)) and the stability.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/hartree_thermal_marginal.py [--L 8] [--J 3]
        [--realization 0] [--T 0.1] [--ladder 0.3 0.2 0.15 0.12] [--push 0.3] [--rounds 4]

About 3 minutes at L = 8 on one core.
"""

import argparse

import numpy as np

from simglass import Lattice, Model, sample_disorder
from simglass.blas import numpy_blas_only
from simglass.ed.hartree import _start_density, bare_hamiltonian
from simglass.ed.hartree_mixing import mixing_solve
from simglass.ed.hartree_thermal import hartree_thermal_solve, thermal_state, thermal_stability

MIXING = dict(beta=0.3, history=20, patience=5, beta_min=0.02)   # hartree_thermal_solve's defaults


def reading(model, h0, m, T):
    """(F, q, stability, softest mode) of mixing's result m at temperature T."""
    st = thermal_state(model, h0, m.density, T)
    stab, _, mode = thermal_stability(st["levels"], st["orbitals"], st["mu"], T, model.V)
    n = model.n_particles / model.n_sites
    q = float(((m.density - n) ** 2).mean() / (n * (1 - n)))
    return st["free_energy"], q, stab, mode


def show(label, m, F, q, stab):
    print(f"{label:<28} converged {m.converged!s:<5} diag {m.iterations:4d}  max|R| {m.residual:.1e}  "
          f"F {F:.7f}  q {q:.5f}  stability {stab:+.1e}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--L", type=int, default=8)
    ap.add_argument("--J", type=float, default=3.0)
    ap.add_argument("--realization", type=int, default=0)
    ap.add_argument("--T", type=float, default=0.1)
    ap.add_argument("--ladder", type=float, nargs="*", default=[0.3, 0.2, 0.15, 0.12])
    ap.add_argument("--push", type=float, default=0.3)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--max-iter", type=int, default=500)
    a = ap.parse_args()
    lat = Lattice((a.L,) * 3)
    d = sample_disorder(lat, J=a.J, W=0.0, seed=3501, realization=a.realization, compensate=True, density=0.5)
    model = Model(lat, 1.0, d.V, d.eps, density=0.5)
    h0 = bare_hamiltonian(model)
    print(f"L = {a.L}, J/t = {a.J}, T/t = {a.T}, realisation {a.realization} (seed 3501), N_f = {model.n_particles}")
    with numpy_blas_only():
        x0 = _start_density(model, "classical", np.random.default_rng(a.realization), 300)
        m = mixing_solve(model, h0, x0, 1e-8, a.max_iter, temperature=a.T, **MIXING)
        F, q, stab, mode = reading(model, h0, m, a.T)
        show("1. classical start", m, F, q, stab)
        x = x0
        for T in list(a.ladder) + [a.T]:
            mc = mixing_solve(model, h0, x, 1e-8, a.max_iter, temperature=T, **MIXING)
            show(f"2. continued, T/t = {T:g}", mc, *reading(model, h0, mc, T)[:3])
            x = mc.density
        for k in range(a.rounds):
            best = None
            for sign in (1.0, -1.0):
                m2 = mixing_solve(model, h0, np.clip(m.density + sign * a.push * mode, 0.0, 1.0), 1e-8, a.max_iter,
                                  temperature=a.T, **MIXING)
                F2, q2, s2, mode2 = reading(model, h0, m2, a.T)
                show(f"3. round {k + 1}, push {sign * a.push:+g}", m2, F2, q2, s2)
                if best is None or F2 < best[1]:
                    best = (m2, F2, mode2)
            m, _, mode = best
            if m.converged:
                break
        r = hartree_thermal_solve(model, a.T, starts=(), init_density=x0, max_iter=2 * a.max_iter)
        show("4. hartree_thermal_solve", r, *reading(model, h0, r, a.T)[:3])


if __name__ == "__main__":
    main()
