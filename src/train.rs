//! The one training loop: every chapter and experiment trains through [`train_loop`], generic over its batches, its
//! loss and its metrics, with gradient clipping and a divergence policy in one place. [`fit`] is the loop
//! specialised to classifiers on flat inputs (chapters 2 to 6).

use crate::autograd::{Grads, Tape, Var};
use crate::data::batch::{epoch_batches, in_order};
use crate::data::mnist::Split;
use crate::error::{Error, Result};
use crate::optim::{clip, Optimizer, Schedule};
use crate::rng::seeded;
use crate::scalar::Real;
use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub mod checkpoint;
pub use checkpoint::Checkpoint;

pub use crate::nn::{Classifier, Module};

/// Gradient clipping, between `backward` and the optimizer step.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Clip {
    #[default]
    None,
    /// Clamp each gradient entry to `[-c, c]`.
    Value(f64),
    /// Rescale all gradients together when their global norm exceeds this.
    Norm(f64),
}

impl Clip {
    /// Apply to `grads`; returns the global gradient norm before clipping.
    pub fn apply<T: Real>(self, grads: &mut Grads<T>, params: &[Var]) -> Result<f64> {
        let norm = clip::global_norm(grads, params);
        match self {
            Clip::None => {}
            Clip::Value(c) => clip::by_value(grads, params, c)?,
            Clip::Norm(n) => {
                clip::by_global_norm(grads, params, n)?;
            }
        }
        Ok(norm)
    }
}

/// When a run counts as diverged. A non-finite loss or gradient always does; `loss_factor`, when set, also
/// stops a run whose loss climbs above that many times its first value (a finite blow-up).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Divergence {
    pub loss_factor: Option<f64>,
}

/// The divergence policy of the chapters' runs: a loss a hundred times its first value is a blow-up (a
/// cross-entropy starting at ln 10 ≈ 2.3 would be at 230; an MSE of 0.5 at 50), never a result to report.
pub const BLOW_UP: Divergence = Divergence {
    loss_factor: Some(100.0),
};

/// How [`train_loop`] runs: the learning rate per epoch, steps per batch, clipping and divergence.
#[derive(Clone, Debug)]
pub struct LoopConfig {
    /// Set the optimizer's rate to `schedule.lr(epoch)` at the start of every epoch (`None`: leave it).
    pub schedule: Option<Schedule>,
    /// Gradient steps taken on each batch before moving on (the book's chapter 2 takes 5).
    pub steps_per_batch: usize,
    pub clip: Clip,
    /// Measure the global gradient norm on every step even when clipping is off (it costs a pass over the
    /// gradients; [`Progress::grad_norm`] and [`LoopReport::max_grad_norm`] report it).
    pub grad_norm: bool,
    pub divergence: Divergence,
    /// Total steps, for progress bars.
    pub total_steps: usize,
    /// Continue a saved run: the first `resume.steps` steps are replayed without training (their batches are
    /// still drawn, so the data order continues exactly), and the loop's own state is restored.
    pub resume: Option<LoopState>,
    /// Checked after every step: when set, the loop saves (see [`train_loop_saving`]) and stops with
    /// [`Error::Interrupted`].
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Save every this many steps (0: only at the end and when interrupted).
    pub save_every: usize,
    /// Turn the tape's anomaly detection on for the run ([`Tape::set_anomaly_detection`]; it is left on): a
    /// NaN or infinity then stops the run at the op that produced it, named in [`Error::Diverged`], rather
    /// than at the loss or a parameter's gradient. Slower: every value and gradient is scanned.
    pub anomaly: bool,
}

/// Where the loop is: with the model, the optimizer and the caller's curves, what continues a run exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoopState {
    /// Steps taken.
    pub steps: usize,
    /// The first step's loss (the divergence policy's reference).
    pub first_loss: Option<f64>,
    pub max_grad_norm: f64,
}

impl LoopState {
    /// As numbers, bit-exact (for a checkpoint tensor).
    pub fn to_f64s(&self) -> Vec<f64> {
        vec![
            self.steps as f64,
            self.first_loss.unwrap_or(f64::NAN),
            self.max_grad_norm,
        ]
    }

