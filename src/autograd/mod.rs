//! A small define-by-run autograd: a tape of values over nalgebra matrices, the ops that record onto it,
//! and the finite-difference checker that proves their gradients.

pub mod gradcheck;
pub mod ops;
pub mod tape;

pub use ops::Broadcast;
pub use tape::{Grads, Op, Tape, Var};
