//! The rounding of PyTorch's float32 CPU kernels, reproduced step by step.
//!
//! Gradients of a freshly initialised BERT come out of sums with heavy cancellation (every
//! sequence looks alike, so the per-row terms nearly cancel), and a one-ulp difference in an
//! activation can move a gradient by 1e-5 of its size. Matching torch to that level therefore
//! needs the same rounding steps, not just the same maths. Each function below names the torch
//! routine it follows; the order of every sum and which products are fused (torch's build lets
//! the compiler contract `a * b + c` into one fused multiply-add in some kernels and not in
//! others) were checked op by op against torch 2.15.0 (1 thread, AVX-512 build of its kernels)
//! on the inputs of the bert-tiny fixture, which that torch reproduces bit for bit. Vector
//! widths are part of the order: the LayerNorm kernels reduce over 8 lanes, softmax over 16.
//!
//! Everything here works on one row at a time with a fixed order, so results do not depend on
//! the thread count.

/// Lanes of the LayerNorm reductions.
const LANES: usize = 8;
/// Vectors per Welford chunk (`kChunkSize` in ATen's `moments_utils.h`).
const CHUNK: usize = 16;

/// `a · b + c` with one rounding, as GCC's contraction emits it.
#[inline(always)]
fn fma(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}

/// Defines `$name` as `$imp` compiled with hardware fused multiply-adds where the CPU has them
/// (otherwise `mul_add` is a library call, several times slower); the results are the same
/// either way, since a fused multiply-add rounds once however it is computed.
macro_rules! with_fma {
    ($(#[$m:meta])* fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $imp:ident) => {
        $(#[$m])*
        pub(crate) fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("fma") {
                    #[target_feature(enable = "fma")]
                    unsafe fn fast($($arg: $ty),*) $(-> $ret)? {
                        $imp($($arg),*)
                    }
                    // SAFETY: the CPU supports FMA, checked just above.
                    return unsafe { fast($($arg),*) };
                }
            }
            $imp($($arg),*)
        }
    };
}

with_fma!(
    /// Mean and `1 / sqrt(var + eps)` of a row, as torch's LayerNorm forward computes them.
    fn layer_norm_stats(x: &[f32], eps: f64) -> (f32, f32) = layer_norm_stats_impl
);
with_fma!(
    /// One LayerNorm output row (see `layer_norm_row_impl`).
    fn layer_norm_row(y: &mut [f32], x: &[f32], w: &[f32], b: &[f32], eps: f64) = layer_norm_row_impl
);
with_fma!(
    /// One row of the LayerNorm input gradient (see `layer_norm_input_grad_row_impl`).
    fn layer_norm_input_grad_row(dx: &mut [f32], x: &[f32], dy: &[f32], w: &[f32], eps: f64) = layer_norm_input_grad_row_impl
);
with_fma!(
    /// One row's contribution to the LayerNorm affine gradients (see
    /// `layer_norm_affine_grad_accumulate_impl`).
    fn layer_norm_affine_grad_accumulate(dw: &mut [f32], db: &mut [f32], x: &[f32], dy: &[f32], mean: f32, rstd: f32) = layer_norm_affine_grad_accumulate_impl
);
with_fma!(
    /// One softmax row in place (see `softmax_row_impl`).
    fn softmax_row(y: &mut [f32]) = softmax_row_impl
);
with_fma!(
    /// GELU of every element of `x` into `y` (see `gelu`).
    fn gelu_slice(y: &mut [f32], x: &[f32]) = gelu_slice_impl
);
with_fma!(
    /// GELU gradient `dx` for inputs `x` and output gradients `g` (see `gelu_grad`).
    fn gelu_grad_slice(dx: &mut [f32], x: &[f32], g: &[f32]) = gelu_grad_slice_impl
);

#[inline(always)]
fn gelu_slice_impl(y: &mut [f32], x: &[f32]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = gelu(xi);
    }
}

#[inline(always)]
fn gelu_grad_slice_impl(dx: &mut [f32], x: &[f32], g: &[f32]) {
    for ((d, &xi), &gi) in dx.iter_mut().zip(x).zip(g) {
        *d = gelu_grad(xi, gi);
    }
}

