//! Word embeddings (book chapter 9): a lookup from token ids to rows of a `V x d` matrix, on the tape. The
//! lookup is a gather (see `autograd/ops/gather.rs`), so its gradient is the scatter-add the math asks for: a
//! row used by several tokens of the batch collects all their gradients. The table can be frozen (pretrained
//! vectors kept as they are) or trained.

use super::module::Module;
use crate::autograd::{Tape, Var};
use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::sync::Arc;

// ANCHOR: embedding
/// `V` vectors of `d` features: row `k` is token `k`'s vector.
#[derive(Clone, Copy, Debug)]
pub struct Embedding {
    pub table: Var,
    pub vocab: usize,
    pub dim: usize,
    /// A frozen table is a constant of every step: no gradient, no update.
    pub trainable: bool,
}
// ANCHOR_END: embedding

impl Embedding {
    /// From a given table (GloVe vectors, say), trainable or frozen.
    pub fn new<T: Real>(tape: &mut Tape<T>, table: DMatrix<T>, trainable: bool) -> Self {
        let (vocab, dim) = table.shape();
        Embedding {
            table: tape.param(table),
            vocab,
            dim,
            trainable,
        }
    }

    /// Sequences of token ids, `ids[i]` of length `T` each, as `N x (T·d)` (column block `t` = step `t`'s
    /// vectors): the layout of the recurrent layers.
    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, ids: &[Vec<u32>]) -> Result<Var> {
        let n = ids.len();
        let steps = ids.first().map_or(0, Vec::len);
        if n == 0 || steps == 0 || ids.iter().any(|s| s.len() != steps) {
            return Err(Error::shape(
                "embedding",
                &ids.iter()
                    .map(|s| Shape(1, s.len()))
                    .take(4)
                    .collect::<Vec<_>>(),
                "a non-empty batch of sequences of one length T >= 1 (pad them)",
            ));
        }
        if let Some(&bad) = ids.iter().flatten().find(|&&k| k as usize >= self.vocab) {
            return Err(Error::invalid(
                "embedding",
                format!("token id {bad} is outside the vocabulary of {}", self.vocab),
            ));
        }
        // ANCHOR: embedding_forward
        let (v, d) = (self.vocab, self.dim);
        if !self.trainable {
            // A constant of the step, read straight from the table: no node to differentiate.
            let table = tape.value(self.table)?;
            let out = DMatrix::from_fn(n, steps * d, |i, c| table[(ids[i][c / d] as usize, c % d)]);
            return Ok(tape.constant(out));
        }
        if v * d > u32::MAX as usize {
            return Err(Error::invalid(
                "embedding",
                format!("a table of {v} x {d} entries is too large for the gather's 32-bit index"),
            ));
        }
        // Output entry (i, t·d + j), column-major, reads table entry (ids[i][t], j).
        let mut index = Vec::with_capacity(n * steps * d);
        for t in 0..steps {
            for j in 0..d {
                index.extend(ids.iter().map(|s| (s[t] as usize + j * v) as u32));
            }
        }
        // (9.18) as a gather; its backward, the scatter-add, is (9.19).
        tape.gather(self.table, Arc::new(index), n, steps * d)
        // ANCHOR_END: embedding_forward
    }
}

impl Module for Embedding {
    /// A frozen table is not a parameter: optimizers and checkpoints of trained weights leave it out.
    fn named_params(&self) -> Vec<(String, Var)> {
        if self.trainable {
            vec![("table".into(), self.table)]
        } else {
            Vec::new()
        }
    }
}
