//! Chapter 8: the LSTM on the CSI-300 index. The book's setup (whole-series statistics, variance scaling,
//! "validation" on its own training windows) reproduced as it was, and the honest setup a forecaster would
//! accept: a chronological split, statistics from the training span only, a test span no choice was tuned
//! on, results in index points against persistence and a linear model, and several test origins.

pub mod chapter;
pub mod figures;

use crate::autograd::{Tape, Var};
use crate::by_hand::recurrent::{Merge, StackSpec};
use crate::data::batch::{epoch_batches, in_order};
use crate::error::{Error, Result};
use crate::nn::dropout::Dropout;
use crate::nn::lstm::{Lstm, LstmInit};
use crate::nn::module::child_params;
use crate::nn::recurrent::RecImpl;
use crate::nn::{Init, Linear, Module};
use crate::optim::{Adam, Schedule};
use crate::rng::seeded;
use crate::train::{train_loop, Clip, Forward, LoopConfig, Progress};
use nalgebra::DMatrix;
use std::time::Instant;

/// Features per trading day, in this order: close, volume, turnover (the book's three columns).
pub const FEATURES: usize = 3;

#[derive(Clone, Debug)]
pub struct Settings {
    /// The book's setup: statistics over the whole series, each column divided by its variance, and the
    /// "validation" on the training windows themselves. Off: the honest setup.
    pub book_setup: bool,
    /// Days read, and closes predicted after them.
    pub window: usize,
    pub horizon: usize,
    pub hidden: usize,
    pub layers: usize,
    /// Dropout on the LSTM's output: probability of keeping a value.
    pub keep: f64,
    pub lr: f64,
    pub batch: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Forget-gate bias at initialisation (the book's 0; 1 is the usual advice).
    pub forget_bias: f64,
    /// Shares of the days in the training and validation spans; the rest is the test span.
    pub train_share: f64,
    pub val_share: f64,
    /// Extra test origins for the rolling-origin evaluation (0 for none).
    pub origins: usize,
    /// Evaluate on the validation windows every this many steps (and at the end).
    pub eval_every: usize,
    /// Predict each close as a change from the window's last close (in units of the close's scale) instead
    /// of its level: a model that learns nothing then forecasts persistence, not the training span's mean.
    pub relative: bool,
}

impl Default for Settings {
    /// The book's network and training (3 LSTM layers of 64 over 64 days, output dropout keep 0.5, FC over
    /// all 64 x 64 states to the next 20 closes, MSE, Adam lr 0.0015, batch 32, 20 epochs) in the honest
    /// setup: 70% of the days to train, 15% to validate, the last 15% to test.
    fn default() -> Self {
        Settings {
            book_setup: false,
            window: 64,
            horizon: 20,
            hidden: 64,
            layers: 3,
            keep: 0.5,
            lr: 0.0015,
            batch: 32,
            epochs: 20,
            seed: 8,
            forget_bias: 0.0,
            train_share: 0.70,
            val_share: 0.15,
            origins: 3,
            eval_every: 50,
            relative: false,
        }
    }
}

impl Settings {
    /// The book's run, as the book ran it.
    pub fn book() -> Self {
        Settings {
            book_setup: true,
            origins: 0,
            ..Settings::default()
        }
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(format!("ch8: {m}")));
        if self.window == 0 || self.horizon == 0 || self.hidden == 0 || self.layers == 0 {
            return bad("window, horizon, hidden and layers must be at least 1".into());
        }
        if self.batch == 0 || self.epochs == 0 || self.eval_every == 0 {
            return bad("batch, epochs and eval_every must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(format!(
                "learning rate must be a positive number, got {}",
                self.lr
            ));
        }
        if !(self.keep > 0.0 && self.keep <= 1.0) {
            return bad(format!("keep must be in (0, 1], got {}", self.keep));
        }
        let shares = self.train_share > 0.0 && self.val_share > 0.0;
        if !(shares && self.train_share + self.val_share < 1.0) {
            return bad(
                "train and validation shares must be positive and leave a test span".into(),
            );
        }
        Ok(())
    }
}

