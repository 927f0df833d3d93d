"""Engine ``ed``: many-body ground states (QuSpin) and Hartree on the same realisation.

The record is declared in ``OUTPUTS``; the engines page of the documentation and
``simglass engines ed`` print it.
"""

from __future__ import annotations

import numpy as np

from simglass.options import Option, default_of
from simglass.outputs import Output

from .exact import density_response, exact_ground_state
from .hartree import START_KINDS, hartree_solve
from .spectral import tunnelling_dos

# per-task flags: dataset -> the value of a sound result (simglass info counts the others)
FLAGS = {"converged": True, "degenerate": False, "hartree_converged": True, "hartree_stable": True}

OPTIONS = {
    "pm1": Option(bool, True, help="also the sectors N_f ± 1 (charge gap)"),
    "chi": Option(bool, False, help="static density response by central differences"),
    "chi_step": Option(float, default_of(density_response, "step"), lambda x: x > 0, "> 0", "eps step of chi"),
    "hartree": Option(bool, True, help="Hartree solution of the same model"),
    "hartree_starts": Option(str, ["classical", "uniform"], lambda x: x in START_KINDS,
                             f"one or more of {START_KINDS}",
                             "starting densities of the Hartree solution; the lowest converged E_H is kept",
                             many=True),
    "dos": Option(bool, False, help="tunnelling DOS from Lanczos continued fractions"),
    "dos_eta": Option(float, 0.1, lambda x: x > 0, "> 0", "Lorentzian broadening of the DOS"),
    "dos_max": Option(float, 10.0, lambda x: x > 0, "> 0", "DOS frequency range |w - mu|"),
    "dos_points": Option(int, 401, lambda x: x >= 2, ">= 2", "DOS frequency points"),
    "max_memory_gb": Option(float, default_of(exact_ground_state, "max_memory_gb"), lambda x: x > 0, "> 0",
                            "refuse larger sectors"),
}


# the record of one task (simglass.outputs): every key run() returns, and only those
OUTPUTS = {
    "energy": Output("()", "energy", "E0, the many-body ground-state energy at N_f (ed.exact_ground_state)"),
    "density": Output("(N,)", "1", "<n_i> of the ground state (averaged over a degenerate ground-state "
                      "manifold)"),
    "dimension": Output("()", "count", "dimension of the N_f sector", "int"),
    "residual": Output("()", "energy", "max ||H psi - E psi|| of the ground state(s)"),
    "converged": Output("()", "", "every eigen-solve of the task met its tolerance", "bool"),
    "degeneracy": Output("()", "count", "ground-state degeneracy (relative tolerance 1e-8)", "int"),
    "degenerate": Output("()", "", "degeneracy > 1", "bool"),
    "energy_plus": Output("()", "energy", "E0 at N_f + 1 (NaN outside 0..N)", when="pm1"),
    "energy_minus": Output("()", "energy", "E0 at N_f - 1 (NaN outside 0..N)", when="pm1"),
    "addition": Output("()", "energy", "E(N_f + 1) - E(N_f)", when="pm1"),
    "removal": Output("()", "energy", "E(N_f) - E(N_f - 1)", when="pm1"),
    "charge_gap": Output("()", "energy", "E(N_f + 1) + E(N_f - 1) - 2 E(N_f)", when="pm1"),
    "chi": Output("(N, N)", "1/energy", "static density response -∂<n_i>/∂eps_j by central differences "
                  "(step chi_step); NaN for a degenerate ground state, where it diverges as T -> 0+",
                  when="chi"),
    "tdos": Output("(dos_points,)", "1/energy", "tunnelling DOS per site on tdos_omega: Lanczos continued "
                   "fractions, Lorentzian broadening dos_eta (ed.spectral)", when="dos, 0 < N_f < N"),
    "tdos_omega": Output("(dos_points,)", "energy", "frequencies ω - μ of tdos on [-dos_max, dos_max], "
                         "μ = (E(N_f + 1) - E(N_f - 1))/2", when="dos, 0 < N_f < N"),
    "hartree_energy": Output("()", "energy", "E_H of the Hartree solution of the same model (ed.hartree)",
                             when="hartree, 0 < N_f < N"),
    "hartree_density": Output("(N,)", "1", "its density <n_i>", when="hartree, 0 < N_f < N"),
    "hartree_gap": Output("()", "energy", "its single-particle gap at μ", when="hartree, 0 < N_f < N"),
    "hartree_converged": Output("()", "", "the Hartree solution converged", "bool", "hartree, 0 < N_f < N"),
    "hartree_stable": Output("()", "", "it is a local minimum of E_H (not a saddle point)", "bool",
                             "hartree, 0 < N_f < N"),
    "hartree_expectation": Output("()", "energy", "<Phi_H|H|Phi_H> = E_H + ½ Σ_{i≠j} V_ij |rho_ij|² "
                                  "(exchange included): a variational upper bound on E0",
                                  when="hartree, 0 < N_f < N"),
}


def check_point(params, options):
    L = params["L"] if isinstance(params["L"], list) else [params["L"]]
    if int(np.prod(L)) > 30:
        raise ValueError(f"L = {params['L']}: engine 'ed' handles at most 30 sites")


def run(model, rng, *, pm1, chi, chi_step, hartree, hartree_starts, dos, dos_eta, dos_max, dos_points,
        max_memory_gb):
    N, nf = model.n_sites, model.n_particles
    gs = exact_ground_state(model, max_memory_gb=max_memory_gb)
    rec = {"energy": gs.energy, "density": gs.density, "dimension": gs.dimension, "residual": gs.residual,
           "converged": gs.converged, "degeneracy": gs.degeneracy, "degenerate": gs.degeneracy > 1}
    if pm1:
        sectors = [exact_ground_state(model, n, max_memory_gb=max_memory_gb, resolve_degeneracy=False)
                   if 0 <= n <= N else None for n in (nf + 1, nf - 1)]
        ep, em = (s.energy if s is not None else np.nan for s in sectors)
        rec["converged"] = gs.converged and all(s.converged for s in sectors if s is not None)
        rec.update(energy_plus=ep, energy_minus=em, addition=ep - gs.energy, removal=gs.energy - em,
                   charge_gap=ep + em - 2 * gs.energy)
    if chi:  # NaN for a degenerate ground state (the T -> 0+ response diverges; flagged)
        rec["chi"] = (density_response(model, step=chi_step, max_memory_gb=max_memory_gb)
                      if gs.degeneracy == 1 else np.full((N, N), np.nan))
    if dos and 0 < nf < N:
        w = np.linspace(-dos_max, dos_max, dos_points)
        rho, _, _ = tunnelling_dos(model, w, eta=dos_eta)
        rec.update(tdos=rho, tdos_omega=w)
    if hartree and 0 < nf < N:
        h = hartree_solve(model, rng=rng, starts=tuple(hartree_starts))
        occ = h.orbitals * np.sqrt(h.occupations)
        rho = occ @ occ.T
        rec.update(hartree_energy=h.energy, hartree_density=h.density, hartree_gap=h.gap,
                   hartree_converged=h.converged, hartree_stable=h.stable,
                   # <Phi|H|Phi> of the Hartree Slater determinant: E_H plus the exchange
                   # term ½ Σ_{i≠j} V_ij |rho_ij|² -- a variational upper bound on E0
                   hartree_expectation=h.energy + 0.5 * np.sum(model.V * rho ** 2))
    return rec
