//! The training loop for classifiers on flat inputs: batches, steps, evaluation, curves and progress.

use crate::autograd::{Tape, Var};
use crate::data::batch::{epoch_batches, in_order};
use crate::data::mnist::Split;
use crate::error::{Error, Result};
use crate::optim::{Optimizer, Schedule};
use crate::rng::seeded;
use std::time::Instant;

/// A model that maps a batch `N x D` to logits `N x K`.
pub trait Classifier {
    fn logits(&self, tape: &mut Tape<f32>, x: Var) -> Result<Var>;
    fn params(&self) -> Vec<Var>;
    /// The parameters L2 regularisation penalises (weights, not biases).
    fn l2_params(&self) -> Vec<Var>;
    /// Switch layers that behave differently in training and inference (batch normalization).
    fn set_training(&self, _on: bool) {}
}

impl Classifier for crate::nn::Mlp {
    fn logits(&self, tape: &mut Tape<f32>, x: Var) -> Result<Var> {
        self.forward(tape, x)
    }
    fn params(&self) -> Vec<Var> {
        crate::nn::Mlp::params(self)
    }
    fn l2_params(&self) -> Vec<Var> {
        self.weights()
    }
    fn set_training(&self, on: bool) {
        crate::nn::Mlp::set_training(self, on)
    }
}

#[derive(Clone, Debug)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch: usize,
    /// Gradient steps taken on each batch before moving on (the book's chapter 2 takes 5).
    pub steps_per_batch: usize,
    pub seed: u64,
    /// Evaluate on the test set every this many steps (and at the end).
    pub eval_every: usize,
    /// `λ` of the penalty `λ/2 Σ ‖W‖²` on the weights (0 for none).
    pub l2: f64,
    pub schedule: Schedule,
    /// Batch size for evaluation (memory, not results, depends on it).
    pub eval_batch: usize,
}

impl FitConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(m.to_string()));
        if self.epochs == 0 {
            return bad("epochs must be at least 1");
        }
        if self.batch == 0 {
            return bad("batch size must be at least 1");
        }
        if self.steps_per_batch == 0 {
            return bad("steps per batch must be at least 1");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("L2 strength must be zero or positive");
        }
        Ok(())
    }
}

/// One point of the training curves.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    pub step: usize,
    pub epoch: f64,
    /// Mean data loss (without the L2 term) and accuracy over the training batches since the last point.
    pub train_loss: f64,
    pub train_acc: f64,
    pub test_loss: f64,
    pub test_acc: f64,
}

/// Progress of a run, for a progress bar.
#[derive(Clone, Debug)]
pub struct Progress {
    pub step: usize,
    pub total_steps: usize,
    pub epoch: usize,
    pub loss: f64,
}

pub struct FitReport {
    pub curve: Vec<CurvePoint>,
    pub test_loss: f64,
    pub test_acc: f64,
    pub seconds: f64,
    pub steps: usize,
}

/// Loss and accuracy of `model` on a whole split, in batches of `batch`, in inference mode (the model is
/// left in inference mode; `fit` switches it back before each training step).
pub fn evaluate<M: Classifier>(
    tape: &mut Tape<f32>,
    model: &M,
    split: &Split,
    batch: usize,
) -> Result<(f64, f64)> {
    model.set_training(false);
    let mut loss = 0.0;
    let mut correct = 0;
    for rows in in_order(split.len(), batch) {
        tape.reset();
        let x = tape.constant(split.flat_rows(&rows));
        let labels = split.labels_usize(&rows);
        let z = model.logits(tape, x)?;
        let l = tape.softmax_cross_entropy(z, &labels)?;
        loss += tape.scalar(l)? as f64 * rows.len() as f64;
        correct += count_correct(tape.value(z)?, &labels);
    }
    tape.reset();
    let n = split.len().max(1) as f64;
    Ok((loss / n, correct as f64 / n))
}

/// How many rows of `logits` have their largest entry at the label (ties: the first maximum).
pub fn count_correct(logits: &nalgebra::DMatrix<f32>, labels: &[usize]) -> usize {
    labels
        .iter()
        .enumerate()
        .filter(|&(i, &y)| logits.row(i).transpose().argmax().0 == y)
        .count()
}

