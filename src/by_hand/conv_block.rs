//! Convolution, ReLU and max pooling in one pass per image: the book's CNN block on the fast path, fused (and,
//! where batch norm sits between the convolution and the ReLU, the ReLU and the pooling fused). The
//! convolution's output, the largest array of the step, never leaves the cache: each image's is computed into
//! a buffer (as [`super::conv_fast`] does), put through the ReLU there and pooled (as [`super::pool_fast`]
//! does, the same winners). Backward, each image's pooled error goes back to its winners, is masked by the
//! ReLU and goes through the convolution's backward for that image. The numbers are those of the three layers
//! one after the other, bit for bit (`tests/conv.rs`); measured in `book/src/performance.md`.

use super::batch_norm::{lane_dot, lane_sum};
use super::conv::ConvGrads;
use super::conv_fast::{backward_images, forward_image, ImageErrors, Scratch, Weights};
use super::pool_fast::max_image;
use crate::error::{Error, Result};
use crate::kernels::par::{zeros_each, zeros_then};
use crate::layout::{ConvGeom, PoolGeom};
use crate::scalar::Real;
use nalgebra::DMatrix;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// The tape's ReLU, entry for entry (`max(z, 0)` with 0 for every `z` that is not positive, NaN included).
fn relu<T: Real>(z: T) -> T {
    if z > T::zero() {
        z
    } else {
        T::zero()
    }
}

/// The pooling must take the convolution's output as it is laid out, and the winners' indices must fit.
fn check_block(op: &'static str, cg: &ConvGeom, pg: &PoolGeom, n: usize) -> Result<()> {
    cg.validate()?;
    pg.validate()?;
    if (pg.c, pg.h, pg.w) != (cg.c_out, cg.out_h(), cg.out_w()) {
        return Err(Error::invalid(
            op,
            format!(
                "pooling over {} channels of {}x{} after a convolution that gives {} of {}x{}",
                pg.c,
                pg.h,
                pg.w,
                cg.c_out,
                cg.out_h(),
                cg.out_w()
            ),
        ));
    }
    index_fits(op, pg, n)
}

/// The winners are indices into the whole batch's pooling input, in 32 bits.
fn index_fits(op: &'static str, g: &PoolGeom, n: usize) -> Result<()> {
    if g.in_len()
        .checked_mul(n)
        .is_none_or(|len| len > u32::MAX as usize)
    {
        return Err(Error::invalid(
            op,
            format!(
                "{n} images of {} pooling inputs: the winners' indices do not fit in 32 bits",
                g.in_len()
            ),
        ));
    }
    Ok(())
}

/// The winners' indices must be one per pooled output; the error when they are not.
fn check_winners<T>(op: &'static str, argmax: &[u32], dp: &DMatrix<T>) -> Result<()> {
    if argmax.len() != dp.len() {
        return Err(Error::invalid(
            op,
            format!("{} argmax entries for {} outputs", argmax.len(), dp.len()),
        ));
    }
    Ok(())
}

/// The error when a winner lies outside its own image's `len` pooling inputs.
fn foreign_winner(op: &'static str, len: usize) -> Error {
    Error::invalid(
        op,
        format!("an argmax entry outside its own image's {len} pooling inputs: not the forward pass of this dp"),
    )
}

// ANCHOR: conv_block_forward
/// Max pooling over `n` images whose inputs are made in a buffer, image by image on the pool: `fill(state, img,
/// buf)` leaves image `img`'s `g.in_len()` pooling inputs in `buf` (what the last image left is still there).
/// Returns the pooled values and the winners, as [`super::pool_fast::forward`] on the whole batch would.
fn pool_images<T: Real, S>(
    n: usize,
    g: &PoolGeom,
    init: impl Fn() -> S + Sync + Send,
    fill: impl Fn(&mut S, usize, &mut Vec<T>) + Sync + Send,
) -> (DMatrix<T>, Vec<u32>) {
    let (len, out) = (g.in_len(), g.out_len());
    let mut y = DMatrix::zeros(out, n);
    let mut argmax = vec![0u32; out * n];
    y.as_mut_slice()
        .par_chunks_mut(out.max(1))
        .zip(argmax.par_chunks_mut(out.max(1)))
        .enumerate()
        .for_each_init(
            || (init(), Vec::new()),
            |(state, buf), (img, (pooled, winners))| {
                fill(state, img, buf);
                max_image(buf, 0, g, pooled, winners);
                winners.iter_mut().for_each(|i| *i += (img * len) as u32);
            },
        );
    (y, argmax)
}

