//! `cargo run --release --bin bench`: time one training step (forward, loss, backward, optimizer update) of
//! each workload after warm-up, and print one JSON line per workload and batch, with the field names of the
//! PyTorch script `bench/torch_bench.py` so the two outputs line up. Also `conv2`: the book's second
//! convolution (32 → 64 channels, 5x5, 14x14, same padding) forward and backward, naive against fast.
//! Workloads: `mlp` (W1), `cnn` (W2), `cnnbn` (W3), `tape` (10,000 recorded 1x1 ops and their backward: the
//! tape's own cost per op), `lstm` (W4: 2 stacked LSTM(64) over 30 steps of 4 features, a linear head on the last
//! step, MSE, Adam), `bigru` (W5: one bidirectional GRU(64), PyTorch's form, over 100 steps of 50 features, the
//! two last states concatenated, dropout 0.5, a linear layer to 2, softmax cross-entropy, Adam). Every line carries
//! the peak resident memory of the process so far (`peak_rss_mb`) and the time per example (`per_example_ms`).
//! `--threads 1,2` runs one process per thread count; `--growth` one per workload and batch (16 to 256), so that
//! each peak is its own; `--flat-memory N` runs N steps and fails if the bytes held between steps change.

use clap::Parser;
use nalgebra::DMatrix;
use rand::Rng as _;
use serde_json::json;
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};
use zerodl::autograd::Tape;
use zerodl::by_hand::gru::Reset;
use zerodl::by_hand::recurrent::{Merge, StackSpec};
use zerodl::by_hand::{conv, conv_fast};
use zerodl::layout::ConvGeom;
use zerodl::nn::batch_norm::BnImpl;
use zerodl::nn::cnn::Cnn;
use zerodl::nn::conv2d::Impl;
use zerodl::nn::dropout::Dropout;
use zerodl::nn::gru::{Gru, GruInit};
use zerodl::nn::lstm::{Lstm, LstmInit};
use zerodl::nn::recurrent::RecImpl;
use zerodl::nn::{Activation, Init, Linear, Mlp, Module};
use zerodl::optim::{Adam, Optimizer, Sgd};
use zerodl::rng::seeded;
use zerodl::train::Classifier;

// Why mimalloc: see `zerodl::alloc`. Counted, so that --flat-memory can see the bytes the program holds rather
// than what the allocator keeps from the operating system.
#[global_allocator]
static ALLOC: Counted = Counted(zerodl::alloc::MiMalloc);

/// The global allocator with a running count of the bytes allocated and not yet freed.
struct Counted(zerodl::alloc::MiMalloc);

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to mimalloc unchanged; the count is only read.
unsafe impl GlobalAlloc for Counted {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Relaxed);
        unsafe { self.0.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Relaxed);
        unsafe { self.0.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { self.0.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Relaxed);
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }
}

#[derive(Parser)]
#[command(about = "Time training steps of the benchmark workloads")]
struct Args {
    /// Comma-separated: mlp, cnn, cnnbn, lstm, bigru, conv2, tape (the cost of one tiny recorded op).
    #[arg(long, default_value = "mlp,cnn,cnnbn,lstm,bigru,conv2,tape")]
    workloads: String,
    /// Comma-separated batch sizes (default: each workload's own: mlp 64,512; cnn 32,128; conv2 32).
    #[arg(long)]
    batches: Option<String>,
    /// Comma-separated thread counts (each sets RAYON_NUM_THREADS, the size of zerodl's thread pool, in a
    /// process of its own, since the pool is sized once).
    #[arg(long, default_value = "2")]
    threads: String,
    /// Seconds of timed runs per measurement (after warm-up).
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// How cost grows with the batch: batches 16, 32, 64, 128 and 256 (unless --batches says otherwise), each
    /// workload and batch in a process of its own so that its `peak_rss_mb` is its own.
    #[arg(long)]
    growth: bool,
    /// Instead of timing for --seconds, run this many steps after warm-up and check that memory stays flat: the
    /// bytes allocated and not freed, read after each tenth of the steps (`live_tenths_mb`), must be the same
    /// every time, or the bench exits with status 1. The resident memory at the same moments
    /// (`rss_tenths_mb`) is reported beside them: it also holds what the allocator keeps for reuse.
    #[arg(long, value_name = "STEPS")]
    flat_memory: Option<usize>,
}

