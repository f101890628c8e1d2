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
        for &p in params {
            if let Some(g) = grads.get(p) {
                for (w, &d) in tape
                    .param_mut(p)?
                    .as_mut_slice()
                    .iter_mut()
                    .zip(g.as_slice())
                {
                    *w -= lr * d;
                }
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
// ANCHOR_END: sgd
