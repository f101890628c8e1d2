//! Convolution, naive (book chapter 4): loops that follow the derivation line by line.
//!
//! Shapes: input `X: (C_in·H·W) x N` (one image per column, see [`crate::layout`]); weights `W: K x C_out`
//! with `K = C_in·kh·kw`, row `k = (ci, dy, dx)` of column `co` being kernel `co`'s weight at channel `ci`,
//! offset `(dy, dx)`; bias `b: 1 x C_out`; output `Y: (C_out·OH·OW) x N`.
//!
//! Forward, a cross-correlation over the zero-padded input `X̃`:
//! `Y[n, co, oy, ox] = b[co] + Σ_{ci, dy, dx} X̃[n, ci, oy·s + dy, ox·s + dx] · W[co, ci, dy, dx]`.
//!
//! Backward, given `dY`:
//! - `db[co] = Σ_{n, oy, ox} dY[n, co, oy, ox]`: the bias was added at every position.
//! - `dW[co, ci, dy, dx] = Σ_{n, oy, ox} X̃[n, ci, oy·s + dy, ox·s + dx] · dY[n, co, oy, ox]`: the padded
//!   input correlated with the error.
//! - `dX̃[n, ci, i, j] = Σ_{co, oy, dy : oy·s + dy = i} … dY[n, co, oy, ox] · W[co, ci, dy, dx]`. Spreading
//!   the error with `s - 1` zeros between entries (dilation, `D`) and padding it with `k - 1` zeros (`D̃`) turns
//!   this into a *full convolution*: `dX̃[i, j] = Σ_{co, a, c} D̃[co, i + a, j + c] · W[co, ci, kh-1-a, kw-1-c]`,
//!   a correlation with the kernel rotated by 180°. `dX` is `dX̃` without its padding border.

use crate::error::Result;
use crate::layout::ConvGeom;
use crate::scalar::Real;
use nalgebra::DMatrix;

// ANCHOR: conv_naive_forward
pub fn forward<T: Real>(
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &DMatrix<T>,
    g: &ConvGeom,
) -> Result<DMatrix<T>> {
    check_forward("conv", x, w, b, g)?;
    let n = x.ncols();
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut y = DMatrix::zeros(g.out_len(), n);
    for img in 0..n {
        for co in 0..g.c_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = b[(0, co)];
                    for ci in 0..g.c_in {
                        for dy in 0..g.kh {
                            for dx in 0..g.kw {
                                let k = (ci * g.kh + dy) * g.kw + dx;
                                if let Some(src) = g.source(img, oy, ox, k) {
                                    acc += x.as_slice()[src] * w[(k, co)];
                                }
                            }
                        }
                    }
                    y[((co * oh + oy) * ow + ox, img)] = acc;
                }
            }
        }
    }
    Ok(y)
}
// ANCHOR_END: conv_naive_forward

#[derive(Debug)]
pub struct ConvGrads<T: Real> {
    pub dx: DMatrix<T>,
    pub dw: DMatrix<T>,
    pub db: DMatrix<T>,
}

