//! The perceptron and its learning algorithm (book chapter 1).

use crate::autograd::Tape;
use crate::by_hand;
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};

/// `f(x) = sign(w·x + b)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Perceptron {
    pub w: DVector<f64>,
    pub b: f64,
}

impl Perceptron {
    pub fn zeros(dim: usize) -> Self {
        Perceptron {
            w: DVector::zeros(dim),
            b: 0.0,
        }
    }

    /// `y (w·x + b)`: positive when `x` is on the side its label says.
    pub fn margin(&self, x: &[f64], y: f64) -> f64 {
        y * (self.w.iter().zip(x).map(|(w, x)| w * x).sum::<f64>() + self.b)
    }

    pub fn predict(&self, x: &[f64]) -> f64 {
        if self.margin(x, 1.0) > 0.0 {
            1.0
        } else {
            -1.0
        }
    }
}

/// Where the gradient of the perceptron loss comes from: the hand-derived formula, or the tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gradient {
    ByHand,
    Tape,
}

/// The outcome of training.
#[derive(Clone, Debug)]
pub struct Trained {
    pub model: Perceptron,
    /// Number of updates (misclassified points corrected).
    pub updates: usize,
    /// Number of full or partial scans over the data.
    pub scans: usize,
    /// The model after each update, starting from the initial one.
    pub history: Vec<Perceptron>,
}

// ANCHOR: perceptron_loss_tape
/// The gradient of the perceptron loss `L = -y (w·x + b)` of one point, computed by the tape.
pub fn tape_loss_grad(model: &Perceptron, x: &[f64], y: f64) -> Result<(DVector<f64>, f64)> {
    let mut t = Tape::<f64>::new();
    let w = t.param(DMatrix::from_column_slice(x.len(), 1, model.w.as_slice()));
    let b = t.param(DMatrix::from_element(1, 1, model.b));
    let xv = t.constant(DMatrix::from_row_slice(1, x.len(), x));
    let z = t.matmul(xv, w)?;
    let z = t.add(z, b)?;
    let loss = t.scale(z, -y)?;
    let g = t.backward(loss)?;
    let gw = g.get_or_zeros(&t, w)?;
    let gb = g.get_or_zeros(&t, b)?;
    Ok((DVector::from_column_slice(gw.as_slice()), gb[(0, 0)]))
}
// ANCHOR_END: perceptron_loss_tape

fn check_data(x: &DMatrix<f64>, y: &[f64]) -> Result<()> {
    if x.nrows() == 0 || x.nrows() != y.len() {
        return Err(Error::invalid(
            "perceptron",
            format!(
                "need one label per point and at least one point: {} points, {} labels",
                x.nrows(),
                y.len()
            ),
        ));
    }
    if let Some((i, l)) = y.iter().enumerate().find(|(_, &l)| l != 1.0 && l != -1.0) {
        return Err(Error::invalid(
            "perceptron",
            format!("label {l} of point {i} is not +1 or -1"),
        ));
    }
    Ok(())
}

// ANCHOR: train
/// The perceptron learning algorithm as the book runs it: start from `w = 0, b = 0`; scan the points in
/// order; on the first misclassified one (`y (w·x + b) ≤ 0`) take a gradient step of the perceptron loss
/// with rate `lr` and scan again from the start; stop after a full scan without a mistake.
///
/// On data that is not linearly separable this never stops, so `max_updates` bounds it with an error.
pub fn train(
    x: &DMatrix<f64>,
    y: &[f64],
    lr: f64,
    max_updates: usize,
    gradient: Gradient,
) -> Result<Trained> {
    check_data(x, y)?;
    let mut model = Perceptron::zeros(x.ncols());
    let mut history = vec![model.clone()];
    let mut scans = 0;
    let point = |i: usize| -> Vec<f64> { x.row(i).iter().copied().collect() };
    let margin = |m: &Perceptron, i: usize| {
        y[i] * (x
            .row(i)
            .iter()
            .zip(m.w.iter())
            .map(|(a, b)| a * b)
            .sum::<f64>()
            + m.b)
    };
    loop {
        scans += 1;
        let Some(i) = (0..x.nrows()).find(|&i| margin(&model, i) <= 0.0) else {
            break;
        };
        if history.len() > max_updates {
            return Err(Error::invalid(
                "perceptron",
                format!("no separating plane after {max_updates} updates: the data may not be linearly separable"),
            ));
        }
        let (gw, gb) = match gradient {
            Gradient::ByHand => by_hand::perceptron::loss_grad(&point(i), y[i]),
            Gradient::Tape => tape_loss_grad(&model, &point(i), y[i])?,
        };
        model.w -= gw * lr;
        model.b -= gb * lr;
        history.push(model.clone());
    }
    Ok(Trained {
        model,
        updates: history.len() - 1,
        scans,
        history,
    })
}
// ANCHOR_END: train

// ANCHOR: novikoff
/// Novikoff's bound on the number of updates: with `R = max ‖(x_i, 1)‖` and `γ` the margin of any
/// separating plane `(w, b)` scaled to `‖(w, b)‖ = 1`, that is `γ = min y_i (w·x_i + b) / ‖(w, b)‖`, the
/// algorithm above (from zero, any rate) makes at most `(R / γ)²` updates. `None` when `(w, b)` does not
/// separate the data.
pub fn novikoff_bound(x: &DMatrix<f64>, y: &[f64], w: &DVector<f64>, b: f64) -> Option<f64> {
    let norm = (w.norm_squared() + b * b).sqrt();
    let mut gamma = f64::INFINITY;
    let mut r2: f64 = 0.0;
    for (xi, &yi) in x.row_iter().zip(y) {
        gamma = gamma.min(yi * (xi.transpose().dot(w) + b) / norm);
        r2 = r2.max(xi.norm_squared() + 1.0);
    }
    (gamma > 0.0).then(|| r2 / (gamma * gamma))
}
// ANCHOR_END: novikoff
