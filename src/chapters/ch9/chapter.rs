//! `zerodl run ch9` and chapter 9's figures (behind `figures --full`: the runs take minutes).

use super::baselines::{bag_of_words, mean_vector, Score};
use super::data::{prepare, Prepared};
use super::{figures, run_with, Encoded, Head, Report, Saved, SentimentNet, Settings};
use crate::by_hand::gru::Reset;
use crate::chapters::flags::{self, set};
use crate::chapters::{Chapter, Figures};
use crate::data::text::{pad_or_truncate, Vocab};
use crate::data::{glove, imdb};
use crate::error::{Error, Result};
use crate::optim::Schedule;
use crate::train::Checkpoint;
use crate::train::{Control, Progress};
use clap::{ArgMatches, Args, Command, ValueEnum};
use serde_json::{json, Value};
use std::path::Path;
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
    control: &Control,
) -> Result<(Outcome, super::SentimentNet, crate::autograd::Tape<f32>)> {
    let t = Instant::now();
    let data = imdb::load()?;
    let vectors = glove::load()?;
    let prepared = prepare(&data, &vectors, s, s.steps)?;
    let read_seconds = t.elapsed().as_secs_f64();
    // The vocabulary goes into the checkpoint: `zerodl predict` encodes a new review with it.
    let mut control = control.clone();
    control.meta.insert(
        "zerodl.vocab".into(),
        serde_json::json!(prepared.vocab.words()).to_string(),
    );
    let (report, model, tape) = run_with(&prepared.corpus, s, progress, &control)?;
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

/// `zerodl predict` for chapter 9: a review's text (a UTF-8 file) through the saved network. Needs only the
/// checkpoint: it holds the vocabulary and the word vectors.
pub fn predict_review(s: &Settings, c: &Checkpoint, input: &Path) -> Result<Value> {
    let bad = |msg: String| Error::Format {
        path: c.meta.get("zerodl.path").cloned().unwrap_or_default(),
        msg,
    };
    let words: Vec<String> = match c.meta_json("zerodl.vocab")? {
        Value::Array(v) => v
            .into_iter()
            .map(|w| w.as_str().map(String::from))
            .collect::<Option<_>>()
            .ok_or_else(|| bad("zerodl.vocab holds something other than words".into()))?,
        _ => return Err(bad("zerodl.vocab is not a list of words".into())),
    };
    let vocab = Vocab::from_words(words)?;
    let dim = match c.tensors.get("embedding.table").map(|t| t.shape.as_slice()) {
        Some(&[v, d]) if v == vocab.len() => d,
        other => {
            return Err(bad(format!(
                "embedding.table has shape {other:?}, expected [{}, d] for the saved vocabulary",
                vocab.len()
            )))
        }
    };
    let mut tape = crate::autograd::Tape::new();
    let model = SentimentNet::new(&mut tape, nalgebra::DMatrix::zeros(vocab.len(), dim), s)?;
    c.restore_model(&mut tape, &Saved(&model))?;
    let bytes = std::fs::read(input).map_err(|e| Error::io(input, e))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Format {
        path: input.display().to_string(),
        msg: format!("not UTF-8 text: {e}"),
    })?;
    let ids = vocab.encode(&text);
    if ids.is_empty() {
        return Err(Error::Format {
            path: input.display().to_string(),
            msg: "no words in the review".into(),
        });
    }
    let unknown = ids.iter().filter(|&&k| k == crate::data::text::UNK).count();
    let (ids, len) = pad_or_truncate(&ids, s.steps);
    let review = Encoded {
        ids: vec![ids],
        lengths: vec![len],
        labels: vec![0],
    };
    let p = super::predict(&mut tape, &model, &review)?[0];
    Ok(
        json!({"input": input.display().to_string(), "positive_probability": p,
              "verdict": if p > 0.5 { "positive" } else { "negative" },
              "words_read": len, "unknown_words": unknown}),
    )
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
        control: &Control,
    ) -> Result<Value> {
        let f: Flags = flags::parse(m)?;
        let s = settings(&f)?;
        // Reading and tokenizing take about two seconds: a line on standard error says what the wait is.
        eprintln!(
            "ch9: reading the IMDB archive and GloVe, tokenizing 50,000 reviews, then training"
        );
        let (o, _, _) = outcome(&s, !f.no_baselines, progress, control)?;
        Ok(outcome_json(&o))
    }

    fn checkpoints(&self) -> bool {
        true
    }

    fn predict(&self, m: &ArgMatches, c: &Checkpoint, input: &Path) -> Result<Value> {
        let f: Flags = flags::parse(m)?;
        predict_review(&settings(&f)?, c, input)
    }

    fn figures(&self, out: &mut Figures) -> Result<()> {
        if !out.full("the chapter 9 IMDB runs") {
            return Ok(());
        }
        let Some(_) = out.dataset("the chapter 9 IMDB figures", imdb::load)? else {
            return Ok(());
        };
        let s = Settings::default();
        let (o, model, mut tape) = outcome(&s, true, &mut |_| {}, &Control::default())?;
        println!("ch9: {}", outcome_json(&o));
        let (book, _, _) = outcome(&Settings::book(), false, &mut |_| {}, &Control::default())?;
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
