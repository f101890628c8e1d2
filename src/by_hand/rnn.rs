//! The vanilla RNN, derived by hand (book chapter 7): one layer over a whole sequence, and stacks of layers in
//! one or two directions.
//!
//! **Layout.** A sequence of `T` steps of `N x D` inputs is one `N x (T·D)` matrix whose column block
//! `t·D .. (t+1)·D` is step `t`. A layer maps it to the `N x (T·H)` matrix of its states, block `t` = `h_t`.
//! Stacking is then plain composition, and the book's chapter 7 head (FC over all `T·H` states) reads the
//! output as it is.
//!
//! **Forward.** `z_t = x_t W_x + h_{t-1} W_h + b`, `h_t = tanh(z_t)`, from a given `h_0` (zeros by default).
//! A *reverse* layer runs the same cell from the last step to the first (`h_{t+1}` in place of `h_{t-1}`) and
//! stores `h_t` in block `t`, so both directions line up step by step.
//!
//! **Backward through time.** Let `δh_t` be the gradient that reaches `h_t` from outside the recurrence (from
//! the layer above, or the loss). `h_t` also feeds `z_{t+1}`, so its total gradient adds `δz_{t+1} W_hᵀ`, and
//! `δz_t = (δh_t + δz_{t+1} W_hᵀ) ⊙ (1 - h_t²)` (the book's equation 7.7 as corrected: the printed version
//! drops the term from the layer above). The weights are shared by every step, so their gradients are sums
//! over time: `dW_x = Σ_t x_tᵀ δz_t`, `dW_h = Σ_t h_{t-1}ᵀ δz_t`, `db = Σ_t Σ_rows δz_t`; the input gets
//! `δx_t = δz_t W_xᵀ`, and the initial state `δh_0 = δz_1 W_hᵀ`.

use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;

fn sh<T: Real>(m: &DMatrix<T>) -> Shape {
    Shape(m.nrows(), m.ncols())
}

/// Step `k` of the processing order: `k` forwards, `T - 1 - k` in reverse.
#[inline]
fn at(k: usize, steps: usize, reverse: bool) -> usize {
    if reverse {
        steps - 1 - k
    } else {
        k
    }
}

/// Number of steps `T` of a sequence `x: N x (T·D)` for a layer with `W_x: D x H`, after checking every
/// shape. `h0`, when given, must be `N x H`.
pub fn check_shapes<T: Real>(
    x: &DMatrix<T>,
    wx: &DMatrix<T>,
    wh: &DMatrix<T>,
    b: &DMatrix<T>,
    h0: Option<&DMatrix<T>>,
) -> Result<usize> {
    let (d, h) = wx.shape();
    let h0_ok = h0.is_none_or(|h0| h0.shape() == (x.nrows(), h));
    if d == 0
        || h == 0
        || x.ncols() == 0
        || x.ncols() % d != 0
        || wh.shape() != (h, h)
        || b.shape() != (1, h)
        || !h0_ok
    {
        let mut shapes = vec![sh(x), sh(wx), sh(wh), sh(b)];
        shapes.extend(h0.map(sh));
        return Err(Error::shape(
            "rnn",
            &shapes,
            "x: N x (T·D) with T ≥ 1, W_x: D x H, W_h: H x H, b: 1 x H, h0: N x H",
        ));
    }
    Ok(x.ncols() / d)
}

// ANCHOR: rnn_forward
/// All states `N x (T·H)` of one layer. `h0 = None` starts from zeros.
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    wx: &DMatrix<T>,
    wh: &DMatrix<T>,
    b: &DMatrix<T>,
    h0: Option<&DMatrix<T>>,
    reverse: bool,
) -> Result<DMatrix<T>> {
    let steps = check_shapes(x, wx, wh, b, h0)?;
    let (n, (d, hid)) = (x.nrows(), wx.shape());
    let mut h = DMatrix::zeros(n, steps * hid);
    let mut z = DMatrix::zeros(n, hid);
    for k in 0..steps {
        let t = at(k, steps, reverse);
        z.gemm(T::one(), &x.columns(t * d, d), wx, T::zero());
        if k > 0 {
            let prev = at(k - 1, steps, reverse);
            z.gemm(T::one(), &h.columns(prev * hid, hid), wh, T::one());
        } else if let Some(h0) = h0 {
            z.gemm(T::one(), h0, wh, T::one());
        }
        for mut row in z.row_iter_mut() {
            row += b;
        }
        z.apply(|v| *v = v.tanh());
        h.columns_mut(t * hid, hid).copy_from(&z);
    }
    Ok(h)
}
// ANCHOR_END: rnn_forward

pub struct RnnGrads<T: Real> {
    pub dx: DMatrix<T>,
    pub dwx: DMatrix<T>,
    pub dwh: DMatrix<T>,
    pub db: DMatrix<T>,
    pub dh0: DMatrix<T>,
}

