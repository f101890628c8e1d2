//! SGD with momentum (Polyak, 1964).

use super::{Optimizer, Slots};
use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;

// ANCHOR: momentum
/// `v ← μ v - η g`, `θ ← θ + v`: the velocity remembers past steps, so consistent directions accelerate (up
/// to `1/(1-μ)` times) and oscillating ones cancel. Default `μ = 0.9`.
#[derive(Clone, Debug)]
pub struct Momentum<T: Real> {
    pub lr: f64,
    pub mu: f64,
    v: Slots<T>,
}

impl<T: Real> Momentum<T> {
    pub fn new(lr: f64) -> Self {
        Momentum {
            lr,
            mu: 0.9,
            v: Slots::new(),
        }
    }
}

impl<T: Real> Optimizer<T> for Momentum<T> {
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()> {
        let (lr, mu) = (T::of(self.lr), T::of(self.mu));
        for (i, &p) in params.iter().enumerate() {
            let Some(g) = grads.get(p) else { continue };
            let v = self.v.get(i, g.shape());
            for ((w, &gi), vi) in tape
                .param_mut(p)?
                .as_mut_slice()
                .iter_mut()
                .zip(g.as_slice())
                .zip(v.as_mut_slice())
            {
                *vi = mu * *vi - lr * gi;
                *w += *vi;
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
// ANCHOR_END: momentum
