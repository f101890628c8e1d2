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
use crate::kernels::{gemm_into as product, gemm_strided, Strided};
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

/// One direction of one GRU layer. The two input weights are kept side by side, `W_x = [W_zx | W_ax]`
/// (`D x 3H`: the `r`, `z` and candidate blocks), so that the layer computes `x_t W_x` for all steps in one
/// product (see [`Cell::input_weight`]); [`GruCell::new`] takes them apart as the book writes them. `b_ah` is
/// used by [`Reset::After`] only (zeros, and not a weight of the cell, in [`Reset::Before`]).
#[derive(Clone, Debug)]
pub struct GruCell<T: Real> {
    pub wx: DMatrix<T>,
    /// `[W_zh | W_ah]`, `H x 3H`: in the after form one product `h_{t-1} W_h` serves both.
    pub wh: DMatrix<T>,
    pub bz: DMatrix<T>,
    pub ba: DMatrix<T>,
    pub bah: DMatrix<T>,
    pub reset: Reset,
}

impl<T: Real> GruCell<T> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        wzx: &DMatrix<T>,
        wzh: DMatrix<T>,
        bz: DMatrix<T>,
        wax: &DMatrix<T>,
        wah: DMatrix<T>,
        ba: DMatrix<T>,
        bah: DMatrix<T>,
        reset: Reset,
    ) -> Self {
        // Side by side when the rows agree; otherwise a zero-width matrix that `check` reports.
        let side = |a: &DMatrix<T>, b: &DMatrix<T>| {
            if a.nrows() != b.nrows() {
                return DMatrix::zeros(a.nrows(), 0);
            }
            let mut m = DMatrix::zeros(a.nrows(), a.ncols() + b.ncols());
            m.columns_mut(0, a.ncols()).copy_from(a);
            m.columns_mut(a.ncols(), b.ncols()).copy_from(b);
            m
        };
        GruCell {
            wx: side(wzx, wax),
            wh: side(&wzh, &wah),
            bz,
            ba,
            bah,
            reset,
        }
    }

    /// `W_zx`, `W_ax`, `W_zh`, `W_ah`: the blocks of `W_x` and `W_h`.
    pub fn wzx(&self) -> DMatrix<T> {
        self.wx.columns(0, 2 * self.hid()).into_owned()
    }
    pub fn wax(&self) -> DMatrix<T> {
        self.wx.columns(2 * self.hid(), self.hid()).into_owned()
    }
    pub fn wzh(&self) -> DMatrix<T> {
        self.wh.columns(0, 2 * self.hid()).into_owned()
    }
    pub fn wah(&self) -> DMatrix<T> {
        self.wh.columns(2 * self.hid(), self.hid()).into_owned()
    }
    fn hid(&self) -> usize {
        self.wh.nrows()
    }
}

/// What a step keeps: `r`, `z`, the candidate `a`, and `q = h_{t-1} W_ah + b_ah` (after) or
/// `s = r ⊙ h_{t-1}` (before).
pub struct GruCache<T: Real> {
    r: DMatrix<T>,
    z: DMatrix<T>,
    a: DMatrix<T>,
    q_or_s: DMatrix<T>,
}

/// Columns `from .. from + cols` of `m` (contiguous in column-major storage), as a slice copy.
fn cols<T: Real>(m: &DMatrix<T>, from: usize, cols: usize) -> DMatrix<T> {
    let n = m.nrows();
    DMatrix::from_column_slice(n, cols, &m.as_slice()[from * n..(from + cols) * n])
}

/// `f(a_k, b_k)` for every entry, as a new matrix of `a`'s shape, over plain slices.
fn map2<T: Real>(a: &DMatrix<T>, b: &DMatrix<T>, f: impl Fn(T, T) -> T) -> DMatrix<T> {
    let mut out = DMatrix::zeros(a.nrows(), a.ncols());
    for ((o, &x), &y) in out
        .as_mut_slice()
        .iter_mut()
        .zip(a.as_slice())
        .zip(b.as_slice())
    {
        *o = f(x, y);
    }
    out
}