/// ATen `utils::CeilLog2`: 1 for x ≤ 2, else ⌈log2 x⌉.
#[inline(always)]
fn ceil_log2(x: usize) -> usize {
    if x <= 2 {
        1
    } else {
        (usize::BITS - (x - 1).leading_zeros()) as usize
    }
}

/// Welford moments of one vector lane set (`AddMomentsVec` / `AddMoments`).
#[derive(Clone, Copy)]
struct Moments {
    count: i64,
    m1: [f32; LANES],
    m2: [f32; LANES],
}

impl Moments {
    const ZERO: Self = Self {
        count: 0,
        m1: [0.0; LANES],
        m2: [0.0; LANES],
    };

    /// `AddMomentsVec(add.count, add.m1, add.m2, self…)`.
    fn absorb(&mut self, add: &Self) {
        let n = self.count + add.count;
        let c = if n == 0 {
            0.0
        } else {
            add.count as f32 / n as f32
        };
        let m0 = self.count as f32;
        for l in 0..LANES {
            let delta = add.m1[l] - self.m1[l];
            self.m1[l] = fma(c, delta, self.m1[l]);
            self.m2[l] += fma(delta * delta * c, m0, add.m2[l]);
        }
        self.count = n;
    }
}

/// Mean and biased variance of a row: ATen's `RowwiseMoments` (Welford over 8 lanes in
/// chunks of 16 vectors, cascaded, then the lanes and the scalar tail combined).
#[inline(always)]
fn row_moments(x: &[f32]) -> (f32, f32) {
    let len = x.len();
    let n = len / LANES;
    let m = n.div_ceil(CHUNK);
    let depth = ceil_log2(m);
    let mut stack = vec![Moments::ZERO; depth];
    for i in 0..m {
        let base = i * CHUNK * LANES;
        let m0 = CHUNK.min(n - i * CHUNK);
        let mut chunk = Moments {
            count: m0 as i64,
            ..Moments::ZERO
        };
        for j in 0..m0 {
            let c = 1.0f32 / (j + 1) as f32;
            let xs = &x[base + j * LANES..][..LANES];
            for ((&v, m1), m2) in xs.iter().zip(&mut chunk.m1).zip(&mut chunk.m2) {
                let delta = v - *m1;
                *m1 = fma(delta, c, *m1);
                *m2 = fma(delta, v - *m1, *m2);
            }
        }
        stack[0].absorb(&chunk);
        let mut mask = i + 1;
        let mut j = 1;
        while j < depth && mask & 1 == 0 {
            let lower = stack[j - 1];
            stack[j].absorb(&lower);
            stack[j - 1] = Moments::ZERO;
            mask >>= 1;
            j += 1;
        }
    }
    for i in 1..depth {
        let upper = stack[i];
        stack[0].absorb(&upper);
    }
    let (mut m0, mut m1, mut m2) = (0i64, 0f32, 0f32);
    for &v in &x[n * LANES..] {
        let delta = v - m1;
        m0 += 1;
        m1 += delta / m0 as f32;
        m2 = fma(delta, v - m1, m2);
    }
    let lanes = &stack[0];
    for l in 0..LANES {
        let total = m0 + n as i64;
        let c = n as f32 / total as f32;
        let delta = lanes.m1[l] - m1;
        m1 = fma(c, delta, m1);
        m2 += fma(delta * delta * c, m0 as f32, lanes.m2[l]);
        m0 = total;
    }
    (m1, m2 / len as f32)
}

/// Mean and `1 / sqrt(var + eps)` of a row, as torch's LayerNorm forward computes them.
#[inline(always)]
fn layer_norm_stats_impl(x: &[f32], eps: f64) -> (f32, f32) {
    let (mean, var) = row_moments(x);
    (mean, 1.0 / (var + eps as f32).sqrt())
}

/// One LayerNorm output row: `((x − mean) · rstd) · w + b` with the last step fused
/// (`LayerNormKernelImplInternal`).
#[inline(always)]
fn layer_norm_row_impl(y: &mut [f32], x: &[f32], w: &[f32], b: &[f32], eps: f64) {
    let (mean, rstd) = layer_norm_stats_impl(x, eps);
    for (((yi, &xi), &wi), &bi) in y.iter_mut().zip(x).zip(w).zip(b) {
        *yi = fma((xi + -mean) * rstd, wi, bi);
    }
}

