//! A PNG of a digit brought to MNIST's format (`zerodl predict`'s input), and fuzzing of the two readers this
//! issue added: the PNG digit reader and the checkpoint reader never panic on bad bytes.

use proptest::prelude::*;
use zerodl::data::digit::{mnist_like, png_digit};
use zerodl::train::Checkpoint;

/// A digit-like shape: a ring and a stem, anti-aliased, as grey levels `w x h` (ink 1 on 0).
fn shape(w: usize, h: usize) -> Vec<f32> {
    let (cx, cy, r) = (w as f32 * 0.45, h as f32 * 0.35, w.min(h) as f32 * 0.22);
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
            let ring = ((x - cx).hypot(y - cy) - r).abs();
            let stem = if y > cy && y < h as f32 * 0.85 {
                (x - (cx + r)).abs()
            } else {
                f32::MAX
            };
            let d = ring.min(stem) - w as f32 * 0.04;
            (0.5 - d).clamp(0.0, 1.0)
        })
        .collect()
}

fn encode(w: u32, h: u32, color: png::ColorType, depth: png::BitDepth, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(color);
    enc.set_depth(depth);
    enc.write_header().unwrap().write_image_data(data).unwrap();
    out
}

fn mean_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

#[test]
fn an_mnist_image_is_a_fixed_point() {
    // What mnist_like returns is already in MNIST's format: running it again changes nothing but rounding.
    let once = mnist_like(&shape(28, 28), 28, 28).unwrap();
    let twice = mnist_like(&once, 28, 28).unwrap();
    assert!(
        mean_abs_diff(&once, &twice) < 0.01,
        "{}",
        mean_abs_diff(&once, &twice)
    );
    // The ink fits a 20 x 20 box and its centre of mass is within a pixel of the centre.
    let (mut m, mut cx, mut cy) = (0.0, 0.0, 0.0);
    for (i, v) in once.iter().enumerate() {
        m += v;
        cx += v * ((i % 28) as f32 + 0.5);
        cy += v * ((i / 28) as f32 + 0.5);
    }
    assert!((cx / m - 14.0).abs() <= 1.0 && (cy / m - 14.0).abs() <= 1.0);
    let rows: Vec<usize> = (0..28)
        .filter(|r| (0..28).any(|c| once[r * 28 + c] > 0.0))
        .collect();
    assert!(rows.len() <= 20 + 1, "{} rows inked", rows.len());
}

#[test]
fn size_colour_polarity_and_alpha_do_not_change_the_digit() {
    let target = mnist_like(&shape(70, 75), 70, 75).unwrap();
    // The same drawing, larger, dark ink on white paper, in RGB.
    let (w, h) = (140usize, 150usize);
    let big = shape(w, h);
    let rgb: Vec<u8> = big
        .iter()
        .flat_map(|v| {
            let g = (255.0 * (1.0 - v)).round() as u8;
            [g, g, g]
        })
        .collect();
    let a = png_digit(
        &encode(
            w as u32,
            h as u32,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &rgb,
        ),
        "rgb.png",
    )
    .unwrap();
    // Black ink on a transparent ground, grey with alpha.
    let ga: Vec<u8> = big
        .iter()
        .flat_map(|v| [0u8, (255.0 * v).round() as u8])
        .collect();
    let b = png_digit(
        &encode(
            w as u32,
            h as u32,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            &ga,
        ),
        "ga.png",
    )
    .unwrap();
    // Light ink on black, 16-bit grey.
    let g16: Vec<u8> = big
        .iter()
        .flat_map(|v| ((65535.0 * v).round() as u16).to_be_bytes())
        .collect();
    let c = png_digit(
        &encode(
            w as u32,
            h as u32,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &g16,
        ),
        "g16.png",
    )
    .unwrap();
    // Colour, polarity and alpha change nothing beyond 8-bit rounding.
    let same = mnist_like(&big, w, h).unwrap();
    for (name, got) in [("rgb", &a), ("grey+alpha", &b), ("16-bit", &c)] {
        let d = mean_abs_diff(got, &same);
        assert!(
            d < 0.005,
            "{name}: mean difference {d} from the grey drawing"
        );
    }
    // Size changes only the anti-aliasing: drawn at twice the size, the digit lands on the same pixels.
    let corr = {
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
        dot(&same, &target) / (dot(&same, &same) * dot(&target, &target)).sqrt()
    };
    assert!(corr > 0.9, "correlation {corr} with the 70 x 75 drawing");
}

#[test]
fn a_blank_image_is_refused() {
    let white = vec![255u8; 30 * 30];
    let e = png_digit(
        &encode(
            30,
            30,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &white,
        ),
        "blank.png",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("blank.png") && e.contains("blank"), "{e}");
}

#[test]
fn a_header_claiming_a_huge_image_is_refused_before_allocating() {
    let mut bytes = encode(
        8,
        8,
        png::ColorType::Grayscale,
        png::BitDepth::Eight,
        &[0u8; 64],
    );
    // IHDR's width and height follow the 8-byte signature, the chunk length and type (offset 16).
    bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    assert!(png_digit(&bytes, "huge.png").is_err());
}

fn cases() -> u32 {
    std::env::var("ZERODL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

fn valid_png() -> Vec<u8> {
    let g: Vec<u8> = shape(16, 16).iter().map(|v| (255.0 * v) as u8).collect();
    encode(16, 16, png::ColorType::Grayscale, png::BitDepth::Eight, &g)
}

fn valid_checkpoint() -> Vec<u8> {
    let mut c = Checkpoint::new();
    c.put_f64("loop.state", &[3.0, 1.5, 0.0]);
    c.put_matrix(
        "layer0.weight",
        &nalgebra::DMatrix::from_element(3, 2, 0.5f32),
    );
    c.meta.insert("zerodl.chapter".into(), "ch2".into());
    c.to_bytes().unwrap()
}

/// Truncate, extend, flip bits or overwrite a few bytes of a valid file.
fn mutate(mut b: Vec<u8>, ops: &[(u8, usize, u8)]) -> Vec<u8> {
    for &(op, at, v) in ops {
        let at = if b.is_empty() { 0 } else { at % b.len() };
        match op % 4 {
            0 => b.truncate(at),
            1 => b.extend(std::iter::repeat_n(v, at % 64 + 1)),
            2 if !b.is_empty() => b[at] ^= 1 << (v % 8),
            _ if !b.is_empty() => b[at] = v,
            _ => {}
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn the_png_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256),
                                   ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6)) {
        let _ = png_digit(&bytes, "fuzz.png");
        let _ = png_digit(&mutate(valid_png(), &ops), "fuzz.png");
    }

    #[test]
    fn the_checkpoint_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256),
                                          ops in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6)) {
        let _ = Checkpoint::from_bytes(&bytes, "fuzz.safetensors");
        let mutated = mutate(valid_checkpoint(), &ops);
        if let Ok(c) = Checkpoint::from_bytes(&mutated, "fuzz.safetensors") {
            // Whatever parsed must be usable without panicking.
            let _ = c.f64s("loop.state", 3);
            let _ = c.matrix("layer0.weight", (3, 2));
            let _ = c.to_bytes();
        }
    }
}
