//! The recurrent stack, generic over its cell (book chapters 7 to 9): a layer runs one cell over the steps of
//! a sequence in either direction; layers stack; a bidirectional stack joins its directions in one of two
//! ways. A cell is only its step: [`Cell::step`] and [`Cell::step_backward`]. Everything about time, depth
//! and direction is written once, here.
//!
//! **Layout.** A sequence of `T` steps of `N x D` inputs is one `N x (T·D)` matrix whose column block
//! `t·D .. (t+1)·D` is step `t`. A layer maps it to the `N x (T·H)` matrix of its outputs `h_t`. A *reverse*
//! layer runs the cell from the last step to the first and stores `h_t` in block `t`, so both directions line
//! up step by step.
//!
//! **Backward through time.** Going back from the last processed step, each state's gradient is what reaches
//! it from outside the recurrence (the layer above, or the loss; only `h` has such a path) plus what the step
//! that read it sends back. The weights are shared by every step, so the cell adds its gradients over time.

use crate::error::{Error, Result};
use crate::kernels::par::zeros_each;
use crate::kernels::{copy_run, gemm_strided, Strided};
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::borrow::Cow;
use std::ops::Range;

// ANCHOR: cell_trait
/// One direction of one layer, with its weights. `Self` doubles as the gradient of those weights.
pub trait Cell<T: Real>: Clone + Send + Sync {
    /// What one step keeps for its backward pass, besides its input and its states.
    type Cache: Send + Sync;

    /// Features per step it reads (`D`) and state size (`H`).
    fn input(&self) -> usize;
    fn hidden(&self) -> usize;

    /// States carried from step to step: 1 (`h`) for the vanilla RNN and the GRU, 2 (`h`, `c`) for the LSTM.
    /// The first is always the output `h`.
    fn num_states(&self) -> usize {
        1
    }

    /// Checks the weights' shapes against each other, with an error naming the cell and the shapes.
    fn check(&self) -> Result<()>;

    /// One step from `x_t: N x D` and the previous states (`None` at the first step when there is no initial
    /// state: zeros). Returns the new states and the step's cache. `x_t` is the step's own copy: a cell that
    /// builds its pre-activation on it needs no other.
    fn step(&self, x_t: DMatrix<T>, prev: Option<&[DMatrix<T>]>) -> (Vec<DMatrix<T>>, Self::Cache);

    /// One step back: `d_states[i]` is the whole gradient reaching new state `i` (from outside and from the
    /// later step). Adds the weight gradients into `grads` and returns `(dx_t, d_prev)`, the gradient of the
    /// step's input and of each previous state. A cell with [`Cell::input_weight`] receives an empty `x_t`
    /// (`N x 0`): its step consumed the input product on the way forward and its backward reads nothing of it.
    fn step_backward(
        &self,
        x_t: &DMatrix<T>,
        prev: Option<&[DMatrix<T>]>,
        states: &[DMatrix<T>],
        cache: &Self::Cache,
        d_states: Vec<DMatrix<T>>,
        grads: &mut Self,
    ) -> (DMatrix<T>, Vec<DMatrix<T>>);

    /// `W_x`, for a cell whose step starts with the input product `x_t W_x` and reads `x_t` nowhere else. The
    /// layer then computes that product for all steps at once, hands each step its rows of it in place of
    /// `x_t`, takes back the gradient of those rows, and forms `dW_x` and `dx` from all steps in two products
    /// after the sweep: the same sums, a few large products instead of many small ones. `None` (the default):
    /// the step reads `x_t` and derives `dx_t` itself.
    fn input_weight(&self) -> Option<&DMatrix<T>> {
        None
    }

    /// Where `dW_x` accumulates, for a cell whose [`Cell::input_weight`] is `Some`.
    fn input_weight_grad<'a>(&self, _grads: &'a mut Self) -> Option<&'a mut DMatrix<T>> {
        None
    }

    /// For a cell with [`Cell::input_weight`] whose step also adds `h_{t-1} W_h` to that same pre-activation:
    /// where `dW_h` accumulates. The layer then forms `dW_h = Σ_t h_{t-1}ᵀ δ_t` after the sweep in one product,
    /// and the step leaves `W_h`'s gradient alone.
    fn recurrent_weight_grad<'a>(&self, _grads: &'a mut Self) -> Option<&'a mut DMatrix<T>> {
        None
    }

    /// For a cell with [`Cell::input_weight`] whose step also adds a bias `b` to that same pre-activation:
    /// where `db` accumulates. The layer then forms `db = Σ_t Σ_rows δ_t` after the sweep, and the step leaves
    /// `b`'s gradient alone.
    fn bias_grad<'a>(&self, _grads: &'a mut Self) -> Option<&'a mut DMatrix<T>> {
        None
    }

    /// Zeros shaped like the weights: where gradients accumulate.
    fn zeros_like(&self) -> Self;

    /// The weight matrices in a fixed order (the order the tape's fused node takes them).
    fn matrices(&self) -> Vec<DMatrix<T>>;
}
// ANCHOR_END: cell_trait

/// Step `k` of the processing order: `k` forwards, `T - 1 - k` in reverse.
#[inline]
pub fn at(k: usize, steps: usize, reverse: bool) -> usize {
    if reverse {
        steps - 1 - k
    } else {
        k
    }
}