/// Callbacks of a run, each given the tape with the current parameters (to record weights, say): `step`
/// after every step, `eval` after every evaluation.
pub struct Hooks<'a> {
    pub step: &'a mut dyn FnMut(&Progress, &Tape<f32>),
    pub eval: &'a mut dyn FnMut(&CurvePoint, &Tape<f32>),
}

// ANCHOR: fit
/// Train `model` on `train`, evaluating on `test`.
pub fn fit<M: Classifier>(
    tape: &mut Tape<f32>,
    model: &M,
    opt: &mut dyn Optimizer<f32>,
    (train, test): (&Split, &Split),
    cfg: &FitConfig,
    hooks: &mut Hooks,
) -> Result<FitReport> {
    cfg.validate()?;
    cfg.schedule.validate()?;
    if train.is_empty() || test.is_empty() {
        return Err(Error::Config(
            "training and test sets must not be empty".into(),
        ));
    }
    let start = Instant::now();
    let mut rng = seeded(cfg.seed);
    let params = model.params();
    let l2_params = model.l2_params();
    let batches_per_epoch = train.len().div_ceil(cfg.batch);
    let total_steps = cfg.epochs * batches_per_epoch * cfg.steps_per_batch;
    let (mut step, mut seen_loss, mut seen_correct, mut seen_n) = (0, 0.0, 0, 0);
    let mut curve = Vec::new();
    for epoch in 0..cfg.epochs {
        opt.set_lr(cfg.schedule.lr(epoch));
        for rows in epoch_batches(train.len(), cfg.batch, &mut rng) {
            let x_batch = train.flat_rows(&rows);
            let labels = train.labels_usize(&rows);
            for _ in 0..cfg.steps_per_batch {
                model.set_training(true);
                tape.reset();
                let x = tape.constant(x_batch.clone());
                let z = model.logits(tape, x)?;
                let data_loss = tape.softmax_cross_entropy(z, &labels)?;
                let loss = add_l2(tape, data_loss, &l2_params, cfg.l2)?;
                let mut grads = tape.backward(loss)?;
                opt.step(tape, &mut grads, &params)?;

                let l = tape.scalar(data_loss)? as f64;
                if !l.is_finite() {
                    return Err(Error::Config(format!(
                        "training diverged at step {step}: loss is {l} (try a smaller learning rate)"
                    )));
                }
                seen_loss += l * rows.len() as f64;
                seen_correct += count_correct(tape.value(z)?, &labels);
                seen_n += rows.len();
                step += 1;
                let p = Progress {
                    step,
                    total_steps,
                    epoch,
                    loss: l,
                };
                (hooks.step)(&p, tape);
                if step % cfg.eval_every.max(1) == 0 || step == total_steps {
                    let (test_loss, test_acc) = evaluate(tape, model, test, cfg.eval_batch)?;
                    let point = CurvePoint {
                        step,
                        epoch: step as f64 / (batches_per_epoch * cfg.steps_per_batch) as f64,
                        train_loss: seen_loss / seen_n as f64,
                        train_acc: seen_correct as f64 / seen_n as f64,
                        test_loss,
                        test_acc,
                    };
                    (hooks.eval)(&point, tape);
                    curve.push(point);
                    (seen_loss, seen_correct, seen_n) = (0.0, 0, 0);
                }
            }
        }
    }
    let last = curve.last().expect("the last step always evaluates");
    Ok(FitReport {
        test_loss: last.test_loss,
        test_acc: last.test_acc,
        curve,
        seconds: start.elapsed().as_secs_f64(),
        steps: step,
    })
}
// ANCHOR_END: fit

// ANCHOR: add_l2
/// `loss + λ/2 Σ ‖W‖²`, built from tape ops so that its gradient `λ W` comes from autograd.
pub fn add_l2(tape: &mut Tape<f32>, loss: Var, weights: &[Var], lambda: f64) -> Result<Var> {
    if lambda == 0.0 {
        return Ok(loss);
    }
    let mut total = loss;
    for &w in weights {
        let sq = tape.mul(w, w)?;
        let s = tape.sum(sq)?;
        let p = tape.scale(s, (lambda / 2.0) as f32)?;
        total = tape.add(total, p)?;
    }
    Ok(total)
}
// ANCHOR_END: add_l2
