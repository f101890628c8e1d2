//! The LSTM cell on the tape (book chapter 8): its parameters, its step from tape ops, and its by-hand twin
//! [`crate::by_hand::lstm::LstmCell`]. Layers, directions and stacks come from [`super::recurrent`]: an
//! [`Lstm`] is a [`Stack`] of this cell. `tests/lstm.rs` proves by-hand = composed = fused = finite
//! differences.

use super::recurrent::{RecImpl, Stack, TapeCell};
use super::Init;
use crate::autograd::{Tape, Var};
use crate::by_hand::lstm::LstmCell;
use crate::by_hand::recurrent::StackSpec;
use crate::error::Result;
use crate::rng::Rng;
use crate::scalar::Real;
use nalgebra::DMatrix;

/// How the weights start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LstmInit {
    /// `W_x` and `W_h` orthogonal (from the SVD of a uniform draw), `b = 0` but for the forget gate's block.
    Orthogonal { forget_bias: f64 },
    /// `W_x`, `W_h` and `b` from `U(-a, a)` (PyTorch's default is `a = 1/√H`), plus `forget_bias` on the
    /// forget gate's block of `b`.
    Uniform { a: f64, forget_bias: f64 },
}

/// One direction of one layer: `w_x: D x 4H`, `w_h: H x 4H`, `b: 1 x 4H`, blocks `[i | f | o | g]`.
#[derive(Clone, Copy, Debug)]
pub struct LstmVars {
    pub wx: Var,
    pub wh: Var,
    pub b: Var,
}

impl LstmVars {
    pub fn new<T: Real>(
        tape: &mut Tape<T>,
        d_in: usize,
        h: usize,
        init: LstmInit,
        rng: &mut Rng,
    ) -> Self {
        let (wx, wh, mut b, forget) = match init {
            LstmInit::Orthogonal { forget_bias } => {
                let o = Init::Orthogonal { gain: 1.0 };
                let b = DMatrix::zeros(1, 4 * h);
                (
                    o.matrix(d_in, 4 * h, rng),
                    o.matrix(h, 4 * h, rng),
                    b,
                    forget_bias,
                )
            }
            LstmInit::Uniform { a, forget_bias } => {
                let u = Init::Uniform { a };
                let m = (u.matrix(d_in, 4 * h, rng), u.matrix(h, 4 * h, rng));
                (m.0, m.1, u.matrix(1, 4 * h, rng), forget_bias)
            }
        };
        b.columns_mut(h, h).add_scalar_mut(T::of(forget));
        LstmVars {
            wx: tape.param(wx),
            wh: tape.param(wh),
            b: tape.param(b),
        }
    }
}

impl TapeCell for LstmVars {
    type Hand<T: Real> = LstmCell<T>;
    const NAME: &'static str = "lstm";

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

    // ANCHOR: lstm_composed
    fn step<T: Real>(
        &self,
        tape: &mut Tape<T>,
        x_t: Var,
        prev: Option<&[Var]>,
    ) -> Result<Vec<Var>> {
        let h = tape.value(self.wh)?.nrows();
        let mut z = tape.matmul(x_t, self.wx)?;
        if let Some(&[h_prev, _]) = prev {
            let r = tape.matmul(h_prev, self.wh)?;
            z = tape.add(z, r)?;
        }
        z = tape.add(z, self.b)?;
        let block = |tape: &mut Tape<T>, k: usize| tape.slice_cols(z, k * h, h);
        let (zi, zf, zo, zg) = (
            block(tape, 0)?,
            block(tape, 1)?,
            block(tape, 2)?,
            block(tape, 3)?,
        );
        let (i, f, o, g) = (
            tape.sigmoid(zi)?,
            tape.sigmoid(zf)?,
            tape.sigmoid(zo)?,
            tape.tanh(zg)?,
        );
        let mut c = tape.mul(i, g)?;
        if let Some(&[_, c_prev]) = prev {
            let kept = tape.mul(f, c_prev)?;
            c = tape.add(kept, c)?;
        }
        let tc = tape.tanh(c)?;
        let h_t = tape.mul(o, tc)?;
        Ok(vec![h_t, c])
    }
    // ANCHOR_END: lstm_composed

    fn values<T: Real>(&self, tape: &Tape<T>) -> Result<LstmCell<T>> {
        Ok(LstmCell {
            wx: tape.value(self.wx)?.clone(),
            wh: tape.value(self.wh)?.clone(),
            b: tape.value(self.b)?.clone(),
        })
    }
}

/// A stack of LSTM layers.
pub type Lstm = Stack<LstmVars>;

impl Stack<LstmVars> {
    /// Cells drawn by `init` from `rng`, layer by layer, forward direction first.
    pub fn lstm<T: Real>(
        tape: &mut Tape<T>,
        spec: StackSpec,
        init: LstmInit,
        imp: RecImpl,
        rng: &mut Rng,
    ) -> Result<Self> {
        Stack::build(spec, imp, |_, _, d_in| {
            LstmVars::new(tape, d_in, spec.hidden, init, rng)
        })
    }
}
