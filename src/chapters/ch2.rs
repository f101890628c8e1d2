//! Chapter 2: the first neural network. One fully connected layer 784 → 10 with softmax cross-entropy,
//! trained by SGD on MNIST with the book's settings.

pub mod chapter;
pub mod figures;

use crate::autograd::Tape;
use crate::data::mnist::Mnist;
use crate::error::Result;
use crate::nn::{Init, Linear};
use crate::optim::{Kind, Schedule};
use crate::rng::seeded;
use crate::train::{fit, Control, CurvePoint, FitConfig, FitReport, Hooks, Progress};
use nalgebra::DMatrix;

#[derive(Clone, Debug)]
pub struct Settings {
    pub lr: f64,
    pub batch: usize,
    pub epochs: usize,
    pub steps_per_batch: usize,
    /// Standard deviation of the initial weights.
    pub init_std: f64,
    pub seed: u64,
    pub eval_every: usize,
    /// Steps after which the weights are recorded for the weight-template figure.
    pub snapshot_steps: Vec<usize>,
    pub optimizer: Kind,
    /// Train and test on the first this many images of each split (`--small`), or on all of them.
    pub subset: Option<(usize, usize)>,
}

impl Default for Settings {
    /// The book's settings: lr 0.1, batch 512, 10 epochs, 5 steps per batch, `W ~ 0.01 N(0, 1)`, `b = 0`.
    fn default() -> Self {
        Settings {
            lr: 0.1,
            batch: 512,
            epochs: 10,
            steps_per_batch: 5,
            init_std: 0.01,
            seed: 1,
            eval_every: 50,
            snapshot_steps: vec![5, 50, 500],
            optimizer: Kind::Sgd,
            subset: None,
        }
    }
}

pub struct Report {
    pub fit: FitReport,
    /// `(step, W)` with `W: 784 x 10`, at the snapshot steps and at the end.
    pub weights: Vec<(usize, DMatrix<f32>)>,
}

pub fn run(data: &Mnist, s: &Settings, progress: &mut dyn FnMut(&Progress)) -> Result<Report> {
    run_with(data, s, progress, &Control::default())
}

/// The network of `s`, freshly initialised, on `tape`.
pub fn model(tape: &mut Tape<f32>, s: &Settings) -> crate::nn::Mlp {
    let mut rng = seeded(s.seed);
    // ANCHOR: model
    let layer = Linear::new(tape, 784, 10, Init::Normal { std: s.init_std }, &mut rng);
    crate::nn::Mlp {
        layers: vec![layer],
        activation: crate::nn::Activation::Relu, // unused: one layer has no hidden activation
        bn: Vec::new(),
    }
    // ANCHOR_END: model
}

/// [`run`] saving, resuming or only evaluating as `control` asks.
pub fn run_with(
    data: &Mnist,
    s: &Settings,
    progress: &mut dyn FnMut(&Progress),
    control: &Control,
) -> Result<Report> {
    let mut tape = Tape::<f32>::new();
    let model = model(&mut tape, s);
    let layer = model.layers[0];
    let cfg = FitConfig {
        epochs: s.epochs,
        batch: s.batch,
        steps_per_batch: s.steps_per_batch,
        seed: s.seed,
        eval_every: s.eval_every,
        l2: 0.0,
        schedule: Schedule::Constant(s.lr),
        eval_batch: 1000,
    };
    let mut weights = Vec::new();
    let mut on_step = |p: &Progress, tape: &Tape<f32>| {
        if s.snapshot_steps.contains(&p.step) {
            if let Ok(w) = tape.value(layer.w) {
                weights.push((p.step, w.clone()));
            }
        }
        progress(p);
    };
    let mut on_eval = |_: &CurvePoint, _: &Tape<f32>| {};
    let mut hooks = Hooks {
        step: &mut on_step,
        eval: &mut on_eval,
        control,
    };
    let (train, test);
    let sets = match s.subset {
        None => (&data.train, &data.test),
        Some(_) => {
            (train, test) = crate::chapters::flags::subset(data, s.subset);
            (&train, &test)
        }
    };
    let mut opt = s.optimizer.build::<f32>(s.lr);
    let fit = fit(&mut tape, &model, opt.as_mut(), sets, &cfg, &mut hooks)?;
    weights.push((fit.steps, tape.value(layer.w)?.clone()));
    Ok(Report { fit, weights })
}
