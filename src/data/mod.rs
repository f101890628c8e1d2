//! Data: generated sets (this module) and, in later chapters, the real datasets under the data root.

pub mod plane;