/// How a workload's step is measured: timed for a while, or run a fixed number of steps watching memory.
#[derive(Clone, Copy)]
enum Mode {
    Seconds(f64),
    Steps(usize),
}

/// Live bytes (allocated, not freed) and resident memory in MB, after each tenth of a `Mode::Steps` run.
type Flat = Vec<(usize, f64)>;

/// Median, min and max in milliseconds of `step` run repeatedly after 3 warm-up runs: for about `seconds` (at
/// least 5 runs), or for a fixed number of steps, noting in `flat` the resident memory after the first tenth of
/// them and after the last.
fn time(mode: Mode, flat: &mut Flat, mut step: impl FnMut()) -> (f64, f64, f64, usize) {
    for _ in 0..3 {
        step();
    }
    // Room reserved up front, so that the harness's own records do not count as the step's growth.
    let mut ms = Vec::with_capacity(match mode {
        Mode::Seconds(_) => 0,
        Mode::Steps(n) => n,
    });
    flat.reserve(10);
    let start = Instant::now();
    let more = |done: usize| match mode {
        Mode::Seconds(s) => done < 5 || start.elapsed() < Duration::from_secs_f64(s),
        Mode::Steps(n) => done < n,
    };
    while more(ms.len()) {
        let t = Instant::now();
        step();
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        // A reading each time the run passes another tenth of its steps: ten in all (fewer if it has fewer
        // than ten steps), so the room reserved above is never outgrown.
        if let Mode::Steps(n) = mode {
            if ms.len() * 10 >= (flat.len() + 1) * n {
                flat.push((LIVE.load(Relaxed), rss_mb("VmRSS").unwrap_or(f64::NAN)));
            }
        }
    }
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[0], ms[ms.len() - 1], ms.len())
}

fn random(rows: usize, cols: usize, seed: u64) -> DMatrix<f32> {
    let mut rng = seeded(seed);
    DMatrix::from_fn(rows, cols, |_, _| rng.random_range(0.0..1.0))
}

fn train_step<M: Classifier>(
    tape: &mut Tape<f32>,
    model: &M,
    opt: &mut dyn Optimizer<f32>,
    x: &mut DMatrix<f32>,
    labels: &[usize],
) {
    let xv = lend(tape, x);
    let z = model.logits(tape, xv).expect("shapes fit");
    let loss = tape.softmax_cross_entropy(z, labels).expect("labels fit");
    let mut g = tape.backward(loss).expect("scalar loss");
    opt.step(tape, &mut g, &model.params()).expect("parameters");
    *x = tape.reset_returning(xv).expect("this step's input");
}

/// The batch `x` moved onto the (reset) tape as a constant, to be taken back with `reset_returning` at the
/// end of the step: the same batch every step, as PyTorch's loop feeds its tensor, without a copy per step.
fn lend(tape: &mut Tape<f32>, x: &mut DMatrix<f32>) -> zerodl::Var {
    tape.reset();
    tape.constant(std::mem::replace(x, DMatrix::zeros(0, 0)))
}

/// A comma-separated list of positive numbers, or a message naming the flag and the bad entry.
fn list(flag: &str, text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|v| match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "bench: --{flag} takes positive whole numbers separated by commas, got {v:?}"
            )),
        })
        .collect()
}

/// The peak resident memory of this process so far, in MB (Linux only). The allocator keeps what it frees
/// (see `zerodl::alloc`), so run a workload alone (`--workloads cnn --batches 32`) to read its own peak.
fn peak_rss_mb() -> Option<f64> {
    rss_mb("VmHWM")
}

