//! The vanilla RNN on the tape, in the layout of [`crate::by_hand::rnn`] (a sequence is one `N x (T·D)` matrix,
//! column block `t` = step `t`). Two implementations of the same layer:
//! - [`RnnImpl::Composed`]: the cell written with tape ops and unrolled over the steps (slice, matmul, add,
//!   tanh, concatenate); autograd derives backpropagation through time by itself. About `6T` nodes per layer.
//! - [`RnnImpl::Fused`]: one tape node per layer and direction whose backward is the hand-derived BPTT of
//!   [`crate::by_hand::rnn::backward`]: the fast path.
//!
//! `tests/rnn.rs` proves the two, the by-hand stack and finite differences equal, for random lengths, sizes,
//! depths and both directions.

use super::Init;
use crate::autograd::{Op, Tape, Var};
use crate::by_hand::rnn::{self as hand, Merge, StackSpec};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::scalar::Real;
use nalgebra::DMatrix;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RnnImpl {
    Composed,
    #[default]
    Fused,
}

/// How the weights start.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RnnInit {
    /// `W_x` and `W_h` orthogonal (from the SVD of a uniform draw), `b = 0`: the book's chapter 7 choice.
    Orthogonal,
    /// `W_x`, `W_h` and `b` from `U(-a, a)`; PyTorch's default is `a = 1/√H`.
    Uniform { a: f64 },
}

/// One direction of one layer.
#[derive(Clone, Copy, Debug)]
pub struct CellVars {
    pub wx: Var,
    pub wh: Var,
    pub b: Var,
}

/// A stack of vanilla RNN layers, see [`StackSpec`] and [`Merge`] for the shapes and how directions join.
#[derive(Clone, Debug)]
pub struct Rnn {
    pub spec: StackSpec,
    /// `cells[l][d]`: layer `l`, direction `d` (0 forward, 1 reverse).
    pub cells: Vec<Vec<CellVars>>,
    pub imp: RnnImpl,
}

impl Rnn {
    pub fn new<T: Real>(
        tape: &mut Tape<T>,
        spec: StackSpec,
        init: RnnInit,
        imp: RnnImpl,
        rng: &mut Rng,
    ) -> Result<Self> {
        spec.validate()?;
        let h = spec.hidden;
        let cells = (0..spec.layers)
            .map(|l| {
                let d_in = spec.layer_input(l);
                (0..spec.directions())
                    .map(|_| {
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
                    })
                    .collect()
            })
            .collect();
        Ok(Rnn { spec, cells, imp })
    }

    pub fn params(&self) -> Vec<Var> {
        self.cells
            .iter()
            .flatten()
            .flat_map(|c| [c.wx, c.wh, c.b])
            .collect()
    }

    /// The top layer's states for `x: N x (T·input)`, as `N x (T·output)`.
    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        let (dirs, hid) = (self.spec.directions(), self.spec.hidden);
        let xs = tape.shape(x)?;
        if xs.1 == 0 || xs.1 % self.spec.input != 0 {
            return Err(Error::shape(
                "rnn",
                &[xs],
                format!(
                    "N x (T·{}) for {} input features per step",
                    self.spec.input, self.spec.input
                ),
            ));
        }
        let layer = |tape: &mut Tape<T>, inp: Var, l: usize, d: usize| {
            layer(tape, self.imp, &self.cells[l][d], inp, None, d == 1)
        };
        match self.spec.merge {
            Merge::PerLayer => {
                let mut inp = x;
                for l in 0..self.spec.layers {
                    let states = (0..dirs)
                        .map(|d| layer(tape, inp, l, d))
                        .collect::<Result<Vec<_>>>()?;
                    inp = merge(tape, &states, hid)?;
                }
                Ok(inp)
            }
            Merge::Book => {
                let mut tops = Vec::with_capacity(dirs);
                for d in 0..dirs {
                    let mut inp = x;
                    for l in 0..self.spec.layers {
                        inp = layer(tape, inp, l, d)?;
                    }
                    tops.push(inp);
                }
                merge(tape, &tops, hid)
            }
        }
    }
}