/// Number of steps `T` of `x: N x (T·D)` for `cell`, and `init` (one `N x H` matrix per state), checked.
pub fn check_layer<T: Real, C: Cell<T>>(
    cell: &C,
    x: &DMatrix<T>,
    init: Option<&[DMatrix<T>]>,
) -> Result<usize> {
    cell.check()?;
    let (d, h) = (cell.input(), cell.hidden());
    let init_ok = init.is_none_or(|s| {
        s.len() == cell.num_states() && s.iter().all(|m| m.shape() == (x.nrows(), h))
    });
    if d == 0 || h == 0 || x.ncols() == 0 || x.ncols() % d != 0 || !init_ok {
        let mut shapes = vec![crate::error::Shape(x.nrows(), x.ncols())];
        shapes.extend(
            init.into_iter()
                .flatten()
                .map(|m| crate::error::Shape(m.nrows(), m.ncols())),
        );
        return Err(Error::shape(
            "recurrent layer",
            &shapes,
            format!(
                "x: N x (T·{d}) with T ≥ 1, and {} initial state(s) of N x {h}",
                cell.num_states()
            ),
        ));
    }
    Ok(x.ncols() / d)
}

/// What a layer's forward pass keeps: every step's states and cache, and the initial states.
pub struct LayerCache<T: Real, C: Cell<T>> {
    /// By group, then by step, as `caches`: each group's states stay as its sweep made them, so that its sweep
    /// back reads them where they lie (joined into whole-batch matrices they had been copied twice over, and
    /// on two threads each copy read the other core's writes).
    pub states: Vec<Vec<DMatrix<T>>>,
    /// By group, then by step: entry `g·T + t` is step `t` of the rows `groups[g]`.
    pub caches: Vec<C::Cache>,
    pub init: Option<Vec<DMatrix<T>>>,
    /// Each row's sequence length, when the batch is padded (see [`layer_forward_masked`]).
    pub lengths: Option<Vec<usize>>,
    /// The groups of rows that swept through time side by side (see [`row_groups`]); empty: all rows at once.
    pub groups: Vec<Range<usize>>,
}

impl<T: Real, C: Cell<T>> LayerCache<T, C> {
    /// Steps `T` of the sequence the cache was made for.
    pub fn steps(&self) -> usize {
        self.states.len() / self.groups.len().max(1)
    }

    fn groups(&self, n: usize) -> Vec<Range<usize>> {
        if self.groups.is_empty() {
            std::iter::once(0..n).collect()
        } else {
            self.groups.clone()
        }
    }
}

/// Rows of step `t` that are padding: `t ≥ lengths[i]`.
fn padded(lengths: Option<&[usize]>, t: usize) -> Vec<usize> {
    lengths.map_or(Vec::new(), |l| {
        (0..l.len()).filter(|&i| t >= l[i]).collect()
    })
}

/// The steps of `x: N x (T·D)` stacked as rows: `(T·N) x D`, rows `t·N .. (t+1)·N` = `x_t`.
/// Column by column, each a contiguous run in both layouts, so the copies are plain slice copies.
fn stack_steps_into<T: Real>(x: &DMatrix<T>, steps: usize, d: usize, out: &mut DMatrix<T>) {
    let n = x.nrows();
    let (src, dst) = (x.as_slice(), out.as_mut_slice());
    for t in 0..steps {
        for j in 0..d {
            let from = (t * d + j) * n;
            let to = j * steps * n + t * n;
            dst[to..to + n].copy_from_slice(&src[from..from + n]);
        }
    }
}

/// What a group's sweep back returns: the gradient of each step's input (or input product), by step, and of
/// each initial state.
type SweptBack<T> = (Vec<DMatrix<T>>, Vec<DMatrix<T>>);

/// The groups' gradients of their steps' input products, stacked as the weight gradient's product reads them:
/// `(T·N) x G`, rows `t·N ..` for step `t`. Built column by column, the columns shared among the pool's
/// threads: on two threads a serial copy had cost as much as the products it fed.
fn stack_groups<T: Real>(
    swept: &[SweptBack<T>],
    groups: &[Range<usize>],
    steps: usize,
    g: usize,
) -> DMatrix<T> {
    let n = groups.last().map_or(0, |r| r.end);
    // Each column zeroed by the thread that fills it, not the whole matrix by the calling thread first.
    let out = zeros_each(steps * n * g, steps * n, |j, col: &mut [T]| {
        for t in 0..steps {
            for (rows, (dxs, _)) in groups.iter().zip(swept) {
                let len = rows.len();
                let src = &dxs[t].as_slice()[j * len..(j + 1) * len];
                copy_run(&mut col[t * n + rows.start..t * n + rows.end], src);
            }
        }
    });
    DMatrix::from_vec(steps * n, g, out)
}

/// Rows `first .. first + count` of `p` (each column's run is contiguous).
fn row_block<T: Real>(p: &DMatrix<T>, first: usize, count: usize) -> DMatrix<T> {
    block(p, first, count, 0, p.ncols())
}

