//! `zerodl predict` for the MNIST chapters: a PNG of a digit through a saved classifier.

use crate::autograd::Tape;
use crate::data::digit::read_png;
use crate::error::Result;
use crate::nn::Classifier;
use nalgebra::DMatrix;
use serde_json::{json, Value};
use std::path::Path;

/// The class probabilities of the digit in the PNG `input` (any size, grey or colour, either polarity),
/// prepared the way MNIST was (see [`crate::data::digit`]).
pub fn digit(tape: &mut Tape<f32>, model: &dyn Classifier, input: &Path) -> Result<Value> {
    let pixels = read_png(input)?;
    model.set_training(false);
    tape.reset();
    let x = tape.constant(DMatrix::from_row_slice(1, pixels.len(), &pixels));
    let z = model.logits(tape, x)?;
    let logits = tape.value(z)?;
    let max = logits.max();
    let e: Vec<f64> = logits.iter().map(|&v| ((v - max) as f64).exp()).collect();
    let total: f64 = e.iter().sum();
    let p: Vec<f64> = e.iter().map(|v| v / total).collect();
    let class = p
        .iter()
        .enumerate()
        .fold((0, f64::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
        .0;
    Ok(json!({"input": input.display().to_string(), "class": class, "probabilities": p}))
}
