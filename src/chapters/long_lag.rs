//! Chapter 8's motivation, measured: why the LSTM exists. A task whose answer depends on inputs far in the
//! past (the adding problem of Hochreiter and Schmidhuber, 1997) is trained with the same budget on chapter
//! 7's tanh RNN and on the LSTM; and the gradient that reaches a step is measured as a function of its
//! distance from the loss, for both cells, at initialisation and after that training.

pub mod figures;

use crate::autograd::{Tape, Var};
use crate::by_hand::recurrent::{Merge, StackSpec};
use crate::error::{Error, Result};
use crate::nn::lstm::{Lstm, LstmInit};
use crate::nn::module::child_params;
use crate::nn::recurrent::{layer, RecImpl, Stack, TapeCell};
use crate::nn::rnn::{Rnn, RnnInit};
use crate::nn::{Init, Linear, Module};
use crate::optim::Adam;
use crate::rng::{seeded, Rng};
use crate::train::{train_loop, Clip, Forward, LoopConfig, Progress};
use nalgebra::DMatrix;
use rand::Rng as _;
use std::time::Instant;

/// Features per step of the adding problem: the value and the marker.
pub const FEATURES: usize = 2;

// ANCHOR: adding
/// A batch of the adding problem: `x: n x (len·2)`, step `t` = `[value in U(0,1), marker]`, exactly one
/// marker in the first half and one in the second half; `y: n x 1` = the sum of the two marked values.
///
/// The first marked value is at least `len/2` steps from the end, so no model can do well without carrying
/// something across that distance; the second can be anywhere up to the last step, so a model that only
/// remembers recent inputs still gets part of the answer (see [`Report::near_only_mse`]).
pub fn adding_batch(n: usize, len: usize, rng: &mut Rng) -> Result<(DMatrix<f32>, DMatrix<f32>)> {
    if len < 2 {
        return Err(Error::Config(format!(
            "adding problem: sequences need at least 2 steps, got {len}"
        )));
    }
    Ok(draw(n, len, rng))
}

fn draw(n: usize, len: usize, rng: &mut Rng) -> (DMatrix<f32>, DMatrix<f32>) {
    let mut x = DMatrix::<f32>::zeros(n, len * FEATURES);
    let mut y = DMatrix::<f32>::zeros(n, 1);
    for i in 0..n {
        for t in 0..len {
            x[(i, FEATURES * t)] = rng.random_range(0.0..1.0);
        }
        let first = rng.random_range(0..len / 2);
        let second = rng.random_range(len / 2..len);
        for t in [first, second] {
            x[(i, FEATURES * t + 1)] = 1.0;
            y[(i, 0)] += x[(i, FEATURES * t)];
        }
    }
    (x, y)
}
// ANCHOR_END: adding

/// The weights' family, the same for both cells so that the comparison is about the cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    /// `U(±1/√H)` for every weight and bias (PyTorch's default for both cells).
    Uniform,
    /// Orthogonal `W_x` and `W_h`, zero biases: chapter 7's choice.
    Orthogonal,
}

impl Family {
    pub fn rnn(self, hidden: usize) -> RnnInit {
        match self {
            Family::Uniform => RnnInit::Uniform {
                a: 1.0 / (hidden as f64).sqrt(),
            },
            Family::Orthogonal => RnnInit::Orthogonal,
        }
    }

