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
        super::update(tape, grads, params, &mut [&mut self.v], |w, g, s| {
            for ((w, &gi), vi) in w.iter_mut().zip(g).zip(s[0].iter_mut()) {
                *vi = mu * *vi - lr * gi;
                *w += *vi;
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
        vec![("v", &mut self.v)]
    }
}
// ANCHOR_END: momentum
