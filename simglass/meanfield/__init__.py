"""Mean-field saddle point of the paper (Sec. V, Eqs. 36-43): so far the particle–hole
bubble on the L^d momentum grid of a periodic cluster (``bubble_grid``)."""

from .bubble import bubble_grid, dispersion, grid_chemical_potential, grid_momenta

__all__ = ["bubble_grid", "dispersion", "grid_chemical_potential", "grid_momenta"]
