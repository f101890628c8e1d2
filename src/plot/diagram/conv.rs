//! The convolution diagrams of chapters 4 and 5: a convolution with stride and padding, its input gradient as
//! a dilated, padded error correlated with the rotated kernel, im2col, and max and average pooling. Every number
//! drawn is the caller's (computed by the library).

use super::color::*;
use super::{num, tint, Font, GridStyle, Stroke, Svg};
use nalgebra::DMatrix;

/// A one-channel convolution: `output = input ⋆ kernel + bias` over the input padded by `pad`, stride `stride`.
pub struct ConvForward {
    /// The input with its padding: `(H + 2p) x (W + 2p)`.
    pub padded: DMatrix<f64>,
    pub pad: usize,
    pub kernel: DMatrix<f64>,
    pub bias: f64,
    pub stride: usize,
    pub output: DMatrix<f64>,
}

/// `ConvForward` drawn: the padded input with two windows one stride apart, the kernel, the output.
pub fn conv_forward(c: &ConvForward) -> String {
    let cell = 30.0;
    let (k, s, p) = (c.kernel.nrows(), c.stride, c.pad);
    let n = c.padded.nrows();
    let h = n - 2 * p;
    let o = c.output.nrows();
    let mut svg = Svg::new(730.0, 350.0);
    let top = 58.0;
    let label = Font::new(14.0);
    let x_in = 20.0;
    let x_k = x_in + n as f64 * cell + 70.0;
    let x_out = x_k + k as f64 * cell + 90.0;
    // The first window and the one a stride to its right.
    let first = window_cells(0, 0, k, ORANGE);
    let second = window_cells(0, s, k, SKY);
    let mut hl: Vec<(usize, usize, String)> = first.clone();
    for (i, j, col) in second {
        let both = first.iter().any(|f| f.0 == i && f.1 == j);
        hl.push((i, j, if both { tint(GREEN, 0.45) } else { col }));
    }
    svg.text(
        x_in + n as f64 * cell / 2.0,
        top - 14.0,
        &format!("input {h}×{h}, padded by p = {p} (grey)"),
        label,
    );
    svg.grid(
        "conv-input",
        x_in,
        top,
        &c.padded,
        &GridStyle {
            cell,
            highlight: &hl,
            pad: (p, p, p, p),
            ..GridStyle::default()
        },
    );
    svg.outline(
        x_in,
        top,
        cell,
        (0, 0),
        (k, k),
        Stroke::new(VERMILLION, 3.0),
    );
    svg.outline(
        x_in,
        top,
        cell,
        (0, s),
        (k, k),
        Stroke::new(BLUE, 3.0).dashed(),
    );
    let mid = top + n as f64 * cell / 2.0;
    svg.text(x_k - 35.0, mid + 12.0, "⋆", Font::new(40.0));
    svg.text(
        x_k + k as f64 * cell / 2.0,
        top + 40.0,
        &format!("kernel {k}×{k}"),
        label,
    );
    svg.grid(
        "conv-kernel",
        x_k,
        top + 54.0,
        &c.kernel,
        &GridStyle {
            cell,
            fill: YELLOW_TINT,
            ..GridStyle::default()
        },
    );
    svg.text(
        x_k + k as f64 * cell / 2.0,
        top + 54.0 + k as f64 * cell + 24.0,
        &format!("bias b = {}", num(c.bias)),
        label,
    );
    svg.text(x_out - 40.0, mid + 8.0, "=", Font::new(24.0));
    svg.text(
        x_out + o as f64 * cell / 2.0,
        top + 40.0,
        &format!("output {o}×{o}"),
        label,
    );
    let out_hl = [(0, 0, tint(ORANGE, 0.55)), (0, 1, tint(SKY, 0.55))];
    svg.grid(
        "conv-output",
        x_out,
        top + 54.0,
        &c.output,
        &GridStyle {
            cell,
            highlight: &out_hl,
            ..GridStyle::default()
        },
    );
    let y0 = top + n as f64 * cell + 34.0;
    let small = Font::new(13.0).start();
    svg.text(
        20.0,
        y0,
        &format!(
            "Each output is the window under the kernel times the kernel, summed, plus b: the solid window gives y_{{00}} = {}.",
            num(c.output[(0, 0)])
        ),
        small,
    );
    svg.text(
        20.0,
        y0 + 20.0,
        &format!(
            "Stride s = {s}: the next window (dashed) starts {s} columns over. Size (4.1): ⌊({h} + 2·{p} − {k}) / {s}⌋ + 1 = {o}."
        ),
        small,
    );
    svg.finish()
}

const YELLOW_TINT: &str = "#FBF8D0";

