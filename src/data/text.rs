//! Words from raw review text, and the vocabulary that turns them into ids for chapter 9's models.
//!
//! The rules, in the order they apply:
//!
//! 1. A line-break tag — `<br />`, `<br/>`, `<br>`, in any case, with any spaces before the `/` or the
//!    `>` — is a separator. The IMDB reviews were scraped from HTML and 29,200 of them hold such tags;
//!    left in, every one would give a word `br`, among the most frequent "words" of the corpus.
//! 2. A word is a run of letters and digits (`char::is_alphanumeric`, so `é`, `ß`, `日本` and `²`
//!    count), with apostrophes kept when they sit *between* two such characters: `don't`, `it's`,
//!    `o'brien` stay one word, while the quotes of `'fun'` and the possessive of `dogs'` are dropped.
//!    The typographic apostrophe `’` (U+2019) is read as `'`, so both spellings of `don't` are one word.
//! 3. Everything else separates words: spaces, punctuation, hyphens (`well-made` is two words), the
//!    `.` of `3.5`, symbols, other tags.
//! 4. Words are lowercased (`str::to_lowercase`, full Unicode), after they are cut out, so that a
//!    lowercase mapping that produces a combining mark (`İ` gives `i̇`) cannot split a word.
//!
//! Keeping the apostrophe makes `don't` one token where GloVe's tokenizer had `do` + `n't`: such
//! contractions get no pretrained vector (`imdb_stats` measures how many tokens that costs), but a
//! model that learns its own embedding keeps the negation in one token.

use crate::error::{Error, Result};
use std::collections::HashMap;

/// The id of the padding token; always 0 so that a zero-initialised buffer is all padding.
pub const PAD: u32 = 0;
/// The id every word outside the vocabulary maps to.
pub const UNK: u32 = 1;
pub const PAD_TOKEN: &str = "<pad>";
pub const UNK_TOKEN: &str = "<unk>";

/// Calls `f` on each word of `text`, lowercased, without collecting them: tokenizing 50,000 reviews
/// this way allocates only for words that are not already lowercase ASCII.
pub fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut emit = |word: &str| {
        if word
            .bytes()
            .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        {
            f(word);
        } else {
            // The whole word at once, so that context-dependent rules (a final `Σ` gives `ς`) apply.
            let lower = word.to_lowercase();
            if lower.contains('’') {
                f(&lower.replace('’', "'"));
            } else {
                f(&lower);
            }
        }
    };
    let mut start: Option<usize> = None;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start {
            // An apostrophe continues the word only if a letter or digit follows it.
            let apostrophe = c == '\'' || c == '’';
            if apostrophe && chars.peek().is_some_and(|&(_, n)| n.is_alphanumeric()) {
                continue;
            }
            emit(&text[s..i]);
            start = None;
        }
        if c == '<' {
            if let Some(len) = br_tag(&text[i..]) {
                // Skip the rest of the tag so that its `br` is not read as a word.
                let end = i + len;
                while chars.peek().is_some_and(|&(j, _)| j < end) {
                    chars.next();
                }
            }
        }
    }
    if let Some(s) = start {
        emit(&text[s..]);
    }
}

/// The byte length of a `<br>`-style tag at the start of `s`, if there is one.
fn br_tag(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 4 || b[0] != b'<' || !b[1..3].eq_ignore_ascii_case(b"br") {
        return None;
    }
    let mut i = 3;
    let skip_spaces = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    skip_spaces(&mut i);
    if i < b.len() && b[i] == b'/' {
        i += 1;
        skip_spaces(&mut i);
    }
    (i < b.len() && b[i] == b'>').then_some(i + 1)
}

/// The words of `text` under the rules above.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    for_each_word(text, |w| words.push(w.to_string()));
    words
}

/// How to cut the vocabulary down: rare words mostly add parameters that see too few examples to learn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VocabOptions {
    /// Words seen fewer times than this in the training texts map to `<unk>` (0 acts as 1).
    pub min_count: usize,
    /// The most ids in total, *including* `<pad>` and `<unk>`, so that it is the number of rows of the
    /// embedding matrix; the most frequent words are kept. At least 2.
    pub max_size: Option<usize>,
}

impl Default for VocabOptions {
    fn default() -> Self {
        VocabOptions {
            min_count: 1,
            max_size: None,
        }
    }
}

