"""Thermal Monte Carlo (``simglass.mc.thermal``, engine ``thermal``) as ratios in one run
(issue 35), on the compensated n = ½, W = 0, t = 0 model (SK with J_SK = J/4, T_c = J/4;
J = 1 here, energies in units of J):

1. Throughput against dwave-samplers' SimulatedAnnealingSampler (optional:
   pip install '.[bench]') on the same N = 512 instance: replica-temperature sweeps per
   second of ``thermal`` (two chains × R temperatures per round: N canonical pair
   proposals per sweep, then the replica swaps and every measurement) against
   num_reads × num_sweeps per second of the annealer (N single-flip proposals per sweep,
   the QUBO of benchmarks/mc_throughput.py). The moves differ: pair moves keep N_f fixed,
   single flips do not.
2. Time to equilibrate N = 512 at 0.8 T_c, per instance: runs of S = 2^k sweeps on a
   geometric ladder of R temperatures from 0.8 T_c to 2.4 T_c, against a reference run of
   --reference sweeps; the first S at which (a) the logarithmic-binning test passes
   (``equilibration_z`` below its threshold; the ``equilibrated`` flag also asks for
   round trips), (b) each chain made at least --trips round trips, and (c) ⟨E⟩ and
   ⟨q²⟩ at 0.8 T_c agree with the reference within 3 combined standard errors. Printed:
   that S, its wall time, and the first S of each criterion alone.

    .venv/bin/python benchmarks/thermal.py [--N 512] [--instances 3] [--R 20] [--reference 16384]
"""

import argparse
import time

import numpy as np

from simglass import Lattice, Model, mc, sample_disorder
from simglass.mc.parallel_tempering import geometric_ladder
from simglass.mc.thermal import equilibration_threshold

T_C = 0.25   # J_SK = J/4 with J = 1


def instance(N, seed):
    d = sample_disorder(Lattice(N), J=1.0, seed=seed, compensate=True, density=0.5)
    return Model(Lattice(N), 0.0, d.V, d.eps, density=0.5)


def throughput(m, temps, sweeps):
    """(replica-temperature sweeps per second of thermal, of the annealer or NaN)."""
    mc.thermal(m, seed=0, temperatures=temps, sweeps=16)      # numba's cache loaded
    t0 = time.perf_counter()
    mc.thermal(m, seed=1, temperatures=temps, sweeps=sweeps)
    ours = 2 * temps.size * sweeps / (time.perf_counter() - t0)
    try:
        from dwave.samplers import SimulatedAnnealingSampler
    except ImportError:
        print("dwave-samplers not installed (pip install '.[bench]'): peer comparison skipped")
        return ours, float("nan")
    import sys
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from mc_throughput import dwave_bqm
    bqm = dwave_bqm(m)                                          # built outside the timing
    sampler = SimulatedAnnealingSampler()
    sampler.sample(bqm, num_reads=1, num_sweeps=10, seed=0)     # warm-up
    reads = 2 * temps.size
    t0 = time.perf_counter()
    sampler.sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=1)
    return ours, reads * sweeps / (time.perf_counter() - t0)


def equilibration(m, temps, reference, trips, seed):
    """Rows (S, wall time, test passed, min round trips, E and q² agree) and the first S of
    each criterion and of all three (None: not within the runs)."""
    ref = mc.thermal(m, seed=seed, temperatures=temps, sweeps=reference)
    rows = []
    S = 128
    while S < reference:
        t0 = time.perf_counter()
        r = mc.thermal(m, seed=seed + S, temperatures=temps, sweeps=S)
        wall = time.perf_counter() - t0
        zE = abs(r.energy[0] - ref.energy[0]) / np.hypot(r.energy_err[0], ref.energy_err[0])
        zq = abs(r.q2[0] - ref.q2[0]) / np.hypot(r.q2_err[0], ref.q2_err[0])
        window = bool(r.equilibration_z <= equilibration_threshold(temps.size))     # the window test alone
        rows.append((S, wall, window, int(r.round_trips.min()), bool(max(zE, zq) <= 3.0)))
        S *= 2
    first = {}
    for name, ok in (("test", lambda r: r[2]), ("trips", lambda r: r[3] >= trips),
                     ("agree", lambda r: r[4]), ("all", lambda r: r[2] and r[3] >= trips and r[4])):
        first[name] = next((r for r in rows if ok(r)), None)
    return ref, rows, first


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--N", type=int, default=512)
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--R", type=int, default=20, help="temperatures of the ladder 0.8 T_c .. 2.4 T_c")
    ap.add_argument("--reference", type=int, default=16384, help="sweeps of the reference run")
    ap.add_argument("--trips", type=int, default=10, help="round trips per chain asked for")
    ap.add_argument("--sweeps", type=int, default=1024, help="sweeps of the throughput runs")
    a = ap.parse_args()
    temps = geometric_ladder(0.8 * T_C, 2.4 * T_C, a.R)
    m = instance(a.N, 5)
    ours, peer = throughput(m, temps, a.sweeps)
    print(f"N = {a.N}, R = {a.R} temperatures x 2 chains, {a.sweeps} sweeps: simglass thermal "
          f"{ours:,.0f} replica-temperature sweeps/s; dwave-samplers SimulatedAnnealingSampler "
          f"{peer:,.0f} sweeps/s; ratio simglass/dwave = {ours / peer:.2f}", flush=True)
    for k in range(a.instances):
        ref, rows, first = equilibration(instance(a.N, 100 + k), temps, a.reference, a.trips, 1000 * k)
        print(f"instance {k} (seed {100 + k}): reference {a.reference} sweeps: E(0.8 T_c)/N = "
              f"{ref.energy[0] / a.N:.5f} ± {ref.energy_err[0] / a.N:.5f}, q² = {ref.q2[0]:.4f} ± "
              f"{ref.q2_err[0]:.4f}, round trips {ref.round_trips.tolist()}", flush=True)
        for S, wall, test, tr, agree in rows:
            print(f"  S = {S:6d}: {wall:7.2f} s, test {'passed' if test else 'failed'}, round trips "
                  f">= {tr}, E and q² {'agree' if agree else 'differ'}", flush=True)
        say = {n: (f"{r[0]} sweeps ({r[1]:.1f} s)" if r else "not within the runs") for n, r in first.items()}
        print(f"  equilibrated at 0.8 T_c: {say['all']} (test alone: {say['test']}; round trips: "
              f"{say['trips']}; agreement: {say['agree']})", flush=True)


if __name__ == "__main__":
    main()
