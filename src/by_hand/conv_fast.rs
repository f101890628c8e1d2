//! Convolution, fast (book chapter 5): im2col turns every patch the kernels slide over into a row of a
//! matrix, so a layer is a matrix product; col2im scatters the patches' gradients back. Same shapes and
//! results as the naive [`super::conv`].
//!
//! The products run image by image: the `P x K` patch matrix of one image (a few hundred kilobytes) is built in
//! a buffer that stays in the cache, multiplied at once, and built again in the backward pass rather than
//! kept. The images of a batch are independent, so they are spread over the threads of the rayon pool.

use crate::error::Result;
use crate::kernels::{gemm_strided, Strided};
use crate::layout::ConvGeom;
use crate::scalar::Real;
use nalgebra::DMatrix;
use rayon::prelude::*;

use super::conv::ConvGrads;

// ANCHOR: im2col
/// Patch entry `k` as `(ci, dy, dx)`, and the output columns `lo..hi` whose reads fall inside the image
/// (`ox·stride + dx - pad` in `0..w`); the others read padding.
fn patch_entry(g: &ConvGeom, k: usize) -> (usize, usize, usize, usize, usize) {
    let (ci, dy, dx) = (k / (g.kh * g.kw), (k / g.kw) % g.kh, k % g.kw);
    let ow = g.out_w();
    let lo = g.pad.saturating_sub(dx).div_ceil(g.stride).min(ow);
    let hi = ((g.w + g.pad).saturating_sub(dx))
        .div_ceil(g.stride)
        .clamp(lo, ow);
    (ci, dy, dx, lo, hi)
}

/// The patches of one image (`x`: its `C·H·W` entries) as the rows of a `P x K` column-major matrix in `cols`:
/// row `p` is the patch under output position `p`, entries in `(ci, dy, dx)` order; padding reads as zero.
/// Filled column by column: for stride 1 each output row of a column is one contiguous copy of an input row.
pub fn im2col<T: Real>(x: &[T], g: &ConvGeom, cols: &mut [T]) {
    let (oh, ow, p) = (g.out_h(), g.out_w(), g.positions());
    for (k, col) in cols[..p * g.patch()].chunks_exact_mut(p).enumerate() {
        let (ci, dy, dx, lo, hi) = patch_entry(g, k);
        let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for (oy, out) in col.chunks_exact_mut(ow).enumerate().take(oh) {
            let Some(iy) = (oy * g.stride + dy).checked_sub(g.pad).filter(|&v| v < g.h) else {
                out.fill(T::zero());
                continue;
            };
            let row = &plane[iy * g.w..(iy + 1) * g.w];
            out[..lo].fill(T::zero());
            out[hi..].fill(T::zero());
            if g.stride == 1 {
                let start = lo + dx - g.pad;
                out[lo..hi].copy_from_slice(&row[start..start + (hi - lo)]);
            } else {
                for (ox, v) in out[lo..hi].iter_mut().enumerate() {
                    *v = row[(lo + ox) * g.stride + dx - g.pad];
                }
            }
        }
    }
}
// ANCHOR_END: im2col

