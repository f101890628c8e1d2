//! The numbers chapter 9's setup rests on: how long the IMDB archive takes to read and tokenize, how
//! large the training vocabulary is, how much of the training text GloVe covers, and how long reviews
//! are in tokens (which sets the truncation length `T`).
//!
//! `ZERODL_DATA=../shared/data cargo run --release --example imdb_stats`

use std::time::Instant;
use zerodl::data::text::{self, VocabOptions, PAD, UNK};
use zerodl::data::{glove, imdb};

fn percentile(sorted: &[usize], p: f64) -> usize {
    // Nearest rank: the smallest length that at least p% of the reviews do not exceed.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> zerodl::Result<()> {
    let t = Instant::now();
    let data = imdb::load()?;
    let read = t.elapsed();
    println!(
        "read {} train + {} test reviews in {:.2} s",
        data.train.len(),
        data.test.len(),
        read.as_secs_f64()
    );

    // Tokenizing alone (counting words, no vocabulary), over both splits.
    let t = Instant::now();
    let mut tokens = [0usize; 2];
    let mut lengths: [Vec<usize>; 2] = Default::default();
    for (s, split) in [&data.train, &data.test].into_iter().enumerate() {
        for r in split {
            let mut n = 0;
            text::for_each_word(&r.text, |_| n += 1);
            tokens[s] += n;
            lengths[s].push(n);
        }
    }
    let tokenize = t.elapsed();
    println!(
        "tokenized {} train + {} test tokens in {:.2} s",
        tokens[0],
        tokens[1],
        tokenize.as_secs_f64()
    );

    let t = Instant::now();
    let vocab = data.vocab(VocabOptions::default())?;
    println!(
        "vocabulary (train only, min_count 1): {} ids including <pad> and <unk>, built in {:.2} s",
        vocab.len(),
        t.elapsed().as_secs_f64()
    );
    for min_count in [2, 5, 10] {
        let v = data.vocab(VocabOptions {
            min_count,
            max_size: None,
        })?;
        println!("  with min_count {min_count}: {} ids", v.len());
    }

    let t = Instant::now();
    let g = glove::load()?;
    println!(
        "GloVe: {} words of dim {} read in {:.2} s",
        g.len(),
        g.dim,
        t.elapsed().as_secs_f64()
    );
    let (mut covered_tokens, mut covered_words) = (0u64, 0usize);
    let mut total = 0u64;
    let mut missing: Vec<(u64, &str)> = Vec::new();
    for (id, word) in vocab.words().iter().enumerate() {
        let id = id as u32;
        if id == PAD || id == UNK {
            continue;
        }
        let n = vocab.count(id);
        total += n;
        if g.vector(word).is_some() {
            covered_tokens += n;
            covered_words += 1;
        } else {
            missing.push((n, word));
        }
    }
    let (_, oov) = glove::embedding_matrix(&vocab, &g, glove::Oov::Zeros);
    println!(
        "GloVe covers {:.2}% of the {} training tokens and {} of the {} vocabulary words ({oov} without a vector)",
        100.0 * covered_tokens as f64 / total as f64,
        total,
        covered_words,
        vocab.len() - 2
    );
    missing.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let top: Vec<String> = missing
        .iter()
        .take(12)
        .map(|(n, w)| format!("{w} ({n})"))
        .collect();
    println!("  most frequent words without a vector: {}", top.join(", "));

    for (s, name) in ["train", "test"].into_iter().enumerate() {
        let l = &mut lengths[s];
        l.sort_unstable();
        println!(
            "{name} review length in tokens: p50 {}, p90 {}, p99 {}, max {}",
            percentile(l, 50.0),
            percentile(l, 90.0),
            percentile(l, 99.0),
            l[l.len() - 1]
        );
    }
    Ok(())
}
