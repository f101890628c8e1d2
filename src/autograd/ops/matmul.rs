use super::shape_of;
use crate::autograd::tape::{Op, Tape, Var};
use crate::error::{Error, Result};
use crate::scalar::Real;
use nalgebra::DMatrix;

// ANCHOR: matmul_full
impl<T: Real> Tape<T> {
    // ANCHOR: matmul
    /// Matrix product `C = A B`, `A: n x k`, `B: k x m`.
    ///
    /// Backward: `dA = dC Bᵀ`, `dB = Aᵀ dC`.
    pub fn matmul(&mut self, a: Var, b: Var) -> Result<Var> {
        let (va, vb) = (self.get(a, "matmul")?, self.get(b, "matmul")?);
        if va.ncols() != vb.nrows() {
            return Err(Error::shape(
                "matmul",
                &[shape_of(va), shape_of(vb)],
                format!(
                    "the left operand's columns ({}) to equal the right operand's rows ({})",
                    va.ncols(),
                    vb.nrows()
                ),
            ));
        }
        let out = gemm(va, false, vb, false);
        Ok(self.record(out, &[a, b], MatMul))
    }
}

struct MatMul;

impl<T: Real> Op<T> for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _out: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let da = needs[0].then(|| gemm(g, false, x[1], true));
        let db = needs[1].then(|| gemm(x[0], true, g, false));
        vec![da, db]
    }
}
// ANCHOR_END: matmul
// ANCHOR_END: matmul_full

/// `op(A) op(B)` where `op` transposes when asked, without materialising a transpose: matrixmultiply reads
/// the operands through their strides. nalgebra's own `tr_mul` is a loop of dot products, many times slower
/// for the large products of a training step.
pub fn gemm<T: Real>(a: &DMatrix<T>, ta: bool, b: &DMatrix<T>, tb: bool) -> DMatrix<T> {
    use std::any::TypeId;
    let (m, k) = if ta {
        (a.ncols(), a.nrows())
    } else {
        a.shape()
    };
    let (k2, n) = if tb {
        (b.ncols(), b.nrows())
    } else {
        b.shape()
    };
    assert_eq!(k, k2, "gemm: inner dimensions (checked by the callers)");
    let mut c = DMatrix::<T>::zeros(m, n);
    if m == 0 || n == 0 || k == 0 {
        return c;
    }
    // Column-major storage: entry (i, j) at i + j·rows, so rows step 1 and columns step `rows`; a
    // transpose swaps the two.
    let strides = |x: &DMatrix<T>, t: bool| {
        let (rs, cs) = (1isize, x.nrows() as isize);
        if t {
            (cs, rs)
        } else {
            (rs, cs)
        }
    };
    let (rsa, csa) = strides(a, ta);
    let (rsb, csb) = strides(b, tb);
    let (rsc, csc) = (1isize, m as isize);
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        // SAFETY: T is f32 (checked above), the pointers cover m·k, k·n and m·n entries laid out as the
        // strides say, and `c` does not alias `a` or `b`.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr() as *const f32,
                rsa,
                csa,
                b.as_ptr() as *const f32,
                rsb,
                csb,
                0.0,
                c.as_mut_ptr() as *mut f32,
                rsc,
                csc,
            );
        }
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        // SAFETY: as above, with T = f64.
        unsafe {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr() as *const f64,
                rsa,
                csa,
                b.as_ptr() as *const f64,
                rsb,
                csb,
                0.0,
                c.as_mut_ptr() as *mut f64,
                rsc,
                csc,
            );
        }
    } else {
        let a = if ta { a.transpose() } else { a.clone() };
        let b = if tb { b.transpose() } else { b.clone() };
        c = a * b;
    }
    c
}
