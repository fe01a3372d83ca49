//! AdamW with `torch.optim.AdamW` semantics.
//!
//! On CPU the update runs in place over each parameter's storage in one fused pass (no
//! temporary tensors); the moments live in one flat buffer. On other devices (and on the
//! portable path) it runs as candle tensor ops with the same maths, once per decay group over
//! the group's parameters laid end to end, so a step costs a few dozen kernels plus a copy per
//! parameter instead of fifteen kernels per parameter. The state (moments and step count) saves to and loads
//! from safetensors, so a run can resume exactly.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, DType, Device, InplaceOp2, Layout, Tensor, Var};
use rayon::prelude::*;

use crate::error::{ModelError, Result};
use crate::params::Params;

/// AdamW hyper-parameters (torch defaults except eps, which HF Trainer sets per run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamWConfig {
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε, added after the square root of the bias-corrected second moment.
    pub eps: f64,
    /// Decoupled weight decay for the decay group.
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.01,
        }
    }
}

/// Whether a parameter is decayed: not biases and not LayerNorm weights (HF Trainer's
/// `get_decay_parameter_names` split; `LayerNorm.bias` is covered by "bias").
pub fn decays(name: &str) -> bool {
    !(name.contains("bias") || name.contains("LayerNorm.weight"))
}

#[derive(Debug)]
struct Slot {
    name: String,
    var: Var,
    decay: bool,
    offset: usize,
    len: usize,
    /// The slot's offset in its decay group's flat moments, when they live on a device (off
    /// the CPU kernels); `None` on the CPU, where they live in the flat host buffers.
    device: Option<usize>,
}

/// The moments of one decay group off the CPU kernels, flat: its slots' values end to end.
#[derive(Debug)]
struct DeviceGroup {
    /// Whether the group is decayed.
    decay: bool,
    /// Indices into `AdamW::slots`, in order.
    slots: Vec<usize>,
    m: Tensor,
    v: Tensor,
}

/// AdamW over a fixed set of named parameters.
#[derive(Debug)]
pub struct AdamW {
    config: AdamWConfig,
    slots: Vec<Slot>,
    groups: Vec<DeviceGroup>,
    m: Vec<f32>,
    v: Vec<f32>,
    step: u64,
}

impl AdamW {
    /// An optimizer for every parameter in `params`, with zero moments.
    pub fn new(params: &Params, config: AdamWConfig) -> Result<Self> {
        let mut slots = Vec::with_capacity(params.len());
        let mut offset = 0;
        // Elements of the decay (index 0) and no-decay (1) groups off the CPU kernels.
        let mut group_lens = [0usize; 2];
        let group_of = |decay: bool| usize::from(!decay);
        for (name, var) in params.iter() {
            if var.dtype() != DType::F32 {
                return Err(ModelError::Batch(format!(
                    "AdamW supports f32 parameters; {name} is {:?}",
                    var.dtype()
                )));
            }
            let len = var.elem_count();
            let decay = decays(name);
            // Host moments go with the CPU kernel; the portable path keeps them as tensors.
            let device = if crate::kernels::cpu_kernel(var.as_tensor()) {
                None
            } else {
                let group_len = &mut group_lens[group_of(decay)];
                *group_len += len;
                Some(*group_len - len)
            };
            slots.push(Slot {
                name: name.to_owned(),
                var: var.clone(),
                decay,
                offset,
                len,
                device,
            });
            offset += len;
        }
        let mut groups = Vec::new();
        for decay in [true, false] {
            let members: Vec<usize> = (0..slots.len())
                .filter(|&i| slots[i].decay == decay && slots[i].device.is_some())
                .collect();
            let Some(&first) = members.first() else {
                continue;
            };
            let len = group_lens[group_of(decay)];
            let zeros = Tensor::zeros(len, DType::F32, slots[first].var.device())?;
            groups.push(DeviceGroup {
                decay,
                slots: members,
                m: zeros.clone(),
                v: zeros,
            });
        }
        let host = slots
            .iter()
            .filter(|s| s.device.is_none())
            .map(|s| s.len)
            .sum::<usize>();
        let total = if host == 0 { 0 } else { offset };
        Ok(Self {
            config,
            slots,
            groups,
            m: vec![0.0; total],
            v: vec![0.0; total],
            step: 0,
        })
    }