/// How each column is scaled: `(x - mean) / scale`, scale = variance (the book) or standard deviation.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaling {
    pub mean: [f64; FEATURES],
    pub scale: [f64; FEATURES],
}

impl Scaling {
    /// Statistics of `days`; `variance` picks the book's divisor.
    pub fn fit(days: &[[f64; FEATURES]], variance: bool) -> Result<Self> {
        if days.len() < 2 {
            return Err(Error::Config("ch8: scaling needs at least two days".into()));
        }
        let n = days.len() as f64;
        let mut mean = [0.0; FEATURES];
        let mut scale = [0.0; FEATURES];
        for j in 0..FEATURES {
            mean[j] = days.iter().map(|d| d[j]).sum::<f64>() / n;
            let var = days.iter().map(|d| (d[j] - mean[j]).powi(2)).sum::<f64>() / n;
            scale[j] = if variance { var } else { var.sqrt() };
            if !(scale[j] > 0.0 && scale[j].is_finite()) {
                return Err(Error::Config(format!(
                    "ch8: column {j} does not vary over the statistics' span"
                )));
            }
        }
        Ok(Scaling { mean, scale })
    }

    fn apply(&self, d: &[f64; FEATURES]) -> [f64; FEATURES] {
        std::array::from_fn(|j| (d[j] - self.mean[j]) / self.scale[j])
    }

    /// A scaled close back in index points.
    pub fn close(&self, v: f64) -> f64 {
        v * self.scale[0] + self.mean[0]
    }
}

/// Windows starting at the days in `starts`: inputs `N x (window·3)` (block `t` = day `start + t`), targets
/// `N x horizon` (the scaled closes after the window), and the last input close of each in index points.
#[derive(Clone, Debug)]
pub struct Windows {
    pub starts: Vec<usize>,
    pub inputs: DMatrix<f32>,
    pub targets: DMatrix<f32>,
    pub last_close: Vec<f64>,
}

fn windows(days: &[[f64; FEATURES]], sc: &Scaling, s: &Settings, starts: Vec<usize>) -> Windows {
    let scaled: Vec<[f64; FEATURES]> = days.iter().map(|d| sc.apply(d)).collect();
    let (w, h) = (s.window, s.horizon);
    let inputs = DMatrix::from_fn(starts.len(), w * FEATURES, |i, k| {
        scaled[starts[i] + k / FEATURES][k % FEATURES] as f32
    });
    let targets = DMatrix::from_fn(starts.len(), h, |i, k| {
        let (st, base) = (
            starts[i],
            if s.relative {
                days[starts[i] + w - 1][0]
            } else {
                sc.mean[0]
            },
        );
        ((days[st + w + k][0] - base) / sc.scale[0]) as f32
    });
    let last_close = starts.iter().map(|&i| days[i + w - 1][0]).collect();
    Windows {
        starts,
        inputs,
        targets,
        last_close,
    }
}

/// Starts of the windows whose predicted days all lie in `[lo, hi)` (their inputs may come from before).
fn starts_in(s: &Settings, lo: usize, hi: usize) -> Vec<usize> {
    let (w, h) = (s.window, s.horizon);
    (lo.saturating_sub(w)..hi.saturating_sub(w + h - 1))
        .filter(|&i| i + w >= lo)
        .collect()
}

// ANCHOR: model
/// LSTM stack → all `window · hidden` states → dropout → FC → the next `horizon` scaled closes.
pub struct Forecaster {
    pub lstm: Lstm,
    pub dropout: Dropout,
    pub head: Linear,
}

impl Forecaster {
    pub fn new(tape: &mut Tape<f32>, s: &Settings) -> Result<Self> {
        let mut rng = seeded(s.seed);
        let spec = StackSpec {
            input: FEATURES,
            hidden: s.hidden,
            layers: s.layers,
            bidirectional: false,
            merge: Merge::PerLayer,
        };
        let init = LstmInit::Orthogonal {
            forget_bias: s.forget_bias,
        };
        let lstm = Lstm::lstm(tape, spec, init, RecImpl::Fused, &mut rng)?;
        let dropout = Dropout::new(s.keep, false, s.seed + 2)?;
        let head = Linear::new(tape, s.window * s.hidden, s.horizon, Init::Xavier, &mut rng);
        Ok(Forecaster {
            lstm,
            dropout,
            head,
        })
    }

