//! Convolution, fast (book chapter 5): im2col turns every patch the kernels slide over into a row of one
//! matrix, so the whole layer, for the whole batch, is one matrix product; col2im scatters the patches'
//! gradients back. Same shapes and results as the naive [`super::conv`].

use crate::autograd::ops::gemm;
use crate::layout::ConvGeom;
use crate::scalar::Real;
use nalgebra::DMatrix;

use super::conv::ConvGrads;

// ANCHOR: im2col
/// The patches as rows: `(N·P) x K`, row `n·P + p` the patch under output position `p` of image `n`.
/// Filled column by column, so writes are sequential; padding stays zero.
pub fn im2col<T: Real>(x: &DMatrix<T>, g: &ConvGeom) -> DMatrix<T> {
    let n = x.ncols();
    let (oh, ow, p) = (g.out_h(), g.out_w(), g.positions());
    let mut cols = DMatrix::zeros(n * p, g.patch());
    let src = x.as_slice();
    for (k, mut col) in cols.column_iter_mut().enumerate() {
        let (ci, dy, dx) = (k / (g.kh * g.kw), (k / g.kw) % g.kh, k % g.kw);
        for img in 0..n {
            let base = img * g.in_len() + ci * g.h * g.w;
            for oy in 0..oh {
                let Some(iy) = (oy * g.stride + dy).checked_sub(g.pad).filter(|&v| v < g.h) else {
                    continue;
                };
                let row = img * p + oy * ow;
                for ox in 0..ow {
                    if let Some(ix) = (ox * g.stride + dx).checked_sub(g.pad).filter(|&v| v < g.w) {
                        col[row + ox] = src[base + iy * g.w + ix];
                    }
                }
            }
        }
    }
    cols
}

/// The inverse movement of [`im2col`], adding where patches overlap: the gradient of the input.
pub fn col2im<T: Real>(dcols: &DMatrix<T>, g: &ConvGeom, n: usize) -> DMatrix<T> {
    let (oh, ow, p) = (g.out_h(), g.out_w(), g.positions());
    let mut dx = DMatrix::zeros(g.in_len(), n);
    let dst = dx.as_mut_slice();
    for (k, col) in dcols.column_iter().enumerate() {
        let (ci, dy, dxk) = (k / (g.kh * g.kw), (k / g.kw) % g.kh, k % g.kw);
        for img in 0..n {
            let base = img * g.in_len() + ci * g.h * g.w;
            for oy in 0..oh {
                let Some(iy) = (oy * g.stride + dy).checked_sub(g.pad).filter(|&v| v < g.h) else {
                    continue;
                };
                let row = img * p + oy * ow;
                for ox in 0..ow {
                    if let Some(ix) = (ox * g.stride + dxk)
                        .checked_sub(g.pad)
                        .filter(|&v| v < g.w)
                    {
                        dst[base + iy * g.w + ix] += col[row + ox];
                    }
                }
            }
        }
    }
    dx
}
// ANCHOR_END: im2col

/// `(N·P) x C` (row `n·P + p`) to the image layout `(C·P) x N`.
fn rows_to_images<T: Real>(r: &DMatrix<T>, n: usize, p: usize) -> DMatrix<T> {
    let c = r.ncols();
    DMatrix::from_fn(c * p, n, |cp, img| r[(img * p + cp % p, cp / p)])
}

/// The image layout `(C·P) x N` to `(N·P) x C`.
fn images_to_rows<T: Real>(y: &DMatrix<T>, p: usize) -> DMatrix<T> {
    let (cp, n) = y.shape();
    DMatrix::from_fn(n * p, cp / p, |row, c| y[(c * p + row % p, row / p)])
}

// ANCHOR: conv_fast
/// Forward: `Y = im2col(X) W + b`, one product for the batch. Returns the patches for the backward pass.
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &DMatrix<T>,
    g: &ConvGeom,
) -> (DMatrix<T>, DMatrix<T>) {
    let cols = im2col(x, g);
    let mut r = gemm(&cols, false, w, false);
    for (mut col, &bias) in r.column_iter_mut().zip(b.iter()) {
        col.add_scalar_mut(bias);
    }
    (rows_to_images(&r, x.ncols(), g.positions()), cols)
}

/// Backward: with `G` the error as patch rows, `dW = colsᵀ G`, `db = Σ_rows G`, `dX = col2im(G Wᵀ)`.
pub fn backward<T: Real>(
    dy: &DMatrix<T>,
    cols: &DMatrix<T>,
    w: &DMatrix<T>,
    g: &ConvGeom,
    need_dx: bool,
) -> ConvGrads<T> {
    let n = dy.ncols();
    let gr = images_to_rows(dy, g.positions());
    let dw = gemm(cols, true, &gr, false);
    let db = DMatrix::from_row_slice(1, gr.ncols(), gr.row_sum().as_slice());
    let dx = if need_dx {
        col2im(&gemm(&gr, false, w, true), g, n)
    } else {
        DMatrix::zeros(0, 0)
    };
    ConvGrads { dx, dw, db }
}
// ANCHOR_END: conv_fast
