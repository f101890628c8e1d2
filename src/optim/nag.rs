//! Nesterov's accelerated gradient (Nesterov, 1983; in this form Sutskever et al., 2013).

use super::{Optimizer, Slots};
use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;

// ANCHOR: nag
/// Nesterov looks ahead: `v ← μ v - η ∇f(θ + μ v)`, `θ ← θ + v`. Tracking the look-ahead point
/// `φ = θ + μ v` instead of `θ` gives a rule that needs only the gradient at the parameters we hold:
/// `v_new = μ v - η g`, `φ ← φ - μ v + (1 + μ) v_new` (the parameters stored are `φ`). Default `μ = 0.9`.
#[derive(Clone, Debug)]
pub struct Nag<T: Real> {
    pub lr: f64,
    pub mu: f64,
    v: Slots<T>,
}

impl<T: Real> Nag<T> {
    pub fn new(lr: f64) -> Self {
        Nag {
            lr,
            mu: 0.9,
            v: Slots::new(),
        }
    }
}

impl<T: Real> Optimizer<T> for Nag<T> {
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()> {
        let (lr, mu) = (T::of(self.lr), T::of(self.mu));
        super::update(tape, grads, params, &mut [&mut self.v], |w, g, s| {
            for ((w, &gi), vi) in w.iter_mut().zip(g).zip(s[0].iter_mut()) {
                let prev = *vi;
                *vi = mu * prev - lr * gi;
                *w += -mu * prev + (T::one() + mu) * *vi;
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
// ANCHOR_END: nag
