//! Chapter 1: the perceptron on the book's generated plane data.

pub mod chapter;
pub mod figures;

use crate::data::plane::{book_points, Labeled, Plane};
use crate::error::Result;
use crate::nn::perceptron::{novikoff_bound, train, Gradient, Trained};
use crate::rng::seeded;

#[derive(Clone, Debug)]
pub struct Settings {
    pub seed: u64,
    /// Points per class.
    pub n: usize,
    pub lr: f64,
    pub max_updates: usize,
}

impl Default for Settings {
    /// The book's settings: 100 points per class, learning rate 0.1.
    fn default() -> Self {
        Settings {
            seed: 1,
            n: 100,
            lr: 0.1,
            max_updates: 1_000_000,
        }
    }
}

pub struct Report {
    pub plane: Plane,
    pub data: Labeled,
    pub trained: Trained,
    /// Novikoff's bound computed with the true plane's margin.
    pub bound: f64,
    /// Share of the points the trained perceptron classifies correctly.
    pub accuracy: f64,
}

pub fn run(s: &Settings) -> Result<Report> {
    let plane = Plane::book();
    let data = book_points(&plane, s.n, &mut seeded(s.seed));
    let trained = train(&data.x, &data.y, s.lr, s.max_updates, Gradient::ByHand)?;
    let bound = novikoff_bound(&data.x, &data.y, &plane.w, plane.b).unwrap_or(f64::INFINITY);
    let correct = (0..data.x.nrows())
        .filter(|&i| {
            let x: Vec<f64> = data.x.row(i).iter().copied().collect();
            trained.model.predict(&x) == data.y[i]
        })
        .count();
    Ok(Report {
        accuracy: correct as f64 / data.x.nrows() as f64,
        plane,
        data,
        trained,
        bound,
    })
}
