//! The shape every layer and model shares: parameters and buffers under stable, hierarchical names, and the
//! switch between training and inference.
//!
//! A parameter's name is its path in the model (`conv1.weight`, `rnn.layer0.forward.w_h`), the way candle's
//! `VarBuilder` and burn's records name them: checkpoints, the book and error messages use these names, and
//! a model lists its parameters in one fixed order (the order optimizers and clipping visit them).

use crate::autograd::{Tape, Var};
use crate::error::Result;
use std::cell::RefCell;

/// State that belongs to a model but is not trained by gradients (batch norm's running statistics).
pub type Buffer = RefCell<Vec<f64>>;

/// A random generator a model draws from while training (dropout's masks): a checkpoint saves its position
/// so that a resumed run draws the masks the uninterrupted run would have.
pub type ModelRng = RefCell<crate::rng::Rng>;

// ANCHOR: module
pub trait Module {
    /// Every trainable parameter, named relative to this module, in a fixed order.
    fn named_params(&self) -> Vec<(String, Var)>;

    /// Every buffer, named relative to this module.
    fn named_buffers(&self) -> Vec<(String, &Buffer)> {
        Vec::new()
    }

    /// Every random generator the model draws from, named relative to this module.
    fn named_rngs(&self) -> Vec<(String, &ModelRng)> {
        Vec::new()
    }

    /// Training or inference: batch normalization uses the batch's statistics or its running ones; dropout
    /// drops or passes through. Layers that behave the same either way ignore it.
    fn set_training(&self, _on: bool) {}

    /// The parameters without their names, in the same order.
    fn params(&self) -> Vec<Var> {
        self.named_params().into_iter().map(|(_, v)| v).collect()
    }
}

/// A model that maps a batch `N x D` (one example per row) to logits `N x K`.
pub trait Classifier: Module {
    fn logits(&self, tape: &mut Tape<f32>, x: Var) -> Result<Var>;
    /// The parameters L2 regularisation penalises (weights, not biases).
    fn l2_params(&self) -> Vec<Var>;
}
// ANCHOR_END: module

/// A child module's parameters under `prefix.` (for a parent's `named_params`).
pub fn child_params(prefix: &str, child: &dyn Module) -> Vec<(String, Var)> {
    nest(prefix, child.named_params())
}

/// A child module's buffers under `prefix.` (for a parent's `named_buffers`).
pub fn child_buffers<'a>(prefix: &str, child: &'a dyn Module) -> Vec<(String, &'a Buffer)> {
    nest(prefix, child.named_buffers())
}

fn nest<V>(prefix: &str, items: Vec<(String, V)>) -> Vec<(String, V)> {
    items
        .into_iter()
        .map(|(n, v)| (format!("{prefix}.{n}"), v))
        .collect()
}

/// A child module's generators under `prefix.` (for a parent's `named_rngs`).
pub fn child_rngs<'a>(prefix: &str, child: &'a dyn Module) -> Vec<(String, &'a ModelRng)> {
    nest(prefix, child.named_rngs())
}

/// Parameters by name, for a whole model: what a checkpoint writes. Errors if two share a name.
pub fn param_names(model: &dyn Module) -> Result<Vec<(String, Var)>> {
    let named = model.named_params();
    let mut seen = std::collections::BTreeSet::new();
    for (n, _) in &named {
        if !seen.insert(n.as_str()) {
            return Err(crate::error::Error::invalid(
                "named_params",
                format!("two parameters are both named {n:?}"),
            ));
        }
    }
    Ok(named)
}
