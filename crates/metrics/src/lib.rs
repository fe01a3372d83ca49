//! Metric definitions as sufficient statistics weighted by example multiplicities.
//!
//! A bootstrap resample is a vector of counts over examples; every metric here is computed
//! from per-example statistics and those counts, never from a copied array. No candle.
