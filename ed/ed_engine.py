"""Engine ``ed``: many-body ground states (QuSpin) and Hartree on the same realisation.

Record: ``energy`` (E0 at N_f), ``energy_plus`` / ``energy_minus`` (N_f ± 1; NaN when
outside 0..N), ``charge_gap`` = E(N_f+1) + E(N_f-1) - 2 E(N_f), ``addition`` =
E(N_f+1) - E(N_f), ``removal`` = E(N_f) - E(N_f-1), ``density`` (averaged over a
degenerate ground-state manifold), ``dimension``, ``residual`` (max ||H psi - E psi||),
``converged`` (every eigen-solve of the task met its tolerance), ``degeneracy`` and
``degenerate`` (ed.exact_ground_state, relative tolerance 1e-8);
with ``dos = true`` the tunnelling DOS ``tdos`` per site on ``tdos_omega`` (relative to
mu = (E(N+1) - E(N-1))/2, Lorentzian ``dos_eta``; ed.spectral);
with ``chi = true`` the static response ``chi`` = -∂<n_i>/∂eps_j (central differences,
``chi_step``; NaN for a degenerate ground state, where it diverges as T -> 0+); with ``hartree = true`` the Hartree solution of the same model:
``hartree_energy``, ``hartree_density``, ``hartree_gap`` (single-particle gap at mu),
``hartree_converged``, ``hartree_stable``, and ``hartree_expectation`` = <Phi_H|H|Phi_H> = E_H +
½ Σ_{i≠j} V_ij |rho_ij|² (exchange included; >= E0 for an integer-occupied determinant).
"""

from __future__ import annotations

import numpy as np

from simglass.options import Option, default_of

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