/// A memory line of `/proc/self/status` (`VmRSS`: resident now, `VmHWM`: peak), in MB.
fn rss_mb(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Records `ops` tiny (1x1) ops, then the backward sweep over them: what the tape itself costs per op.
fn tape_step(tape: &mut Tape<f32>, w: zerodl::Var, ops: usize) {
    tape.reset();
    let mut v = tape.leaf(DMatrix::from_element(1, 1, 1.0));
    for i in 0..ops {
        v = if i % 2 == 0 {
            tape.mul(v, w)
        } else {
            tape.add(v, w)
        }
        .expect("1x1 operands");
    }
    std::hint::black_box(tape.backward(v).expect("1x1 output"));
}

/// Runs this binary once for each entry of `runs`, with the arguments it was given less the flags `valued`
/// (with their values) and `bare`, plus that entry's; exits with status 1 as soon as a run fails.
fn rerun(valued: &[&str], bare: &[&str], runs: impl Iterator<Item = Vec<String>>) {
    let exe = std::env::current_exe().expect("the running binary's path");
    let kept: Vec<String> = std::env::args()
        .skip(1)
        .scan(false, |value_next, a| {
            let is = |f: &&str| a == *f || a.starts_with(&format!("{f}="));
            let drop = *value_next || valued.iter().any(is) || bare.iter().any(is);
            *value_next = valued.contains(&a.as_str());
            Some((!drop).then_some(a))
        })
        .flatten()
        .collect();
    for extra in runs {
        let ok = std::process::Command::new(&exe)
            .args(&kept)
            .args(&extra)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            std::process::exit(1);
        }
    }
}

