//! The book's CNN block, convolution → ReLU → max pooling, as one op on the tape when both layers take the fast
//! path: [`crate::by_hand::conv_block`] computes it image by image, so the convolution's output is never stored.
//! Any other implementation records the three ops one after the other. After batch norm, [`relu_pool`] joins
//! the ReLU and the pooling the same way. `tests/conv.rs` proves the fused op equal
//! to the three, bit for bit, and to finite differences.

use super::batch_norm::{BatchNorm, Form};
use super::conv2d::{Conv2d, Impl};
use super::pool::Pool2d;
use crate::autograd::{Op, Tape, Var};
use crate::by_hand::conv_block;
use crate::by_hand::pool::Kind;
use crate::error::Result;
use crate::layout::{ConvGeom, PoolGeom};
use crate::scalar::Real;
use nalgebra::DMatrix;

/// The fused ops pool on the fast path, by the maximum.
fn fast_max(pool: &Pool2d) -> bool {
    (pool.imp, pool.kind) == (Impl::Fast, Kind::Max)
}

// ANCHOR: conv_relu_pool
/// `pool(relu(conv(x)))`: one op when `conv` and `pool` are both [`Impl::Fast`] and the pooling takes the
/// maximum; otherwise the three layers' own ops.
pub fn conv_relu_pool<T: Real>(
    tape: &mut Tape<T>,
    conv: &Conv2d,
    pool: &Pool2d,
    x: Var,
) -> Result<Var> {
    if !(conv.imp == Impl::Fast && fast_max(pool)) {
        let h = conv.forward(tape, x)?;
        let h = tape.relu(h)?;
        return pool.forward(tape, h);
    }
    super::conv2d::check(tape, x, conv, &conv.geom)?;
    let (xv, wv, bv) = (tape.value(x)?, tape.value(conv.w)?, tape.value(conv.b)?);
    let (y, argmax) = conv_block::forward(xv, wv, bv, &conv.geom, &pool.geom)?;
    let op = ConvReluPool {
        cg: conv.geom,
        pg: pool.geom,
        argmax,
    };
    tape.record(y, &[x, conv.w, conv.b], op)
}
// ANCHOR_END: conv_relu_pool

struct ConvReluPool {
    cg: ConvGeom,
    pg: PoolGeom,
    argmax: Vec<u32>,
}

impl<T: Real> Op<T> for ConvReluPool {
    fn name(&self) -> &'static str {
        "conv_relu_pool"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        y: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let (cg, pg) = (&self.cg, &self.pg);
        let grads = conv_block::backward(g, x[0], x[1], y, &self.argmax, cg, pg, needs[0])
            .expect("the tape's gradient has the output's shape, and argmax is this op's own");
        vec![
            needs[0].then_some(grads.dx),
            needs[1].then_some(grads.dw),
            needs[2].then_some(grads.db),
        ]
    }
}

// ANCHOR: relu_pool
/// `pool(relu(x))`: one op when `pool` is [`Impl::Fast`] and takes the maximum (after batch norm); otherwise
/// the two layers' own ops.
pub fn relu_pool<T: Real>(tape: &mut Tape<T>, pool: &Pool2d, x: Var) -> Result<Var> {
    if !fast_max(pool) {
        let h = tape.relu(x)?;
        return pool.forward(tape, h);
    }
    let (y, argmax) = conv_block::relu_pool_forward(tape.value(x)?, &pool.geom)?;
    tape.record(
        y,
        &[x],
        ReluPool {
            g: pool.geom,
            argmax,
        },
    )
}
// ANCHOR_END: relu_pool

struct ReluPool {
    g: PoolGeom,
    argmax: Vec<u32>,
}

impl<T: Real> Op<T> for ReluPool {
    fn name(&self) -> &'static str {
        "relu_pool"
    }
    fn backward(
        &self,
        _x: &[&DMatrix<T>],
        y: &DMatrix<T>,
        g: &DMatrix<T>,
        _needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let dx = conv_block::relu_pool_backward(g, y, &self.argmax, &self.g)
            .expect("the tape's gradient has the output's shape, and argmax is this op's own");
        vec![Some(dx)]
    }
}

// ANCHOR: bn_relu_pool
/// `pool(relu(bn(x)))`: one op when `bn` normalizes the image layout in training (chapter 6's fused form) and
/// `pool` is [`Impl::Fast`] max pooling over the same channels and planes; otherwise the layers' own ops.
pub fn bn_relu_pool<T: Real>(
    tape: &mut Tape<T>,
    bn: &BatchNorm,
    pool: &Pool2d,
    x: Var,
) -> Result<Var> {
    let g = pool.geom;
    let same_maps = bn.form
        == (Form::Conv {
            channels: g.c,
            hw: g.h * g.w,
        });
    if !(bn.image_pass() && same_maps && fast_max(pool)) {
        let h = bn.forward(tape, x)?;
        return relu_pool(tape, pool, h);
    }
    let (xv, gv, bv) = (tape.value(x)?, tape.value(bn.gamma)?, tape.value(bn.beta)?);
    let (y, argmax, stats) = conv_block::bn_relu_pool_forward(xv, gv, bv, bn.eps, &g)?;
    let means = stats.iter().map(|s| s.0).collect();
    let vars = stats.iter().map(|s| s.1).collect();
    bn.update_running(xv.len() / g.c, &(means, vars));
    tape.record(y, &[x, bn.gamma, bn.beta], BnReluPool { g, argmax, stats })
}
// ANCHOR_END: bn_relu_pool

struct BnReluPool<T> {
    g: PoolGeom,
    argmax: Vec<u32>,
    stats: Vec<(T, T, T)>,
}

impl<T: Real> Op<T> for BnReluPool<T> {
    fn name(&self) -> &'static str {
        "bn_relu_pool"
    }
    fn backward(
        &self,
        x: &[&DMatrix<T>],
        y: &DMatrix<T>,
        g: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>> {
        let (argmax, stats) = (&self.argmax, &self.stats);
        let grads = conv_block::bn_relu_pool_backward(g, x[0], y, argmax, stats, x[1], &self.g)
            .expect("the tape's gradient has the output's shape, and argmax is this op's own");
        vec![
            needs[0].then_some(grads.dx),
            needs[1].then_some(grads.dgamma),
            needs[2].then_some(grads.dbeta),
        ]
    }
}
