//! Small `f32` products without packing: the recurrent cells' per-step products (`16 x 64` by `64 x 256` in the
//! book's LSTM) are so small that matrixmultiply spends as long copying `B` into its panel layout as it spends
//! multiplying (profile of W4 on two threads: packing a sixth of the step). This kernel reads `A`'s columns
//! and `B`'s entries where they lie instead.
//!
//! **The same bits as matrixmultiply.** Every entry of `C` is computed by the operations matrixmultiply's
//! kernels use for it: over `k` in blocks of 256 (its `KC`), a chain of fused multiply-adds from zero in the
//! order of `k`, then `C ← (β C) + block` for the first block and `C ← C + block` for the others. The result
//! therefore does not depend on which kernel ran, nor on how many rows were computed together (the row groups
//! of the recurrent sweeps rely on that); `tests/numerics.rs` compares the two on random shapes, bit for bit.

/// matrixmultiply's `KC` for `f32`: its sums run over blocks of this many terms.
const KC: usize = 256;
/// Rows per tile (two 8-lane vectors) and columns per tile: 12 accumulators, 2 loads of `A` and 6
/// broadcasts of `B` per 12 fused multiply-adds.
const MR: usize = 16;
const NR: usize = 6;

/// Products this small (multiply-adds) or smaller, with at most [`MAX_ROWS`] rows, take this kernel. Above,
/// packing pays for itself (measured with `examples/gemm_peak.rs --small`).
pub const MAX_MACS: usize = 1 << 20;
pub const MAX_ROWS: usize = 64;

/// `C ← A B + β C` for `C` column-major `m x n` (leading dimension `ldc`), `A` column-major (entry `(i, p)` at
/// `i + p·lda`), `B` through its strides. `false` when the CPU lacks AVX2 and FMA: the caller falls back.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: (&[f32], usize, usize),
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) -> bool {
    assert!(
        m > 0 && n > 0 && ldc >= m && (n - 1) * ldc + m <= c.len(),
        "small sgemm: output buffer too small"
    );
    // SAFETY: the output's bounds are asserted above; `c` is a unique borrow.
    unsafe { sgemm_raw(m, k, n, a, lda, b, beta, c.as_mut_ptr(), ldc) }
}

