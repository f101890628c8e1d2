//! Data: generated sets and the real datasets under the data root (`ZERODL_DATA`, default `data/`).

pub mod batch;
pub mod csi300;
pub mod curve;
pub mod digit;
pub mod download;
pub mod glove;
pub mod idx;
pub mod imdb;
pub mod mnist;
pub mod plane;
pub mod root;
pub mod text;

pub use root::data_root;