/// `vec_reduce_all` with `+` on one register of `W` lanes: halves, then quarters, down to one
/// lane (the shuffle tree of ATen's `VecReduceAllSIMD`).
#[inline(always)]
fn reduce_lanes<const W: usize>(mut v: [f32; W]) -> f32 {
    let mut width = W;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            v[i] += v[i + width];
        }
    }
    v[0]
}

/// `map3_reduce_all(x·y·z, +)` (or `map2_reduce_all(x·y, +)` with `z` = None) on `W`-lane
/// vectors: lane-wise accumulation over whole vectors (products rounded, then added: this one
/// is not contracted), then the tail folded into the first lanes, then [`reduce_lanes`].
#[inline(always)]
fn dot_reduce<const W: usize>(x: &[f32], y: &[f32], z: Option<&[f32]>) -> f32 {
    let term_mul = |i: usize| match z {
        Some(z) => (x[i] * y[i], z[i]),
        None => (x[i], y[i]),
    };
    let len = x.len();
    if len < W {
        // Partial load: only `len` lanes hold data, and only they are reduced, in order.
        let mut r = 0f32;
        for i in 0..len {
            let (p, q) = term_mul(i);
            r = if i == 0 { p * q } else { r + p * q };
        }
        return r;
    }
    let mut acc: [f32; W] = std::array::from_fn(|l| {
        let (p, q) = term_mul(l);
        p * q
    });
    let whole = len - len % W;
    for base in (W..whole).step_by(W) {
        for (l, a) in acc.iter_mut().enumerate() {
            let (p, q) = term_mul(base + l);
            *a += p * q;
        }
    }
    for (l, a) in acc.iter_mut().enumerate().take(len - whole) {
        let (p, q) = term_mul(whole + l);
        *a += p * q;
    }
    reduce_lanes(acc)
}

/// One row of the LayerNorm input gradient, torch's way (`layer_norm_backward_frame`):
/// `dx = b · x + rstd · dy · w + c` (the first product fused) with `b = (Σ dy·w · mean − Σ dy·x·w) · rstd³ / N` and
/// `c = −b · mean − Σ dy·w · rstd / N`.
#[inline(always)]
fn layer_norm_input_grad_row_impl(dx: &mut [f32], x: &[f32], dy: &[f32], w: &[f32], eps: f64) {
    let (mean, rstd) = layer_norm_stats_impl(x, eps);
    let scale = 1.0f32 / x.len() as f32;
    let ds = dot_reduce::<LANES>(dy, x, Some(w));
    let db = dot_reduce::<LANES>(dy, w, None);
    let a = rstd;
    let b = fma(db, mean, -ds) * a * a * a * scale;
    let c = fma(-b, mean, -(db * a * scale));
    for (((d, &xi), &gi), &wi) in dx.iter_mut().zip(x).zip(dy).zip(w) {
        *d = fma(b, xi, a * gi * wi) + c;
    }
}

/// Adds one row's contribution to the LayerNorm weight and bias gradients, torch's way: the
/// weight gradient accumulates `dy · (rstd · x − rstd · mean)` with fused multiply-adds, the
/// bias gradient plain `dy`, row after row.
#[inline(always)]
fn layer_norm_affine_grad_accumulate_impl(
    dw: &mut [f32],
    db: &mut [f32],
    x: &[f32],
    dy: &[f32],
    mean: f32,
    rstd: f32,
) {
    let shift = -rstd * mean;
    for (((w, b), &xi), &gi) in dw.iter_mut().zip(db.iter_mut()).zip(x).zip(dy) {
        *w = fma(gi, fma(rstd, xi, shift), *w);
        *b += gi;
    }
}

