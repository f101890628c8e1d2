//! The LSTM cell (chapter 8) and the GRU cell (chapter 9), in the project's conventions: the LSTM's gate
//! blocks `[i | f | o | g]`, `c_t = f ⊙ c_{t-1} + i ⊙ g`, `h_t = o ⊙ tanh(c_t)`; the GRU's `[r | z]`, the reset
//! applied before the product (the book's form) or after it (PyTorch's), `h_t = (1 − z) ⊙ h_{t-1} + z ⊙ a`.

use super::color::*;
use super::{tint, Font, Stroke, Svg};

const R: f64 = 22.0;

fn gate(svg: &mut Svg, x: f64, y: f64, symbol: &str, color: &'static str) {
    svg.circle(x, y, R, &tint(color, 0.35), Stroke::new(color, 1.8));
    svg.text(x, y + 5.0, symbol, Font::new(14.0));
}

fn product(svg: &mut Svg, x: f64, y: f64, symbol: &str) {
    svg.op(x, y, 14.0, "white", symbol, 16.0);
}

/// The LSTM cell: the cell state's straight path along the top, the four gates from one affine map below.
pub fn lstm() -> String {
    let mut svg = Svg::new(745.0, 470.0);
    let a = Stroke::new(BLACK, 1.7);
    let cpath = Stroke::new(BLUE, 3.0);
    let f13 = Font::new(13.0);
    svg.rounded(80.0, 30.0, 610.0, 355.0, "#FAFAFA", Stroke::new(GREY, 1.2));
    // The cell state's path.
    let yc = 75.0;
    let (xf, xplus, xtap) = (220.0, 400.0, 620.0);
    svg.text(
        15.0,
        yc + 5.0,
        "c_{t−1}",
        Font::new(15.0).start().color(BLUE),
    );
    svg.line(65.0, yc, xf - 14.0, yc, cpath);
    product(&mut svg, xf, yc, "×");
    svg.line(xf + 14.0, yc, xplus - 14.0, yc, cpath);
    svg.op(xplus, yc, 14.0, "white", "+", 16.0);
    svg.arrow(xplus + 14.0, yc, 712.0, yc, cpath);
    svg.text(716.0, yc + 5.0, "c_t", Font::new(15.0).start().color(BLUE));
    // The gates, in a row.
    let yg = 240.0;
    let (xi, xg, xo) = (330.0, 470.0, 560.0);
    gate(&mut svg, xf, yg, "σ", ORANGE);
    gate(&mut svg, xi, yg, "σ", GREEN);
    gate(&mut svg, xg, yg, "tanh", PURPLE);
    gate(&mut svg, xo, yg, "σ", VERMILLION);
    for (x, name, c) in [
        (xf, "f", ORANGE),
        (xi, "i", GREEN),
        (xg, "g", PURPLE),
        (xo, "o", VERMILLION),
    ] {
        svg.text(
            x + R + 6.0,
            yg - R - 2.0,
            name,
            Font::new(15.0).start().bold().color(c),
        );
    }
    // f scales the old cell; i ⊙ g is added.
    svg.arrow(xf, yg - R, xf, yc + 14.0, a);
    let ymul = 160.0;
    product(&mut svg, xplus, ymul, "×");
    svg.arrow(xi + 12.0, yg - R + 4.0, xplus - 11.0, ymul + 9.0, a);
    svg.arrow(xg - 12.0, yg - R + 4.0, xplus + 11.0, ymul + 9.0, a);
    svg.arrow(xplus, ymul - 14.0, xplus, yc + 14.0, a);
    svg.text(xplus + 20.0, ymul + 5.0, "i ⊙ g", f13.start());
    // The output: o ⊙ tanh(c_t).
    svg.line(xtap, yc, xtap, 120.0, a);
    svg.circle(xtap, yc, 3.5, BLACK, Stroke::new(BLACK, 1.0));
    gate(&mut svg, xtap, 142.0, "tanh", BLUE);
    let yout = 240.0;
    product(&mut svg, 640.0, yout, "×");
    svg.arrow_path(
        &[
            (xtap, 164.0),
            (xtap, 200.0),
            (640.0, 200.0),
            (640.0, yout - 14.0),
        ],
        a,
    );
    svg.arrow(xo + R, yg, 640.0 - 14.0, yout, a);
    svg.arrow_path(
        &[(640.0, yout + 14.0), (640.0, 330.0), (712.0, 330.0)],
        Stroke::new(BLACK, 2.4),
    );
    svg.text(716.0, 335.0, "h_t", Font::new(15.0).start().bold());
    // The affine map below.
    let (bx, by, bw, bh) = (150.0, 296.0, 440.0, 62.0);
    svg.labelled_box(
        bx,
        by,
        bw,
        bh,
        &tint(SKY, 0.2),
        Stroke::new(BLACK, 1.4),
        &[
            "Z = x_t W_x + h_{t−1} W_h + b",
            "column blocks [ Z^i | Z^f | Z^o | Z^g ] (8.3)",
        ],
        f13,
    );
    for (x, name) in [(xf, "Z^f"), (xi, "Z^i"), (xg, "Z^g"), (xo, "Z^o")] {
        svg.arrow(x, by, x, yg + R, a);
        svg.text(x + 6.0, by - 14.0, name, Font::new(12.0).start());
    }
    svg.text(15.0, by + 33.0, "h_{t−1}", Font::new(15.0).start().bold());
    svg.arrow(65.0, by + 28.0, bx, by + 28.0, Stroke::new(BLACK, 2.4));
    svg.arrow(bx + bw / 2.0, 420.0, bx + bw / 2.0, by + bh, a);
    svg.text(bx + bw / 2.0, 438.0, "x_t", Font::new(15.0).bold());
    svg.text(
        15.0,
        462.0,
        "c_t = f ⊙ c_{t−1} + i ⊙ g (8.5);  h_t = o ⊙ tanh(c_t) (8.6);  i, f, o = σ(·), g = tanh(·) (8.4).",
        Font::new(13.0).start(),
    );
    svg.finish()
}