    pub fn lstm(self, hidden: usize, forget_bias: f64) -> LstmInit {
        match self {
            Family::Uniform => LstmInit::Uniform {
                a: 1.0 / (hidden as f64).sqrt(),
                forget_bias,
            },
            Family::Orthogonal => LstmInit::Orthogonal { forget_bias },
        }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// Sequence length `T`.
    pub len: usize,
    pub hidden: usize,
    pub batch: usize,
    /// Gradient steps, each on a fresh batch (the same batches for both models).
    pub steps: usize,
    pub lr: f64,
    pub clip: Clip,
    pub init: Family,
    /// Added to the LSTM's forget-gate bias. The book's LSTM starts at 0; 1 (Gers et al., 2000; Jozefowicz et
    /// al., 2015) makes the cell keep about 73% of its memory per step from the start.
    pub forget_bias: f64,
    /// Held-out sequences for the final test MSE.
    pub test: usize,
    /// A point of the training curve averages this many steps' losses.
    pub log_every: usize,
    pub seed: u64,
}

impl Default for Settings {
    /// T = 100, 32 units, batch 32, 3000 Adam steps at 0.01 with the global norm clipped at 1 (chapter 7's
    /// clipping lesson, applied to both; the RNN's gradient does blow up here, the LSTM's barely). The LSTM
    /// solves it in about 30 s on two cores, after a plateau at the baseline of some 1300 steps; at 0.005
    /// 1500 steps were not enough to leave it.
    fn default() -> Self {
        Settings {
            len: 100,
            hidden: 32,
            batch: 32,
            steps: 3000,
            lr: 0.01,
            clip: Clip::Norm(1.0),
            init: Family::Uniform,
            forget_bias: 1.0,
            test: 4000,
            log_every: 25,
            seed: 8,
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(format!("long lag: {m}")));
        if self.len < 2 {
            return bad(format!("sequences need at least 2 steps, got {}", self.len));
        }
        if self.hidden == 0 || self.batch == 0 || self.steps == 0 || self.test == 0 {
            return bad("hidden, batch, steps and test must be at least 1".into());
        }
        if self.log_every == 0 {
            return bad("log_every must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!(
                "learning rate must be a positive number, got {}",
                self.lr
            ));
        }
        if !self.forget_bias.is_finite() {
            return bad("the forget bias must be a number".into());
        }
        Ok(())
    }

    fn spec(&self) -> StackSpec {
        single_layer(self.hidden)
    }
}

fn single_layer(hidden: usize) -> StackSpec {
    StackSpec {
        input: FEATURES,
        hidden,
        layers: 1,
        bidirectional: false,
        merge: Merge::PerLayer,
    }
}

// ANCHOR: model
/// One recurrent layer of either cell → its last state → `Linear` → the sum.
pub struct LagModel<C: TapeCell> {
    pub rnn: Stack<C>,
    pub head: Linear,
}

impl<C: TapeCell> LagModel<C> {
    pub fn forward(&self, tape: &mut Tape<f32>, x: Var) -> Result<Var> {
        let h = self.rnn.spec.hidden;
        let states = self.rnn.forward(tape, x)?;
        let steps = tape.shape(states)?.1 / h;
        let last = tape.slice_cols(states, (steps - 1) * h, h)?;
        self.head.forward(tape, last)
    }
}
// ANCHOR_END: model

impl<C: TapeCell> Module for LagModel<C> {
    fn named_params(&self) -> Vec<(String, Var)> {
        let mut p = child_params("rnn", &self.rnn);
        p.extend(child_params("head", &self.head));
        p
    }
}

/// One model's run on the adding problem.
#[derive(Clone, Debug)]
pub struct ModelRun {
    pub name: String,
    /// `(step, mean training loss over the last `log_every` steps)`.
    pub curve: Vec<(usize, f64)>,
    pub test_mse: f64,
    /// After training, the gradient reaching each step, see [`gradient_by_distance`].
    pub gradient: Vec<f64>,
    pub max_grad_norm: f64,
    pub seconds: f64,
}

pub struct Report {
    pub rnn: ModelRun,
    pub lstm: ModelRun,
    /// Test MSE of always answering 1.0, the mean of the sum (`1/6` in expectation): what a model that
    /// learned nothing from the sequence scores.
    pub baseline_mse: f64,
    /// Test MSE of `0.5 + the second marked value`: what a model that remembers only the near marker scores
    /// (`1/12` in expectation). Beating it needs the first value, `T/2` steps or more in the past.
    pub near_only_mse: f64,
    pub len: usize,
    pub steps: usize,
}

fn mse_of(pred: impl Fn(usize) -> f64, y: &DMatrix<f32>) -> f64 {
    (0..y.nrows())
        .map(|i| (pred(i) - y[(i, 0)] as f64).powi(2))
        .sum::<f64>()
        / y.nrows() as f64
}

