#!/bin/bash
# Slurm template: sbatch jobs/slurm.sh JOB.toml
# One rank more than worker cores: rank 0 only distributes tasks and writes the file.
#SBATCH --job-name=simglass
#SBATCH --ntasks=33
#SBATCH --cpus-per-task=1
#SBATCH --time=24:00:00
#SBATCH --output=simglass-%j.log
set -euo pipefail
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1
# the cluster's MPI (mpi4py built against it) or the MPICH wheel installed with simglass
srun simglass run "$1"
