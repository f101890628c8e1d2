//! The GRU cell, derived by hand (book chapter 9), in the book's form (Cho et al. 2014):
//! `[r | z] = σ(x_t W_zx + h_{t-1} W_zh + b_z)` with `W_zx: D x 2H`, `W_zh: H x 2H`, `b_z: 1 x 2H`;
//! the candidate `a = tanh(x_t W_ax + (r ⊙ h_{t-1}) W_ah + b_a)`, the reset applied *before* the product;
//! `h_t = (1 - z) ⊙ h_{t-1} + z ⊙ a`. One state, `h`.
//!
//! [`Reset::After`] is the form PyTorch and cuDNN use: `a = tanh(x_t W_ax + b_a + r ⊙ (h_{t-1} W_ah + b_ah))`,
//! the reset applied to the recurrent product (which lets all steps' `h W` products be computed without
//! waiting for `r`), with its own bias `b_ah: 1 x H`. The update keeps the book's sense in both: `z` is the
//! share of the new candidate.
//!
//! **Backward through one step**, with `δh` the whole gradient reaching `h_t`:
//! `δa = δh ⊙ z`, `δz = δh ⊙ (a - h_{t-1})`, and `h_{t-1}` gets `δh ⊙ (1 - z)` directly;
//! `δZ_a = δa ⊙ (1 - a²)`. Before: `δs = δZ_a W_ahᵀ` for `s = r ⊙ h_{t-1}`, so `δr = δs ⊙ h_{t-1}`,
//! `h_{t-1}` gets `δs ⊙ r`, and `dW_ah += sᵀ δZ_a`. After: with `q = h_{t-1} W_ah + b_ah`, `δq = δZ_a ⊙ r`,
//! `δr = δZ_a ⊙ q`, `dW_ah += h_{t-1}ᵀ δq`, `db_ah += Σ δq`, and `h_{t-1}` gets `δq W_ahᵀ`. Then the gates:
//! `δZ_rz = [δr ⊙ r (1 - r) | δz ⊙ z (1 - z)]`, `dW_zx += x_tᵀ δZ_rz`, `dW_zh += h_{t-1}ᵀ δZ_rz`, `h_{t-1}` gets
//! `δZ_rz W_zhᵀ`, and `δx_t = δZ_rz W_zxᵀ + δZ_a W_axᵀ`.

use super::recurrent::Cell;
use crate::error::{Error, Result, Shape};
use crate::kernels::act::{sigmoid_in_place, tanh_in_place};
use crate::scalar::Real;
use nalgebra::DMatrix;

/// Where the reset gate acts on the candidate's recurrent term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reset {
    /// `(r ⊙ h_{t-1}) W_ah`: the book's form (Cho et al. 2014).
    #[default]
    Before,
    /// `r ⊙ (h_{t-1} W_ah + b_ah)`: PyTorch's and cuDNN's form.
    After,
}

/// One direction of one GRU layer. `b_ah` is used by [`Reset::After`] only (zeros, and not a weight of the
/// cell, in [`Reset::Before`]).
#[derive(Clone, Debug)]
pub struct GruCell<T: Real> {
    pub wzx: DMatrix<T>,
    pub wzh: DMatrix<T>,
    pub bz: DMatrix<T>,
    pub wax: DMatrix<T>,
    pub wah: DMatrix<T>,
    pub ba: DMatrix<T>,
    pub bah: DMatrix<T>,
    pub reset: Reset,
}

/// What a step keeps: `r`, `z`, the candidate `a`, and `q = h_{t-1} W_ah + b_ah` (after) or
/// `s = r ⊙ h_{t-1}` (before).
pub struct GruCache<T: Real> {
    r: DMatrix<T>,
    z: DMatrix<T>,
    a: DMatrix<T>,
    q_or_s: DMatrix<T>,
}

fn mm<T: Real>(a: &DMatrix<T>, b: &DMatrix<T>) -> DMatrix<T> {
    crate::kernels::gemm(a, false, b, false)
}

fn add_row<T: Real>(m: &mut DMatrix<T>, b: &DMatrix<T>) {
    let n = m.nrows();
    for (col, &bj) in m.as_mut_slice().chunks_mut(n).zip(b.as_slice()) {
        col.iter_mut().for_each(|v| *v += bj);
    }
}

fn col_sums<T: Real>(m: &DMatrix<T>, into: &mut DMatrix<T>) {
    for (j, col) in m.column_iter().enumerate() {
        into[j] += col.sum();
    }
}

impl<T: Real> Cell<T> for GruCell<T> {
    type Cache = GruCache<T>;

    fn input(&self) -> usize {
        self.wzx.nrows()
    }
    fn hidden(&self) -> usize {
        self.wah.nrows()
    }

    fn check(&self) -> Result<()> {
        let (d, h) = (self.wzx.nrows(), self.wah.nrows());
        let ok = d > 0
            && h > 0
            && self.wzx.shape() == (d, 2 * h)
            && self.wzh.shape() == (h, 2 * h)
            && self.bz.shape() == (1, 2 * h)
            && self.wax.shape() == (d, h)
            && self.wah.shape() == (h, h)
            && self.ba.shape() == (1, h)
            && self.bah.shape() == (1, h);
        if !ok {
            let s = |m: &DMatrix<T>| Shape(m.nrows(), m.ncols());
            return Err(Error::shape(
                "gru",
                &[
                    s(&self.wzx),
                    s(&self.wzh),
                    s(&self.bz),
                    s(&self.wax),
                    s(&self.wah),
                    s(&self.ba),
                    s(&self.bah),
                ],
                "W_zx: D x 2H, W_zh: H x 2H, b_z: 1 x 2H, W_ax: D x H, W_ah: H x H, b_a: 1 x H, b_ah: 1 x H",
            ));
        }
        Ok(())
    }