// ANCHOR: run
/// Train both cells on the same batches with the same optimizer, clipping and budget; test both on the same
/// held-out sequences.
pub fn run(s: &Settings, progress: &mut dyn FnMut(&str, &Progress)) -> Result<Report> {
    s.validate()?;
    let test = adding_batch(s.test, s.len, &mut seeded(s.seed + 1))?;
    let rnn = {
        let mut tape = Tape::<f32>::new();
        let mut rng = seeded(s.seed);
        let init = s.init.rnn(s.hidden);
        let model = LagModel {
            rnn: Rnn::new(&mut tape, s.spec(), init, RecImpl::Fused, &mut rng)?,
            head: Linear::new(&mut tape, s.hidden, 1, Init::Xavier, &mut rng),
        };
        train("rnn", &mut tape, &model, s, &test, progress)?
    };
    let lstm = {
        let mut tape = Tape::<f32>::new();
        let mut rng = seeded(s.seed);
        let init = s.init.lstm(s.hidden, s.forget_bias);
        let model = LagModel {
            rnn: Lstm::lstm(&mut tape, s.spec(), init, RecImpl::Fused, &mut rng)?,
            head: Linear::new(&mut tape, s.hidden, 1, Init::Xavier, &mut rng),
        };
        train("lstm", &mut tape, &model, s, &test, progress)?
    };
    let (x, y) = &test;
    let near = |i: usize| {
        let marked = (s.len / 2..s.len).find(|&t| x[(i, FEATURES * t + 1)] == 1.0);
        0.5 + marked.map_or(0.0, |t| x[(i, FEATURES * t)] as f64)
    };
    Ok(Report {
        rnn,
        lstm,
        baseline_mse: mse_of(|_| 1.0, y),
        near_only_mse: mse_of(near, y),
        len: s.len,
        steps: s.steps,
    })
}

fn train<C: TapeCell>(
    name: &str,
    tape: &mut Tape<f32>,
    model: &LagModel<C>,
    s: &Settings,
    (tx, ty): &(DMatrix<f32>, DMatrix<f32>),
    progress: &mut dyn FnMut(&str, &Progress),
) -> Result<ModelRun> {
    let start = Instant::now();
    // The same stream of batches for every model: the data is part of the budget.
    let mut rng = seeded(s.seed + 2);
    let batches = (0..s.steps).map(|_| (0, draw(s.batch, s.len, &mut rng)));
    let cfg = LoopConfig {
        clip: s.clip,
        grad_norm: true,
        total_steps: s.steps,
        ..LoopConfig::default()
    };
    let mut forward = |tape: &mut Tape<f32>, (xb, yb): &(DMatrix<f32>, DMatrix<f32>)| {
        let x = tape.constant(xb.clone());
        let y = tape.constant(yb.clone());
        let p = model.forward(tape, x)?;
        let loss = tape.mse(p, y)?;
        Ok(Forward {
            objective: loss,
            loss,
            output: p,
        })
    };
    let (mut seen, mut n, mut curve) = (0.0, 0, Vec::new());
    let mut after = |p: &Progress, _: &_, _: &Forward, _: &mut Tape<f32>| {
        (seen, n) = (seen + p.loss, n + 1);
        progress(name, p);
        if p.step % s.log_every == 0 || p.step == s.steps {
            curve.push((p.step, seen / n as f64));
            (seen, n) = (0.0, 0);
        }
        Ok(())
    };
    let mut opt = Adam::new(s.lr);
    let report = train_loop(
        tape,
        model,
        &mut opt,
        batches,
        &cfg,
        &mut forward,
        &mut after,
    )?;
    tape.reset();
    let x = tape.constant(tx.clone());
    let y = tape.constant(ty.clone());
    let p = model.forward(tape, x)?;
    let l = tape.mse(p, y)?;
    let test_mse = tape.scalar(l)? as f64;
    let probe = tx.rows(0, s.batch.min(tx.nrows())).into_owned();
    let gradient = gradient_by_distance(tape, &model.rnn.cells[0][0], &probe, RecImpl::Fused)?;
    Ok(ModelRun {
        name: name.into(),
        curve,
        test_mse,
        gradient,
        max_grad_norm: report.max_grad_norm,
        seconds: start.elapsed().as_secs_f64(),
    })
}
// ANCHOR_END: run

