//! Unpadding: which positions of a padded `[B, T]` batch run through the encoder's token-wise
//! ops, and the differentiable moves between the packed `[N, H]` layout those ops use and the
//! padded per-head `[B, heads, T, d]` layout attention uses.
//!
//! With [`TokenIndex::all`] every position is kept and the moves are the usual head split and
//! merge. With [`TokenIndex::real_tokens`] only positions whose attention mask is 1 are kept,
//! so embeddings, projections, the feed-forward block and the LayerNorms do no work for
//! padding; positions that are not kept read as zeros in the padded layouts.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::kernels::contiguous_f32;

/// The kept positions of a `[B, T]` batch, in row-major order.
#[derive(Debug, Clone)]
pub struct TokenIndex {
    batch: usize,
    seq: usize,
    /// Flat positions `b · T + t` of the kept tokens, increasing.
    rows: Arc<Vec<u32>>,
    /// For every flat position, its row in the packed layout (`u32::MAX` when not kept).
    slots: Arc<Vec<u32>>,
}

impl TokenIndex {
    /// Every position of a `[batch, seq]` batch (the packed layout is the padded one).
    pub fn all(batch: usize, seq: usize) -> Self {
        let n = batch * seq;
        let rows: Vec<u32> = (0..n as u32).collect();
        Self {
            batch,
            seq,
            slots: Arc::new(rows.clone()),
            rows: Arc::new(rows),
        }
    }

    /// The positions whose `attention_mask` (`[B, T]`, 1 = real token) is non-zero.
    pub fn real_tokens(attention_mask: &Tensor) -> Result<Self> {
        let (batch, seq) = attention_mask.dims2()?;
        let mask = attention_mask
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let mut rows = Vec::with_capacity(mask.len());
        let mut slots = vec![u32::MAX; mask.len()];
        for (i, &m) in mask.iter().enumerate() {
            if m != 0.0 {
                slots[i] = rows.len() as u32;
                rows.push(i as u32);
            }
        }
        Ok(Self {
            batch,
            seq,
            rows: Arc::new(rows),
            slots: Arc::new(slots),
        })
    }

    /// The number of kept positions, N.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no position is kept.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether every position is kept (the packed layout is the padded one).
    pub fn is_all(&self) -> bool {
        self.rows.len() == self.batch * self.seq
    }

    /// Rows of `width` values for the kept positions (`packed`, `[N · width]`) spread over the
    /// padded layout (`[B · T · width]`), with `fill` in the rows of positions not kept.
    pub fn spread_rows<T: Copy>(&self, packed: &[T], width: usize, fill: T) -> Vec<T> {
        let mut out = vec![fill; self.batch * self.seq * width];
        for (k, &r) in self.rows.iter().enumerate() {
            let r = r as usize;
            out[r * width..(r + 1) * width].copy_from_slice(&packed[k * width..(k + 1) * width]);
        }
        out
    }

    /// The kept flat positions `b · T + t` as a u32 tensor `[N]`.
    pub fn rows_tensor(&self, device: &candle_core::Device) -> Result<Tensor> {
        Tensor::from_slice(self.rows.as_slice(), self.rows.len(), device)
    }

    /// The kept positions' `t` (their position ids) as a u32 tensor `[N]`.
    pub fn positions_tensor(&self, device: &candle_core::Device) -> Result<Tensor> {
        let t = self.seq as u32;
        let pos: Vec<u32> = self.rows.iter().map(|&r| r % t).collect();
        Tensor::from_vec(pos, self.rows.len(), device)
    }

    /// Packed `[N, heads · d]` → padded `[B, heads, T, d]`, zeros where not kept.
    pub fn to_heads(&self, x: &Tensor, heads: usize) -> Result<Tensor> {
        let (n, hd) = x.dims2()?;
        if n != self.len() || hd % heads != 0 {
            candle_core::bail!(
                "to_heads: [{n}, {hd}] for {} kept tokens and {heads} heads",
                self.len()
            );
        }
        let d = hd / heads;
        if crate::kernels::cpu_kernel(x) {
            x.contiguous()?.apply_op1(ToHeads {
                index: self.clone(),
                heads,
            })
        } else {
            self.unpack_composite(x)?
                .reshape((self.batch, self.seq, heads, d))?
                .transpose(1, 2)?
                .contiguous()
        }
    }

    /// Padded `[B, heads, T, d]` → packed `[N, heads · d]` (the kept positions only).
    pub fn from_heads(&self, x: &Tensor) -> Result<Tensor> {
        let (b, heads, t, d) = x.dims4()?;
        if b != self.batch || t != self.seq {
            candle_core::bail!(
                "from_heads: [{b}, _, {t}, _] for a [{}, {}] batch",
                self.batch,
                self.seq
            );
        }
        if crate::kernels::cpu_kernel(x) {
            x.contiguous()?.apply_op1(FromHeads {
                index: self.clone(),
                heads,
            })
        } else {
            let merged = x
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * t, heads * d))?;
            if self.is_all() {
                Ok(merged)
            } else {
                merged.index_select(&self.rows_tensor(x.device())?, 0)
            }
        }
    }

    /// Packed `[N, H]` → padded `[B, T, H]`, zeros where not kept (free when every position is
    /// kept).
    pub fn unpack(&self, x: &Tensor) -> Result<Tensor> {
        let (_, h) = x.dims2()?;
        if self.is_all() {
            return x.reshape((self.batch, self.seq, h));
        }
        self.to_heads(x, 1)?.reshape((self.batch, self.seq, h))
    }

    fn unpack_composite(&self, x: &Tensor) -> Result<Tensor> {
        if self.is_all() {
            return Ok(x.clone());
        }
        let h = x.dim(1)?;
        Tensor::zeros((self.batch * self.seq, h), x.dtype(), x.device())?.index_add(
            &self.rows_tensor(x.device())?,
            x,
            0,
        )
    }
}