    pub fn forward(&self, tape: &mut Tape<f32>, x: Var) -> Result<Var> {
        let states = self.lstm.forward(tape, x)?;
        let kept = self.dropout.forward(tape, states)?;
        self.head.forward(tape, kept)
    }
}

impl Module for Forecaster {
    fn named_params(&self) -> Vec<(String, Var)> {
        let mut p = child_params("lstm", &self.lstm);
        p.extend(child_params("head", &self.head));
        p
    }
    fn set_training(&self, on: bool) {
        self.dropout.set_training(on);
    }
}
// ANCHOR_END: model

/// Scaled predictions `N x horizon` for `w`, in inference mode, in batches.
fn predict(tape: &mut Tape<f32>, model: &Forecaster, w: &Windows) -> Result<DMatrix<f32>> {
    model.set_training(false);
    let mut out = DMatrix::zeros(w.inputs.nrows(), w.targets.ncols());
    for rows in in_order(w.inputs.nrows(), 256) {
        tape.reset();
        let x = tape.constant(w.inputs.select_rows(&rows));
        let p = model.forward(tape, x)?;
        let pv = tape.value(p)?;
        for (k, &r) in rows.iter().enumerate() {
            out.row_mut(r).copy_from(&pv.row(k));
        }
    }
    tape.reset();
    Ok(out)
}

fn mse(p: &DMatrix<f32>, t: &DMatrix<f32>) -> f64 {
    let d = p.zip_map(t, |a, b| (a - b) as f64);
    d.iter().map(|v| v * v).sum::<f64>() / d.len().max(1) as f64
}

/// Errors of one forecaster on a span, in index points.
#[derive(Clone, Debug, PartialEq)]
pub struct Scores {
    /// RMSE and MAE per horizon day `1..=horizon`.
    pub rmse: Vec<f64>,
    pub mae: Vec<f64>,
    /// Share of windows where the sign of the predicted move over the whole horizon is the real one.
    pub direction: f64,
}

impl Scores {
    pub fn mean_rmse(&self) -> f64 {
        self.rmse.iter().sum::<f64>() / self.rmse.len().max(1) as f64
    }
    pub fn mean_mae(&self) -> f64 {
        self.mae.iter().sum::<f64>() / self.mae.len().max(1) as f64
    }
}

/// `pred[i][k]`: the predicted close (index points) `k + 1` days after window `i`.
fn score(pred: &[Vec<f64>], w: &Windows, days: &[[f64; FEATURES]], s: &Settings) -> Scores {
    let n = pred.len().max(1) as f64;
    let actual = |i: usize, k: usize| days[w.starts[i] + s.window + k][0];
    let per_h = |f: &dyn Fn(f64) -> f64| {
        (0..s.horizon)
            .map(|k| {
                (0..pred.len())
                    .map(|i| f(pred[i][k] - actual(i, k)))
                    .sum::<f64>()
                    / n
            })
            .collect::<Vec<_>>()
    };
    let rmse = per_h(&|e| e * e).into_iter().map(f64::sqrt).collect();
    let mae = per_h(&|e| e.abs());
    let last = s.horizon - 1;
    let right = (0..pred.len())
        .filter(|&i| {
            let moved = actual(i, last) - w.last_close[i];
            let said = pred[i][last] - w.last_close[i];
            moved * said > 0.0
        })
        .count();
    Scores {
        rmse,
        mae,
        direction: right as f64 / n,
    }
}