    pub fn from_f64s(v: &[f64]) -> Result<Self> {
        match v {
            &[steps, first, max] if steps >= 0.0 && steps.fract() == 0.0 => Ok(LoopState {
                steps: steps as usize,
                first_loss: (!first.is_nan()).then_some(first),
                max_grad_norm: max,
            }),
            _ => Err(Error::invalid(
                "checkpoint",
                format!("the loop state {v:?} is not [steps, first loss, max gradient norm]"),
            )),
        }
    }
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            schedule: None,
            steps_per_batch: 1,
            clip: Clip::None,
            grad_norm: false,
            divergence: Divergence::default(),
            total_steps: 0,
            resume: None,
            interrupt: None,
            save_every: 0,
            anomaly: false,
        }
    }
}

/// Progress of a run after a step, for progress bars and callbacks.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Steps taken so far (1 after the first).
    pub step: usize,
    pub total_steps: usize,
    /// The epoch of the batch (0-based).
    pub epoch: usize,
    /// The step's loss (the data loss, without penalties).
    pub loss: f64,
    /// The global gradient norm before clipping, when the loop measured it (clipping or `grad_norm` on),
    /// else `NaN`.
    pub grad_norm: f64,
}

/// What one step's forward pass recorded on the tape.
#[derive(Clone, Copy, Debug)]
pub struct Forward {
    /// What is differentiated: the data loss plus any penalty.
    pub objective: Var,
    /// The data loss: reported, and checked for divergence.
    pub loss: Var,
    /// The model's output, for metrics.
    pub output: Var,
}

/// What [`train_loop`] measured.
#[derive(Clone, Debug, Default)]
pub struct LoopReport {
    pub steps: usize,
    /// The largest global gradient norm before clipping (0 when it was not measured).
    pub max_grad_norm: f64,
}

// ANCHOR: train_loop
/// Train `model` over `batches` (`(epoch, batch)` pairs, in order). Each step: training mode, a fresh tape,
/// `forward` records the loss, the loss is checked, `backward`, the gradients are checked and clipped, the
/// optimizer steps, and `after` sees the result (with the tape, to evaluate or record).
///
/// A non-finite loss or gradient (or a loss above the divergence policy's bound) stops the run with
/// [`Error::Diverged`], naming the step and what went wrong, before the parameters are touched.
#[allow(clippy::type_complexity)]
pub fn train_loop<T: Real, B>(
    tape: &mut Tape<T>,
    model: &dyn Module,
    opt: &mut dyn Optimizer<T>,
    batches: impl IntoIterator<Item = (usize, B)>,
    cfg: &LoopConfig,
    forward: &mut dyn FnMut(&mut Tape<T>, &B) -> Result<Forward>,
    after: &mut dyn FnMut(&Progress, &B, &Forward, &mut Tape<T>) -> Result<()>,
) -> Result<LoopReport> {
    let mut no_save = |_: &LoopState, _: &mut Tape<T>, _: &mut dyn Optimizer<T>| Ok(());
    train_loop_saving(tape, model, opt, batches, cfg, forward, after, &mut no_save)
}

