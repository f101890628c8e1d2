//! Optimizers: each updates the parameters on the tape in place from one sweep's gradients, keeping its
//! state (velocities, accumulators, step count) per parameter. After the first step nothing is allocated.

pub mod adadelta;
pub mod adagrad;
pub mod adam;
pub mod clip;
pub mod momentum;
pub mod nag;
pub mod rmsprop;
pub mod schedule;
pub mod sgd;

pub use adadelta::AdaDelta;
pub use adagrad::Adagrad;
pub use adam::Adam;
pub use momentum::Momentum;
pub use nag::Nag;
pub use rmsprop::RmsProp;
pub use schedule::Schedule;
pub use sgd::Sgd;

use crate::autograd::{Grads, Tape, Var};
use crate::error::Result;
use crate::scalar::Real;
use nalgebra::DMatrix;

pub trait Optimizer<T: Real> {
    /// Apply one update to `params` from `grads`; parameters without a gradient are left alone.
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()>;
    fn lr(&self) -> f64;
    fn set_lr(&mut self, lr: f64);
}

/// Runs `f` over matching chunks of a parameter, its gradient and two state slots, on the rayon pool when
/// the parameter is large (the update of each entry does not depend on the others, so the result is the same).
pub(crate) fn in_chunks4<T: Real>(
    w: &mut [T],
    g: &[T],
    a: &mut [T],
    b: &mut [T],
    f: impl Fn(&mut [T], &[T], &mut [T], &mut [T]) + Sync,
) {
    use crate::autograd::ops::PAR_CHUNK as CHUNK;
    use rayon::prelude::*;
    if w.len() <= CHUNK {
        return f(w, g, a, b);
    }
    w.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(a.par_chunks_mut(CHUNK))
        .zip(b.par_chunks_mut(CHUNK))
        .for_each(|(((w, g), a), b)| f(w, g, a, b));
}

/// Per-parameter state: one matrix per parameter (by its position in the `params` list), created as zeros
/// of the parameter's shape the first time it is needed.
#[derive(Clone, Debug, Default)]
pub struct Slots<T: Real>(Vec<Option<DMatrix<T>>>);

impl<T: Real> Slots<T> {
    pub fn new() -> Self {
        Slots(Vec::new())
    }

    pub fn get(&mut self, i: usize, shape: (usize, usize)) -> &mut DMatrix<T> {
        if self.0.len() <= i {
            self.0.resize(i + 1, None);
        }
        self.0[i].get_or_insert_with(|| DMatrix::zeros(shape.0, shape.1))
    }
}

/// The seven optimizers by name, with the defaults of the literature, for experiments and the CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sgd,
    Momentum,
    Nag,
    Adagrad,
    RmsProp,
    AdaDelta,
    Adam,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Sgd,
        Kind::Momentum,
        Kind::Nag,
        Kind::Adagrad,
        Kind::RmsProp,
        Kind::AdaDelta,
        Kind::Adam,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Sgd => "SGD",
            Kind::Momentum => "Momentum",
            Kind::Nag => "NAG",
            Kind::Adagrad => "Adagrad",
            Kind::RmsProp => "RMSprop",
            Kind::AdaDelta => "AdaDelta",
            Kind::Adam => "Adam",
        }
    }

    pub fn build<T: Real>(self, lr: f64) -> Box<dyn Optimizer<T>> {
        match self {
            Kind::Sgd => Box::new(Sgd { lr }),
            Kind::Momentum => Box::new(Momentum::new(lr)),
            Kind::Nag => Box::new(Nag::new(lr)),
            Kind::Adagrad => Box::new(Adagrad::new(lr)),
            Kind::RmsProp => Box::new(RmsProp::new(lr)),
            Kind::AdaDelta => Box::new(AdaDelta::new()),
            Kind::Adam => Box::new(Adam::new(lr)),
        }
    }
}
