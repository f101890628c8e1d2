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
use crate::kernels::act::{sigmoid_in_place, tanh_in_place};
use crate::kernels::gemm_into as product;
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
        x_t: DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
    ) -> (Vec<DMatrix<T>>, LstmCache<T>) {
        // The layer hands the step `x_t W_x` (see `input_weight`).
        let (n, h) = (x_t.nrows(), self.hidden());
        let mut z = x_t;
        if let Some([h_prev, _]) = prev {
            product(h_prev, false, &self.wh, false, T::one(), &mut z);
        }
        // Column by column: each column of the column-major `z` is contiguous.
        for (col, &bj) in z.as_mut_slice().chunks_mut(n).zip(self.b.as_slice()) {
            col.iter_mut().for_each(|v| *v += bj);
        }
        // Column-major storage keeps each gate's block contiguous: i, f, o through the sigmoid, g through tanh.
        let mut gates = z;
        let nh = n * h;
        let (ifo, g) = gates.as_mut_slice().split_at_mut(3 * nh);
        sigmoid_in_place(ifo);
        tanh_in_place(g);
        let [i, f, o, g] = blocks(gates.as_slice(), nh);
        // Collected rather than written into zeros: no pass to clear what is overwritten at once.
        let c: Vec<T> = match prev {
            Some([_, c_prev]) => {
                let c_prev = &c_prev.as_slice()[..nh];
                (0..nh).map(|k| f[k] * c_prev[k] + i[k] * g[k]).collect()
            }
            _ => (0..nh).map(|k| T::zero() + i[k] * g[k]).collect(),
        };
        let mut tanh_c = c.clone();
        tanh_in_place(&mut tanh_c);
        let h_t = (0..nh).map(|k| o[k] * tanh_c[k]).collect();
        let (c, h_t, tanh_c) = (
            DMatrix::from_vec(n, h, c),
            DMatrix::from_vec(n, h, h_t),
            DMatrix::from_vec(n, h, tanh_c),
        );
        (vec![h_t, c], LstmCache { gates, tanh_c })
    }
    // ANCHOR_END: lstm_step

    // ANCHOR: lstm_step_backward
    fn step_backward(
        &self,
        xw_t: &DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
        _states: &[DMatrix<T>],
        cache: &LstmCache<T>,
        d_states: Vec<DMatrix<T>>,
        _grads: &mut Self,
    ) -> (DMatrix<T>, Vec<DMatrix<T>>) {
        let (n, h) = (xw_t.nrows(), self.hidden());
        let nh = n * h;
        let [dh, mut dc] = <[DMatrix<T>; 2]>::try_from(d_states).expect("two states");
        let [i, f, o, g] = blocks(cache.gates.as_slice(), nh);
        // Every slice cut to the `nh` entries the loop visits, so that the compiler drops the bounds checks
        // and vectorizes it (measured: a fifth of W4's step at batch 128 before).
        let (tc, dh) = (&cache.tanh_c.as_slice()[..nh], &dh.as_slice()[..nh]);
        let c_prev = prev.map(|p| &p[1].as_slice()[..nh]);
        let one = T::one();
        let mut dz = DMatrix::zeros(n, 4 * h);
        {
            let (di, rest) = dz.as_mut_slice().split_at_mut(nh);
            let (df, rest) = rest.split_at_mut(nh);
            let (d_o, dg) = rest.split_at_mut(nh);
            let dc = &mut dc.as_mut_slice()[..nh];
            for k in 0..nh {
                // δc = δc' + δh ⊙ o ⊙ (1 - tanh² c); then each gate through its own derivative.
                dc[k] += dh[k] * o[k] * (one - tc[k] * tc[k]);
                di[k] = dc[k] * g[k] * i[k] * (one - i[k]);
                d_o[k] = dh[k] * tc[k] * o[k] * (one - o[k]);
                dg[k] = dc[k] * i[k] * (one - g[k] * g[k]);
            }
            match c_prev {
                Some(c) => {
                    for k in 0..nh {
                        df[k] = dc[k] * c[k] * f[k] * (one - f[k]);
                    }
                }
                None => df.fill(T::zero()),
            }
        }
        let dc = &dc.as_slice()[..nh];
        let dc_prev = DMatrix::from_vec(n, h, (0..nh).map(|k| dc[k] * f[k]).collect());
        // dW_h and db are formed by the layer after the sweep (see `recurrent_weight_grad` and `bias_grad`).
        let mut dh_prev = DMatrix::zeros(n, h);
        product(&dz, false, &self.wh, true, T::zero(), &mut dh_prev);
        // δZ is also the gradient of `x_t W_x`: the layer turns it into dW_x and dx_t for all steps at once.
        (dz, vec![dh_prev, dc_prev])
    }
    // ANCHOR_END: lstm_step_backward

    fn input_weight(&self) -> Option<&DMatrix<T>> {
        Some(&self.wx)
    }

    fn input_weight_grad<'a>(&self, grads: &'a mut Self) -> Option<&'a mut DMatrix<T>> {
        Some(&mut grads.wx)
    }

    fn recurrent_weight_grad<'a>(&self, grads: &'a mut Self) -> Option<&'a mut DMatrix<T>> {
        Some(&mut grads.wh)
    }

    fn bias_grad<'a>(&self, grads: &'a mut Self) -> Option<&'a mut DMatrix<T>> {
        Some(&mut grads.b)
    }

    fn zeros_like(&self) -> Self {
        let z = |m: &DMatrix<T>| DMatrix::zeros(m.nrows(), m.ncols());
        LstmCell {
            wx: z(&self.wx),
            wh: z(&self.wh),
            b: z(&self.b),
        }
    }

    fn matrices(&self) -> Vec<DMatrix<T>> {
        vec![self.wx.clone(), self.wh.clone(), self.b.clone()]
    }
}

/// The four gate blocks `[i | f | o | g]` of an `N x 4H` column-major matrix, each `N·H` contiguous entries.
fn blocks<T: Real>(m: &[T], nh: usize) -> [&[T]; 4] {
    let (i, rest) = m.split_at(nh);
    let (f, rest) = rest.split_at(nh);
    let (o, g) = rest.split_at(nh);
    [i, f, o, g]
}
