//! Pooling on the tape, three ways like [`super::conv2d`]: composed (gather the windows, reduce down the
//! columns with `max_rows` or `mean_rows`), and the hand-derived naive and fast versions as single ops.

use super::conv2d::Impl;
use crate::autograd::{Op, Tape, Var};
use crate::by_hand::pool::{self, Kind};
use crate::by_hand::pool_fast;
use crate::error::{Error, Result, Shape};
use crate::layout::PoolGeom;
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::sync::Arc;

// ANCHOR: pool2d
#[derive(Clone, Copy, Debug)]
pub struct Pool2d {
    pub kind: Kind,
    pub geom: PoolGeom,
    pub imp: Impl,
}

impl Pool2d {
    pub fn forward<T: Real>(&self, tape: &mut Tape<T>, x: Var) -> Result<Var> {
        let g = self.geom;
        g.validate()?;
        let xv = tape.value(x)?;
        if xv.nrows() != g.in_len() {
            return Err(Error::shape(
                "pool",
                &[Shape(xv.nrows(), xv.ncols())],
                format!(
                    "{} rows (C·H·W) for {} channels of {}x{}",
                    g.in_len(),
                    g.c,
                    g.h,
                    g.w
                ),
            ));
        }
        let n = xv.ncols();
        match self.imp {
            Impl::Composed => {
                let windows =
                    tape.gather(x, Arc::new(g.windows_index(n)), g.window(), n * g.out_len())?;
                let pooled = match self.kind {
                    Kind::Max => tape.max_rows(windows)?,
                    Kind::Avg => tape.mean_rows(windows)?,
                };
                // Columns are already in image order: read the row as a (C·P) x N matrix.
                let identity: Vec<u32> = (0..(n * g.out_len()) as u32).collect();
                tape.gather(pooled, Arc::new(identity), g.out_len(), n)
            }
            Impl::Fast => {
                let (y, argmax) = pool_fast::forward(self.kind, xv, &g)?;
                tape.record(
                    y,
                    &[x],
                    FastPool {
                        kind: self.kind,
                        g,
                        argmax,
                    },
                )
            }
            Impl::Naive => {
                let y = pool::forward(self.kind, xv, &g)?;
                tape.record(y, &[x], NaivePool { kind: self.kind, g })
            }
        }
    }
}
// ANCHOR_END: pool2d

impl super::Module for Pool2d {
    fn named_params(&self) -> Vec<(String, Var)> {
        Vec::new()
    }
}

struct FastPool {
    kind: Kind,
    g: PoolGeom,
    argmax: Vec<u32>,
}

impl<T: Real> Op<T> for FastPool {
    fn name(&self) -> &'static str {
        "pool_fast"
    }
    fn backward(
        &self,
        _x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let dx = pool_fast::backward(self.kind, g, &self.argmax, &self.g).expect(
            "the tape's gradient has the output's shape, and the argmax is the forward pass's",
        );
        vec![Some(dx)]
    }
}

struct NaivePool {
    kind: Kind,
    g: PoolGeom,
}

impl<T: Real> Op<T> for NaivePool {
    fn name(&self) -> &'static str {
        "pool_naive"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        _y: &DMatrix<T>,
        g: &DMatrix<T>,
        _n: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let dx = pool::backward(self.kind, g, x[0], &self.g)
            .expect("the tape's gradient has the output's shape");
        vec![Some(dx)]
    }
}