/// [`sgemm`] into `C` through a pointer.
///
/// # Safety
/// `c` must point to `C` with rows `0..m` of columns `0..n` at leading dimension `ldc >= m`, aliasing neither
/// operand and used by no one else during the call. When `β` is zero its entries may be uninitialised: they
/// are written and not read.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm_raw(
    m: usize,
    k: usize,
    n: usize,
    a: &[f32],
    lda: usize,
    b: (&[f32], usize, usize),
    beta: f32,
    c: *mut f32,
    ldc: usize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        let (bd, rsb, csb) = b;
        assert!(
            m > 0 && n > 0 && k > 0 && lda >= m && ldc >= m,
            "small sgemm: shape"
        );
        assert!(
            (k - 1) * lda + m <= a.len() && (k - 1) * rsb + (n - 1) * csb < bd.len(),
            "small sgemm: buffers too small"
        );
        // SAFETY: AVX2 and FMA are present (checked above), every index the kernel reads lies inside the
        // operands (asserted above), and the output's are the caller's promise.
        x86::sgemm(m, k, n, a, lda, bd, rsb, csb, beta, c, ldc);
        return true;
    }
    let _ = (m, k, n, a, lda, b, beta, c, ldc);
    false
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{KC, MR, NR};
    use std::arch::x86_64::*;

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn sgemm(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        lda: usize,
        b: &[f32],
        rsb: usize,
        csb: usize,
        beta: f32,
        c: *mut f32,
        ldc: usize,
    ) {
        // A tail tile's rows, copied into whole vectors (zeros below), and its results before they are
        // written back: the padded lanes compute harmless zeros and are never stored. Allocated only for a
        // product that has a tail: zeroing 16 KB on every call cost more than a whole 16-row product.
        let mut a_pad = if m % MR == 0 {
            Vec::new()
        } else {
            vec![0f32; MR * KC]
        };
        let mut c_pad = [0f32; MR * NR];
        for (blk, k0) in (0..k).step_by(KC).enumerate() {
            let kc = KC.min(k - k0);
            let beta = if blk == 0 { beta } else { 1.0 };
            let ab = a.as_ptr().add(k0 * lda);
            let bb = b.as_ptr().add(k0 * rsb);
            // Row tiles outside, column tiles inside: a tile's 16 rows of `A` (copied once when it is the tail)
            // stay in the nearest cache while every column of `B` passes them.
            for i0 in (0..m).step_by(MR) {
                let rows = MR.min(m - i0);
                if rows < MR {
                    for p in 0..kc {
                        let src = ab.add(i0 + p * lda);
                        for r in 0..MR {
                            a_pad[p * MR + r] = if r < rows { *src.add(r) } else { 0.0 };
                        }
                    }
                }
                for j0 in (0..n).step_by(NR) {
                    let nc = NR.min(n - j0);
                    let bj = bb.add(j0 * csb);
                    let cij = c.add(i0 + j0 * ldc);
                    if rows == MR {
                        tile(nc, kc, ab.add(i0), lda, bj, rsb, csb, beta, cij, ldc);
                        continue;
                    }
                    // C is read only when β is not zero (it may be uninitialised otherwise).
                    if beta != 0.0 {
                        for j in 0..nc {
                            for r in 0..rows {
                                c_pad[j * MR + r] = *cij.add(r + j * ldc);
                            }
                        }
                    }
                    let cp = c_pad.as_mut_ptr();
                    tile(nc, kc, a_pad.as_ptr(), MR, bj, rsb, csb, beta, cp, MR);
                    for j in 0..nc {
                        for r in 0..rows {
                            *cij.add(r + j * ldc) = c_pad[j * MR + r];
                        }
                    }
                }
            }
        }
    }

    /// One `16 x nc` tile over `kc` terms, `nc` in `1..=6`, dispatched to a copy with `nc` fixed so that the
    /// accumulators stay in registers.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    unsafe fn tile(
        nc: usize,
        kc: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        rsb: usize,
        csb: usize,
        beta: f32,
        c: *mut f32,
        ldc: usize,
    ) {
        match nc {
            6 => tile_n::<6>(kc, a, lda, b, rsb, csb, beta, c, ldc),
            5 => tile_n::<5>(kc, a, lda, b, rsb, csb, beta, c, ldc),
            4 => tile_n::<4>(kc, a, lda, b, rsb, csb, beta, c, ldc),
            3 => tile_n::<3>(kc, a, lda, b, rsb, csb, beta, c, ldc),
            2 => tile_n::<2>(kc, a, lda, b, rsb, csb, beta, c, ldc),
            _ => tile_n::<1>(kc, a, lda, b, rsb, csb, beta, c, ldc),
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_n<const N: usize>(
        kc: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        rsb: usize,
        csb: usize,
        beta: f32,
        c: *mut f32,
        ldc: usize,
    ) {
        let mut lo = [_mm256_setzero_ps(); N];
        let mut hi = [_mm256_setzero_ps(); N];
        for p in 0..kc {
            let ap = a.add(p * lda);
            let (a0, a1) = (_mm256_loadu_ps(ap), _mm256_loadu_ps(ap.add(8)));
            let bp = b.add(p * rsb);
            for j in 0..N {
                let bv = _mm256_broadcast_ss(&*bp.add(j * csb));
                lo[j] = _mm256_fmadd_ps(a0, bv, lo[j]);
                hi[j] = _mm256_fmadd_ps(a1, bv, hi[j]);
            }
        }
        // matrixmultiply's last step: `β C` (zero when β is zero, C unread), plus the block's sums.
        let betav = _mm256_set1_ps(beta);
        for j in 0..N {
            let cj = c.add(j * ldc);
            let (c0, c1) = if beta != 0.0 {
                (
                    _mm256_mul_ps(_mm256_loadu_ps(cj), betav),
                    _mm256_mul_ps(_mm256_loadu_ps(cj.add(8)), betav),
                )
            } else {
                (_mm256_setzero_ps(), _mm256_setzero_ps())
            };
            _mm256_storeu_ps(cj, _mm256_add_ps(lo[j], c0));
            _mm256_storeu_ps(cj.add(8), _mm256_add_ps(hi[j], c1));
        }
    }
}
