//! Products whose right operand is read where it lies in an image: a convolution's patch matrix is never built.
//! Entry `(p, j)` of `B` is `src[row_off[p] + col_off[j]]`, so `B` is any matrix whose entries are the sums of a
//! row offset and a column offset into one buffer: a patch entry `(ci, dy, dx)` under output position `(oy, ox)`
//! lies at `ci·H'W' + dy·W' + dx` plus `oy·s·W' + ox·s` in the zero-padded planes. The kernel broadcasts `B`'s
//! entries one at a time (as [`super::small`] does), so they need not be contiguous: the copy of each image's
//! patches into a matrix (im2col) and matrixmultiply's copy of that matrix into panels are both gone, and the
//! padded image (`32 x 18 x 18` for conv2, 41 kB) stays near the core while it is read many times.
//!
//! **The same bits as matrixmultiply** on the same product, as [`super::small`]: over `k` in blocks of 256, a
//! chain of fused multiply-adds from zero in the order of `k`, then `C ← (β C) + block` for the first block and
//! `C ← C + block` for the others. `a·b` and `b·a` are the same product, so `C = A B` and `Cᵀ = Bᵀ Aᵀ` computed
//! this way agree entry for entry: the convolution's `Y = cols(X) W` may run as `Yᵀ = Wᵀ cols(X)ᵀ`, with the
//! output channels along the vector lanes (`tests/numerics.rs` checks this against matrixmultiply).

/// matrixmultiply's `KC` for `f32`.
const KC: usize = 256;
/// Rows per tile (two 8-lane vectors) and columns per tile.
pub const MR: usize = 16;
const NR: usize = 6;

/// `C ← A B + β C`, where `A` (`m x k`) lies in panels of [`MR`] rows, each column by column: entry `(i, p)` at
/// `(i / MR)·MR·k + p·MR + i % MR` (see [`panels`]; the last panel's rows past `m` are read and their results
/// dropped), `B`'s entry `(p, j)` is
/// `src[row_off[p] + col_off[j]]` (`row_off` has `k` entries, `col_off` `n`), and `C`'s entry `(i, j)` is
/// `c[i·rsc + j·csc]`. `false`, with nothing computed, when the CPU lacks AVX2 and FMA: the caller falls back.
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    a: &[f32],
    src: &[f32],
    row_off: &[u32],
    col_off: &[u32],
    beta: f32,
    c: &mut [f32],
    rsc: usize,
    csc: usize,
) -> bool {
    let (k, n) = (row_off.len(), col_off.len());
    if m == 0 || n == 0 {
        return true;
    }
    assert!(
        m.next_multiple_of(MR) * k <= a.len(),
        "gathered sgemm: A in panels ({} entries) for {m} x {k}",
        a.len()
    );
    let reach = |o: &[u32]| o.iter().copied().max().unwrap_or(0) as usize;
    assert!(
        k == 0 || reach(row_off) + reach(col_off) < src.len(),
        "gathered sgemm: offsets reach past the source ({} entries)",
        src.len()
    );
    assert!(
        (m - 1) * rsc + (n - 1) * csc < c.len(),
        "gathered sgemm: output buffer too small"
    );
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: AVX2 and FMA are present, and every index read or written is inside its buffer (asserted
        // above: A's panels for `k` columns, B's offsets' sums, C's last entry).
        unsafe { x86::sgemm(m, k, n, a, src, row_off, col_off, beta, c, rsc, csc) };
        return true;
    }
    false
}