fn window_cells(r0: usize, c0: usize, k: usize, color: &str) -> Vec<(usize, usize, String)> {
    let t = tint(color, 0.45);
    (0..k)
        .flat_map(|i| (0..k).map(move |j| (r0 + i, c0 + j)))
        .map(|(i, j)| (i, j, t.clone()))
        .collect()
}

/// The input gradient of [`ConvForward`]'s convolution, step by step (4.10) to (4.12).
pub struct ConvBackward {
    /// `δ`, the error of the output.
    pub delta: DMatrix<f64>,
    /// `D`: `δ` with `s − 1` zeros between entries.
    pub dilated: DMatrix<f64>,
    /// `D̃`: `D` padded by `k − 1`.
    pub padded: DMatrix<f64>,
    pub kernel: DMatrix<f64>,
    /// The kernel rotated by 180°.
    pub rotated: DMatrix<f64>,
    /// `D̃ ⋆ rotated`: the gradient of the padded input.
    pub full: DMatrix<f64>,
    /// The gradient of the input: `full` without its padding border.
    pub dx: DMatrix<f64>,
    pub stride: usize,
    pub pad: usize,
}

/// `ConvBackward` drawn in two rows: δ → D → D̃, then K → K rotated, D̃ ⋆ K' → dX̃ → dX.
pub fn conv_backward(c: &ConvBackward) -> String {
    let cell = 26.0;
    let font = 12.0;
    let (s, p, k) = (c.stride, c.pad, c.kernel.nrows());
    let mut svg = Svg::new(740.0, 600.0);
    let label = Font::new(13.0);
    let note = Font::new(12.0).color("#333333");
    let arrow = Stroke::new(BLACK, 1.6);
    // Where δ's entries go, in each grid: the error cells in colour.
    let spots = |m: &DMatrix<f64>, step: usize, off: usize| -> Vec<(usize, usize, String)> {
        let mut v = Vec::new();
        for i in 0..c.delta.nrows() {
            for j in 0..c.delta.ncols() {
                let (a, b) = (off + i * step, off + j * step);
                if a < m.nrows() && b < m.ncols() {
                    v.push((a, b, tint(SKY, 0.5)));
                }
            }
        }
        v
    };
    let gs = |hl| styled(cell, font, hl);
    // Row 1.
    let top = 50.0;
    let (xd, xdil, xpad) = (20.0, 185.0, 420.0);
    let hd = spots(&c.delta, 1, 0);
    svg.text(xd + 39.0, top - 12.0, "error δ = ∂L/∂Y", label);
    let (wd, _) = svg.grid("bw-delta", xd, top + 78.0, &c.delta, &gs(&hd));
    let hdil = spots(&c.dilated, s, 0);
    svg.text(xdil + 65.0, top - 12.0, "D: dilated (4.10)", label);
    let (wdil, _) = svg.grid("bw-dilated", xdil, top + 52.0, &c.dilated, &gs(&hdil));
    svg.arrow(xd + wd + 8.0, top + 117.0, xdil - 8.0, top + 117.0, arrow);
    svg.text(
        xd + wd + 44.0,
        top + 108.0,
        &format!("s − 1 = {}", s - 1),
        note,
    );
    svg.text(xd + wd + 44.0, top + 136.0, "zeros between", note);
    let mut hpad = spots(&c.padded, s, k - 1);
    // One window of the correlation, and the entry of dX̃ it makes.
    let (wr, wc) = (1, 2);
    for i in 0..k {
        for j in 0..k {
            if !hpad.iter().any(|h| h.0 == wr + i && h.1 == wc + j) {
                hpad.push((wr + i, wc + j, tint(ORANGE, 0.35)));
            }
        }
    }
    svg.text(
        xpad + 117.0,
        top - 12.0,
        &format!("D̃: D padded by k − 1 = {}", k - 1),
        label,
    );
    let pad_style = GridStyle {
        cell,
        font,
        highlight: &hpad,
        pad: (k - 1, k - 1, k - 1, k - 1),
        ..GridStyle::default()
    };
    svg.grid("bw-padded", xpad, top, &c.padded, &pad_style);
    svg.outline(
        xpad,
        top,
        cell,
        (wr, wc),
        (k, k),
        Stroke::new(VERMILLION, 3.0),
    );
    svg.arrow(
        xdil + wdil + 8.0,
        top + 117.0,
        xpad - 8.0,
        top + 117.0,
        arrow,
    );
    svg.text(
        xdil + wdil + 45.0,
        top + 108.0,
        &format!("pad by {}", k - 1),
        note,
    );
    // Row 2.
    let top2 = 330.0;
    let (xk, xrot, xfull, xdx) = (20.0, 170.0, 330.0, 590.0);
    svg.text(xk + 39.0, top2 - 12.0, "kernel K", label);
    let (wk, _) = svg.grid("bw-kernel", xk, top2 + 52.0, &c.kernel, &gs(&[]));
    svg.text(xrot + 39.0, top2 - 12.0, "K rotated 180°", label);
    let (wrot, _) = svg.grid("bw-rotated", xrot, top2 + 52.0, &c.rotated, &gs(&[]));
    svg.arrow(xk + wk + 8.0, top2 + 91.0, xrot - 8.0, top2 + 91.0, arrow);
    svg.text(xk + wk + 35.0, top2 + 82.0, "rotate", note);
    let full_hl = [(wr, wc, tint(ORANGE, 0.55))];
    svg.text(
        xfull + 91.0,
        top2 - 12.0,
        "dX̃ = D̃ ⋆ rotated K (4.11)",
        label,
    );
    let full_style = GridStyle {
        cell,
        font,
        highlight: &full_hl,
        pad: (p, p, p, p),
        ..GridStyle::default()
    };
    let (wfull, _) = svg.grid("bw-full", xfull, top2, &c.full, &full_style);
    svg.outline(
        xfull,
        top2,
        cell,
        (wr, wc),
        (1, 1),
        Stroke::new(VERMILLION, 3.0),
    );
    svg.arrow(
        xrot + wrot + 8.0,
        top2 + 91.0,
        xfull - 8.0,
        top2 + 91.0,
        arrow,
    );
    svg.text(xrot + wrot + 40.0, top2 + 82.0, "⋆ D̃", note);
    svg.text(xdx + 65.0, top2 - 12.0, "dX = ∂L/∂X (4.12)", label);
    svg.grid("bw-dx", xdx, top2 + 26.0, &c.dx, &gs(&[]));
    svg.arrow(
        xfull + wfull + 6.0,
        top2 + 91.0,
        xdx - 6.0,
        top2 + 91.0,
        arrow,
    );
    svg.text(
        xfull + wfull + 27.0,
        top2 + 82.0,
        &format!("crop {p}"),
        note,
    );
    let y0 = top2 + c.full.nrows() as f64 * cell + 30.0;
    let small = Font::new(13.0).start();
    svg.text(
        20.0,
        y0,
        "The red window of D̃, times the rotated kernel and summed, is the red entry of dX̃; the grey border of dX̃ is",
        small,
    );
    svg.text(
        20.0,
        y0 + 19.0,
        "the gradient of the padding zeros, which are constants, so it is dropped. Blue: where δ's entries sit.",
        small,
    );
    svg.finish()
}

