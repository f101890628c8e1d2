//! Layers and models built from tape ops: the autograd twin of each hand-derived layer in [`crate::by_hand`].

pub mod batch_norm;
pub mod cnn;
pub mod conv2d;
pub mod conv_block;
pub mod dropout;
pub mod embedding;
pub mod gru;
pub mod init;
pub mod linear;
pub mod lstm;
pub mod mlp;
pub mod module;
pub mod perceptron;
pub mod pool;
pub mod recurrent;
pub mod rnn;

pub use init::Init;
pub use linear::Linear;
pub use mlp::{Activation, Mlp};
pub use module::{Buffer, Classifier, Module};
