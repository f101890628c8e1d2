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
        for (i, &p) in params.iter().enumerate() {
            let Some(g) = grads.get(p) else { continue };
            let s = self.sum_sq.get(i, g.shape());
            for ((w, &gi), si) in tape
                .param_mut(p)?
                .as_mut_slice()
                .iter_mut()
                .zip(g.as_slice())
                .zip(s.as_mut_slice())
            {
                *si += gi * gi;
                *w -= lr * gi / (si.sqrt() + eps);
            }
        }
        Ok(())
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}
// ANCHOR_END: adagrad
