"""Hypercubic lattices L1 x L2 x ... x Ld, periodic or open (docs/conventions.md)."""

from __future__ import annotations

import numpy as np

__all__ = ["Lattice"]


class Lattice:
    """A finite hypercubic lattice with nearest-neighbour bonds counted once.

    Parameters
    ----------
    shape : int or sequence of int
        Extents (L1, ..., Ld), each >= 1.  An int means a 1D chain.
    periodic : bool or sequence of bool
        Periodic boundary condition per direction (default: all periodic).

    Attributes
    ----------
    n_sites : int
    coords : ndarray (n_sites, d)
        Integer coordinates; site index is row-major (C order) in ``shape``.
    bonds : ndarray (n_bonds, 2)
        Each nearest-neighbour pair once, with ``bonds[:, 0] < bonds[:, 1]``
        not guaranteed; ``bond_dirs[b]`` is the direction of bond b and
        ``bond_wraps[b]`` says whether it crosses the periodic boundary.
        A periodic direction of extent 2 gives one bond per pair (the two
        neighbours coincide); extent 1 gives none.

    Examples
    --------
    >>> Lattice((2, 2, 2)).n_bonds
    12
    >>> Lattice((3, 3, 3)).coordination().tolist() == [6] * 27
    True
    """

    def __init__(self, shape, periodic=True):
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        try:
            shape = tuple(shape)
        except TypeError:
            raise TypeError(f"shape must be an int or a sequence of ints, got {shape!r}") from None
        if len(shape) == 0:
            raise ValueError("shape must have at least one extent")
        for L in shape:
            if isinstance(L, bool) or not isinstance(L, (int, np.integer)):
                raise TypeError(f"shape: extents must be integers, got {L!r}")
            if L < 1:
                raise ValueError(f"shape: every extent L must be >= 1, got {tuple(shape)}")
        self.shape = tuple(int(L) for L in shape)
        if isinstance(periodic, (bool, np.bool_)):
            periodic = (bool(periodic),) * len(self.shape)
        periodic = tuple(periodic)
        if len(periodic) != len(self.shape) or not all(isinstance(p, (bool, np.bool_)) for p in periodic):
            raise ValueError(
                f"periodic must be a bool or {len(self.shape)} bools, got {periodic!r}")
        self.periodic = tuple(bool(p) for p in periodic)
        self.n_sites = int(np.prod(self.shape))
        self.coords = np.array(np.unravel_index(np.arange(self.n_sites), self.shape)).T.copy()
        self.bonds, self.bond_dirs, self.bond_wraps = self._make_bonds()

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def n_bonds(self) -> int:
        return len(self.bonds)

    def _make_bonds(self):
        idx = np.arange(self.n_sites).reshape(self.shape)
        bonds, dirs, wraps = [], [], []
        for a, (L, per) in enumerate(zip(self.shape, self.periodic)):
            if L == 1:
                continue
            # open bonds x -> x+1 inside the box
            lo = np.take(idx, np.arange(L - 1), axis=a).ravel()
            hi = np.take(idx, np.arange(1, L), axis=a).ravel()
            bonds.append(np.stack([lo, hi], axis=1))
            dirs.append(np.full(lo.size, a))
            wraps.append(np.zeros(lo.size, bool))
            # the wrap-around bond L-1 -> 0 (absent for L = 2: it is the same pair)
            if per and L > 2:
                lo = np.take(idx, L - 1, axis=a).ravel()
                hi = np.take(idx, 0, axis=a).ravel()
                bonds.append(np.stack([lo, hi], axis=1))
                dirs.append(np.full(lo.size, a))
                wraps.append(np.ones(lo.size, bool))
        if not bonds:
            return np.zeros((0, 2), np.int64), np.zeros(0, np.int64), np.zeros(0, bool)
        return (np.concatenate(bonds).astype(np.int64), np.concatenate(dirs).astype(np.int64),
                np.concatenate(wraps))

    def neighbors(self) -> list[np.ndarray]:
        """Neighbour table: ``neighbors()[i]`` holds the distinct neighbours of site i."""
        nb = [[] for _ in range(self.n_sites)]
        for i, j in self.bonds:
            nb[i].append(j)
            nb[j].append(i)
        return [np.array(sorted(x), dtype=np.int64) for x in nb]

    def coordination(self) -> np.ndarray:
        """Number of distinct neighbours of every site."""
        z = np.zeros(self.n_sites, np.int64)
        np.add.at(z, self.bonds.ravel(), 1)
        return z

    def twist_direction(self, direction=None) -> int:
        """The direction a boundary twist is applied along: ``direction`` if given
        (checked: it must be periodic with L >= 3, so that the twist is not a gauge
        choice), else the longest such direction.  Raises ValueError when there is none."""
        ok = [a for a, (L, p) in enumerate(zip(self.shape, self.periodic)) if p and L >= 3]
        if direction is None:
            if not ok:
                raise ValueError(f"lattice {self.shape} (periodic {self.periodic}) has no periodic "
                                 "direction with L >= 3 to twist")
            return max(ok, key=lambda a: self.shape[a])
        if direction not in range(self.dim):
            raise ValueError(f"direction must be one of 0 .. {self.dim - 1}, got {direction!r}")
        if direction not in ok:
            raise ValueError(f"direction {direction} of lattice {self.shape} (periodic {self.periodic}) "
                             "cannot carry a twist: it needs to be periodic with L >= 3")
        return direction

    def __repr__(self):
        return f"Lattice(shape={self.shape}, periodic={self.periodic})"