/// Forward: `maxpool(relu(conv(x)))`, and the input index of every output's maximum in the convolution's output
/// (as [`super::pool_fast::forward`] gives it), for the backward pass.
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &DMatrix<T>,
    cg: &ConvGeom,
    pg: &PoolGeom,
) -> Result<(DMatrix<T>, Vec<u32>)> {
    super::conv::check_forward("conv_relu_pool", x, w, b, cg)?;
    let n = x.ncols();
    check_block("conv_relu_pool", cg, pg, n)?;
    let wp = Weights::new(w, cg);
    let pooled = pool_images(
        n,
        pg,
        || Scratch::new(),
        |s, img, conv_out| {
            // The product overwrites every entry (β = 0 reads nothing): no need to clear what the last image left.
            conv_out.resize(pg.in_len(), T::zero());
            let xn = &x.as_slice()[img * cg.in_len()..(img + 1) * cg.in_len()];
            forward_image(xn, &wp, b, cg, s, conv_out);
            conv_out.iter_mut().for_each(|v| *v = relu(*v));
        },
    );
    Ok(pooled)
}
// ANCHOR_END: conv_block_forward

/// Image `n`'s error at the convolution's output, from the error at the pooled output.
struct PooledErrors<'a, T> {
    dp: &'a DMatrix<T>,
    pooled: &'a DMatrix<T>,
    argmax: &'a [u32],
    len: usize,
    disjoint: bool,
    misplaced: AtomicBool,
}

// ANCHOR: conv_block_backward
impl<T: Real> ImageErrors<T> for PooledErrors<'_, T> {
    fn images(&self) -> usize {
        self.dp.ncols()
    }

    /// The error at the convolution's output: see [`unpool_relu`]. A misplaced winner is reported after the pass.
    fn image<'a>(&'a self, img: usize, buf: &'a mut Vec<T>) -> &'a [T] {
        buf.clear();
        buf.resize(self.len, T::zero());
        if !unpool_image(self.dp, self.pooled, self.argmax, img, buf, self.disjoint) {
            self.misplaced.store(true, Relaxed);
        }
        buf
    }
}

/// [`unpool_relu`] for image `img` of the batch: its rows of `dp`, `pooled` and `argmax`, into `d` (zeros, the
/// image's pooling inputs).
fn unpool_image<T: Real>(
    dp: &DMatrix<T>,
    pooled: &DMatrix<T>,
    argmax: &[u32],
    img: usize,
    d: &mut [T],
    disjoint: bool,
) -> bool {
    let out = dp.nrows();
    let rows = img * out..(img + 1) * out;
    let (e, v) = (
        &dp.as_slice()[rows.clone()],
        &pooled.as_slice()[rows.clone()],
    );
    unpool_relu(&argmax[rows], e, v, img * d.len(), d, disjoint)
}

/// One image's error before the ReLU and the pooling, in `d` (zeros, the image's `len` inputs, the first
/// of which is input `first` of the batch): pooling's backward (each error added to its winner), then the
/// ReLU's (times 1 where its input was positive, else 0; a winner's input was positive exactly when its pooled
/// value is). `disjoint` says the windows do not overlap (stride at least the window), so that no input wins
/// twice. `false` when a winner lies outside the image: `argmax` is not this forward pass's, and that winner is
/// skipped.
fn unpool_relu<T: Real>(
    winners: &[u32],
    dp: &[T],
    pooled: &[T],
    first: usize,
    d: &mut [T],
    disjoint: bool,
) -> bool {
    let len = d.len();
    let place = |i: u32| (i as usize).checked_sub(first).filter(|&at| at < len);
    let mut placed = true;
    // Times 1 changes nothing, so only the winners whose pooled value is not positive are touched by the mask.
    let passes = |v: T| v > T::zero();
    if disjoint {
        // Each winner gets one error, and can be masked at once: one pass instead of two, the same operations.
        for ((&i, &e), &v) in winners.iter().zip(dp).zip(pooled) {
            match place(i) {
                Some(at) => {
                    d[at] += e;
                    if !passes(v) {
                        d[at] *= T::zero();
                    }
                }
                None => placed = false,
            }
        }
        return placed;
    }
    for (&i, &e) in winners.iter().zip(dp) {
        match place(i) {
            Some(at) => d[at] += e,
            None => placed = false,
        }
    }
    // A second pass, so that a winner of several windows is masked once its errors are all added, as the
    // ReLU's own backward would.
    for (&i, &v) in winners.iter().zip(pooled) {
        if let Some(at) = place(i).filter(|_| !passes(v)) {
            d[at] *= T::zero();
        }
    }
    placed
}
// ANCHOR_END: conv_block_backward

