//! # zerodl
//!
//! Every model of Xu Bin's 《实战深度学习算法：零起点通关神经网络模型》 rebuilt from zero in Rust: a small tape
//! autograd over `nalgebra` matrices, every layer twice (composed from tape ops, and derived by hand), every
//! gradient proven against finite differences, and the book's experiments.
//!
//! Floors, bottom up (nothing imports upward): [`autograd`], [`data`], [`plot`] → [`by_hand`] → [`nn`] →
//! [`chapters`] → the binaries.

pub mod autograd;
pub mod by_hand;
pub mod chapters;
pub mod data;
pub mod error;
pub mod nn;
pub mod optim;
pub mod plot;
pub mod rng;
pub mod scalar;
pub mod train;

pub use autograd::{Grads, Tape, Var};
pub use error::{Error, Result, Shape};
pub use scalar::Real;
