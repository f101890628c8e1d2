//! # zerodl
//!
//! Every model of Xu Bin's 《实战深度学习算法：零起点通关神经网络模型》 rebuilt from zero in Rust: a small tape
//! autograd over `nalgebra` matrices, every layer twice (composed from tape ops, and derived by hand), every
//! gradient proven against finite differences, and the book's experiments.
//!
//! ```
//! use nalgebra::DMatrix;
//! use zerodl::Tape;
//!
//! // L = Σ (x w)² for a 1x2 input and a 2x1 weight: dL/dw = 2 (x w) xᵀ.
//! let mut tape = Tape::<f64>::new();
//! let w = tape.param(DMatrix::from_column_slice(2, 1, &[0.5, -1.0]));
//! let x = tape.constant(DMatrix::from_row_slice(1, 2, &[2.0, 3.0]));
//! let y = tape.matmul(x, w)?; // 2·0.5 + 3·(-1) = -2
//! let sq = tape.mul(y, y)?;
//! let loss = tape.sum(sq)?;
//! let grads = tape.backward(loss)?;
//! assert_eq!(grads.get(w).unwrap().as_slice(), &[-8.0, -12.0]);
//! # Ok::<(), zerodl::Error>(())
//! ```
//!
//! Floors, bottom up (nothing imports upward, and `tests/floors.rs` checks it): [`kernels`] and [`layout`] →
//! [`autograd`], [`data`], [`plot`] → [`by_hand`] → [`nn`], [`optim`] → [`train`] → [`chapters`] → the
//! binaries. Every layer and model is an [`nn::Module`] (parameters and buffers by name); every experiment
//! trains through [`train::train_loop`]; recurrent layers are [`nn::recurrent::Stack`]s of a cell.

pub mod alloc;
pub mod autograd;
pub mod by_hand;
pub mod chapters;
pub mod data;
pub mod error;
pub mod interrupt;
pub mod kernels;
pub mod layout;
pub mod nn;
pub mod optim;
pub mod plot;
pub mod rng;
pub mod scalar;
pub mod train;

pub use autograd::{Grads, Tape, Var};
pub use error::{Error, Result, Shape};
pub use scalar::Real;
