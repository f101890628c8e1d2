//! Chapter 1's data: points on either side of a plane in three dimensions, made the way the book makes them.

use crate::rng::Rng;
use nalgebra::{DMatrix, DVector};
use rand::Rng as _;

/// A separating plane `w·x + b = 0`.
#[derive(Clone, Debug, PartialEq)]
pub struct Plane {
    pub w: DVector<f64>,
    pub b: f64,
}

impl Plane {
    /// The book's plane: `w* = (2, -0.9, 1)`, `b* = -1`.
    pub fn book() -> Self {
        Plane {
            w: DVector::from_vec(vec![2.0, -0.9, 1.0]),
            b: -1.0,
        }
    }

    /// `w·x + b`: positive on the positive side.
    pub fn eval(&self, x: &[f64]) -> f64 {
        self.w.iter().zip(x).map(|(w, x)| w * x).sum::<f64>() + self.b
    }

    /// The third coordinate on the plane above `(x1, x2)`: `x3 = -(w1 x1 + w2 x2 + b) / w3`.
    pub fn x3(&self, x1: f64, x2: f64) -> f64 {
        -(self.w[0] * x1 + self.w[1] * x2 + self.b) / self.w[2]
    }
}

/// Points as rows of `x`, labels `y ∈ {+1, -1}`.
#[derive(Clone, Debug)]
pub struct Labeled {
    pub x: DMatrix<f64>,
    pub y: Vec<f64>,
}

// ANCHOR: book_data
/// `n` positive and `n` negative points: `x1, x2, t ~ U[0, 100)`, and `x3` the plane's height at `(x1, x2)`
/// plus `t` for a positive point, minus `t` for a negative one. Positives first, as in the book.
pub fn book_points(plane: &Plane, n: usize, rng: &mut Rng) -> Labeled {
    let mut rows = Vec::with_capacity(2 * n * 3);
    let mut y = Vec::with_capacity(2 * n);
    for label in [1.0, -1.0] {
        for _ in 0..n {
            let x1 = rng.random_range(0.0..100.0);
            let x2 = rng.random_range(0.0..100.0);
            let t = rng.random_range(0.0..100.0);
            // Moving by t along x3 changes w·x + b by w3 t: the sign of w3 says which way is "positive".
            let x3 = plane.x3(x1, x2) + label * t * plane.w[2].signum();
            rows.extend_from_slice(&[x1, x2, x3]);
            y.push(label);
        }
    }
    Labeled {
        x: DMatrix::from_row_slice(2 * n, 3, &rows),
        y,
    }
}
// ANCHOR_END: book_data
