//! The book's derivations, written out: one file per layer, each with an explicit forward that returns what
//! its backward needs (a cache) and a backward that applies the hand-derived formulas. They are the oracle the
//! tape's composed layers are proven against, and later the fused fast paths registered on the tape.

pub mod activation;
pub mod batch_norm;
pub mod conv;
pub mod conv_fast;
pub mod dropout;
pub mod fc;
pub mod gru;
pub mod lstm;
pub mod perceptron;
pub mod pool;
pub mod pool_fast;
pub mod recurrent;
pub mod rnn;
pub mod softmax_ce;
