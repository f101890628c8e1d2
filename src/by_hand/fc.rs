//! The fully connected layer, derived by hand.
//!
//! Forward, for a batch `X: N x D`, weights `W: D x M`, bias `b: 1 x M`:
//! `Y = X W + 1 b` (the bias added to every row).
//!
//! Backward, given `dY = ∂L/∂Y`: each `Y_nm = Σ_d X_nd W_dm + b_m`, so
//! - `∂L/∂X_nd = Σ_m dY_nm W_dm`, that is `dX = dY Wᵀ` (N x D);
//! - `∂L/∂W_dm = Σ_n X_nd dY_nm`, that is `dW = Xᵀ dY` (D x M);
//! - `∂L/∂b_m = Σ_n dY_nm`, the column sums of `dY` (1 x M): the bias was used once per row.

use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;

// ANCHOR: fc
/// What the backward pass needs from the forward pass.
pub struct FcCache<T: Real> {
    x: DMatrix<T>,
    w: DMatrix<T>,
}

pub struct FcGrads<T: Real> {
    pub dx: DMatrix<T>,
    pub dw: DMatrix<T>,
    pub db: DMatrix<T>,
}
// ANCHOR_END: fc

/// `Y = X W + b`.
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &DMatrix<T>,
) -> Result<(DMatrix<T>, FcCache<T>)> {
    if x.ncols() != w.nrows() || b.shape() != (1, w.ncols()) {
        return Err(Error::shape(
            "fc",
            &[
                Shape(x.nrows(), x.ncols()),
                Shape(w.nrows(), w.ncols()),
                Shape(b.nrows(), b.ncols()),
            ],
            "X: N x D, W: D x M, b: 1 x M",
        ));
    }
    // ANCHOR: fc_forward
    let mut y = x * w;
    for mut row in y.row_iter_mut() {
        row += b;
    }
    let cache = FcCache {
        x: x.clone(),
        w: w.clone(),
    };
    Ok((y, cache))
    // ANCHOR_END: fc_forward
}

/// `dX = dY Wᵀ`, `dW = Xᵀ dY`, `db = Σ_rows dY`. `dY` must have the output's shape `N x M`.
pub fn backward<T: Real>(dy: &DMatrix<T>, cache: &FcCache<T>) -> Result<FcGrads<T>> {
    let (x, w) = (&cache.x, &cache.w);
    if dy.shape() != (x.nrows(), w.ncols()) {
        return Err(Error::shape(
            "fc backward",
            &[
                Shape(dy.nrows(), dy.ncols()),
                Shape(x.nrows(), x.ncols()),
                Shape(w.nrows(), w.ncols()),
            ],
            "dY: N x M for X: N x D, W: D x M",
        ));
    }
    // ANCHOR: fc_backward
    // (T.6)
    Ok(FcGrads {
        dx: dy * w.transpose(),
        dw: x.tr_mul(dy),
        db: DMatrix::from_row_slice(1, dy.ncols(), dy.row_sum().as_slice()),
    })
    // ANCHOR_END: fc_backward
}