/// Predictions in index points: levels, or changes added to each window's last close.
fn to_points(p: &DMatrix<f32>, sc: &Scaling, w: &Windows, relative: bool) -> Vec<Vec<f64>> {
    p.row_iter()
        .zip(&w.last_close)
        .map(|(r, &last)| {
            let base = if relative { last } else { sc.mean[0] };
            r.iter().map(|&v| base + v as f64 * sc.scale[0]).collect()
        })
        .collect()
}

// ANCHOR: linear_baseline
/// Least squares from `[inputs, 1]` to the scaled targets on `train` (in f64, by SVD), predicting `on`.
pub fn linear_forecast(train: &Windows, on: &Windows) -> Result<DMatrix<f64>> {
    let with_one = |w: &Windows| {
        let (m, k) = w.inputs.shape();
        DMatrix::<f64>::from_fn(
            m,
            k + 1,
            |i, j| {
                if j < k {
                    w.inputs[(i, j)] as f64
                } else {
                    1.0
                }
            },
        )
    };
    let y = train.targets.map(|v| v as f64);
    let coef = with_one(train)
        .svd(true, true)
        .solve(&y, 1e-9)
        .map_err(|e| Error::Config(format!("ch8 linear baseline: {e}")))?;
    Ok(with_one(on) * coef)
}
// ANCHOR_END: linear_baseline

/// One trained forecaster's results on one split.
#[derive(Clone, Debug)]
pub struct Fold {
    /// First day of the test span (its origin).
    pub origin: usize,
    pub test_windows: usize,
    pub model: Scores,
    pub persistence: Scores,
    pub linear: Scores,
    /// Share of test windows whose close rose over the horizon: the direction score of always saying "up"
    /// (persistence predicts no move, so it has no direction).
    pub up_share: f64,
    /// `(step, mean training loss since the last point, validation MSE)`, on the scaled closes.
    pub curve: Vec<(usize, f64, f64)>,
    /// Test windows' starts and the model's predictions in index points.
    pub starts: Vec<usize>,
    pub predictions: Vec<Vec<f64>>,
    pub steps: usize,
}

#[derive(Debug)]
pub struct Report {
    pub settings: Settings,
    /// The main split (its last span is the test span; in the book's setup, the training windows).
    pub main: Fold,
    /// Extra test origins, earliest first (honest setup only).
    pub rolling: Vec<Fold>,
    pub days: usize,
    pub seconds: f64,
}

