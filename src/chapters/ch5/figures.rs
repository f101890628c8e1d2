//! Chapters 4 and 5's CNN figures: the learned conv1 filters and the feature maps of one digit.

use crate::autograd::Tape;
use crate::error::Result;
use crate::nn::cnn::Cnn;
use crate::plot::picture_grid;
use nalgebra::DMatrix;
use std::path::Path;

/// The 32 learned 5x5 kernels of the first convolution, 8 per row.
pub fn filters(model: &Cnn, tape: &Tape<f32>, path: &Path) -> Result<()> {
    let w = tape.value(model.conv1.w)?; // 25 x 32: column = one kernel, rows (dy, dx)
    let kernels: Vec<Vec<f32>> = (0..w.ncols())
        .map(|c| w.column(c).iter().copied().collect())
        .collect();
    let rows: Vec<Vec<&[f32]>> = kernels
        .chunks(8)
        .map(|chunk| chunk.iter().map(|k| k.as_slice()).collect())
        .collect();
    let labels: Vec<String> = (0..rows.len())
        .map(|r| format!("{}–{}", r * 8, r * 8 + 7))
        .collect();
    picture_grid(
        path,
        "The 32 learned 5 x 5 filters of conv1 (red +, blue -)",
        &rows,
        (5, 5),
        &labels,
        &[],
    )
}

/// One test digit and its feature maps after conv1 + ReLU (32 of 28 x 28) and conv2 + ReLU (64 of 14 x 14).
pub fn feature_maps(
    model: &Cnn,
    tape: &mut Tape<f32>,
    image: &[f32],
    label: u8,
    paths: [&Path; 2],
) -> Result<()> {
    tape.reset();
    let x = tape.constant(DMatrix::from_column_slice(image.len(), 1, image));
    let maps = model.features(tape, x)?;
    for (k, (&path, &v)) in paths.iter().zip(&maps).enumerate() {
        let m = tape.value(v)?;
        let (c, side) = if k == 0 { (32, 28) } else { (64, 14) };
        let plane = side * side;
        let per_row = 8;
        let rows: Vec<Vec<&[f32]>> = (0..c)
            .collect::<Vec<_>>()
            .chunks(per_row)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|&ch| &m.as_slice()[ch * plane..(ch + 1) * plane])
                    .collect()
            })
            .collect();
        let labels: Vec<String> = (0..rows.len())
            .map(|r| format!("{}–{}", r * per_row, r * per_row + per_row - 1))
            .collect();
        let title = format!(
            "A test digit ({label}) after conv{} + ReLU: {c} feature maps of {side} x {side}",
            k + 1
        );
        picture_grid(path, &title, &rows, (side, side), &labels, &[])?;
    }
    tape.reset();
    Ok(())
}