/// `Sleef_expf8_u10`, torch's vectorised `exp` (a degree-6 polynomial after a two-part
/// `ln 2` range reduction; within 1 ulp, but not always correctly rounded).
#[inline(always)]
pub(crate) fn sleef_expf(d: f32) -> f32 {
    const R_LN2: f32 = std::f32::consts::LOG2_E;
    const L2U: f32 = 0.693_145_75;
    const L2L: f32 = 1.428_606_8e-6;
    if d < -104.0 {
        return 0.0;
    }
    if d > 100.0 {
        return f32::INFINITY;
    }
    let q = (d * R_LN2).round_ties_even() as i32;
    let qf = q as f32;
    let s = fma(qf, -L2U, d);
    let s = fma(qf, -L2L, s);
    let mut u = 0.000_198_527_62_f32;
    for c in [
        0.001_393_043_6_f32,
        0.008_333_361,
        0.041_666_485,
        0.166_666_67,
        0.5,
    ] {
        u = fma(u, s, c);
    }
    let u = 1.0 + fma(s * s, u, s);
    let pow2 = |e: i32| f32::from_bits(((e + 0x7f) as u32) << 23);
    u * pow2(q >> 1) * pow2(q - (q >> 1))
}

/// oneDNN's `exp` (`jit_uni_eltwise_injector::exp_compute_vector_fwd`): `2 · 2^(n−1) · p(r)`
/// with `n = ⌊x·log2 e + ½⌋`, `r = x − n·ln 2` and a degree-5 polynomial `p`; zero below
/// `ln FLT_MIN`.
#[inline(always)]
fn onednn_exp(x: f32) -> f32 {
    let ln_flt_min = f32::from_bits(0xc2ae_ac50);
    let ln_flt_max = f32::from_bits(0x42b1_7218);
    let pol = [
        0x3f7f_fffb,
        0x3eff_fee3,
        0x3e2a_ad40,
        0x3d2b_9d0d,
        0x3c07_cfce,
    ]
    .map(f32::from_bits);
    let underflow = x < ln_flt_min;
    let x = x.min(ln_flt_max).max(ln_flt_min);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = fma(-n, std::f32::consts::LN_2, x);
    let scale = if underflow {
        0.0
    } else {
        f32::from_bits((((n - 1.0) as i32 + 127) as u32) << 23)
    };
    let mut p = pol[4];
    for &c in pol[..4].iter().rev() {
        p = fma(p, r, c);
    }
    fma(p, r, 1.0) * scale * 2.0
}

/// Coefficients of oneDNN's piecewise minimax `erf(x/√2)` (`gelu_erf_minimax_pol`): for each
/// degree 0..=5, 25 polynomials (padded to 32), selected by the exponent and two mantissa bits
/// of `|x|`.
const GELU_ERF_MINIMAX: [[u32; 25]; 6] = [
    [
        0xa6f2cb94, 0x32827792, 0x3381cc0c, 0x34523d4a, 0x351ac44d, 0x35f36d88, 0x36ee8229,
        0x37b8a3bb, 0x3867a213, 0x3940033b, 0x3a2a5a1d, 0x3ae35863, 0x3b7828f2, 0x3c08b14b,
        0x3c515ed3, 0xbb503236, 0xbd8d8e5e, 0xbe8abcd9, 0xbf0c19a2, 0xbeccb328, 0x3e176ced,
        0x3f470d99, 0x3f7abb28, 0x3f800000, 0x00000000,
    ],
    [
        0x3f4c422a, 0x3f4c421f, 0x3f4c4207, 0x3f4c41cb, 0x3f4c413b, 0x3f4c3fad, 0x3f4c3a2f,
        0x3f4c2d40, 0x3f4c146a, 0x3f4bc341, 0x3f4ad08c, 0x3f48f8cf, 0x3f45fac7, 0x3f404e07,
        0x3f3b980f, 0x3f48dff3, 0x3f78b21b, 0x3fbb0704, 0x40019c32, 0x3fe536d6, 0x3f81331e,
        0x3e6c8684, 0x3c98f936, 0x00000000, 0x3f800000,
    ],
    [
        0xb62173f4, 0x3735e4cf, 0x37f2ff89, 0x388c23be, 0x3917535c, 0x39ab2ab0, 0x3a60fadb,
        0x3af9b960, 0x3b6e5491, 0x3c0a4ec5, 0x3ca5aa8c, 0x3d2138d9, 0x3d8737d4, 0x3ddfb660,
        0x3e0f27ab, 0x3d94004b, 0xbe0efdeb, 0xbf1d96c3, 0xbf89db58, 0xbf6d9897, 0xbef69fb8,
        0xbdc4f8a8, 0xbbde6422, 0x00000000, 0x00000000,
    ],
    [
        0xbe081a19, 0xbe084570, 0xbe08639b, 0xbe089837, 0xbe08f409, 0xbe09ab95, 0xbe0b66d0,
        0xbe0e400a, 0xbe124df8, 0xbe1bde02, 0xbe2f19c9, 0xbe4931bf, 0xbe685fbc, 0xbe89c95f,
        0xbe96cbca, 0xbe8044aa, 0xbe0550f2, 0x3dcfd6a1, 0x3e94c826, 0x3e79345f, 0x3decec91,
        0x3ca46568, 0x3aa1e00a, 0x00000000, 0x00000000,
    ],
    [
        0xba3d61db, 0x39f097a3, 0x3a5845dc, 0x3ab1fa35, 0x3b0cefb8, 0x3b653ab6, 0x3bcae527,
        0x3c221712, 0x3c6c5840, 0x3cc0a703, 0x3d1dcc19, 0x3d63656d, 0x3d955907, 0x3dbf9910,
        0x3dd53f69, 0x3db7dcef, 0x3d639ebe, 0xba6ede48, 0xbd22be69, 0xbd041cf1, 0xbc64f5ab,
        0xbb097a32, 0xb8ebf380, 0x00000000, 0x00000000,
    ],
    [
        0x3cb7d80c, 0x3c9b6050, 0x3c978d11, 0x3c92e850, 0x3c8d058b, 0x3c848454, 0x3c6cd623,
        0x3c4c824b, 0x3c2a7935, 0x3be0b390, 0x3b0651ac, 0xbb232f53, 0xbbd42fa0, 0xbc2c5366,
        0xbc492c9e, 0xbc2a7aa6, 0xbbd55d04, 0xba823a76, 0x3b102aa8, 0x3ae25a7e, 0x3a31f792,
        0x38b84375, 0x3689bb5a, 0x00000000, 0x00000000,
    ],
];

