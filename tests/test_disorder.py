import numpy as np
import pytest

from simglass import Lattice, Model, sample_disorder


def test_reproducible_and_scaled():
    lat = Lattice((3, 3, 3))
    a = sample_disorder(lat, J=1.0, W=0.5, seed=11, realization=4)
    b = sample_disorder(lat, J=1.0, W=0.5, seed=11, realization=4)
    c = sample_disorder(lat, J=2.0, W=1.5, seed=11, realization=4)
    d = sample_disorder(lat, J=1.0, W=0.5, seed=11, realization=5)
    assert np.array_equal(a.V, b.V) and np.array_equal(a.eps, b.eps)
    assert np.array_equal(2.0 * a.V, c.V) and np.allclose(3.0 * a.eps, c.eps, rtol=0, atol=1e-15)
    assert not np.array_equal(a.V, d.V)


def test_symmetric_zero_diagonal():
    for couplings, kw in (("gaussian", {}), ("cavity", {"n_modes": 3})):
        d = sample_disorder(Lattice(20), J=1.3, seed=1, couplings=couplings, **kw)
        assert np.array_equal(d.V, d.V.T)
        assert np.all(np.diag(d.V) == 0)


def _stats(samples):
    samples = np.asarray(samples)
    return samples.mean(), samples.std(ddof=1) / np.sqrt(len(samples))


def test_gaussian_moments_within_4_sigma():
    lat = Lattice((4, 4, 4))
    N, J, W = lat.n_sites, 1.7, 0.8
    vvar, vmean, evar, emean = [], [], [], []
    for r in range(200):
        d = sample_disorder(lat, J=J, W=W, seed=5, realization=r)
        v = d.V[np.triu_indices(N, 1)] * np.sqrt(N) / J
        vmean.append(v.mean())
        vvar.append((v ** 2).mean())
        e = d.eps / W
        emean.append(e.mean())
        evar.append((e ** 2).mean())
    for (m, se), target in ((_stats(vmean), 0), (_stats(vvar), 1), (_stats(emean), 0), (_stats(evar), 1)):
        assert abs(m - target) < 4 * se, (m, se, target)


def test_box_onsite_variance():
    lat = Lattice(500)
    evar = [(sample_disorder(lat, J=0, W=2.0, seed=3, realization=r, onsite="box").eps ** 2).mean()
            for r in range(50)]
    m, se = _stats(evar)
    assert abs(m - 4.0 / 12) < 4 * se
    e = sample_disorder(lat, J=0, W=2.0, seed=3, onsite="box").eps
    assert e.min() >= -1 and e.max() <= 1


def test_cavity_approaches_gaussian():
    """V_ij = Σ_l g_il g_jl / sqrt(N M): variance J²/N for every M, excess kurtosis 6/M
    (exact for Gaussian g) -> 0, the Gaussian value, as M grows."""
    lat = Lattice(60)
    N = lat.n_sites
    kurts = []
    for M in (1, 4, 64):
        v = np.concatenate([
            sample_disorder(lat, J=1.0, seed=2, realization=r, couplings="cavity", n_modes=M)
            .V[np.triu_indices(N, 1)] for r in range(150)])
        var = (v ** 2).mean() * N
        # the var estimate is correlated within a realisation; 10 % is many sigma here
        assert abs(var - 1.0) < 0.1, (M, var)
        k = (v ** 4).mean() / (v ** 2).mean() ** 2 - 3.0
        kurts.append(k)
        assert abs(k - 6.0 / M) < 0.25 * (6.0 / M) + 0.1, (M, k)
    assert kurts[0] > kurts[1] > kurts[2]


def test_compensated_half_filling_is_sk():
    """At n = 1/2, W = 0, t = 0 the compensated model is H = C - 1/8 Σ_{i≠j} V_ij s_i s_j
    with C = 1/8 Σ_{i≠j} V_ij (docs/conventions.md), for random configurations."""
    lat = Lattice((2, 3, 3))
    N = lat.n_sites
    d = sample_disorder(lat, J=1.0, W=0.0, seed=9, compensate=True, density=0.5)
    m = Model(lat, t=0.0, V=d.V, eps=d.eps, n_particles=N // 2)
    C = d.V.sum() / 8
    rng = np.random.default_rng(0)
    for _ in range(50):
        occ = np.zeros(N)
        occ[rng.choice(N, N // 2, replace=False)] = 1
        s = 2 * occ - 1
        assert np.isclose(m.energy(occ), C - s @ d.V @ s / 8, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw,match", [
    (dict(J=-1.0), "J"), (dict(W=-0.1), "W"), (dict(J=float("nan")), "J"),
    (dict(couplings="cavity"), "n_modes"), (dict(couplings="foo"), "couplings"),
    (dict(onsite="foo"), "onsite"), (dict(compensate=True), "density"),
    (dict(realization=-1), "realization"),
])
def test_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        sample_disorder(Lattice(4), **kw)
