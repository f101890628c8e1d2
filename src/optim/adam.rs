//! Adam (Kingma and Ba, 2015).

use super::{Optimizer, Slots};
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
// ANCHOR_END: adam

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

// ANCHOR: adam_step
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
        super::update(
            tape,
            grads,
            params,
            &mut [&mut self.m, &mut self.v],
            |w, g, s| {
                let [m, v] = s else { unreachable!("two slots") };
                let entries = w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
                crate::kernels::wide(|| {
                    for (((w, &gi), mi), vi) in entries {
                        *mi = b1 * *mi + one_b1 * gi;
                        *vi = b2 * *vi + one_b2 * gi * gi;
                        *w -= step * *mi / (vi.sqrt() + eps); // (5.19)
                    }
                })
            },
        )
    }
    // ANCHOR_END: adam_step
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn slots(&mut self) -> Vec<(&'static str, &mut Slots<T>)> {
        vec![("m", &mut self.m), ("v", &mut self.v)]
    }
    fn steps(&self) -> u64 {
        self.t as u64
    }
    fn set_steps(&mut self, steps: u64) {
        self.t = steps.min(i32::MAX as u64) as i32;
    }
}