/// Packed → padded per-head layout; its backward is [`FromHeads`].
struct ToHeads {
    index: TokenIndex,
    heads: usize,
}

/// Padded per-head → packed layout; its backward is [`ToHeads`].
struct FromHeads {
    index: TokenIndex,
    heads: usize,
}

impl CustomOp1 for ToHeads {
    fn name(&self) -> &'static str {
        "multiberts-to-heads"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let (b, t, nh) = (self.index.batch, self.index.seq, self.heads);
        let hd = l.shape().dims()[1];
        let d = hd / nh;
        let slots = &self.index.slots;
        let mut out = vec![0f32; b * nh * t * d];
        // One task per (b, head) block of T × d.
        out.par_chunks_mut(t * d).enumerate().for_each(|(bh, blk)| {
            let (bi, hi) = (bh / nh, bh % nh);
            for (ti, dst) in blk.chunks_mut(d).enumerate() {
                let slot = slots[bi * t + ti];
                if slot != u32::MAX {
                    let src = slot as usize * hd + hi * d;
                    dst.copy_from_slice(&x[src..src + d]);
                }
            }
        });
        Ok((CpuStorage::F32(out), Shape::from((b, nh, t, d))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let op = FromHeads {
            index: self.index.clone(),
            heads: self.heads,
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&op)?))
    }
}

impl CustomOp1 for FromHeads {
    fn name(&self) -> &'static str {
        "multiberts-from-heads"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(s, l, self.name())?;
        let (t, nh) = (self.index.seq, self.heads);
        let d = l.shape().dims()[3];
        let hd = nh * d;
        let rows = &self.index.rows;
        let mut out = vec![0f32; rows.len() * hd];
        out.par_chunks_mut(hd)
            .zip(rows.par_iter())
            .with_min_len(crate::kernels::min_rows(hd))
            .for_each(|(dst, &r)| {
                let (bi, ti) = (r as usize / t, r as usize % t);
                for (hi, dh) in dst.chunks_mut(d).enumerate() {
                    let src = ((bi * nh + hi) * t + ti) * d;
                    dh.copy_from_slice(&x[src..src + d]);
                }
            });
        Ok((CpuStorage::F32(out), Shape::from((rows.len(), hd))))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let op = ToHeads {
            index: self.index.clone(),
            heads: self.heads,
        };
        Ok(Some(grad.contiguous()?.apply_op1_no_bwd(&op)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn seq(n: usize) -> Tensor {
        Tensor::arange(0f32, n as f32, &Device::Cpu).unwrap()
    }

    #[test]
    fn heads_round_trip_and_match_the_composite_split() {
        let mask = Tensor::new(&[[1f32, 1., 0.], [1., 0., 1.]], &Device::Cpu).unwrap();
        let idx = TokenIndex::real_tokens(&mask).unwrap();
        assert_eq!(idx.len(), 4);
        let x = seq(4 * 6).reshape((4, 6)).unwrap();
        let heads = idx.to_heads(&x, 2).unwrap();
        assert_eq!(heads.dims(), [2, 2, 3, 3]);
        // The composite path (f64) gives the same layout.
        let x64 = x.to_dtype(DType::F64).unwrap();
        let comp = idx.to_heads(&x64, 2).unwrap().to_dtype(DType::F32).unwrap();
        let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(flat(&heads), flat(&comp));
        // Batch 0, head 1, position 2 is padding: zeros. Batch 1, head 0, position 2 is packed
        // row 3, columns 0..3.
        let at = |b, h, t| flat(&heads.get(b).unwrap().get(h).unwrap().get(t).unwrap());
        assert_eq!(at(0, 1, 2), vec![0.0; 3]);
        assert_eq!(at(1, 0, 2), vec![18.0, 19.0, 20.0]);
        assert_eq!(flat(&idx.from_heads(&heads).unwrap()), flat(&x));
        let unpacked = idx.unpack(&x).unwrap();
        assert_eq!(unpacked.dims(), [2, 3, 6]);
        assert_eq!(
            flat(&unpacked.get(1).unwrap().get(1).unwrap()),
            vec![0.0; 6]
        );
    }

    #[test]
    fn moves_are_differentiable_both_ways() {
        let mask = Tensor::new(&[[1f32, 0., 1., 1.]], &Device::Cpu).unwrap();
        let idx = TokenIndex::real_tokens(&mask).unwrap();
        let x = Var::from_tensor(&seq(3 * 4).reshape((3, 4)).unwrap()).unwrap();
        let w = seq(16).reshape((1, 2, 4, 2)).unwrap();
        let y = idx.to_heads(x.as_tensor(), 2).unwrap();
        let grads = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
        // d/dx of Σ y·w is w gathered back to the packed layout.
        let g = grads.get(x.as_tensor()).unwrap();
        let want = idx.from_heads(&w).unwrap();
        assert_eq!(
            g.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            want.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        let all = TokenIndex::all(2, 3);
        assert!(all.is_all());
        let z = seq(12).reshape((6, 2)).unwrap();
        assert_eq!(all.unpack(&z).unwrap().dims(), [2, 3, 2]);
    }
}
