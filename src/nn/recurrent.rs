//! The recurrent stack on the tape, generic over its cell, in the layout of [`crate::by_hand::recurrent`]
//! (a sequence is one `N x (T·D)` matrix, column block `t` = step `t`). Two forms of every layer:
//! - [`RecImpl::Composed`]: the cell's step written with tape ops ([`TapeCell::step`]) and unrolled over the
//!   steps; autograd derives backpropagation through time by itself.
//! - [`RecImpl::Fused`]: one tape node per layer and direction whose backward is the hand-derived BPTT of
//!   [`crate::by_hand::recurrent::layer_backward`] with the cell's by-hand twin: the fast path.
//!
//! Layers, directions, both merges and initial states are written once here; a new cell brings its step on
//! the tape and its by-hand twin.

use super::module::Module;
use crate::autograd::{Op, Tape, Var};
use crate::by_hand::recurrent::{self as hand, Merge, StackSpec};
use crate::error::{Error, Result};
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::marker::PhantomData;

/// Which form a recurrent layer records on the tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RecImpl {
    Composed,
    #[default]
    Fused,
}

// ANCHOR: tape_cell
/// One direction of one layer on the tape: its parameters, its step from tape ops, and its by-hand twin.
pub trait TapeCell: Clone {
    /// The same cell with values: the by-hand step the fused node runs.
    type Hand<T: Real>: hand::Cell<T> + 'static;

    /// Name of the cell in errors (`rnn`, `lstm`, `gru`).
    const NAME: &'static str;

    /// Parameters named relative to the cell (`w_x`, `w_h`, `b`), in the order of [`hand::Cell::matrices`].
    fn named_params(&self) -> Vec<(String, Var)>;

    /// Features read per step.
    fn input<T: Real>(&self, tape: &Tape<T>) -> Result<usize>;

    /// One step from tape ops: `x_t: N x D` and the previous states (`None`: zeros) to the new states, `h`
    /// first.
    fn step<T: Real>(&self, tape: &mut Tape<T>, x_t: Var, prev: Option<&[Var]>)
        -> Result<Vec<Var>>;

    /// The by-hand twin with the parameters' current values.
    fn values<T: Real>(&self, tape: &Tape<T>) -> Result<Self::Hand<T>>;
}
// ANCHOR_END: tape_cell

/// One layer in one direction over `x: N x (T·D)`, from `init` (one `N x H` value per state; zeros when
/// `None`): `N x (T·H)`.
pub fn layer<T: Real, C: TapeCell>(
    tape: &mut Tape<T>,
    imp: RecImpl,
    cell: &C,
    x: Var,
    init: Option<&[Var]>,
    reverse: bool,
) -> Result<Var> {
    layer_masked(tape, imp, cell, x, init, None, reverse)
}

