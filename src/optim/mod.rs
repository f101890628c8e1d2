//! Optimizers: each updates the parameters on the tape in place from one sweep's gradients.

pub mod adam;
pub mod schedule;
pub mod sgd;

pub use adam::Adam;
pub use schedule::Schedule;
pub use sgd::Sgd;

use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;

pub trait Optimizer<T: Real> {
    /// Apply one update to `params` from `grads`; parameters without a gradient are left alone.
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()>;
    fn lr(&self) -> f64;
    fn set_lr(&mut self, lr: f64);
}
