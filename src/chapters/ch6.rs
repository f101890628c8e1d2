//! Chapter 6's experiments beyond the CNN run (which is [`super::ch5::Settings::ch6`]): the book's deep sigmoid
//! network with and without batch normalization, for the distribution of a hidden unit's input over training
//! and for a learning rate at which only the normalised network trains.

pub mod chapter;
pub mod figures;

use crate::autograd::Tape;
use crate::data::batch::BatchStream;
use crate::data::mnist::Mnist;
use crate::error::{Error, Result};
use crate::nn::batch_norm::BnImpl;
use crate::nn::{Activation, Init, Mlp, Module};
use crate::optim::Sgd;
use crate::rng::seeded;
use crate::train::{evaluate, train_loop, Forward, LoopConfig, Progress};

#[derive(Clone, Debug)]
pub struct SigmoidRun {
    pub batch_norm: bool,
    pub lr: f64,
    /// `(step, mean training loss since the last point, test accuracy)`.
    pub curve: Vec<(usize, f64, f64)>,
    /// `(step, [15th, 50th, 85th percentile])` of the input to the sigmoid of one unit of the last hidden
    /// layer, over a fixed set of test images.
    pub percentiles: Vec<(usize, [f64; 3])>,
    pub diverged: bool,
}

// ANCHOR: sigmoid_net
/// 784 → 100 → 100 → 100 → 10 with sigmoid activations (the network of Ioffe and Szegedy's MNIST experiment),
/// batch 60, SGD with rate `lr`, `N(0, 1)` initial weights, with or without batch normalization before
/// every sigmoid; the same initial weights and data order either way.
pub fn sigmoid_net(
    data: &Mnist,
    batch_norm: bool,
    lr: f64,
    steps: usize,
    every: usize,
) -> Result<SigmoidRun> {
    let mut rng = seeded(6);
    let mut tape = Tape::<f32>::new();
    let mut model = Mlp::new(
        &mut tape,
        &[784, 100, 100, 100, 10],
        Activation::Sigmoid,
        Init::Normal { std: 1.0 },
        &mut rng,
    )?;
    if batch_norm {
        model = model.with_batch_norm(&mut tape, BnImpl::Fused);
    }
    let probe: Vec<usize> = (0..1000).collect();
    let probe_x = data.test.flat_rows(&probe);
    let test = data.test.head(10_000);
    let mut stream = BatchStream::new(data.train.len(), 60, seeded(7));
    let batches = (0..steps).map(|_| (0, stream.next_batch()));
    let mut run = SigmoidRun {
        batch_norm,
        lr,
        curve: Vec::new(),
        percentiles: Vec::new(),
        diverged: false,
    };
    let (mut seen, mut n) = (0.0, 0);
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
    // The first measurement is after `every` steps: before any training step the running statistics are
    // still their initial 0 and 1, and inference would show the raw, unnormalised input.
    let mut after = |p: &Progress, _: &Vec<usize>, _: &Forward, tape: &mut Tape<f32>| {
        seen += p.loss;
        n += 1;
        if p.step % every == 0 {
            model.set_training(false);
            tape.reset();
            let x = tape.constant(probe_x.clone());
            let pre = model.pre_activations(tape, x)?;
            let last = tape.value(*pre.last().expect("three hidden layers"))?;
            let mut unit: Vec<f64> = last.column(0).iter().map(|&v| v as f64).collect();
            unit.sort_by(f64::total_cmp);
            let q = |p: f64| unit[((unit.len() - 1) as f64 * p).round() as usize];
            run.percentiles.push((p.step, [q(0.15), q(0.5), q(0.85)]));
            let (_, acc) = evaluate(tape, &model, &test, 1000)?;
            run.curve.push((p.step, seen / n as f64, acc));
            (seen, n) = (0.0, 0);
        }
        Ok(())
    };
    let cfg = LoopConfig {
        total_steps: steps,
        ..LoopConfig::default()
    };
    let mut opt = Sgd { lr };
    match train_loop(
        &mut tape,
        &model,
        &mut opt,
        batches,
        &cfg,
        &mut forward,
        &mut after,
    ) {
        Ok(_) => {}
        Err(Error::Diverged { .. }) => run.diverged = true,
        Err(e) => return Err(e),
    }
    Ok(run)
}
// ANCHOR_END: sigmoid_net
