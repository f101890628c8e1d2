//! Adam (Kingma and Ba, 2015).

use super::{in_chunks4, Optimizer, Slots};
use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;

// ANCHOR: adam
/// With `g` the gradient at step `t = 1, 2, …`:
/// `m ← β₁ m + (1 - β₁) g`, `v ← β₂ v + (1 - β₂) g²`, `m̂ = m / (1 - β₁ᵗ)`, `v̂ = v / (1 - β₂ᵗ)`,
/// `θ ← θ - η m̂ / (√v̂ + ε)`.
///
/// The step counter `t` advances on every step. (The book's published code never advances it, so its bias
/// correction stays at `t = 1` forever: `m̂ = m / 0.1` and `v̂ = v / 0.001`, which makes late steps about
/// `10 / √1000 ≈ 0.32` times what Adam prescribes, after early ones up to twice too large.)
#[derive(Clone, Debug)]
pub struct Adam<T: Real> {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    t: i32,
    /// First and second moments, per parameter.
    m: Slots<T>,
    v: Slots<T>,
}

impl<T: Real> Adam<T> {
    /// The paper's defaults: β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            t: 0,
            m: Slots::new(),
            v: Slots::new(),
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> i32 {
        self.t
    }
}

impl<T: Real> Optimizer<T> for Adam<T> {
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()> {
        self.t += 1;
        let (b1, b2) = (self.beta1, self.beta2);
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        // Fold both corrections into the step size: η √(1-β₂ᵗ)/(1-β₁ᵗ), with ε scaled to match, is exactly
        // η m̂ / (√v̂ + ε) and needs no temporary m̂, v̂.
        let step = T::of(self.lr * c2.sqrt() / c1);
        let eps = T::of(self.eps * c2.sqrt());
        let (b1, b2) = (T::of(b1), T::of(b2));
        let (one_b1, one_b2) = (T::one() - b1, T::one() - b2);
        for (slot, &p) in params.iter().enumerate() {
            let Some(g) = grads.get(p) else { continue };
            let m = self.m.get(slot, g.shape());
            let v = self.v.get(slot, g.shape());
            let theta = tape.param_mut(p)?;
            let update = |w: &mut [T], g: &[T], m: &mut [T], v: &mut [T]| {
                for (((w, &gi), mi), vi) in w.iter_mut().zip(g).zip(m).zip(v) {
                    *mi = b1 * *mi + one_b1 * gi;
                    *vi = b2 * *vi + one_b2 * gi * gi;
                    *w -= step * *mi / (vi.sqrt() + eps);
                }
            };
            in_chunks4(
                theta.as_mut_slice(),
                g.as_slice(),
                m.as_mut_slice(),
                v.as_mut_slice(),
                update,
            );
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
// ANCHOR_END: adam
