//! The vanilla RNN cell, derived by hand (book chapter 7): `z_t = x_t W_x + h_{t-1} W_h + b`,
//! `h_t = tanh(z_t)`. It is the first cell of the generic recurrent stack ([`super::recurrent`]), which
//! runs it over time, in both directions, and in stacks; this file is only the step and its derivative.
//!
//! **Backward through one step.** Let `δh_t` be the whole gradient reaching `h_t`: from outside the
//! recurrence (the layer above, or the loss) plus `δz_{t+1} W_hᵀ` from the step that read it. Then
//! `δz_t = δh_t ⊙ (1 - h_t²)` (the book's equation 7.7 as corrected: the printed version drops the term from
//! the layer above). The weights are shared by every step, so their gradients are sums over time:
//! `dW_x += x_tᵀ δz_t`, `dW_h += h_{t-1}ᵀ δz_t`, `db += Σ_rows δz_t`; the input gets `δx_t = δz_t W_xᵀ`, and
//! the previous state `δz_t W_hᵀ`.

use super::recurrent::{self, layer_backward, layer_forward, LayerCache};
pub use super::recurrent::{
    interleave, split, stack_backward, stack_forward, Merge, StackCache, StackGrads, StackSpec,
};
use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;

fn sh<T: Real>(m: &DMatrix<T>) -> Shape {
    Shape(m.nrows(), m.ncols())
}

/// One direction of one layer: `W_x: D x H`, `W_h: H x H`, `b: 1 x H`.
#[derive(Clone, Debug)]
pub struct RnnCell<T: Real> {
    pub wx: DMatrix<T>,
    pub wh: DMatrix<T>,
    pub b: DMatrix<T>,
}

impl<T: Real> recurrent::Cell<T> for RnnCell<T> {
    /// `h_t` itself is all the backward pass needs.
    type Cache = ();

    fn input(&self) -> usize {
        self.wx.nrows()
    }
    fn hidden(&self) -> usize {
        self.wx.ncols()
    }

    fn check(&self) -> Result<()> {
        let (d, h) = self.wx.shape();
        if d == 0 || h == 0 || self.wh.shape() != (h, h) || self.b.shape() != (1, h) {
            return Err(Error::shape(
                "rnn",
                &[sh(&self.wx), sh(&self.wh), sh(&self.b)],
                "W_x: D x H, W_h: H x H, b: 1 x H",
            ));
        }
        Ok(())
    }

    // ANCHOR: rnn_forward
    fn step(&self, x_t: DMatrix<T>, prev: Option<&[DMatrix<T>]>) -> (Vec<DMatrix<T>>, ()) {
        let mut z = DMatrix::zeros(x_t.nrows(), self.hidden());
        z.gemm(T::one(), &x_t, &self.wx, T::zero());
        if let Some([h_prev]) = prev {
            z.gemm(T::one(), h_prev, &self.wh, T::one());
        }
        for mut row in z.row_iter_mut() {
            row += &self.b;
        }
        z.apply(|v| *v = v.tanh());
        (vec![z], ())
    }
    // ANCHOR_END: rnn_forward

    // ANCHOR: rnn_backward
    fn step_backward(
        &self,
        x_t: &DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
        states: &[DMatrix<T>],
        _: &(),
        d_states: Vec<DMatrix<T>>,
        g: &mut Self,
    ) -> (DMatrix<T>, Vec<DMatrix<T>>) {
        let [mut dz] = <[DMatrix<T>; 1]>::try_from(d_states).expect("one state");
        dz.zip_apply(&states[0], |g, ht| *g *= T::one() - ht * ht);
        g.wx.gemm_tr(T::one(), x_t, &dz, T::one());
        if let Some([h_prev]) = prev {
            g.wh.gemm_tr(T::one(), h_prev, &dz, T::one());
        }
        for (j, col) in dz.column_iter().enumerate() {
            g.b[j] += col.sum();
        }
        let mut dx_t = DMatrix::zeros(dz.nrows(), self.input());
        dx_t.gemm(T::one(), &dz, &self.wx.transpose(), T::zero());
        let mut d_prev = DMatrix::zeros(dz.nrows(), self.hidden());
        d_prev.gemm(T::one(), &dz, &self.wh.transpose(), T::zero());
        (dx_t, vec![d_prev])
    }
    // ANCHOR_END: rnn_backward

