//! Batch normalization on the tape, fully connected or convolutional, training or inference. Two
//! implementations: composed from tape ops (autograd derives the backward) and the hand-derived
//! [`crate::by_hand::batch_norm`] registered as one op (the fast path). `tests/batch_norm.rs` proves both equal
//! finite differences.

use super::module::{Buffer, Module};
use crate::autograd::{Op, Tape, Var};
use crate::by_hand::batch_norm::{self as bn, BnCache};
use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `N x D` rows of features: statistics per feature over the `N` rows.
    Fc { features: usize },
    /// Images `(C·H·W) x N`: statistics per channel over `N·H·W` values.
    Conv { channels: usize, hw: usize },
}

impl Form {
    fn width(self) -> usize {
        match self {
            Form::Fc { features } => features,
            Form::Conv { channels, .. } => channels,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BnImpl {
    Fused,
    Composed,
}

#[derive(Clone, Debug)]
pub struct BatchNorm {
    pub gamma: Var,
    pub beta: Var,
    pub form: Form,
    pub eps: f64,
    /// Running statistics: `r ← decay · r + (1 - decay) · batch`.
    pub decay: f64,
    pub imp: BnImpl,
    /// Running mean and (unbiased) variance per feature or channel, used at inference.
    running_mean: Buffer,
    running_var: Buffer,
    training: Cell<bool>,
}

impl BatchNorm {
    /// `γ = 1`, `β = 0`, running mean 0 and variance 1; the book's `decay = 0.95` and `ε = 1e-8`.
    pub fn new<T: Real>(tape: &mut Tape<T>, form: Form, imp: BnImpl) -> Self {
        let d = form.width();
        BatchNorm {
            gamma: tape.param(DMatrix::from_element(1, d, T::one())),
            beta: tape.param(DMatrix::zeros(1, d)),
            form,
            eps: 1e-8,
            decay: 0.95,
            imp,
            running_mean: RefCell::new(vec![0.0; d]),
            running_var: RefCell::new(vec![1.0; d]),
            training: Cell::new(true),
        }
    }

    /// Training mode normalises with the batch's statistics and updates the running ones; inference mode
    /// uses the running statistics, so its output for an example does not depend on the rest of the batch.
    pub fn set_training(&self, on: bool) {
        self.training.set(on);
    }

    /// Whether a pass of this layer now would normalize the image layout as it lies (the convolutional form,
    /// the fused implementation, training mode): the pass that [`super::conv_block::bn_relu_pool`] can join.
    pub(crate) fn image_pass(&self) -> bool {
        matches!(
            (self.form, self.imp, self.training.get()),
            (Form::Conv { .. }, BnImpl::Fused, true)
        )
    }

    pub fn running(&self) -> (Vec<f64>, Vec<f64>) {
        (
            self.running_mean.borrow().clone(),
            self.running_var.borrow().clone(),
        )
    }

    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        let xv = tape.value(x)?;
        let ok = match self.form {
            Form::Fc { features } => xv.ncols() == features,
            Form::Conv { channels, hw } => xv.nrows() == channels * hw,
        };
        if !ok || xv.is_empty() {
            return Err(Error::shape(
                "batch_norm",
                &[Shape(xv.nrows(), xv.ncols())],
                match self.form {
                    Form::Fc { features } => format!("N x {features} with N > 0"),
                    Form::Conv { channels, hw } => {
                        format!("{} x N images with N > 0", channels * hw)
                    }
                },
            ));
        }
        // The fused training pass of the convolutional form works on the image layout as it is.
        if let (Form::Conv { channels, .. }, BnImpl::Fused, true) =
            (self.form, self.imp, self.training.get())
        {
            let (g, b) = (tape.value(self.gamma)?, tape.value(self.beta)?);
            let m = xv.len() / channels;
            let (y, cache, stats) = bn::forward_conv(xv, channels, g, b, self.eps)?;
            self.update_running(m, &stats);
            return tape.record(
                y,
                &[x, self.gamma, self.beta],
                FusedBn {
                    cache,
                    image_layout: true,
                },
            );
        }
        // Otherwise work on rows of features: the convolutional form moves each channel into a column.
        let (rows, back) = match self.form {
            Form::Fc { .. } => (x, None),
            Form::Conv { channels, hw } => {
                let n = xv.ncols();
                let (to, from) = layout_index(channels, hw, n);
                (
                    tape.gather(x, Arc::new(to), n * hw, channels)?,
                    Some((from, hw, n)),
                )
            }
        };
        let y = if self.training.get() {
            self.train_rows(tape, rows)?
        } else {
            self.infer_rows(tape, rows)?
        };
        match back {
            None => Ok(y),
            Some((from, hw, n)) => tape.gather(y, Arc::new(from), self.form.width() * hw, n),
        }
    }

    // ANCHOR: bn_train_rows
    fn train_rows<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        let (y, (mean, var)) = match self.imp {
            BnImpl::Fused => {
                let (xv, g, b) = (
                    tape.value(x)?,
                    tape.value(self.gamma)?,
                    tape.value(self.beta)?,
                );
                let (y, cache, stats) = bn::forward(xv, g, b, self.eps)?;
                (
                    tape.record(
                        y,
                        &[x, self.gamma, self.beta],
                        FusedBn {
                            cache,
                            image_layout: false,
                        },
                    )?,
                    stats,
                )
            }
            BnImpl::Composed => {
                let mu = tape.mean_rows(x)?; // (6.1)
                let xc = tape.sub(x, mu)?;
                let sq = tape.mul(xc, xc)?;
                let var = tape.mean_rows(sq)?; // (6.2)
                let ve = tape.add_scalar(var, T::of(self.eps))?;
                let inv_std = tape.pow(ve, T::of(-0.5))?;
                let x_hat = tape.mul(xc, inv_std)?; // (6.3)
                let scaled = tape.mul(x_hat, self.gamma)?;
                let y = tape.add(scaled, self.beta)?; // (6.4)
                let stats = (
                    tape.value(mu)?.iter().copied().collect(),
                    tape.value(var)?.iter().copied().collect(),
                );
                (y, stats)
            }
        };
        self.update_running(tape.value(x)?.nrows(), &(mean, var));
        Ok(y)
    }

    // ANCHOR_END: bn_train_rows
    // ANCHOR: bn_running
    /// The running variance is the unbiased estimate over the `m` values that produced the statistic:
    /// `m = N` for the fully connected form, `N·H·W` for the convolutional one.
    pub(crate) fn update_running<T: Real>(&self, m: usize, (mean, var): &(Vec<T>, Vec<T>)) {
        let m = m as f64;
        let unbias = if m > 1.0 { m / (m - 1.0) } else { 1.0 };
        let (mut rm, mut rv) = (
            self.running_mean.borrow_mut(),
            self.running_var.borrow_mut(),
        );
        for (j, (mu, v)) in mean.iter().zip(var).enumerate() {
            rm[j] = self.decay * rm[j] + (1.0 - self.decay) * mu.as_f64(); // (6.5)
            rv[j] = self.decay * rv[j] + (1.0 - self.decay) * v.as_f64() * unbias;
        }
    }

    fn infer_rows<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        let (rm, rv) = (self.running_mean.borrow(), self.running_var.borrow());
        let d = self.form.width();
        let mean = tape.constant(DMatrix::from_iterator(1, d, rm.iter().map(|&v| T::of(v))));
        let inv_std = tape.constant(DMatrix::from_iterator(
            1,
            d,
            rv.iter().map(|&v| T::of(1.0 / (v + self.eps).sqrt())),
        ));
        let xc = tape.sub(x, mean)?;
        let x_hat = tape.mul(xc, inv_std)?;
        let scaled = tape.mul(x_hat, self.gamma)?;
        tape.add(scaled, self.beta) // (6.7)
    }
}
// ANCHOR_END: bn_running

