//! Decision regions: which class a model gives each cell of a square grid, with the points over them, one
//! panel per model.

use super::style;
use super::{axes, draw_err};
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

/// The panels side by side across the book's column, each about square.
pub fn decision_regions(path: &Path, s: &Regions) -> Result<()> {
    let width = style::COLUMN_WIDTH;
    let cols = s.panels.len().max(1);
    let panel_w = width / cols as u32;
    let title_h = s
        .panels
        .iter()
        .map(|p| style::title_height(&p.title, panel_w))
        .max()
        .unwrap_or(0);
    // Square plotting areas: the chart is as tall as it is wide, plus the x axis less the y axis.
    let chart_h = panel_w + style::X_LABEL_AREA - style::Y_LABEL_AREA;
    let root = SVGBackend::new(path, (width, title_h + chart_h)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(path))?;
    let areas = root.split_evenly((1, cols));
    let (lo, hi, n) = (s.grid.lo, s.grid.hi, s.grid.n);
    let step = s.grid.step();
    let grid = s.grid.centres();
    for (area, panel) in areas.iter().zip(s.panels) {
        let (title, area) = area.split_vertically(title_h);
        style::draw_title(&title, &panel.title).map_err(draw_err(path))?;
        let mut chart = axes(path, &area, (lo, hi), (lo, hi), (s.x_desc, s.y_desc), false)?;
        chart
            .draw_series((0..n * n).map(|r| {
                let (x0, y0) = (grid[(r, 0)] - step / 2.0, grid[(r, 1)] - step / 2.0);
                Rectangle::new(
                    [(x0, y0), (x0 + step, y0 + step)],
                    s.colors[panel.cells[r]].mix(0.22).filled(),
                )
            }))
            .map_err(draw_err(path))?;
        chart
            .draw_series(
                s.points
                    .iter()
                    .map(|&(x1, x2, class)| Circle::new((x1, x2), 4, s.colors[class].filled())),
            )
            .map_err(draw_err(path))?;
    }
    root.present().map_err(draw_err(path))?;
    Ok(())
}
