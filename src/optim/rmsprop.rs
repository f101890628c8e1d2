//! RMSprop (Hinton, lecture 6e of "Neural Networks for Machine Learning", 2012).

use super::{Optimizer, Slots};
use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;

// ANCHOR: rmsprop
/// `E ← ρ E + (1 - ρ) g²`, `θ ← θ - η g / (√E + ε)`: Adagrad with a moving average instead of a sum, so the
/// rate adapts without decaying to zero. Defaults `η = 1e-3`, `ρ = 0.9`, `ε = 1e-8`.
#[derive(Clone, Debug)]
pub struct RmsProp<T: Real> {
    pub lr: f64,
    pub rho: f64,
    pub eps: f64,
    avg_sq: Slots<T>,
}

impl<T: Real> RmsProp<T> {
    pub fn new(lr: f64) -> Self {
        RmsProp {
            lr,
            rho: 0.9,
            eps: 1e-8,
            avg_sq: Slots::new(),
        }
    }
}

impl<T: Real> Optimizer<T> for RmsProp<T> {
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()> {
        let (lr, rho, eps) = (T::of(self.lr), T::of(self.rho), T::of(self.eps));
        super::update(tape, grads, params, &mut [&mut self.avg_sq], |w, g, s| {
            for ((w, &gi), ei) in w.iter_mut().zip(g).zip(s[0].iter_mut()) {
                *ei = rho * *ei + (T::one() - rho) * gi * gi;
                *w -= lr * gi / (ei.sqrt() + eps);
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
        vec![("avg_sq", &mut self.avg_sq)]
    }
}
// ANCHOR_END: rmsprop
