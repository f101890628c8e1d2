use super::shape_of;
use crate::autograd::tape::{Op, Tape, Var};
use crate::error::{Error, Result};
use crate::kernels::gemm;
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
        self.record(out, &[a, b], MatMul)
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