    // ANCHOR: gru_step
    fn step(
        &self,
        x_t: &DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
    ) -> (Vec<DMatrix<T>>, GruCache<T>) {
        let (n, h) = (x_t.nrows(), self.hidden());
        let zeros = DMatrix::zeros(n, h);
        let h_prev = prev.map_or(&zeros, |p| &p[0]);
        let mut rz = mm(x_t, &self.wzx);
        if prev.is_some() {
            rz += mm(h_prev, &self.wzh);
        }
        add_row(&mut rz, &self.bz);
        sigmoid_in_place(rz.as_mut_slice());
        let (r, z) = (rz.columns(0, h).into_owned(), rz.columns(h, h).into_owned());
        let mut za = mm(x_t, &self.wax);
        add_row(&mut za, &self.ba);
        let q_or_s = match self.reset {
            Reset::Before => {
                let s = r.component_mul(h_prev);
                za += mm(&s, &self.wah);
                s
            }
            Reset::After => {
                let mut q = mm(h_prev, &self.wah);
                add_row(&mut q, &self.bah);
                za += r.component_mul(&q);
                q
            }
        };
        tanh_in_place(za.as_mut_slice());
        let a = za;
        // h_t = (1 - z) ⊙ h_{t-1} + z ⊙ a
        let h_t = h_prev.zip_zip_map(&z, &a, |hp, zk, ak| (T::one() - zk) * hp + zk * ak);
        (vec![h_t], GruCache { r, z, a, q_or_s })
    }
    // ANCHOR_END: gru_step

    // ANCHOR: gru_step_backward
    fn step_backward(
        &self,
        x_t: &DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
        _states: &[DMatrix<T>],
        c: &GruCache<T>,
        d_states: Vec<DMatrix<T>>,
        g: &mut Self,
    ) -> (DMatrix<T>, Vec<DMatrix<T>>) {
        let (n, h) = (x_t.nrows(), self.hidden());
        let one = T::one();
        let zeros = DMatrix::zeros(n, h);
        let h_prev = prev.map_or(&zeros, |p| &p[0]);
        let [dh] = <[DMatrix<T>; 1]>::try_from(d_states).expect("one state");
        // Through h_t = (1 - z) h_{t-1} + z a.
        let dza = dh.zip_zip_map(&c.z, &c.a, |d, z, a| d * z * (one - a * a));
        let dz = dh.zip_zip_map(&c.a, h_prev, |d, a, hp| d * (a - hp));
        let mut dh_prev = dh.zip_map(&c.z, |d, z| d * (one - z));
        // The candidate's weights, and what its recurrent term sends to r and h_{t-1}.
        g.wax += x_t.transpose() * &dza;
        col_sums(&dza, &mut g.ba);
        let dr = match self.reset {
            Reset::Before => {
                g.wah += c.q_or_s.transpose() * &dza;
                let ds = &dza * self.wah.transpose();
                dh_prev += ds.component_mul(&c.r);
                ds.component_mul(h_prev)
            }
            Reset::After => {
                let dq = dza.component_mul(&c.r);
                g.wah += h_prev.transpose() * &dq;
                col_sums(&dq, &mut g.bah);
                dh_prev += &dq * self.wah.transpose();
                dza.component_mul(&c.q_or_s)
            }
        };
        // The gates.
        let mut drz = DMatrix::zeros(n, 2 * h);
        drz.columns_mut(0, h)
            .copy_from(&dr.zip_map(&c.r, |d, r| d * r * (one - r)));
        drz.columns_mut(h, h)
            .copy_from(&dz.zip_map(&c.z, |d, z| d * z * (one - z)));
        g.wzx += x_t.transpose() * &drz;
        if prev.is_some() {
            g.wzh += h_prev.transpose() * &drz;
        }
        col_sums(&drz, &mut g.bz);
        dh_prev += &drz * self.wzh.transpose();
        let dx = &drz * self.wzx.transpose() + &dza * self.wax.transpose();
        (dx, vec![dh_prev])
    }
    // ANCHOR_END: gru_step_backward

    fn zeros_like(&self) -> Self {
        let z = |m: &DMatrix<T>| DMatrix::zeros(m.nrows(), m.ncols());
        GruCell {
            wzx: z(&self.wzx),
            wzh: z(&self.wzh),
            bz: z(&self.bz),
            wax: z(&self.wax),
            wah: z(&self.wah),
            ba: z(&self.ba),
            bah: z(&self.bah),
            reset: self.reset,
        }
    }

    /// `b_ah` only in the form that uses it.
    fn matrices(&self) -> Vec<&DMatrix<T>> {
        let mut m = vec![
            &self.wzx, &self.wzh, &self.bz, &self.wax, &self.wah, &self.ba,
        ];
        if self.reset == Reset::After {
            m.push(&self.bah);
        }
        m
    }
}
