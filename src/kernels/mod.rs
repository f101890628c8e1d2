//! The floor under everything: matrix products and the parallel split of elementwise passes. Autograd's ops,
//! the hand-derived layers and the optimizers all reach their heavy loops through here, so that a faster
//! kernel or another threading policy changes one place, and the thread count never changes a result.

pub mod act;
pub mod gemm;
pub mod par;
pub mod small;
pub mod sum;

pub use gemm::{gemm, gemm_into, gemm_strided, packed_gemm, Strided};
pub use par::PAR_CHUNK;
