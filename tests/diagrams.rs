//! The diagrams: drawn twice to the same bytes, well-formed, within the book's column, no text under 12 px,
//! and the numbers they show equal to an independent computation on the examples' data.

use nalgebra::DMatrix;
use std::collections::HashMap;
use std::fs;
use zerodl::chapters::diagrams::{self, DIAGRAMS};
use zerodl::chapters::Figures;
use zerodl::plot::diagram::{num, MAX_WIDTH, MIN_FONT};

/// Every diagram, drawn into a fresh directory: file name to text.
fn draw_all() -> HashMap<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut out = Figures::new(dir.path(), Err("not needed".into()), false);
    diagrams::draw(&mut out, &[]).unwrap();
    assert_eq!(out.written().len(), DIAGRAMS.len());
    DIAGRAMS
        .iter()
        .map(|d| {
            (
                d.file.to_string(),
                fs::read_to_string(dir.path().join(d.file)).unwrap(),
            )
        })
        .collect()
}

/// The value of attribute `name` in each tag that has it.
fn attrs<'a>(svg: &'a str, name: &str) -> Vec<&'a str> {
    let key = format!(" {name}=\"");
    svg.match_indices(&key)
        .map(|(i, _)| {
            let rest = &svg[i + key.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// Checks that the tags nest: every opened tag is closed, in order.
fn balanced(svg: &str) -> Result<(), String> {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find('<') {
        let end = rest[i..].find('>').ok_or("a tag is not closed")? + i;
        let tag = &rest[i + 1..end];
        rest = &rest[end + 1..];
        if tag.ends_with('/') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else {
            stack.push(tag.split_whitespace().next().unwrap_or(""));
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("left open: {stack:?}"))
    }
}

/// The texts of the group `id`, in order, with their tspans' markup removed.
fn group_texts(svg: &str, id: &str) -> Vec<String> {
    let start = svg
        .find(&format!("<g id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no group {id}"));
    texts(&svg[start..start + svg[start..].find("</g>").unwrap()])
}

/// The texts in `body`, in order, with their tspans' markup removed.
fn texts(body: &str) -> Vec<String> {
    body.split("<text")
        .skip(1)
        .map(|t| {
            let inner = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
            let mut plain = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => plain.push(c),
                    _ => {}
                }
            }
            plain
        })
        .collect()
}

fn shown(m: &DMatrix<f64>) -> Vec<String> {
    (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
        .map(|ij| num(m[ij]))
        .collect()
}

#[test]
fn every_diagram_is_the_same_bytes_twice_well_formed_narrow_and_legible() {
    let (a, b) = (draw_all(), draw_all());
    for d in DIAGRAMS {
        let svg = &a[d.file];
        assert_eq!(svg, &b[d.file], "{}: not deterministic", d.file);
        assert!(svg.starts_with("<svg "), "{}", d.file);
        balanced(svg).unwrap_or_else(|e| panic!("{}: {e}", d.file));
        let width: f64 = attrs(svg, "width")[0].parse().unwrap();
        assert!(width <= MAX_WIDTH, "{}: {width} px wide", d.file);
        let sizes = attrs(svg, "font-size");
        assert!(!sizes.is_empty(), "{}: no text", d.file);
        for s in sizes {
            let s: f64 = s.parse().unwrap();
            assert!(s >= MIN_FONT, "{}: font-size {s}", d.file);
        }
    }
}

#[test]
fn the_convolution_diagrams_show_the_convolution_and_its_input_gradient() {
    let svgs = draw_all();
    let (x, k, bias, g) = diagrams::conv_example();
    let (s, p) = (g.stride, g.pad);
    let xp = |i: usize, j: usize| -> f64 {
        match (i.checked_sub(p), j.checked_sub(p)) {
            (Some(a), Some(b)) if a < g.h && b < g.w => x[(a, b)],
            _ => 0.0,
        }
    };
    let (oh, ow) = ((g.h + 2 * p - g.kh) / s + 1, (g.w + 2 * p - g.kw) / s + 1);
    let y = DMatrix::from_fn(oh, ow, |u, v| {
        bias + (0..g.kh)
            .flat_map(|a| (0..g.kw).map(move |c| (a, c)))
            .map(|(a, c)| xp(s * u + a, s * v + c) * k[(a, c)])
            .sum::<f64>()
    });
    assert_eq!(
        group_texts(&svgs["diagram_conv.svg"], "conv-output"),
        shown(&y)
    );
    // The input gradient by scattering each error from the outputs (no dilation, no rotation), then cropped.
    let delta = diagrams::conv_example_delta();
    let mut full = DMatrix::zeros(g.h + 2 * p, g.w + 2 * p);
    for u in 0..oh {
        for v in 0..ow {
            for a in 0..g.kh {
                for c in 0..g.kw {
                    full[(s * u + a, s * v + c)] += delta[(u, v)] * k[(a, c)];
                }
            }
        }
    }
    let bw = &svgs["diagram_conv_backward.svg"];
    assert_eq!(group_texts(bw, "bw-full"), shown(&full));
    let dx = full.view((p, p), (g.h, g.w)).into_owned();
    assert_eq!(group_texts(bw, "bw-dx"), shown(&dx));
    let rotated = DMatrix::from_fn(3, 3, |a, c| k[(2 - a, 2 - c)]);
    assert_eq!(group_texts(bw, "bw-rotated"), shown(&rotated));
}

#[test]
fn the_im2col_diagram_shows_the_patches_and_their_product() {
    let svgs = draw_all();
    let svg = &svgs["diagram_im2col.svg"];
    let (x, w, g) = diagrams::im2col_example();
    let (oh, ow) = (g.h - g.kh + 1, g.w - g.kw + 1);
    let cols = DMatrix::from_fn(oh * ow, g.kh * g.kw, |q, e| {
        x[(q / ow + e / g.kw, q % ow + e % g.kw)]
    });
    assert_eq!(group_texts(svg, "im2col-cols"), shown(&cols));
    assert_eq!(group_texts(svg, "im2col-product"), shown(&(&cols * &w)));
}

#[test]
fn the_pooling_diagram_shows_the_pools_and_where_the_error_goes() {
    let svgs = draw_all();
    let svg = &svgs["diagram_pooling.svg"];
    let (x, delta, g) = diagrams::pooling_example();
    let (oh, ow) = (g.h / g.stride, g.w / g.stride);
    let window = |u: usize, v: usize| {
        (0..g.ph).flat_map(move |a| (0..g.pw).map(move |b| (u * g.stride + a, v * g.stride + b)))
    };
    let mut max = DMatrix::zeros(oh, ow);
    let mut avg = DMatrix::zeros(oh, ow);
    let mut dmax = DMatrix::zeros(g.h, g.w);
    let mut davg = DMatrix::zeros(g.h, g.w);
    let area = (g.ph * g.pw) as f64;
    for u in 0..oh {
        for v in 0..ow {
            // The example's windows hold distinct values: the maximum is unique.
            let best = window(u, v).max_by(|a, b| x[*a].total_cmp(&x[*b])).unwrap();
            max[(u, v)] = x[best];
            dmax[best] += delta[(u, v)];
            avg[(u, v)] = window(u, v).map(|c| x[c]).sum::<f64>() / area;
            for c in window(u, v) {
                davg[c] += delta[(u, v)] / area;
            }
        }
    }
    assert_eq!(group_texts(svg, "pool-max-y"), shown(&max));
    assert_eq!(group_texts(svg, "pool-average-y"), shown(&avg));
    assert_eq!(group_texts(svg, "pool-max-dx"), shown(&dmax));
    assert_eq!(group_texts(svg, "pool-average-dx"), shown(&davg));
}

#[test]
fn the_tape_diagram_shows_the_gradient_the_tape_chapter_derives() {
    let svgs = draw_all();
    // v̄₀ = 1 + 2x at x = (1, −2, 3).
    assert!(svgs["diagram_tape.svg"].contains("(3, −3, 7)"));
}

#[test]
fn the_gru_diagrams_show_where_each_form_applies_the_reset() {
    let all = draw_all();
    let book = texts(&all["diagram_gru_cell.svg"]);
    let after = texts(&all["diagram_gru_cell_reset_after.svg"]);
    // Subscripts lose their markup: h_{t−1} reads "ht−1", W_{ah} "Wah".
    assert!(
        book.iter().any(|t| t == "+ (r ⊙ ht−1) Wah + ba) (9.2)"),
        "{book:?}"
    );
    assert!(
        after.iter().any(|t| t == "+ r ⊙ (ht−1 Wah + bah)) (9.4)"),
        "{after:?}"
    );
    assert!(after.iter().any(|t| t == "ht−1 Wah") && after.iter().any(|t| t == "+ bah"));
    assert!(!book.iter().any(|t| t.contains("bah")), "{book:?}");
    // The gates and the update are the same in both.
    for shared in ["+ ht−1 Wzh + bz) (9.1)", "1 − z", "z ⊙ a"] {
        assert!(
            book.iter().any(|t| t == shared),
            "book form lacks {shared:?}"
        );
        assert!(
            after.iter().any(|t| t == shared),
            "PyTorch's form lacks {shared:?}"
        );
    }
    assert!(book.last().unwrap().ends_with("before the product by Wah."));
    assert!(after.last().unwrap().ends_with("after the product by Wah."));
}
