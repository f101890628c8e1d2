//! `zerodl`: run the book's experiments and fetch data.
//!
//! `zerodl run ch2` runs an experiment with the book's settings (flags change them), shows a progress bar on
//! standard error, and ends by printing one JSON line of the final metrics on standard output.

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::process::ExitCode;
use zerodl::chapters::{ch1, ch2, ch3, ch5, ch7};
use zerodl::data::{download, mnist};
use zerodl::optim::{Kind, Schedule};
use zerodl::train::Progress;

// Why: see `zerodl::alloc`.
#[global_allocator]
static ALLOC: zerodl::alloc::MiMalloc = zerodl::alloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "zerodl",
    version,
    about = "Deep learning from zero: the book's experiments in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one chapter's experiment and print its final metrics as one JSON line.
    Run(RunArgs),
    /// Download a dataset into the data root ($ZERODL_DATA, default data/).
    Data {
        #[arg(value_enum)]
        dataset: Dataset,
        /// Where to fetch from (a mirror of the original files).
        #[arg(long, default_value = download::MNIST_BASE_URL)]
        base_url: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Dataset {
    Mnist,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Experiment {
    /// Chapter 1: the perceptron on generated 3-D points.
    Ch1,
    /// Chapter 2: softmax regression 784 -> 10 on MNIST.
    Ch2,
    /// Chapter 3: the deep fully connected network 784 -> 512 ReLU -> 10 on MNIST (--l2 for the L2 variant).
    Ch3,
    /// Chapter 4: the book's CNN with the naive loops, on 320 training and 500 test images.
    Ch4,
    /// Chapter 5: the book's CNN with im2col, Adam and the book's learning-rate table, 5 epochs.
    Ch5,
    /// Chapter 6: the chapter 5 CNN with batch normalization after each convolution.
    Ch6,
    /// Chapter 7: three stacked tanh RNN layers predict the next 10 values of a noisy curve from the 10 before.
    Ch7,
}

#[derive(clap::Args)]
struct RunArgs {
    #[arg(value_enum)]
    experiment: Experiment,
    /// Learning rate (default: the book's for the experiment; for ch4/ch5 a constant rate replaces the table).
    #[arg(long)]
    lr: Option<f64>,
    /// Batch size.
    #[arg(long)]
    batch: Option<usize>,
    /// Epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Gradient steps on each batch (chapter 2's book setting is 5).
    #[arg(long)]
    steps_per_batch: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// L2 strength lambda; for ch3 this selects the book's L2 variant (784 -> 500 -> 10, lr 0.1 * 0.99^epoch).
    #[arg(long)]
    l2: Option<f64>,
    /// Optimizer (default: the book's for the experiment: SGD for ch2 and ch3, Adam for ch4 and ch5).
    #[arg(long, value_enum)]
    optimizer: Option<Opt>,
    /// ch7: multiply the learning rate by this after every epoch (default 0.5; the book's constant rate is 1).
    #[arg(long)]
    decay: Option<f64>,
    /// ch7: hidden units per RNN layer.
    #[arg(long)]
    hidden: Option<usize>,
    /// ch7: stacked RNN layers.
    #[arg(long)]
    layers: Option<usize>,
    /// ch7: run every layer in both directions.
    #[arg(long)]
    bidirectional: bool,
    /// ch7: how a bidirectional stack joins its directions (per-layer is the default; book is the book's).
    #[arg(long, value_enum)]
    merge: Option<MergeArg>,
    /// ch7: clip the global gradient norm at this value (default 5).
    #[arg(long, conflicts_with_all = ["clip_value", "no_clip"])]
    clip_norm: Option<f64>,
    /// ch7: clip every gradient entry to [-c, c] instead.
    #[arg(long, conflicts_with = "no_clip")]
    clip_value: Option<f64>,
    /// ch7: no gradient clipping.
    #[arg(long)]
    no_clip: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum MergeArg {
    PerLayer,
    Book,
}

#[derive(Clone, Copy, ValueEnum)]
enum Opt {
    Sgd,
    Momentum,
    Nag,
    Adagrad,
    Rmsprop,
    Adadelta,
    Adam,
}

impl Opt {
    fn kind(self) -> Kind {
        match self {
            Opt::Sgd => Kind::Sgd,
            Opt::Momentum => Kind::Momentum,
            Opt::Nag => Kind::Nag,
            Opt::Adagrad => Kind::Adagrad,
            Opt::Rmsprop => Kind::RmsProp,
            Opt::Adadelta => Kind::AdaDelta,
            Opt::Adam => Kind::Adam,
        }
    }
}

/// A flag given on the command line replaces the experiment's default.
fn set<T>(slot: &mut T, flag: Option<T>) {
    if let Some(v) = flag {
        *slot = v;
    }
}

fn bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} steps  epoch {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    b
}

fn progress_fn(b: &ProgressBar) -> impl FnMut(&Progress) + '_ {
    move |p: &Progress| {
        b.set_length(p.total_steps as u64);
        b.set_position(p.step as u64);
        if p.step % 10 == 0 || p.step == p.total_steps {
            b.set_message(format!("{}  loss {:.4}", p.epoch + 1, p.loss));
        }
    }
}

fn run(args: RunArgs) -> zerodl::Result<serde_json::Value> {
    let b = bar(args.quiet);
    let value = match args.experiment {
        Experiment::Ch1 => {
            let mut s = ch1::Settings::default();
            set(&mut s.lr, args.lr);
            set(&mut s.seed, args.seed);
            let t = std::time::Instant::now();
            let r = ch1::run(&s)?;
            json!({"experiment": "ch1", "updates": r.trained.updates, "scans": r.trained.scans,
                   "accuracy": r.accuracy, "novikoff_bound": r.bound,
                   "w": r.trained.model.w.as_slice(), "b": r.trained.model.b,
                   "seconds": t.elapsed().as_secs_f64()})
        }
        Experiment::Ch2 => {
            let data = mnist::load()?;
            let mut s = ch2::Settings::default();
            set(&mut s.lr, args.lr);
            set(&mut s.batch, args.batch);
            set(&mut s.epochs, args.epochs);
            set(&mut s.steps_per_batch, args.steps_per_batch);
            set(&mut s.seed, args.seed);
            set(&mut s.optimizer, args.optimizer.map(Opt::kind));
            let r = ch2::run(&data, &s, &mut progress_fn(&b))?;
            b.finish_and_clear();
            json!({"experiment": "ch2", "optimizer": s.optimizer.name(), "epochs": s.epochs, "test_accuracy": r.fit.test_acc,
                   "test_loss": r.fit.test_loss, "steps": r.fit.steps, "seconds": r.fit.seconds})
        }
        Experiment::Ch3 => {
            let data = mnist::load()?;
            let mut s = match args.l2 {
                Some(l2) => ch3::Settings {
                    l2,
                    ..ch3::Settings::book_l2()
                },
                None => ch3::Settings::book(),
            };
            set(&mut s.lr, args.lr);
            set(&mut s.batch, args.batch);
            set(&mut s.epochs, args.epochs);
            set(&mut s.steps_per_batch, args.steps_per_batch);
            set(&mut s.seed, args.seed);
            set(&mut s.optimizer, args.optimizer.map(Opt::kind));
            let r = ch3::run(&data, &s, &mut progress_fn(&b))?;
            b.finish_and_clear();
            json!({"experiment": "ch3", "optimizer": s.optimizer.name(), "hidden": s.hidden, "l2": s.l2, "epochs": s.epochs,
                   "test_accuracy": r.test_acc, "test_loss": r.test_loss, "steps": r.steps,
                   "seconds": r.seconds})
        }
        Experiment::Ch4 | Experiment::Ch5 | Experiment::Ch6 => {
            let data = mnist::load()?;
            let (name, mut s) = match args.experiment {
                Experiment::Ch4 => ("ch4", ch5::Settings::ch4()),
                Experiment::Ch5 => ("ch5", ch5::Settings::ch5()),
                _ => ("ch6", ch5::Settings::ch6()),
            };
            if let Some(v) = args.lr {
                s.schedule = Schedule::Constant(v);
            }
            set(&mut s.batch, args.batch);
            set(&mut s.epochs, args.epochs);
            set(&mut s.seed, args.seed);
            set(&mut s.optimizer, args.optimizer.map(Opt::kind));
            let r = ch5::run(&data, &s, &mut progress_fn(&b))?;
            b.finish_and_clear();
            json!({"experiment": name, "optimizer": s.optimizer.name(), "epochs": s.epochs, "batch": s.batch,
                   "train_images": s.train_size.unwrap_or(data.train.len()),
                   "test_images": s.test_size.unwrap_or(data.test.len()),
                   "test_accuracy": r.fit.test_acc, "test_loss": r.fit.test_loss, "steps": r.fit.steps,
                   "seconds": r.fit.seconds, "epoch_seconds": r.epoch_seconds})
        }
        Experiment::Ch7 => {
            let mut s = ch7::Settings::default();
            set(&mut s.lr, args.lr);
            set(&mut s.batch, args.batch);
            set(&mut s.epochs, args.epochs);
            set(&mut s.seed, args.seed);
            set(&mut s.hidden, args.hidden);
            set(&mut s.decay, args.decay);
            set(&mut s.layers, args.layers);
            s.bidirectional |= args.bidirectional;
            if let Some(m) = args.merge {
                s.merge = match m {
                    MergeArg::PerLayer => zerodl::by_hand::rnn::Merge::PerLayer,
                    MergeArg::Book => zerodl::by_hand::rnn::Merge::Book,
                };
            }
            if let Some(c) = args.clip_norm {
                s.clip = ch7::Clip::Norm(c);
            }
            if let Some(c) = args.clip_value {
                s.clip = ch7::Clip::Value(c);
            }
            if args.no_clip {
                s.clip = ch7::Clip::None;
            }
            let r = ch7::run(&s, &mut progress_fn(&b))?;
            b.finish_and_clear();
            json!({"experiment": "ch7", "hidden": s.hidden, "layers": s.layers, "bidirectional": s.bidirectional,
                   "clip": format!("{:?}", s.clip), "epochs": s.epochs, "test_mse": r.test_mse,
                   "test_loss_book_convention": r.test_loss_book(),
                   "test_mse_clean_signal": r.test_mse_clean, "noise_floor": r.noise_floor,
                   "linear_least_squares_mse": r.linear_mse, "decay": s.decay,
                   "max_grad_norm": r.max_grad_norm, "steps": r.steps, "seconds": r.seconds})
        }
    };
    Ok(value)
}

fn main() -> ExitCode {
    zerodl::alloc::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args).map(|v| println!("{v}")),
        Command::Data {
            dataset: Dataset::Mnist,
            base_url,
        } => {
            let dir = zerodl::data::data_root().join("mnist");
            download::fetch(&base_url, &dir, &download::MNIST, true).map(|files| {
                for f in files {
                    match f {
                        download::Fetched::Downloaded(p) => eprintln!("downloaded {}", p.display()),
                        download::Fetched::AlreadyThere(p) => {
                            eprintln!("already there, checksum verified: {}", p.display())
                        }
                    }
                }
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zerodl: {e}");
            ExitCode::FAILURE
        }
    }
}