// ANCHOR: rnn_backward
/// Backpropagation through time for one layer, given its input `x`, its weights, its states `h` (the output of
/// [`forward`]) and `dh` = ∂L/∂h from outside the recurrence (`N x (T·H)`).
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    x: &DMatrix<T>,
    wx: &DMatrix<T>,
    wh: &DMatrix<T>,
    h0: Option<&DMatrix<T>>,
    h: &DMatrix<T>,
    dh: &DMatrix<T>,
    reverse: bool,
) -> RnnGrads<T> {
    let (n, (d, hid)) = (x.nrows(), wx.shape());
    let steps = h.ncols() / hid;
    assert_eq!(dh.shape(), h.shape(), "rnn backward: dh must match h");
    let (wxt, wht) = (wx.transpose(), wh.transpose());
    let mut g = RnnGrads {
        dx: DMatrix::zeros(n, x.ncols()),
        dwx: DMatrix::zeros(d, hid),
        dwh: DMatrix::zeros(hid, hid),
        db: DMatrix::zeros(1, hid),
        dh0: DMatrix::zeros(n, hid),
    };
    // `carry` = δz_{next} W_hᵀ: what h_t receives from the step that read it.
    let mut carry = DMatrix::zeros(n, hid);
    let mut dz = DMatrix::zeros(n, hid);
    for k in (0..steps).rev() {
        let t = at(k, steps, reverse);
        dz.copy_from(&dh.columns(t * hid, hid));
        dz += &carry;
        dz.zip_apply(&h.columns(t * hid, hid), |g, ht| *g *= T::one() - ht * ht);
        g.dwx.gemm_tr(T::one(), &x.columns(t * d, d), &dz, T::one());
        if k > 0 {
            let prev = at(k - 1, steps, reverse);
            g.dwh
                .gemm_tr(T::one(), &h.columns(prev * hid, hid), &dz, T::one());
        } else if let Some(h0) = h0 {
            g.dwh.gemm_tr(T::one(), h0, &dz, T::one());
        }
        for (j, col) in dz.column_iter().enumerate() {
            g.db[j] += col.sum();
        }
        g.dx.columns_mut(t * d, d)
            .gemm(T::one(), &dz, &wxt, T::zero());
        carry.gemm(T::one(), &dz, &wht, T::zero());
    }
    g.dh0 = carry;
    g
}
// ANCHOR_END: rnn_backward

/// How a bidirectional stack joins its two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Merge {
    /// Every layer's two directions are concatenated step by step, and both directions of the next layer read
    /// that (`2H` features). The common form (PyTorch's `bidirectional=True`), and our default.
    #[default]
    PerLayer,
    /// The book's form: two independent stacks, one per direction, each layer reading only its own
    /// direction's layer below; the top layer's two directions are concatenated, and the two stacks' input
    /// gradients are summed (the input feeds both).
    Book,
}

/// The shape of a stack: `layers` layers of `hidden` units over `input` features, one or two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackSpec {
    pub input: usize,
    pub hidden: usize,
    pub layers: usize,
    pub bidirectional: bool,
    pub merge: Merge,
}

impl StackSpec {
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Input features of layer `l` (each direction of it).
    pub fn layer_input(&self, l: usize) -> usize {
        match (l, self.merge) {
            (0, _) => self.input,
            (_, Merge::PerLayer) => self.hidden * self.directions(),
            (_, Merge::Book) => self.hidden,
        }
    }

    /// Features per step of the stack's output.
    pub fn output(&self) -> usize {
        self.hidden * self.directions()
    }

    pub fn validate(&self) -> Result<()> {
        if self.input == 0 || self.hidden == 0 || self.layers == 0 {
            return Err(Error::Config(format!(
                "rnn: input ({}), hidden ({}) and layers ({}) must all be at least 1",
                self.input, self.hidden, self.layers
            )));
        }
        Ok(())
    }
}

/// One direction of one layer: `W_x: D x H`, `W_h: H x H`, `b: 1 x H`.
#[derive(Clone, Debug)]
pub struct Cell<T: Real> {
    pub wx: DMatrix<T>,
    pub wh: DMatrix<T>,
    pub b: DMatrix<T>,
}

/// Step-by-step concatenation: block `t` of the result is `[a_t | b_t]`.
pub fn interleave<T: Real>(a: &DMatrix<T>, b: &DMatrix<T>, hid: usize) -> DMatrix<T> {
    let steps = a.ncols() / hid;
    let mut out = DMatrix::zeros(a.nrows(), 2 * a.ncols());
    for t in 0..steps {
        out.columns_mut(2 * t * hid, hid)
            .copy_from(&a.columns(t * hid, hid));
        out.columns_mut((2 * t + 1) * hid, hid)
            .copy_from(&b.columns(t * hid, hid));
    }
    out
}

/// The inverse of [`interleave`].
pub fn split<T: Real>(ab: &DMatrix<T>, hid: usize) -> (DMatrix<T>, DMatrix<T>) {
    let steps = ab.ncols() / (2 * hid);
    let mut a = DMatrix::zeros(ab.nrows(), steps * hid);
    let mut b = a.clone();
    for t in 0..steps {
        a.columns_mut(t * hid, hid)
            .copy_from(&ab.columns(2 * t * hid, hid));
        b.columns_mut(t * hid, hid)
            .copy_from(&ab.columns((2 * t + 1) * hid, hid));
    }
    (a, b)
}

