//! AdaDelta (Zeiler, 2012).

use super::{Optimizer, Slots};
use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;

// ANCHOR: adadelta
/// `E[g²] ← ρ E[g²] + (1 - ρ) g²`, `Δθ = -(√(E[Δθ²] + ε) / √(E[g²] + ε)) g`,
/// `E[Δθ²] ← ρ E[Δθ²] + (1 - ρ) Δθ²`, `θ ← θ + Δθ`.
///
/// The ratio of the two RMS values carries the units of `θ`, so there is **no learning rate**, as Zeiler
/// defines it: `set_lr` is ignored and `lr()` reports 1. (Implementations that multiply `Δθ` by a learning
/// rate, as the book's code does, compute a different method.) Defaults `ρ = 0.95`, `ε = 1e-6`.
#[derive(Clone, Debug)]
pub struct AdaDelta<T: Real> {
    pub rho: f64,
    pub eps: f64,
    avg_sq_grad: Slots<T>,
    avg_sq_step: Slots<T>,
}
// ANCHOR_END: adadelta

impl<T: Real> AdaDelta<T> {
    pub fn new() -> Self {
        AdaDelta {
            rho: 0.95,
            eps: 1e-6,
            avg_sq_grad: Slots::new(),
            avg_sq_step: Slots::new(),
        }
    }
}

impl<T: Real> Default for AdaDelta<T> {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: adadelta_step
impl<T: Real> Optimizer<T> for AdaDelta<T> {
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()> {
        let (rho, eps) = (T::of(self.rho), T::of(self.eps));
        let one_rho = T::one() - rho;
        let slots = &mut [&mut self.avg_sq_grad, &mut self.avg_sq_step];
        super::update(tape, grads, params, slots, |w, g, s| {
            let [eg, ed] = s else {
                unreachable!("two slots")
            };
            for (((w, &gi), egi), edi) in w.iter_mut().zip(g).zip(eg.iter_mut()).zip(ed.iter_mut())
            {
                *egi = rho * *egi + one_rho * gi * gi;
                let delta = -((*edi + eps).sqrt() / (*egi + eps).sqrt()) * gi; // (5.18)
                *edi = rho * *edi + one_rho * delta * delta;
                *w += delta;
            }
        })
    }
    fn lr(&self) -> f64 {
        1.0
    }
    fn set_lr(&mut self, _lr: f64) {}
    // ANCHOR_END: adadelta_step
    fn slots(&mut self) -> Vec<(&'static str, &mut Slots<T>)> {
        vec![
            ("avg_sq_grad", &mut self.avg_sq_grad),
            ("avg_sq_step", &mut self.avg_sq_step),
        ]
    }
}
