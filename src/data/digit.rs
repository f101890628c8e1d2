//! A digit from a PNG, brought to 28 x 28 the way MNIST was made, for `zerodl predict`.
//!
//! LeCun et al. describe MNIST's preparation: each digit's bounding box was scaled to fit a 20 x 20 box with its
//! aspect ratio kept (anti-aliased, hence the grey edges), then placed in the 28 x 28 image so that its centre of
//! mass sits at the centre. A photo or a drawing of a digit reads like MNIST only after the same steps, so that
//! is what [`mnist_like`] does, after [`grey`] has made it one channel, light ink on a dark ground.

use crate::error::{Error, Result};
use std::path::Path;

pub const SIDE: usize = 28;
const BOX: usize = 20;
/// Larger images are refused before decoding (about 64 megapixels; a digit needs far fewer).
const MAX_PIXELS: u64 = 1 << 26;

/// A PNG file as 28 x 28 values in `[0, 1]`, row-major, ready for an MNIST model.
pub fn read_png(path: &Path) -> Result<Vec<f32>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    png_digit(&bytes, &path.display().to_string())
}

/// [`read_png`] on bytes in memory (`name` names them in errors).
pub fn png_digit(bytes: &[u8], name: &str) -> Result<Vec<f32>> {
    let (w, h, grey) = decode(bytes, name)?;
    mnist_like(&grey, w, h).map_err(|msg| Error::Format {
        path: name.into(),
        msg,
    })
}

/// Decode any PNG (grey or colour, with or without alpha, 1 to 16 bits) to grey levels in `[0, 1]`, with
/// transparency composited onto white.
fn decode(bytes: &[u8], name: &str) -> Result<(usize, usize, Vec<f32>)> {
    let bad = |msg: String| Error::Format {
        path: name.into(),
        msg,
    };
    let mut decoder =
        png::Decoder::new_with_limits(std::io::Cursor::new(bytes), png::Limits { bytes: 1 << 28 });
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| bad(format!("not a readable PNG: {e}")))?;
    let (w, h) = (reader.info().width as u64, reader.info().height as u64);
    if w * h > MAX_PIXELS {
        return Err(bad(format!(
            "{w} x {h} pixels is more than a digit needs (at most {MAX_PIXELS} pixels)"
        )));
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| bad(format!("PNG data cannot be decoded: {e}")))?;
    let data = &buf[..frame.buffer_size()];
    let channels = frame.color_type.samples();
    let (w, h) = (frame.width as usize, frame.height as usize);
    if data.len() < w * h * channels {
        return Err(bad(format!(
            "PNG frame holds {} bytes, {w} x {h} x {channels} expected",
            data.len()
        )));
    }
    let grey = data
        .chunks_exact(channels)
        .take(w * h)
        .map(|p| {
            let v = |i: usize| p[i] as f32 / 255.0;
            let (lum, alpha) = match channels {
                1 => (v(0), 1.0),
                2 => (v(0), v(1)),
                3 => (0.299 * v(0) + 0.587 * v(1) + 0.114 * v(2), 1.0),
                _ => (0.299 * v(0) + 0.587 * v(1) + 0.114 * v(2), v(3)),
            };
            alpha * lum + (1.0 - alpha)
        })
        .collect();
    Ok((w, h, grey))
}

// ANCHOR: mnist_like
/// Grey levels `w x h` (row-major, any polarity) to an MNIST-like 28 x 28 image: ink light on dark, the ink's
/// bounding box scaled into 20 x 20 keeping its aspect ratio, placed with its centre of mass at the centre.
pub fn mnist_like(grey: &[f32], w: usize, h: usize) -> std::result::Result<Vec<f32>, String> {
    if w == 0 || h == 0 || grey.len() != w * h {
        return Err(format!("{w} x {h} image with {} values", grey.len()));
    }
    // The border is background: if it is light, the digit is dark ink on paper and is inverted.
    let border: Vec<f32> = (0..w * h)
        .filter(|&i| i % w == 0 || i % w == w - 1 || i / w == 0 || i / w == h - 1)
        .map(|i| grey[i])
        .collect();
    let background = border.iter().sum::<f32>() / border.len() as f32;
    let ink: Vec<f32> = if background > 0.5 {
        grey.iter().map(|v| 1.0 - v).collect()
    } else {
        grey.to_vec()
    };
    let floor = background.min(1.0 - background);
    let peak = ink.iter().cloned().fold(0.0, f32::max);
    if peak - floor < 0.1 {
        return Err("the image is blank: no ink stands out from the background".into());
    }
    let ink: Vec<f32> = ink
        .iter()
        .map(|v| ((v - floor) / (peak - floor)).clamp(0.0, 1.0))
        .collect();
    // The ink's bounding box.
    let inked = |i: usize| ink[i] > 0.05;
    let (mut x0, mut x1, mut y0, mut y1) = (w, 0, h, 0);
    for i in (0..w * h).filter(|&i| inked(i)) {
        let (x, y) = (i % w, i / w);
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    // Scale the longer side to 20 pixels; average the source over each target pixel's footprint.
    let scale = BOX as f32 / bw.max(bh) as f32;
    let (tw, th) = (
        ((bw as f32 * scale).round() as usize).clamp(1, BOX),
        ((bh as f32 * scale).round() as usize).clamp(1, BOX),
    );
    let sample = |x: f32, y: f32| -> f32 {
        let (sx, sy) = (x0 as f32 + x / scale, y0 as f32 + y / scale);
        let (ix, iy) = (
            (sx.floor() as usize).min(w - 1),
            (sy.floor() as usize).min(h - 1),
        );
        ink[iy * w + ix]
    };
    const SUB: usize = 4;
    let mut boxed = vec![0.0f32; tw * th];
    for ty in 0..th {
        for tx in 0..tw {
            let mut s = 0.0;
            for sy in 0..SUB {
                for sx in 0..SUB {
                    let fx = tx as f32 + (sx as f32 + 0.5) / SUB as f32;
                    let fy = ty as f32 + (sy as f32 + 0.5) / SUB as f32;
                    s += sample(fx, fy);
                }
            }
            boxed[ty * tw + tx] = s / (SUB * SUB) as f32;
        }
    }
    // Centre of mass to the image centre (MNIST shifts by whole pixels).
    let mass: f32 = boxed.iter().sum();
    let (mut cx, mut cy) = (0.0, 0.0);
    for (i, v) in boxed.iter().enumerate() {
        cx += v * ((i % tw) as f32 + 0.5);
        cy += v * ((i / tw) as f32 + 0.5);
    }
    let (cx, cy) = (cx / mass, cy / mass);
    let (dx, dy) = (
        (SIDE as f32 / 2.0 - cx).round() as isize,
        (SIDE as f32 / 2.0 - cy).round() as isize,
    );
    let mut out = vec![0.0f32; SIDE * SIDE];
    for (i, v) in boxed.iter().enumerate() {
        let (x, y) = ((i % tw) as isize + dx, (i / tw) as isize + dy);
        if (0..SIDE as isize).contains(&x) && (0..SIDE as isize).contains(&y) {
            out[y as usize * SIDE + x as usize] = *v;
        }
    }
    Ok(out)
}
// ANCHOR_END: mnist_like