    fn zeros_like(&self) -> Self {
        RnnCell {
            wx: DMatrix::zeros(self.wx.nrows(), self.wx.ncols()),
            wh: DMatrix::zeros(self.wh.nrows(), self.wh.ncols()),
            b: DMatrix::zeros(1, self.b.ncols()),
        }
    }

    fn matrices(&self) -> Vec<DMatrix<T>> {
        vec![self.wx.clone(), self.wh.clone(), self.b.clone()]
    }
}

/// All states `N x (T·H)` of one layer. `h0 = None` starts from zeros.
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    wx: &DMatrix<T>,
    wh: &DMatrix<T>,
    b: &DMatrix<T>,
    h0: Option<&DMatrix<T>>,
    reverse: bool,
) -> Result<DMatrix<T>> {
    let cell = RnnCell {
        wx: wx.clone(),
        wh: wh.clone(),
        b: b.clone(),
    };
    let init = h0.map(|h| vec![h.clone()]);
    Ok(layer_forward(&cell, x, init.as_deref(), reverse)?.0)
}

pub struct RnnGrads<T: Real> {
    pub dx: DMatrix<T>,
    pub dwx: DMatrix<T>,
    pub dwh: DMatrix<T>,
    pub db: DMatrix<T>,
    pub dh0: DMatrix<T>,
}

/// Backpropagation through time for one layer, given its input `x`, its weights, its states `h` (the output of
/// [`forward`]) and `dh` = ∂L/∂h from outside the recurrence (`N x (T·H)`). The states are all the cache a
/// vanilla layer needs.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    x: &DMatrix<T>,
    wx: &DMatrix<T>,
    wh: &DMatrix<T>,
    h0: Option<&DMatrix<T>>,
    h: &DMatrix<T>,
    dh: &DMatrix<T>,
    reverse: bool,
) -> Result<RnnGrads<T>> {
    let (n, d, hid) = (x.nrows(), wx.nrows(), wx.ncols());
    // The states are cut into steps by `hid`: check it divides them before anything is sliced.
    if hid == 0 || h.ncols() % hid != 0 || h.nrows() != n {
        return Err(Error::shape(
            "rnn backward",
            &[
                Shape(x.nrows(), x.ncols()),
                Shape(d, hid),
                Shape(h.nrows(), h.ncols()),
            ],
            "x: N x (T·D), W_x: D x H with H > 0, h: N x (T·H)",
        ));
    }
    super::expect_shape("rnn backward", "W_h: H x H", wh, (hid, hid))?;
    if let Some(h0) = h0 {
        super::expect_shape("rnn backward", "h0: N x H", h0, (n, hid))?;
    }
    let cell = RnnCell {
        wx: wx.clone(),
        wh: wh.clone(),
        b: DMatrix::zeros(1, hid),
    };
    let steps = h.ncols() / hid;
    let cache = LayerCache::<T, RnnCell<T>> {
        states: (0..steps)
            .map(|t| vec![h.columns(t * hid, hid).into_owned()])
            .collect(),
        caches: vec![(); steps],
        init: h0.map(|h| vec![h.clone()]),
        lengths: None,
        groups: Vec::new(),
    };
    let g = layer_backward(&cell, x, &cache, dh, reverse)?;
    let [dh0] = <[DMatrix<T>; 1]>::try_from(g.d_init).expect("one state");
    Ok(RnnGrads {
        dx: g.dx,
        dwx: g.cell.wx,
        dwh: g.cell.wh,
        db: g.cell.b,
        dh0,
    })
}
