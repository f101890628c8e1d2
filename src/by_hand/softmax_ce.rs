//! Softmax followed by cross-entropy, derived by hand (book chapter 2).
//!
//! For logits `Z: N x K` and labels `y_i`, with `P = softmax(Z)` row by row and `Y` the one-hot labels:
//! `L = -(1/N) Σ_i log P_{i, y_i} = (1/N) Σ_i [log Σ_k e^{Z_ik} - Z_{i, y_i}]`.
//! Differentiating the second form, `∂/∂Z_ik log Σ_j e^{Z_ij} = P_ik` and `∂Z_{i,y_i}/∂Z_ik = Y_ik`, so
//! `∂L/∂Z = (P - Y) / N`: the softmax and the logarithm cancel into a difference of probabilities.

use crate::autograd::ops::softmax_rows;
use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;

// ANCHOR: softmax_ce
pub struct SoftmaxCeCache<T: Real> {
    probs: DMatrix<T>,
    labels: Vec<usize>,
}

/// The mean cross-entropy, stable: log-sum-exp around each row's maximum.
pub fn forward<T: Real>(z: &DMatrix<T>, labels: &[usize]) -> Result<(T, SoftmaxCeCache<T>)> {
    let (n, k) = z.shape();
    if labels.len() != n || n == 0 || labels.iter().any(|&l| l >= k) {
        return Err(Error::shape(
            "softmax_ce",
            &[Shape(n, k), Shape(labels.len(), 1)],
            format!("one label in 0..{k} per row of the {n} non-empty rows"),
        ));
    }
    let probs = softmax_rows(z);
    let mut loss = T::zero();
    for (i, &y) in labels.iter().enumerate() {
        let m = z.row(i).max();
        let lse = m + z.row(i).map(|v| (v - m).exp()).sum().ln();
        loss += lse - z[(i, y)];
    }
    let cache = SoftmaxCeCache {
        probs,
        labels: labels.to_vec(),
    };
    Ok((loss / T::of(n as f64), cache))
}

/// `dZ = (P - Y) / N`.
pub fn backward<T: Real>(cache: &SoftmaxCeCache<T>) -> DMatrix<T> {
    let n = T::of(cache.labels.len() as f64);
    let mut dz = cache.probs.clone();
    for (i, &y) in cache.labels.iter().enumerate() {
        dz[(i, y)] -= T::one();
    }
    dz / n
}
// ANCHOR_END: softmax_ce
