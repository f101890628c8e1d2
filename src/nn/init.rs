//! Weight initialisation, always from a seeded generator.

use crate::rng::Rng;
use crate::scalar::Real;
use nalgebra::DMatrix;
use rand::Rng as _;
use rand_distr::{Distribution, StandardNormal};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Zeros,
    /// `N(0, std²)`; the book's chapter 2 uses `std = 0.01`.
    Normal {
        std: f64,
    },
    /// `U(-a, a)`.
    Uniform {
        a: f64,
    },
    /// He et al. (2015) for ReLU layers: `N(0, 2 / fan_in)`.
    He,
    /// Glorot and Bengio (2010): `U(±√(6 / (fan_in + fan_out)))`.
    Xavier,
}

impl Init {
    pub fn matrix<T: Real>(self, rows: usize, cols: usize, rng: &mut Rng) -> DMatrix<T> {
        let (fan_in, fan_out) = (rows as f64, cols as f64);
        match self {
            Init::Zeros => DMatrix::zeros(rows, cols),
            Init::Normal { std } => normal(rows, cols, std, rng),
            Init::He => normal(rows, cols, (2.0 / fan_in).sqrt(), rng),
            Init::Uniform { a } => uniform(rows, cols, a, rng),
            Init::Xavier => uniform(rows, cols, (6.0 / (fan_in + fan_out)).sqrt(), rng),
        }
    }
}

fn normal<T: Real>(rows: usize, cols: usize, std: f64, rng: &mut Rng) -> DMatrix<T> {
    DMatrix::from_fn(rows, cols, |_, _| {
        let z: f64 = StandardNormal.sample(rng);
        T::of(std * z)
    })
}

fn uniform<T: Real>(rows: usize, cols: usize, a: f64, rng: &mut Rng) -> DMatrix<T> {
    DMatrix::from_fn(rows, cols, |_, _| {
        if a > 0.0 {
            T::of(rng.random_range(-a..a))
        } else {
            T::zero()
        }
    })
}
