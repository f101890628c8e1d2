//! Chapter 5's comparison of the seven optimizers (the book's colour plates): the chapter 3 network
//! (784 → 512 ReLU → 10) on MNIST, the same initial weights and data order for every optimizer; and their
//! paths on a two-dimensional ill-conditioned quadratic.

pub mod figures;

use crate::autograd::Tape;
use crate::data::batch::BatchStream;
use crate::data::mnist::Mnist;
use crate::error::{Error, Result};
use crate::nn::{Activation, Init, Mlp};
use crate::optim::Kind;
use crate::rng::seeded;
use crate::train::{evaluate, train_loop, Forward, LoopConfig, Progress};
use nalgebra::DMatrix;

/// The curve of one optimizer: `(step, train loss, test loss, test accuracy)`; it stops early if the loss
/// stops being finite (`diverged`).
#[derive(Clone, Debug)]
pub struct Run {
    pub kind: Kind,
    pub lr: f64,
    pub points: Vec<(usize, f64, f64, f64)>,
    pub diverged: bool,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub hidden: usize,
    pub batch: usize,
    pub steps: usize,
    pub eval_every: usize,
    /// Evaluate on the first this many test images.
    pub test_size: usize,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            hidden: 512,
            batch: 128,
            steps: 600,
            eval_every: 50,
            test_size: 10_000,
            seed: 1,
        }
    }
}

/// A rate that suits each optimizer on this network (AdaDelta has none).
pub fn suitable_lr(kind: Kind) -> f64 {
    match kind {
        Kind::Sgd => 0.1,
        Kind::Momentum | Kind::Nag => 0.01,
        Kind::Adagrad => 0.01,
        Kind::RmsProp | Kind::Adam => 1e-3,
        Kind::AdaDelta => 1.0,
    }
}

// ANCHOR: compare
/// Train one fresh network per `(optimizer, rate)`, all from the same initial weights and data order.
pub fn compare(data: &Mnist, s: &Settings, runs: &[(Kind, f64)]) -> Result<Vec<Run>> {
    let test = data.test.head(s.test_size);
    let mut out = Vec::new();
    for &(kind, lr) in runs {
        let mut rng = seeded(s.seed);
        let mut tape = Tape::<f32>::new();
        let model = Mlp::new(
            &mut tape,
            &[784, s.hidden, 10],
            Activation::Relu,
            Init::He,
            &mut rng,
        )?;
        let mut opt = kind.build::<f32>(lr);
        let mut stream = BatchStream::new(data.train.len(), s.batch, seeded(s.seed + 1));
        let batches = (0..s.steps).map(|_| (0, stream.next_batch()));
        let mut run = Run {
            kind,
            lr,
            points: Vec::new(),
            diverged: false,
        };
        let mut forward = |tape: &mut Tape<f32>, rows: &Vec<usize>| {
            let x = tape.constant(data.train.flat_rows(rows));
            let z = model.forward(tape, x)?;
            let loss = tape.softmax_cross_entropy(z, &data.train.labels_usize(rows))?;
            Ok(Forward {
                objective: loss,
                loss,
                output: z,
            })
        };
        let (mut seen, mut n) = (0.0, 0);
        let mut after = |p: &Progress, _: &Vec<usize>, _: &Forward, tape: &mut Tape<f32>| {
            seen += p.loss;
            n += 1;
            if p.step % s.eval_every == 0 {
                let (test_loss, test_acc) = evaluate(tape, &model, &test, 1000)?;
                run.points
                    .push((p.step, seen / n as f64, test_loss, test_acc));
                (seen, n) = (0.0, 0);
            }
            Ok(())
        };
        let cfg = LoopConfig {
            total_steps: s.steps,
            ..LoopConfig::default()
        };
        match train_loop(
            &mut tape,
            &model,
            opt.as_mut(),
            batches,
            &cfg,
            &mut forward,
            &mut after,
        ) {
            Ok(_) => {}
            Err(Error::Diverged { .. }) => run.diverged = true,
            Err(e) => return Err(e),
        }
        out.push(run);
    }
    Ok(out)
}
// ANCHOR_END: compare

/// The ill-conditioned bowl `f(x, y) = x²/20 + y²`: curvature 1/10 along x, 2 along y.
pub fn bowl(x: f64, y: f64) -> f64 {
    x * x / 20.0 + y * y
}

/// The path of `kind` with rate `lr` on [`bowl`] from `(-7, 2)`, `steps` steps.
pub fn path(kind: Kind, lr: f64, steps: usize) -> Result<Vec<(f64, f64)>> {
    let mut tape = Tape::<f64>::new();
    let p = tape.param(DMatrix::from_row_slice(1, 2, &[-7.0, 2.0]));
    let curvature = DMatrix::from_row_slice(1, 2, &[1.0 / 20.0, 1.0]);
    let mut opt = kind.build::<f64>(lr);
    let mut out = vec![(-7.0, 2.0)];
    for _ in 0..steps {
        tape.reset();
        let scale = tape.constant(curvature.clone());
        let sq = tape.mul(p, p)?;
        let w = tape.mul(sq, scale)?;
        let f = tape.sum(w)?;
        let mut g = tape.backward(f)?;
        opt.step(&mut tape, &mut g, &[p])?;
        let v = tape.value(p)?;
        out.push((v[(0, 0)], v[(0, 1)]));
    }
    Ok(out)
}