/// Exact (erf) GELU as torch computes it on the CPU in float32: through oneDNN's eltwise
/// `gelu_erf` (`gelu_erf_minimax_approx_compute_vector_fwd`, its AVX-512 kernel):
/// `x · (1 + erf(x/√2)) · ½` with a piecewise minimax `erf`.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    let pos = x.abs();
    // Index from the exponent and the two top mantissa bits (an arithmetic shift, clamped).
    let mut idx = ((pos.to_bits() as i32).wrapping_add(0xc21f_ffff_u32 as i32) >> 21).clamp(1, 24);
    if pos > f32::from_bits(0x40b1_5cee) {
        idx = 23;
    }
    let c = |deg: usize| f32::from_bits(GELU_ERF_MINIMAX[deg][idx as usize]);
    let mut p = c(5);
    for deg in (0..5).rev() {
        p = fma(p, pos, c(deg));
    }
    let erf = if x.is_sign_negative() { -p } else { p };
    x * (erf + 1.0) * 0.5
}

/// GELU backward as torch computes it on the CPU in float32: oneDNN's `gelu_erf` backward
/// (`gelu_erf_compute_vector_bwd`: Abramowitz–Stegun `erf` with oneDNN's `exp`), times `dy`:
/// `dy · (½ + ½·erf(x/√2) + (x/√2) · exp(−x²/2) / √π)`.
#[inline(always)]
fn gelu_grad(x: f32, dy: f32) -> f32 {
    let p = f32::from_bits(0x3ea7_ba05);
    let pol = [
        0x3e82_7906,
        0xbe91_a98e,
        0x3fb5_f0e3,
        0xbfba_00e3,
        0x3f87_dc22,
    ]
    .map(f32::from_bits);
    let one_over_sqrt_pi = f32::from_bits(0x3f10_6eba);
    let r = x * f32::from_bits(0x3f35_04f3);
    let q = onednn_exp(-(r * r));
    let t = r * one_over_sqrt_pi * q;
    let w = 1.0 / fma(p, r.abs(), 1.0);
    let mut poly = pol[4];
    for &c in pol[..4].iter().rev() {
        poly = fma(poly, w, c);
    }
    let e = fma(-q * w, poly, 1.0);
    let erf = if r.is_sign_negative() { -e } else { e };
    dy * fma(erf, 0.5, t + 0.5)
}

