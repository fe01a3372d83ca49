//! Optimisation: AdamW with `torch.optim.AdamW` semantics and resumable state, a linear
//! warm-up/decay schedule and global-norm gradient clipping, as Hugging Face's Trainer uses
//! them.
//!
//! * [`adamw`]: the optimizer and its resumable state.
//! * [`clip`]: global-norm gradient clipping.
//! * [`schedule`]: the linear warm-up/decay learning-rate schedule.

pub mod adamw;
pub mod clip;
pub mod schedule;

pub use adamw::{AdamW, AdamWConfig, decays};
pub use clip::clip_grad_norm;
pub use schedule::LinearSchedule;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use candle_core::backprop::GradStore;
    use candle_core::{Device, Tensor, Var};

    fn one_param(values: &[f32], name: &str) -> Params {
        let mut p = Params::default();
        let t = Tensor::new(values, &Device::Cpu).unwrap();
        p.push(name.to_owned(), Var::from_tensor(&t).unwrap())
            .unwrap();
        p
    }

    /// A scalar f64 re-implementation of torch's AdamW, step by step.
    fn reference(p0: f64, grads: &[f64], lr: f64, c: AdamWConfig, decay: bool) -> f64 {
        let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
        for (i, &g) in grads.iter().enumerate() {
            let t = (i + 1) as i32;
            if decay {
                p *= 1.0 - lr * c.weight_decay;
            }
            m = c.beta1 * m + (1.0 - c.beta1) * g;
            v = c.beta2 * v + (1.0 - c.beta2) * g * g;
            let mhat = m / (1.0 - c.beta1.powi(t));
            let denom = v.sqrt() / (1.0 - c.beta2.powi(t)).sqrt() + c.eps;
            p -= lr * mhat / denom;
        }
        p
    }

    fn grads_for(params: &Params, g: &[f32]) -> GradStore {
        let var = params.iter().next().unwrap().1.clone();
        // A loss whose gradient is exactly g: sum(p * g).
        let gt = Tensor::new(g, &Device::Cpu).unwrap();
        (var.as_tensor() * gt)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap()
    }

    #[test]
    fn matches_closed_form_over_several_steps() {
        let c = AdamWConfig {
            eps: 1e-6,
            ..AdamWConfig::default()
        };
        for (name, decay) in [("w.weight", true), ("w.bias", false)] {
            let params = one_param(&[0.5, -0.25, 1.0], name);
            let mut opt = AdamW::new(&params, c).unwrap();
            let gs = [[0.1f32, -0.2, 0.0], [0.3, 0.05, 1e-7], [-0.2, 0.1, 0.0]];
            for g in &gs {
                let grads = grads_for(&params, g);
                opt.step(&grads, 1e-2).unwrap();
            }
            let got = params
                .iter()
                .next()
                .unwrap()
                .1
                .as_tensor()
                .to_vec1::<f32>()
                .unwrap();
            for (j, p0) in [0.5f64, -0.25, 1.0].iter().enumerate() {
                let g: Vec<f64> = gs.iter().map(|r| f64::from(r[j])).collect();
                let want = reference(*p0, &g, 1e-2, c, decay);
                assert!(
                    (f64::from(got[j]) - want).abs() < 1e-6,
                    "{name}[{j}] {} {want}",
                    got[j]
                );
            }
        }
    }

    #[test]
    fn state_round_trip_resumes_identically() {
        let c = AdamWConfig::default();
        let params_a = one_param(&[0.5, -0.25, 1.0], "x.weight");
        let params_b = one_param(&[0.5, -0.25, 1.0], "x.weight");
        let mut a = AdamW::new(&params_a, c).unwrap();
        let mut b = AdamW::new(&params_b, c).unwrap();
        let g1 = [0.1f32, -0.2, 0.3];
        let g2 = [0.2f32, 0.1, -0.3];
        a.step(&grads_for(&params_a, &g1), 1e-3).unwrap();
        b.step(&grads_for(&params_b, &g1), 1e-3).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("opt.safetensors");
        b.save(&path).unwrap();
        let mut resumed = AdamW::new(&params_b, c).unwrap();
        resumed.load(&path).unwrap();
        assert_eq!(resumed.step_count(), 1);
        a.step(&grads_for(&params_a, &g2), 1e-3).unwrap();
        resumed.step(&grads_for(&params_b, &g2), 1e-3).unwrap();
        let pa = params_a
            .iter()
            .next()
            .unwrap()
            .1
            .as_tensor()
            .to_vec1::<f32>()
            .unwrap();
        let pb = params_b
            .iter()
            .next()
            .unwrap()
            .1
            .as_tensor()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(pa, pb);

        let other = one_param(&[1.0], "y.weight");
        let err = AdamW::new(&other, c)
            .unwrap()
            .load(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("m.y.weight") && err.contains("m.x.weight"),
            "{err}"
        );
        let mut diff_cfg = AdamW::new(&params_b, AdamWConfig { eps: 1e-6, ..c }).unwrap();
        assert!(
            diff_cfg
                .load(&path)
                .unwrap_err()
                .to_string()
                .contains("eps")
        );
    }

    #[test]
    fn clipping_scales_to_max_norm() {
        let params = one_param(&[0.0, 0.0], "w.weight");
        let mut grads = grads_for(&params, &[3.0, 4.0]);
        let norm = clip_grad_norm(&params, &mut grads, 1.0).unwrap();
        assert_eq!(norm, 5.0);
        let var = params.iter().next().unwrap().1.as_tensor().clone();
        let g = grads.get(&var).unwrap().to_vec1::<f32>().unwrap();
        let coef = 1.0 / (5.0 + 1e-6);
        assert!((g[0] - 3.0 * coef).abs() < 1e-6 && (g[1] - 4.0 * coef).abs() < 1e-6);
        // Below the threshold nothing changes.
        let mut grads = grads_for(&params, &[0.3, 0.4]);
        clip_grad_norm(&params, &mut grads, 1.0).unwrap();
        assert_eq!(
            grads.get(&var).unwrap().to_vec1::<f32>().unwrap(),
            vec![0.3, 0.4]
        );
    }

    #[test]
    fn no_decay_group_follows_hf_names() {
        assert!(decays("encoder.layer.0.attention.self.query.weight"));
        assert!(decays("embeddings.word_embeddings.weight"));
        assert!(!decays("encoder.layer.0.attention.output.LayerNorm.weight"));
        assert!(!decays("embeddings.LayerNorm.bias"));
        assert!(!decays("classifier.bias"));
    }

    #[test]
    fn schedule_closed_form() {
        let s = LinearSchedule {
            base_lr: 1.0,
            warmup_steps: 4,
            total_steps: 12,
        };
        let want = [0.0, 0.25, 0.5, 0.75, 1.0, 0.875, 0.75];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(s.lr(i as u64), *w);
        }
        assert_eq!(s.lr(12), 0.0);
        assert_eq!(s.lr(30), 0.0);
        assert_eq!(LinearSchedule::warmup_from_ratio(100, 0.06), 6);
    }
}