    /// Number of optimizer steps taken so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// The hyper-parameters.
    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// One AdamW step at learning rate `lr`. Parameters without a gradient are skipped
    /// entirely (no decay either), as torch does for `grad is None`.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<()> {
        self.step += 1;
        let c = self.config;
        let t = self.step as i32;
        // Scalars exactly as torch forms them: Python floats (f64), cast to f32 by the kernels.
        let step_size = lr / (1.0 - c.beta1.powi(t));
        let bc2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
        let scalars = |decay: bool| {
            let wd = if decay { c.weight_decay } else { 0.0 };
            AdamScalars {
                decay: (1.0 - lr * wd) as f32,
                one_minus_beta1: (1.0 - c.beta1) as f32,
                beta2: c.beta2 as f32,
                one_minus_beta2: (1.0 - c.beta2) as f32,
                neg_step_size: (-step_size) as f32,
                bc2_sqrt: bc2_sqrt as f32,
                eps: c.eps as f32,
                apply_decay: wd != 0.0,
            }
        };
        for slot in &self.slots {
            if slot.device.is_some() {
                continue;
            }
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let grad = grad.contiguous()?;
            let range = slot.offset..slot.offset + slot.len;
            let kernel = AdamKernel {
                s: scalars(slot.decay),
                m: RefCell::new(&mut self.m[range.clone()]),
                v: RefCell::new(&mut self.v[range]),
            };
            slot.var.as_tensor().inplace_op2(&grad, &kernel)?;
        }
        for group in &mut self.groups {
            group.step(&self.slots, grads, scalars(group.decay))?;
        }
        Ok(())
    }

    /// Saves the moments and step count (atomically) to a safetensors file: `m.<name>`,
    /// `v.<name>`, and metadata `step`, `beta1`, `beta2`, `eps`, `weight_decay`.
    pub fn save(&self, path: &Path) -> Result<()> {
        // Each moment as little-endian bytes, copied once (a resume state of a 22M-parameter
        // model writes 180 MB of moments; every extra copy showed in a job's `state` time).
        let mut views: Vec<(String, Vec<u8>, Vec<usize>)> =
            Vec::with_capacity(2 * self.slots.len());
        for slot in &self.slots {
            let (m, v) = self.moment_bytes(slot)?;
            let dims = slot.var.dims().to_vec();
            views.push((format!("m.{}", slot.name), m, dims.clone()));
            views.push((format!("v.{}", slot.name), v, dims));
        }
        let c = self.config;
        let metadata: HashMap<String, String> = [
            ("step", self.step.to_string()),
            ("beta1", c.beta1.to_string()),
            ("beta2", c.beta2.to_string()),
            ("eps", c.eps.to_string()),
            ("weight_decay", c.weight_decay.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        crate::io::atomic_write(path, |tmp| {
            let views = views
                .iter()
                .map(|(n, b, s)| {
                    safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                        .map(|v| (n.clone(), v))
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            safetensors::serialize_to_file(views, Some(metadata), tmp).map_err(|e| e.to_string())
        })
    }

    /// A slot's two moments as little-endian f32 bytes: straight from the flat host buffers
    /// on the CPU, through the host off it.
    fn moment_bytes(&self, slot: &Slot) -> Result<(Vec<u8>, Vec<u8>)> {
        if slot.device.is_none() {
            let r = slot.offset..slot.offset + slot.len;
            return Ok((le_bytes(&self.m[r.clone()]), le_bytes(&self.v[r])));
        }
        let (m, v) = self.moments(slot)?;
        let host =
            |t: Tensor| -> Result<Vec<u8>> { Ok(le_bytes(&t.flatten_all()?.to_vec1::<f32>()?)) };
        Ok((host(m)?, host(v)?))
    }

    fn moments(&self, slot: &Slot) -> Result<(Tensor, Tensor)> {
        let shape = slot.var.dims();
        Ok(match slot.device {
            Some(at) => {
                let group = self
                    .groups
                    .iter()
                    .find(|g| g.decay == slot.decay)
                    .ok_or_else(|| ModelError::Batch(format!("no moments for {}", slot.name)))?;
                let part = |t: &Tensor| -> Result<Tensor> {
                    Ok(t.narrow(0, at, slot.len)?
                        .reshape(shape)?
                        .to_device(&Device::Cpu)?)
                };
                (part(&group.m)?, part(&group.v)?)
            }
            None => {
                let r = slot.offset..slot.offset + slot.len;
                (
                    Tensor::from_slice(&self.m[r.clone()], shape, &Device::Cpu)?,
                    Tensor::from_slice(&self.v[r], shape, &Device::Cpu)?,
                )
            }
        })
    }

    /// Restores moments and step count saved by [`AdamW::save`] for the same parameters.
    /// Every parameter must be present with the right shape, and the hyper-parameters must
    /// match; otherwise the error names what differs.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let bytes =
            std::fs::read(path).map_err(|e| ModelError::file(path, format!("cannot read: {e}")))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| ModelError::file(path, format!("not a safetensors file: {e}")))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let get = |k: &str| -> Result<&String> {
            meta.get(k).ok_or_else(|| {
                ModelError::file(path, format!("optimizer state lacks metadata `{k}`"))
            })
        };
        let step: u64 = get("step")?.parse().map_err(|e| {
            ModelError::file(path, format!("metadata `step` is not an integer: {e}"))
        })?;
        let c = self.config;
        for (k, want) in [
            ("beta1", c.beta1),
            ("beta2", c.beta2),
            ("eps", c.eps),
            ("weight_decay", c.weight_decay),
        ] {
            let got: f64 = get(k)?.parse().map_err(|e| {
                ModelError::file(path, format!("metadata `{k}` is not a number: {e}"))
            })?;
            if got != want {
                return Err(ModelError::file(
                    path,
                    format!("saved with {k} = {got}, but this optimizer has {want}"),
                ));
            }
        }
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu)?;
        let mut missing = Vec::new();
        let mut wrong_shape = Vec::new();
        for slot in &self.slots {
            for key in [format!("m.{}", slot.name), format!("v.{}", slot.name)] {
                match tensors.get(&key) {
                    None => missing.push(key),
                    Some(t) if t.dims() != slot.var.dims() => {
                        wrong_shape.push((key, slot.var.dims().to_vec(), t.dims().to_vec()))
                    }
                    Some(_) => {}
                }
            }
        }
        let known: std::collections::HashSet<String> = self
            .slots
            .iter()
            .flat_map(|s| [format!("m.{}", s.name), format!("v.{}", s.name)])
            .collect();
        let mut unexpected: Vec<String> = tensors
            .keys()
            .filter(|k| !known.contains(*k))
            .cloned()
            .collect();
        unexpected.sort();
        if !missing.is_empty() || !wrong_shape.is_empty() || !unexpected.is_empty() {
            return Err(ModelError::Mismatch {
                missing,
                unexpected,
                wrong_shape,
            });
        }
        for slot in &self.slots {
            if slot.device.is_some() {
                continue;
            }
            let m = tensors[&format!("m.{}", slot.name)].to_dtype(DType::F32)?;
            let v = tensors[&format!("v.{}", slot.name)].to_dtype(DType::F32)?;
            let r = slot.offset..slot.offset + slot.len;
            self.m[r.clone()].copy_from_slice(&m.flatten_all()?.to_vec1::<f32>()?);
            self.v[r].copy_from_slice(&v.flatten_all()?.to_vec1::<f32>()?);
        }
        for group in &mut self.groups {
            let flat = |prefix: &str| -> Result<Tensor> {
                let parts = group
                    .slots
                    .iter()
                    .map(|&i| {
                        let s = &self.slots[i];
                        Ok(tensors[&format!("{prefix}.{}", s.name)]
                            .to_dtype(DType::F32)?
                            .flatten_all()?)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let device = self.slots[group.slots[0]].var.device();
                Ok(Tensor::cat(&parts, 0)?.to_device(device)?)
            };
            group.m = flat("m")?;
            group.v = flat("v")?;
        }
        self.step = step;
        Ok(())
    }
}

impl DeviceGroup {
    /// One AdamW step over the group's parameters laid end to end: the element-wise maths of
    /// the CPU kernel as tensor ops on the whole group, then one copy back per parameter. A
    /// parameter without a gradient keeps its value and moments (its lane computes on zeros
    /// and is then discarded), as torch skips it.
    fn step(&mut self, slots: &[Slot], grads: &GradStore, s: AdamScalars) -> Result<()> {
        let members: Vec<&Slot> = self.slots.iter().map(|&i| &slots[i]).collect();
        let present: Vec<bool> = members
            .iter()
            .map(|m| grads.get(m.var.as_tensor()).is_some())
            .collect();
        if !present.contains(&true) {
            return Ok(());
        }
        let flat_grads = members
            .iter()
            .map(|m| match grads.get(m.var.as_tensor()) {
                Some(g) => g.flatten_all(),
                None => Tensor::zeros(m.len, DType::F32, m.var.device()),
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        let grad = Tensor::cat(&flat_grads, 0)?;
        let params = members
            .iter()
            .map(|m| m.var.as_tensor().flatten_all())
            .collect::<candle_core::Result<Vec<_>>>()?;
        let p = Tensor::cat(&params, 0)?;
        let p = if s.apply_decay {
            (p * f64::from(s.decay))?
        } else {
            p
        };
        let m = (&self.m + ((&grad - &self.m)? * f64::from(s.one_minus_beta1))?)?;
        let v =
            ((&self.v * f64::from(s.beta2))? + ((&grad * f64::from(s.one_minus_beta2))? * &grad)?)?;
        let denom = ((v.sqrt()? / f64::from(s.bc2_sqrt))? + f64::from(s.eps))?;
        let p = (p + ((&m / denom)? * f64::from(s.neg_step_size))?)?;
        for ((slot, &has_grad), at) in members.iter().zip(&present).zip(self.offsets(slots)) {
            if has_grad {
                slot.var
                    .set(&p.narrow(0, at, slot.len)?.reshape(slot.var.dims())?)?;
            } else {
                m.slice_set(&self.m.narrow(0, at, slot.len)?, 0, at)?;
                v.slice_set(&self.v.narrow(0, at, slot.len)?, 0, at)?;
            }
        }
        self.m = m;
        self.v = v;
        Ok(())
    }

    /// Each member's offset in the flat group.
    fn offsets<'a>(&'a self, slots: &'a [Slot]) -> impl Iterator<Item = usize> + 'a {
        self.slots
            .iter()
            .map(move |&i| slots[i].device.unwrap_or(0))
    }
}

#[derive(Debug, Clone, Copy)]
struct AdamScalars {
    decay: f32,
    one_minus_beta1: f32,
    beta2: f32,
    one_minus_beta2: f32,
    neg_step_size: f32,
    bc2_sqrt: f32,
    eps: f32,
    apply_decay: bool,
}

/// The fused in-place update of one parameter (dst) from its gradient (src).
struct AdamKernel<'a> {
    s: AdamScalars,
    m: RefCell<&'a mut [f32]>,
    v: RefCell<&'a mut [f32]>,
}

const CHUNK: usize = 1 << 14;

impl InplaceOp2 for AdamKernel<'_> {
    fn name(&self) -> &'static str {
        "multiberts-adamw"
    }

    fn cpu_fwd(
        &self,
        dst: &mut CpuStorage,
        dst_l: &Layout,
        src: &CpuStorage,
        src_l: &Layout,
    ) -> candle_core::Result<()> {
        let Some((ps, pe)) = dst_l.contiguous_offsets() else {
            candle_core::bail!("AdamW: parameter storage is not contiguous");
        };
        let Some((gs, ge)) = src_l.contiguous_offsets() else {
            candle_core::bail!("AdamW: gradient is not contiguous");
        };
        let CpuStorage::F32(p) = dst else {
            candle_core::bail!("AdamW: parameter is not f32");
        };
        let g = &src.as_slice::<f32>()?[gs..ge];
        let p = &mut p[ps..pe];
        let mut m = self.m.borrow_mut();
        let mut v = self.v.borrow_mut();
        if p.len() != g.len() || p.len() != m.len() {
            candle_core::bail!("AdamW: parameter, gradient and state sizes differ");
        }
        let s = self.s;
        p.par_chunks_mut(CHUNK)
            .zip(g.par_chunks(CHUNK))
            .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
            .for_each(|((p, g), (m, v))| {
                for i in 0..p.len() {
                    let gi = g[i];
                    let mut pi = p[i];
                    if s.apply_decay {
                        pi *= s.decay;
                    }
                    // torch: exp_avg.lerp_(grad, 1-β₁) (weight < 0.5 branch), then
                    // exp_avg_sq.mul_(β₂).addcmul_(grad, grad, 1-β₂).
                    let mi = m[i] + s.one_minus_beta1 * (gi - m[i]);
                    let vi = v[i] * s.beta2 + s.one_minus_beta2 * gi * gi;
                    let denom = vi.sqrt() / s.bc2_sqrt + s.eps;
                    p[i] = pi + s.neg_step_size * (mi / denom);
                    m[i] = mi;
                    v[i] = vi;
                }
            });
        Ok(())
    }
}

/// `values` as little-endian bytes, as safetensors stores f32.
fn le_bytes(values: &[f32]) -> Vec<u8> {
    let mut out = vec![0u8; values.len() * 4];
    for (bytes, x) in out.chunks_exact_mut(4).zip(values) {
        bytes.copy_from_slice(&x.to_le_bytes());
    }
    out
}
