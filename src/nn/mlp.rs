//! A fully connected network: `Linear → activation → … → Linear`, ending in logits.

use super::batch_norm::{BatchNorm, BnImpl, Form};
use super::module::{child_buffers, child_params, Buffer, Classifier, Module};
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
    /// Batch normalization before each hidden activation (chapter 6), or empty.
    pub bn: Vec<BatchNorm>,
}
// ANCHOR_END: mlp

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
        Ok(Mlp {
            layers,
            activation,
            bn: Vec::new(),
        })
    }

    /// The same network with batch normalization (fully connected form) before every hidden activation.
    pub fn with_batch_norm<T: Real>(mut self, tape: &mut Tape<T>, imp: BnImpl) -> Self {
        // `layers` is public, so it may be empty: no hidden layer, no batch norm (and `forward` says why).
        let hidden = &self.layers[..self.layers.len().saturating_sub(1)];
        self.bn = hidden
            .iter()
            .map(|l| {
                let features = tape.value(l.b).map_or(0, |b| b.ncols());
                BatchNorm::new(tape, Form::Fc { features }, imp)
            })
            .collect();
        self
    }

    /// Every hidden layer's pre-activation (after batch normalization when present), for the figures.
    pub fn pre_activations<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Vec<Var>> {
        let mut out = Vec::new();
        self.run(tape, x, Some(&mut out))?;
        Ok(out)
    }
    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        self.run(tape, x, None)
    }

    // ANCHOR: mlp_run
    /// The forward pass; `pre`, when given, collects each hidden layer's input to its activation.
    fn run<T: Real>(
        &self,
        tape: &mut Tape<T>,
        x: Var,
        mut pre: Option<&mut Vec<Var>>,
    ) -> Result<Var> {
        if self.layers.is_empty() {
            return Err(Error::Config(
                "an MLP needs at least one layer; this one has none".into(),
            ));
        }
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(tape, h)?; // (3.1): Z = H W + 1 b
            if i + 1 < self.layers.len() {
                if let Some(bn) = self.bn.get(i) {
                    h = bn.forward(tape, h)?;
                }
                if let Some(pre) = pre.as_deref_mut() {
                    pre.push(h);
                }
                h = self.activation.apply(tape, h)?; // (3.1): A = f(Z)
            }
        }
        Ok(h)
    }
    // ANCHOR_END: mlp_run

    /// The weight matrices (not the biases): what L2 regularisation penalises.
    pub fn weights(&self) -> Vec<Var> {
        self.layers.iter().map(|l| l.w).collect()
    }
}

/// `layer0.weight`, `layer0.bias`, …, then `bn0.gamma`, `bn0.beta`, … (buffers `bn0.running_mean`, …).
impl Module for Mlp {
    fn named_params(&self) -> Vec<(String, Var)> {
        let layers = self.layers.iter().enumerate();
        let mut p: Vec<_> = layers
            .flat_map(|(i, l)| child_params(&format!("layer{i}"), l))
            .collect();
        for (i, b) in self.bn.iter().enumerate() {
            p.extend(child_params(&format!("bn{i}"), b));
        }
        p
    }
    fn named_buffers(&self) -> Vec<(String, &Buffer)> {
        let bn = self.bn.iter().enumerate();
        bn.flat_map(|(i, b)| child_buffers(&format!("bn{i}"), b))
            .collect()
    }
    fn set_training(&self, on: bool) {
        self.bn.iter().for_each(|b| b.set_training(on));
    }
}

impl Classifier for Mlp {
    fn logits(&self, tape: &mut Tape<f32>, x: Var) -> Result<Var> {
        self.forward(tape, x)
    }
    fn l2_params(&self) -> Vec<Var> {
        self.weights()
    }
}