/// A grid style with these cells highlighted.
fn styled(cell: f64, font: f64, highlight: &[(usize, usize, String)]) -> GridStyle<'_> {
    GridStyle {
        cell,
        font,
        highlight,
        ..GridStyle::default()
    }
}

/// im2col on a one-channel image: its patches as the rows of a matrix, times the kernels as columns.
pub struct Im2col {
    pub input: DMatrix<f64>,
    /// The kernel size `k` (square), stride 1, no padding.
    pub k: usize,
    /// `cols(X)`: `P x K`, row `p` the patch under output position `p`.
    pub cols: DMatrix<f64>,
    /// `W`: `K x C_out`, column `o` kernel `o`.
    pub weights: DMatrix<f64>,
    /// `R = cols(X) W` (no bias).
    pub product: DMatrix<f64>,
}

const PATCH_COLORS: [&str; 4] = [ORANGE, SKY, GREEN, PURPLE];

/// `Im2col` drawn as Falk's scheme: `W` above `R`, `cols(X)` left of `R`, the image and its patches above.
pub fn im2col(c: &Im2col) -> String {
    let k = c.k;
    let (h, w) = c.input.shape();
    let ow = w - k + 1;
    let (p, kk) = c.cols.shape();
    let cout = c.weights.ncols();
    let cell = 26.0;
    let mut svg = Svg::new(740.0, 560.0);
    let label = Font::new(13.0);
    // The image, each patch outlined in its colour (inset so that overlapping outlines stay apart).
    let (xi, yi, ci) = (20.0, 50.0, 34.0);
    svg.text(
        xi + w as f64 * ci / 2.0,
        yi - 14.0,
        &format!("image X {h}×{w}"),
        label,
    );
    svg.grid(
        "im2col-input",
        xi,
        yi,
        &c.input,
        &GridStyle {
            cell: ci,
            ..GridStyle::default()
        },
    );
    for q in 0..p {
        let (r0, c0) = (q / ow, q % ow);
        let inset = 2.0 + 2.5 * q as f64;
        svg.rect(
            xi + c0 as f64 * ci + inset,
            yi + r0 as f64 * ci + inset,
            k as f64 * ci - 2.0 * inset,
            k as f64 * ci - 2.0 * inset,
            "none",
            Stroke::new(PATCH_COLORS[q % 4], 2.5),
        );
    }
    // The patches, apart.
    let (xp, yp, cp) = (172.0, 50.0, 20.0);
    svg.text(xp + 65.0, yp - 14.0, &format!("its {p} patches"), label);
    for q in 0..p {
        let (r0, c0) = (q / ow, q % ow);
        let patch = c.input.view((r0, c0), (k, k)).into_owned();
        let hl: Vec<(usize, usize, String)> = (0..k * k)
            .map(|e| (e / k, e % k, tint(PATCH_COLORS[q % 4], 0.45)))
            .collect();
        svg.grid(
            &format!("im2col-patch{q}"),
            xp + (q % 2) as f64 * (k as f64 * cp + 10.0),
            yp + (q / 2) as f64 * (k as f64 * cp + 10.0),
            &patch,
            &GridStyle {
                cell: cp,
                font: 12.0,
                highlight: &hl,
                ..GridStyle::default()
            },
        );
    }
    // W, top right; cols(X) below the image; R under W.
    let xw = 20.0 + kk as f64 * cell + 75.0;
    let yw = 40.0;
    let yc = yw + kk as f64 * cell + 50.0;
    let xc = 20.0;
    svg.text(
        xw + cout as f64 * cell / 2.0,
        yw - 12.0,
        &format!("W ({kk}×{cout})"),
        label,
    );
    svg.grid(
        "im2col-weights",
        xw,
        yw,
        &c.weights,
        &GridStyle {
            cell,
            fill: YELLOW_TINT,
            ..GridStyle::default()
        },
    );
    svg.text(
        xw + cout as f64 * cell + 8.0,
        yw + kk as f64 * cell / 2.0 - 8.0,
        "one kernel",
        Font::new(12.0).start(),
    );
    svg.text(
        xw + cout as f64 * cell + 8.0,
        yw + kk as f64 * cell / 2.0 + 8.0,
        "per column",
        Font::new(12.0).start(),
    );
    let row_hl: Vec<(usize, usize, String)> = (0..p)
        .flat_map(|q| (0..kk).map(move |e| (q, e)))
        .map(|(q, e)| (q, e, tint(PATCH_COLORS[q % 4], 0.45)))
        .collect();
    svg.text(
        xc + kk as f64 * cell / 2.0,
        yc - 12.0,
        &format!("cols(X) ({p}×{kk}): one patch per row"),
        label,
    );
    svg.grid(
        "im2col-cols",
        xc,
        yc,
        &c.cols,
        &GridStyle {
            cell,
            highlight: &row_hl,
            ..GridStyle::default()
        },
    );
    svg.text(
        xw - 37.0,
        yc + p as f64 * cell / 2.0 + 8.0,
        "=",
        Font::new(22.0),
    );
    let r_hl: Vec<(usize, usize, String)> = (0..p)
        .flat_map(|q| (0..cout).map(move |o| (q, o)))
        .map(|(q, o)| (q, o, tint(PATCH_COLORS[q % 4], 0.45)))
        .collect();
    svg.grid(
        "im2col-product",
        xw,
        yc,
        &c.product,
        &GridStyle {
            cell,
            highlight: &r_hl,
            ..GridStyle::default()
        },
    );
    svg.text(
        xw + cout as f64 * cell + 8.0,
        yc + p as f64 * cell / 2.0 + 4.0,
        "R = cols(X) W (5.1)",
        Font::new(13.0).start(),
    );
    // Arrows: the patches to their rows.
    svg.arrow(
        xp + 65.0,
        yp + 2.0 * (k as f64 * cp + 10.0) + 4.0,
        xp + 65.0,
        yc - 30.0,
        Stroke::new(BLACK, 1.6),
    );
    let y0 = yc + p as f64 * cell + 34.0;
    let small = Font::new(13.0).start();
    svg.text(
        20.0,
        y0,
        "Row p of R holds output position p of every feature map: column o, read as a 2×2 grid, is map o.",
        small,
    );
    svg.text(
        20.0,
        y0 + 19.0,
        &format!(
            "Each entry of X is copied into up to {} rows: cols(X) has {} entries for X's {}.",
            k * k,
            p * kk,
            h * w
        ),
        small,
    );
    svg.finish()
}

