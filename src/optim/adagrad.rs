//! Adagrad (Duchi, Hazan and Singer, 2011).

use super::{Optimizer, Slots};
use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;

// ANCHOR: adagrad
/// `G ← G + g²`, `θ ← θ - η g / (√G + ε)`: each coordinate's step shrinks with the squared gradients it has
/// seen, so rare features keep large steps. The first step is `η g/(|g| + ε) ≈ η·sign(g)`; the rate then only
/// decays. Defaults `η = 0.01`, `ε = 1e-8`.
#[derive(Clone, Debug)]
pub struct Adagrad<T: Real> {
    pub lr: f64,
    pub eps: f64,
    sum_sq: Slots<T>,
}

impl<T: Real> Adagrad<T> {
    pub fn new(lr: f64) -> Self {
        Adagrad {
            lr,
            eps: 1e-8,
            sum_sq: Slots::new(),
        }
    }
}

impl<T: Real> Optimizer<T> for Adagrad<T> {
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()> {
        let (lr, eps) = (T::of(self.lr), T::of(self.eps));
        super::update(tape, grads, params, &mut [&mut self.sum_sq], |w, g, s| {
            for ((w, &gi), si) in w.iter_mut().zip(g).zip(s[0].iter_mut()) {
                *si += gi * gi;
                *w -= lr * gi / (si.sqrt() + eps);
            }
        })
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn slots(&mut self) -> Vec<(&'static str, &mut Slots<T>)> {
        vec![("sum_sq", &mut self.sum_sq)]
    }
}
// ANCHOR_END: adagrad
