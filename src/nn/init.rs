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
    /// A matrix with orthonormal columns (or rows, when it is wide), times `gain`: the `U` (or `Vᵀ`) of the
    /// SVD of a `U(-1, 1)` draw, as the book's chapter 7 initialises its recurrent weights (Saxe et al.,
    /// 2014). A square orthogonal `W_h` has every singular value 1: at the start of training it neither
    /// shrinks nor stretches the gradient it carries back one step.
    Orthogonal {
        gain: f64,
    },
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
            Init::Orthogonal { gain } => orthogonal(rows, cols, gain, rng),
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

fn orthogonal<T: Real>(rows: usize, cols: usize, gain: f64, rng: &mut Rng) -> DMatrix<T> {
    if rows == 0 || cols == 0 {
        return DMatrix::zeros(rows, cols);
    }
    let a: DMatrix<f64> = uniform(rows, cols, 1.0, rng);
    let svd = a.svd(true, true);
    // Thin SVD: U is rows x min, Vᵀ is min x cols; whichever is rows x cols has the orthonormal side we want.
    let q = if rows >= cols {
        svd.u.expect("requested U")
    } else {
        svd.v_t.expect("requested Vᵀ")
    };
    DMatrix::from_fn(rows, cols, |i, j| T::of(gain * q[(i, j)]))
}