/// [`train_loop`] that also hands its state to `save` every `cfg.save_every` steps, at the end, and when
/// `cfg.interrupt` stops it (then it returns [`Error::Interrupted`] after saving).
#[allow(clippy::type_complexity, clippy::too_many_arguments)]
pub fn train_loop_saving<T: Real, B>(
    tape: &mut Tape<T>,
    model: &dyn Module,
    opt: &mut dyn Optimizer<T>,
    batches: impl IntoIterator<Item = (usize, B)>,
    cfg: &LoopConfig,
    forward: &mut dyn FnMut(&mut Tape<T>, &B) -> Result<Forward>,
    after: &mut dyn FnMut(&Progress, &B, &Forward, &mut Tape<T>) -> Result<()>,
    save: &mut dyn FnMut(&LoopState, &mut Tape<T>, &mut dyn Optimizer<T>) -> Result<()>,
) -> Result<LoopReport> {
    if cfg.steps_per_batch == 0 {
        return Err(Error::Config("steps per batch must be at least 1".into()));
    }
    let named = model.named_params();
    let params: Vec<Var> = named.iter().map(|(_, v)| *v).collect();
    let resume = cfg.resume.unwrap_or_default();
    let mut state = LoopState { steps: 0, ..resume };
    let mut current_epoch = None;
    if cfg.anomaly {
        tape.set_anomaly_detection(true);
    }
    for (epoch, batch) in batches {
        if current_epoch != Some(epoch) {
            if let Some(s) = &cfg.schedule {
                opt.set_lr(s.lr(epoch));
            }
            current_epoch = Some(epoch);
        }
        for _ in 0..cfg.steps_per_batch {
            let step = state.steps + 1;
            if step <= resume.steps {
                // Replayed, not retrained: the checkpoint holds what these steps did.
                state.steps = step;
                continue;
            }
            model.set_training(true);
            tape.reset();
            let f = forward(tape, &batch).map_err(|e| anomaly_diverged(step, e))?;
            let loss = tape.scalar(f.loss)?.as_f64();
            check_loss(step, loss, &mut state.first_loss, cfg.divergence)?;
            let mut grads = tape
                .backward(f.objective)
                .map_err(|e| anomaly_diverged(step, e))?;
            let grad_norm = if cfg.clip == Clip::None && !cfg.grad_norm {
                check_grads(step, &grads, &named)?;
                f64::NAN
            } else {
                // A finite norm means every entry is finite: the cheap check comes with the norm.
                let norm = clip::global_norm(&grads, &params);
                if !norm.is_finite() {
                    check_grads(step, &grads, &named)?;
                }
                cfg.clip.apply(&mut grads, &params)?;
                state.max_grad_norm = state.max_grad_norm.max(norm);
                norm
            };
            opt.step(tape, &mut grads, &params)?;
            state.steps = step;
            let p = Progress {
                step,
                total_steps: cfg.total_steps,
                epoch,
                loss,
                grad_norm,
            };
            after(&p, &batch, &f, tape)?;
            let stop = cfg
                .interrupt
                .as_ref()
                .is_some_and(|f| f.load(Ordering::SeqCst));
            if stop || (cfg.save_every > 0 && step % cfg.save_every == 0) {
                save(&state, tape, opt)?;
            }
            if stop {
                return Err(Error::Interrupted {
                    step,
                    note: String::new(),
                });
            }
        }
    }
    if state.steps < resume.steps {
        return Err(Error::Config(format!(
            "the checkpoint is at step {}, but this run has only {} steps",
            resume.steps, state.steps
        )));
    }
    save(&state, tape, opt)?;
    Ok(LoopReport {
        steps: state.steps,
        max_grad_norm: state.max_grad_norm,
    })
}
// ANCHOR_END: train_loop

fn check_loss(step: usize, loss: f64, first: &mut Option<f64>, policy: Divergence) -> Result<()> {
    let diverged = |what: String| Error::Diverged {
        step,
        what,
        value: loss,
    };
    if !loss.is_finite() {
        return Err(diverged("the loss".into()));
    }
    let start = *first.get_or_insert(loss);
    if let Some(k) = policy.loss_factor {
        if loss > k * start.abs().max(f64::MIN_POSITIVE) {
            return Err(diverged(format!(
                "the loss (more than {k} times its first value {start:.4e})"
            )));
        }
    }
    Ok(())
}

/// A non-finite value caught by anomaly detection is divergence, named by the op that produced it.
fn anomaly_diverged(step: usize, e: Error) -> Error {
    match (e.non_finite_what(), &e) {
        (Some(what), &Error::NonFinite { value, .. }) => Error::Diverged { step, what, value },
        _ => e,
    }
}

/// The first non-finite gradient entry, named by its parameter.
fn check_grads<T: Real>(step: usize, grads: &Grads<T>, named: &[(String, Var)]) -> Result<()> {
    for (name, p) in named {
        if let Some(g) = grads.get(*p) {
            if let Some(v) = g.iter().find(|v| !v.as_f64().is_finite()) {
                return Err(Error::Diverged {
                    step,
                    what: format!("the gradient of {name}"),
                    value: v.as_f64(),
                });
            }
        }
    }
    Ok(())
}

/// What `--save`, `--resume`, Ctrl-C and `zerodl eval` ask of a run. The default trains from scratch, saves
/// nothing and is never interrupted.
#[derive(Clone, Debug, Default)]
pub struct Control {
    /// Folder to keep the run's checkpoint in (`--save`).
    pub save: Option<PathBuf>,
    /// Save every this many steps (0: only at the end and when interrupted).
    pub save_every: usize,
    /// Continue this saved run (`--resume`).
    pub resume: Option<Arc<Checkpoint>>,
    /// Set (by the CLI's Ctrl-C handler) to stop at the next step boundary, saving first.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// Only evaluate the resumed model (`zerodl eval`): no training step is taken.
    pub eval_only: bool,
    /// The tape's anomaly detection for the run (`--detect-anomaly`; see [`LoopConfig::anomaly`]).
    pub anomaly: bool,
    /// Written into every checkpoint (the chapter and its flags), so that `--resume`, `eval` and `predict`
    /// rebuild the same model.
    pub meta: std::collections::BTreeMap<String, String>,
}

