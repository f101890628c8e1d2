//! The yardsticks beside the GRU, both logistic regressions trained by the same loop: one on a review's mean
//! word vector, one on its bag of words. The bag of words is an embedding of width 2 summed over the review's
//! tokens: the tape's gather and a product with a fixed summing matrix, so autograd gives its sparse gradient.

use super::{Corpus, Encoded};
use crate::autograd::{Tape, Var};
use crate::data::batch::{epoch_batches, in_order};
use crate::error::Result;
use crate::nn::embedding::Embedding;
use crate::nn::module::child_params;
use crate::nn::{Init, Linear, Module};
use crate::optim::{Adam, Schedule};
use crate::rng::seeded;
use crate::train::{count_correct, train_loop, Forward, LoopConfig, Progress};
use nalgebra::DMatrix;

/// Validation and test accuracy of a baseline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    pub val_acc: f64,
    pub test_acc: f64,
    pub seconds: f64,
}

/// A classifier over a whole batch of encoded reviews.
trait Model: Module {
    fn logits(&self, tape: &mut Tape<f32>, b: &Encoded) -> Result<Var>;
}

fn accuracy(tape: &mut Tape<f32>, m: &dyn Model, data: &Encoded) -> Result<f64> {
    let mut right = 0;
    for rows in in_order(data.len(), 500) {
        let b = data.select(&rows);
        tape.reset();
        let z = m.logits(tape, &b)?;
        right += count_correct(tape.value(z)?, &b.labels);
    }
    tape.reset();
    Ok(right as f64 / data.len().max(1) as f64)
}

fn fit(
    tape: &mut Tape<f32>,
    m: &dyn Model,
    c: &Corpus,
    lr: f64,
    epochs: usize,
    seed: u64,
) -> Result<Score> {
    let start = std::time::Instant::now();
    let mut rng = seeded(seed);
    let batch = 64;
    let batches = (0..epochs).flat_map(|e| {
        let order = epoch_batches(c.train.len(), batch, &mut rng);
        order
            .into_iter()
            .map(move |rows| (e, c.train.select(&rows)))
    });
    let mut forward = |tape: &mut Tape<f32>, b: &Encoded| {
        let z = m.logits(tape, b)?;
        let loss = tape.softmax_cross_entropy(z, &b.labels)?;
        Ok(Forward {
            objective: loss,
            loss,
            output: z,
        })
    };
    let mut after = |_: &Progress, _: &Encoded, _: &Forward, _: &mut Tape<f32>| Ok(());
    let cfg = LoopConfig {
        schedule: Some(Schedule::Exponential {
            base: lr,
            decay: 0.7,
        }),
        total_steps: epochs * c.train.len().div_ceil(batch),
        ..LoopConfig::default()
    };
    let mut opt = Adam::new(lr);
    train_loop(tape, m, &mut opt, batches, &cfg, &mut forward, &mut after)?;
    Ok(Score {
        val_acc: accuracy(tape, m, &c.val)?,
        test_acc: accuracy(tape, m, &c.test)?,
        seconds: start.elapsed().as_secs_f64(),
    })
}

struct MeanVector {
    vectors: DMatrix<f32>,
    fc: Linear,
}

impl Module for MeanVector {
    fn named_params(&self) -> Vec<(String, Var)> {
        child_params("fc", &self.fc)
    }
}

impl Model for MeanVector {
    fn logits(&self, tape: &mut Tape<f32>, b: &Encoded) -> Result<Var> {
        let d = self.vectors.ncols();
        let mut mean = DMatrix::<f32>::zeros(b.len(), d);
        for (i, (ids, &len)) in b.ids.iter().zip(&b.lengths).enumerate() {
            for &k in &ids[..len] {
                let mut row = mean.row_mut(i);
                row += self.vectors.row(k as usize);
            }
            mean.row_mut(i).scale_mut(1.0 / len.max(1) as f32);
        }
        let x = tape.constant(mean);
        self.fc.forward(tape, x)
    }
}

// ANCHOR: mean_vector
/// Logistic regression on the mean of the review's word vectors (the fixed initial ones).
pub fn mean_vector(c: &Corpus, seed: u64) -> Result<Score> {
    let mut tape = Tape::<f32>::new();
    let fc = Linear::new(
        &mut tape,
        c.vectors.ncols(),
        2,
        Init::Xavier,
        &mut seeded(seed),
    );
    let m = MeanVector {
        vectors: c.vectors.clone(),
        fc,
    };
    fit(&mut tape, &m, c, 0.01, 8, seed)
}
// ANCHOR_END: mean_vector

struct BagOfWords {
    weights: Embedding,
    bias: Var,
}

impl Module for BagOfWords {
    fn named_params(&self) -> Vec<(String, Var)> {
        let mut p = child_params("weights", &self.weights);
        p.push(("bias".into(), self.bias));
        p
    }
}

impl Model for BagOfWords {
    /// `z_i = Σ_{tokens w of review i} W[w] + b`: counts times weights, without forming the counts.
    fn logits(&self, tape: &mut Tape<f32>, b: &Encoded) -> Result<Var> {
        let steps = b.ids[0].len();
        let per_step = self.weights.forward(tape, &b.ids)?; // N x (T·2)
        let mask = DMatrix::from_fn(b.len(), 2 * steps, |i, c| {
            if c / 2 < b.lengths[i] {
                1.0
            } else {
                0.0
            }
        });
        let mask = tape.constant(mask);
        let kept = tape.mul(per_step, mask)?;
        let sum = DMatrix::from_fn(2 * steps, 2, |r, j| if r % 2 == j { 1.0 } else { 0.0 });
        let sum = tape.constant(sum);
        let z = tape.matmul(kept, sum)?;
        tape.add(z, self.bias)
    }
}

// ANCHOR: bag_of_words
/// Logistic regression on the bag of words (every token of the review, as far as the corpus keeps it).
pub fn bag_of_words(c: &Corpus, vocab: usize, seed: u64) -> Result<Score> {
    let mut tape = Tape::<f32>::new();
    let weights = Embedding::new(&mut tape, DMatrix::zeros(vocab, 2), true);
    let bias = tape.param(DMatrix::zeros(1, 2));
    let m = BagOfWords { weights, bias };
    fit(&mut tape, &m, c, 0.005, 6, seed)
}
// ANCHOR_END: bag_of_words
