//! From the archive and the word vectors to a [`Corpus`]: the validation reviews carved out of the training
//! set (seeded), the vocabulary built from the remaining training reviews only, every review encoded, cut or
//! padded, and the embedding matrix started from GloVe.

use super::{Corpus, Encoded, Settings};
use crate::data::glove::{embedding_matrix, Glove, Oov};
use crate::data::imdb::{Imdb, Review};
use crate::data::text::{pad_or_truncate, Vocab, VocabOptions};
use crate::error::Result;
use crate::rng::seeded;
use rand::seq::SliceRandom;

/// A prepared corpus and what it was made from.
pub struct Prepared {
    pub corpus: Corpus,
    pub vocab: Vocab,
    /// Vocabulary words without a GloVe vector (they start from small random vectors).
    pub oov: usize,
    /// Share of training tokens (after the vocabulary) whose word has a GloVe vector.
    pub coverage: f64,
    /// Each test review's whole length in tokens (before cutting).
    pub test_lengths: Vec<usize>,
}

/// Words seen fewer times than this in the training reviews are `<unk>`.
pub const MIN_COUNT: usize = 2;

fn encode(reviews: &[&Review], vocab: &Vocab, steps: usize) -> Encoded {
    let mut e = Encoded::default();
    for r in reviews {
        let (ids, len) = pad_or_truncate(&vocab.encode(&r.text), steps);
        e.ids.push(ids);
        // An empty review (no word at all) still reads one padding step, so that every row has a state.
        e.lengths.push(len.max(1));
        e.labels.push(usize::from(r.positive));
    }
    e
}

// ANCHOR: prepare
pub fn prepare(imdb: &Imdb, glove: &Glove, s: &Settings, steps: usize) -> Result<Prepared> {
    let mut order: Vec<usize> = (0..imdb.train.len()).collect();
    order.shuffle(&mut seeded(s.seed + 5));
    let (val_idx, train_idx) = order.split_at(s.validation.min(order.len()));
    let pick = |idx: &[usize]| idx.iter().map(|&i| &imdb.train[i]).collect::<Vec<_>>();
    let (train, val) = (pick(train_idx), pick(val_idx));
    let test: Vec<&Review> = imdb.test.iter().collect();
    let options = VocabOptions {
        min_count: MIN_COUNT,
        max_size: None,
    };
    let vocab = Vocab::build(train.iter().map(|r| r.text.as_str()), options)?;
    let oov = Oov::Uniform {
        a: 0.1,
        seed: s.seed + 6,
    };
    let (vectors, missing) = embedding_matrix(&vocab, glove, oov);
    let corpus = Corpus {
        train: encode(&train, &vocab, steps),
        val: encode(&val, &vocab, steps),
        test: encode(&test, &vocab, steps),
        vectors,
    };
    // ANCHOR_END: prepare
    let (mut known, mut all) = (0u64, 0u64);
    for (ids, &len) in corpus.train.ids.iter().zip(&corpus.train.lengths) {
        for &k in &ids[..len] {
            all += 1;
            let word = vocab.word(k).unwrap_or("");
            known += u64::from(glove.vector(word).is_some());
        }
    }
    let test_lengths = test
        .iter()
        .map(|r| crate::data::text::tokenize(&r.text).len())
        .collect();
    Ok(Prepared {
        corpus,
        vocab,
        oov: missing,
        coverage: known as f64 / all.max(1) as f64,
        test_lengths,
    })
}
