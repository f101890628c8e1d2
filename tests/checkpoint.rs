//! Checkpoints: the file round-trips bit for bit, damage and mismatches are errors that name the tensor, and a
//! run interrupted at any step and resumed gives exactly the numbers of the run that was never interrupted:
//! for an MLP (Adam: moments and step count), the CNN with batch norm (running statistics) and chapter 7's
//! recurrent network.

use nalgebra::DMatrix;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use zerodl::chapters::ch7;
use zerodl::data::mnist::Split;
use zerodl::nn::batch_norm::BnImpl;
use zerodl::nn::cnn::Cnn;
use zerodl::nn::conv2d::Impl;
use zerodl::nn::{Activation, Init, Mlp, Module};
use zerodl::optim::{Adam, Kind, Optimizer, Schedule};
use zerodl::rng::seeded;
use zerodl::train::{fit, Checkpoint, Control, CurvePoint, FitConfig, FitReport, Hooks, Progress};
use zerodl::{Error, Tape};

/// Images whose label is decided by which quarter of the image is brightest (learnable, not trivial).
fn split(n: usize, seed: u64) -> Split {
    use rand::Rng;
    let mut rng = seeded(seed);
    let mut images = Vec::with_capacity(n * 784);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let label: u8 = rng.random_range(0..4);
        for p in 0..784 {
            let (r, c) = (p / 28, p % 28);
            let quarter = (r / 14) * 2 + c / 14;
            let base = if quarter == label as usize { 0.6 } else { 0.2 };
            images.push(base + 0.4 * rng.random::<f32>());
        }
        labels.push(label);
    }
    Split { images, labels }
}

#[derive(Clone, Copy)]
enum Net {
    Mlp,
    CnnBn,
}

fn config(net: Net) -> FitConfig {
    FitConfig {
        epochs: 2,
        batch: 16,
        steps_per_batch: match net {
            Net::Mlp => 2,
            Net::CnnBn => 1,
        },
        seed: 5,
        eval_every: 3,
        l2: 1e-3,
        schedule: Schedule::Table(vec![(1, 2e-3), (2, 1e-3)]),
        eval_batch: 50,
    }
}

/// The report, the final parameters and the final buffers, by name.
type Trained = (FitReport, Vec<(String, Vec<f32>)>, Vec<(String, Vec<f64>)>);

/// A fresh model, trained under `control`; returns the report, the final parameters and buffers by name.
fn train(net: Net, control: &Control, stop_after: Option<usize>) -> zerodl::Result<Trained> {
    let (train_set, test) = (split(48, 1), split(20, 2));
    let mut tape = Tape::<f32>::new();
    let mut rng = seeded(3);
    let model: Box<dyn ModelBox> = match net {
        Net::Mlp => Box::new(Mlp::new(
            &mut tape,
            &[784, 12, 4],
            Activation::Relu,
            Init::He,
            &mut rng,
        )?),
        Net::CnnBn => Box::new(Cnn::book_bn(
            &mut tape,
            Impl::Fast,
            BnImpl::Fused,
            &mut rng,
        )?),
    };
    let mut opt = Adam::new(2e-3);
    let flag = control.interrupt.clone();
    let mut on_step = |p: &Progress, _: &Tape<f32>| {
        if Some(p.step) == stop_after {
            flag.as_ref()
                .expect("a flag to stop with")
                .store(true, Ordering::SeqCst);
        }
    };
    let mut on_eval = |_: &CurvePoint, _: &Tape<f32>| {};
    let mut hooks = Hooks {
        step: &mut on_step,
        eval: &mut on_eval,
        control,
    };
    let report = model.fit(
        &mut tape,
        &mut opt,
        (&train_set, &test),
        &config(net),
        &mut hooks,
    )?;
    let params = model
        .named()
        .into_iter()
        .map(|(n, v)| (n, tape.value(v).unwrap().as_slice().to_vec()))
        .collect();
    let buffers = model.buffers();
    Ok((report, params, buffers))
}

/// `fit` over either model (it is generic over the classifier).
trait ModelBox {
    fn fit(
        &self,
        tape: &mut Tape<f32>,
        opt: &mut dyn Optimizer<f32>,
        sets: (&Split, &Split),
        cfg: &FitConfig,
        hooks: &mut Hooks,
    ) -> zerodl::Result<FitReport>;
    fn named(&self) -> Vec<(String, zerodl::Var)>;
    fn buffers(&self) -> Vec<(String, Vec<f64>)>;
}

