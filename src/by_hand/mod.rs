//! The book's derivations, written out: one file per layer, each with an explicit forward that returns what
//! its backward needs (a cache) and a backward that applies the hand-derived formulas. They are the oracle the
//! tape's composed layers are proven against, and later the fused fast paths registered on the tape.

pub mod activation;
pub mod batch_norm;
pub mod conv;
pub mod conv_block;
pub mod conv_fast;
pub mod dropout;
pub mod fc;
pub mod gru;
pub mod lstm;
pub mod perceptron;
pub mod pool;
pub mod pool_fast;
pub mod recurrent;
pub mod rnn;
pub mod softmax_ce;

use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;

/// An operand (most often the upstream gradient) whose shape is not the one the op needs: a typed error naming
/// the op and the shape, where nalgebra would assert or an index would run out of bounds (or, worse, a smaller
/// gradient would be read without complaint).
pub(crate) fn expect_shape<T: Real>(
    op: &'static str,
    what: &str,
    m: &DMatrix<T>,
    want: (usize, usize),
) -> Result<()> {
    if m.shape() != want {
        return Err(Error::shape(
            op,
            &[Shape(m.nrows(), m.ncols())],
            format!("{what} of shape {}x{}", want.0, want.1),
        ));
    }
    Ok(())
}
