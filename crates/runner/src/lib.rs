//! Fine-tunes and evaluates one job, handing per-example predictions to the collector.
