//! Pooling, fast (book chapter 5): one pass over the input that remembers, for max pooling, where each
//! output's maximum was, so the backward pass is a single scatter with no second search. Same results as the
//! naive [`super::pool`], ties included.

use super::pool::Kind;
use crate::error::{Error, Result};
use crate::kernels::par::zeros_each;
use crate::layout::PoolGeom;
use crate::scalar::Real;
use nalgebra::DMatrix;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Forward; for max pooling also the input index of every output's maximum (first maximum on a tie).
/// Images are independent, so they are pooled on the threads of the rayon pool.
#[allow(clippy::type_complexity)]
pub fn forward<T: Real>(
    kind: Kind,
    x: &DMatrix<T>,
    g: &PoolGeom,
) -> Result<(DMatrix<T>, Vec<u32>)> {
    g.validate()?;
    let n = x.ncols();
    super::expect_shape("pool_fast", "x: (C·H·W) x N", x, (g.in_len(), n))?;
    let mut y = DMatrix::zeros(g.out_len(), n);
    let max = kind == Kind::Max;
    let mut argmax = vec![0u32; if max { g.out_len() * n } else { 0 }];
    let (src, outs) = (
        x.as_slice(),
        y.as_mut_slice().par_chunks_mut(g.out_len().max(1)),
    );
    if max {
        outs.zip(argmax.par_chunks_mut(g.out_len().max(1)))
            .enumerate()
            .for_each(|(img, (out, arg))| max_image(src, img, g, out, arg));
    } else {
        outs.enumerate()
            .for_each(|(img, out)| avg_image(src, img, g, out));
    }
    Ok((y, argmax))
}

/// The window of output `(oy, ox)` of channel plane `plane`: the input index of each of its rows' start.
fn window_rows(
    g: &PoolGeom,
    plane: usize,
    oy: usize,
    ox: usize,
) -> impl Iterator<Item = usize> + '_ {
    let corner = plane + oy * g.stride * g.w + ox * g.stride;
    (0..g.ph).map(move |dy| corner + dy * g.w)
}

// ANCHOR: pool_max
pub(crate) fn max_image<T: Real>(
    src: &[T],
    img: usize,
    g: &PoolGeom,
    out: &mut [T],
    arg: &mut [u32],
) {
    let (oh, ow) = (g.out_h(), g.out_w());
    if (g.ph, g.pw, g.stride) == (2, 2, 2) {
        return max_image_2x2(src, img, g, out, arg);
    }
    let mut at = 0;
    for ch in 0..g.c {
        let plane = img * g.in_len() + ch * g.h * g.w;
        for oy in 0..oh {
            for ox in 0..ow {
                let mut best = plane + oy * g.stride * g.w + ox * g.stride;
                for row in window_rows(g, plane, oy, ox) {
                    for s in row..row + g.pw {
                        if src[s] > src[best] {
                            best = s;
                        }
                    }
                }
                out[at] = src[best];
                arg[at] = best as u32;
                at += 1;
            }
        }
    }
}

// ANCHOR_END: pool_max
/// The book's window (2x2, stride 2) without the general loops: the four candidates of an output are two
/// pairs of neighbours in two rows, compared in the same order (first maximum on a tie).
fn max_image_2x2<T: Real>(src: &[T], img: usize, g: &PoolGeom, out: &mut [T], arg: &mut [u32]) {
    let (oh, ow, w) = (g.out_h(), g.out_w(), g.w);
    let (mut outs, mut args) = (out.chunks_exact_mut(ow), arg.chunks_exact_mut(ow));
    for ch in 0..g.c {
        let plane = img * g.in_len() + ch * g.h * w;
        for oy in 0..oh {
            let (o, a) = (outs.next().expect("out_len"), args.next().expect("out_len"));
            let r0 = plane + 2 * oy * w;
            let (top, bottom) = (&src[r0..r0 + 2 * ow], &src[r0 + w..r0 + w + 2 * ow]);
            for ox in 0..ow {
                let i = 2 * ox;
                let (mut best, mut at) = (top[i], r0 + i);
                for (v, k) in [
                    (top[i + 1], r0 + i + 1),
                    (bottom[i], r0 + w + i),
                    (bottom[i + 1], r0 + w + i + 1),
                ] {
                    if v > best {
                        (best, at) = (v, k);
                    }
                }
                o[ox] = best;
                a[ox] = at as u32;
            }
        }
    }
}

fn avg_image<T: Real>(src: &[T], img: usize, g: &PoolGeom, out: &mut [T]) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let inv_area = T::one() / T::of(g.window() as f64);
    let mut at = 0;
    for ch in 0..g.c {
        let plane = img * g.in_len() + ch * g.h * g.w;
        for oy in 0..oh {
            for ox in 0..ow {
                let mut s = T::zero();
                for row in window_rows(g, plane, oy, ox) {
                    for &v in &src[row..row + g.pw] {
                        s += v;
                    }
                }
                out[at] = s * inv_area;
                at += 1;
            }
        }
    }
}

/// Backward: max scatters each error to its remembered winner; average spreads it over the window.
pub fn backward<T: Real>(
    kind: Kind,
    dy: &DMatrix<T>,
    argmax: &[u32],
    g: &PoolGeom,
) -> Result<DMatrix<T>> {
    g.validate()?;
    let n = dy.ncols();
    super::expect_shape("pool_fast backward", "dy: (C·P) x N", dy, (g.out_len(), n))?;
    // ANCHOR: pool_scatter
    if kind == Kind::Max {
        // Image by image on the pool; each image's winners must lie in its own input. A short `argmax`, or an
        // index outside its image, means the argmax is not this forward pass's.
        let (len, out) = (g.in_len(), g.out_len());
        let misplaced = AtomicBool::new(argmax.len() != dy.len());
        let d = zeros_each(len * n, len, |img, d: &mut [T]| {
            let end = ((img + 1) * out).min(argmax.len());
            let outs = (img * out).min(end)..end;
            for (&i, &e) in argmax[outs.clone()].iter().zip(&dy.as_slice()[outs]) {
                match (i as usize)
                    .checked_sub(img * len)
                    .and_then(|at| d.get_mut(at))
                {
                    Some(v) => *v += e,
                    None => misplaced.store(true, Relaxed),
                }
            }
        });
        if misplaced.into_inner() {
            return Err(Error::invalid(
                "pool_fast backward",
                format!(
                    "{} argmax entries for {} outputs, each inside its own image's {len} inputs: not the \
                     forward pass of this dy",
                    argmax.len(),
                    dy.len(),
                ),
            ));
        }
        return Ok(DMatrix::from_vec(len, n, d));
    }
    // ANCHOR_END: pool_scatter
    // Average pooling: every input of a window takes an equal share of its error.
    let mut dx = DMatrix::zeros(g.in_len(), n);
    let d = dx.as_mut_slice();
    let inv_area = T::one() / T::of(g.window() as f64);
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut at = 0;
    let errs = dy.as_slice();
    for img in 0..n {
        for ch in 0..g.c {
            let plane = img * g.in_len() + ch * g.h * g.w;
            for oy in 0..oh {
                for ox in 0..ow {
                    let e = errs[at] * inv_area;
                    let corner = plane + oy * g.stride * g.w + ox * g.stride;
                    for dy_ in 0..g.ph {
                        let row = corner + dy_ * g.w;
                        for v in &mut d[row..row + g.pw] {
                            *v += e;
                        }
                    }
                    at += 1;
                }
            }
        }
    }
    Ok(dx)
}
