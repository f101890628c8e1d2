//! The fully connected layer composed from tape ops; autograd derives its backward. Its hand-derived twin is
//! [`crate::by_hand::fc`], and `tests/layers.rs` proves the two equal, and equal to finite differences.

use super::{Init, Module};
use crate::autograd::{Tape, Var};
use crate::error::Result;
use crate::rng::Rng;
use crate::scalar::Real;

// ANCHOR: linear
/// `Y = X W + b` for a batch `X: N x fan_in`.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    pub w: Var,
    pub b: Var,
}

impl Linear {
    /// Weights drawn by `init`, bias zero.
    pub fn new<T: Real>(
        tape: &mut Tape<T>,
        fan_in: usize,
        fan_out: usize,
        init: Init,
        rng: &mut Rng,
    ) -> Self {
        let w = tape.param(init.matrix(fan_in, fan_out, rng));
        let b = tape.param(Init::Zeros.matrix(1, fan_out, rng));
        Linear { w, b }
    }

    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        let xw = tape.matmul(x, self.w)?;
        tape.add(xw, self.b)
    }
}
// ANCHOR_END: linear

impl Module for Linear {
    fn named_params(&self) -> Vec<(String, Var)> {
        vec![("weight".into(), self.w), ("bias".into(), self.b)]
    }
}
