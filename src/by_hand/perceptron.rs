//! The perceptron's loss and its gradient, derived by hand (book chapter 1).
//!
//! A point `(x, y)` with `y ∈ {+1, -1}` is misclassified when `y (w·x + b) ≤ 0`. The perceptron loss sums,
//! over the misclassified set `M`, how far on the wrong side each point is:
//! `L(w, b) = -Σ_{i ∈ M} y_i (w·x_i + b)`, which is `≥ 0` and is 0 exactly when nothing is misclassified.
//! For one misclassified point the gradient is `∂L/∂w = -y x`, `∂L/∂b = -y`, so the gradient step with
//! learning rate `η` is `w ← w + η y x`, `b ← b + η y`: the perceptron update.

use nalgebra::{DMatrix, DVector};

// ANCHOR: perceptron_grad
/// `(∂L/∂w, ∂L/∂b)` of the perceptron loss of one misclassified point `x` with label `y`.
pub fn loss_grad(x: &[f64], y: f64) -> (DVector<f64>, f64) {
    (
        DVector::from_iterator(x.len(), x.iter().map(|&v| -y * v)),
        -y,
    )
}
// ANCHOR_END: perceptron_grad

/// The perceptron loss of a whole set: `-Σ_{i ∈ M} y_i (w·x_i + b)` over the rows `x_i` of `x`.
pub fn loss(x: &DMatrix<f64>, y: &[f64], w: &DVector<f64>, b: f64) -> f64 {
    (0..x.nrows())
        .map(|i| y[i] * (x.row(i).transpose().dot(w) + b))
        .filter(|&m| m <= 0.0)
        .map(|m| -m)
        .sum()
}