// ANCHOR: gradient_by_distance
/// How much gradient reaches each step: `g[k]` = the mean over the batch of `‖∂L/∂x_{T-k}‖` for
/// `L = Σ h_T` (the last state, summed over units and batch), `k = 0` being the last step. The input is a
/// leaf, so the same measurement works for any cell and either form (the composed form lets autograd
/// unroll it; the fused form's hand-derived BPTT gives the same numbers).
pub fn gradient_by_distance<C: TapeCell>(
    tape: &mut Tape<f32>,
    cell: &C,
    x: &DMatrix<f32>,
    imp: RecImpl,
) -> Result<Vec<f64>> {
    tape.reset();
    let d = cell.input(tape)?;
    if d == 0 || x.ncols() % d != 0 || x.nrows() == 0 {
        return Err(Error::Config(format!(
            "gradient by distance: {} x {} is not a batch of sequences of {d} features",
            x.nrows(),
            x.ncols()
        )));
    }
    let steps = x.ncols() / d;
    let xv = tape.leaf(x.clone());
    let states = layer(tape, imp, cell, xv, None, false)?;
    let h = tape.shape(states)?.1 / steps;
    let last = tape.slice_cols(states, (steps - 1) * h, h)?;
    let loss = tape.sum(last)?;
    let grads = tape.backward(loss)?;
    let g = grads.get_or_zeros(tape, xv)?;
    tape.reset();
    let n = x.nrows() as f64;
    Ok((0..steps)
        .rev()
        .map(|t| {
            let block = g.columns(t * d, d);
            block.row_iter().map(|r| r.norm() as f64).sum::<f64>() / n
        })
        .collect())
}
// ANCHOR_END: gradient_by_distance

/// The gradient-by-distance measurement at initialisation.
#[derive(Clone, Debug)]
pub struct GradientSettings {
    pub len: usize,
    pub hidden: usize,
    pub batch: usize,
    pub init: Family,
    /// One LSTM curve per forget-gate bias.
    pub forget_biases: Vec<f64>,
    pub imp: RecImpl,
    pub seed: u64,
}

impl Default for GradientSettings {
    /// Both cells as [`Settings::default`] builds them, over 200 steps of the adding problem's inputs; the
    /// LSTM with the book's forget bias 0 and with 1.
    fn default() -> Self {
        GradientSettings {
            len: 200,
            hidden: 32,
            batch: 32,
            init: Family::Uniform,
            forget_biases: vec![0.0, 1.0],
            imp: RecImpl::Composed,
            seed: 8,
        }
    }
}

/// One curve of the gradient figure.
#[derive(Clone, Debug)]
pub struct GradientCurve {
    pub name: String,
    /// `norms[k]`: mean `‖∂L/∂x_{T-k}‖`, see [`gradient_by_distance`].
    pub norms: Vec<f64>,
}

/// The tanh RNN and the LSTM (one curve per forget bias), freshly initialised from the same family, on the
/// same inputs.
pub fn gradient_at_init(s: &GradientSettings) -> Result<Vec<GradientCurve>> {
    if s.hidden == 0 || s.batch == 0 {
        return Err(Error::Config(
            "gradient by distance: hidden and batch must be at least 1".into(),
        ));
    }
    let (x, _) = adding_batch(s.batch, s.len, &mut seeded(s.seed + 1))?;
    let spec = single_layer(s.hidden);
    let mut out = Vec::new();
    let mut tape = Tape::<f32>::new();
    let rnn = Rnn::new(
        &mut tape,
        spec,
        s.init.rnn(s.hidden),
        s.imp,
        &mut seeded(s.seed),
    )?;
    out.push(GradientCurve {
        name: "tanh RNN".into(),
        norms: gradient_by_distance(&mut tape, &rnn.cells[0][0], &x, s.imp)?,
    });
    for &fb in &s.forget_biases {
        let mut tape = Tape::<f32>::new();
        let init = s.init.lstm(s.hidden, fb);
        let lstm = Lstm::lstm(&mut tape, spec, init, s.imp, &mut seeded(s.seed))?;
        out.push(GradientCurve {
            name: format!("LSTM, forget bias {fb}"),
            norms: gradient_by_distance(&mut tape, &lstm.cells[0][0], &x, s.imp)?,
        });
    }
    Ok(out)
}