/// Rows `first .. first + count` of columns `col .. col + cols` of `p`, copied as one slice per column
/// (nalgebra's `view(..).into_owned()` goes entry by entry: measured at a seventh of W4's step at batch 128).
fn block<T: Real>(
    p: &DMatrix<T>,
    first: usize,
    count: usize,
    col: usize,
    cols: usize,
) -> DMatrix<T> {
    let (rows, src) = (p.nrows(), p.as_slice());
    // Appended column by column rather than written over zeros: the zeroing had been a call to `memset` per
    // step and thread.
    let mut out = Vec::with_capacity(count * cols);
    for j in 0..cols {
        let from = (col + j) * rows + first;
        extend_run(&mut out, &src[from..from + count]);
    }
    DMatrix::from_vec(count, cols, out)
}

/// `out ← out, src`, for short runs as [`copy_run`].
fn extend_run<T: Copy>(out: &mut Vec<T>, src: &[T]) {
    let mut s = src.chunks_exact(8);
    for b in &mut s {
        if let Ok(b) = <&[T; 8]>::try_from(b) {
            out.extend_from_slice(b);
        }
    }
    out.extend_from_slice(s.remainder());
}

/// The inverse of [`row_block`]: write `b` into rows `first ..` of `p`.
fn set_row_block<T: Real>(p: &mut DMatrix<T>, first: usize, b: &DMatrix<T>) {
    set_block(p, first, 0, b);
}

/// Write `b` into `p` with its first entry at `(first, col)`.
fn set_block<T: Real>(p: &mut DMatrix<T>, first: usize, col: usize, b: &DMatrix<T>) {
    let (rows, count) = (p.nrows(), b.nrows());
    let (src, dst) = (b.as_slice(), p.as_mut_slice());
    for j in 0..b.ncols() {
        let to = (col + j) * rows + first;
        copy_run(&mut dst[to..to + count], &src[j * count..(j + 1) * count]);
    }
}

/// `x_t W_x` of every step of `x: N x (T·D)`, laid out as `x` is: `N x (T·G)`, step `t` in the column block
/// `t·G ..`. A sweep then finds a step's rows in one block of `N·G` entries, where the `(T·N) x G` stack of
/// one product over all steps spreads them over the whole matrix, a cache miss per column (measured: a
/// twentieth of W4's step on two threads went to that copy). One product per step, each entry by the same
/// operations as in the one product (a sum over `D` terms), steps spread over the pool when they are large.
fn project<T: Real>(x: &DMatrix<T>, w: &DMatrix<T>, steps: usize) -> DMatrix<T> {
    let (n, d, g) = (x.nrows(), w.nrows(), w.ncols());
    let mut p = DMatrix::zeros(n, steps * g);
    per_step(p.as_mut_slice(), n * g, n * d * g, |t, pt| {
        let xt = Strided::col_major(&x.as_slice()[t * d * n..(t + 1) * d * n], n, false);
        gemm_strided(n, d, g, xt, Strided::of(w, false), T::zero(), pt, n);
    });
    p
}

/// `f(t, block t)` for the blocks of `len` entries of `out`, one per step, spread over the pool's threads in
/// as many runs of steps when the products (`macs` multiply-adds per step) are worth a hand-over.
fn per_step<T: Real>(out: &mut [T], len: usize, macs: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    use rayon::prelude::*;
    let steps = out.len() / len.max(1);
    let threads = rayon::current_num_threads();
    let per = if threads > 1 && macs * steps >= 1 << 21 {
        steps.div_ceil(threads)
    } else {
        steps
    };
    out.par_chunks_mut(len.max(1))
        .enumerate()
        .with_min_len(per.max(1))
        .for_each(|(t, block)| f(t, block));
}

/// What step `t` reads for the batch rows `rows`: their `x_t`, or their rows of the stacked input product.
fn step_input<T: Real>(
    x: &DMatrix<T>,
    projected: Option<&DMatrix<T>>,
    t: usize,
    d: usize,
    rows: &Range<usize>,
) -> DMatrix<T> {
    match projected {
        Some(p) => {
            let g = p.ncols() / (x.ncols() / d);
            block(p, rows.start, rows.len(), t * g, g)
        }
        None => block(x, rows.start, rows.len(), t * d, d),
    }
}

/// Rows a sweep through time gives each thread at least: below it, handing a group out costs more than the
/// group's products save.
const MIN_GROUP_ROWS: usize = 8;

/// The groups of batch rows that sweep through time side by side, one per thread of the rayon pool.
///
/// The rows of a batch never meet in a step: every product and activation of row `i` reads only row `i`
/// (matrixmultiply computes each entry of a product by the same operations however many rows it has). What
/// a sweep adds over rows are the weight gradients, so a cell whose step backward adds none (all three of
/// [`Cell::input_weight_grad`], [`Cell::recurrent_weight_grad`] and [`Cell::bias_grad`] are formed by the
/// layer after the sweep, in one fixed order) can sweep its rows in groups and give the same numbers, to the
/// bit, for any number of groups, hence of threads. Other cells sweep all rows at once.
fn row_groups<T: Real, C: Cell<T>>(cell: &C, n: usize) -> Vec<Range<usize>> {
    let count = rayon::current_num_threads().min(n / MIN_GROUP_ROWS);
    // Only from a pool thread: a caller outside the pool would be a third thread on two cores beside the
    // pool's two, and measured on W4 (2 threads, 2-core EPYC) the groups then cost as much in hand-overs and
    // waiting as they save (median 5.9-7.3 ms against 6.6-6.7 without); inside the pool they save (5.7-6.3 ms
    // against 6.3-7.2). The binaries' main thread is in the pool (`kernels::par::join_global_pool`).
    if count < 2 || rayon::current_thread_index().is_none() {
        return Vec::new();
    }
    // Asked last: the hooks need a gradient to point into, and that costs an allocation.
    let mut probe = cell.zeros_like();
    let after_sweep = cell.input_weight_grad(&mut probe).is_some()
        && cell.recurrent_weight_grad(&mut probe).is_some()
        && cell.bias_grad(&mut probe).is_some();
    if !after_sweep {
        return Vec::new();
    }
    // Whole micro-kernel tiles (8 rows) per group where the batch allows.
    let size = n.div_ceil(count).next_multiple_of(MIN_GROUP_ROWS);
    (0..n).step_by(size).map(|a| a..(a + size).min(n)).collect()
}

