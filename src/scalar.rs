//! The element type of every matrix. Training runs in `f32`; gradient checks run the same code in `f64`,
//! where central differences are accurate to about 1e-10 instead of 1e-3.

use nalgebra::RealField;
use std::fmt::{Debug, Display};

pub trait Real: RealField + Copy + Default + Debug + Display + Send + Sync + 'static {
    fn of(x: f64) -> Self;
    fn as_f64(self) -> f64;
}

impl Real for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    fn of(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
}

/// Shorthand for a literal in generic code: `c::<T>(0.5)`.
#[inline]
pub fn c<T: Real>(x: f64) -> T {
    T::of(x)
}