impl<M: zerodl::nn::Classifier> ModelBox for M {
    fn fit(
        &self,
        tape: &mut Tape<f32>,
        opt: &mut dyn Optimizer<f32>,
        sets: (&Split, &Split),
        cfg: &FitConfig,
        hooks: &mut Hooks,
    ) -> zerodl::Result<FitReport> {
        fit(tape, self, opt, sets, cfg, hooks)
    }
    fn named(&self) -> Vec<(String, zerodl::Var)> {
        self.named_params()
    }
    fn buffers(&self) -> Vec<(String, Vec<f64>)> {
        self.named_buffers()
            .into_iter()
            .map(|(n, b)| (n, b.borrow().clone()))
            .collect()
    }
}

fn saving(dir: &std::path::Path, every: usize) -> Control {
    Control {
        save: Some(dir.to_path_buf()),
        save_every: every,
        interrupt: Some(Arc::new(AtomicBool::new(false))),
        ..Control::default()
    }
}

fn resuming(dir: &std::path::Path) -> Control {
    Control {
        resume: Some(Arc::new(Checkpoint::load(dir).unwrap())),
        ..saving(dir, 0)
    }
}

fn same_curve(a: &[CurvePoint], b: &[CurvePoint]) {
    assert_eq!(a.len(), b.len());
    for (p, q) in a.iter().zip(b) {
        // Bit for bit, not within a tolerance: the resumed run must be the same run.
        assert_eq!(p, q);
    }
}

fn resume_equals_uninterrupted(net: Net, stops: &[usize]) {
    let whole = tempfile::tempdir().unwrap();
    let (full, full_params, full_buffers) = train(net, &saving(whole.path(), 0), None).unwrap();
    assert!(full.steps > *stops.iter().max().unwrap());
    for &stop in stops {
        let dir = tempfile::tempdir().unwrap();
        let e = train(net, &saving(dir.path(), 0), Some(stop)).err();
        assert!(
            matches!(e, Some(Error::Interrupted { step, .. }) if step == stop),
            "stop at {stop}: {e:?}"
        );
        let (resumed, params, buffers) = train(net, &resuming(dir.path()), None).unwrap();
        assert_eq!(resumed.steps, full.steps, "stop at {stop}");
        same_curve(&resumed.curve, &full.curve);
        assert_eq!(resumed.test_loss.to_bits(), full.test_loss.to_bits());
        assert_eq!(params, full_params, "stop at {stop}: final weights");
        assert_eq!(buffers, full_buffers, "stop at {stop}: running statistics");
        // The final checkpoints hold the same tensors too.
        let a = Checkpoint::load(whole.path()).unwrap();
        let b = Checkpoint::load(dir.path()).unwrap();
        assert_eq!(a.tensors, b.tensors, "stop at {stop}: final checkpoint");
    }
}

#[test]
fn an_mlp_resumed_at_any_step_is_the_uninterrupted_run() {
    // 48 images in batches of 16 with 2 steps per batch: 6 steps an epoch. Step 1, mid-batch (3), an epoch
    // boundary (6), mid-epoch of the second epoch with an evaluation just done (9), the last step but one.
    resume_equals_uninterrupted(Net::Mlp, &[1, 3, 6, 9, 11]);
}

#[test]
fn the_cnn_with_batch_norm_resumed_mid_epoch_is_the_uninterrupted_run() {
    resume_equals_uninterrupted(Net::CnnBn, &[2, 3, 5]);
}