/// `f(g, groups[g])` for every group, the first on the calling thread and the others on the rayon pool (one
/// hand-over each, as for the products in `kernels::gemm`), results in group order.
fn in_groups<R: Send>(
    groups: &[Range<usize>],
    f: impl Fn(usize, Range<usize>) -> R + Sync,
) -> Vec<R> {
    let mut out: Vec<Option<R>> = groups.iter().map(|_| None).collect();
    rayon::in_place_scope(|s| {
        let mut slots = out.iter_mut().enumerate();
        let first = slots.next();
        for (g, slot) in slots {
            let f = &f;
            s.spawn(move |_| *slot = Some(f(g, groups[g].clone())));
        }
        if let Some((g, slot)) = first {
            *slot = Some(f(g, groups[g].clone()));
        }
    });
    out.into_iter()
        .map(|r| r.expect("every group ran"))
        .collect()
}

/// The rows `rows` of each of `states`, borrowed when they are all the rows.
fn rows_of<'a, T: Real>(states: &'a [DMatrix<T>], rows: &Range<usize>) -> Cow<'a, [DMatrix<T>]> {
    if states.first().is_none_or(|s| s.nrows() == rows.len()) {
        Cow::Borrowed(states)
    } else {
        Cow::Owned(
            states
                .iter()
                .map(|s| row_block(s, rows.start, rows.len()))
                .collect(),
        )
    }
}

/// One layer in one direction over `x: N x (T·D)`, from `init` (zeros when `None`): the outputs
/// `N x (T·H)` and the cache for [`layer_backward`].
pub fn layer_forward<T: Real, C: Cell<T>>(
    cell: &C,
    x: &DMatrix<T>,
    init: Option<&[DMatrix<T>]>,
    reverse: bool,
) -> Result<(DMatrix<T>, LayerCache<T, C>)> {
    layer_forward_masked(cell, x, init, None, reverse)
}

/// [`layer_forward`] over a padded batch: row `i` holds `lengths[i]` real steps, then padding. A padded step
/// leaves the row's states as they were, so the forward direction carries `h` at the last real step to the
/// end, the reverse direction starts from its initial state at the last real step, and padding reaches
/// neither a state the head reads nor any gradient.
pub fn layer_forward_masked<T: Real, C: Cell<T>>(
    cell: &C,
    x: &DMatrix<T>,
    init: Option<&[DMatrix<T>]>,
    lengths: Option<&[usize]>,
    reverse: bool,
) -> Result<(DMatrix<T>, LayerCache<T, C>)> {
    let steps = check_layer(cell, x, init)?;
    if let Some(l) = lengths {
        if l.len() != x.nrows() || l.iter().any(|&v| v == 0 || v > steps) {
            return Err(Error::invalid(
                "recurrent layer",
                format!(
                    "lengths must be one per row ({} rows), each in 1..={steps}; got {} lengths",
                    x.nrows(),
                    l.len()
                ),
            ));
        }
    }
    let (n, hid) = (x.nrows(), cell.hidden());
    let projected = cell.input_weight().map(|w| project(x, w, steps));
    let groups = row_groups(cell, n);
    let swept = match groups.len() {
        0 => vec![sweep_forward(
            cell,
            x,
            projected.as_ref(),
            init,
            lengths,
            0..n,
            reverse,
        )],
        _ => in_groups(&groups, |_, rows| {
            let init = init.map(|s| rows_of(s, &rows).into_owned());
            let lengths = lengths.map(|l| &l[rows.clone()]);
            sweep_forward(
                cell,
                x,
                projected.as_ref(),
                init.as_deref(),
                lengths,
                rows,
                reverse,
            )
        }),
    };
    // The output, column by column: each group's rows of step t's `h`, group after group.
    let mut out = Vec::with_capacity(n * steps * hid);
    for t in 0..steps {
        for j in 0..hid {
            for (s, _) in &swept {
                let h = &s[t][0];
                extend_run(&mut out, &h.as_slice()[j * h.nrows()..(j + 1) * h.nrows()]);
            }
        }
    }
    let out = DMatrix::from_vec(n, steps * hid, out);
    let (mut states, mut caches) = (Vec::new(), Vec::new());
    for (s, c) in swept {
        states.extend(s);
        caches.extend(c);
    }
    let init = init.map(|s| s.to_vec());
    Ok((
        out,
        LayerCache {
            states,
            caches,
            init,
            lengths: lengths.map(<[usize]>::to_vec),
            groups,
        },
    ))
}