/// The caller's own state (curves so far, running sums), by name, saved bit-exact as float64 tensors
/// `run.<name>`.
pub type RunState = Vec<(String, Vec<f64>)>;

impl Control {
    /// Restore the model and the optimizer from the run being resumed; the loop's state and the checkpoint
    /// (for the caller's own state), or `None` for a fresh run.
    pub fn resumed(
        &self,
        tape: &mut Tape<f32>,
        model: &dyn Module,
        opt: &mut dyn Optimizer<f32>,
    ) -> Result<Option<(LoopState, Arc<Checkpoint>)>> {
        let Some(c) = &self.resume else {
            return Ok(None);
        };
        c.restore_model(tape, model)?;
        c.restore_optimizer(tape, opt, &crate::nn::module::param_names(model)?)?;
        let state = LoopState::from_f64s(&c.f64s("loop.state", 3)?)?;
        Ok(Some((state, c.clone())))
    }

    /// `cfg` with this run's resume point, interruption flag and saving interval.
    pub fn loop_config(&self, cfg: LoopConfig, resume: Option<LoopState>) -> LoopConfig {
        LoopConfig {
            resume,
            interrupt: self.interrupt.clone(),
            save_every: if self.save.is_some() {
                self.save_every
            } else {
                0
            },
            anomaly: self.anomaly || cfg.anomaly,
            ..cfg
        }
    }

    /// [`train_loop_saving`] with this run's saving (the model as `saved` writes it, the caller's state from
    /// `run_state`), or, when only evaluating, no step at all: the report of the resumed run.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    pub fn train_loop<B>(
        &self,
        tape: &mut Tape<f32>,
        model: &dyn Module,
        saved: &dyn Module,
        opt: &mut dyn Optimizer<f32>,
        batches: impl IntoIterator<Item = (usize, B)>,
        cfg: &LoopConfig,
        forward: &mut dyn FnMut(&mut Tape<f32>, &B) -> Result<Forward>,
        after: &mut dyn FnMut(&Progress, &B, &Forward, &mut Tape<f32>) -> Result<()>,
        run_state: &dyn Fn() -> RunState,
    ) -> Result<LoopReport> {
        if self.eval_only {
            let r = cfg.resume.unwrap_or_default();
            return Ok(LoopReport {
                steps: r.steps,
                max_grad_norm: r.max_grad_norm,
            });
        }
        let mut save = |s: &LoopState, tape: &mut Tape<f32>, opt: &mut dyn Optimizer<f32>| {
            self.save(s, tape, saved, opt, run_state())
        };
        train_loop_saving(tape, model, opt, batches, cfg, forward, after, &mut save)
    }

    /// Write the run's checkpoint, when saving.
    pub fn save(
        &self,
        state: &LoopState,
        tape: &Tape<f32>,
        model: &dyn Module,
        opt: &mut dyn Optimizer<f32>,
        run: RunState,
    ) -> Result<()> {
        let Some(dir) = &self.save else {
            return Ok(());
        };
        let mut c = Checkpoint::new();
        c.meta.extend(self.meta.clone());
        c.put_model(tape, model)?;
        c.put_optimizer(opt, &crate::nn::module::param_names(model)?)?;
        c.put_f64("loop.state", &state.to_f64s());
        for (name, v) in run {
            c.put_f64(&format!("run.{name}"), &v);
        }
        c.save(dir)?;
        Ok(())
    }
}

#[derive(Clone, Debug)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch: usize,
    /// Gradient steps taken on each batch before moving on (the book's chapter 2 takes 5).
    pub steps_per_batch: usize,
    pub seed: u64,
    /// Evaluate on the test set every this many steps (and at the end).
    pub eval_every: usize,
    /// `λ` of the penalty `λ/2 Σ ‖W‖²` on the weights (0 for none).
    pub l2: f64,
    pub schedule: Schedule,
    /// Batch size for evaluation (memory, not results, depends on it).
    pub eval_batch: usize,
}

impl FitConfig {
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::Config(m.to_string()));
        if self.epochs == 0 {
            return bad("epochs must be at least 1");
        }
        if self.batch == 0 {
            return bad("batch size must be at least 1");
        }
        if self.steps_per_batch == 0 {
            return bad("steps per batch must be at least 1");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("L2 strength must be zero or positive");
        }
        Ok(())
    }
}