// ANCHOR: split
/// Train on `[0, train_end)`, choose nothing but watch the loss on `[train_end, val_end)`, and test once on
/// `[val_end, test_end)`: no window's targets cross into a later span, and the scaling comes from the
/// training span alone. The book's setup uses the whole series for everything.
fn fold(
    days: &[[f64; FEATURES]],
    s: &Settings,
    (train_end, val_end, test_end): (usize, usize, usize),
    progress: &mut dyn FnMut(&Progress),
) -> Result<Fold> {
    let sc = match s.book_setup {
        true => Scaling::fit(days, true)?,
        false => Scaling::fit(&days[..train_end], false)?,
    };
    let (train, val, test) = if s.book_setup {
        let all = windows(days, &sc, s, starts_in(s, 0, days.len()));
        (all.clone(), all.clone(), all)
    } else {
        (
            windows(days, &sc, s, starts_in(s, 0, train_end)),
            windows(days, &sc, s, starts_in(s, train_end, val_end)),
            windows(days, &sc, s, starts_in(s, val_end, test_end)),
        )
    };
    for (name, w) in [("training", &train), ("validation", &val), ("test", &test)] {
        if w.starts.is_empty() {
            return Err(Error::Config(format!(
                "ch8: the {name} span holds no whole window of {} + {} days",
                s.window, s.horizon
            )));
        }
    }
    // ANCHOR_END: split
    let mut tape = Tape::<f32>::new();
    let model = Forecaster::new(&mut tape, s)?;
    let mut rng = seeded(s.seed + 1);
    let n = train.starts.len();
    if s.batch > n {
        return Err(Error::Config(format!(
            "ch8: the batch of {} is larger than the {n} training windows",
            s.batch
        )));
    }
    let total_steps = s.epochs * n.div_ceil(s.batch);
    let tr = &train;
    let batches = (0..s.epochs).flat_map(|epoch| {
        let order = epoch_batches(n, s.batch, &mut rng);
        order.into_iter().map(move |rows| {
            let x = tr.inputs.select_rows(&rows);
            (epoch, (x, tr.targets.select_rows(&rows)))
        })
    });
    let mut forward = |tape: &mut Tape<f32>, (x, y): &(DMatrix<f32>, DMatrix<f32>)| {
        let xv = tape.constant(x.clone());
        let yv = tape.constant(y.clone());
        let p = model.forward(tape, xv)?;
        let loss = tape.mse(p, yv)?;
        Ok(Forward {
            objective: loss,
            loss,
            output: p,
        })
    };
    let (mut seen, mut count, mut curve) = (0.0, 0, Vec::new());
    let mut after = |p: &Progress, _: &_, _: &Forward, tape: &mut Tape<f32>| {
        (seen, count) = (seen + p.loss, count + 1);
        progress(p);
        if p.step % s.eval_every == 0 || p.step == total_steps {
            let v = mse(&predict(tape, &model, &val)?, &val.targets);
            curve.push((p.step, seen / count as f64, v));
            (seen, count) = (0.0, 0);
        }
        Ok(())
    };
    let cfg = LoopConfig {
        schedule: Some(Schedule::Constant(s.lr)),
        clip: Clip::None,
        total_steps,
        divergence: crate::train::BLOW_UP,
        ..LoopConfig::default()
    };
    let mut opt = Adam::new(s.lr);
    let run = train_loop(
        &mut tape,
        &model,
        &mut opt,
        batches,
        &cfg,
        &mut forward,
        &mut after,
    )?;

    let predictions = to_points(&predict(&mut tape, &model, &test)?, &sc, &test, s.relative);
    let persistence: Vec<Vec<f64>> = test
        .last_close
        .iter()
        .map(|&c| vec![c; s.horizon])
        .collect();
    let linear = linear_forecast(&train, &test)?.map(|v| v as f32);
    let linear = to_points(&linear, &sc, &test, s.relative);
    let last = s.window + s.horizon - 1;
    let ups = test.starts.iter().zip(&test.last_close);
    let up = ups.filter(|&(&st, &c)| days[st + last][0] > c).count();
    Ok(Fold {
        origin: if s.book_setup { 0 } else { val_end },
        test_windows: test.starts.len(),
        model: score(&predictions, &test, days, s),
        persistence: score(&persistence, &test, days, s),
        linear: score(&linear, &test, days, s),
        up_share: up as f64 / test.starts.len() as f64,
        curve,
        starts: test.starts.clone(),
        predictions,
        steps: run.steps,
    })
}

// ANCHOR: run
/// The chapter's run on `days` (close, volume, turnover per trading day, oldest first).
pub fn run(
    days: &[[f64; FEATURES]],
    s: &Settings,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Report> {
    s.validate()?;
    let start = Instant::now();
    let n = days.len();
    let train_end = (n as f64 * s.train_share) as usize;
    let val_end = (n as f64 * (s.train_share + s.val_share)) as usize;
    let main = fold(days, s, (train_end, val_end, n), progress)?;
    // Rolling origins: the same split moved back in time, one test span at a time, each with a fresh model
    // trained only on what came before it.
    let test_len = n - val_end;
    let mut rolling = Vec::new();
    if !s.book_setup {
        for k in (1..=s.origins).rev() {
            let shift = k * test_len;
            // Origins so early that the training span would hold too little are left out.
            let Some(t) = train_end.checked_sub(shift) else {
                continue;
            };
            if t < 4 * (s.window + s.horizon) {
                continue;
            }
            rolling.push(fold(days, s, (t, val_end - shift, n - shift), progress)?);
        }
    }
    Ok(Report {
        settings: s.clone(),
        main,
        rolling,
        days: n,
        seconds: start.elapsed().as_secs_f64(),
    })
}
// ANCHOR_END: run