/// Backward: the gradients of `x`, `w` and `b` from `dp`, the error at the pooled output (`pooled` and `argmax`
/// are [`forward`]'s results).
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Real>(
    dp: &DMatrix<T>,
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    pooled: &DMatrix<T>,
    argmax: &[u32],
    cg: &ConvGeom,
    pg: &PoolGeom,
    need_dx: bool,
) -> Result<ConvGrads<T>> {
    const OP: &str = "conv_relu_pool backward";
    let n = x.ncols();
    check_block(OP, cg, pg, n)?;
    super::expect_shape(OP, "x: (C·H·W) x N", x, (cg.in_len(), n))?;
    super::expect_shape(OP, "w: K x C_out", w, (cg.patch(), cg.c_out))?;
    super::expect_shape(OP, "dp of the pooled output's shape", dp, (pg.out_len(), n))?;
    super::expect_shape(OP, "pooled: the forward's output", pooled, dp.shape())?;
    check_winners(OP, argmax, dp)?;
    let errs = PooledErrors {
        dp,
        pooled,
        argmax,
        len: pg.in_len(),
        disjoint: pg.disjoint(),
        misplaced: AtomicBool::new(false),
    };
    let grads = backward_images(&errs, x, w, cg, need_dx);
    if errs.misplaced.into_inner() {
        return Err(foreign_winner(OP, pg.in_len()));
    }
    Ok(grads)
}

// ANCHOR: relu_pool
/// `maxpool(relu(x))` for `x` in image layout (after batch norm, where the convolution cannot join): the
/// ReLU applied on the way into each image's pooling, so that its output is never stored. Returns the pooled
/// values and the winners, as [`super::pool_fast::forward`] on `relu(x)`.
pub fn relu_pool_forward<T: Real>(x: &DMatrix<T>, g: &PoolGeom) -> Result<(DMatrix<T>, Vec<u32>)> {
    g.validate()?;
    let n = x.ncols();
    super::expect_shape("relu_pool", "x: (C·H·W) x N", x, (g.in_len(), n))?;
    index_fits("relu_pool", g, n)?;
    let len = g.in_len();
    Ok(pool_images(
        n,
        g,
        || (),
        |_, img, act| {
            act.clear();
            act.extend(
                x.as_slice()[img * len..(img + 1) * len]
                    .iter()
                    .map(|&v| relu(v)),
            );
        },
    ))
}

/// Backward of [`relu_pool_forward`]: `dx` from the pooled error `dp`, the pooled values and the winners.
pub fn relu_pool_backward<T: Real>(
    dp: &DMatrix<T>,
    pooled: &DMatrix<T>,
    argmax: &[u32],
    g: &PoolGeom,
) -> Result<DMatrix<T>> {
    const OP: &str = "relu_pool backward";
    g.validate()?;
    let n = dp.ncols();
    super::expect_shape(OP, "dp: (C·P) x N", dp, (g.out_len(), n))?;
    super::expect_shape(OP, "pooled: the forward's output", pooled, dp.shape())?;
    check_winners(OP, argmax, dp)?;
    let len = g.in_len();
    let misplaced = AtomicBool::new(false);
    let d = zeros_each(len * n, len, |img, d: &mut [T]| {
        if !unpool_image(dp, pooled, argmax, img, d, g.disjoint()) {
            misplaced.store(true, Relaxed);
        }
    });
    if misplaced.into_inner() {
        return Err(foreign_winner(OP, len));
    }
    Ok(DMatrix::from_vec(len, n, d))
}
// ANCHOR_END: relu_pool

// ANCHOR: bn_relu_pool
/// Batch normalization (training, image layout, as [`super::batch_norm::forward_conv`]), ReLU and max pooling:
/// the statistics in one pass over `x`, then each image normalized, put through the ReLU and pooled in a buffer,
/// so that neither `x̂` nor `y` is stored. Returns the pooled values, the winners and each channel's
/// `(μ, σ², 1/√(σ² + ε))`, from which the backward pass rebuilds `x̂`.
#[allow(clippy::type_complexity)]
pub fn bn_relu_pool_forward<T: Real>(
    x: &DMatrix<T>,
    gamma: &DMatrix<T>,
    beta: &DMatrix<T>,
    eps: f64,
    g: &PoolGeom,
) -> Result<(DMatrix<T>, Vec<u32>, Vec<(T, T, T)>)> {
    const OP: &str = "bn_relu_pool";
    g.validate()?;
    let n = x.ncols();
    if n == 0 {
        return Err(Error::invalid(OP, "a batch of no images has no statistics"));
    }
    super::expect_shape(OP, "x: (C·H·W) x N", x, (g.in_len(), n))?;
    super::expect_shape(OP, "gamma: 1 x C", gamma, (1, g.c))?;
    super::expect_shape(OP, "beta: 1 x C", beta, (1, g.c))?;
    index_fits(OP, g, n)?;
    let stats = super::batch_norm::conv_stats(x, g.c, eps);
    let (len, hw) = (g.in_len(), g.h * g.w);
    let (y, argmax) = pool_images(
        n,
        g,
        || (),
        |_, img, act| {
            act.clear();
            let xs = &x.as_slice()[img * len..(img + 1) * len];
            for (c, (run, &(mu, _, s))) in xs.chunks_exact(hw).zip(&stats).enumerate() {
                let (gc, bc) = (gamma[(0, c)], beta[(0, c)]);
                act.extend(run.iter().map(|&v| {
                    let h = (v - mu) * s; // (6.3)
                    relu(gc * h + bc) // (6.4), then the ReLU
                }));
            }
        },
    );
    Ok((y, argmax, stats))
}

