//! Chapters 4 and 5: the book's CNN on MNIST, with the naive layers of chapter 4 (on a small subset, to feel
//! the difference) and the fast layers of chapter 5 (the full run), trained by Adam with the book's
//! per-epoch learning-rate table.

pub mod chapter;
pub mod figures;

use crate::autograd::Tape;
use crate::data::mnist::Mnist;
use crate::error::Result;
use crate::nn::batch_norm::BnImpl;
use crate::nn::cnn::Cnn;
use crate::nn::conv2d::Impl;
use crate::nn::Init;
use crate::optim::{Kind, Schedule};
use crate::rng::seeded;
use crate::train::{fit, Control, CurvePoint, FitConfig, FitReport, Hooks, Progress};

#[derive(Clone, Debug)]
pub struct Settings {
    pub imp: Impl,
    pub batch: usize,
    pub epochs: usize,
    pub schedule: Schedule,
    pub seed: u64,
    pub eval_every: usize,
    /// Train on the first this many training images (all when `None`).
    pub train_size: Option<usize>,
    /// Evaluate on the first this many test images (all when `None`).
    pub test_size: Option<usize>,
    pub optimizer: Kind,
    /// Batch normalization after each convolution (chapter 6).
    pub batch_norm: Option<BnImpl>,
    /// How the weights start (He: ours; the book's code draws `0.01·N(0, 1)`).
    pub init: Init,
}

impl Settings {
    /// Chapter 5's run: fast layers, batch 32, 5 epochs, Adam (β 0.9/0.999, ε 1e-8) with the book's table
    /// {1: 2e-3, 2: 1e-3, 3: 4e-4, 4: 2e-4, 5: 1e-4}, all 60,000 images, tested on all 10,000.
    pub fn ch5() -> Self {
        Settings {
            imp: Impl::Fast,
            batch: 32,
            epochs: 5,
            schedule: Schedule::Table(vec![(1, 2e-3), (2, 1e-3), (3, 4e-4), (4, 2e-4), (5, 1e-4)]),
            seed: 1,
            eval_every: 625,
            train_size: None,
            test_size: None,
            optimizer: Kind::Adam,
            batch_norm: None,
            init: Init::He,
        }
    }

    /// Chapter 6's run: chapter 5's with batch normalization after each convolution, before its ReLU.
    pub fn ch6() -> Self {
        Settings {
            batch_norm: Some(BnImpl::Fused),
            ..Settings::ch5()
        }
    }

    /// Chapter 4's run: the same network with the naive loops, on 320 training images and 500 test images.
    pub fn ch4() -> Self {
        Settings {
            imp: Impl::Naive,
            epochs: 1,
            eval_every: 10,
            train_size: Some(320),
            test_size: Some(500),
            ..Settings::ch5()
        }
    }
}

pub struct Report {
    pub fit: FitReport,
    pub model: Cnn,
    pub tape: Tape<f32>,
    /// Seconds per epoch (training steps and the evaluations within the epoch).
    pub epoch_seconds: f64,
}

pub fn run(data: &Mnist, s: &Settings, progress: &mut dyn FnMut(&Progress)) -> Result<Report> {
    run_with(data, s, progress, &Control::default())
}

/// The network of `s`, freshly initialised, on `tape`.
pub fn model(tape: &mut Tape<f32>, s: &Settings) -> Result<Cnn> {
    let mut rng = seeded(s.seed);
    match s.batch_norm {
        None => Cnn::book_init(tape, s.imp, s.init, &mut rng),
        Some(bn) => Cnn::book_bn_init(tape, s.imp, bn, s.init, &mut rng),
    }
}

/// [`run`] saving, resuming or only evaluating as `control` asks.
pub fn run_with(
    data: &Mnist,
    s: &Settings,
    progress: &mut dyn FnMut(&Progress),
    control: &Control,
) -> Result<Report> {
    let mut tape = Tape::<f32>::new();
    let model = model(&mut tape, s)?;
    let train = s
        .train_size
        .map_or_else(|| data.train.clone(), |n| data.train.head(n));
    let test = s
        .test_size
        .map_or_else(|| data.test.clone(), |n| data.test.head(n));
    let cfg = FitConfig {
        epochs: s.epochs,
        batch: s.batch,
        steps_per_batch: 1,
        seed: s.seed,
        eval_every: s.eval_every,
        l2: 0.0,
        schedule: s.schedule.clone(),
        eval_batch: 100,
    };
    let mut on_step = |p: &Progress, _: &Tape<f32>| progress(p);
    let mut on_eval = |_: &CurvePoint, _: &Tape<f32>| {};
    let mut hooks = Hooks {
        step: &mut on_step,
        eval: &mut on_eval,
        control,
    };
    let mut opt = s.optimizer.build::<f32>(s.schedule.lr(0));
    let fit = fit(
        &mut tape,
        &model,
        opt.as_mut(),
        (&train, &test),
        &cfg,
        &mut hooks,
    )?;
    let epoch_seconds = fit.seconds / s.epochs as f64;
    Ok(Report {
        fit,
        model,
        tape,
        epoch_seconds,
    })
}