#[test]
fn a_periodic_checkpoint_resumes_like_an_interrupted_one() {
    // Saved every 4 steps, the run "crashes" after step 5 (no save on the way out): resuming from step 4
    // must still give the uninterrupted numbers.
    let whole = tempfile::tempdir().unwrap();
    let (full, full_params, _) = train(Net::Mlp, &saving(whole.path(), 0), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let control = Control {
        interrupt: Some(Arc::new(AtomicBool::new(false))),
        ..saving(dir.path(), 4)
    };
    let _ = train(Net::Mlp, &control, Some(5));
    // The interruption saved step 5; put step 4's checkpoint back by re-running to step 4 only.
    let dir4 = tempfile::tempdir().unwrap();
    let _ = train(Net::Mlp, &saving(dir4.path(), 4), Some(4));
    let c = Checkpoint::load(dir4.path()).unwrap();
    assert_eq!(c.f64s("loop.state", 3).unwrap()[0], 4.0);
    let (resumed, params, _) = train(Net::Mlp, &resuming(dir4.path()), None).unwrap();
    same_curve(&resumed.curve, &full.curve);
    assert_eq!(params, full_params);
}

fn ch7_settings() -> ch7::Settings {
    ch7::Settings {
        hidden: 8,
        layers: 2,
        epochs: 2,
        batch: 64,
        eval_every: 5,
        ..ch7::Settings::default()
    }
}

#[test]
fn the_recurrent_chapter_resumed_is_the_uninterrupted_run() {
    let s = ch7_settings();
    let whole = tempfile::tempdir().unwrap();
    let full = ch7::run_with(&s, &mut |_| {}, &saving(whole.path(), 0)).unwrap();
    for stop in [1, 7, full.steps - 1] {
        let dir = tempfile::tempdir().unwrap();
        let control = saving(dir.path(), 0);
        let flag = control.interrupt.clone().unwrap();
        let mut progress = |p: &Progress| {
            if p.step == stop {
                flag.store(true, Ordering::SeqCst);
            }
        };
        let e = ch7::run_with(&s, &mut progress, &control).err();
        assert!(
            matches!(e, Some(Error::Interrupted { step, .. }) if step == stop),
            "{e:?}"
        );
        let resumed = ch7::run_with(&s, &mut |_| {}, &resuming(dir.path())).unwrap();
        assert_eq!(resumed.curve, full.curve, "stop at {stop}");
        assert_eq!(resumed.test_mse.to_bits(), full.test_mse.to_bits());
        assert_eq!(
            resumed.max_grad_norm.to_bits(),
            full.max_grad_norm.to_bits()
        );
        assert_eq!(
            Checkpoint::load(whole.path()).unwrap().tensors,
            Checkpoint::load(dir.path()).unwrap().tensors
        );
    }
}

#[test]
fn eval_only_reproduces_the_final_numbers_without_training() {
    let s = ch7_settings();
    let dir = tempfile::tempdir().unwrap();
    let full = ch7::run_with(&s, &mut |_| {}, &saving(dir.path(), 0)).unwrap();
    let control = Control {
        eval_only: true,
        ..resuming(dir.path())
    };
    let mut steps = 0;
    let e = ch7::run_with(&s, &mut |_| steps += 1, &control).unwrap();
    assert_eq!(steps, 0, "eval took training steps");
    assert_eq!(e.test_mse.to_bits(), full.test_mse.to_bits());
    assert_eq!(e.steps, full.steps);
}

fn small_checkpoint() -> (Checkpoint, Tape<f32>, Mlp) {
    let mut tape = Tape::<f32>::new();
    let model = Mlp::new(
        &mut tape,
        &[5, 3, 2],
        Activation::Relu,
        Init::He,
        &mut seeded(1),
    )
    .unwrap()
    .with_batch_norm(&mut tape, BnImpl::Fused);
    let mut c = Checkpoint::new();
    c.put_model(&tape, &model).unwrap();
    (c, tape, model)
}

#[test]
fn a_checkpoint_round_trips_bit_for_bit_and_is_row_major() {
    let (c, tape, model) = small_checkpoint();
    let dir = tempfile::tempdir().unwrap();
    let path = c.save(dir.path()).unwrap();
    // Only the checkpoint is left: the temporary file was renamed over it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("checkpoint.safetensors")]
    );
    let back = Checkpoint::load(&path).unwrap();
    assert_eq!(back.tensors, c.tensors);
    // Row-major: entry (0, 1) of the first weight is the second stored value.
    let (_, w) = &model.named_params()[0];
    let w = tape.value(*w).unwrap();
    let zerodl::train::checkpoint::Values::F32(v) = &back.tensors["layer0.weight"].values else {
        panic!("weights are float32")
    };
    assert_eq!(back.tensors["layer0.weight"].shape, vec![5, 3]);
    assert_eq!(v[1], w[(0, 1)]);
    assert_eq!(v[3], w[(1, 0)]);
}

#[test]
fn restoring_into_another_model_names_the_tensor_and_both_shapes() {
    let (c, _, _) = small_checkpoint();
    let mut tape = Tape::<f32>::new();
    let other = Mlp::new(
        &mut tape,
        &[5, 4, 2],
        Activation::Relu,
        Init::He,
        &mut seeded(1),
    )
    .unwrap()
    .with_batch_norm(&mut tape, BnImpl::Fused);
    let e = c.restore_model(&mut tape, &other).unwrap_err().to_string();
    assert!(
        e.contains("layer0.weight") && e.contains("[5, 3]") && e.contains("5x4"),
        "{e}"
    );
    // A model without batch norm does not have the saved running statistics.
    let mut tape = Tape::<f32>::new();
    let plain = Mlp::new(
        &mut tape,
        &[5, 3, 2],
        Activation::Relu,
        Init::He,
        &mut seeded(1),
    )
    .unwrap();
    let e = c.restore_model(&mut tape, &plain).unwrap_err().to_string();
    assert!(
        e.contains("bn0") && e.contains("no tensor of this name"),
        "{e}"
    );
}

