//! The book's CNN (chapters 4 and 5): conv 5x5 x32 (same) + ReLU, max-pool 2x2, conv 5x5 x64 (same) + ReLU,
//! max-pool 2x2, FC 3136 → 512 + ReLU, FC 512 → 10.

use super::conv2d::{Conv2d, Impl};
use super::pool::Pool2d;
use super::{Init, Linear};
use crate::autograd::{Tape, Var};
use crate::by_hand::pool::Kind;
use crate::error::Result;
use crate::layout::{ConvGeom, PoolGeom};
use crate::rng::Rng;
use crate::train::Classifier;

// ANCHOR: cnn
#[derive(Clone, Debug)]
pub struct Cnn {
    pub conv1: Conv2d,
    pub pool1: Pool2d,
    pub conv2: Conv2d,
    pub pool2: Pool2d,
    pub fc1: Linear,
    pub fc2: Linear,
}

impl Cnn {
    /// The book's network for 1 x 28 x 28 images, with the convolution and pooling implementation `imp`.
    pub fn book(tape: &mut Tape<f32>, imp: Impl, rng: &mut Rng) -> Result<Self> {
        let conv1 = Conv2d::new(tape, ConvGeom::same(1, 28, 28, 32, 5)?, imp, rng);
        let pool1 = Pool2d {
            kind: Kind::Max,
            geom: PoolGeom::new(32, 28, 28, 2, 2, 2)?,
            imp,
        };
        let conv2 = Conv2d::new(tape, ConvGeom::same(32, 14, 14, 64, 5)?, imp, rng);
        let pool2 = Pool2d {
            kind: Kind::Max,
            geom: PoolGeom::new(64, 14, 14, 2, 2, 2)?,
            imp,
        };
        let fc1 = Linear::new(tape, 64 * 7 * 7, 512, Init::He, rng);
        let fc2 = Linear::new(tape, 512, 10, Init::He, rng);
        Ok(Cnn {
            conv1,
            pool1,
            conv2,
            pool2,
            fc1,
            fc2,
        })
    }

    /// The feature maps after each conv + ReLU, for a batch in image layout `784 x N`.
    pub fn features(&self, tape: &mut Tape<f32>, images: Var) -> Result<[Var; 2]> {
        let h = self.conv1.forward(tape, images)?;
        let f1 = tape.relu(h)?;
        let h = self.pool1.forward(tape, f1)?;
        let h = self.conv2.forward(tape, h)?;
        let f2 = tape.relu(h)?;
        Ok([f1, f2])
    }
}

impl Classifier for Cnn {
    /// `x` holds one image per row (`N x 784`), as for the fully connected nets; the convolutions want one
    /// image per column, so the batch is transposed in and, after the last pooling, out again.
    fn logits(&self, tape: &mut Tape<f32>, x: Var) -> Result<Var> {
        let images = tape.transpose(x)?;
        let [_, f2] = self.features(tape, images)?;
        let h = self.pool2.forward(tape, f2)?;
        let flat = tape.transpose(h)?; // N x 3136
        let h = self.fc1.forward(tape, flat)?;
        let h = tape.relu(h)?;
        self.fc2.forward(tape, h)
    }

    fn params(&self) -> Vec<Var> {
        vec![
            self.conv1.w,
            self.conv1.b,
            self.conv2.w,
            self.conv2.b,
            self.fc1.w,
            self.fc1.b,
            self.fc2.w,
            self.fc2.b,
        ]
    }

    fn l2_params(&self) -> Vec<Var> {
        vec![self.conv1.w, self.conv2.w, self.fc1.w, self.fc2.w]
    }
}
// ANCHOR_END: cnn
