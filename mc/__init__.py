"""Classical Monte Carlo of the t = 0 model (docs/conventions.md): numba kernels, Metropolis,
simulated annealing, parallel tempering and zero-temperature quench to pair-stable
states.  Engine ``mc`` of the runner (mc.mc_engine)."""

from .annealing import anneal, anneal_schedule, metropolis
from .ground_state import GroundState, ground_state
from .parallel_tempering import geometric_ladder, parallel_tempering
from .state import State

__all__ = ["ground_state", "GroundState", "State", "metropolis", "anneal", "anneal_schedule",
           "parallel_tempering", "geometric_ladder"]