/// One point of the training curves.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    pub step: usize,
    pub epoch: f64,
    /// Mean data loss (without the L2 term) and accuracy over the training batches since the last point.
    pub train_loss: f64,
    pub train_acc: f64,
    pub test_loss: f64,
    pub test_acc: f64,
}

pub struct FitReport {
    pub curve: Vec<CurvePoint>,
    pub test_loss: f64,
    pub test_acc: f64,
    pub seconds: f64,
    pub steps: usize,
}

/// Loss and accuracy of `model` on a whole split, in batches of `batch`, in inference mode (the model is
/// left in inference mode; `fit` switches it back before each training step).
pub fn evaluate<M: Classifier>(
    tape: &mut Tape<f32>,
    model: &M,
    split: &Split,
    batch: usize,
) -> Result<(f64, f64)> {
    model.set_training(false);
    let mut loss = 0.0;
    let mut correct = 0;
    for rows in in_order(split.len(), batch) {
        tape.reset();
        let x = tape.constant(split.flat_rows(&rows));
        let labels = split.labels_usize(&rows);
        let z = model.logits(tape, x)?;
        let l = tape.softmax_cross_entropy(z, &labels)?;
        loss += tape.scalar(l)? as f64 * rows.len() as f64;
        correct += count_correct(tape.value(z)?, &labels);
    }
    tape.reset();
    let n = split.len().max(1) as f64;
    Ok((loss / n, correct as f64 / n))
}

/// How many rows of `logits` have their largest entry at the label (ties: the first maximum).
pub fn count_correct(logits: &nalgebra::DMatrix<f32>, labels: &[usize]) -> usize {
    labels
        .iter()
        .enumerate()
        .filter(|&(i, &y)| logits.row(i).transpose().argmax().0 == y)
        .count()
}

/// Callbacks of a run, each given the tape with the current parameters (to record weights, say): `step`
/// after every step, `eval` after every evaluation.
pub struct Hooks<'a> {
    pub step: &'a mut dyn FnMut(&Progress, &Tape<f32>),
    pub eval: &'a mut dyn FnMut(&CurvePoint, &Tape<f32>),
    /// Saving, resuming, interruption.
    pub control: &'a Control,
}

// ANCHOR: fit
/// Train a classifier on `train`, evaluating on `test`: [`train_loop`] with shuffled batches, softmax
/// cross-entropy plus the L2 penalty, and accuracy.
pub fn fit<M: Classifier>(
    tape: &mut Tape<f32>,
    model: &M,
    opt: &mut dyn Optimizer<f32>,
    (train_set, test): (&Split, &Split),
    cfg: &FitConfig,
    hooks: &mut Hooks,
) -> Result<FitReport> {
    cfg.validate()?;
    cfg.schedule.validate()?;
    if train_set.is_empty() || test.is_empty() {
        return Err(Error::Config(
            "training and test sets must not be empty".into(),
        ));
    }
    if cfg.batch > train_set.len() {
        return Err(Error::Config(format!(
            "the batch of {} is larger than the {} training examples",
            cfg.batch,
            train_set.len()
        )));
    }
    let start = Instant::now();
    let ctl = hooks.control;
    let resumed = ctl.resumed(tape, model, opt)?;
    let state = RefCell::new(match &resumed {
        Some((_, c)) => FitState::restore(c)?,
        None => FitState::default(),
    });
    let resume = resumed.map(|(s, _)| s);
    if ctl.eval_only {
        let (test_loss, test_acc) = evaluate(tape, model, test, cfg.eval_batch)?;
        return Ok(FitReport {
            curve: state.into_inner().curve,
            test_loss,
            test_acc,
            seconds: start.elapsed().as_secs_f64(),
            steps: resume.map_or(0, |s| s.steps),
        });
    }
    let mut rng = seeded(cfg.seed);
    let l2_params = model.l2_params();
    let batches_per_epoch = train_set.len().div_ceil(cfg.batch);
    let total_steps = cfg.epochs * batches_per_epoch * cfg.steps_per_batch;
    let batches = (0..cfg.epochs).flat_map(|epoch| {
        let order = epoch_batches(train_set.len(), cfg.batch, &mut rng);
        order.into_iter().map(move |rows| {
            let labels = train_set.labels_usize(&rows);
            (epoch, (train_set.flat_rows(&rows), labels))
        })
    });
    let lc = ctl.loop_config(
        LoopConfig {
            schedule: Some(cfg.schedule.clone()),
            steps_per_batch: cfg.steps_per_batch,
            total_steps,
            divergence: BLOW_UP,
            ..LoopConfig::default()
        },
        resume,
    );
    let mut forward = |tape: &mut Tape<f32>, (x, labels): &Batch| {
        let x = tape.constant(x.clone());
        let z = model.logits(tape, x)?;
        let loss = tape.softmax_cross_entropy(z, labels)?;
        let objective = add_l2(tape, loss, &l2_params, cfg.l2)?;
        Ok(Forward {
            objective,
            loss,
            output: z,
        })
    };
    let mut after = |p: &Progress, (_, labels): &Batch, f: &Forward, tape: &mut Tape<f32>| {
        let mut st = state.borrow_mut();
        st.seen_loss += p.loss * labels.len() as f64;
        st.seen_correct += count_correct(tape.value(f.output)?, labels);
        st.seen_n += labels.len();
        (hooks.step)(p, tape);
        if p.step % cfg.eval_every.max(1) == 0 || p.step == total_steps {
            let (test_loss, test_acc) = evaluate(tape, model, test, cfg.eval_batch)?;
            let point = CurvePoint {
                step: p.step,
                epoch: p.step as f64 / (batches_per_epoch * cfg.steps_per_batch) as f64,
                train_loss: st.seen_loss / st.seen_n as f64,
                train_acc: st.seen_correct as f64 / st.seen_n as f64,
                test_loss,
                test_acc,
            };
            (hooks.eval)(&point, tape);
            st.curve.push(point);
            (st.seen_loss, st.seen_correct, st.seen_n) = (0.0, 0, 0);
        }
        Ok(())
    };
    let run = ctl.train_loop(
        tape,
        model,
        model,
        opt,
        batches,
        &lc,
        &mut forward,
        &mut after,
        &|| state.borrow().to_run_state(),
    )?;
    let curve = state.into_inner().curve;
    let last = curve.last().expect("the last step always evaluates");
    Ok(FitReport {
        test_loss: last.test_loss,
        test_acc: last.test_acc,
        seconds: start.elapsed().as_secs_f64(),
        steps: run.steps,
        curve,
    })
}
// ANCHOR_END: fit

