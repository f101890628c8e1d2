//! Chapter 3: deep fully connected networks on MNIST: the book's 784 → 512 ReLU → 10 network, and its L2
//! variant 784 → 500 ReLU → 10 with `λ = 1e-4` and a learning rate decaying as `0.1 · 0.99^epoch`.

use crate::autograd::Tape;
use crate::data::mnist::Mnist;
use crate::error::Result;
use crate::nn::{Activation, Init, Mlp};
use crate::optim::{Schedule, Sgd};
use crate::rng::seeded;
use crate::train::{fit, CurvePoint, FitConfig, FitReport, Hooks, Progress};

#[derive(Clone, Debug)]
pub struct Settings {
    pub hidden: usize,
    pub activation: Activation,
    pub lr: f64,
    /// Multiply the learning rate by this every epoch (1 for constant).
    pub lr_decay: f64,
    pub batch: usize,
    pub epochs: usize,
    pub steps_per_batch: usize,
    pub l2: f64,
    pub seed: u64,
    pub eval_every: usize,
}

impl Settings {
    /// The book's network: 784 → 512 ReLU → 10, SGD lr 0.1, batch 512.
    pub fn book() -> Self {
        Settings {
            hidden: 512,
            activation: Activation::Relu,
            lr: 0.1,
            lr_decay: 1.0,
            batch: 512,
            epochs: 20,
            steps_per_batch: 1,
            l2: 0.0,
            seed: 1,
            eval_every: 100,
        }
    }

    /// The book's L2 variant: 784 → 500 ReLU → 10, `λ = 1e-4`, lr `0.1 · 0.99^epoch`.
    pub fn book_l2() -> Self {
        Settings {
            hidden: 500,
            l2: 1e-4,
            lr_decay: 0.99,
            ..Settings::book()
        }
    }
}

pub fn run(data: &Mnist, s: &Settings, progress: &mut dyn FnMut(&Progress)) -> Result<FitReport> {
    let mut rng = seeded(s.seed);
    let mut tape = Tape::<f32>::new();
    let model = Mlp::new(
        &mut tape,
        &[784, s.hidden, 10],
        s.activation,
        Init::He,
        &mut rng,
    )?;
    let cfg = FitConfig {
        epochs: s.epochs,
        batch: s.batch,
        steps_per_batch: s.steps_per_batch,
        seed: s.seed,
        eval_every: s.eval_every,
        l2: s.l2,
        schedule: Schedule::Exponential {
            base: s.lr,
            decay: s.lr_decay,
        },
    };
    let mut on_step = |p: &Progress, _: &Tape<f32>| progress(p);
    let mut on_eval = |_: &CurvePoint, _: &Tape<f32>| {};
    let mut hooks = Hooks {
        step: &mut on_step,
        eval: &mut on_eval,
    };
    fit(
        &mut tape,
        &model,
        &mut Sgd { lr: s.lr },
        (&data.train, &data.test),
        &cfg,
        &mut hooks,
    )
}