// ANCHOR: col2im
/// The inverse movement of [`im2col`], adding where patches overlap: the gradient of one image's input.
pub fn col2im<T: Real>(dcols: &[T], g: &ConvGeom, dx_img: &mut [T]) {
    let (oh, ow, p) = (g.out_h(), g.out_w(), g.positions());
    for (k, col) in dcols[..p * g.patch()].chunks_exact(p).enumerate() {
        let (ci, dy, dxk, lo, hi) = patch_entry(g, k);
        let plane = &mut dx_img[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for (oy, src) in col.chunks_exact(ow).enumerate().take(oh) {
            let Some(iy) = (oy * g.stride + dy).checked_sub(g.pad).filter(|&v| v < g.h) else {
                continue;
            };
            let row = &mut plane[iy * g.w..(iy + 1) * g.w];
            if g.stride == 1 {
                let start = lo + dxk - g.pad;
                for (d, &v) in row[start..start + (hi - lo)].iter_mut().zip(&src[lo..hi]) {
                    *d += v;
                }
            } else {
                for (ox, &v) in src.iter().enumerate().take(hi).skip(lo) {
                    row[ox * g.stride + dxk - g.pad] += v;
                }
            }
        }
    }
}
// ANCHOR_END: col2im

/// The patches of one image as the columns of a `K x P` column-major matrix: [`im2col`]'s matrix transposed,
/// each patch contiguous. The weight gradient sums over positions, and the product kernel copies its left
/// operand into panels along the rows: from this layout that copy is a run of contiguous reads, from
/// [`im2col`]'s it is a gather of single entries `P` apart (measured: a sixth of a CNN step on one thread).
fn im2col_t<T: Real>(x: &[T], g: &ConvGeom, cols: &mut [T]) {
    let (ow, k) = (g.out_w(), g.patch());
    // Positions and patch rows counted by nested loops, not divided out of a flat index: two integer
    // divisions per run of five entries had cost as much as the copying.
    let mut patches = cols[..g.positions() * k].chunks_exact_mut(k);
    for oy in 0..g.out_h() {
        for ox in 0..ow {
            let patch = patches.next().expect("one patch per position");
            // The kernel columns `dx` whose reads `ox·stride + dx - pad` fall inside the row: one contiguous run.
            let x0 = ox * g.stride;
            let lo = g.pad.saturating_sub(x0).min(g.kw);
            let hi = (g.w + g.pad).saturating_sub(x0).clamp(lo, g.kw);
            let mut runs = patch.chunks_exact_mut(g.kw);
            for ci in 0..g.c_in {
                for dy in 0..g.kh {
                    let out = runs.next().expect("kh runs per channel");
                    let Some(iy) = (oy * g.stride + dy)
                        .checked_sub(g.pad)
                        .filter(|&v| v < g.h && lo < hi)
                    else {
                        out.fill(T::zero());
                        continue;
                    };
                    let start = ci * g.h * g.w + iy * g.w + x0 + lo - g.pad;
                    let src = &x[start..start + (hi - lo)];
                    // Runs are a few entries long: a copy of a length known at compile time is a few moves,
                    // where `copy_from_slice` of a run-time length is a call to `memmove` per run.
                    match (<&mut [T; 5]>::try_from(&mut *out), <&[T; 5]>::try_from(src)) {
                        (Ok(o), Ok(v)) => *o = *v,
                        _ => {
                            out[..lo].fill(T::zero());
                            out[lo..hi].copy_from_slice(src);
                            out[hi..].fill(T::zero());
                        }
                    }
                }
            }
        }
    }
}

/// Images per task of the backward pass. Each task sums its images' weight gradients into its own buffer and
/// the buffers are added in task order, so the result does not depend on the number of threads.
const GROUP: usize = 4;

// ANCHOR: conv_fast_forward
/// Forward: for every image `n`, `Y_n = cols(X_n) W + b`. `Y_n` is `P x C_out` column by column, which is
/// image `n`'s output in channel order: it is written straight into column `n` of the result.
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &DMatrix<T>,
    g: &ConvGeom,
) -> Result<DMatrix<T>> {
    super::conv::check_forward("conv_fast", x, w, b, g)?;
    let (n, p, k) = (x.ncols(), g.positions(), g.patch());
    let mut y = DMatrix::zeros(g.out_len(), n);
    if n == 0 {
        return Ok(y);
    }
    // `Wᵀ` laid out once per call, so that the kernel's copy of the right operand into panels along its columns
    // reads contiguous runs for every image instead of gathering `W`'s entries `K` apart.
    let wt = w.transpose();
    let wv = Strided {
        data: wt.as_slice(),
        rs: g.c_out,
        cs: 1,
    };
    y.as_mut_slice()
        .par_chunks_mut(g.out_len())
        .zip(x.as_slice().par_chunks(g.in_len()))
        .for_each_init(
            || vec![T::zero(); p * k],
            |cols, (yn, xn)| {
                im2col(xn, g, cols); // (5.1): cols(X_n) W, then + b
                gemm_strided(
                    p,
                    k,
                    g.c_out,
                    Strided::col_major(cols, p, false),
                    wv,
                    T::zero(),
                    yn,
                    p,
                );
                for (channel, &bias) in yn.chunks_exact_mut(p).zip(b.iter()) {
                    channel.iter_mut().for_each(|v| *v += bias);
                }
            },
        );
    Ok(y)
}