/// Whether the convolution should read its patches through this kernel: on a CPU with AVX2 and FMA, and not on
/// one with AVX-512, where matrixmultiply runs its own 16-lane kernel and this one (8 lanes) has not been
/// measured against it.
pub fn preferred() -> bool {
    #[cfg(target_arch = "x86_64")]
    return is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
        && !is_x86_feature_detected!("avx512f");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// `A` (`m x k`, entry `(i, p)` given by `at(i, p)`) in [`sgemm`]'s panels, the last panel's rows past `m` zero.
pub fn panels(m: usize, k: usize, at: impl Fn(usize, usize) -> f32, out: &mut Vec<f32>) {
    out.clear();
    out.resize(m.next_multiple_of(MR) * k, 0.0);
    for (panel, dst) in out
        .chunks_exact_mut(MR * k.max(1))
        .enumerate()
        .take(m.div_ceil(MR))
    {
        for (p, run) in dst.chunks_exact_mut(MR).enumerate().take(k) {
            for (r, v) in run.iter_mut().enumerate() {
                let i = panel * MR + r;
                if i < m {
                    *v = at(i, p);
                }
            }
        }
    }
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
        src: &[f32],
        row_off: &[u32],
        col_off: &[u32],
        beta: f32,
        c: &mut [f32],
        rsc: usize,
        csc: usize,
    ) {
        // A tile's running total over the blocks of `k`, column by column: it starts as `β C` (zero when β is
        // zero, C unread), and each block's sums are added to it, as matrixmultiply adds them to C.
        let mut t = [0f32; MR * NR];
        for i0 in (0..m).step_by(MR) {
            let rows = MR.min(m - i0);
            for j0 in (0..n).step_by(NR) {
                let nc = NR.min(n - j0);
                let cols = &col_off[j0..j0 + nc];
                let ct = c.as_mut_ptr().add(i0 * rsc + j0 * csc);
                // A whole tile's columns are runs of 16 when C's rows are contiguous: moved as vectors.
                let runs = rsc == 1 && rows == MR;
                for j in 0..nc {
                    let tj = t.as_mut_ptr().add(j * MR);
                    if beta == 0.0 {
                        _mm256_storeu_ps(tj, _mm256_setzero_ps());
                        _mm256_storeu_ps(tj.add(8), _mm256_setzero_ps());
                    } else if runs {
                        let (cj, bv) = (ct.add(j * csc), _mm256_set1_ps(beta));
                        _mm256_storeu_ps(tj, _mm256_mul_ps(_mm256_loadu_ps(cj), bv));
                        _mm256_storeu_ps(tj.add(8), _mm256_mul_ps(_mm256_loadu_ps(cj.add(8)), bv));
                    } else {
                        for r in 0..MR {
                            *tj.add(r) = if r < rows {
                                *ct.add(r * rsc + j * csc) * beta
                            } else {
                                0.0
                            };
                        }
                    }
                }
                for k0 in (0..k).step_by(KC) {
                    let kc = KC.min(k - k0);
                    let ap = a.as_ptr().add(i0 * k + k0 * MR);
                    tile(nc, ap, src.as_ptr(), &row_off[k0..k0 + kc], cols, &mut t);
                }
                for j in 0..nc {
                    let (tj, cj) = (t.as_ptr().add(j * MR), ct.add(j * csc));
                    if runs {
                        _mm256_storeu_ps(cj, _mm256_loadu_ps(tj));
                        _mm256_storeu_ps(cj.add(8), _mm256_loadu_ps(tj.add(8)));
                    } else {
                        for r in 0..rows {
                            *cj.add(r * rsc) = *tj.add(r);
                        }
                    }
                }
            }
        }
    }

    /// One `16 x nc` tile over one block of `k`, `nc` in `1..=6`, dispatched to a copy with `nc` fixed so that
    /// the accumulators stay in registers: `t ← block + t`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    unsafe fn tile(
        nc: usize,
        a: *const f32,
        src: *const f32,
        rows: &[u32],
        cols: &[u32],
        t: &mut [f32; MR * NR],
    ) {
        match nc {
            6 => tile_n::<6>(a, src, rows, cols, t),
            5 => tile_n::<5>(a, src, rows, cols, t),
            4 => tile_n::<4>(a, src, rows, cols, t),
            3 => tile_n::<3>(a, src, rows, cols, t),
            2 => tile_n::<2>(a, src, rows, cols, t),
            _ => tile_n::<1>(a, src, rows, cols, t),
        }
    }

    // ANCHOR: gathered_tile
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_n<const N: usize>(
        a: *const f32,
        src: *const f32,
        rows: &[u32],
        cols: &[u32],
        t: &mut [f32; MR * NR],
    ) {
        let mut lo = [_mm256_setzero_ps(); N];
        let mut hi = [_mm256_setzero_ps(); N];
        let mut base = [src; N];
        for j in 0..N {
            base[j] = src.add(cols[j] as usize);
        }
        let mut ap = a;
        // Per term: 16 entries of A from its panel, and each of B's 6 entries broadcast from where it lies.
        for &ro in rows {
            let (a0, a1) = (_mm256_loadu_ps(ap), _mm256_loadu_ps(ap.add(8)));
            let ro = ro as usize;
            for j in 0..N {
                let bv = _mm256_broadcast_ss(&*base[j].add(ro));
                lo[j] = _mm256_fmadd_ps(a0, bv, lo[j]);
                hi[j] = _mm256_fmadd_ps(a1, bv, hi[j]);
            }
            ap = ap.add(MR);
        }
        let tp = t.as_mut_ptr();
        for j in 0..N {
            let (p0, p1) = (tp.add(j * MR), tp.add(j * MR + 8));
            _mm256_storeu_ps(p0, _mm256_add_ps(lo[j], _mm256_loadu_ps(p0)));
            _mm256_storeu_ps(p1, _mm256_add_ps(hi[j], _mm256_loadu_ps(p1)));
        }
    }
    // ANCHOR_END: gathered_tile
}