/// Column sums of a row-major `[rows, cols]` matrix for the columns `first..first + sums.len()`,
/// as torch's CPU `sum(0)` adds them (`multi_row_sum` in ATen's `SumKernel.cpp`): rows in
/// order into level 0; every `2^p` rows (p = max(4, ⌈log2 rows⌉ / 4)) level 0 is added to
/// level 1, and a level full `2^p` times over is added to the next one (four levels); at the
/// end the levels are added to level 0 in order.
pub(crate) fn column_sums(sums: &mut [f32], g: &[f32], rows: usize, cols: usize, first: usize) {
    const LEVELS: usize = 4;
    let power = 4.max(ceil_log2(rows) / LEVELS);
    let step = 1usize << power;
    let mask = step - 1;
    let width = sums.len();
    let mut acc = vec![vec![0f32; width]; LEVELS];
    let add_row = |acc: &mut [f32], i: usize| {
        for (a, &v) in acc.iter_mut().zip(&g[i * cols + first..][..width]) {
            *a += v;
        }
    };
    let mut i = 0;
    while i + step <= rows {
        for _ in 0..step {
            add_row(&mut acc[0], i);
            i += 1;
        }
        for j in 1..LEVELS {
            let (lower, upper) = acc.split_at_mut(j);
            for (u, l) in upper[0].iter_mut().zip(lower[j - 1].iter_mut()) {
                *u += *l;
                *l = 0.0;
            }
            if i & (mask << (j * power)) != 0 {
                break;
            }
        }
    }
    while i < rows {
        add_row(&mut acc[0], i);
        i += 1;
    }
    let (first_level, rest) = acc.split_at_mut(1);
    for level in rest.iter() {
        for (a, &v) in first_level[0].iter_mut().zip(level) {
            *a += v;
        }
    }
    sums.copy_from_slice(&first_level[0]);
}

/// Vector width of the softmax kernels (torch's AVX-512 `Vectorized<float>`; the LayerNorm
/// kernels above reduce over 8 lanes, these over 16: both measured against torch 2.15).
const SOFTMAX_LANES: usize = 16;

/// `vec::reduce_all(+)` over a row on `SOFTMAX_LANES`-lane vectors: lane-wise sums of whole
/// vectors, the tail into the first lanes, then [`reduce_lanes`].
#[inline(always)]
fn sum_reduce(x: &[f32]) -> f32 {
    const W: usize = SOFTMAX_LANES;
    let len = x.len();
    if len < W {
        let mut r = x.first().copied().unwrap_or(0.0);
        for &a in x.iter().skip(1) {
            r += a;
        }
        return r;
    }
    let mut acc: [f32; W] = std::array::from_fn(|l| x[l]);
    let whole = len - len % W;
    for base in (W..whole).step_by(W) {
        for (l, a) in acc.iter_mut().enumerate() {
            *a += x[base + l];
        }
    }
    for (l, a) in acc.iter_mut().enumerate().take(len - whole) {
        *a += x[whole + l];
    }
    reduce_lanes(acc)
}

/// One row of softmax, in place on its (already scaled and masked) scores:
/// `_vec_softmax_lastdim` (exp of `x − max`, summed as [`sum_reduce`], times `1 / sum`).
#[inline(always)]
fn softmax_row_impl(y: &mut [f32]) {
    let max = y.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in y.iter_mut() {
        *v = sleef_expf(*v - max);
    }
    let inv = 1.0 / sum_reduce(y);
    for v in y.iter_mut() {
        *v *= inv;
    }
}

