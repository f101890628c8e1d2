//! Dropout on the tape: identity in inference; in training `x ⊙ m / keep` with a fresh mask per step
//! (every sample its own mask by default, or the book's one mask shared by the batch). Two forms, as for every
//! layer: composed (a multiplication by the scaled mask as a constant; autograd derives the backward) and
//! fused (one node whose backward is [`crate::by_hand::dropout::backward`]).

use super::module::Module;
use crate::autograd::{Op, Tape, Var};
use crate::by_hand::dropout as hand;
use crate::error::Result;
use crate::rng::{seeded, Rng};
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::cell::{Cell, RefCell};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DropoutImpl {
    Composed,
    #[default]
    Fused,
}

// ANCHOR: dropout_layer
#[derive(Debug)]
pub struct Dropout {
    /// Probability of keeping an entry, in `(0, 1]`.
    pub keep: f64,
    /// One mask for the whole batch (the book's variant) rather than one per sample.
    pub shared_mask: bool,
    pub imp: DropoutImpl,
    rng: RefCell<Rng>,
    training: Cell<bool>,
}

impl Dropout {
    /// Masks are drawn from their own generator seeded with `seed`, so that adding dropout to a model does
    /// not shift any other random draw.
    pub fn new(keep: f64, shared_mask: bool, seed: u64) -> Result<Self> {
        hand::check_keep(keep)?;
        Ok(Dropout {
            keep,
            shared_mask,
            imp: DropoutImpl::Fused,
            rng: RefCell::new(seeded(seed)),
            training: Cell::new(true),
        })
    }

    /// In training, a fresh mask; in inference (or with `keep = 1`), `x` itself.
    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        if !self.training.get() || self.keep == 1.0 {
            return Ok(x);
        }
        let (n, f) = tape.value(x)?.shape();
        let mask = hand::mask(
            n,
            f,
            self.keep,
            self.shared_mask,
            &mut self.rng.borrow_mut(),
        );
        self.forward_with_mask(tape, x, mask)
    }

    /// The training-mode output for a given 0/1 mask (the proofs fix the mask).
    pub fn forward_with_mask<T: Real>(
        &self,
        tape: &mut Tape<T>,
        x: Var,
        mask: DMatrix<T>,
    ) -> Result<Var> {
        let y = hand::forward(tape.value(x)?, &mask, self.keep)?;
        match self.imp {
            DropoutImpl::Composed => {
                let scaled = tape.constant(mask * T::of(1.0 / self.keep));
                tape.mul(x, scaled)
            }
            DropoutImpl::Fused => tape.record(
                y,
                &[x],
                FusedDropout {
                    mask,
                    keep: self.keep,
                },
            ),
        }
    }
}
// ANCHOR_END: dropout_layer

impl Module for Dropout {
    fn named_params(&self) -> Vec<(String, Var)> {
        Vec::new()
    }
    fn named_rngs(&self) -> Vec<(String, &super::module::ModelRng)> {
        vec![("rng".into(), &self.rng)]
    }
    fn set_training(&self, on: bool) {
        self.training.set(on);
    }
}

struct FusedDropout<T: Real> {
    mask: DMatrix<T>,
    keep: f64,
}

impl<T: Real> Op<T> for FusedDropout<T> {
    fn name(&self) -> &'static str {
        "dropout"
    }
    fn backward(
        &self,
        _x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        _needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let dx = hand::backward(g, &self.mask, self.keep).expect("the mask has the output's shape");
        vec![Some(dx)]
    }
}
