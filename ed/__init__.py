"""Diagonalisation engines: self-consistent Hartree–Anderson (``ed.hartree_solve``,
engine ``hartree``) and many-body exact diagonalisation on QuSpin
(``ed.exact_ground_state``, engine ``ed``)."""

from .exact import ExactResult, exact_ground_state
from .hartree import HartreeResult, aufbau, hartree_solve

__all__ = ["hartree_solve", "HartreeResult", "aufbau", "exact_ground_state", "ExactResult"]
