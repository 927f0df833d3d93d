"""Mean-field saddle point of the paper (Sec. V, Eqs. 36-43): the particle–hole bubble on
the L^d momentum grid of a periodic cluster (``bubble_grid``) and of the infinite cubic
lattice at T >= 0 (``bubble``) with its momentum rules (``momentum_rule``: rays for a
convex Fermi surface, ``ray_quadrature``, the tensor ``q_quadrature`` otherwise), the
T = 0 Fermi-liquid saddle point (``saddle_grid``) and its glass instability on a grid
(``critical_coupling_grid``) and on the infinite lattice (``critical_coupling``), and the
glass with q_EA > 0 beyond it (``glass_solution``, defined in ``simglass.meanfield.saddle``),
and D(Ω) exactly at the instability (``fold_response``, Eq. 47) with its Landau damping
(``simglass.meanfield.landau``: the Fermi-surface integral γ_q of the bubble's linear
decrease in Ω); at n = ½ the instability is the nesting pole of
``simglass.meanfield.nesting`` (``pole_coupling``)."""

from .bubble import bubble_grid, dispersion, grid_chemical_potential, grid_momenta
from .infinite import bubble, chemical_potential
from .saddle import (GlassPoint, bubble_table, bubble_table_infinite, critical_coupling,
                     critical_coupling_grid, fold_response, glass_solution, momentum_rule, q_quadrature, ray_quadrature, saddle_grid)

__all__ = ["bubble_grid", "dispersion", "grid_chemical_potential", "grid_momenta",
           "bubble", "chemical_potential", "bubble_table", "bubble_table_infinite", "momentum_rule",
           "q_quadrature", "ray_quadrature",
           "saddle_grid", "critical_coupling_grid", "critical_coupling", "GlassPoint", "glass_solution",
           "fold_response"]
