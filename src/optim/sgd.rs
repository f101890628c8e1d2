//! Plain stochastic gradient descent.

use super::Optimizer;
use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;

// ANCHOR: sgd
/// `θ ← θ - η ∇θ L`, in place.
#[derive(Clone, Debug)]
pub struct Sgd {
    pub lr: f64,
}

impl<T: Real> Optimizer<T> for Sgd {
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()> {
        let lr = T::of(self.lr);
        super::update(tape, grads, params, &mut [], |w, g, _| {
            for (w, &d) in w.iter_mut().zip(g) {
                *w -= lr * d;
            }
        })
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
}
// ANCHOR_END: sgd
