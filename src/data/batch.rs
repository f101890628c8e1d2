//! Seeded shuffling and mini-batching.

use crate::rng::Rng;
use rand::seq::SliceRandom;

// ANCHOR: epoch_batches
/// The example indices of one epoch, shuffled by `rng`, cut into batches of `size`; the last batch holds
/// what is left (it is shorter when `size` does not divide `n`), so every example is used once per epoch.
pub fn epoch_batches(n: usize, size: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order.chunks(size.max(1)).map(|c| c.to_vec()).collect()
}

// ANCHOR_END: epoch_batches

/// An endless stream of batches: epoch after epoch of [`epoch_batches`], each reshuffled by `rng`, for runs
/// counted in steps rather than epochs.
pub struct BatchStream {
    n: usize,
    size: usize,
    rng: Rng,
    queue: std::collections::VecDeque<Vec<usize>>,
}

impl BatchStream {
    pub fn new(n: usize, size: usize, rng: Rng) -> Self {
        BatchStream {
            n,
            size,
            rng,
            queue: Default::default(),
        }
    }

    pub fn next_batch(&mut self) -> Vec<usize> {
        if self.queue.is_empty() {
            self.queue = epoch_batches(self.n, self.size, &mut self.rng).into();
        }
        self.queue.pop_front().unwrap_or_default()
    }
}

/// Indices `0..n` in order, in batches of `size` (for evaluation).
pub fn in_order(n: usize, size: usize) -> Vec<Vec<usize>> {
    (0..n)
        .collect::<Vec<_>>()
        .chunks(size.max(1))
        .map(|c| c.to_vec())
        .collect()
}
