//! The ops. Each file holds a family; each op is a `Tape` method that checks shapes and computes the forward
//! value, followed by the struct whose `Op::backward` is that op's local derivative.

mod arith;
pub mod gather;
mod loss;
mod matmul;
mod reduce;
mod shape;
mod unary;

pub use arith::Broadcast;
pub use loss::softmax_rows;
pub use matmul::{gemm, gemm_strided, Strided};

/// Entries per task when an elementwise pass (an op, an optimizer update) is spread over the rayon pool;
/// smaller arrays stay on the calling thread, where handing work out would cost more than it saves.
pub(crate) const PAR_CHUNK: usize = 1 << 15;

use crate::error::Shape;
use nalgebra::DMatrix;

pub(crate) fn shape_of<T: nalgebra::Scalar>(m: &DMatrix<T>) -> Shape {
    Shape(m.nrows(), m.ncols())
}
