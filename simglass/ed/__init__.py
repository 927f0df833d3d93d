"""Diagonalisation engines: self-consistent Hartree–Anderson (``ed.hartree_solve``,
engine ``hartree``) and many-body exact diagonalisation on QuSpin
(``ed.exact_ground_state``, engine ``ed``), and the charge stiffness from twisted
boundaries (``ed.ed_stiffness``, ``ed.hartree_stiffness``, engine ``stiffness``)."""

from .exact import ExactResult, exact_ground_state
from .hartree import HartreeResult, aufbau, hartree_solve
from .stiffness import Stiffness, ed_stiffness, hartree_stiffness, thouless_number

__all__ = ["hartree_solve", "HartreeResult", "aufbau", "exact_ground_state", "ExactResult",
           "Stiffness", "ed_stiffness", "hartree_stiffness", "thouless_number"]