/// `f(a_k, b_k, c_k)` for every entry.
fn map3<T: Real>(
    a: &DMatrix<T>,
    b: &DMatrix<T>,
    c: &DMatrix<T>,
    f: impl Fn(T, T, T) -> T,
) -> DMatrix<T> {
    let mut out = DMatrix::zeros(a.nrows(), a.ncols());
    let abc = a.as_slice().iter().zip(b.as_slice()).zip(c.as_slice());
    for (o, ((&x, &y), &z)) in out.as_mut_slice().iter_mut().zip(abc) {
        *o = f(x, y, z);
    }
    out
}

/// `C ← A op(B[:, from .. from + cols]) + β C`: a block of columns of `B` (contiguous), transposed on request.
fn block_product<T: Real>(
    a: &DMatrix<T>,
    b: &DMatrix<T>,
    from: usize,
    cols: usize,
    tb: bool,
    beta: T,
    c: &mut DMatrix<T>,
) {
    let rows = b.nrows();
    let blk = Strided::col_major(&b.as_slice()[from * rows..(from + cols) * rows], rows, tb);
    let n = if tb { rows } else { cols };
    let (m, ldc) = (a.nrows(), c.nrows());
    debug_assert_eq!(c.shape(), (m, n));
    gemm_strided(
        m,
        a.ncols(),
        n,
        Strided::of(a, false),
        blk,
        beta,
        c.as_mut_slice(),
        ldc,
    );
}

/// `G[:, from .. from + δ's width] += Aᵀ δ`: a weight gradient into a block of columns of `G`.
fn block_grad<T: Real>(a: &DMatrix<T>, d: &DMatrix<T>, g: &mut DMatrix<T>, from: usize) {
    let (rows, cols) = (g.nrows(), d.ncols());
    let c = &mut g.as_mut_slice()[from * rows..(from + cols) * rows];
    gemm_strided(
        rows,
        a.nrows(),
        cols,
        Strided::of(a, true),
        Strided::of(d, false),
        T::one(),
        c,
        rows,
    );
}

fn add_row<T: Real>(m: &mut DMatrix<T>, b: &DMatrix<T>) {
    let n = m.nrows();
    for (col, &bj) in m.as_mut_slice().chunks_mut(n).zip(b.as_slice()) {
        col.iter_mut().for_each(|v| *v += bj);
    }
}

fn col_sums<T: Real>(m: &DMatrix<T>, into: &mut DMatrix<T>) {
    let n = m.nrows();
    crate::kernels::sum::add_run_sums(m.as_slice(), n, n, into.as_mut_slice());
}

impl<T: Real> Cell<T> for GruCell<T> {
    type Cache = GruCache<T>;

    fn input(&self) -> usize {
        self.wx.nrows()
    }
    fn hidden(&self) -> usize {
        self.hid()
    }

    fn check(&self) -> Result<()> {
        let (d, h) = (self.wx.nrows(), self.hid());
        let ok = d > 0
            && h > 0
            && self.wx.shape() == (d, 3 * h)
            && self.wh.shape() == (h, 3 * h)
            && self.bz.shape() == (1, 2 * h)
            && self.ba.shape() == (1, h)
            && self.bah.shape() == (1, h);
        if !ok {
            let s = |m: &DMatrix<T>| Shape(m.nrows(), m.ncols());
            return Err(Error::shape(
                "gru",
                &[
                    s(&self.wx),
                    s(&self.wh),
                    s(&self.bz),
                    s(&self.ba),
                    s(&self.bah),
                ],
                "[W_zx | W_ax]: D x 3H, [W_zh | W_ah]: H x 3H, b_z: 1 x 2H, b_a: 1 x H, b_ah: 1 x H",
            ));
        }
        Ok(())
    }

