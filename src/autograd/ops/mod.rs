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

use crate::error::Shape;
use nalgebra::DMatrix;

pub(crate) fn shape_of<T: nalgebra::Scalar>(m: &DMatrix<T>) -> Shape {
    Shape(m.nrows(), m.ncols())
}
