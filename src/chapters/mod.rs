//! One module per chapter experiment: settings → run → report. The CLI, the figures and the book's numbers
//! all come from here.

pub mod ch1;
pub mod ch2;
pub mod ch3;
pub mod ch5;
pub mod ch6;
pub mod ch7;
pub mod optimizers;
