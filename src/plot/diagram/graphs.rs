//! Computation graphs: the tape's forward record and reverse sweep (the tape chapter), and batch
//! normalization's graph (chapter 6).

use super::color::*;
use super::{num, tint, tuple, Font, Stroke, Svg};

/// `L = Σ_j (x_j² + x_j)` on the tape: the values of its four nodes and the adjoints of the sweep.
pub struct TapeSweep {
    /// `v₀ = x`, `v₁ = v₀ ⊙ v₀`, `v₂ = v₁ + v₀`.
    pub values: [Vec<f64>; 3],
    /// `v₃ = Σ v₂`.
    pub loss: f64,
    /// `v̄₀, v̄₁, v̄₂` (and `v̄₃ = 1`).
    pub adjoints: [Vec<f64>; 3],
    /// What `mul` hands to each of its two operands, `v̄₁ ⊙ x`.
    pub mul_share: Vec<f64>,
}

/// `TapeSweep` drawn: the forward record on top, the reverse sweep below, each arrow labelled with what it
/// carries.
pub fn tape(t: &TapeSweep) -> String {
    let mut svg = Svg::new(745.0, 470.0);
    let (bw, bh) = (130.0, 54.0);
    let xs = [15.0, 210.0, 405.0, 600.0];
    let (yf, yb) = (95.0, 300.0);
    let fwd = Stroke::new(BLUE, 2.0);
    let bwd = Stroke::new(VERMILLION, 2.0);
    let f13 = Font::new(13.0);
    svg.text(
        15.0,
        24.0,
        "forward: each op appends a node; values are computed left to right",
        Font::new(14.0).bold().start().color(BLUE),
    );
    let nodes = [
        ("v_0 = x  (leaf)", tuple(&t.values[0])),
        ("v_1 = mul(v_0, v_0)", tuple(&t.values[1])),
        ("v_2 = add(v_1, v_0)", tuple(&t.values[2])),
        ("v_3 = sum(v_2) = L", num(t.loss)),
    ];
    for (i, (name, value)) in nodes.iter().enumerate() {
        svg.labelled_box(
            xs[i],
            yf,
            bw,
            bh,
            &tint(SKY, 0.25),
            Stroke::new(BLUE, 1.5),
            &[name, value],
            f13,
        );
    }
    let mid_f = yf + bh / 2.0;
    // x is used twice by mul: two arrows.
    svg.arrow(xs[0] + bw, mid_f - 9.0, xs[1], mid_f - 9.0, fwd);
    svg.arrow(xs[0] + bw, mid_f + 9.0, xs[1], mid_f + 9.0, fwd);
    svg.arrow(xs[1] + bw, mid_f, xs[2], mid_f, fwd);
    svg.arrow(xs[2] + bw, mid_f, xs[3], mid_f, fwd);
    svg.curved_arrow(
        (xs[0] + bw / 2.0, yf),
        (xs[1] + bw / 2.0 + 90.0, yf - 70.0),
        (xs[2] + bw / 2.0, yf),
        fwd,
    );
    svg.text(
        xs[1] + bw / 2.0 + 45.0,
        yf - 36.0,
        "v_0 again",
        f13.color(BLUE),
    );
    // The sweep.
    svg.text(
        15.0,
        yb - 62.0,
        "backward: one sweep from the last node to the first; each adds its share into its inputs' adjoints",
        Font::new(14.0).bold().start().color(VERMILLION),
    );
    let adj = [
        ("v̄_0", tuple(&t.adjoints[0])),
        ("v̄_1", tuple(&t.adjoints[1])),
        ("v̄_2", tuple(&t.adjoints[2])),
        ("v̄_3 = 1 (seed)", String::new()),
    ];
    for (i, (name, value)) in adj.iter().enumerate() {
        let lines: Vec<&str> = if value.is_empty() {
            vec![name]
        } else {
            vec![name, value]
        };
        svg.labelled_box(
            xs[i],
            yb,
            bw,
            bh,
            &tint(VERMILLION, 0.15),
            Stroke::new(VERMILLION, 1.5),
            &lines,
            f13,
        );
    }
    let mid_b = yb + bh / 2.0;
    let lab = Font::new(12.0).color(VERMILLION);
    svg.arrow(xs[3], mid_b, xs[2] + bw, mid_b, bwd);
    svg.text(xs[2] + bw + 32.0, mid_b - 8.0, "spread", lab);
    svg.arrow(xs[2], mid_b, xs[1] + bw, mid_b, bwd);
    svg.text(xs[1] + bw + 32.0, mid_b - 8.0, "pass", lab);
    svg.arrow(xs[1], mid_b - 9.0, xs[0] + bw, mid_b - 9.0, bwd);
    svg.arrow(xs[1], mid_b + 9.0, xs[0] + bw, mid_b + 9.0, bwd);
    svg.text(xs[0] + bw + 32.0, mid_b - 15.0, "v̄_1 ⊙ x", lab);
    svg.text(xs[0] + bw + 32.0, mid_b + 27.0, "twice", lab);
    svg.curved_arrow(
        (xs[2] + bw / 2.0, yb + bh),
        (xs[1] + bw / 2.0 + 90.0, yb + bh + 70.0),
        (xs[0] + bw / 2.0, yb + bh),
        bwd,
    );
    svg.text(
        xs[1] + bw / 2.0 + 45.0,
        yb + bh + 48.0,
        &format!("add passes v̄_2 = {}", tuple(&t.adjoints[2])),
        lab,
    );
    // The order of the sweep.
    for (step, i) in [3usize, 2, 1, 0].iter().enumerate() {
        let (cx, cy) = (xs[*i] + bw - 4.0, yb - 4.0);
        svg.circle(cx, cy, 11.0, "white", Stroke::new(VERMILLION, 1.5));
        svg.text(
            cx,
            cy + 4.5,
            &format!("{}", step + 1),
            Font::new(12.0).color(VERMILLION),
        );
    }
    // Dotted links between a node and its adjoint.
    for &x in &xs {
        svg.line(
            x + bw / 2.0,
            yf + bh,
            x + bw / 2.0,
            yb - 18.0,
            Stroke::new(GREY, 1.0).dashed(),
        );
    }
    let sum = tuple(&t.adjoints[0]);
    svg.text(
        15.0,
        455.0,
        &format!(
            "v̄_0 sums the contributions of v_0's three uses (T.1): {} + {} + {} = {} = 1 + 2x.",
            tuple(&t.adjoints[2]),
            tuple(&t.mul_share),
            tuple(&t.mul_share),
            sum
        ),
        Font::new(13.0).start(),
    );
    svg.finish()
}

