//! Pooling, fast (book chapter 5): one pass over the input that remembers, for max pooling, where each
//! output's maximum was, so the backward pass is a single scatter with no second search. Same results as the
//! naive [`super::pool`], ties included.

use super::pool::Kind;
use crate::layout::PoolGeom;
use crate::scalar::Real;
use nalgebra::DMatrix;

// ANCHOR: pool_fast
/// Forward; for max pooling also the input index of every output's maximum (first maximum on a tie).
pub fn forward<T: Real>(kind: Kind, x: &DMatrix<T>, g: &PoolGeom) -> (DMatrix<T>, Vec<u32>) {
    let n = x.ncols();
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut y = DMatrix::zeros(g.out_len(), n);
    let mut argmax = Vec::with_capacity(if kind == Kind::Max {
        g.out_len() * n
    } else {
        0
    });
    let inv_area = T::one() / T::of(g.window() as f64);
    let src = x.as_slice();
    let out = y.as_mut_slice();
    let mut at = 0;
    for img in 0..n {
        for ch in 0..g.c {
            let plane = img * g.in_len() + ch * g.h * g.w;
            for oy in 0..oh {
                for ox in 0..ow {
                    let corner = plane + oy * g.stride * g.w + ox * g.stride;
                    match kind {
                        Kind::Max => {
                            let mut best = corner;
                            for dy in 0..g.ph {
                                let row = corner + dy * g.w;
                                for s in row..row + g.pw {
                                    if src[s] > src[best] {
                                        best = s;
                                    }
                                }
                            }
                            out[at] = src[best];
                            argmax.push(best as u32);
                        }
                        Kind::Avg => {
                            let mut s = T::zero();
                            for dy in 0..g.ph {
                                let row = corner + dy * g.w;
                                for &v in &src[row..row + g.pw] {
                                    s += v;
                                }
                            }
                            out[at] = s * inv_area;
                        }
                    }
                    at += 1;
                }
            }
        }
    }
    (y, argmax)
}

/// Backward: max scatters each error to its remembered winner; average spreads it over the window.
pub fn backward<T: Real>(kind: Kind, dy: &DMatrix<T>, argmax: &[u32], g: &PoolGeom) -> DMatrix<T> {
    let n = dy.ncols();
    let mut dx = DMatrix::zeros(g.in_len(), n);
    let d = dx.as_mut_slice();
    match kind {
        Kind::Max => {
            for (&i, &e) in argmax.iter().zip(dy.as_slice()) {
                d[i as usize] += e;
            }
        }
        Kind::Avg => {
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
        }
    }
    dx
}
// ANCHOR_END: pool_fast