/// [`layer`] over a padded batch: row `i` holds `lengths[i]` real steps, then padding, which leaves the row's
/// states as they were (see [`hand::layer_forward_masked`]).
pub fn layer_masked<T: Real, C: TapeCell>(
    tape: &mut Tape<T>,
    imp: RecImpl,
    cell: &C,
    x: Var,
    init: Option<&[Var]>,
    lengths: Option<&[usize]>,
    reverse: bool,
) -> Result<Var> {
    let hand_cell = cell.values(tape)?;
    let init_values = init
        .map(|s| {
            s.iter()
                .map(|&v| tape.value(v).cloned())
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let xv = tape.value(x)?;
    let steps = hand::check_layer(&hand_cell, xv, init_values.as_deref())?;
    match imp {
        RecImpl::Fused => {
            let (h, cache) = hand::layer_forward_masked(
                &hand_cell,
                xv,
                init_values.as_deref(),
                lengths,
                reverse,
            )?;
            let mut inputs = vec![x];
            inputs.extend(cell.named_params().into_iter().map(|(_, v)| v));
            inputs.extend(init.into_iter().flatten());
            let op = FusedLayer {
                cell: hand_cell,
                cache,
                reverse,
                _t: PhantomData,
            };
            tape.record(h, &inputs, op)
        }
        RecImpl::Composed => {
            let d = cell.input(tape)?;
            let mut hs = vec![x; steps];
            let mut prev: Option<Vec<Var>> = init.map(|s| s.to_vec());
            for k in 0..steps {
                let t = hand::at(k, steps, reverse);
                let xt = tape.slice_cols(x, t * d, d)?;
                let mut states = cell.step(tape, xt, prev.as_deref())?;
                // Padded rows keep their states: s' = s_prev + m ⊙ (s - s_prev), m = 1 on real steps.
                if let Some(l) = lengths.filter(|l| l.iter().any(|&v| t >= v)) {
                    let n = l.len();
                    for (j, s) in states.iter_mut().enumerate() {
                        let h = tape.shape(*s)?.1;
                        let m = DMatrix::from_fn(
                            n,
                            h,
                            |i, _| if t < l[i] { T::one() } else { T::zero() },
                        );
                        let m = tape.constant(m);
                        *s = match prev.as_deref() {
                            Some(p) => {
                                let diff = tape.sub(*s, p[j])?;
                                let kept = tape.mul(m, diff)?;
                                tape.add(p[j], kept)?
                            }
                            None => tape.mul(m, *s)?,
                        };
                    }
                }
                hs[t] = states[0];
                prev = Some(states);
            }
            tape.concat_cols(&hs)
        }
    }
}

// ANCHOR: fused_layer
/// A whole layer as one node: inputs `[x, the cell's parameters…, the initial states…]`. It keeps the by-hand
/// forward's cache (every step's states) for the hand-derived backward.
struct FusedLayer<T: Real, C: hand::Cell<T>> {
    cell: C,
    cache: hand::LayerCache<T, C>,
    reverse: bool,
    _t: PhantomData<T>,
}

impl<T: Real, C: hand::Cell<T> + 'static> Op<T> for FusedLayer<T, C> {
    fn name(&self) -> &'static str {
        "recurrent_layer"
    }

    fn backward(
        &self,
        inputs: &[&DMatrix<T>],
        _h: &DMatrix<T>,
        dh: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let g = hand::layer_backward_needs(
            &self.cell,
            inputs[0],
            &self.cache,
            dh,
            self.reverse,
            needs[0],
        )
        .expect("the tape's gradient has the output's shape, and the cache is the forward pass's");
        let mut out = vec![Some(g.dx)];
        out.extend(g.cell.matrices().into_iter().map(Some));
        if self.cache.init.is_some() {
            out.extend(g.d_init.into_iter().map(Some));
        }
        out.into_iter()
            .zip(needs)
            .map(|(g, &n)| if n { g } else { None })
            .collect()
    }
}
// ANCHOR_END: fused_layer

/// A stack of recurrent layers over one cell type, see [`StackSpec`] and [`Merge`] for the shapes and how
/// directions join. Parameters are named `layer{l}.{forward|reverse}.{cell's name}`.
#[derive(Clone, Debug)]
pub struct Stack<C: TapeCell> {
    pub spec: StackSpec,
    /// `cells[l][d]`: layer `l`, direction `d` (0 forward, 1 reverse).
    pub cells: Vec<Vec<C>>,
    pub imp: RecImpl,
}

/// Initial states of a stack on the tape: `init[l][d]` holds the states of layer `l`, direction `d`.
pub type TapeInit = Vec<Vec<Vec<Var>>>;

impl<C: TapeCell> Stack<C> {
    /// A stack whose cells `make(layer, direction, input features)` builds.
    pub fn build(
        spec: StackSpec,
        imp: RecImpl,
        mut make: impl FnMut(usize, usize, usize) -> C,
    ) -> Result<Self> {
        spec.validate()?;
        let cells = (0..spec.layers)
            .map(|l| {
                (0..spec.directions())
                    .map(|d| make(l, d, spec.layer_input(l)))
                    .collect()
            })
            .collect();
        Ok(Stack { spec, cells, imp })
    }