#[test]
fn optimizer_state_restores_into_the_same_optimizer_only() {
    let mut tape = Tape::<f32>::new();
    let model = Mlp::new(
        &mut tape,
        &[3, 2],
        Activation::Relu,
        Init::He,
        &mut seeded(1),
    )
    .unwrap();
    let params = model.named_params();
    let mut adam = Adam::new(0.1);
    let x = tape.constant(DMatrix::from_element(4, 3, 0.5));
    let z = zerodl::nn::Classifier::logits(&model, &mut tape, x).unwrap();
    let l = tape.softmax_cross_entropy(z, &[0, 1, 0, 1]).unwrap();
    let mut g = tape.backward(l).unwrap();
    let vars: Vec<_> = params.iter().map(|(_, v)| *v).collect();
    adam.step(&mut tape, &mut g, &vars).unwrap();
    let mut c = Checkpoint::new();
    c.put_optimizer(&mut adam, &params).unwrap();
    let mut fresh = Adam::new(0.5);
    c.restore_optimizer(&tape, &mut fresh, &params).unwrap();
    assert_eq!(fresh.steps(), 1);
    assert_eq!(fresh.lr(), 0.1);
    let mut sgd = Kind::Momentum.build::<f32>(0.1);
    let e = c
        .restore_optimizer(&tape, sgd.as_mut(), &params)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("optimizer.m.layer0.") && e.contains("another --optimizer"),
        "{e}"
    );
}

#[test]
fn damaged_or_foreign_files_are_errors() {
    let (c, _, _) = small_checkpoint();
    let bytes = c.to_bytes().unwrap();
    for cut in [0, 7, 8, 20, bytes.len() / 2, bytes.len() - 1] {
        let e = Checkpoint::from_bytes(&bytes[..cut], "x.safetensors").unwrap_err();
        assert!(e.to_string().contains("x.safetensors"), "{e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Checkpoint::from_bytes(&longer, "x").is_err());
    // A safetensors file from elsewhere (no zerodl metadata) is named as such.
    let foreign = {
        let mut d = Checkpoint::new();
        d.meta.clear();
        d.put_f64("t", &[1.0]);
        d.to_bytes().unwrap()
    };
    let e = Checkpoint::from_bytes(&foreign, "y")
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a zerodl checkpoint"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let e = Checkpoint::load(dir.path()).unwrap_err().to_string();
    assert!(
        e.contains("checkpoint not found") && e.contains("--save"),
        "{e}"
    );
}

#[test]
fn a_run_that_diverges_keeps_its_last_good_checkpoint() {
    let s = ch7::Settings {
        lr: 50.0,
        clip: zerodl::train::Clip::None,
        ..ch7_settings()
    };
    let dir = tempfile::tempdir().unwrap();
    let step = match ch7::run_with(&s, &mut |_| {}, &saving(dir.path(), 1)) {
        Err(Error::Diverged { step, .. }) => step,
        Err(e) => panic!("expected a divergence, got {e}"),
        Ok(_) => panic!("expected a divergence, the run finished"),
    };
    let c = Checkpoint::load(dir.path()).unwrap();
    let saved = c.f64s("loop.state", 3).unwrap()[0] as usize;
    assert_eq!(saved, step - 1, "the checkpoint holds the last good step");
    // And it is a whole, finite model.
    for t in c.tensors.values() {
        if let zerodl::train::checkpoint::Values::F32(v) = &t.values {
            assert!(v.iter().all(|x| x.is_finite()));
        }
    }
}

#[test]
fn the_same_checkpoint_is_the_same_bytes() {
    // safetensors keeps its metadata in a HashMap; zerodl writes one sorted entry so bytes do not vary.
    let (mut c, _, _) = small_checkpoint();
    for k in ["a", "b", "c", "d", "e", "f"] {
        c.meta.insert(format!("zerodl.{k}"), k.repeat(3));
    }
    let first = c.to_bytes().unwrap();
    for _ in 0..8 {
        assert_eq!(c.clone().to_bytes().unwrap(), first);
    }
    let back = Checkpoint::from_bytes(&first, "x").unwrap();
    assert_eq!(back.meta.get("zerodl.c").map(String::as_str), Some("ccc"));
}
