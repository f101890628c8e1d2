//! Batch normalization, derived by hand (book chapter 6), in the fully connected form: `x: m x D`, statistics
//! per feature (column) over the `m` rows. The convolutional form normalises per channel over `N·H·W` values;
//! [`to_rows`] and [`from_rows`] turn the image layout into this form (`m = N·H·W` rows, `C` columns) and back.
//!
//! Forward (training), per feature:
//! `μ = (1/m) Σ x`, `σ² = (1/m) Σ (x - μ)²` (the biased variance), `x̂ = (x - μ)/√(σ² + ε)`, `y = γ x̂ + β`.
//!
//! Backward: `dβ = Σ dy`, `dγ = Σ dy ⊙ x̂`, and, because `μ` and `σ²` depend on every `x` of the batch,
//! `dx = (1/m) · γ/√(σ² + ε) · (m dy - Σ dy - x̂ Σ (dy ⊙ x̂))`.
//! Derivation: with `s = 1/√(σ² + ε)`, `∂x̂_i/∂x_j = s (δ_ij - 1/m - x̂_i x̂_j / m)`; so
//! `dx_j = Σ_i γ dy_i ∂x̂_i/∂x_j = γ s (dy_j - (1/m) Σ dy - (x̂_j/m) Σ dy x̂)`.
//! (The book's published code multiplies its last term by an extra `1/√(σ² + ε)`: see `tests/batch_norm.rs`.)

use crate::error::{Error, Result, Shape};
use crate::kernels::par::zeros_each;
use crate::scalar::Real;
use nalgebra::DMatrix;
use rayon::prelude::*;

pub struct BnCache<T: Real> {
    pub x_hat: DMatrix<T>,
    /// `1/√(σ² + ε)` per feature.
    pub inv_std: Vec<T>,
    pub gamma: DMatrix<T>,
}

/// Training forward: normalise with the batch's mean and biased variance. Returns `y`, the cache, and the
/// batch statistics `(μ, σ²)` (for the running averages).
#[allow(clippy::type_complexity)]
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    gamma: &DMatrix<T>,
    beta: &DMatrix<T>,
    eps: f64,
) -> Result<(DMatrix<T>, BnCache<T>, (Vec<T>, Vec<T>))> {
    let (m, d) = x.shape();
    if m == 0 || gamma.shape() != (1, d) || beta.shape() != (1, d) {
        return Err(Error::shape(
            "batch_norm",
            &[
                Shape(m, d),
                Shape(gamma.nrows(), gamma.ncols()),
                Shape(beta.nrows(), beta.ncols()),
            ],
            format!("x: m x {d} with m > 0, gamma and beta: 1 x {d}"),
        ));
    }
    // ANCHOR: bn_forward
    let mf = T::of(m as f64);
    let mut x_hat = DMatrix::zeros(m, d);
    let mut y = DMatrix::zeros(m, d);
    let (mut means, mut vars, mut inv_std) = (
        Vec::with_capacity(d),
        Vec::with_capacity(d),
        Vec::with_capacity(d),
    );
    for j in 0..d {
        let col = x.column(j);
        let mu = col.sum() / mf; // (6.1)
        let var = col // (6.2)
            .iter()
            .map(|&v| (v - mu) * (v - mu))
            .fold(T::zero(), |a, b| a + b)
            / mf;
        let s = T::one() / (var + T::of(eps)).sqrt();
        for i in 0..m {
            let h = (x[(i, j)] - mu) * s; // (6.3)
            x_hat[(i, j)] = h;
            y[(i, j)] = gamma[(0, j)] * h + beta[(0, j)]; // (6.4)
        }
        means.push(mu);
        vars.push(var);
        inv_std.push(s);
    }
    let cache = BnCache {
        x_hat,
        inv_std,
        gamma: gamma.clone(),
    };
    Ok((y, cache, (means, vars)))
}
// ANCHOR_END: bn_forward

#[derive(Debug)]
pub struct BnGrads<T: Real> {
    pub dx: DMatrix<T>,
    pub dgamma: DMatrix<T>,
    pub dbeta: DMatrix<T>,
}

// ANCHOR: bn_backward
/// The compact form: `dx = (1/m) γ s (m dy - Σ dy - x̂ Σ (dy ⊙ x̂))`.
pub fn backward<T: Real>(dy: &DMatrix<T>, c: &BnCache<T>) -> Result<BnGrads<T>> {
    check_cache("batch_norm backward", dy, c, c.x_hat.ncols())?;
    let (m, d) = dy.shape();
    let mf = T::of(m as f64);
    let mut dx = DMatrix::zeros(m, d);
    let mut dgamma = DMatrix::zeros(1, d);
    let mut dbeta = DMatrix::zeros(1, d);
    for j in 0..d {
        let (mut sum_dy, mut sum_dy_xhat) = (T::zero(), T::zero());
        for i in 0..m {
            sum_dy += dy[(i, j)];
            sum_dy_xhat += dy[(i, j)] * c.x_hat[(i, j)];
        }
        dbeta[(0, j)] = sum_dy;
        dgamma[(0, j)] = sum_dy_xhat; // (6.9)
        let k = c.gamma[(0, j)] * c.inv_std[j] / mf; // (6.12)
        for i in 0..m {
            dx[(i, j)] = k * (mf * dy[(i, j)] - sum_dy - c.x_hat[(i, j)] * sum_dy_xhat);
        }
    }
    Ok(BnGrads { dx, dgamma, dbeta })
}
// ANCHOR_END: bn_backward

