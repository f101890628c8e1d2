//! The vanilla RNN cell on the tape: its parameters, its step from tape ops, and its by-hand twin
//! [`crate::by_hand::rnn::RnnCell`]. Layers, directions and stacks come from [`super::recurrent`]: an
//! [`Rnn`] is a [`Stack`] of this cell.
//!
//! `tests/rnn.rs` proves the composed form, the fused form, the by-hand stack and finite differences equal,
//! for random lengths, sizes, depths and both directions.

use super::recurrent::{RecImpl, Stack, TapeCell};
use super::Init;
use crate::autograd::{Tape, Var};
use crate::by_hand::rnn::{RnnCell, StackSpec};
use crate::error::Result;
use crate::rng::Rng;
use crate::scalar::Real;
use nalgebra::DMatrix;

pub use super::recurrent::RecImpl as RnnImpl;

/// How the weights start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RnnInit {
    /// `W_x` and `W_h` orthogonal (from the SVD of a uniform draw), `b = 0`: the book's chapter 7 choice.
    Orthogonal,
    /// `W_x`, `W_h` and `b` from `U(-a, a)`; PyTorch's default is `a = 1/√H`.
    Uniform { a: f64 },
}

/// One direction of one layer: `w_x: D x H`, `w_h: H x H`, `b: 1 x H`.
#[derive(Clone, Copy, Debug)]
pub struct CellVars {
    pub wx: Var,
    pub wh: Var,
    pub b: Var,
}

impl CellVars {
    pub fn new<T: Real>(
        tape: &mut Tape<T>,
        d_in: usize,
        h: usize,
        init: RnnInit,
        rng: &mut Rng,
    ) -> Self {
        let (wx, wh, b) = match init {
            RnnInit::Orthogonal => {
                let o = Init::Orthogonal { gain: 1.0 };
                (
                    o.matrix(d_in, h, rng),
                    o.matrix(h, h, rng),
                    DMatrix::zeros(1, h),
                )
            }
            RnnInit::Uniform { a } => {
                let u = Init::Uniform { a };
                (
                    u.matrix(d_in, h, rng),
                    u.matrix(h, h, rng),
                    u.matrix(1, h, rng),
                )
            }
        };
        CellVars {
            wx: tape.param(wx),
            wh: tape.param(wh),
            b: tape.param(b),
        }
    }
}

impl TapeCell for CellVars {
    type Hand<T: Real> = RnnCell<T>;
    const NAME: &'static str = "rnn";

    fn named_params(&self) -> Vec<(String, Var)> {
        vec![
            ("w_x".into(), self.wx),
            ("w_h".into(), self.wh),
            ("b".into(), self.b),
        ]
    }

    fn input<T: Real>(&self, tape: &Tape<T>) -> Result<usize> {
        Ok(tape.value(self.wx)?.nrows())
    }

    // ANCHOR: rnn_composed
    /// `h_t = tanh(x_t W_x + h_{t-1} W_h + b)` from tape ops; autograd derives its backward.
    fn step<T: Real>(
        &self,
        tape: &mut Tape<T>,
        x_t: Var,
        prev: Option<&[Var]>,
    ) -> Result<Vec<Var>> {
        let mut z = tape.matmul(x_t, self.wx)?;
        if let Some(&[h_prev]) = prev {
            let r = tape.matmul(h_prev, self.wh)?;
            z = tape.add(z, r)?;
        }
        z = tape.add(z, self.b)?;
        Ok(vec![tape.tanh(z)?])
    }
    // ANCHOR_END: rnn_composed

    fn values<T: Real>(&self, tape: &Tape<T>) -> Result<RnnCell<T>> {
        Ok(RnnCell {
            wx: tape.value(self.wx)?.clone(),
            wh: tape.value(self.wh)?.clone(),
            b: tape.value(self.b)?.clone(),
        })
    }
}

/// A stack of vanilla RNN layers.
pub type Rnn = Stack<CellVars>;

impl Stack<CellVars> {
    /// Cells drawn by `init` from `rng`, layer by layer, forward direction first.
    pub fn new<T: Real>(
        tape: &mut Tape<T>,
        spec: StackSpec,
        init: RnnInit,
        imp: RnnImpl,
        rng: &mut Rng,
    ) -> Result<Self> {
        Stack::build(spec, imp, |_, _, d_in| {
            CellVars::new(tape, d_in, spec.hidden, init, rng)
        })
    }
}

/// One layer in one direction over `x: N x (T·D)`, from `h0` (zeros when `None`): `N x (T·H)`.
pub fn layer<T: Real>(
    tape: &mut Tape<T>,
    imp: RecImpl,
    c: &CellVars,
    x: Var,
    h0: Option<Var>,
    reverse: bool,
) -> Result<Var> {
    let init = h0.map(|h| [h]);
    super::recurrent::layer(tape, imp, c, x, init.as_ref().map(|h| &h[..]), reverse)
}

/// The values of a stack's cells, for the by-hand twin.
pub fn cell_values<T: Real>(tape: &Tape<T>, rnn: &Rnn) -> Result<Vec<Vec<RnnCell<T>>>> {
    rnn.values(tape)
}