/// The sweep through time of the batch rows `rows`, from `init` (their initial states) with `lengths` (their
/// lengths): every step's states and cache, by step `t`.
fn sweep_forward<T: Real, C: Cell<T>>(
    cell: &C,
    x: &DMatrix<T>,
    projected: Option<&DMatrix<T>>,
    init: Option<&[DMatrix<T>]>,
    lengths: Option<&[usize]>,
    rows: Range<usize>,
    reverse: bool,
) -> (Vec<Vec<DMatrix<T>>>, Vec<C::Cache>) {
    let (d, steps) = (cell.input(), x.ncols() / cell.input());
    // ANCHOR: layer_forward
    let mut states: Vec<Vec<DMatrix<T>>> = vec![Vec::new(); steps];
    let mut caches: Vec<Option<C::Cache>> = (0..steps).map(|_| None).collect();
    for k in 0..steps {
        let t = at(k, steps, reverse);
        let x_t = step_input(x, projected, t, d, &rows);
        let prev = match k {
            0 => init,
            _ => Some(&states[at(k - 1, steps, reverse)][..]),
        };
        let (mut s, c) = cell.step(x_t, prev); // (7.1), one step
        for i in padded(lengths, t) {
            for (j, sj) in s.iter_mut().enumerate() {
                match prev {
                    Some(p) => sj.row_mut(i).copy_from(&p[j].row(i)),
                    None => sj.row_mut(i).fill(T::zero()),
                }
            }
        }
        states[t] = s;
        caches[t] = Some(c);
    }
    // ANCHOR_END: layer_forward
    let caches = caches
        .into_iter()
        .map(|c| c.expect("every step ran"))
        .collect();
    (states, caches)
}

/// A layer's gradients: its input, its weights, its initial states (zeros when it started from zeros).
pub struct LayerGrads<T: Real, C> {
    pub dx: DMatrix<T>,
    pub cell: C,
    pub d_init: Vec<DMatrix<T>>,
}

/// Backpropagation through time for one layer, given `dh` = ∂L/∂(outputs) from outside (`N x (T·H)`).
pub fn layer_backward<T: Real, C: Cell<T>>(
    cell: &C,
    x: &DMatrix<T>,
    cache: &LayerCache<T, C>,
    dh: &DMatrix<T>,
    reverse: bool,
) -> Result<LayerGrads<T, C>> {
    layer_backward_needs(cell, x, cache, dh, reverse, true)
}

/// [`layer_backward`], leaving `dx` at zeros when `need_dx` is false: for a cell with
/// [`Cell::input_weight`], `dx` is one more product over all steps, which the first layer of a network over
/// its data does not need.
pub fn layer_backward_needs<T: Real, C: Cell<T>>(
    cell: &C,
    x: &DMatrix<T>,
    cache: &LayerCache<T, C>,
    dh: &DMatrix<T>,
    reverse: bool,
    need_dx: bool,
) -> Result<LayerGrads<T, C>> {
    let (n, d, hid) = (x.nrows(), cell.input(), cell.hidden());
    let steps = cache.steps();
    super::expect_shape(
        "recurrent layer backward",
        "dh of the outputs' shape N x (T·H)",
        dh,
        (n, steps * hid),
    )?;
    super::expect_shape(
        "recurrent layer backward",
        "x of the forward pass's shape N x (T·D)",
        x,
        (n, steps * d),
    )?;
    let groups = cache.groups(n);
    if cache.caches.len() != groups.len() * steps
        || cache.states.len() != groups.len() * steps
        || groups.last().is_some_and(|g| g.end != n)
    {
        return Err(Error::invalid(
            "recurrent layer backward",
            format!(
                "a cache of {} steps' states and {} step caches in {} groups for {n} rows",
                steps,
                cache.caches.len(),
                groups.len()
            ),
        ));
    }
    let mut g = LayerGrads {
        dx: DMatrix::zeros(n, x.ncols()),
        cell: cell.zeros_like(),
        d_init: Vec::new(),
    };
    // A group's step backward adds to no weight gradient (see `row_groups`): the groups' scratch gradients
    // stay zero and are dropped.
    let swept = match groups.len() {
        1 => vec![sweep_backward(
            cell,
            x,
            cache,
            dh,
            0,
            0..n,
            reverse,
            &mut g.cell,
        )],
        _ => in_groups(&groups, |gi, rows| {
            sweep_backward(
                cell,
                x,
                cache,
                dh,
                gi,
                rows,
                reverse,
                &mut cell.zeros_like(),
            )
        }),
    };
    // Stacked (`(T·N) x G`, rows `t·N ..` for step `t`): the weight gradient is then one product over all steps.
    let d_projected = cell
        .input_weight()
        .map(|w| stack_groups(&swept, &groups, steps, w.ncols()));
    g.d_init = (0..cell.num_states())
        .map(|_| DMatrix::zeros(n, hid))
        .collect();
    for (rows, (dxs, carry)) in groups.iter().zip(&swept) {
        if d_projected.is_none() {
            for (t, dx_t) in dxs.iter().enumerate() {
                g.dx.view_mut((rows.start, t * d), (rows.len(), d))
                    .copy_from(dx_t);
            }
        }
        for (full, part) in g.d_init.iter_mut().zip(carry) {
            set_row_block(full, rows.start, part);
        }
    }
    // The input product's gradients, all steps at once: dW_x = Σ_t x_tᵀ δ_t and δx_t = δ_t W_xᵀ.
    if let (Some(dp), Some(w)) = (&d_projected, cell.input_weight()) {
        // `[x_t | h_{t-1}]` of every step, stacked (`h_{t-1}` zeros, or the initial state, before the first):
        // one product gives dW_x (its first D rows) and dW_h (the rest), each entry the same sum as in a
        // product of its own, with the large δ operand read once.
        let with_h = cell.recurrent_weight_grad(&mut g.cell).is_some();
        let mut xh = DMatrix::zeros(steps * n, d + if with_h { hid } else { 0 });
        stack_steps_into(x, steps, d, &mut xh);
        for k in (0..steps).filter(|_| with_h) {
            let t = at(k, steps, reverse);
            if k == 0 {
                if let Some(s) = &cache.init {
                    set_block(&mut xh, t * n, d, &s[0]);
                }
                continue;
            }
            for (gi, rows) in groups.iter().enumerate() {
                let h = &cache.states[gi * steps + at(k - 1, steps, reverse)][0];
                set_block(&mut xh, t * n + rows.start, d, h);
            }
        }
        let dw_all = crate::kernels::gemm(&xh, true, dp, false);
        if let Some(dw) = cell.input_weight_grad(&mut g.cell) {
            *dw += dw_all.rows(0, d);
        }
        if let Some(dwh) = cell.recurrent_weight_grad(&mut g.cell) {
            *dwh += dw_all.rows(d, hid);
        }
        // db = Σ_t Σ_rows δ_t, step by step in the sweep's order, each step's rows summed first.
        if let Some(db) = cell.bias_grad(&mut g.cell) {
            let rows = dp.nrows();
            for k in (0..steps).rev() {
                let t = at(k, steps, reverse);
                let from_t = &dp.as_slice()[t * n..];
                crate::kernels::sum::add_run_sums(from_t, rows, n, db.as_mut_slice());
            }
        }
        if need_dx {
            // δx_t = δ_t W_xᵀ straight into its column block of dx, step by step: each entry the same sum as in
            // one product over the stack, without the stacked result and its copy back.
            per_step(g.dx.as_mut_slice(), n * d, n * d * w.ncols(), |t, dxt| {
                let dpt = Strided::col_major(&dp.as_slice()[t * n..], steps * n, false);
                gemm_strided(
                    n,
                    w.ncols(),
                    d,
                    dpt,
                    Strided::of(w, true),
                    T::zero(),
                    dxt,
                    n,
                );
            });
        }
    }
    Ok(g)
}

