//! The book's CNN (chapters 4 and 5): conv 5x5 x32 (same) + ReLU, max-pool 2x2, conv 5x5 x64 (same) + ReLU,
//! max-pool 2x2, FC 3136 → 512 + ReLU, FC 512 → 10.

use super::batch_norm::{BatchNorm, BnImpl, Form};
use super::conv2d::{Conv2d, Impl};
use super::conv_block::{bn_relu_pool, conv_relu_pool};
use super::module::{child_buffers, child_params, Buffer, Classifier, Module};
use super::pool::Pool2d;
use super::{Init, Linear};
use crate::autograd::{Tape, Var};
use crate::by_hand::pool::Kind;
use crate::error::Result;
use crate::layout::{ConvGeom, PoolGeom};
use crate::rng::Rng;

#[derive(Clone, Debug)]
pub struct Cnn {
    pub conv1: Conv2d,
    pub pool1: Pool2d,
    pub conv2: Conv2d,
    pub pool2: Pool2d,
    pub fc1: Linear,
    pub fc2: Linear,
    /// Batch normalization after each convolution, before its ReLU (chapter 6), when present.
    pub bn: Option<[BatchNorm; 2]>,
}

impl Cnn {
    // ANCHOR: cnn
    /// The book's network for 1 x 28 x 28 images, with the convolution and pooling implementation `imp`.
    pub fn book(tape: &mut Tape<f32>, imp: Impl, rng: &mut Rng) -> Result<Self> {
        Cnn::book_init(tape, imp, Init::He, rng)
    }

    /// [`Cnn::book`] with every weight drawn by `init` (He by default; the book's code uses `0.01·N(0, 1)`).
    pub fn book_init(tape: &mut Tape<f32>, imp: Impl, init: Init, rng: &mut Rng) -> Result<Self> {
        let conv1 = Conv2d::with_init(tape, ConvGeom::same(1, 28, 28, 32, 5)?, imp, init, rng);
        let pool1 = Pool2d {
            kind: Kind::Max,
            geom: PoolGeom::new(32, 28, 28, 2, 2, 2)?,
            imp,
        };
        let conv2 = Conv2d::with_init(tape, ConvGeom::same(32, 14, 14, 64, 5)?, imp, init, rng);
        let pool2 = Pool2d {
            kind: Kind::Max,
            geom: PoolGeom::new(64, 14, 14, 2, 2, 2)?,
            imp,
        };
        let fc1 = Linear::new(tape, 64 * 7 * 7, 512, init, rng);
        let fc2 = Linear::new(tape, 512, 10, init, rng);
        Ok(Cnn {
            conv1,
            pool1,
            conv2,
            pool2,
            fc1,
            fc2,
            bn: None,
        })
    }
    // ANCHOR_END: cnn

    /// Chapter 6's network: the book's CNN with batch normalization after each convolution.
    pub fn book_bn(tape: &mut Tape<f32>, imp: Impl, bn: BnImpl, rng: &mut Rng) -> Result<Self> {
        Cnn::book_bn_init(tape, imp, bn, Init::He, rng)
    }

    /// [`Cnn::book_bn`] with every weight drawn by `init`.
    pub fn book_bn_init(
        tape: &mut Tape<f32>,
        imp: Impl,
        bn: BnImpl,
        init: Init,
        rng: &mut Rng,
    ) -> Result<Self> {
        let mut net = Cnn::book_init(tape, imp, init, rng)?;
        net.bn = Some([
            BatchNorm::new(
                tape,
                Form::Conv {
                    channels: 32,
                    hw: 28 * 28,
                },
                bn,
            ),
            BatchNorm::new(
                tape,
                Form::Conv {
                    channels: 64,
                    hw: 14 * 14,
                },
                bn,
            ),
        ]);
        Ok(net)
    }

    // ANCHOR: cnn_forward
    /// The feature maps after each conv + ReLU, for a batch in image layout `784 x N`.
    pub fn features(&self, tape: &mut Tape<f32>, images: Var) -> Result<[Var; 2]> {
        let mut h = self.conv1.forward(tape, images)?;
        if let Some(bn) = &self.bn {
            h = bn[0].forward(tape, h)?;
        }
        let f1 = tape.relu(h)?;
        let h = self.pool1.forward(tape, f1)?;
        let mut h = self.conv2.forward(tape, h)?;
        if let Some(bn) = &self.bn {
            h = bn[1].forward(tape, h)?;
        }
        let f2 = tape.relu(h)?;
        Ok([f1, f2])
    }

    /// Block `i` (0 or 1): convolution, batch norm when present, ReLU and pooling; the numbers of
    /// [`Cnn::features`] then pooling. On the fast path the convolution, the ReLU and the pooling are one op
    /// (with batch norm, the normalization, the ReLU and the pooling), so the full-size maps are not stored.
    fn block(&self, tape: &mut Tape<f32>, i: usize, x: Var) -> Result<Var> {
        let (conv, pool) = [(&self.conv1, &self.pool1), (&self.conv2, &self.pool2)][i];
        match &self.bn {
            None => conv_relu_pool(tape, conv, pool, x),
            Some(bn) => {
                let h = conv.forward(tape, x)?;
                bn_relu_pool(tape, &bn[i], pool, h)
            }
        }
    }
}

impl Classifier for Cnn {
    /// `x` holds one image per row (`N x 784`), as for the fully connected nets; the convolutions want one
    /// image per column, so the batch is transposed in and, after the last pooling, out again.
    fn logits(&self, tape: &mut Tape<f32>, x: Var) -> Result<Var> {
        let images = tape.transpose(x)?;
        let h = self.block(tape, 0, images)?;
        let h = self.block(tape, 1, h)?;
        let flat = tape.transpose(h)?; // N x 3136
        let h = self.fc1.forward(tape, flat)?;
        let h = tape.relu(h)?;
        self.fc2.forward(tape, h)
    }
    // ANCHOR_END: cnn_forward

    fn l2_params(&self) -> Vec<Var> {
        vec![self.conv1.w, self.conv2.w, self.fc1.w, self.fc2.w]
    }
}

/// `conv1.weight`, `conv1.bias`, `conv2.*`, `fc1.*`, `fc2.*`, then `bn1.gamma`, `bn1.beta`, `bn2.*`.
impl Module for Cnn {
    fn named_params(&self) -> Vec<(String, Var)> {
        let parts: [(&str, &dyn Module); 4] = [
            ("conv1", &self.conv1),
            ("conv2", &self.conv2),
            ("fc1", &self.fc1),
            ("fc2", &self.fc2),
        ];
        let mut p: Vec<_> = parts
            .iter()
            .flat_map(|(n, m)| child_params(n, *m))
            .collect();
        for (i, b) in self.bn.iter().flatten().enumerate() {
            p.extend(child_params(&format!("bn{}", i + 1), b));
        }
        p
    }
    fn named_buffers(&self) -> Vec<(String, &Buffer)> {
        let bn = self.bn.iter().flatten().enumerate();
        bn.flat_map(|(i, b)| child_buffers(&format!("bn{}", i + 1), b))
            .collect()
    }
    fn set_training(&self, on: bool) {
        self.bn.iter().flatten().for_each(|b| b.set_training(on));
    }
}
