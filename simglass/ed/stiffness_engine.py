"""Engine ``stiffness``: charge stiffness of ED and Hartree on the same realisation from
twisted boundaries (ed.stiffness).

D = (L_a²/2N) ∂²E0/∂θ² (energy units of the job) along the twisted direction a; the
record is declared in ``OUTPUTS`` (the engines page of the documentation and ``simglass
engines stiffness`` print it).
"""

from __future__ import annotations

import numpy as np

from simglass.options import Option, default_of
from simglass.outputs import Output

from .exact import exact_ground_state
from .hartree import START_KINDS, hartree_solve
from .stiffness import ed_stiffness, hartree_stiffness, thouless_number, twist_direction

# per-task flags: dataset -> the value of a sound result (simglass info counts the others)
FLAGS = {"ed_converged": True, "hartree_converged": True, "hartree_stable": True}

OPTIONS = {
    "direction": Option(int, -1, lambda x: x >= -1, ">= 0, or -1 for the longest periodic direction with L >= 3",
                        "twisted direction"),
    "h": Option(float, default_of(ed_stiffness, "h"), lambda x: 0 < x <= 0.5, "in (0, 0.5]", "twist step (total phase, rad)"),
    "ed": Option(bool, True, help="many-body stiffness"),
    "hartree": Option(bool, True, help="Hartree stiffness (frozen and re-converged)"),
    "reconverge": Option(bool, True, help="also re-converge Hartree at each twist (D_hartree)"),
    "hartree_starts": Option(str, ["classical", "uniform"], lambda x: x in START_KINDS,
                             f"one or more of {START_KINDS}",
                             "starting densities of the Hartree solution; the lowest converged E_H is kept",
                             many=True),
    "thouless_fraction": Option(float, 0.25, lambda x: 0 < x <= 1, "in (0, 1]",
                                "fraction of levels nearest mu for the Thouless number"),
    "max_memory_gb": Option(float, default_of(exact_ground_state, "max_memory_gb"), lambda x: x > 0, "> 0", "refuse larger ED sectors"),
}


_H = "hartree, t > 0"
_HS = "hartree, t > 0, the solution converged and stable"   # saddle points are recorded, not used

# the record of one task (simglass.outputs): every key run() returns, and only those
OUTPUTS = {
    "direction": Output("()", "", "the twisted lattice direction a (0-based)", "int"),
    "h": Output("()", "1", "twist step (total phase, rad) of the finite differences"),
    "D_ed": Output("()", "energy", "many-body stiffness (L_a²/2N) ∂²E0/∂θ² (Richardson extrapolation from "
                   "θ = 0, h, 2h; ed.stiffness)", when="ed"),
    "D_ed_err": Output("()", "energy", "its finite-difference error estimate", when="ed"),
    "D_ed_phase": Output("()", "energy", "phase sensitivity (L_a²/2N) |E0(π/2) - E0(0)| (>= 0; its logarithm "
                         "is the quantity to average over disorder)", when="ed"),
    "E0": Output("()", "energy", "many-body ground-state energy at θ = 0", when="ed"),
    "ed_residual": Output("()", "energy", "max ||H psi - E psi|| of the eigen-solves", when="ed"),
    "ed_converged": Output("()", "", "every eigen-solve met its tolerance", "bool", "ed"),
    "hartree_converged": Output("()", "", "the Hartree solution at θ = 0 converged", "bool", _H),
    "hartree_stable": Output("()", "", "it is a local minimum of E_H (not a saddle point)", "bool", _H),
    "hartree_energy": Output("()", "energy", "E_H at θ = 0", when=_H),
    "D_hartree_frozen": Output("()", "energy", "Hartree stiffness with the potential of θ = 0 kept (the N_f "
                               "lowest levels of h(θ) summed)", when=_HS),
    "D_hartree_frozen_err": Output("()", "energy", "its finite-difference error estimate", when=_HS),
    "D_hartree_frozen_phase": Output("()", "energy", "its phase sensitivity", when=_HS),
    "thouless": Output("()", "1", "Edwards–Thouless g = <|ε_n(π) - ε_n(0)|> / Δ of the thouless_fraction of "
                       "Hartree levels nearest μ (at least 4), potential frozen", when=_HS),
    "D_hartree": Output("()", "energy", "Hartree stiffness re-converged at each θ (from E_H(θ))",
                        when=_HS + ", reconverge"),
    "D_hartree_err": Output("()", "energy", "its error estimate (NaN if a twisted solution did not converge)",
                            when=_HS + ", reconverge"),
    "D_hartree_phase": Output("()", "energy", "its phase sensitivity", when=_HS + ", reconverge"),
}


def check_point(params, options):
    from simglass import Lattice
    L = params["L"] if isinstance(params["L"], list) else [params["L"]]
    d = options.get("direction", -1)
    try:
        twist_direction(Lattice(tuple(L), params.get("periodic", True)), None if d == -1 else d)
    except ValueError as e:
        raise ValueError(f"L = {params['L']}: {e}") from None
    if options.get("ed", True) and int(np.prod(L)) > 30:
        raise ValueError(f"L = {params['L']}: the many-body stiffness handles at most 30 sites")


def run(model, rng, *, direction, h, ed, hartree, reconverge, hartree_starts, thouless_fraction, max_memory_gb):
    a = twist_direction(model.lattice, None if direction == -1 else direction)
    rec = {"direction": a, "h": h}
    if ed:
        s = ed_stiffness(model, a, h, max_memory_gb=max_memory_gb)
        rec.update(D_ed=s.D, D_ed_err=s.error, D_ed_phase=s.D_phase, E0=s.energies[0],
                   ed_residual=s.residual, ed_converged=s.converged)
    if hartree and model.t > 0:
        sol = hartree_solve(model, rng=rng, starts=tuple(hartree_starts))
        rec.update(hartree_converged=sol.converged, hartree_stable=sol.stable, hartree_energy=sol.energy)
        if sol.converged and sol.stable:          # saddle points are recorded, not used
            frozen, full = hartree_stiffness(model, sol, a, h, reconverge=reconverge)
            rec.update(D_hartree_frozen=frozen.D, D_hartree_frozen_err=frozen.error,
                       D_hartree_frozen_phase=frozen.D_phase,
                       thouless=thouless_number(model, sol.density, a, thouless_fraction))
            if full is not None:
                rec.update(D_hartree=full.D, D_hartree_err=full.error, D_hartree_phase=full.D_phase)
    return rec