/// Max and average pooling of one channel, forward and backward.
pub struct Pooling {
    pub input: DMatrix<f64>,
    pub window: usize,
    pub max: DMatrix<f64>,
    pub avg: DMatrix<f64>,
    /// The error handed down, the same for both.
    pub delta: DMatrix<f64>,
    pub dx_max: DMatrix<f64>,
    pub dx_avg: DMatrix<f64>,
    /// For each output `(u, v)`, the input entry that won the max.
    pub winners: Vec<(usize, usize)>,
}

/// One row of the pooling diagram: its name, output, input gradient, highlights of the input, and how.
type PoolRow<'a> = (
    &'a str,
    &'a DMatrix<f64>,
    &'a DMatrix<f64>,
    &'a [(usize, usize, String)],
    &'a str,
);

/// `Pooling` drawn in two rows (max, average), forward on the left, backward on the right.
pub fn pooling(c: &Pooling) -> String {
    let cell = 36.0;
    let win = c.window;
    let (oh, ow) = c.max.shape();
    let (h, w) = c.input.shape();
    let mut svg = Svg::new(740.0, 480.0);
    let window_of = |i: usize, j: usize| -> usize { (i / win) * ow + j / win };
    let colors = [ORANGE, SKY, GREEN, PURPLE];
    let light = |i: usize, j: usize| tint(colors[window_of(i, j) % 4], 0.22);
    let strong = |u: usize, v: usize| tint(colors[(u * ow + v) % 4], 0.7);
    let mut base: Vec<(usize, usize, String)> = Vec::new();
    for i in 0..h {
        for j in 0..w {
            base.push((i, j, light(i, j)));
        }
    }
    let out_hl: Vec<(usize, usize, String)> = (0..oh)
        .flat_map(|u| (0..ow).map(move |v| (u, v)))
        .map(|(u, v)| (u, v, strong(u, v)))
        .collect();
    let mut winners_hl = base.clone();
    for (q, &(i, j)) in c.winners.iter().enumerate() {
        winners_hl.push((i, j, strong(q / ow, q % ow)));
    }
    let (xx, xy, xd, xdx) = (105.0, 290.0, 410.0, 575.0);
    let heads = Font::new(14.0).bold();
    svg.text((xx + xy + 60.0) / 2.0, 24.0, "forward", heads);
    svg.text((xd + xdx + 144.0) / 2.0, 24.0, "backward", heads);
    let label = Font::new(13.0);
    let rows: [PoolRow; 2] = [
        (
            "max",
            &c.max,
            &c.dx_max,
            &winners_hl,
            "each error to its window's maximum (4.13)",
        ),
        (
            "average",
            &c.avg,
            &c.dx_avg,
            &base,
            "each error split evenly, ÷ 4 (4.14)",
        ),
    ];
    for (r, (name, y, dx, xhl, how)) in rows.iter().enumerate() {
        let top = 60.0 + r as f64 * 200.0;
        svg.text(20.0, top + 77.0, name, Font::new(15.0).bold().start());
        svg.text(xx + 72.0, top - 10.0, "X", label);
        let style = |hl| styled(cell, 13.0, hl);
        svg.grid(&format!("pool-{name}-x"), xx, top, &c.input, &style(xhl));
        svg.arrow(
            xx + 150.0,
            top + 72.0,
            xy - 6.0,
            top + 72.0,
            Stroke::new(BLACK, 1.6),
        );
        svg.text(xy + 36.0, top + 26.0, "Y", label);
        svg.grid(
            &format!("pool-{name}-y"),
            xy,
            top + 36.0,
            y,
            &style(&out_hl),
        );
        svg.text(xd + 36.0, top + 26.0, "δ = ∂L/∂Y", label);
        svg.grid(
            &format!("pool-{name}-delta"),
            xd,
            top + 36.0,
            &c.delta,
            &style(&out_hl),
        );
        svg.arrow(
            xd + 78.0,
            top + 72.0,
            xdx - 6.0,
            top + 72.0,
            Stroke::new(BLACK, 1.6),
        );
        svg.text(xdx + 72.0, top - 10.0, "∂L/∂X", label);
        let dx_hl: Vec<(usize, usize, String)> = if *name == "max" {
            winners_hl.clone()
        } else {
            base.clone()
        };
        svg.grid(&format!("pool-{name}-dx"), xdx, top, dx, &style(&dx_hl));
        svg.text(xd, top + 166.0, how, Font::new(13.0).start().italic());
    }
    svg.text(
        20.0,
        465.0,
        "Windows 2×2, stride 2, one colour each; for max pooling the darker cell is the window's first maximum.",
        Font::new(13.0).start(),
    );
    svg.finish()
}
