import numpy as np
import pytest

from simglass import Lattice


def expected_bonds(shape, periodic):
    """Independent count: per direction, (L-1) open bonds per line, plus the wrap bond
    when periodic and L > 2; lines per direction = N / L."""
    N = int(np.prod(shape))
    nb = 0
    for L in shape:
        per_line = (L - 1) + (1 if periodic and L > 2 else 0)
        nb += per_line * (N // L)
    return nb


@pytest.mark.parametrize("shape", [(2, 2, 2), (3, 3, 3), (4, 4, 4), (2, 3, 4)])
@pytest.mark.parametrize("periodic", [True, False])
def test_bond_counts(shape, periodic):
    lat = Lattice(shape, periodic=periodic)
    assert lat.n_bonds == expected_bonds(shape, periodic)
    # bonds are unique unordered pairs of distinct sites at lattice distance 1
    pairs = {tuple(sorted(b)) for b in lat.bonds.tolist()}
    assert len(pairs) == lat.n_bonds
    assert all(i != j for i, j in pairs)


def test_known_numbers():
    assert Lattice((2, 2, 2)).n_bonds == 12
    assert Lattice((3, 3, 3)).n_bonds == 81
    assert Lattice((3, 3, 3), periodic=False).n_bonds == 54
    assert Lattice((4, 4, 4)).n_bonds == 192
    assert Lattice((2, 3, 4)).n_bonds == 60
    assert Lattice((1, 1, 5)).n_bonds == 5
    assert Lattice((1,)).n_bonds == 0


@pytest.mark.parametrize("shape", [(3, 3, 3), (4, 4, 4), (3, 4, 5), (6, 3, 4)])
def test_coordination_six(shape):
    lat = Lattice(shape)
    assert np.all(lat.coordination() == 6)
    nb = lat.neighbors()
    assert all(len(x) == 6 for x in nb)


def test_neighbours_are_unit_distance():
    lat = Lattice((4, 3, 5), periodic=(True, False, True))
    L = np.array(lat.shape)
    for i, j in lat.bonds:
        d = np.abs(lat.coords[i] - lat.coords[j])
        d = np.where(np.array(lat.periodic), np.minimum(d, L - d), d)
        assert d.sum() == 1


@pytest.mark.parametrize("bad", [(0, 2, 2), (4, -1), ()])
def test_bad_shape(bad):
    with pytest.raises(ValueError, match="shape"):
        Lattice(bad)


def test_bad_periodic():
    with pytest.raises(ValueError, match="periodic"):
        Lattice((2, 2), periodic=(True,))
