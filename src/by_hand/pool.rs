//! Pooling, naive (book chapter 4), for any window and stride (the book's code needed window = stride).
//!
//! Max pooling: `Y[n, c, oy, ox] = max_{dy, dx} X[n, c, oy·s + dy, ox·s + dx]`. Its derivative is 1 at the
//! maximum and 0 elsewhere, so the backward pass routes each output's error to the input that won.
//! **Ties:** the first maximum in row-major window order wins and takes the whole gradient (a subgradient; the
//! fast version and the tape's `max_rows` follow the same rule, so all three agree exactly).
//! Where windows overlap (stride < window), an input collects the errors of every window it won.
//!
//! Average pooling: `Y = (1/(ph·pw)) Σ_{dy, dx} X[…]`, so every input of a window receives `dY / (ph·pw)`.

use crate::error::Result;
use crate::layout::PoolGeom;
use crate::scalar::Real;
use nalgebra::DMatrix;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Max,
    Avg,
}

// ANCHOR: pool_naive
/// The window entry that wins max pooling: the first maximum in row-major order.
fn winner<T: Real>(
    x: &DMatrix<T>,
    g: &PoolGeom,
    img: usize,
    ch: usize,
    oy: usize,
    ox: usize,
) -> usize {
    let src = x.as_slice();
    let mut best = g.source(img, ch, oy, ox, 0, 0);
    for dy in 0..g.ph {
        for dx in 0..g.pw {
            let s = g.source(img, ch, oy, ox, dy, dx);
            if src[s] > src[best] {
                best = s;
            }
        }
    }
    best
}
// ANCHOR_END: pool_naive

pub fn forward<T: Real>(kind: Kind, x: &DMatrix<T>, g: &PoolGeom) -> Result<DMatrix<T>> {
    g.validate()?;
    let n = x.ncols();
    super::expect_shape("pool", "x: (C·H·W) x N", x, (g.in_len(), n))?;
    // ANCHOR: pool_naive_forward
    let mut y = DMatrix::zeros(g.out_len(), n);
    let area = T::of(g.window() as f64);
    for img in 0..n {
        for ch in 0..g.c {
            for oy in 0..g.out_h() {
                for ox in 0..g.out_w() {
                    let v = match kind {
                        Kind::Max => x.as_slice()[winner(x, g, img, ch, oy, ox)], // (4.3)
                        Kind::Avg => {
                            let mut s = T::zero();
                            for dy in 0..g.ph {
                                for dx in 0..g.pw {
                                    s += x.as_slice()[g.source(img, ch, oy, ox, dy, dx)];
                                }
                            }
                            s / area // (4.4)
                        }
                    };
                    y[((ch * g.out_h() + oy) * g.out_w() + ox, img)] = v;
                }
            }
        }
    }
    Ok(y)
    // ANCHOR_END: pool_naive_forward
}

pub fn backward<T: Real>(
    kind: Kind,
    dy: &DMatrix<T>,
    x: &DMatrix<T>,
    g: &PoolGeom,
) -> Result<DMatrix<T>> {
    g.validate()?;
    let n = x.ncols();
    super::expect_shape("pool backward", "x: (C·H·W) x N", x, (g.in_len(), n))?;
    super::expect_shape(
        "pool backward",
        "dy of the output's shape",
        dy,
        (g.out_len(), n),
    )?;
    // ANCHOR: pool_naive_backward
    let mut dx = DMatrix::zeros(g.in_len(), n);
    let area = T::of(g.window() as f64);
    for img in 0..n {
        for ch in 0..g.c {
            for oy in 0..g.out_h() {
                for ox in 0..g.out_w() {
                    let e = dy[((ch * g.out_h() + oy) * g.out_w() + ox, img)];
                    match kind {
                        Kind::Max => dx.as_mut_slice()[winner(x, g, img, ch, oy, ox)] += e, // (4.13)
                        Kind::Avg => {
                            // (4.14)
                            for ddy in 0..g.ph {
                                for ddx in 0..g.pw {
                                    dx.as_mut_slice()[g.source(img, ch, oy, ox, ddy, ddx)] +=
                                        e / area;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(dx)
    // ANCHOR_END: pool_naive_backward
}