/// `dy` of the normalised values' shape, and a cache whose parts agree on the number of features (its fields
/// are public, so it may have been put together by hand).
fn check_cache<T: Real>(
    op: &'static str,
    dy: &DMatrix<T>,
    c: &BnCache<T>,
    features: usize,
) -> Result<()> {
    super::expect_shape(op, "dy of x̂'s shape", dy, c.x_hat.shape())?;
    if c.gamma.shape() != (1, features) || c.inv_std.len() != features || features == 0 {
        return Err(Error::shape(
            op,
            &[
                Shape(c.x_hat.nrows(), c.x_hat.ncols()),
                Shape(c.gamma.nrows(), c.gamma.ncols()),
                Shape(c.inv_std.len(), 1),
            ],
            format!("a cache with γ: 1x{features} and {features} inverse deviations"),
        ));
    }
    Ok(())
}

/// Inference: normalise with given (running) statistics; works for any number of rows, one included.
pub fn infer<T: Real>(
    x: &DMatrix<T>,
    gamma: &DMatrix<T>,
    beta: &DMatrix<T>,
    mean: &DMatrix<T>,
    var: &DMatrix<T>,
    eps: f64,
) -> DMatrix<T> {
    DMatrix::from_fn(x.nrows(), x.ncols(), |i, j| {
        gamma[(0, j)] * (x[(i, j)] - mean[(0, j)]) / (var[(0, j)] + T::of(eps)).sqrt()
            + beta[(0, j)]
    })
}

// ANCHOR: bn_layout
/// Image layout `(C·H·W) x N` to `(N·H·W) x C`: one row per pixel position of each image, one column per channel.
pub fn to_rows<T: Real>(x: &DMatrix<T>, channels: usize) -> DMatrix<T> {
    let (chw, n) = x.shape();
    let hw = chw / channels;
    DMatrix::from_fn(n * hw, channels, |r, c| x[(c * hw + r % hw, r / hw)])
}

/// The inverse of [`to_rows`].
pub fn from_rows<T: Real>(r: &DMatrix<T>, hw: usize) -> DMatrix<T> {
    let (nhw, c) = r.shape();
    let n = nhw / hw;
    DMatrix::from_fn(c * hw, n, |row, img| r[(img * hw + row % hw, row / hw)])
}
// ANCHOR_END: bn_layout

/// The convolutional form straight on the image layout `(C·HW) x N`, for speed: channel `c` of image `n` is
/// the contiguous run `c·HW .. (c+1)·HW` of column `n`, so a channel's statistics are sums over `N` runs and
/// nothing is reordered. Its sums run several at once (see `lane_sum`), so its results differ from [`forward`]
/// on [`to_rows`]' output by rounding only; `tests/batch_norm.rs` checks it.
#[allow(clippy::type_complexity)]
pub fn forward_conv<T: Real>(
    x: &DMatrix<T>,
    channels: usize,
    gamma: &DMatrix<T>,
    beta: &DMatrix<T>,
    eps: f64,
) -> Result<(DMatrix<T>, BnCache<T>, (Vec<T>, Vec<T>))> {
    let (chw, n) = x.shape();
    if n == 0 || channels == 0 || chw % channels != 0 || chw == 0 {
        return Err(Error::shape(
            "batch_norm",
            &[Shape(chw, n)],
            format!("(C·H·W) x N images with {channels} channels and N > 0"),
        ));
    }
    let hw = chw / channels;
    if gamma.shape() != (1, channels) || beta.shape() != (1, channels) {
        return Err(Error::shape(
            "batch_norm",
            &[
                Shape(chw, n),
                Shape(gamma.nrows(), gamma.ncols()),
                Shape(beta.nrows(), beta.ncols()),
            ],
            format!("gamma and beta: 1 x {channels}"),
        ));
    }
    // ANCHOR: bn_conv_forward
    let data = x.as_slice();
    // Statistics channel by channel, then the normalisation image by image; the channels, then the images,
    // are spread over the rayon pool.
    let stats = conv_stats(x, channels, eps);
    // Each image's part of x̂, then of y, is zeroed and written by the thread that takes the image.
    let x_hat = zeros_each(chw * n, chw, |img, hs: &mut [T]| {
        let xs = &data[img * chw..(img + 1) * chw];
        for (c, &(mu, _, s)) in stats.iter().enumerate() {
            let at = c * hw..(c + 1) * hw;
            for (h, &v) in hs[at.clone()].iter_mut().zip(&xs[at]) {
                *h = (v - mu) * s; // (6.3)
            }
        }
    });
    let y = zeros_each(chw * n, chw, |img, ys: &mut [T]| {
        let hs = &x_hat[img * chw..(img + 1) * chw];
        for c in 0..channels {
            let (g, b) = (gamma[(0, c)], beta[(0, c)]);
            let at = c * hw..(c + 1) * hw;
            for (o, &h) in ys[at.clone()].iter_mut().zip(&hs[at]) {
                *o = g * h + b; // (6.4)
            }
        }
    });
    let (x_hat, y) = (
        DMatrix::from_vec(chw, n, x_hat),
        DMatrix::from_vec(chw, n, y),
    );
    // ANCHOR_END: bn_conv_forward
    let means = stats.iter().map(|s| s.0).collect();
    let vars = stats.iter().map(|s| s.1).collect();
    let inv_std = stats.iter().map(|s| s.2).collect();
    let cache = BnCache {
        x_hat,
        inv_std,
        gamma: gamma.clone(),
    };
    Ok((y, cache, (means, vars)))
}