/// What [`fit`] keeps between steps: the curve so far and the running sums since its last point.
#[derive(Default)]
struct FitState {
    curve: Vec<CurvePoint>,
    seen_loss: f64,
    seen_correct: usize,
    seen_n: usize,
}

impl FitState {
    fn to_run_state(&self) -> RunState {
        let curve = self
            .curve
            .iter()
            .flat_map(|p| {
                [
                    p.step as f64,
                    p.epoch,
                    p.train_loss,
                    p.train_acc,
                    p.test_loss,
                    p.test_acc,
                ]
            })
            .collect();
        let sums = vec![self.seen_loss, self.seen_correct as f64, self.seen_n as f64];
        vec![("curve".into(), curve), ("sums".into(), sums)]
    }

    fn restore(c: &Checkpoint) -> Result<Self> {
        let curve = c.f64s_any("run.curve")?;
        let sums = c.f64s("run.sums", 3)?;
        if curve.len() % 6 != 0 {
            return Err(Error::invalid(
                "checkpoint",
                format!("run.curve holds {} values, not rows of 6", curve.len()),
            ));
        }
        Ok(FitState {
            curve: curve
                .chunks_exact(6)
                .map(|r| CurvePoint {
                    step: r[0] as usize,
                    epoch: r[1],
                    train_loss: r[2],
                    train_acc: r[3],
                    test_loss: r[4],
                    test_acc: r[5],
                })
                .collect(),
            seen_loss: sums[0],
            seen_correct: sums[1] as usize,
            seen_n: sums[2] as usize,
        })
    }
}

/// A batch of flat inputs `N x D` and their class labels.
type Batch = (nalgebra::DMatrix<f32>, Vec<usize>);

// ANCHOR: add_l2
/// `loss + λ/2 Σ ‖W‖²`, built from tape ops so that its gradient `λ W` comes from autograd.
pub fn add_l2(tape: &mut Tape<f32>, loss: Var, weights: &[Var], lambda: f64) -> Result<Var> {
    if lambda == 0.0 {
        return Ok(loss);
    }
    let mut total = loss;
    for &w in weights {
        let sq = tape.mul(w, w)?;
        let s = tape.sum(sq)?;
        let p = tape.scale(s, (lambda / 2.0) as f32)?;
        total = tape.add(total, p)?;
    }
    Ok(total)
}
// ANCHOR_END: add_l2
