//! Same inputs and seeds give bit-identical results whatever the thread count: a training step
//! with dropout (forward, backward, clipping, AdamW) from a seeded random init, run in rayon
//! pools of 1 and 2 threads (our kernels and candle's matmul both use the current pool).

use candle_core::{Device, Tensor};
use multiberts_model::batch::Batch;
use multiberts_model::bert::Bert;
use multiberts_model::config::BertConfig;
use multiberts_model::dropout::Mode;
use multiberts_model::heads::{ClassificationHead, cross_entropy, labels_tensor};
use multiberts_model::optim::{AdamW, AdamWConfig, clip_grad_norm};
use multiberts_model::params::ParamBuilder;
use multiberts_model::rng::SeededRng;

/// Two training steps; returns every parameter's bits afterwards.
fn train_two_steps() -> Vec<Vec<u32>> {
    let config = BertConfig::with_shape(2, 64, 4, 128, 64);
    let mut b = ParamBuilder::fresh(&Device::Cpu, 42);
    let bert = Bert::build(&config, &mut b).unwrap();
    let head = ClassificationHead::build(&config, 3, &mut b).unwrap();
    let (params, _) = b.finish(&[]).unwrap();
    let mut rng = SeededRng::new(7, 0);
    let (rows, len) = (6, 40);
    let mut ids = vec![vec![0i64; len]; rows];
    let mut mask = vec![vec![0i64; len]; rows];
    for (i, (r, m)) in ids.iter_mut().zip(mask.iter_mut()).enumerate() {
        for j in 0..len - i * 3 {
            r[j] = 1000 + i64::from(rng.next_u32() % 20000);
            m[j] = 1;
        }
    }
    let types = vec![vec![0i64; len]; rows];
    let batch = Batch::from_rows(&ids, &types, &mask, &config, &Device::Cpu).unwrap();
    let labels = labels_tensor(&[0, 1, 2, 0, 1, 2], &Device::Cpu).unwrap();
    let mut opt = AdamW::new(&params, AdamWConfig::default()).unwrap();
    let mut dropout = SeededRng::named(3, "dropout");
    for _ in 0..2 {
        let mut mode = Mode::Train(&mut dropout);
        let out = bert.forward(&batch, &mut mode).unwrap();
        let logits = head.forward(&out.pooler_output, &mut mode).unwrap();
        let mut grads = cross_entropy(&logits, &labels).unwrap().backward().unwrap();
        bert.zero_pad_gradient(&mut grads).unwrap();
        clip_grad_norm(&params, &mut grads, 1.0).unwrap();
        opt.step(&grads, 1e-3).unwrap();
    }
    let bits = |t: &Tensor| {
        t.flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|x| x.to_bits())
            .collect()
    };
    params.iter().map(|(_, v)| bits(v.as_tensor())).collect()
}

#[test]
fn training_is_bit_identical_across_thread_counts() {
    let run = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(train_two_steps)
    };
    let one = run(1);
    let two = run(2);
    assert_eq!(one.len(), 41);
    assert!(one == two, "parameters differ between 1 and 2 threads");
    assert!(one == run(2), "parameters differ between two runs");
}