/// Every layer's input and states, kept for the backward pass: `inputs[l][d]`, `states[l][d]`.
pub struct StackCache<T: Real> {
    inputs: Vec<Vec<DMatrix<T>>>,
    states: Vec<Vec<DMatrix<T>>>,
}

// ANCHOR: stack
/// A stack of layers over `x: N x (T·input)`; `cells[l][d]` is direction `d` (0 forward, 1 reverse) of layer
/// `l`. Returns the top states `N x (T·output)` and the cache for [`stack_backward`].
pub fn stack_forward<T: Real>(
    spec: &StackSpec,
    cells: &[Vec<Cell<T>>],
    x: &DMatrix<T>,
) -> Result<(DMatrix<T>, StackCache<T>)> {
    spec.validate()?;
    let dirs = spec.directions();
    if cells.len() != spec.layers || cells.iter().any(|c| c.len() != dirs) {
        return Err(Error::Config(format!(
            "rnn stack: expected {} layers of {dirs} direction(s)",
            spec.layers
        )));
    }
    let mut cache = StackCache {
        inputs: Vec::new(),
        states: Vec::new(),
    };
    let run =
        |inp: &DMatrix<T>, c: &Cell<T>, d: usize| forward(inp, &c.wx, &c.wh, &c.b, None, d == 1);
    match spec.merge {
        Merge::PerLayer => {
            let mut inp = x.clone();
            for layer in cells {
                let states = (0..dirs)
                    .map(|d| run(&inp, &layer[d], d))
                    .collect::<Result<Vec<_>>>()?;
                let next = match dirs {
                    1 => states[0].clone(),
                    _ => interleave(&states[0], &states[1], spec.hidden),
                };
                cache.inputs.push(vec![inp; dirs]);
                cache.states.push(states);
                inp = next;
            }
            Ok((inp, cache))
        }
        Merge::Book => {
            cache.inputs = vec![Vec::new(); spec.layers];
            cache.states = vec![Vec::new(); spec.layers];
            let mut tops = Vec::new();
            for d in 0..dirs {
                let mut inp = x.clone();
                for (l, layer) in cells.iter().enumerate() {
                    let h = run(&inp, &layer[d], d)?;
                    cache.inputs[l].push(inp);
                    cache.states[l].push(h.clone());
                    inp = h;
                }
                tops.push(inp);
            }
            let out = match dirs {
                1 => tops.pop().expect("one direction"),
                _ => interleave(&tops[0], &tops[1], spec.hidden),
            };
            Ok((out, cache))
        }
    }
}

/// Gradients of a stack given `dout` = ∂L/∂(top states): `(dx, grads[l][d])`, where the input gradient of a
/// layer read by both directions is the sum of the two.
pub fn stack_backward<T: Real>(
    spec: &StackSpec,
    cells: &[Vec<Cell<T>>],
    cache: &StackCache<T>,
    dout: &DMatrix<T>,
) -> (DMatrix<T>, Vec<Vec<RnnGrads<T>>>) {
    let dirs = spec.directions();
    let per_direction = |dout: &DMatrix<T>| match dirs {
        1 => vec![dout.clone()],
        _ => {
            let (a, b) = split(dout, spec.hidden);
            vec![a, b]
        }
    };
    let layer_back = |l: usize, d: usize, dh: &DMatrix<T>| {
        let c = &cells[l][d];
        backward(
            &cache.inputs[l][d],
            &c.wx,
            &c.wh,
            None,
            &cache.states[l][d],
            dh,
            d == 1,
        )
    };
    let mut grads: Vec<Vec<Option<RnnGrads<T>>>> = (0..spec.layers)
        .map(|_| (0..dirs).map(|_| None).collect())
        .collect();
    let dx = match spec.merge {
        Merge::PerLayer => {
            let mut dcur = dout.clone();
            for l in (0..spec.layers).rev() {
                let mut dinp: Option<DMatrix<T>> = None;
                for (d, dh) in per_direction(&dcur).iter().enumerate() {
                    let g = layer_back(l, d, dh);
                    match &mut dinp {
                        Some(acc) => *acc += &g.dx,
                        None => dinp = Some(g.dx.clone()),
                    }
                    grads[l][d] = Some(g);
                }
                dcur = dinp.expect("at least one direction");
            }
            dcur
        }
        Merge::Book => {
            let mut dx: Option<DMatrix<T>> = None;
            for (d, dtop) in per_direction(dout).into_iter().enumerate() {
                let mut dcur = dtop;
                for l in (0..spec.layers).rev() {
                    let g = layer_back(l, d, &dcur);
                    dcur = g.dx.clone();
                    grads[l][d] = Some(g);
                }
                match &mut dx {
                    Some(acc) => *acc += &dcur,
                    None => dx = Some(dcur),
                }
            }
            dx.expect("at least one direction")
        }
    };
    let grads = grads
        .into_iter()
        .map(|l| l.into_iter().map(|g| g.expect("every cell ran")).collect())
        .collect();
    (dx, grads)
}
// ANCHOR_END: stack