/// `Σ g · y` of a softmax row as torch's backward sums it (`map2_reduce_all`).
pub(crate) fn softmax_grad_dot(y: &[f32], g: &[f32]) -> f32 {
    dot_reduce::<SOFTMAX_LANES>(g, y, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_match_the_two_pass_values() {
        for len in [1usize, 7, 8, 32, 100, 384, 768, 3000] {
            let x: Vec<f32> = (0..len)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013 + 0.7)
                .collect();
            let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / len as f64;
            let var = x
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / len as f64;
            let (m, v) = row_moments(&x);
            assert!((f64::from(m) - mean).abs() < 1e-6, "{len}: {m} vs {mean}");
            assert!(
                (f64::from(v) - var).abs() < 1e-6 * var.max(1e-3),
                "{len}: {v} vs {var}"
            );
        }
    }

    #[test]
    fn ceil_log2_follows_aten() {
        let got: Vec<usize> = [1, 2, 3, 4, 5, 8, 9, 16, 17].map(ceil_log2).to_vec();
        assert_eq!(got, vec![1, 1, 2, 2, 3, 3, 4, 4, 5]);
    }

    #[test]
    fn dot_reduce_is_the_dot_product() {
        for len in [3usize, 8, 21, 64] {
            let x: Vec<f32> = (0..len).map(|i| i as f32 * 0.5 - 3.0).collect();
            let y: Vec<f32> = (0..len).map(|i| 1.0 + (i % 3) as f32).collect();
            let z: Vec<f32> = (0..len).map(|i| 0.25 * (i % 5) as f32).collect();
            let want2: f32 = x.iter().zip(&y).map(|(a, b)| a * b).sum();
            let want3: f32 = x.iter().zip(&y).zip(&z).map(|((a, b), c)| a * b * c).sum();
            // Small integers and quarters: every rounding is exact, whatever the order.
            assert_eq!(dot_reduce::<8>(&x, &y, None), want2, "{len}");
            assert_eq!(dot_reduce::<16>(&x, &y, None), want2, "{len}");
            assert_eq!(dot_reduce::<8>(&x, &y, Some(&z)), want3, "{len}");
        }
    }

    #[test]
    fn sleef_exp_is_within_an_ulp_of_exp() {
        for i in 0..20_000 {
            // Normal results only (below −87.3 they are subnormal and lose precision).
            let x = -87.0 + i as f32 * 0.0087;
            let want = f64::from(x).exp();
            let got = f64::from(sleef_expf(x));
            assert!(
                (got - want).abs() <= 1.2e-7 * want,
                "exp({x}) = {got} vs {want}"
            );
        }
        assert_eq!(sleef_expf(-200.0), 0.0);
        assert_eq!(sleef_expf(f32::MIN), 0.0);
        assert_eq!(sleef_expf(0.0), 1.0);
    }

    #[test]
    fn gelu_and_its_gradient_follow_the_closed_form() {
        for i in 0..2000 {
            let x = -6.0 + i as f32 * 0.006;
            let xf = f64::from(x);
            let cdf = 0.5 * (1.0 + candle_core::cpu::erf::erf_f64(xf / std::f64::consts::SQRT_2));
            let pdf = (-0.5 * xf * xf).exp() / (2.0 * std::f64::consts::PI).sqrt();
            assert!((f64::from(gelu(x)) - xf * cdf).abs() < 1e-6, "gelu({x})");
            assert!(
                (f64::from(gelu_grad(x, 1.0)) - (cdf + xf * pdf)).abs() < 1e-6,
                "gelu'({x})"
            );
        }
    }

    /// Bit patterns of `torch.nn.functional.gelu(x)` and `gelu_backward(1, x)` from torch 2.15.0
    /// (1 thread, AVX-512 CPU, 20-element input so the vector kernels run).
    const TORCH_GELU: [(u32, u32, u32); 10] = [
        (0xc0b00000, 0xb4300000, 0xb5180000),
        (0xc0400000, 0xbb84b7c0, 0xbc43b780),
        (0xbf800000, 0xbe227686, 0xbdaaa148),
        (0xbe0c49ba, 0xbd7a0079, 0x3ec861c2),
        (0x3ced9168, 0x3c731071, 0x3f05ebfc),
        (0x3f000000, 0x3eb103af, 0x3f5e1428),
        (0x3f800000, 0x3f57625e, 0x3f8aaa14),
        (0x40100000, 0x400e3d5c, 0x3f879388),
        (0x40800000, 0x407ffdee, 0x3f801081),
        (0x40e00000, 0x40e00000, 0x3f800000),
    ];

    #[test]
    fn gelu_is_bit_identical_to_torch_at_sample_points() {
        for (x, y, d) in TORCH_GELU {
            let x = f32::from_bits(x);
            assert_eq!(gelu(x).to_bits(), y, "gelu({x})");
            assert_eq!(gelu_grad(x, 1.0).to_bits(), d, "gelu'({x})");
        }
    }
}
