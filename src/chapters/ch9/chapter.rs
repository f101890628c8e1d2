//! `zerodl run ch9` and chapter 9's figures (behind `figures --full`: the runs take minutes).

use super::baselines::{bag_of_words, mean_vector, Score};
use super::data::{prepare, Prepared};
use super::{figures, run, Head, Report, Settings};
use crate::by_hand::gru::Reset;
use crate::chapters::flags::{self, set};
use crate::chapters::{Chapter, Figures};
use crate::data::{glove, imdb};
use crate::error::Result;
use crate::optim::Schedule;
use crate::train::{Control, Progress};
use clap::{ArgMatches, Args, Command, ValueEnum};
use serde_json::{json, Value};
use std::time::Instant;

#[derive(Clone, Copy, ValueEnum)]
enum ResetArg {
    Before,
    After,
}

#[derive(Clone, Copy, ValueEnum)]
enum HeadArg {
    Last,
    Flatten,
}

#[derive(Args)]
struct Flags {
    /// The book's setup: 3 bidirectional GRU layers of 16 joined at the top, frozen vectors, no masking, an
    /// FC over all 200 steps, batch 8, 5 epochs, its learning-rate table.
    #[arg(long)]
    book_setup: bool,
    /// A constant learning rate in place of the setup's table.
    #[arg(long, value_parser = flags::positive)]
    lr: Option<f64>,
    /// Batch size.
    #[arg(long, value_parser = flags::count)]
    batch: Option<usize>,
    /// Epochs.
    #[arg(long, value_parser = flags::count)]
    epochs: Option<usize>,
    /// Seed of every random draw.
    #[arg(long)]
    seed: Option<u64>,
    /// Hidden units per direction and layer.
    #[arg(long, value_parser = flags::count)]
    hidden: Option<usize>,
    /// Stacked bidirectional layers.
    #[arg(long, value_parser = flags::count)]
    layers: Option<usize>,
    /// Tokens read per review (the first ones).
    #[arg(long, value_parser = flags::count)]
    steps: Option<usize>,
    /// Dropout before the FC: probability of keeping a value, in (0, 1].
    #[arg(long, value_parser = flags::factor)]
    keep: Option<f64>,
    /// Where the reset gate acts (before the recurrent product: the book's; after: PyTorch's).
    #[arg(long, value_enum)]
    reset: Option<ResetArg>,
    /// What the FC reads: the two last states, or every step's states (the book's).
    #[arg(long, value_enum)]
    head: Option<HeadArg>,
    /// Keep the GloVe vectors as they are.
    #[arg(long)]
    freeze_embeddings: bool,
    /// Skip the two logistic-regression yardsticks.
    #[arg(long)]
    no_baselines: bool,
}

/// Tokens the bag-of-words yardstick reads per review (the 99th percentile of review length is about 900).
pub const BOW_STEPS: usize = 1000;

fn settings(f: &Flags) -> Result<Settings> {
    let mut s = if f.book_setup {
        Settings::book()
    } else {
        Settings::default()
    };
    if let Some(lr) = f.lr {
        s.schedule = Schedule::Constant(lr);
    }
    set(&mut s.batch, f.batch);
    set(&mut s.epochs, f.epochs);
    set(&mut s.seed, f.seed);
    set(&mut s.hidden, f.hidden);
    set(&mut s.layers, f.layers);
    set(&mut s.steps, f.steps);
    set(&mut s.keep, f.keep);
    if let Some(r) = f.reset {
        s.reset = match r {
            ResetArg::Before => Reset::Before,
            ResetArg::After => Reset::After,
        };
    }
    if let Some(h) = f.head {
        s.head = match h {
            HeadArg::Last => Head::Last,
            HeadArg::Flatten => Head::Flatten,
        };
    }
    s.train_embeddings &= !f.freeze_embeddings;
    s.validate()?;
    Ok(s)
}

/// Everything a run reports, for the JSON line and the figures.
pub struct Outcome {
    pub report: Report,
    pub prepared: Prepared,
    pub baselines: Option<(Score, Score)>,
    pub read_seconds: f64,
}

