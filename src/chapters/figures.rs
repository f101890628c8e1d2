//! Where the chapters' figures go and what they may use: the output directory, MNIST if it is there, and
//! whether the long runs are wanted. A chapter whose figures cannot be drawn says so here, and the figures
//! binary tells the reader which were skipped and why.

use crate::data::mnist::Mnist;
use crate::error::{Error, Result};
use std::any::Any;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct Figures<'a> {
    dir: PathBuf,
    written: Vec<PathBuf>,
    /// MNIST, or why it could not be loaded.
    mnist: Result<&'a Mnist, String>,
    full: bool,
    without_data: Vec<String>,
    not_full: Vec<String>,
    /// Figures skipped for want of another dataset, each with its reason.
    other_skips: Vec<String>,
    kept: HashMap<&'static str, Box<dyn Any>>,
}

impl<'a> Figures<'a> {
    pub fn new(dir: &Path, mnist: Result<&'a Mnist, String>, full: bool) -> Self {
        Figures {
            dir: dir.to_path_buf(),
            written: Vec::new(),
            mnist,
            full,
            without_data: Vec::new(),
            not_full: Vec::new(),
            other_skips: Vec::new(),
            kept: HashMap::new(),
        }
    }

    /// The path of the figure `name`, recorded as written.
    pub fn file(&mut self, name: &str) -> PathBuf {
        let p = self.dir.join(name);
        self.written.push(p.clone());
        p
    }

    /// MNIST, or `None` after noting that `what` (say, "the chapter 2 figures") is skipped without it.
    pub fn mnist(&mut self, what: &str) -> Option<&'a Mnist> {
        match self.mnist {
            Ok(data) => Some(data),
            Err(_) => {
                self.without_data.push(what.to_string());
                None
            }
        }
    }

    /// A dataset other than MNIST, loaded by `load`; if it is missing, `None` after noting that `what` is
    /// skipped and why. Any other error (a damaged file) stops the run.
    pub fn dataset<T>(
        &mut self,
        what: &str,
        load: impl FnOnce() -> Result<T>,
    ) -> Result<Option<T>> {
        match load() {
            Ok(v) => Ok(Some(v)),
            Err(e @ Error::MissingData { .. }) => {
                self.other_skips.push(format!("skipped {what}: {e}"));
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// What was skipped for want of a dataset other than MNIST, one line each.
    pub fn skipped_other(&self) -> &[String] {
        &self.other_skips
    }

    /// Whether the long runs are wanted (`--full`); if not, notes that `what` is skipped.
    pub fn full(&mut self, what: &str) -> bool {
        if !self.full {
            self.not_full.push(what.to_string());
        }
        self.full
    }

    /// Keep a result for a later chapter's figures (chapter 6 compares its CNN with chapter 5's).
    pub fn keep<T: Any>(&mut self, key: &'static str, value: T) {
        self.kept.insert(key, Box::new(value));
    }

    pub fn kept<T: Any>(&self, key: &'static str) -> Option<&T> {
        self.kept.get(key).and_then(|v| v.downcast_ref())
    }

    /// The files written so far, in order.
    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }

    /// What was skipped for want of MNIST, and why; `None` if nothing was.
    pub fn skipped_without_data(&self) -> Option<String> {
        let why = self.mnist.as_ref().err()?;
        (!self.without_data.is_empty())
            .then(|| format!("skipped {}: {why}", and_list(&self.without_data)))
    }

    /// The long runs skipped for want of `--full`; `None` if none were.
    pub fn skipped_long_runs(&self) -> Option<String> {
        (!self.not_full.is_empty()).then(|| {
            format!(
                "skipped the long runs ({}): pass --full to regenerate them",
                and_list(&self.not_full)
            )
        })
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
