"""Diagonalisation engines: self-consistent Hartree–Anderson (``ed.hartree_solve``,
engine ``hartree``)."""

from .hartree import HartreeResult, aufbau, hartree_solve

__all__ = ["hartree_solve", "HartreeResult", "aufbau"]
