//! Inverted dropout, derived by hand (book chapters 8 and 9). In training each entry is kept with probability
//! `keep` and scaled by `1/keep`, so that the expected output equals the input and inference is the identity:
//! `y = x ⊙ m / keep` with `m` a 0/1 mask. Its derivative is the same map: `dx = g ⊙ m / keep`.
//!
//! The book's published code applies the mask in its backward pass but forgets the `1/keep` factor
//! ([`backward_book`]): its gradients are `keep` times too small, which `tests/dropout.rs` catches with the
//! finite-difference check that the correct [`backward`] passes.

use crate::error::{Error, Result, Shape};
use crate::rng::Rng;
use crate::scalar::Real;
use nalgebra::DMatrix;
use rand::Rng as _;

/// Checks `keep` is a probability in `(0, 1]` (`keep = 0` would drop everything and divide by zero).
pub fn check_keep(keep: f64) -> Result<()> {
    if !(keep > 0.0 && keep <= 1.0) {
        return Err(Error::invalid(
            "dropout",
            format!("keep probability must be in (0, 1], got {keep}"),
        ));
    }
    Ok(())
}

/// A 0/1 mask for `rows x cols` activations: a fresh draw per entry (every sample its own mask), or, with
/// `shared`, one `1 x cols` row for the whole batch (the book's variant).
pub fn mask<T: Real>(
    rows: usize,
    cols: usize,
    keep: f64,
    shared: bool,
    rng: &mut Rng,
) -> DMatrix<T> {
    let draw_rows = if shared { 1 } else { rows };
    // Drawn row by row so that the mask of the first examples does not depend on the batch size.
    let drawn = DMatrix::from_row_iterator(
        draw_rows,
        cols,
        (0..draw_rows * cols).map(|_| {
            if rng.random::<f64>() < keep {
                T::one()
            } else {
                T::zero()
            }
        }),
    );
    if shared {
        DMatrix::from_fn(rows, cols, |_, j| drawn[(0, j)])
    } else {
        drawn
    }
}

fn check<T: Real>(x: &DMatrix<T>, mask: &DMatrix<T>, keep: f64) -> Result<()> {
    check_keep(keep)?;
    if x.shape() != mask.shape() {
        return Err(Error::shape(
            "dropout",
            &[
                Shape(x.nrows(), x.ncols()),
                Shape(mask.nrows(), mask.ncols()),
            ],
            "a mask of the input's shape",
        ));
    }
    Ok(())
}

// ANCHOR: dropout
/// `y = x ⊙ m / keep`.
pub fn forward<T: Real>(x: &DMatrix<T>, mask: &DMatrix<T>, keep: f64) -> Result<DMatrix<T>> {
    check(x, mask, keep)?;
    let s = T::of(1.0 / keep);
    Ok(x.zip_map(mask, |v, m| v * m * s))
}

/// `dx = g ⊙ m / keep`: the same linear map as the forward pass.
pub fn backward<T: Real>(g: &DMatrix<T>, mask: &DMatrix<T>, keep: f64) -> Result<DMatrix<T>> {
    forward(g, mask, keep)
}

/// The book's backward pass, `dx = g ⊙ m`: without the `1/keep` of its forward pass. Kept only to show the
/// bug being caught.
pub fn backward_book<T: Real>(g: &DMatrix<T>, mask: &DMatrix<T>) -> Result<DMatrix<T>> {
    check(g, mask, 1.0)?;
    Ok(g.component_mul(mask))
}
// ANCHOR_END: dropout
