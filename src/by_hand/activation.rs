//! Activation layers derived by hand (book chapter 3). Each is elementwise, `A = f(Z)`, so backward is the
//! chain rule entry by entry: `dZ = dA ⊙ f'(Z)`.
//!
//! | f | f(z) | f'(z) |
//! |---|---|---|
//! | sigmoid | `1 / (1 + e^{-z})` | `σ(z)(1 - σ(z))`, at most 1/4 |
//! | tanh | `(e^z - e^{-z}) / (e^z + e^{-z})` | `1 - tanh²(z)`, at most 1 |
//! | ReLU | `max(z, 0)` | 1 for z > 0, else 0 |
//! | leaky ReLU | `z` for z > 0, else `αz` | 1 for z > 0, else α |

use crate::error::Result;
use crate::scalar::Real;
use nalgebra::DMatrix;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu(f64),
}

// ANCHOR: activation
impl Kind {
    pub fn f<T: Real>(self, z: T) -> T {
        match self {
            Kind::Sigmoid => T::one() / (T::one() + (-z).exp()),
            Kind::Tanh => z.tanh(),
            Kind::Relu => z.max(T::zero()),
            Kind::LeakyRelu(a) => {
                if z > T::zero() {
                    z
                } else {
                    T::of(a) * z
                }
            }
        }
    }

    pub fn df<T: Real>(self, z: T) -> T {
        match self {
            Kind::Sigmoid => {
                let s = self.f(z);
                s * (T::one() - s)
            }
            Kind::Tanh => T::one() - z.tanh() * z.tanh(),
            Kind::Relu => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Kind::LeakyRelu(a) => {
                if z > T::zero() {
                    T::one()
                } else {
                    T::of(a)
                }
            }
        }
    }
}

/// `A = f(Z)`; the cache is `Z`.
pub fn forward<T: Real>(kind: Kind, z: &DMatrix<T>) -> (DMatrix<T>, DMatrix<T>) {
    (z.map(|v| kind.f(v)), z.clone())
}

/// `dZ = dA ⊙ f'(Z)`.
pub fn backward<T: Real>(kind: Kind, da: &DMatrix<T>, z: &DMatrix<T>) -> Result<DMatrix<T>> {
    super::expect_shape("activation backward", "dA of Z's shape", da, z.shape())?;
    Ok(da.zip_map(z, |g, v| g * kind.df(v)))
}
// ANCHOR_END: activation
