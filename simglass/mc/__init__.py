"""Classical Monte Carlo of the t = 0 model (docs/conventions.md): numba kernels, Metropolis,
simulated annealing, parallel tempering and zero-temperature quench to pair-stable
states (engine ``mc`` of the runner, mc.mc_engine); equilibrium thermal averages by
parallel tempering with two replica chains (mc.thermal)."""

from .annealing import anneal, anneal_schedule, metropolis
from .ground_state import GroundState, ground_state
from .parallel_tempering import geometric_ladder, parallel_tempering
from .state import State
from .thermal import ThermalResult, thermal

__all__ = ["ground_state", "GroundState", "State", "metropolis", "anneal", "anneal_schedule",
           "parallel_tempering", "geometric_ladder", "thermal", "ThermalResult"]