/// One direction's states, or the two directions' states concatenated step by step.
fn merge<T: Real>(tape: &mut Tape<T>, states: &[Var], hid: usize) -> Result<Var> {
    if states.len() == 1 {
        return Ok(states[0]);
    }
    let steps = tape.shape(states[0])?.1 / hid;
    let mut parts = Vec::with_capacity(2 * steps);
    for t in 0..steps {
        for &s in states {
            parts.push(tape.slice_cols(s, t * hid, hid)?);
        }
    }
    tape.concat_cols(&parts)
}

// ANCHOR: rnn_composed
/// One layer in one direction over `x: N x (T·D)`, from `h0` (zeros when `None`): `N x (T·H)`.
pub fn layer<T: Real>(
    tape: &mut Tape<T>,
    imp: RnnImpl,
    c: &CellVars,
    x: Var,
    h0: Option<Var>,
    reverse: bool,
) -> Result<Var> {
    let (xv, wx, wh, b) = (
        tape.value(x)?,
        tape.value(c.wx)?,
        tape.value(c.wh)?,
        tape.value(c.b)?,
    );
    let h0v = h0.map(|h| tape.value(h)).transpose()?;
    let steps = hand::check_shapes(xv, wx, wh, b, h0v)?;
    match imp {
        RnnImpl::Fused => {
            let h = hand::forward(xv, wx, wh, b, h0v, reverse)?;
            let mut inputs = vec![x, c.wx, c.wh, c.b];
            inputs.extend(h0);
            Ok(tape.record(h, &inputs, FusedRnn { reverse }))
        }
        RnnImpl::Composed => {
            let d = wx.nrows();
            let mut hs = vec![x; steps];
            let mut prev = h0;
            for k in 0..steps {
                let t = if reverse { steps - 1 - k } else { k };
                let xt = tape.slice_cols(x, t * d, d)?;
                let mut z = tape.matmul(xt, c.wx)?;
                if let Some(p) = prev {
                    let r = tape.matmul(p, c.wh)?;
                    z = tape.add(z, r)?;
                }
                z = tape.add(z, c.b)?;
                let h = tape.tanh(z)?;
                hs[t] = h;
                prev = Some(h);
            }
            tape.concat_cols(&hs)
        }
    }
}
// ANCHOR_END: rnn_composed

// ANCHOR: rnn_fused
/// The whole layer as one node: inputs `[x, W_x, W_h, b]` and optionally `h0`; its output (all the states) is
/// everything BPTT needs besides the inputs, so nothing else is cached.
struct FusedRnn {
    reverse: bool,
}

impl<T: Real> Op<T> for FusedRnn {
    fn name(&self) -> &'static str {
        "rnn"
    }

    fn backward(
        &self,
        inputs: &[&DMatrix<T>],
        h: &DMatrix<T>,
        dh: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let h0 = inputs.get(4).copied();
        let g = hand::backward(inputs[0], inputs[1], inputs[2], h0, h, dh, self.reverse);
        let mut out = vec![Some(g.dx), Some(g.dwx), Some(g.dwh), Some(g.db)];
        if h0.is_some() {
            out.push(Some(g.dh0));
        }
        out.into_iter()
            .zip(needs)
            .map(|(g, &n)| if n { g } else { None })
            .collect()
    }
}
// ANCHOR_END: rnn_fused

/// The values of a stack's cells, for the by-hand twin.
pub fn cell_values<T: Real>(tape: &Tape<T>, rnn: &Rnn) -> Result<Vec<Vec<hand::Cell<T>>>> {
    rnn.cells
        .iter()
        .map(|layer| {
            layer
                .iter()
                .map(|c| {
                    Ok(hand::Cell {
                        wx: tape.value(c.wx)?.clone(),
                        wh: tape.value(c.wh)?.clone(),
                        b: tape.value(c.b)?.clone(),
                    })
                })
                .collect()
        })
        .collect()
}
