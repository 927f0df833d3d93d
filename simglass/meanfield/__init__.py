"""Mean-field saddle point of the paper (Sec. V, Eqs. 36-43) on the L^d momentum grid of
a periodic cluster: the particle–hole bubble (``bubble_grid``) and the T = 0 Fermi-liquid
saddle point with its glass instability (``saddle_grid``, ``critical_coupling_grid``).
The infinite-lattice limit is not implemented yet."""

from .bubble import bubble_grid, dispersion, grid_chemical_potential, grid_momenta
from .saddle import bubble_table, critical_coupling_grid, saddle_grid

__all__ = ["bubble_grid", "dispersion", "grid_chemical_potential", "grid_momenta",
           "bubble_table", "saddle_grid", "critical_coupling_grid"]