    /// The top layer's outputs for `x: N x (T·input)`, as `N x (T·output)`, from zero states.
    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        self.forward_from(tape, x, None)
    }

    /// The same from given initial states.
    pub fn forward_from<T: Real>(
        &self,
        tape: &mut Tape<T>,
        x: Var,
        init: Option<&TapeInit>,
    ) -> Result<Var> {
        self.forward_masked(tape, x, init, None)
    }

    /// Over a padded batch: row `i` holds `lengths[i]` real steps, then padding. The forward direction's
    /// output at the last step, and the reverse direction's at the first, are then each row's last real
    /// state, as if the row had been run alone.
    pub fn forward_masked<T: Real>(
        &self,
        tape: &mut Tape<T>,
        x: Var,
        init: Option<&TapeInit>,
        lengths: Option<&[usize]>,
    ) -> Result<Var> {
        let (dirs, hid) = (self.spec.directions(), self.spec.hidden);
        let xs = tape.shape(x)?;
        if xs.1 == 0 || xs.1 % self.spec.input != 0 {
            return Err(Error::shape(
                C::NAME,
                &[xs],
                format!(
                    "N x (T·{}) for {} input features per step",
                    self.spec.input, self.spec.input
                ),
            ));
        }
        let layers = self.spec.layers;
        if init.is_some_and(|i| i.len() != layers || i.iter().any(|l| l.len() != dirs)) {
            return Err(Error::Config(format!(
                "{}: initial states must be given for {layers} layers of {dirs} direction(s)",
                C::NAME
            )));
        }
        let run = |tape: &mut Tape<T>, inp: Var, l: usize, d: usize| {
            let start = init.map(|i| &i[l][d][..]);
            layer_masked(
                tape,
                self.imp,
                &self.cells[l][d],
                inp,
                start,
                lengths,
                d == 1,
            )
        };
        match self.spec.merge {
            Merge::PerLayer => {
                let mut inp = x;
                for l in 0..layers {
                    let states = (0..dirs)
                        .map(|d| run(tape, inp, l, d))
                        .collect::<Result<Vec<_>>>()?;
                    inp = merge(tape, &states, hid)?;
                }
                Ok(inp)
            }
            Merge::Book => {
                let mut tops = Vec::with_capacity(dirs);
                for d in 0..dirs {
                    let mut inp = x;
                    for l in 0..layers {
                        inp = run(tape, inp, l, d)?;
                    }
                    tops.push(inp);
                }
                merge(tape, &tops, hid)
            }
        }
    }

    /// The by-hand twin of every cell, with the current values: `cells[l][d]`.
    pub fn values<T: Real>(&self, tape: &Tape<T>) -> Result<Vec<Vec<C::Hand<T>>>> {
        self.cells
            .iter()
            .map(|layer| layer.iter().map(|c| c.values(tape)).collect())
            .collect()
    }
}

impl<C: TapeCell> Module for Stack<C> {
    fn named_params(&self) -> Vec<(String, Var)> {
        let mut out = Vec::new();
        for (l, layer) in self.cells.iter().enumerate() {
            for (d, cell) in layer.iter().enumerate() {
                let dir = if d == 0 { "forward" } else { "reverse" };
                for (n, v) in cell.named_params() {
                    out.push((format!("layer{l}.{dir}.{n}"), v));
                }
            }
        }
        out
    }
}

/// One direction's states, or the two directions' states concatenated step by step: one node whose backward
/// splits the gradient back (as many slice nodes, each with a gradient the size of the whole output, cost a
/// bidirectional layer over 100 steps more than the layer itself).
fn merge<T: Real>(tape: &mut Tape<T>, states: &[Var], hid: usize) -> Result<Var> {
    if states.len() == 1 {
        return Ok(states[0]);
    }
    let (a, b) = (tape.value(states[0])?, tape.value(states[1])?);
    if a.shape() != b.shape() || a.ncols() % hid != 0 {
        return Err(Error::shape(
            "merge directions",
            &[tape.shape(states[0])?, tape.shape(states[1])?],
            format!("two N x (T·{hid}) outputs"),
        ));
    }
    let joined = hand::interleave(a, b, hid);
    tape.record(joined, &[states[0], states[1]], Interleave { hid })
}

struct Interleave {
    hid: usize,
}

impl<T: Real> Op<T> for Interleave {
    fn name(&self) -> &'static str {
        "merge_directions"
    }
    fn backward(
        &self,
        _inputs: &[&DMatrix<T>],
        _out: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let (ga, gb) = hand::split(g, self.hid);
        vec![needs[0].then_some(ga), needs[1].then_some(gb)]
    }
}