/// Batch normalization's graph for one feature, (6.1) to (6.4), with the three paths from `x` to `x̂` and the
/// gradients the backward walk of (6.13) computes.
pub fn batch_norm() -> String {
    let mut svg = Svg::new(745.0, 420.0);
    let f14 = Font::new(14.0);
    let node = |svg: &mut Svg, x: f64, y: f64, w: f64, lines: &[&str], fill: &str| {
        svg.labelled_box(
            x - w / 2.0,
            y - 24.0,
            w,
            48.0,
            fill,
            Stroke::new(BLACK, 1.5),
            lines,
            f14,
        );
    };
    let direct = Stroke::new(BLUE, 2.2);
    let mean = Stroke::new(ORANGE, 2.2);
    let var = Stroke::new(GREEN, 2.2);
    let plain = Stroke::new(BLACK, 1.6);
    // Positions.
    let (x, mu, d, v, s, xh, y) = (
        (55.0, 200.0),
        (160.0, 90.0),
        (290.0, 200.0),
        (370.0, 90.0),
        (565.0, 90.0),
        (530.0, 200.0),
        (680.0, 200.0),
    );
    let white = "white";
    node(&mut svg, x.0, x.1, 80.0, &["x_1 … x_m"], &tint(SKY, 0.3));
    node(&mut svg, mu.0, mu.1, 120.0, &["μ = mean(x)"], white);
    node(&mut svg, d.0, d.1, 90.0, &["x − μ"], white);
    node(&mut svg, v.0, v.1, 170.0, &["σ² = mean((x − μ)²)"], white);
    node(&mut svg, s.0, s.1, 140.0, &["s = (σ² + ε)^{−1/2}"], white);
    node(&mut svg, xh.0, xh.1, 110.0, &["x̂ = (x − μ) s"], white);
    node(&mut svg, y.0, y.1, 100.0, &["y = γ x̂ + β"], &tint(SKY, 0.3));
    node(&mut svg, 600.0, 310.0, 70.0, &["γ, β"], &tint(YELLOW, 0.4));
    // Forward edges, coloured by the path from x they belong to.
    svg.arrow(x.0 + 40.0, x.1, d.0 - 45.0, d.1, direct);
    svg.arrow(x.0 + 20.0, x.1 - 24.0, mu.0 - 35.0, mu.1 + 24.0, mean);
    svg.arrow(mu.0 + 30.0, mu.1 + 24.0, d.0 - 20.0, d.1 - 24.0, mean);
    svg.arrow(d.0 + 20.0, d.1 - 24.0, v.0 - 30.0, v.1 + 24.0, var);
    svg.arrow(v.0 + 85.0, v.1, s.0 - 70.0, s.1, var);
    svg.arrow(s.0 - 10.0, s.1 + 24.0, xh.0 + 10.0, xh.1 - 24.0, var);
    svg.arrow(d.0 + 45.0, d.1, xh.0 - 55.0, xh.1, direct);
    svg.arrow(xh.0 + 55.0, xh.1, y.0 - 50.0, y.1, plain);
    svg.arrow(620.0, 286.0, y.0 - 20.0, y.1 + 24.0, plain);
    // The backward walk: the gradient that reaches each node, in the order (6.13) computes them.
    let g = Font::new(13.0).color(VERMILLION);
    svg.text(y.0, y.1 - 40.0, "dy_i = ∂L/∂y_i", g);
    svg.text(xh.0 + 10.0, xh.1 + 46.0, "g_i = γ dy_i", g);
    svg.text(v.0, v.1 - 38.0, "∂L/∂σ² (6.13)", g);
    svg.text(mu.0, mu.1 - 38.0, "∂L/∂μ = −s Σ g_i", g);
    svg.text(x.0 + 30.0, x.1 + 46.0, "dx_j: three terms", g);
    svg.text(600.0, 356.0, "dγ, dβ (6.9)", g);
    // Legend.
    let ly = 300.0;
    let items = [
        (BLUE, "direct: x_j itself"),
        (ORANGE, "through the mean μ"),
        (GREEN, "through the variance σ²"),
    ];
    svg.text(
        20.0,
        ly,
        "x_j reaches x̂_i along three paths:",
        Font::new(13.0).start(),
    );
    for (i, (c, t)) in items.iter().enumerate() {
        let yy = ly + 22.0 + i as f64 * 20.0;
        svg.line(24.0, yy - 4.0, 54.0, yy - 4.0, Stroke::new(c, 3.0));
        svg.text(62.0, yy, t, Font::new(13.0).start());
    }
    svg.text(
        20.0,
        405.0,
        "Red: the gradient reaching each node when the graph is walked backwards; dx_j adds the three paths' terms.",
        Font::new(13.0).start(),
    );
    svg.finish()
}