    // ANCHOR: gru_step
    /// The layer hands the step `x_t W_x = [x_t W_zx | x_t W_ax]`, computed for all steps at once.
    fn step(
        &self,
        xw_t: DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
    ) -> (Vec<DMatrix<T>>, GruCache<T>) {
        let (n, h) = (xw_t.nrows(), self.hidden());
        let mut rz = cols(&xw_t, 0, 2 * h);
        let mut za = cols(&xw_t, 2 * h, h);
        add_row(&mut za, &self.ba);
        let q_or_s = match (self.reset, prev) {
            (Reset::After, Some([hp])) => {
                // One product for both: [h W_zh | h W_ah], (9.5).
                let mut hw = DMatrix::zeros(n, 3 * h);
                product(hp, false, &self.wh, false, T::zero(), &mut hw);
                rz += &cols(&hw, 0, 2 * h);
                add_row(&mut rz, &self.bz);
                sigmoid_in_place(rz.as_mut_slice()); // (9.1)
                let mut q = cols(&hw, 2 * h, h);
                add_row(&mut q, &self.bah);
                q
            }
            _ => {
                if let Some([hp]) = prev {
                    block_product(hp, &self.wh, 0, 2 * h, false, T::one(), &mut rz);
                }
                add_row(&mut rz, &self.bz);
                sigmoid_in_place(rz.as_mut_slice()); // (9.1)
                match self.reset {
                    Reset::After => DMatrix::from_fn(n, h, |_, j| self.bah[j]),
                    Reset::Before => DMatrix::zeros(n, h),
                }
            }
        };
        // ANCHOR_END: gru_step
        // ANCHOR: gru_step_candidate
        let (r, z) = (cols(&rz, 0, h), cols(&rz, h, h));
        let q_or_s = match (self.reset, prev) {
            (Reset::Before, Some([hp])) => {
                let s = map2(&r, hp, |r, h| r * h);
                block_product(&s, &self.wh, 2 * h, h, false, T::one(), &mut za);
                s
            }
            (Reset::Before, _) => q_or_s,
            (Reset::After, _) => {
                za += &map2(&r, &q_or_s, |r, q| r * q);
                q_or_s
            }
        };
        tanh_in_place(za.as_mut_slice()); // (9.2) or (9.4)
        let a = za;
        // h_t = (1 - z) ⊙ h_{t-1} + z ⊙ a, (9.3)
        let h_t = match prev {
            Some([hp]) => map3(hp, &z, &a, |hp, zk, ak| (T::one() - zk) * hp + zk * ak),
            _ => map2(&z, &a, |z, a| z * a),
        };
        (vec![h_t], GruCache { r, z, a, q_or_s })
    }
    // ANCHOR_END: gru_step_candidate

