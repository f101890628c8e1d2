//! Losses, and the row-wise softmax they are built around.

use super::shape_of;
use crate::autograd::tape::{Op, Tape, Var};
use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;

/// Row-wise softmax, stabilised: subtracting each row's maximum leaves the result unchanged and keeps every
/// `exp` argument at or below 0, so nothing overflows.
pub fn softmax_rows<T: Real>(z: &DMatrix<T>) -> DMatrix<T> {
    softmax_rows_lse(z).0
}

// ANCHOR: softmax_lse
/// [`softmax_rows`], and each row's log-sum-exp `m + log Σ_k e^{z_k - m}` (`m` the row's maximum) from the same
/// exponentials: the cross-entropy needs both, and computing them apart had cost a second `exp` per entry and
/// an allocation per row.
fn softmax_rows_lse<T: Real>(z: &DMatrix<T>) -> (DMatrix<T>, Vec<T>) {
    let mut p = z.clone();
    let mut lse = Vec::with_capacity(z.nrows());
    for mut row in p.row_iter_mut() {
        let m = row.max();
        row.apply(|v| *v = (*v - m).exp());
        let s = row.sum();
        lse.push(m + s.ln());
        row /= s;
    }
    (p, lse)
}
// ANCHOR_END: softmax_lse

struct Softmax;

impl<T: Real> Tape<T> {
    /// Softmax of each row: `p_ij = e^{z_ij} / Σ_k e^{z_ik}`.
    ///
    /// Backward: `dz_i = p_i ⊙ (g_i - <g_i, p_i>)` per row.
    pub fn softmax(&mut self, z: Var) -> Result<Var> {
        let out = softmax_rows(self.get(z, "softmax")?);
        self.record(out, &[z], Softmax)
    }
}

impl<T: Real> Op<T> for Softmax {
    fn name(&self) -> &'static str {
        "softmax"
    }
    fn backward(
        &self,
        _x: &[&DMatrix<T>],
        p: &DMatrix<T>,
        g: &DMatrix<T>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let mut dz = p.component_mul(g);
        for (i, mut row) in dz.row_iter_mut().enumerate() {
            let dot = g.row(i).dot(&p.row(i));
            row -= p.row(i) * dot;
        }
        vec![Some(dz)]
    }
}

// ANCHOR: softmax_cross_entropy
/// Saved by the forward pass: the probabilities and the labels.
struct SoftmaxCrossEntropy<T: Real> {
    probs: DMatrix<T>,
    labels: Vec<usize>,
}

impl<T: Real> Tape<T> {
    /// Mean cross-entropy of softmax(`logits`) against integer `labels`, one per row:
    /// `L = (1/N) Σ_i [log Σ_k e^{z_ik} - z_{i,y_i}]`, with the log-sum-exp taken around each row's maximum
    /// so that large logits neither overflow nor lose the small ones.
    ///
    /// Backward: `dz = g (P - Y) / N` with `Y` the one-hot labels.
    pub fn softmax_cross_entropy(&mut self, logits: Var, labels: &[usize]) -> Result<Var> {
        // ANCHOR_END: softmax_cross_entropy
        const OP: &str = "softmax_cross_entropy";
        let z = self.get(logits, OP)?;
        let (n, k) = z.shape();
        if labels.len() != n || n == 0 {
            return Err(Error::shape(
                OP,
                &[shape_of(z), Shape(labels.len(), 1)],
                format!("one label per row of the {n} non-empty rows of logits"),
            ));
        }
        if let Some((row, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= k) {
            return Err(Error::Label {
                op: OP,
                row,
                label,
                classes: k,
            });
        }
        // ANCHOR: softmax_cross_entropy_body
        let (probs, lse) = softmax_rows_lse(z);
        let mut loss = T::zero();
        for (i, &y) in labels.iter().enumerate() {
            loss += lse[i] - z[(i, y)]; // (T.2)
        }
        let loss = loss / T::of(n as f64);
        let op = SoftmaxCrossEntropy {
            probs,
            labels: labels.to_vec(),
        };
        self.record(DMatrix::from_element(1, 1, loss), &[logits], op)
    }
}

impl<T: Real> Op<T> for SoftmaxCrossEntropy<T> {
    fn name(&self) -> &'static str {
        "softmax_cross_entropy"
    }
    fn backward(
        &self,
        _x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let n = self.labels.len();
        let mut dz = self.probs.clone();
        for (i, &y) in self.labels.iter().enumerate() {
            dz[(i, y)] -= T::one();
        }
        dz *= g[(0, 0)] / T::of(n as f64); // (T.3), times the incoming g
        vec![Some(dz)]
    }
}
// ANCHOR_END: softmax_cross_entropy_body

// ANCHOR: mse
struct Mse;

impl<T: Real> Tape<T> {
    /// Mean squared error over every entry: `L = (1/(N·D)) Σ (p - t)²` for `N x D` predictions. The loss
    /// and its gradient use the same `1/(N·D)`, so the number reported is the number minimised.
    ///
    /// Backward: `dp = g · 2 (p - t) / (N·D)`, `dt = -dp`.
    pub fn mse(&mut self, pred: Var, target: Var) -> Result<Var> {
        let (p, t) = (self.get(pred, "mse")?, self.get(target, "mse")?);
        if p.shape() != t.shape() || p.is_empty() {
            return Err(Error::shape(
                "mse",
                &[shape_of(p), shape_of(t)],
                "non-empty predictions and targets of the same shape",
            ));
        }
        let loss = (p - t).norm_squared() / T::of(p.len() as f64);
        self.record(DMatrix::from_element(1, 1, loss), &[pred, target], Mse)
    }
}

impl<T: Real> Op<T> for Mse {
    fn name(&self) -> &'static str {
        "mse"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let k = g[(0, 0)] * T::of(2.0 / x[0].len() as f64);
        let dp = (x[0] - x[1]) * k;
        let dt = needs[1].then(|| -&dp);
        vec![needs[0].then_some(dp), dt]
    }
}
// ANCHOR_END: mse
