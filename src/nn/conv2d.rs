//! The convolution layer on the tape, three ways: composed from tape ops (gather = im2col, matmul, bias,
//! gather back to images; autograd derives the backward), and the hand-derived naive and fast versions
//! registered as single ops. `tests/conv.rs` proves all three equal, and equal to finite differences.

use super::{Init, Module};
use crate::autograd::{Op, Tape, Var};
use crate::by_hand::{conv, conv_fast};
use crate::error::{Error, Result, Shape};
use crate::layout::{rows_to_images_index, ConvGeom};
use crate::rng::Rng;
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::sync::Arc;

/// Which implementation a layer records on the tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    /// Chapter 4's loops.
    Naive,
    /// Chapter 5's im2col and one matrix product.
    Fast,
    /// Built from tape ops; autograd derives the backward.
    Composed,
}

// ANCHOR: conv2d
/// `c_out` kernels of `c_in x kh x kw` over images in the layout of [`crate::layout`]. Weights `K x c_out`
/// (`K = c_in·kh·kw`), bias `1 x c_out`.
#[derive(Clone, Copy, Debug)]
pub struct Conv2d {
    pub w: Var,
    pub b: Var,
    pub geom: ConvGeom,
    pub imp: Impl,
}

impl Conv2d {
    /// He initialisation over the fan-in `c_in·kh·kw`, zero bias.
    pub fn new<T: Real>(tape: &mut Tape<T>, geom: ConvGeom, imp: Impl, rng: &mut Rng) -> Self {
        Self::with_init(tape, geom, imp, Init::He, rng)
    }

    /// Weights drawn by `init` over the fan-in `c_in·kh·kw` (fan-out `c_out`), zero bias.
    pub fn with_init<T: Real>(
        tape: &mut Tape<T>,
        geom: ConvGeom,
        imp: Impl,
        init: Init,
        rng: &mut Rng,
    ) -> Self {
        let w = tape.param(init.matrix(geom.patch(), geom.c_out, rng));
        let b = tape.param(DMatrix::zeros(1, geom.c_out));
        Conv2d { w, b, geom, imp }
    }

    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        let g = self.geom;
        let n = check(tape, x, self, &g)?;
        match self.imp {
            Impl::Composed => {
                let p = g.positions();
                let cols = tape.gather(x, Arc::new(g.im2col_index(n)), n * p, g.patch())?;
                let r = tape.matmul(cols, self.w)?;
                let r = tape.add(r, self.b)?;
                let index = Arc::new(rows_to_images_index(n, p, g.c_out));
                tape.gather(r, index, g.out_len(), n)
            }
            Impl::Fast => {
                let (xv, wv, bv) = (tape.value(x)?, tape.value(self.w)?, tape.value(self.b)?);
                let y = conv_fast::forward(xv, wv, bv, &g)?;
                tape.record(y, &[x, self.w, self.b], FastConv { g })
            }
            Impl::Naive => {
                let (xv, wv, bv) = (tape.value(x)?, tape.value(self.w)?, tape.value(self.b)?);
                let y = conv::forward(xv, wv, bv, &g)?;
                tape.record(y, &[x, self.w, self.b], NaiveConv { g })
            }
        }
    }
}
// ANCHOR_END: conv2d

impl Module for Conv2d {
    fn named_params(&self) -> Vec<(String, Var)> {
        vec![("weight".into(), self.w), ("bias".into(), self.b)]
    }
}

pub(super) fn check<T: Real>(
    tape: &Tape<T>,
    x: Var,
    layer: &Conv2d,
    g: &ConvGeom,
) -> Result<usize> {
    g.validate()?;
    let (xv, wv, bv) = (tape.value(x)?, tape.value(layer.w)?, tape.value(layer.b)?);
    if xv.nrows() != g.in_len() || wv.shape() != (g.patch(), g.c_out) || bv.shape() != (1, g.c_out)
    {
        return Err(Error::shape(
            "conv2d",
            &[
                Shape(xv.nrows(), xv.ncols()),
                Shape(wv.nrows(), wv.ncols()),
                Shape(bv.nrows(), bv.ncols()),
            ],
            format!(
                "input {}x N (C·H·W x images), weights {}x{}, bias 1x{} for {g}",
                g.in_len(),
                g.patch(),
                g.c_out,
                g.c_out
            ),
        ));
    }
    Ok(xv.ncols())
}

struct FastConv {
    g: ConvGeom,
}

impl<T: Real> Op<T> for FastConv {
    fn name(&self) -> &'static str {
        "conv2d_fast"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let grads = conv_fast::backward(g, x[0], x[1], &self.g, needs[0])
            .expect("the tape's gradient has the output's shape, checked inputs");
        vec![
            needs[0].then_some(grads.dx),
            needs[1].then_some(grads.dw),
            needs[2].then_some(grads.db),
        ]
    }
}

struct NaiveConv {
    g: ConvGeom,
}

impl<T: Real> Op<T> for NaiveConv {
    fn name(&self) -> &'static str {
        "conv2d_naive"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let grads = conv::backward(g, x[0], x[1], &self.g)
            .expect("the tape's gradient has the output's shape, checked inputs");
        vec![
            needs[0].then_some(grads.dx),
            needs[1].then_some(grads.dw),
            needs[2].then_some(grads.db),
        ]
    }
}