    // ANCHOR: gru_step_backward
    /// Returns the gradient of `x_t W_x`, `[δZ_rz | δZ_a]`: the layer forms `dW_x` and `dx` for all steps.
    fn step_backward(
        &self,
        xw_t: &DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
        _states: &[DMatrix<T>],
        c: &GruCache<T>,
        d_states: Vec<DMatrix<T>>,
        g: &mut Self,
    ) -> (DMatrix<T>, Vec<DMatrix<T>>) {
        let (n, h) = (xw_t.nrows(), self.hidden());
        let one = T::one();
        let zeros = DMatrix::zeros(n, h);
        let h_prev = prev.map_or(&zeros, |p| &p[0]);
        let [dh] = <[DMatrix<T>; 1]>::try_from(d_states).expect("one state");
        let mut dproj = DMatrix::zeros(n, 3 * h);
        // Through h_t = (1 - z) h_{t-1} + z a: δZ_a first, into its block.
        let dza = map3(&dh, &c.z, &c.a, |d, z, a| d * z * (one - a * a)); // (9.8)
        let dz = map3(&dh, &c.a, h_prev, |d, a, hp| d * (a - hp)); // (9.7)
        let mut dh_prev = map2(&dh, &c.z, |d, z| d * (one - z)); // (9.12), first term
        col_sums(&dza, &mut g.ba);
        // The candidate's recurrent term: what it sends to r, to h_{t-1} and to W_ah.
        let dq_or_ds = match self.reset {
            Reset::Before => {
                let mut ds = DMatrix::zeros(n, h);
                block_product(&dza, &self.wh, 2 * h, h, true, T::zero(), &mut ds);
                ds
            }
            Reset::After => map2(&dza, &c.r, |d, r| d * r), // (9.10)
        };
        let dr = match self.reset {
            Reset::Before => map2(&dq_or_ds, h_prev, |d, h| d * h), // (9.9)
            Reset::After => map2(&dza, &c.q_or_s, |d, q| d * q),    // (9.10)
        };
        // ANCHOR_END: gru_step_backward
        // ANCHOR: gru_step_backward_gates
        // The gates, (9.11).
        let (r, z) = (c.r.as_slice(), c.z.as_slice());
        {
            let (drz, da) = dproj.as_mut_slice().split_at_mut(2 * n * h);
            let (dr_blk, dz_blk) = drz.split_at_mut(n * h);
            for k in 0..n * h {
                dr_blk[k] = dr[k] * r[k] * (one - r[k]);
                dz_blk[k] = dz[k] * z[k] * (one - z[k]);
            }
            da.copy_from_slice(dza.as_slice());
        }
        let drz = cols(&dproj, 0, 2 * h);
        col_sums(&drz, &mut g.bz);
        match self.reset {
            Reset::After => {
                // [δZ_rz | δq] against [W_zh | W_ah]: one product for W_h's gradient, one for h_{t-1}'s.
                let mut dp = DMatrix::zeros(n, 3 * h);
                dp.as_mut_slice()[..2 * n * h].copy_from_slice(drz.as_slice());
                dp.as_mut_slice()[2 * n * h..].copy_from_slice(dq_or_ds.as_slice());
                col_sums(&dq_or_ds, &mut g.bah);
                if prev.is_some() {
                    product(h_prev, true, &dp, false, one, &mut g.wh);
                    product(&dp, false, &self.wh, true, one, &mut dh_prev);
                }
            }
            Reset::Before => {
                dh_prev += &map2(&dq_or_ds, &c.r, |d, r| d * r); // (9.9), to h_{t-1}
                if prev.is_some() {
                    block_grad(h_prev, &drz, &mut g.wh, 0);
                    block_grad(&c.q_or_s, &dza, &mut g.wh, 2 * h);
                }
                block_product(&drz, &self.wh, 0, 2 * h, true, one, &mut dh_prev);
            }
        }
        (dproj, vec![dh_prev])
    }
    // ANCHOR_END: gru_step_backward_gates

    fn input_weight(&self) -> Option<&DMatrix<T>> {
        Some(&self.wx)
    }

    fn input_weight_grad<'a>(&self, grads: &'a mut Self) -> Option<&'a mut DMatrix<T>> {
        Some(&mut grads.wx)
    }

    fn zeros_like(&self) -> Self {
        let z = |m: &DMatrix<T>| DMatrix::zeros(m.nrows(), m.ncols());
        GruCell {
            wx: z(&self.wx),
            wh: z(&self.wh),
            bz: z(&self.bz),
            ba: z(&self.ba),
            bah: z(&self.bah),
            reset: self.reset,
        }
    }

    /// As the book names them: `W_zx, W_zh, b_z, W_ax, W_ah, b_a`, and `b_ah` in the form that uses it.
    fn matrices(&self) -> Vec<DMatrix<T>> {
        let mut m = vec![
            self.wzx(),
            self.wzh(),
            self.bz.clone(),
            self.wax(),
            self.wah(),
            self.ba.clone(),
        ];
        if self.reset == Reset::After {
            m.push(self.bah.clone());
        }
        m
    }
}
