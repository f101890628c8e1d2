//! MNIST: 60,000 training and 10,000 test images of handwritten digits, 28 x 28 grey levels, read from the
//! four IDX files under `<data root>/mnist/` (raw or `.gz`).

use super::idx;
use super::root::{data_root, find};
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use std::path::Path;

pub const SIDE: usize = 28;
pub const PIXELS: usize = SIDE * SIDE;
pub const CLASSES: usize = 10;

pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

const HINT: &str = "download it with `zerodl data mnist`, or copy the four files there";

/// One split: images scaled to `[0, 1]`, one image after the other (row-major pixels), and labels `0..=9`.
#[derive(Clone, Debug)]
pub struct Split {
    pub images: Vec<f32>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.images[i * PIXELS..(i + 1) * PIXELS]
    }

    /// The flat view for fully connected nets: rows `rows` of an `N x 784` matrix, one image per row.
    pub fn flat_rows(&self, rows: &[usize]) -> DMatrix<f32> {
        DMatrix::from_fn(rows.len(), PIXELS, |r, p| self.images[rows[r] * PIXELS + p])
    }

    /// The whole split as `N x 784`.
    pub fn flat(&self) -> DMatrix<f32> {
        DMatrix::from_row_slice(self.len(), PIXELS, &self.images)
    }

    /// The image view for CNNs: `(N, C, H, W) = (N, 1, 28, 28)`, over the same buffer, which is already
    /// laid out in that order.
    pub fn nchw(&self) -> ([usize; 4], &[f32]) {
        ([self.len(), 1, SIDE, SIDE], &self.images)
    }

    pub fn labels_usize(&self, rows: &[usize]) -> Vec<usize> {
        rows.iter().map(|&r| self.labels[r] as usize).collect()
    }

    /// The first `n` examples (all of them if there are fewer).
    pub fn head(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            images: self.images[..n * PIXELS].to_vec(),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// How many examples of each digit.
    pub fn histogram(&self) -> [usize; CLASSES] {
        let mut h = [0; CLASSES];
        for &l in &self.labels {
            h[l as usize] += 1;
        }
        h
    }
}

#[derive(Clone, Debug)]
pub struct Mnist {
    pub train: Split,
    pub test: Split,
}

/// Load MNIST from `<data root>/mnist`.
pub fn load() -> Result<Mnist> {
    load_from(&data_root().join("mnist"))
}

pub fn load_from(dir: &Path) -> Result<Mnist> {
    let path = |name: &str| find(dir, name, "MNIST", HINT);
    Ok(Mnist {
        train: split(&path(FILES[0])?, &path(FILES[1])?)?,
        test: split(&path(FILES[2])?, &path(FILES[3])?)?,
    })
}

fn split(images: &Path, labels: &Path) -> Result<Split> {
    let im = idx::read(images)?;
    let lb = idx::read(labels)?;
    let shown = |p: &Path| p.display().to_string();
    if im.dims.len() != 3 || im.dims[1] != SIDE || im.dims[2] != SIDE {
        return Err(Error::Format {
            path: shown(images),
            msg: format!("image dimensions {:?}, expected [N, 28, 28]", im.dims),
        });
    }
    if lb.dims.len() != 1 {
        return Err(Error::Format {
            path: shown(labels),
            msg: format!("label dimensions {:?}, expected [N]", lb.dims),
        });
    }
    if im.dims[0] == 0 {
        return Err(Error::Format {
            path: shown(images),
            msg: "holds no images (the header says 0)".into(),
        });
    }
    if im.dims[0] != lb.dims[0] {
        return Err(Error::Format {
            path: shown(labels),
            msg: format!(
                "{} labels for the {} images of {}",
                lb.dims[0],
                im.dims[0],
                shown(images)
            ),
        });
    }
    if let Some((i, &l)) = lb
        .data
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= CLASSES)
    {
        return Err(Error::Format {
            path: shown(labels),
            msg: format!("label {l} at index {i} is not a digit 0..=9"),
        });
    }
    Ok(Split {
        images: im.data.iter().map(|&p| p as f32 / 255.0).collect(),
        labels: lb.data,
    })
}
