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

/// Indices `0..n` in order, in batches of `size` (for evaluation).
pub fn in_order(n: usize, size: usize) -> Vec<Vec<usize>> {
    (0..n)
        .collect::<Vec<_>>()
        .chunks(size.max(1))
        .map(|c| c.to_vec())
        .collect()
}