fn main() {
    zerodl::alloc::keep_freed_memory();
    let args = Args::parse();
    let (threads, batches) = match (
        list("threads", &args.threads),
        args.batches
            .as_deref()
            .map(|b| list("batches", b))
            .transpose(),
    ) {
        (Ok(t), Ok(b)) => (t, b),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if threads.len() > 1 {
        // One process per thread count: rayon sizes its pool once per process.
        rerun(
            &["--threads"],
            &[],
            threads.iter().map(|t| vec![format!("--threads={t}")]),
        );
        return;
    }
    if args.flat_memory == Some(0) {
        eprintln!("bench: --flat-memory takes a positive number of steps, got 0");
        std::process::exit(2);
    }
    if args.growth {
        // One process per workload and batch, so each line's peak memory is that run's own.
        let growth: &[usize] = &[16, 32, 64, 128, 256];
        let batches = batches.as_deref().unwrap_or(growth);
        let runs = args
            .workloads
            .split(',')
            .map(str::trim)
            .filter(|w| *w != "tape" && *w != "conv2")
            .flat_map(|w| {
                batches
                    .iter()
                    .map(move |b| vec![format!("--workloads={w}"), format!("--batches={b}")])
            });
        rerun(&["--workloads", "--batches"], &["--growth"], runs);
        return;
    }
    let mode = args
        .flat_memory
        .map_or(Mode::Seconds(args.seconds), Mode::Steps);
    let mut grew = false;
    let nthreads = threads[0];
    // SAFETY: single-threaded here, before any other thread exists or reads the environment.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", nthreads.to_string()) };
    if let Err(e) = zerodl::kernels::par::join_global_pool() {
        eprintln!("bench: the main thread could not join the thread pool: {e}");
        std::process::exit(1);
    }
    for workload in args.workloads.split(',').map(str::trim) {
        let default: &[usize] = match workload {
            "mlp" => &[64, 512],
            "cnn" | "cnnbn" => &[32, 128],
            "conv2" | "lstm" | "bigru" => &[32],
            "tape" => &[1],
            other => {
                eprintln!(
                    "bench: unknown workload {other:?} (known: mlp, cnn, cnnbn, lstm, bigru, conv2, tape)"
                );
                std::process::exit(2);
            }
        };
        // The tape workload has no batch: it runs once whatever --batches says.
        let chosen = if workload == "tape" {
            default
        } else {
            batches.as_deref().unwrap_or(default)
        };
        for &batch in chosen {
            let labels: Vec<usize> = (0..batch).map(|i| i % 10).collect();
            let mut rng = seeded(1);
            let mut flat: Flat = Vec::new();
            let mut line = match workload {
                "mlp" => {
                    let mut tape = Tape::new();
                    let model = Mlp::new(
                        &mut tape,
                        &[784, 200, 100, 10],
                        Activation::Relu,
                        Init::He,
                        &mut rng,
                    )
                    .expect("sizes");
                    let mut x = random(batch, 784, 2);
                    let mut opt = Sgd { lr: 0.01 };
                    let (med, min, max, runs) = time(mode, &mut flat, || {
                        train_step(&mut tape, &model, &mut opt, &mut x, &labels)
                    });
                    json!({"workload": "mlp", "batch": batch, "threads": nthreads,
                           "median_ms": med, "min_ms": min, "max_ms": max, "runs": runs})
                }
                "lstm" => {
                    let mut tape = Tape::new();
                    let (steps, features, hidden) = (30, 4, 64);
                    let spec = StackSpec {
                        input: features,
                        hidden,
                        layers: 2,
                        bidirectional: false,
                        merge: Merge::PerLayer,
                    };
                    // PyTorch's default initialisation range, U(-1/√H, 1/√H).
                    let init = LstmInit::Uniform {
                        a: 1.0 / (hidden as f64).sqrt(),
                        forget_bias: 0.0,
                    };
                    let lstm =
                        Lstm::lstm(&mut tape, spec, init, RecImpl::Fused, &mut rng).expect("spec");
                    let head = Linear::new(&mut tape, hidden, 1, Init::Xavier, &mut rng);
                    let mut params = lstm.params();
                    params.extend(head.params());
                    let (mut x, y) = (random(batch, steps * features, 2), random(batch, 1, 3));
                    let mut opt = Adam::new(1e-3);
                    let (med, min, max, runs) = time(mode, &mut flat, || {
                        let xv = lend(&mut tape, &mut x);
                        let yv = tape.constant(y.clone());
                        let out = lstm.forward(&mut tape, xv).expect("shapes fit");
                        let last = tape
                            .slice_cols(out, (steps - 1) * hidden, hidden)
                            .expect("the last step");
                        let p = head.forward(&mut tape, last).expect("shapes fit");
                        let loss = tape.mse(p, yv).expect("shapes fit");
                        let mut g = tape.backward(loss).expect("scalar loss");
                        opt.step(&mut tape, &mut g, &params).expect("parameters");
                        x = tape.reset_returning(xv).expect("this step's input");
                    });
                    json!({"workload": "lstm", "batch": batch, "threads": nthreads,
                           "median_ms": med, "min_ms": min, "max_ms": max, "runs": runs})
                }
                "bigru" => {
                    let mut tape = Tape::new();
                    let (steps, features, hidden) = (100, 50, 64);
                    let spec = StackSpec {
                        input: features,
                        hidden,
                        layers: 1,
                        bidirectional: true,
                        merge: Merge::PerLayer,
                    };
                    let init = GruInit::Uniform {
                        a: 1.0 / (hidden as f64).sqrt(),
                    };
                    let gru = Gru::gru(
                        &mut tape,
                        spec,
                        Reset::After,
                        init,
                        RecImpl::Fused,
                        &mut rng,
                    )
                    .expect("spec");
                    let drop = Dropout::new(0.5, false, 4).expect("keep");
                    let head = Linear::new(&mut tape, 2 * hidden, 2, Init::Xavier, &mut rng);
                    let mut params = gru.params();
                    params.extend(head.params());
                    let mut x = random(batch, steps * features, 2);
                    let labels: Vec<usize> = (0..batch).map(|i| i % 2).collect();
                    let mut opt = Adam::new(1e-3);
                    let (med, min, max, runs) = time(mode, &mut flat, || {
                        let xv = lend(&mut tape, &mut x);
                        let out = gru.forward(&mut tape, xv).expect("shapes fit");
                        // Block t of the output is [forward_t | reverse_t].
                        let fwd = tape
                            .slice_cols(out, (steps - 1) * 2 * hidden, hidden)
                            .expect("last");
                        let rev = tape.slice_cols(out, hidden, hidden).expect("first");
                        let h = tape.concat_cols(&[fwd, rev]).expect("same rows");
                        let h = drop.forward(&mut tape, h).expect("shapes fit");
                        let z = head.forward(&mut tape, h).expect("shapes fit");
                        let loss = tape.softmax_cross_entropy(z, &labels).expect("labels fit");
                        let mut g = tape.backward(loss).expect("scalar loss");
                        opt.step(&mut tape, &mut g, &params).expect("parameters");
                        x = tape.reset_returning(xv).expect("this step's input");
                    });
                    json!({"workload": "bigru", "batch": batch, "threads": nthreads,
                           "median_ms": med, "min_ms": min, "max_ms": max, "runs": runs})
                }
                "tape" => {
                    const OPS: usize = 10_000;
                    let mut tape = Tape::new();
                    let w = tape.param(DMatrix::from_element(1, 1, 0.999f32));
                    let (med, min, max, runs) =
                        time(mode, &mut flat, || tape_step(&mut tape, w, OPS));
                    json!({"workload": "tape", "ops": OPS, "threads": nthreads,
                           "median_ms": med, "min_ms": min, "max_ms": max, "runs": runs,
                           "ns_per_op": med * 1e6 / OPS as f64})
                }
                "cnn" | "cnnbn" => {
                    let mut tape = Tape::new();
                    let model = if workload == "cnn" {
                        Cnn::book(&mut tape, Impl::Fast, &mut rng)
                    } else {
                        Cnn::book_bn(&mut tape, Impl::Fast, BnImpl::Fused, &mut rng)
                    }
                    .expect("geometry");
                    let mut x = random(batch, 784, 2);
                    let mut opt = Adam::new(1e-3);
                    let (med, min, max, runs) = time(mode, &mut flat, || {
                        train_step(&mut tape, &model, &mut opt, &mut x, &labels)
                    });
                    json!({"workload": workload, "batch": batch, "threads": nthreads,
                           "median_ms": med, "min_ms": min, "max_ms": max, "runs": runs})
                }
                _ => {
                    let g = ConvGeom::same(32, 14, 14, 64, 5).expect("geometry");
                    let x = random(g.in_len(), batch, 3);
                    let w = random(g.patch(), g.c_out, 4);
                    let b = random(1, g.c_out, 5);
                    let dy = random(g.out_len(), batch, 6);
                    let (fast, fmin, fmax, _) = time(mode, &mut flat, || {
                        std::hint::black_box(conv_fast::forward(&x, &w, &b, &g).expect("shapes"));
                        std::hint::black_box(
                            conv_fast::backward(&dy, &x, &w, &g, true).expect("shapes"),
                        );
                    });
                    let (naive, nmin, nmax, _) = time(mode, &mut flat, || {
                        std::hint::black_box(conv::forward(&x, &w, &b, &g).expect("shapes"));
                        std::hint::black_box(conv::backward(&dy, &x, &w, &g).expect("shapes"));
                    });
                    json!({"workload": "conv2", "batch": batch, "threads": nthreads,
                           "median_ms": fast, "min_ms": fmin, "max_ms": fmax,
                           "naive_median_ms": naive, "naive_min_ms": nmin, "naive_max_ms": nmax,
                           "speedup": naive / fast})
                }
            };
            if workload != "tape" && workload != "conv2" {
                line["per_example_ms"] =
                    json!(line["median_ms"].as_f64().unwrap_or(0.0) / batch as f64);
            }
            line["peak_rss_mb"] = json!(peak_rss_mb());
            if let Some(&(first, _)) = flat.first() {
                // Between steps a training loop holds its parameters, the optimizer's state and the tape's
                // emptied storage: the same bytes every time, unless a step leaves something behind.
                let flat_ok = flat.iter().all(|&(live, _)| live == first);
                grew |= !flat_ok;
                let mb = |b: usize| b as f64 / (1 << 20) as f64;
                line["live_tenths_mb"] = json!(flat.iter().map(|f| mb(f.0)).collect::<Vec<_>>());
                line["rss_tenths_mb"] = json!(flat.iter().map(|f| f.1).collect::<Vec<_>>());
                line["memory_flat"] = json!(flat_ok);
            }
            println!("{line}");
        }
    }
    if grew {
        eprintln!(
            "bench: the bytes held between steps changed during the run (see live_tenths_mb): a step leaves memory behind"
        );
        std::process::exit(1);
    }
}