/// The GRU cell in the book's form: `[r | z]` from one affine map, the candidate reading `r ⊙ h_{t-1}`, and
/// `h_t = (1 − z) ⊙ h_{t-1} + z ⊙ a`.
pub fn gru() -> String {
    gru_cell(false)
}

/// The GRU cell in PyTorch's form (`Reset::After`, chapter 9's own setup): the same but for the candidate, which
/// scales `h_{t-1} W_{ah} + b_{ah}` by `r` after the product.
pub fn gru_reset_after() -> String {
    gru_cell(true)
}

/// The two forms differ only where the reset meets `h_{t-1}`: before its product by `W_{ah}` or after it.
fn gru_cell(after: bool) -> String {
    let mut svg = Svg::new(745.0, 470.0);
    let a = Stroke::new(BLACK, 1.7);
    let hpath = Stroke::new(BLUE, 3.0);
    let f13 = Font::new(13.0);
    svg.rounded(80.0, 30.0, 610.0, 360.0, "#FAFAFA", Stroke::new(GREY, 1.2));
    // The state's path along the top: keep (1 − z) of it, add z of the candidate.
    let yh = 75.0;
    let (xkeep, xplus) = (470.0, 600.0);
    svg.text(
        15.0,
        yh + 5.0,
        "h_{t−1}",
        Font::new(15.0).start().bold().color(BLUE),
    );
    svg.line(65.0, yh, xkeep - 14.0, yh, hpath);
    product(&mut svg, xkeep, yh, "×");
    svg.line(xkeep + 14.0, yh, xplus - 14.0, yh, hpath);
    svg.op(xplus, yh, 14.0, "white", "+", 16.0);
    svg.arrow(xplus + 14.0, yh, 712.0, yh, hpath);
    svg.text(
        716.0,
        yh + 5.0,
        "h_t",
        Font::new(15.0).start().bold().color(BLUE),
    );
    // h_{t−1} feeds the gates and the reset product: a branch down the left side.
    let xb = 110.0;
    svg.circle(xb, yh, 3.5, BLUE, Stroke::new(BLUE, 1.0));
    svg.line(xb, yh, xb, 330.0, Stroke::new(BLUE, 1.7));
    // The gates' affine map.
    let (gx, gy, gw, gh) = (140.0, 302.0, 230.0, 62.0);
    svg.arrow(xb, 330.0, gx, 330.0, Stroke::new(BLUE, 1.7));
    svg.labelled_box(
        gx,
        gy,
        gw,
        gh,
        &tint(SKY, 0.2),
        Stroke::new(BLACK, 1.4),
        &["[ r | z ] = σ(x_t W_{zx}", "+ h_{t−1} W_{zh} + b_z) (9.1)"],
        f13,
    );
    // r ⊙ h_{t−1} (the book's form), or r ⊙ (h_{t−1} W_{ah} + b_{ah}) (PyTorch's): the product of h_{t−1} by
    // W_{ah} drawn as a box on h_{t−1}'s way to the reset.
    let (xr, yr) = (if after { 265.0 } else { 190.0 }, 225.0);
    product(&mut svg, xr, yr, "×");
    svg.arrow(xr, gy, xr, yr + 14.0, Stroke::new(ORANGE, 2.0));
    svg.text(
        xr + 8.0,
        gy - 16.0,
        "r",
        Font::new(15.0).start().bold().color(ORANGE),
    );
    if after {
        let (bx, bw) = (132.0, 100.0);
        svg.arrow(xb, yr, bx, yr, Stroke::new(BLUE, 1.7));
        svg.labelled_box(
            bx,
            yr - 22.0,
            bw,
            44.0,
            &tint(SKY, 0.2),
            Stroke::new(BLACK, 1.4),
            &["h_{t−1} W_{ah}", "+ b_{ah}"],
            f13,
        );
        svg.arrow(bx + bw, yr, xr - 14.0, yr, a);
    } else {
        svg.arrow(xb, yr, xr - 14.0, yr, Stroke::new(BLUE, 1.7));
    }
    svg.circle(xb, yr, 3.5, BLUE, Stroke::new(BLUE, 1.0));
    // The candidate.
    let (cx, cy, cw, ch) = (150.0, 120.0, if after { 270.0 } else { 250.0 }, 62.0);
    svg.arrow(xr, yr - 14.0, xr, cy + ch, a);
    let candidate = if after {
        [
            "a = tanh(x_t W_{ax} + b_a",
            "+ r ⊙ (h_{t−1} W_{ah} + b_{ah})) (9.4)",
        ]
    } else {
        ["a = tanh(x_t W_{ax}", "+ (r ⊙ h_{t−1}) W_{ah} + b_a) (9.2)"]
    };
    if !after {
        svg.text(xr + 8.0, yr - 24.0, "r ⊙ h_{t−1}", f13.start());
    }
    svg.labelled_box(
        cx,
        cy,
        cw,
        ch,
        &tint(PURPLE, 0.25),
        Stroke::new(BLACK, 1.4),
        &candidate,
        f13,
    );
    // z: down the right of the gates, up to 1 − z and to z ⊙ a.
    let xz = 330.0;
    let (xza, yza) = (xplus, 153.0);
    svg.text(
        xz + 8.0,
        gy - 16.0,
        "z",
        Font::new(15.0).start().bold().color(GREEN),
    );
    let zs = Stroke::new(GREEN, 2.0);
    svg.line(xz, gy, xz, 270.0, zs);
    svg.arrow_path(&[(xz, 270.0), (xza, 270.0), (xza, yza + 14.0)], zs);
    svg.circle(xkeep, 270.0, 3.5, GREEN, Stroke::new(GREEN, 1.0));
    svg.labelled_box(
        xkeep - 28.0,
        200.0,
        56.0,
        32.0,
        &tint(GREEN, 0.25),
        Stroke::new(GREEN, 1.6),
        &["1 − z"],
        f13,
    );
    svg.arrow(xkeep, 270.0, xkeep, 232.0, zs);
    // a crosses the 1 − z line on its way to z ⊙ a: drawn over a white gap.
    svg.line(xkeep, 200.0, xkeep, 167.0, zs);
    svg.arrow(cx + cw, yza, xza - 14.0, yza, Stroke::new(PURPLE, 2.0));
    svg.text(
        (cx + cw + xkeep) / 2.0,
        yza - 8.0,
        "a",
        Font::new(15.0).bold().color(PURPLE),
    );
    svg.arrow(xkeep, 139.0, xkeep, yh + 14.0, zs);
    product(&mut svg, xza, yza, "×");
    svg.arrow(xza, yza - 14.0, xza, yh + 14.0, a);
    svg.text(xza + 20.0, yza + 5.0, "z ⊙ a", f13.start());
    // x_t feeds both affine maps (drawn twice rather than across the gates' lines).
    let xx = 255.0;
    svg.text(xx, 438.0, "x_t", Font::new(15.0).bold());
    svg.arrow(xx, 420.0, xx, gy + gh, a);
    let xx2 = if after { 360.0 } else { 300.0 };
    svg.text(xx2, 226.0, "x_t", Font::new(15.0).bold());
    svg.arrow(xx2, 208.0, xx2, cy + ch, a);
    let note = format!(
        "h_t = (1 − z) ⊙ h_{{t−1}} + z ⊙ a (9.3): z is the share of the candidate; r is applied {} the product by W_{{ah}}.",
        if after { "after" } else { "before" }
    );
    svg.text(15.0, 462.0, &note, Font::new(13.0).start());
    svg.finish()
}