pub fn outcome(
    s: &Settings,
    baselines: bool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<(Outcome, super::SentimentNet, crate::autograd::Tape<f32>)> {
    let t = Instant::now();
    let data = imdb::load()?;
    let vectors = glove::load()?;
    let prepared = prepare(&data, &vectors, s, s.steps)?;
    let read_seconds = t.elapsed().as_secs_f64();
    let (report, model, tape) = run(&prepared.corpus, s, progress)?;
    let baselines = if baselines {
        let bow = prepare(&data, &vectors, s, BOW_STEPS)?;
        let mv = mean_vector(&bow.corpus, s.seed)?;
        let bw = bag_of_words(&bow.corpus, bow.vocab.len(), s.seed)?;
        Some((mv, bw))
    } else {
        None
    };
    let o = Outcome {
        report,
        prepared,
        baselines,
        read_seconds,
    };
    Ok((o, model, tape))
}

pub fn outcome_json(o: &Outcome) -> Value {
    let r = &o.report;
    let s = &r.settings;
    let base = o.baselines.map(|(mv, bw)| {
        json!({"mean_glove_logistic": {"test_accuracy": mv.test_acc, "validation_accuracy": mv.val_acc, "seconds": mv.seconds},
               "bag_of_words_logistic": {"test_accuracy": bw.test_acc, "validation_accuracy": bw.val_acc, "seconds": bw.seconds}})
    });
    json!({"experiment": "ch9", "setup": if s.book_setup { "book" } else { "ours" },
           "train_reviews": o.prepared.corpus.train.len(), "validation_reviews": o.prepared.corpus.val.len(),
           "test_reviews": o.prepared.corpus.test.len(), "vocabulary": o.prepared.vocab.len(),
           "vocabulary_without_glove": o.prepared.oov, "glove_token_coverage": o.prepared.coverage,
           "steps_per_review": s.steps, "hidden": s.hidden, "layers": s.layers, "epochs": s.epochs,
           "batch": s.batch, "test_accuracy": r.test_acc, "test_loss": r.test_loss,
           "validation_accuracy": r.val_acc, "baselines": base, "epoch_seconds": r.epoch_seconds,
           "read_and_tokenize_seconds": o.read_seconds, "steps": r.steps, "seconds": r.seconds})
}

pub struct Ch9;

impl Chapter for Ch9 {
    fn name(&self) -> &'static str {
        "ch9"
    }

    fn about(&self) -> &'static str {
        "Chapter 9: a bidirectional GRU over GloVe vectors classifies the 25,000 IMDB test reviews (--book-setup: the book's)."
    }

    fn flags(&self, cmd: Command) -> Command {
        Flags::augment_args(cmd)
    }

    fn run(
        &self,
        m: &ArgMatches,
        progress: &mut dyn FnMut(&Progress),
        _: &Control,
    ) -> Result<Value> {
        let f: Flags = flags::parse(m)?;
        let s = settings(&f)?;
        // Reading and tokenizing take about two seconds: a line on standard error says what the wait is.
        eprintln!(
            "ch9: reading the IMDB archive and GloVe, tokenizing 50,000 reviews, then training"
        );
        let (o, _, _) = outcome(&s, !f.no_baselines, progress)?;
        Ok(outcome_json(&o))
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        if !out.full("the chapter 9 IMDB runs") {
            return Ok(());
        }
        let Some(_) = out.dataset("the chapter 9 IMDB figures", imdb::load)? else {
            return Ok(());
        };
        let s = Settings::default();
        let (o, model, mut tape) = outcome(&s, true, &mut |_| {})?;
        println!("ch9: {}", outcome_json(&o));
        let (book, _, _) = outcome(&Settings::book(), false, &mut |_| {})?;
        println!("ch9 book setup: {}", outcome_json(&book));
        figures::curves(&o.report, &book.report, &out.file("ch9_curves.svg"))?;
        figures::by_length(
            &o.report,
            &o.prepared.test_lengths,
            &out.file("ch9_accuracy_by_length.svg"),
        )?;
        figures::saliency(
            &model,
            &mut tape,
            &o.prepared,
            4,
            &out.file("ch9_words.svg"),
        )?;
        Ok(())
    }
}