/// Word ids for the models: 0 is `<pad>`, 1 is `<unk>`, then words by descending training frequency,
/// ties broken by the word itself, so that the same texts always give the same ids (a `HashMap`'s
/// order would not) and the embedding matrix rows line up from run to run.
///
/// Build it from the training texts only: a vocabulary that saw the test set would leak which words
/// the test reviews use into the model's input, and the test accuracy would no longer measure
/// reviews the model has never seen.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    words: Vec<String>,
    counts: Vec<u64>,
    ids: HashMap<String, u32>,
}

impl Vocab {
    /// Count the words of `texts` (the training reviews) and keep those that pass `options`.
    pub fn build<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        options: VocabOptions,
    ) -> Result<Vocab> {
        if options.max_size.is_some_and(|m| m < 2) {
            return Err(Error::invalid(
                "Vocab::build",
                format!(
                    "max_size {} leaves no room for <pad> and <unk> (it counts them, so it must be at least 2)",
                    options.max_size.unwrap_or(0)
                ),
            ));
        }
        let mut counts: HashMap<String, u64> = HashMap::new();
        for text in texts {
            for_each_word(text, |w| {
                if let Some(n) = counts.get_mut(w) {
                    *n += 1;
                } else {
                    counts.insert(w.to_string(), 1);
                }
            });
        }
        let min = options.min_count.max(1) as u64;
        let mut kept: Vec<(String, u64)> = counts.into_iter().filter(|&(_, n)| n >= min).collect();
        kept.sort_unstable_by(|(wa, na), (wb, nb)| nb.cmp(na).then_with(|| wa.cmp(wb)));
        if let Some(max) = options.max_size {
            kept.truncate(max - 2);
        }
        let mut words = vec![PAD_TOKEN.to_string(), UNK_TOKEN.to_string()];
        let mut word_counts = vec![0, 0];
        for (w, n) in kept {
            words.push(w);
            word_counts.push(n);
        }
        let ids = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        Ok(Vocab {
            words,
            counts: word_counts,
            ids,
        })
    }

    /// A vocabulary saved as its words in id order (a checkpoint's): `<pad>` and `<unk>` first, no word
    /// twice. The counts are not saved; they read as 0.
    pub fn from_words(words: Vec<String>) -> Result<Vocab> {
        if words.len() < 2 || words[0] != PAD_TOKEN || words[1] != UNK_TOKEN {
            return Err(Error::invalid(
                "Vocab::from_words",
                format!("the first two words must be {PAD_TOKEN} and {UNK_TOKEN}"),
            ));
        }
        let mut ids = HashMap::with_capacity(words.len());
        for (i, w) in words.iter().enumerate() {
            if ids.insert(w.clone(), i as u32).is_some() {
                return Err(Error::invalid(
                    "Vocab::from_words",
                    format!("{w:?} appears twice"),
                ));
            }
        }
        Ok(Vocab {
            counts: vec![0; words.len()],
            words,
            ids,
        })
    }

    /// The number of ids, `<pad>` and `<unk>` included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Never true: `<pad>` and `<unk>` are always there.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of a word as the tokenizer emits it (lowercase); `None` outside the vocabulary.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    pub fn word(&self, id: u32) -> Option<&str> {
        self.words.get(id as usize).map(String::as_str)
    }

    /// All words in id order (`<pad>`, `<unk>`, then by frequency).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// How often the word with this id occurred in the training texts (0 for `<pad>`, `<unk>`, and ids
    /// out of range); kept so that coverage can be weighed by frequency without counting again.
    pub fn count(&self, id: u32) -> u64 {
        self.counts.get(id as usize).copied().unwrap_or(0)
    }

    /// The ids of the words of `text`, unknown words as [`UNK`].
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        for_each_word(text, |w| ids.push(self.id(w).unwrap_or(UNK)));
        ids
    }
}

/// A sequence cut or padded to exactly `t` ids, with the number of real ids (at most `t`).
///
/// The *first* `t` ids are kept and the padding ([`PAD`]) goes after them: the model reads the review
/// from its opening as the writer wrote it, and with the length it can take the state after the last
/// real token instead of running on over padding. Reviews tend to state their verdict early as well as
/// late; keeping the beginning is the simpler choice to explain, and the length makes it exact.
pub fn pad_or_truncate(ids: &[u32], t: usize) -> (Vec<u32>, usize) {
    let len = ids.len().min(t);
    let mut out = Vec::with_capacity(t);
    out.extend_from_slice(&ids[..len]);
    out.resize(t, PAD);
    (out, len)
}
