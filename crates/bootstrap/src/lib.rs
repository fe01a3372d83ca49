//! The Multi-Bootstrap (Sellam et al. 2022, §3): confidence intervals and p-values for a
//! training procedure, resampling pre-training seeds and test examples jointly.
