//! A zerodl checkpoint read by Python with no zerodl code: NumPy recomputes chapter 3's logits from the
//! safetensors file and must match zerodl's to float32 precision.
//!
//! Runs when `ZERODL_PYTHON` names a Python with `numpy` and `safetensors` (`.ci/run` makes one); otherwise it
//! says so and passes without checking.

use nalgebra::DMatrix;
use std::process::Command;
use zerodl::chapters::ch3;
use zerodl::data::mnist::Split;
use zerodl::nn::{Activation, Classifier, Module};
use zerodl::optim::Sgd;
use zerodl::rng::seeded;
use zerodl::train::{fit, Checkpoint, Control, CurvePoint, FitConfig, Hooks, Progress};
use zerodl::Tape;

/// Ten classes of random images, each class brighter in its own band of rows.
fn split(n: usize, seed: u64) -> Split {
    use rand::Rng;
    let mut rng = seeded(seed);
    let labels: Vec<u8> = (0..n).map(|_| rng.random_range(0..10)).collect();
    let images = labels
        .iter()
        .flat_map(|&l| {
            let row_of = |p: usize| p / 28 / 3;
            (0..784)
                .map(|p| 0.5 * (row_of(p) == l as usize) as u8 as f32 + 0.5 * rng.random::<f32>())
                .collect::<Vec<_>>()
        })
        .collect();
    Split { images, labels }
}

#[test]
fn numpy_recomputes_the_logits_from_the_checkpoint() {
    let Ok(python) = std::env::var("ZERODL_PYTHON") else {
        eprintln!(
            "skipped: set ZERODL_PYTHON to a Python with numpy and safetensors (.ci/run does)"
        );
        return;
    };
    let s = ch3::Settings::book();
    assert_eq!(
        s.activation,
        Activation::Relu,
        "the NumPy script computes ReLU"
    );
    let mut tape = Tape::<f32>::new();
    let model = ch3::model(&mut tape, &s).unwrap();
    // A few steps of training, so that the biases are not zero and a layout slip would show.
    let (train, test) = (split(200, 1), split(50, 2));
    let cfg = FitConfig {
        epochs: 1,
        batch: 20,
        steps_per_batch: 1,
        seed: 1,
        eval_every: 10,
        l2: 0.0,
        schedule: zerodl::optim::Schedule::Constant(0.1),
        eval_batch: 50,
    };
    let mut hooks = Hooks {
        step: &mut |_: &Progress, _: &Tape<f32>| {},
        eval: &mut |_: &CurvePoint, _: &Tape<f32>| {},
        control: &Control::default(),
    };
    fit(
        &mut tape,
        &model,
        &mut Sgd { lr: 0.1 },
        (&train, &test),
        &cfg,
        &mut hooks,
    )
    .unwrap();
    let b = tape.value(model.named_params()[1].1).unwrap();
    assert!(b.iter().any(|v| *v != 0.0));

    let dir = tempfile::tempdir().unwrap();
    let mut c = Checkpoint::new();
    c.put_model(&tape, &model).unwrap();
    let ckpt = c.save(dir.path()).unwrap();
    let x = test.flat_rows(&(0..8).collect::<Vec<_>>());
    model.set_training(false);
    tape.reset();
    let xv = tape.constant(x.clone());
    let z = model.logits(&mut tape, xv).unwrap();
    let logits: DMatrix<f32> = tape.value(z).unwrap().clone();
    let mut io = Checkpoint::new();
    io.put_matrix("x", &x);
    io.put_matrix("logits", &logits);
    let inputs = dir.path().join("inputs.safetensors");
    std::fs::write(&inputs, io.to_bytes().unwrap()).unwrap();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/check_logits.py");
    let out = Command::new(&python)
        .args([script, ckpt.to_str().unwrap(), inputs.to_str().unwrap()])
        .output()
        .expect("ZERODL_PYTHON runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{said}");
    assert!(out.status.success(), "NumPy disagrees with zerodl: {said}");
}