/// Backward of [`bn_relu_pool_forward`]: the gradients of `x`, `γ` and `β` from the pooled error `dp`. Each
/// image's error at the normalization's output and its `x̂` are built again in buffers, twice: once for the
/// channel sums, once for `dx` (the formula of [`super::batch_norm::backward_conv`], with its sums added in the
/// same order).
#[allow(clippy::too_many_arguments)]
pub fn bn_relu_pool_backward<T: Real>(
    dp: &DMatrix<T>,
    x: &DMatrix<T>,
    pooled: &DMatrix<T>,
    argmax: &[u32],
    stats: &[(T, T, T)],
    gamma: &DMatrix<T>,
    g: &PoolGeom,
) -> Result<super::batch_norm::BnGrads<T>> {
    const OP: &str = "bn_relu_pool backward";
    g.validate()?;
    let n = x.ncols();
    super::expect_shape(OP, "x: (C·H·W) x N", x, (g.in_len(), n))?;
    super::expect_shape(OP, "dp of the pooled output's shape", dp, (g.out_len(), n))?;
    super::expect_shape(OP, "pooled: the forward's output", pooled, dp.shape())?;
    super::expect_shape(OP, "gamma: 1 x C", gamma, (1, g.c))?;
    check_winners(OP, argmax, dp)?;
    if stats.len() != g.c {
        return Err(Error::invalid(
            OP,
            format!("statistics for {} channels of {}", stats.len(), g.c),
        ));
    }
    let (len, hw) = (g.in_len(), g.h * g.w);
    let mf = T::of((n * hw) as f64);
    let misplaced = AtomicBool::new(false);
    // Image `img`'s error at the normalization's output, in `dy`, and its `x̂`, in `xh`.
    let rebuild = |img: usize, dy: &mut Vec<T>, xh: &mut Vec<T>| {
        dy.clear();
        dy.resize(len, T::zero());
        if !unpool_image(dp, pooled, argmax, img, dy, g.disjoint()) {
            misplaced.store(true, Relaxed);
        }
        xh.clear();
        let xs = &x.as_slice()[img * len..(img + 1) * len];
        for (run, &(mu, _, s)) in xs.chunks_exact(hw).zip(stats) {
            xh.extend(run.iter().map(|&v| (v - mu) * s));
        }
    };
    // Each task's two image buffers, reused from image to image.
    let buffers = || (Vec::new(), Vec::new());
    let per_image: Vec<Vec<(T, T)>> = (0..n)
        .into_par_iter()
        .map_init(buffers, |(dy, xh), img| {
            rebuild(img, dy, xh);
            dy.chunks_exact(hw)
                .zip(xh.chunks_exact(hw))
                .map(|(d, h)| (lane_sum(d, |v| v), lane_dot(d, h)))
                .collect()
        })
        .collect();
    // Each channel's sums over the images in order, as `backward_conv` adds them.
    let sums: Vec<(T, T)> = (0..g.c)
        .map(|ch| {
            per_image.iter().fold((T::zero(), T::zero()), |(a, b), p| {
                (a + p[ch].0, b + p[ch].1)
            })
        })
        .collect();
    let dx = zeros_then(len * n, len, buffers, |(dy, xh), img, o: &mut [T]| {
        rebuild(img, dy, xh);
        let runs = o
            .chunks_exact_mut(hw)
            .zip(dy.chunks_exact(hw).zip(xh.chunks_exact(hw)));
        for (ch, (o, (d, h))) in runs.enumerate() {
            let (sum_dy, sum_dy_xhat) = sums[ch];
            let k = gamma[(0, ch)] * stats[ch].2 / mf;
            for ((o, &gv), &xv) in o.iter_mut().zip(d).zip(h) {
                *o = k * (mf * gv - sum_dy - xv * sum_dy_xhat);
            }
        }
    });
    if misplaced.into_inner() {
        return Err(foreign_winner(OP, len));
    }
    Ok(super::batch_norm::BnGrads {
        dx: DMatrix::from_vec(len, n, dx),
        dgamma: DMatrix::from_iterator(1, g.c, sums.iter().map(|s| s.1)), // (6.9)
        dbeta: DMatrix::from_iterator(1, g.c, sums.iter().map(|s| s.0)),
    })
}
// ANCHOR_END: bn_relu_pool