pub fn backward<T: Real>(
    dy: &DMatrix<T>,
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    g: &ConvGeom,
) -> Result<ConvGrads<T>> {
    check_backward("conv backward", dy, x, w, g)?;
    // ANCHOR: conv_naive_backward
    let n = x.ncols();
    let (oh, ow, s) = (g.out_h(), g.out_w(), g.stride);
    let err = |img: usize, co: usize, oy: usize, ox: usize| dy[((co * oh + oy) * ow + ox, img)];

    // db: the error summed over images and positions.
    let mut db = DMatrix::zeros(1, g.c_out);
    for img in 0..n {
        for co in 0..g.c_out {
            for p in 0..oh * ow {
                db[(0, co)] += dy[(co * oh * ow + p, img)]; // (4.7)
            }
        }
    }

    // dW: the padded input correlated with the error.
    let padded = |img: usize, ci: usize, i: usize, j: usize| -> T {
        match (i.checked_sub(g.pad), j.checked_sub(g.pad)) {
            (Some(iy), Some(ix)) if iy < g.h && ix < g.w => x[((ci * g.h + iy) * g.w + ix, img)],
            _ => T::zero(),
        }
    };
    let mut dw = DMatrix::zeros(g.patch(), g.c_out);
    for co in 0..g.c_out {
        for ci in 0..g.c_in {
            for dy_ in 0..g.kh {
                for dx_ in 0..g.kw {
                    let mut acc = T::zero();
                    for img in 0..n {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                acc += padded(img, ci, oy * s + dy_, ox * s + dx_)
                                    * err(img, co, oy, ox);
                            }
                        }
                    }
                    dw[((ci * g.kh + dy_) * g.kw + dx_, co)] = acc; // (4.8)
                }
            }
        }
    }
    // ANCHOR_END: conv_naive_backward

    // ANCHOR: conv_naive_dx
    // dX: the full convolution of the dilated error with the kernel rotated by 180°, cropped:
    // (4.10) to (4.12).
    let dilated_padded = |img: usize, co: usize, t: isize, u: isize| -> T {
        // Position (t, u) of the dilated error padded by (kh - 1, kw - 1).
        let (t, u) = (t - (g.kh as isize - 1), u - (g.kw as isize - 1));
        if t < 0 || u < 0 || t as usize % s != 0 || u as usize % s != 0 {
            return T::zero();
        }
        let (oy, ox) = (t as usize / s, u as usize / s);
        if oy < oh && ox < ow {
            err(img, co, oy, ox)
        } else {
            T::zero()
        }
    };
    let mut dx = DMatrix::zeros(g.in_len(), n);
    for img in 0..n {
        for ci in 0..g.c_in {
            for iy in 0..g.h {
                for ix in 0..g.w {
                    let (i, j) = ((iy + g.pad) as isize, (ix + g.pad) as isize);
                    let mut acc = T::zero();
                    for co in 0..g.c_out {
                        for a in 0..g.kh {
                            for c in 0..g.kw {
                                let rotated =
                                    w[((ci * g.kh + g.kh - 1 - a) * g.kw + g.kw - 1 - c, co)];
                                acc += dilated_padded(img, co, i + a as isize, j + c as isize)
                                    * rotated;
                            }
                        }
                    }
                    dx[((ci * g.h + iy) * g.w + ix, img)] = acc; // (4.11), cropped: (4.12)
                }
            }
        }
    }
    // ANCHOR_END: conv_naive_dx
    Ok(ConvGrads { dx, dw, db })
}

/// The geometry (its fields are public) and the operands' shapes, checked before any loop divides by the
/// stride or indexes with them.
pub(crate) fn check_forward<T: Real>(
    op: &'static str,
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    b: &DMatrix<T>,
    g: &ConvGeom,
) -> Result<()> {
    g.validate()?;
    super::expect_shape(op, "x: (C·H·W) x N", x, (g.in_len(), x.ncols()))?;
    super::expect_shape(op, "w: K x C_out", w, (g.patch(), g.c_out))?;
    super::expect_shape(op, "b: 1 x C_out", b, (1, g.c_out))
}

/// The geometry (its fields are public), the input, the weights and `dy` of the output's shape, checked
/// before any loop divides by the stride or indexes with them.
pub(crate) fn check_backward<T: Real>(
    op: &'static str,
    dy: &DMatrix<T>,
    x: &DMatrix<T>,
    w: &DMatrix<T>,
    g: &ConvGeom,
) -> Result<()> {
    g.validate()?;
    let n = x.ncols();
    super::expect_shape(op, "x: (C·H·W) x N", x, (g.in_len(), n))?;
    super::expect_shape(op, "w: K x C_out", w, (g.patch(), g.c_out))?;
    super::expect_shape(op, "dy of the output's shape", dy, (g.out_len(), n))
}

// ANCHOR: convolve_full
/// True convolution (the kernel flipped), as signal processing defines it: `(x ∗ k)[i] = Σ_a x[i - a] k[a]`,
/// here over one channel without padding, "full" size. Deep learning's "convolution" is the
/// cross-correlation `Σ_a x[i + a] k[a]`; the two differ by rotating the kernel 180°.
pub fn convolve_full(x: &DMatrix<f64>, k: &DMatrix<f64>) -> DMatrix<f64> {
    let (h, w) = x.shape();
    let (kh, kw) = k.shape();
    DMatrix::from_fn(h + kh - 1, w + kw - 1, |i, j| {
        let mut acc = 0.0;
        for a in 0..kh {
            for c in 0..kw {
                if let (Some(y), Some(z)) = (i.checked_sub(a), j.checked_sub(c)) {
                    if y < h && z < w {
                        acc += x[(y, z)] * k[(a, c)];
                    }
                }
            }
        }
        acc
    })
}
// ANCHOR_END: convolve_full
