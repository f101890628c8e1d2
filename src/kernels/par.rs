//! Elementwise passes spread over the rayon pool in fixed chunks. Every entry is computed by the same
//! operations whichever thread takes its chunk, so results are bit-identical for any thread count.

use rayon::prelude::*;

/// Entries per task when an elementwise pass (an op, an optimizer update) is spread over the rayon pool;
/// smaller arrays stay on the calling thread, where handing work out would cost more than it saves.
pub const PAR_CHUNK: usize = 1 << 15;

/// Runs `f(start, chunk)` over consecutive chunks of `out` (`start`: the chunk's first index), in parallel
/// when `out` is large.
pub fn in_chunks<T: Send>(out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    if out.len() <= PAR_CHUNK {
        return f(0, out);
    }
    out.par_chunks_mut(PAR_CHUNK)
        .enumerate()
        .for_each(|(i, c)| f(i * PAR_CHUNK, c));
}

/// Runs `f(w, g, states)` over matching chunks of a parameter `w`, its gradient `g` and any number of state
/// arrays of the same length (an optimizer's moments), in parallel when `w` is large.
pub fn zip_chunks<T: Send + Sync>(
    w: &mut [T],
    g: &[T],
    mut states: Vec<&mut [T]>,
    f: impl Fn(&mut [T], &[T], &mut [&mut [T]]) + Sync,
) {
    debug_assert!(g.len() == w.len() && states.iter().all(|s| s.len() == w.len()));
    if w.len() <= PAR_CHUNK {
        return f(w, g, &mut states);
    }
    let mut per_chunk: Vec<Vec<&mut [T]>> = (0..w.len().div_ceil(PAR_CHUNK))
        .map(|_| Vec::with_capacity(states.len()))
        .collect();
    for s in states {
        for (i, c) in s.chunks_mut(PAR_CHUNK).enumerate() {
            per_chunk[i].push(c);
        }
    }
    w.par_chunks_mut(PAR_CHUNK)
        .zip(g.par_chunks(PAR_CHUNK))
        .zip(per_chunk.into_par_iter())
        .for_each(|((w, g), mut s)| f(w, g, &mut s));
}

/// Makes the calling thread, a binary's main thread, one of the threads of rayon's global pool (sized as rayon
/// sizes it: `RAYON_NUM_THREADS`, or one thread per core). A training step is a chain of pieces handed to the
/// pool and waited for; from a thread outside the pool each hand-over wakes a pool thread and puts the caller
/// to sleep, and on two cores the caller is a third thread competing with the pool's two. As one of the pool's
/// threads the caller works while it waits. Call it before anything else uses rayon; an error means the pool
/// was already built, and the work still runs, only with the hand-overs.
pub fn join_global_pool() -> Result<(), rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .use_current_thread()
        .build_global()
}