/// Mean, variance and `1/√(σ² + ε)` of each channel of images `x` (`(C·HW) x N`), as [`forward_conv`] takes them.
pub(crate) fn conv_stats<T: Real>(x: &DMatrix<T>, channels: usize, eps: f64) -> Vec<(T, T, T)> {
    let (chw, n) = x.shape();
    let hw = chw / channels;
    let mf = T::of((n * hw) as f64);
    let data = x.as_slice();
    let runs =
        |c: usize| (0..n).map(move |img| &data[img * chw + c * hw..img * chw + (c + 1) * hw]);
    (0..channels)
        .into_par_iter()
        .map(|c| {
            let mu = runs(c) // (6.8)
                .map(|r| lane_sum(r, |v| v))
                .fold(T::zero(), |a, b| a + b)
                / mf;
            let var = runs(c) // (6.2), per channel
                .map(|r| lane_sum(r, |v| (v - mu) * (v - mu)))
                .fold(T::zero(), |a, b| a + b)
                / mf;
            (mu, var, T::one() / (var + T::of(eps)).sqrt())
        })
        .collect()
}

/// [`backward`] on the image layout: the same sums, over each channel's `N` runs.
pub fn backward_conv<T: Real>(dy: &DMatrix<T>, c: &BnCache<T>) -> Result<BnGrads<T>> {
    let channels = c.inv_std.len();
    check_cache("batch_norm_conv backward", dy, c, channels)?;
    if c.x_hat.nrows() % channels != 0 {
        return Err(Error::shape(
            "batch_norm_conv backward",
            &[Shape(c.x_hat.nrows(), c.x_hat.ncols())],
            format!("(C·H·W) x N images with {channels} channels"),
        ));
    }
    let (chw, n) = dy.shape();
    let hw = chw / channels;
    // ANCHOR: bn_conv_backward
    let mf = T::of((n * hw) as f64);
    let (d, h) = (dy.as_slice(), c.x_hat.as_slice());
    let sums: Vec<(T, T)> = (0..channels)
        .into_par_iter()
        .map(|ch| {
            let (mut sum_dy, mut sum_dy_xhat) = (T::zero(), T::zero());
            for img in 0..n {
                let at = img * chw + ch * hw..img * chw + (ch + 1) * hw;
                sum_dy += lane_sum(&d[at.clone()], |g| g);
                sum_dy_xhat += lane_dot(&d[at.clone()], &h[at]);
            }
            (sum_dy, sum_dy_xhat)
        })
        .collect();
    let dx = zeros_each(chw * n, chw, |img, out: &mut [T]| {
        let (ds, hs) = (
            &d[img * chw..(img + 1) * chw],
            &h[img * chw..(img + 1) * chw],
        );
        for (ch, &(sum_dy, sum_dy_xhat)) in sums.iter().enumerate() {
            let k = c.gamma[(0, ch)] * c.inv_std[ch] / mf;
            let at = ch * hw..(ch + 1) * hw;
            for ((o, &g), &xh) in out[at.clone()].iter_mut().zip(&ds[at.clone()]).zip(&hs[at]) {
                *o = k * (mf * g - sum_dy - xh * sum_dy_xhat);
            }
        }
    });
    let dx = DMatrix::from_vec(chw, n, dx);
    let dgamma = DMatrix::from_iterator(1, channels, sums.iter().map(|s| s.1)); // (6.9)
    let dbeta = DMatrix::from_iterator(1, channels, sums.iter().map(|s| s.0));
    // ANCHOR_END: bn_conv_backward
    Ok(BnGrads { dx, dgamma, dbeta })
}

/// `Σ f(x)` with eight running sums side by side, added at the end. A single running sum makes every addition
/// wait for the one before (a few cycles each); eight independent ones fill the vector registers instead. The
/// order of additions differs from a plain loop's, so results differ from it by rounding.
pub(crate) fn lane_sum<T: Real>(xs: &[T], f: impl Fn(T) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    let tail = rest.iter().fold(T::zero(), |a, &v| a + f(v));
    acc.iter().fold(tail, |a, &b| a + b)
}

/// `Σ a ⊙ b`, the same way as [`lane_sum`].
pub(crate) fn lane_dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .fold(T::zero(), |s, (&x, &y)| s + x * y);
    for (x, y) in ca.zip(cb) {
        for ((s, &p), &q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}