impl Module for BatchNorm {
    fn named_params(&self) -> Vec<(String, Var)> {
        vec![("gamma".into(), self.gamma), ("beta".into(), self.beta)]
    }
    fn named_buffers(&self) -> Vec<(String, &Buffer)> {
        vec![
            ("running_mean".into(), &self.running_mean),
            ("running_var".into(), &self.running_var),
        ]
    }
    fn set_training(&self, on: bool) {
        self.training.set(on);
    }
}

/// Gather indices between the image layout `(C·HW) x N` and rows of channels `(N·HW) x C`, both ways.
fn layout_index(c: usize, hw: usize, n: usize) -> (Vec<u32>, Vec<u32>) {
    let chw = c * hw;
    let mut to = Vec::with_capacity(n * chw);
    for ch in 0..c {
        for r in 0..n * hw {
            to.push(((ch * hw + r % hw) + (r / hw) * chw) as u32);
        }
    }
    let mut from = vec![0u32; n * chw];
    for (k, &src) in to.iter().enumerate() {
        from[src as usize] = k as u32;
    }
    (to, from)
}

struct FusedBn<T: Real> {
    cache: BnCache<T>,
    /// The convolutional form's pass on the image layout (`forward_conv`), else rows of features.
    image_layout: bool,
}

impl<T: Real> Op<T> for FusedBn<T> {
    fn name(&self) -> &'static str {
        if self.image_layout {
            "batch_norm_conv"
        } else {
            "batch_norm"
        }
    }
    fn backward(
        &self,
        _x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let grads = if self.image_layout {
            bn::backward_conv(g, &self.cache)
        } else {
            bn::backward(g, &self.cache)
        }
        .expect("the tape's gradient has the output's shape, and the cache is the forward pass's");
        vec![
            needs[0].then_some(grads.dx),
            needs[1].then_some(grads.dgamma),
            needs[2].then_some(grads.dbeta),
        ]
    }
}
