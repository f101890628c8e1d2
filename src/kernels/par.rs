//! Elementwise passes spread over the rayon pool in fixed chunks. Every entry is computed by the same
//! operations whichever thread takes its chunk, so results are bit-identical for any thread count.

use crate::scalar::Real;
use rayon::prelude::*;
use std::mem::MaybeUninit;

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

/// `f(a_i)` for every entry of `a`, into a new buffer, in parallel when large. The entries are written once,
/// where a copy of the input updated in place writes them twice, the copy on the calling thread alone
/// (measured: 3% of the CNN's step at batch 128 went to ReLU's copies).
pub fn map_new<T: Copy + Send + Sync>(a: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    fill_new(a.len(), |start, out| {
        for (o, &a) in out.iter_mut().zip(&a[start..]) {
            o.write(f(a));
        }
    })
}

/// `f(a_i, b_i, c_i)` for every index of three slices of one length, into a new buffer, as [`map_new`].
pub fn map3_new<T: Copy + Send + Sync>(
    a: &[T],
    b: &[T],
    c: &[T],
    f: impl Fn(T, T, T) -> T + Sync,
) -> Vec<T> {
    assert!(
        a.len() == b.len() && a.len() == c.len(),
        "map3_new: slice lengths"
    );
    fill_new(a.len(), |start, out| {
        // Inputs cut to the chunk's length, so the loop runs without bounds checks and vectorizes.
        let end = start + out.len();
        let ins = a[start..end].iter().zip(&b[start..end]).zip(&c[start..end]);
        for (o, ((&a, &b), &c)) in out.iter_mut().zip(ins) {
            o.write(f(a, b, c));
        }
    })
}

/// A new buffer of `len` zeros, cut in consecutive chunks of `chunk` entries (the last may be shorter) that
/// `f(state, i, chunk_i)` then updates, in parallel, with a scratch `state` made by `init` once per task. Each
/// chunk is zeroed by the thread that fills it, while it is in that core's cache, instead of the whole buffer by
/// the calling thread first (measured: 2% of the CNN's step at batch 128 went to such single-threaded fills).
pub fn zeros_then<T: Real, S>(
    len: usize,
    chunk: usize,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, usize, &mut [T]) + Sync + Send,
) -> Vec<T> {
    let mut out = Vec::with_capacity(len);
    out.spare_capacity_mut()[..len]
        .par_chunks_mut(chunk.max(1))
        .enumerate()
        .for_each_init(init, |state, (i, c)| {
            for v in c.iter_mut() {
                v.write(T::zero());
            }
            // SAFETY: every entry of `c` was written just above; `MaybeUninit<T>` has `T`'s layout.
            let c = unsafe { &mut *(c as *mut [MaybeUninit<T>] as *mut [T]) };
            f(state, i, c);
        });
    // SAFETY: the chunks cover the first `len` entries, and each was zeroed above.
    unsafe { out.set_len(len) };
    out
}

/// [`zeros_then`] without a scratch state: `f(i, chunk_i)` on each zeroed chunk.
pub fn zeros_each<T: Real>(
    len: usize,
    chunk: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) -> Vec<T> {
    zeros_then(len, chunk, || (), |_, i, c| f(i, c))
}

/// A new buffer of `len` entries, written by `run(start, chunk)` over consecutive chunks, in parallel when large;
/// `run` must write every entry of its chunk.
fn fill_new<T: Send>(len: usize, run: impl Fn(usize, &mut [MaybeUninit<T>]) + Sync) -> Vec<T> {
    let mut out = Vec::with_capacity(len);
    let spare = &mut out.spare_capacity_mut()[..len];
    if len <= PAR_CHUNK {
        run(0, spare);
    } else {
        spare
            .par_chunks_mut(PAR_CHUNK)
            .enumerate()
            .for_each(|(i, o)| run(i * PAR_CHUNK, o));
    }
    // SAFETY: the callers' `run` writes every entry of its chunk, and the chunks cover the first `len` entries.
    unsafe { out.set_len(len) };
    out
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
