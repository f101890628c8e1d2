//! A fully connected network: `Linear → activation → … → Linear`, ending in logits.

use super::{Init, Linear};
use crate::autograd::{Tape, Var};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::scalar::Real;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    LeakyRelu(f64),
    Sigmoid,
    Tanh,
}

impl Activation {
    pub fn apply<T: Real>(self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        match self {
            Activation::Relu => tape.relu(x),
            Activation::LeakyRelu(a) => tape.leaky_relu(x, T::of(a)),
            Activation::Sigmoid => tape.sigmoid(x),
            Activation::Tanh => tape.tanh(x),
        }
    }
}

// ANCHOR: mlp
#[derive(Clone, Debug)]
pub struct Mlp {
    pub layers: Vec<Linear>,
    pub activation: Activation,
}

impl Mlp {
    /// `sizes = [input, hidden…, output]`: one layer between each consecutive pair.
    pub fn new<T: Real>(
        tape: &mut Tape<T>,
        sizes: &[usize],
        activation: Activation,
        init: Init,
        rng: &mut Rng,
    ) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::Config(format!(
                "an MLP needs at least an input and an output size, all non-zero; got {sizes:?}"
            )));
        }
        let layers = sizes
            .windows(2)
            .map(|w| Linear::new(tape, w[0], w[1], init, rng))
            .collect();
        Ok(Mlp { layers, activation })
    }

    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(tape, h)?;
            if i + 1 < self.layers.len() {
                h = self.activation.apply(tape, h)?;
            }
        }
        Ok(h)
    }

    pub fn params(&self) -> Vec<Var> {
        self.layers.iter().flat_map(|l| [l.w, l.b]).collect()
    }

    /// The weight matrices (not the biases): what L2 regularisation penalises.
    pub fn weights(&self) -> Vec<Var> {
        self.layers.iter().map(|l| l.w).collect()
    }
}
// ANCHOR_END: mlp
