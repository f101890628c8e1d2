//! The LSTM cell, derived by hand (book chapter 8), in the book's convention: `Z = x_t W_x + h_{t-1} W_h + b`
//! with `W_x: D x 4H`, `W_h: H x 4H`, `b: 1 x 4H` and the column blocks of `Z` in the order `[i | f | o | g]`;
//! `i, f, o = σ(·)`, `g = tanh(·)`; `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`; no peepholes. It is a
//! cell of the generic recurrent stack ([`super::recurrent`]): two states, `h` and `c`.
//!
//! **Backward through one step.** With `δh` the whole gradient reaching `h_t` and `δc'` what `c_t` receives
//! from step `t + 1`: `δc = δc' + δh ⊙ o ⊙ (1 - tanh² c_t)`; `δi = δc ⊙ g`, `δf = δc ⊙ c_{t-1}`,
//! `δo = δh ⊙ tanh c_t`, `δg = δc ⊙ i`; through each gate's derivative to `δZ` (`σ' = σ(1 - σ)`,
//! `tanh' = 1 - tanh²`); `δc_{t-1} = f ⊙ δc`. Then as for any affine map: `dW_x += x_tᵀ δZ`,
//! `dW_h += h_{t-1}ᵀ δZ`, `db += Σ_rows δZ`, `δx_t = δZ W_xᵀ`, `δh_{t-1} = δZ W_hᵀ`.

use super::recurrent::Cell;
use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;

/// One direction of one LSTM layer.
#[derive(Clone, Debug)]
pub struct LstmCell<T: Real> {
    pub wx: DMatrix<T>,
    pub wh: DMatrix<T>,
    pub b: DMatrix<T>,
}

/// What a step keeps: the activated gates `[i | f | o | g]` (`N x 4H`) and `tanh(c_t)`.
pub struct LstmCache<T: Real> {
    gates: DMatrix<T>,
    tanh_c: DMatrix<T>,
}

impl<T: Real> Cell<T> for LstmCell<T> {
    type Cache = LstmCache<T>;

    fn input(&self) -> usize {
        self.wx.nrows()
    }
    fn hidden(&self) -> usize {
        self.wx.ncols() / 4
    }
    fn num_states(&self) -> usize {
        2
    }

    fn check(&self) -> Result<()> {
        let (d, h4) = self.wx.shape();
        let h = h4 / 4;
        if d == 0
            || h == 0
            || h4 % 4 != 0
            || self.wh.shape() != (h, h4)
            || self.b.shape() != (1, h4)
        {
            let s = |m: &DMatrix<T>| Shape(m.nrows(), m.ncols());
            return Err(Error::shape(
                "lstm",
                &[s(&self.wx), s(&self.wh), s(&self.b)],
                "W_x: D x 4H, W_h: H x 4H, b: 1 x 4H (gate blocks [i | f | o | g])",
            ));
        }
        Ok(())
    }

    // ANCHOR: lstm_step
    fn step(
        &self,
        x_t: &DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
    ) -> (Vec<DMatrix<T>>, LstmCache<T>) {
        let (n, h) = (x_t.nrows(), self.hidden());
        let mut z = DMatrix::zeros(n, 4 * h);
        z.gemm(T::one(), x_t, &self.wx, T::zero());
        if let Some([h_prev, _]) = prev {
            z.gemm(T::one(), h_prev, &self.wh, T::one());
        }
        for mut row in z.row_iter_mut() {
            row += &self.b;
        }
        // Gates i, f, o through the sigmoid, the candidate g through tanh.
        let mut gates = z;
        gates
            .columns_mut(0, 3 * h)
            .apply(|v| *v = T::one() / (T::one() + (-*v).exp()));
        gates.columns_mut(3 * h, h).apply(|v| *v = v.tanh());
        let gate = |k: usize| gates.columns(k * h, h);
        let mut c = gate(0).component_mul(&gate(3));
        if let Some([_, c_prev]) = prev {
            c += gate(1).component_mul(c_prev);
        }
        let tanh_c = c.map(|v| v.tanh());
        let h_t = gate(2).component_mul(&tanh_c);
        (vec![h_t, c], LstmCache { gates, tanh_c })
    }
    // ANCHOR_END: lstm_step

    // ANCHOR: lstm_step_backward
    fn step_backward(
        &self,
        x_t: &DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
        _states: &[DMatrix<T>],
        cache: &LstmCache<T>,
        d_states: Vec<DMatrix<T>>,
        g: &mut Self,
    ) -> (DMatrix<T>, Vec<DMatrix<T>>) {
        let h = self.hidden();
        let [dh, dc_next] = <[DMatrix<T>; 2]>::try_from(d_states).expect("two states");
        let gate = |k: usize| cache.gates.columns(k * h, h);
        let (i, f, o, gg) = (gate(0), gate(1), gate(2), gate(3));
        let one = T::one();
        // δc = δc' + δh ⊙ o ⊙ (1 - tanh² c)
        let mut dc = dc_next;
        for (k, v) in dc.iter_mut().enumerate() {
            let tc = cache.tanh_c[k];
            *v += dh[k] * o[k] * (one - tc * tc);
        }
        let mut dz = DMatrix::zeros(dh.nrows(), 4 * h);
        for k in 0..dh.len() {
            let (r, col) = (k % dh.nrows(), k / dh.nrows());
            let c_prev = prev.map_or(T::zero(), |p| p[1][k]);
            let (di, df) = (dc[k] * gg[k], dc[k] * c_prev);
            let (do_, dg) = (dh[k] * cache.tanh_c[k], dc[k] * i[k]);
            dz[(r, col)] = di * i[k] * (one - i[k]);
            dz[(r, h + col)] = df * f[k] * (one - f[k]);
            dz[(r, 2 * h + col)] = do_ * o[k] * (one - o[k]);
            dz[(r, 3 * h + col)] = dg * (one - gg[k] * gg[k]);
        }
        let dc_prev = dc.component_mul(&f);
        g.wx.gemm_tr(one, x_t, &dz, one);
        if let Some([h_prev, _]) = prev {
            g.wh.gemm_tr(one, h_prev, &dz, one);
        }
        for (j, col) in dz.column_iter().enumerate() {
            g.b[j] += col.sum();
        }
        let dx_t = &dz * self.wx.transpose();
        let dh_prev = &dz * self.wh.transpose();
        (dx_t, vec![dh_prev, dc_prev])
    }
    // ANCHOR_END: lstm_step_backward

    fn zeros_like(&self) -> Self {
        let z = |m: &DMatrix<T>| DMatrix::zeros(m.nrows(), m.ncols());
        LstmCell {
            wx: z(&self.wx),
            wh: z(&self.wh),
            b: z(&self.b),
        }
    }

    fn matrices(&self) -> Vec<&DMatrix<T>> {
        vec![&self.wx, &self.wh, &self.b]
    }
}
