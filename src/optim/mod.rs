//! Optimizers: each updates the parameters on the tape in place from one sweep's gradients, keeping its
//! state (velocities, accumulators, step count) per parameter, keyed by the parameter. All of them update through
//! [`update`], so the shape checks and the parallel split are written once.

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
use crate::error::{Error, Result, Shape};
use crate::kernels::par::zip_chunks;
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::collections::BTreeMap;

pub trait Optimizer<T: Real> {
    /// Apply one update to `params` from `grads`; parameters without a gradient are left alone.
    fn step(&mut self, tape: &mut Tape<T>, grads: &mut Grads<T>, params: &[Var]) -> Result<()>;
    fn lr(&self) -> f64;
    fn set_lr(&mut self, lr: f64);
    /// The state to save and restore, by slot name (`"m"`, `"v"`, …), each keyed by parameter.
    fn slots(&mut self) -> Vec<(&'static str, &mut Slots<T>)> {
        Vec::new()
    }
    /// Steps taken, where the update depends on it (Adam's bias correction); 0 otherwise.
    fn steps(&self) -> u64 {
        0
    }
    /// Restore the step count of a saved run.
    fn set_steps(&mut self, _steps: u64) {}
}

/// Per-parameter state (a velocity, a moment): one matrix per parameter, keyed by the parameter itself, created
/// as zeros of the parameter's shape the first time it is needed. Keyed, not positional, so that a reordered or
/// different parameter list can never update another parameter's slot, and so that a checkpoint can store each
/// slot under its parameter's name. The slots belong to the tape of the first parameter they see: a parameter
/// of another tape (whose position would name a different parameter) is an error.
#[derive(Clone, Debug, Default)]
pub struct Slots<T: Real>(BTreeMap<usize, DMatrix<T>>, Option<u32>);

impl<T: Real> Slots<T> {
    pub fn new() -> Self {
        Slots(BTreeMap::new(), None)
    }

    /// `p`'s key, claiming `p`'s tape for these slots if they have none yet.
    fn key(&mut self, p: Var, what: &str) -> Result<usize> {
        let key = p.param_index().ok_or_else(|| {
            Error::invalid("optimizer", format!("only parameters (Tape::param) {what}"))
        })?;
        self.same_tape(p)?;
        self.1 = Some(p.tape_id());
        Ok(key)
    }

    fn same_tape(&self, p: Var) -> Result<()> {
        match self.1 {
            Some(t) if t != p.tape_id() => Err(Error::invalid(
                "optimizer",
                format!(
                    "parameter #{} is from tape {}, but this optimizer's state belongs to tape {t} (use one optimizer per tape)",
                    p.param_index().unwrap_or(0),
                    p.tape_id()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The slot of parameter `p`, created as zeros of `shape`; an existing slot of another shape is an error.
    pub fn get(&mut self, p: Var, shape: (usize, usize)) -> Result<&mut DMatrix<T>> {
        let key = self.key(p, "can be optimized")?;
        let m = self
            .0
            .entry(key)
            .or_insert_with(|| DMatrix::zeros(shape.0, shape.1));
        if m.shape() != shape {
            return Err(Error::shape(
                "optimizer state",
                &[Shape(m.nrows(), m.ncols()), Shape(shape.0, shape.1)],
                format!("the state of parameter #{key} to keep the parameter's shape"),
            ));
        }
        Ok(m)
    }

    /// The slot of parameter `p`, if it has one.
    pub fn peek(&self, p: Var) -> Option<&DMatrix<T>> {
        if self.1.is_some_and(|t| t != p.tape_id()) {
            return None;
        }
        self.0.get(&p.param_index()?)
    }

    /// Replace the slot of parameter `p` (restoring saved state).
    pub fn set(&mut self, p: Var, value: DMatrix<T>) -> Result<()> {
        let key = self.key(p, "have optimizer state")?;
        self.0.insert(key, value);
        Ok(())
    }
}

/// Everything [`update`] could object to, checked before any parameter changes, so a bad step is an error
/// that leaves the parameters as they were rather than half updated.
fn check_step<T: Real>(
    tape: &mut Tape<T>,
    grads: &Grads<T>,
    params: &[Var],
    slots: &[&mut Slots<T>],
) -> Result<()> {
    if grads.tape_id() != tape.id() {
        return Err(Error::invalid(
            "optimizer step",
            format!(
                "the gradients are from tape {}, the parameters on tape {}",
                grads.tape_id(),
                tape.id()
            ),
        ));
    }
    for &p in params {
        // Before the gradient lookup: a parameter of another tape has no gradient here, and skipping it
        // would be a silent no-op.
        let theta = tape.param_mut(p)?;
        let Some(g) = grads.get(p) else { continue };
        let shape = |m: &DMatrix<T>| Shape(m.nrows(), m.ncols());
        if theta.shape() != g.shape() {
            return Err(Error::shape(
                "optimizer step",
                &[shape(theta), shape(g)],
                "a gradient of its parameter's shape",
            ));
        }
        for s in slots {
            s.same_tape(p)?;
            if let Some(state) = s.peek(p).filter(|m| m.shape() != g.shape()) {
                return Err(Error::shape(
                    "optimizer state",
                    &[shape(state), shape(g)],
                    format!(
                        "the state of parameter #{} to keep the parameter's shape",
                        p.param_index().unwrap_or(0)
                    ),
                ));
            }
        }
    }
    Ok(())
}

// ANCHOR: update
/// The one update path every optimizer takes: check everything first, then for each parameter that has a
/// gradient fetch its state slots (one per entry of `slots`), and run `f(w, g, states)` over matching chunks
/// of the parameter, its gradient and its states, on the rayon pool when the parameter is large. Each entry's update
/// depends only on that entry, so the result does not depend on how the work is split.
pub fn update<T: Real>(
    tape: &mut Tape<T>,
    grads: &Grads<T>,
    params: &[Var],
    slots: &mut [&mut Slots<T>],
    f: impl Fn(&mut [T], &[T], &mut [&mut [T]]) + Sync,
) -> Result<()> {
    check_step(tape, grads, params, slots)?;
    for &p in params {
        let Some(g) = grads.get(p) else { continue };
        let theta = tape.param_mut(p)?;
        let mut states = Vec::with_capacity(slots.len());
        for s in slots.iter_mut() {
            states.push(s.get(p, g.shape())?.as_mut_slice());
        }
        zip_chunks(theta.as_mut_slice(), g.as_slice(), states, &f);
    }
    Ok(())
}
// ANCHOR_END: update

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
