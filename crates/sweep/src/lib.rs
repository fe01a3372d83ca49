//! Runs many jobs: a local supervisor of `multiberts run-job` child processes, and Slurm.