/// Backpropagation through time over the batch rows `rows` (group `gi` of the forward pass): the gradient
/// of every step's input (or of its input product), by step `t`, and of the initial states.
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn sweep_backward<T: Real, C: Cell<T>>(
    cell: &C,
    x: &DMatrix<T>,
    cache: &LayerCache<T, C>,
    dh: &DMatrix<T>,
    gi: usize,
    rows: Range<usize>,
    reverse: bool,
    grads: &mut C,
) -> (Vec<DMatrix<T>>, Vec<DMatrix<T>>) {
    let (d, hid, steps) = (cell.input(), cell.hidden(), cache.steps());
    let caches = &cache.caches[gi * steps..(gi + 1) * steps];
    let states = &cache.states[gi * steps..(gi + 1) * steps];
    let lengths = cache.lengths.as_deref().map(|l| &l[rows.clone()]);
    let mut dxs: Vec<DMatrix<T>> = vec![DMatrix::zeros(0, 0); steps];
    // ANCHOR: layer_backward
    // `carry[i]`: what state i of step t receives from the step that read it.
    let mut carry: Vec<DMatrix<T>> = (0..cell.num_states())
        .map(|_| DMatrix::zeros(rows.len(), hid))
        .collect();
    for k in (0..steps).rev() {
        let t = at(k, steps, reverse);
        let prev = match k {
            0 => cache.init.as_deref().map(|s| rows_of(s, &rows)),
            _ => Some(Cow::Borrowed(&states[at(k - 1, steps, reverse)][..])),
        };
        let mut d_states = carry;
        let mut dh_t = block(dh, rows.start, rows.len(), t * hid, hid);
        dh_t += &d_states[0]; // (7.4)
        d_states[0] = dh_t;
        // ANCHOR_END: layer_backward
        // A padded row's states were copied from the step before: their gradients pass straight through.
        let skip = padded(lengths, t);
        let through: Vec<Vec<DMatrix<T>>> = skip
            .iter()
            .map(|&i| {
                d_states
                    .iter_mut()
                    .map(|dsj| {
                        let r = dsj.row(i).into_owned();
                        dsj.row_mut(i).fill(T::zero());
                        DMatrix::from_row_slice(1, hid, r.as_slice())
                    })
                    .collect()
            })
            .collect();
        // ANCHOR: layer_backward_step
        let x_t = match cell.input_weight() {
            Some(_) => DMatrix::zeros(rows.len(), 0),
            None => step_input(x, None, t, d, &rows),
        };
        let (dx_t, d_prev) = cell.step_backward(
            &x_t,
            prev.as_deref(),
            &states[t],
            &caches[t],
            d_states,
            grads,
        );
        dxs[t] = dx_t;
        carry = d_prev;
        // ANCHOR_END: layer_backward_step
        for (&i, r) in skip.iter().zip(&through) {
            for (cj, r) in carry.iter_mut().zip(r) {
                let mut row = cj.row_mut(i);
                row += r;
            }
        }
    }
    (dxs, carry)
}

