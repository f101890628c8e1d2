//! Decision regions: which class a model gives each cell of a square grid, with the points over them, one
//! panel per model.

use super::{draw_err, FONT};
use crate::error::Result;
use nalgebra::DMatrix;
use plotters::prelude::*;
use std::path::Path;

/// The square `[lo, hi]²` cut into `n x n` cells.
#[derive(Clone, Copy, Debug)]
pub struct RegionGrid {
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
}

impl RegionGrid {
    /// The centre of every cell, one row `(x1, x2)` per cell: what a model classifies to colour its regions.
    pub fn centres(&self) -> DMatrix<f64> {
        let (lo, n, step) = (self.lo, self.n, self.step());
        DMatrix::from_fn(n * n, 2, |r, c| {
            let (i, j) = (r / n, r % n);
            lo + step * (if c == 0 { j } else { i } as f64 + 0.5)
        })
    }

    fn step(&self) -> f64 {
        (self.hi - self.lo) / self.n as f64
    }
}

/// One model's panel: its title and the class of each row of [`RegionGrid::centres`].
pub struct RegionPanel {
    pub title: String,
    pub cells: Vec<usize>,
}

pub struct Regions<'a> {
    pub grid: RegionGrid,
    /// The colour of each class.
    pub colors: &'a [RGBColor],
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    /// `(x1, x2, class)`.
    pub points: &'a [(f64, f64, usize)],
    pub panels: &'a [RegionPanel],
}

pub fn decision_regions(path: &Path, size: (u32, u32), s: &Regions) -> Result<()> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let areas = root.split_evenly((1, s.panels.len()));
    let (lo, hi, n) = (s.grid.lo, s.grid.hi, s.grid.n);
    let step = s.grid.step();
    let grid = s.grid.centres();
    for (area, panel) in areas.iter().zip(s.panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(&panel.title, (FONT, 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(40)
            .build_cartesian_2d(lo..hi, lo..hi)
            .map_err(draw_err(path))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(s.x_desc)
            .y_desc(s.y_desc)
            .label_style((FONT, 12))
            .draw()
            .map_err(draw_err(path))?;
        chart
            .draw_series((0..n * n).map(|r| {
                let (x0, y0) = (grid[(r, 0)] - step / 2.0, grid[(r, 1)] - step / 2.0);
                Rectangle::new(
                    [(x0, y0), (x0 + step, y0 + step)],
                    s.colors[panel.cells[r]].mix(0.18).filled(),
                )
            }))
            .map_err(draw_err(path))?;
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|&(x1, x2, class)| Circle::new((x1, x2), 3, s.colors[class].filled())),
            )
            .map_err(draw_err(path))?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}
