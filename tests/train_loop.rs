//! The shape every model shares and the one training loop: stable parameter and buffer names, optimizer state
//! keyed by parameter, and divergence stopping the run with an error that names the step and what went wrong.

use nalgebra::DMatrix;
use zerodl::nn::batch_norm::BnImpl;
use zerodl::nn::cnn::Cnn;
use zerodl::nn::conv2d::Impl;
use zerodl::nn::{Activation, Init, Mlp, Module};
use zerodl::optim::{Adam, Optimizer, Sgd};
use zerodl::rng::seeded;
use zerodl::train::{train_loop, Forward, LoopConfig, Progress};
use zerodl::{Error, Tape};

#[test]
fn the_cnn_with_batch_norm_names_every_parameter_and_buffer() {
    let mut t = Tape::<f32>::new();
    let net = Cnn::book_bn(&mut t, Impl::Fast, BnImpl::Fused, &mut seeded(1)).unwrap();
    let names: Vec<String> = net.named_params().into_iter().map(|(n, _)| n).collect();
    let expect = [
        "conv1.weight",
        "conv1.bias",
        "conv2.weight",
        "conv2.bias",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
        "bn1.gamma",
        "bn1.beta",
        "bn2.gamma",
        "bn2.beta",
    ];
    assert_eq!(names, expect);
    let buffers: Vec<String> = net.named_buffers().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        buffers,
        [
            "bn1.running_mean",
            "bn1.running_var",
            "bn2.running_mean",
            "bn2.running_var"
        ]
    );
    // Every parameter of the tape belongs to the model, once.
    assert_eq!(net.params().len(), t.num_params());
    assert_eq!(t.value(net.params()[4]).unwrap().shape(), (3136, 512));
}

fn xor_like() -> (DMatrix<f32>, Vec<usize>) {
    let x = DMatrix::from_row_slice(4, 2, &[0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0]);
    (x, vec![0, 0, 1, 1])
}

/// Full-batch training of a small MLP with `lr`: the run's outcome and the losses it saw.
fn run(lr: f64, factor: Option<f64>) -> (zerodl::Result<usize>, Vec<f64>) {
    let (x, y) = xor_like();
    let mut t = Tape::<f32>::new();
    let model = Mlp::new(
        &mut t,
        &[2, 8, 2],
        Activation::Relu,
        Init::He,
        &mut seeded(3),
    )
    .unwrap();
    let mut forward = |tape: &mut Tape<f32>, _: &()| {
        let xv = tape.constant(x.clone());
        let z = model.forward(tape, xv)?;
        let loss = tape.softmax_cross_entropy(z, &y)?;
        Ok(Forward {
            objective: loss,
            loss,
            output: z,
        })
    };
    let mut losses = Vec::new();
    let mut after = |p: &Progress, _: &(), _: &Forward, _: &mut Tape<f32>| {
        losses.push(p.loss);
        Ok(())
    };
    let mut cfg = LoopConfig {
        total_steps: 50,
        ..LoopConfig::default()
    };
    cfg.divergence.loss_factor = factor;
    let batches = (0..50).map(|_| (0, ()));
    let mut opt = Sgd { lr };
    let r = train_loop(
        &mut t,
        &model,
        &mut opt,
        batches,
        &cfg,
        &mut forward,
        &mut after,
    );
    (r.map(|r| r.steps), losses)
}

#[test]
fn a_sane_rate_trains_and_a_huge_one_stops_with_the_step_named() {
    let (ok, losses) = run(0.1, None);
    assert_eq!(ok.unwrap(), 50);
    assert!(losses[49] < losses[0], "{losses:?}");

    let (err, losses) = run(1e30, None);
    match err {
        Err(Error::Diverged { step, what, value }) => {
            // The steps before the bad one all reported; the bad one is named, with its value.
            assert_eq!(step, losses.len() + 1);
            assert!(
                what.contains("loss") || what.contains("gradient of layer"),
                "{what}"
            );
            assert!(!value.is_finite() || what.contains("times"), "{value}");
            let msg = Error::Diverged { step, what, value }.to_string();
            assert!(msg.contains(&format!("step {step}")), "{msg}");
        }
        other => panic!("expected a divergence error, got {other:?}"),
    }
}

#[test]
fn a_finite_blow_up_stops_under_the_loss_factor_policy() {
    let (err, losses) = run(1e4, Some(10.0));
    let Err(Error::Diverged { step, what, .. }) = err else {
        panic!("expected a divergence error, got {err:?}");
    };
    assert!(what.contains("times its first value"), "{what}");
    assert!(losses.iter().all(|&l| l <= 10.0 * losses[0]));
    assert_eq!(step, losses.len() + 1);
}

#[test]
fn optimizer_state_follows_the_parameter_not_its_position() {
    // Two parameters stepped in one order, then in the other: Adam's moments must follow each parameter.
    let step = |order: &[usize]| {
        let mut t = Tape::<f64>::new();
        let p = [
            t.param(DMatrix::from_element(1, 2, 1.0)),
            t.param(DMatrix::from_element(3, 1, -2.0)),
        ];
        let mut opt = Adam::new(0.1);
        for k in 0..3 {
            t.reset();
            let a = t.sum(p[0]).unwrap();
            let sq = t.mul(p[1], p[1]).unwrap();
            let b = t.sum(sq).unwrap();
            let l = t.add(a, b).unwrap();
            let mut g = t.backward(l).unwrap();
            let params: Vec<_> = if k % 2 == 0 {
                order.iter().map(|&i| p[i]).collect()
            } else {
                order.iter().rev().map(|&i| p[i]).collect()
            };
            opt.step(&mut t, &mut g, &params).unwrap();
        }
        (
            t.value(p[0]).unwrap().clone(),
            t.value(p[1]).unwrap().clone(),
        )
    };
    assert_eq!(step(&[0, 1]), step(&[1, 0]));
}