/// How a bidirectional stack joins its two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Merge {
    /// Every layer's two directions are concatenated step by step, and both directions of the next layer read
    /// that (`2H` features). The common form (PyTorch's `bidirectional=True`), and our default.
    #[default]
    PerLayer,
    /// The book's form: two independent stacks, one per direction, each layer reading only its own
    /// direction's layer below; the top layer's two directions are concatenated, and the two stacks' input
    /// gradients are summed (the input feeds both).
    Book,
}

/// The shape of a stack: `layers` layers of `hidden` units over `input` features, one or two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StackSpec {
    pub input: usize,
    pub hidden: usize,
    pub layers: usize,
    pub bidirectional: bool,
    pub merge: Merge,
}

impl StackSpec {
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Input features of layer `l` (each direction of it).
    pub fn layer_input(&self, l: usize) -> usize {
        match (l, self.merge) {
            (0, _) => self.input,
            (_, Merge::PerLayer) => self.hidden * self.directions(),
            (_, Merge::Book) => self.hidden,
        }
    }

    /// Features per step of the stack's output.
    pub fn output(&self) -> usize {
        self.hidden * self.directions()
    }

    pub fn validate(&self) -> Result<()> {
        if self.input == 0 || self.hidden == 0 || self.layers == 0 {
            return Err(Error::Config(format!(
                "recurrent stack: input ({}), hidden ({}) and layers ({}) must all be at least 1",
                self.input, self.hidden, self.layers
            )));
        }
        Ok(())
    }
}

/// Step-by-step concatenation: block `t` of the result is `[a_t | b_t]`.
pub fn interleave<T: Real>(a: &DMatrix<T>, b: &DMatrix<T>, hid: usize) -> DMatrix<T> {
    let steps = a.ncols() / hid;
    let mut out = DMatrix::zeros(a.nrows(), 2 * a.ncols());
    for t in 0..steps {
        out.columns_mut(2 * t * hid, hid)
            .copy_from(&a.columns(t * hid, hid));
        out.columns_mut((2 * t + 1) * hid, hid)
            .copy_from(&b.columns(t * hid, hid));
    }
    out
}

/// The inverse of [`interleave`].
pub fn split<T: Real>(ab: &DMatrix<T>, hid: usize) -> (DMatrix<T>, DMatrix<T>) {
    let steps = ab.ncols() / (2 * hid);
    let mut a = DMatrix::zeros(ab.nrows(), steps * hid);
    let mut b = a.clone();
    for t in 0..steps {
        a.columns_mut(t * hid, hid)
            .copy_from(&ab.columns(2 * t * hid, hid));
        b.columns_mut(t * hid, hid)
            .copy_from(&ab.columns((2 * t + 1) * hid, hid));
    }
    (a, b)
}

/// Every layer's input and cache, kept for the backward pass: `inputs[l][d]`, `layers[l][d]`.
pub struct StackCache<T: Real, C: Cell<T>> {
    inputs: Vec<Vec<DMatrix<T>>>,
    layers: Vec<Vec<LayerCache<T, C>>>,
}

/// Initial states of a stack: `init[l][d]` holds the states (one `N x H` matrix each) of layer `l`,
/// direction `d`.
pub type StackInit<T> = Vec<Vec<Vec<DMatrix<T>>>>;

/// A stack of layers over `x: N x (T·input)`; `cells[l][d]` is direction `d` (0 forward, 1 reverse) of layer
/// `l`, each starting from `init[l][d]` when given (zeros otherwise). Returns the top outputs
/// `N x (T·output)` and the cache for [`stack_backward`].
pub fn stack_forward<T: Real, C: Cell<T>>(
    spec: &StackSpec,
    cells: &[Vec<C>],
    x: &DMatrix<T>,
    init: Option<&StackInit<T>>,
) -> Result<(DMatrix<T>, StackCache<T, C>)> {
    stack_forward_masked(spec, cells, x, init, None)
}

/// [`stack_forward`] over a padded batch (see [`layer_forward_masked`]): every layer skips each row's padding.
pub fn stack_forward_masked<T: Real, C: Cell<T>>(
    spec: &StackSpec,
    cells: &[Vec<C>],
    x: &DMatrix<T>,
    init: Option<&StackInit<T>>,
    lengths: Option<&[usize]>,
) -> Result<(DMatrix<T>, StackCache<T, C>)> {
    spec.validate()?;
    let dirs = spec.directions();
    let shaped = |v: usize| v == spec.layers;
    if !shaped(cells.len()) || cells.iter().any(|c| c.len() != dirs) {
        return Err(Error::Config(format!(
            "recurrent stack: expected {} layers of {dirs} direction(s)",
            spec.layers
        )));
    }
    if init.is_some_and(|i| !shaped(i.len()) || i.iter().any(|l| l.len() != dirs)) {
        return Err(Error::Config(format!(
            "recurrent stack: initial states must be given for {} layers of {dirs} direction(s)",
            spec.layers
        )));
    }
    let mut cache = StackCache {
        inputs: (0..spec.layers).map(|_| Vec::new()).collect(),
        layers: (0..spec.layers).map(|_| Vec::new()).collect(),
    };
    // ANCHOR: stack_forward
    let mut run = |inp: DMatrix<T>, l: usize, d: usize| -> Result<DMatrix<T>> {
        let start = init.map(|i| &i[l][d][..]);
        let (h, c) = layer_forward_masked(&cells[l][d], &inp, start, lengths, d == 1)?;
        cache.inputs[l].push(inp);
        cache.layers[l].push(c);
        Ok(h)
    };
    let out = match spec.merge {
        Merge::PerLayer => {
            let mut inp = x.clone();
            for l in 0..spec.layers {
                let states = (0..dirs)
                    .map(|d| run(inp.clone(), l, d))
                    .collect::<Result<Vec<_>>>()?;
                inp = join(states, spec.hidden);
            }
            inp
        }
        Merge::Book => {
            let mut tops = Vec::new();
            for d in 0..dirs {
                let mut inp = x.clone();
                for l in 0..spec.layers {
                    inp = run(inp, l, d)?;
                }
                tops.push(inp);
            }
            join(tops, spec.hidden)
        }
    };
    // ANCHOR_END: stack_forward
    Ok((out, cache))
}

