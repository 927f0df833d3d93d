"""Monte-Carlo performance as ratios measured in one run (issue 3).

1. Field-update loop: bytes moved per accepted pair move (two rows of V read, the
   field vector read and written: 4 N doubles) times accepted moves per second, as a
   fraction of the streaming bandwidth of this machine measured by a numpy triad
   c = a + s*b on arrays far larger than the caches (3 doubles per element).
2. Against dwave-samplers' SimulatedAnnealingSampler (optional: pip install
   '.[bench]') on the same N = 512 instance in the single-flip formulation (QUBO
   Σ (eps_i - mu) n_i - Σ_{i<j} V_ij n_i n_j, compensated, mu = 0): the wall time each
   needs to reach within 0.1 % of the best energy either finds, over a sweep ladder.

    .venv/bin/python benchmarks/mc_throughput.py
"""

import time

import numpy as np

from simglass import mc
from simglass.mc import kernels
from simglass import Lattice, Model, sample_disorder


def stream_bandwidth(n=1 << 25, reps=5):
    a = np.random.default_rng(0).random(n)
    b = a.copy()
    c = np.empty_like(a)
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        np.multiply(b, 1.5, out=c)
        np.add(a, c, out=c)
        best = min(best, time.perf_counter() - t0)
    return (5 * 8 * n) / best  # multiply: read b, write c; add: read a, c, write c


def field_update_bandwidth(N, moves=20000):
    lat = Lattice(N)
    d = sample_disorder(lat, J=1.0, seed=1)
    m = Model(lat, 0.0, d.V, d.eps, density=0.5)
    st = mc.State.random(m, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    ia = rng.integers(0, st.occ_list.size, moves)
    ib = rng.integers(0, st.emp_list.size, moves)
    u = np.zeros(moves)
    kernels.pair_sweep(st.V, st.occ, st.phi, st.occ_list, st.emp_list, 0.0, ia[:10], ib[:10], u[:10])
    t0 = time.perf_counter()
    _, acc = kernels.pair_sweep(st.V, st.occ, st.phi, st.occ_list, st.emp_list, 0.0, ia, ib, u)  # beta = 0: all accepted
    dt = time.perf_counter() - t0
    return acc * 4 * N * 8 / dt, acc / dt


def ours_flip(model, sweeps, reads, rng):
    best = np.inf
    for _ in range(reads):
        st, _, _ = mc.anneal(model, rng, mc.anneal_schedule(2.0, 0.02, sweeps), moves="flip", mu=0.0)
        st.quench()
        best = min(best, st.E)
    return best


def dwave_bqm(model):
    import dimod
    N = model.n_sites
    iu = np.triu_indices(N, 1)
    return dimod.BinaryQuadraticModel(dict(enumerate(model.eps)),
                                      {(int(i), int(j)): -model.V[i, j] for i, j in zip(*iu)},
                                      0.0, dimod.BINARY)


def dwave_flip(bqm, sweeps, reads, seed):
    from dwave.samplers import SimulatedAnnealingSampler
    s = SimulatedAnnealingSampler().sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=seed)
    return float(s.first.energy)


def main():
    bw = stream_bandwidth()
    print(f"streaming bandwidth (numpy triad): {bw / 1e9:.2f} GB/s")
    for N in (1024, 4096):
        b, rate = field_update_bandwidth(N)
        print(f"N = {N}: field updates {rate / 1e6:.3f} M moves/s, {b / 1e9:.2f} GB/s "
              f"= {b / bw:.2f} x streaming bandwidth (V of {N * N * 8 / 2**20:.0f} MiB)")
    try:
        import dwave.samplers  # noqa: F401
    except ImportError:
        print("dwave-samplers not installed (pip install '.[bench]'): peer comparison skipped")
        return
    N = 512
    lat = Lattice(N)
    d = sample_disorder(lat, J=1.0, seed=5, compensate=True, density=0.5)
    m = Model(lat, 0.0, d.V, d.eps, density=0.5)
    reads = 8
    bqm = dwave_bqm(m)  # built once, outside the timings
    dwave_flip(bqm, 10, 1, 0)  # warm-up
    ours_flip(m, 10, 1, np.random.default_rng(0))
    rows = []
    for sweeps in (50, 100, 200, 500, 1000, 2000):
        t0 = time.perf_counter()
        eo = ours_flip(m, sweeps, reads, np.random.default_rng(sweeps))
        to = time.perf_counter() - t0
        t0 = time.perf_counter()
        ed_ = dwave_flip(bqm, sweeps, reads, sweeps)
        td = time.perf_counter() - t0
        rows.append((sweeps, to, eo, td, ed_))
        print(f"sweeps {sweeps:5d} x {reads} reads: simglass {to:7.3f} s E = {eo:.4f} | "
              f"dwave-samplers {td:7.3f} s E = {ed_:.4f}")
    best = min(min(r[2], r[4]) for r in rows)
    target = best + 1e-3 * abs(best)
    t_ours = min((r[1] for r in rows if r[2] <= target), default=np.nan)
    t_dw = min((r[3] for r in rows if r[4] <= target), default=np.nan)
    print(f"time to reach within 0.1 % of the best energy {best:.4f}: simglass {t_ours:.3f} s, "
          f"dwave-samplers {t_dw:.3f} s, ratio dwave/simglass = {t_dw / t_ours:.2f}")


if __name__ == "__main__":
    main()