// ANCHOR_END: conv_fast_forward
/// Backward: with `G_n` image `n`'s error as a `P x C_out` matrix (column `n` of `dy`, as it lies),
/// `dW = Σ_n cols(X_n)ᵀ G_n`, `db = Σ_n Σ_rows G_n`, `dX_n = col2im(G_n Wᵀ)`. The patches are built again
/// from `x` rather than kept from the forward pass.
pub fn backward<T: Real>(
    dy: &DMatrix<T>,
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    g: &ConvGeom,
    need_dx: bool,
) -> Result<ConvGrads<T>> {
    super::conv::check_backward("conv_fast backward", dy, x, w, g)?;
    let (n, p, k, c) = (dy.ncols(), g.positions(), g.patch(), g.c_out);
    let mut dx = if need_dx {
        DMatrix::zeros(g.in_len(), n)
    } else {
        DMatrix::zeros(0, 0)
    };
    let wv = Strided::of(w, true);
    let dx_chunks: Vec<Option<&mut [T]>> = if need_dx {
        dx.as_mut_slice()
            .chunks_mut(g.in_len() * GROUP)
            .map(Some)
            .collect()
    } else {
        (0..n.div_ceil(GROUP)).map(|_| None).collect()
    };
    // ANCHOR: conv_fast_backward
    let partial: Vec<(Vec<T>, Vec<T>)> = dx_chunks
        .into_par_iter()
        .enumerate()
        .map(|(group, mut dx_group)| {
            let (mut dw, mut db) = (vec![T::zero(); k * c], vec![T::zero(); c]);
            let mut cols = vec![T::zero(); p * k];
            let images = group * GROUP..((group + 1) * GROUP).min(n);
            for (i, img) in images.enumerate() {
                let gn = &dy.as_slice()[img * c * p..(img + 1) * c * p];
                im2col_t(
                    &x.as_slice()[img * g.in_len()..(img + 1) * g.in_len()],
                    g,
                    &mut cols,
                );
                let gv = Strided::col_major(gn, p, false);
                gemm_strided(
                    k,
                    p,
                    c,
                    Strided::col_major(&cols, k, false),
                    gv,
                    T::one(),
                    &mut dw,
                    k,
                );
                crate::kernels::sum::add_run_sums(gn, p, p, &mut db); // each channel's sum
                if let Some(dxg) = dx_group.as_deref_mut() {
                    gemm_strided(p, c, k, gv, wv, T::zero(), &mut cols, p); // (5.2) and (5.3)
                    col2im(&cols, g, &mut dxg[i * g.in_len()..(i + 1) * g.in_len()]);
                }
            }
            (dw, db)
        })
        .collect();
    // ANCHOR_END: conv_fast_backward
    let mut dw = DMatrix::zeros(k, c);
    let mut db = DMatrix::zeros(1, c);
    for (pw, pb) in &partial {
        dw.as_mut_slice()
            .iter_mut()
            .zip(pw)
            .for_each(|(a, &b)| *a += b);
        db.as_mut_slice()
            .iter_mut()
            .zip(pb)
            .for_each(|(a, &b)| *a += b);
    }
    Ok(ConvGrads { dx, dw, db })
}