/// One direction's outputs as they are, or two interleaved step by step.
fn join<T: Real>(mut states: Vec<DMatrix<T>>, hid: usize) -> DMatrix<T> {
    match states.len() {
        1 => states.pop().expect("one direction"),
        _ => interleave(&states[0], &states[1], hid),
    }
}

/// A stack's gradients: its input, each cell's weights `cells[l][d]`, each initial state `init[l][d]`.
pub struct StackGrads<T: Real, C> {
    pub dx: DMatrix<T>,
    pub cells: Vec<Vec<C>>,
    pub init: StackInit<T>,
}

/// Gradients of a stack given `dout` = ∂L/∂(top outputs), where the input gradient of a layer read by both
/// directions is the sum of the two.
pub fn stack_backward<T: Real, C: Cell<T>>(
    spec: &StackSpec,
    cells: &[Vec<C>],
    cache: &StackCache<T, C>,
    dout: &DMatrix<T>,
) -> Result<StackGrads<T, C>> {
    let dirs = spec.directions();
    let fits = |v: usize| v == spec.layers;
    let per_layer_fits = cells.iter().all(|c| c.len() == dirs)
        && cache.layers.iter().all(|c| c.len() == dirs)
        && cache.inputs.iter().all(|c| c.len() == dirs);
    if !fits(cells.len())
        || !fits(cache.layers.len())
        || !fits(cache.inputs.len())
        || !per_layer_fits
    {
        return Err(Error::invalid(
            "recurrent stack backward",
            format!(
                "{} layers of cells and a cache of {} for a stack of {} layers of {dirs} directions",
                cells.len(),
                cache.layers.len(),
                spec.layers
            ),
        ));
    }
    let top = cache.layers.last().and_then(|l| l.first());
    let (n, steps) = match (cache.inputs.first().and_then(|i| i.first()), top) {
        (Some(x), Some(c)) => (x.nrows(), c.steps()),
        _ => (0, 0),
    };
    super::expect_shape(
        "recurrent stack backward",
        "dout of the top outputs' shape N x (T·H·directions)",
        dout,
        (n, steps * spec.output()),
    )?;
    let per_direction = |dout: &DMatrix<T>| match dirs {
        1 => vec![dout.clone()],
        _ => {
            let (a, b) = split(dout, spec.hidden);
            vec![a, b]
        }
    };
    let mut grads: Vec<Vec<Option<LayerGrads<T, C>>>> = (0..spec.layers)
        .map(|_| (0..dirs).map(|_| None).collect())
        .collect();
    let mut back = |l: usize, d: usize, dh: &DMatrix<T>| -> Result<DMatrix<T>> {
        let g = layer_backward(
            &cells[l][d],
            &cache.inputs[l][d],
            &cache.layers[l][d],
            dh,
            d == 1,
        )?;
        let dx = g.dx.clone();
        grads[l][d] = Some(g);
        Ok(dx)
    };
    let add = |acc: Option<DMatrix<T>>, dx: DMatrix<T>| match acc {
        Some(mut a) => {
            a += &dx;
            Some(a)
        }
        None => Some(dx),
    };
    // ANCHOR: stack_backward
    let dx = match spec.merge {
        Merge::PerLayer => {
            let mut dcur = dout.clone();
            for l in (0..spec.layers).rev() {
                let mut dinp = None;
                for (d, dh) in per_direction(&dcur).iter().enumerate() {
                    dinp = add(dinp, back(l, d, dh)?);
                }
                dcur = dinp.expect("at least one direction");
            }
            dcur
        }
        Merge::Book => {
            let mut dx = None;
            for (d, dtop) in per_direction(dout).into_iter().enumerate() {
                let mut dcur = dtop;
                for l in (0..spec.layers).rev() {
                    dcur = back(l, d, &dcur)?;
                }
                dx = add(dx, dcur);
            }
            dx.expect("at least one direction")
        }
    };
    // ANCHOR_END: stack_backward
    let (mut out_cells, mut out_init) = (Vec::new(), Vec::new());
    for layer in grads {
        let (mut c, mut i) = (Vec::new(), Vec::new());
        for g in layer {
            let g = g.expect("every cell ran");
            c.push(g.cell);
            i.push(g.d_init);
        }
        out_cells.push(c);
        out_init.push(i);
    }
    Ok(StackGrads {
        dx,
        cells: out_cells,
        init: out_init,
    })
}
