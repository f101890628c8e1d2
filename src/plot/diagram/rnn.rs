//! Recurrent networks unrolled over time (chapter 7): one layer, a bidirectional one, a stack of two.

use super::color::*;
use super::{tint, Font, Stroke, Svg};

const STEPS: usize = 4;
/// The x of step `t` (0-based) and the box size.
const X0: f64 = 230.0;
const DX: f64 = 135.0;
const BW: f64 = 76.0;
const BH: f64 = 44.0;

fn step_x(t: usize) -> f64 {
    X0 + t as f64 * DX
}

fn t_name(t: usize) -> String {
    if t + 1 == STEPS {
        "T".into()
    } else {
        format!("{}", t + 1)
    }
}

/// A row of cells at height `y` (their centres), joined left to right or right to left.
fn chain(svg: &mut Svg, y: f64, color: &'static str, forward: bool, label: &str, state: &str) {
    let f13 = Font::new(13.0);
    for t in 0..STEPS {
        let cx = step_x(t);
        svg.labelled_box(
            cx - BW / 2.0,
            y - BH / 2.0,
            BW,
            BH,
            &tint(color, 0.25),
            Stroke::new(color, 1.8),
            &[label],
            f13,
        );
    }
    let link = Stroke::new(color, 2.0);
    for t in 0..STEPS - 1 {
        let (a, b) = (step_x(t) + BW / 2.0, step_x(t + 1) - BW / 2.0);
        if forward {
            svg.arrow(a, y, b, y, link);
        } else {
            svg.arrow(b, y, a, y, link);
        }
        let name = if forward {
            format!("{state}_{}", t_name(t))
        } else {
            format!("{state}_{}", t_name(t + 1))
        };
        svg.text((a + b) / 2.0, y - 8.0, &name, Font::new(13.0).color(color));
    }
    // The initial state enters at the chain's start.
    let (from, to) = if forward {
        (step_x(0) - BW / 2.0 - 40.0, step_x(0) - BW / 2.0)
    } else {
        let e = step_x(STEPS - 1) + BW / 2.0;
        (e + 40.0, e)
    };
    svg.arrow(from, y, to, y, link);
    let lx = if forward { from - 4.0 } else { from + 4.0 };
    let font = if forward {
        Font::new(13.0).end().color(color)
    } else {
        Font::new(13.0).start().color(color)
    };
    svg.text(lx, y + 5.0, "h_0", font);
}

fn inputs(svg: &mut Svg, y_label: f64, y_to: f64, name: &str) {
    for t in 0..STEPS {
        let cx = step_x(t);
        svg.text(
            cx,
            y_label,
            &format!("{name}_{}", t_name(t)),
            Font::new(14.0),
        );
        svg.arrow(cx, y_label - 18.0, cx, y_to, Stroke::new(BLACK, 1.6));
    }
}

/// One layer: the folded cell with its loop, and the same cell unrolled over `T` steps.
pub fn unrolled() -> String {
    let mut svg = Svg::new(745.0, 300.0);
    let y = 140.0;
    // Folded.
    let cx = 55.0;
    svg.labelled_box(
        cx - 35.0,
        y - BH / 2.0,
        70.0,
        BH,
        &tint(BLUE, 0.25),
        Stroke::new(BLUE, 1.8),
        &["tanh"],
        Font::new(13.0),
    );
    svg.curved_arrow(
        (cx + 20.0, y - BH / 2.0),
        (cx, y - 95.0),
        (cx - 20.0, y - BH / 2.0),
        Stroke::new(BLUE, 2.0),
    );
    svg.text(cx, y - 72.0, "W_h", Font::new(13.0).color(BLUE));
    svg.arrow(cx, y + 75.0, cx, y + BH / 2.0, Stroke::new(BLACK, 1.6));
    svg.text(cx, y + 93.0, "x_t", Font::new(14.0));
    svg.arrow(
        cx,
        y - BH / 2.0 - 2.0,
        cx,
        y - 45.0,
        Stroke::new(BLACK, 1.6),
    );
    svg.text(122.0, y + 6.0, "=", Font::new(22.0));
    chain(&mut svg, y, BLUE, true, "tanh", "h");
    inputs(&mut svg, y + 93.0, y + BH / 2.0, "x");
    for t in 0..STEPS {
        let cx = step_x(t);
        svg.arrow(cx, y - BH / 2.0, cx, y - 62.0, Stroke::new(BLACK, 1.6));
        svg.text(cx, y - 68.0, &format!("h_{}", t_name(t)), Font::new(14.0));
    }
    svg.text(
        (step_x(2) + step_x(3)) / 2.0,
        y + 40.0,
        "…",
        Font::new(16.0),
    );
    svg.text(
        15.0,
        285.0,
        "h_t = tanh(x_t W_x + h_{t−1} W_h + b) (7.1): the same W_x, W_h and b at every step.",
        Font::new(13.0).start(),
    );
    svg.finish()
}

/// A bidirectional layer: a forward chain and a reverse chain over the same inputs, joined step by step.
pub fn bidirectional() -> String {
    let mut svg = Svg::new(745.0, 370.0);
    let (yf, yr) = (200.0, 270.0);
    chain(&mut svg, yr, BLUE, true, "tanh", "h→");
    chain(&mut svg, yf, ORANGE, false, "tanh", "h←");
    svg.text(
        20.0,
        yr + 5.0,
        "forward",
        Font::new(13.0).start().bold().color(BLUE),
    );
    svg.text(
        20.0,
        yf - 30.0,
        "reverse",
        Font::new(13.0).start().bold().color(ORANGE),
    );
    // Inputs feed both chains: up through the forward cell's side into the reverse one.
    for t in 0..STEPS {
        let cx = step_x(t);
        svg.text(
            cx - 20.0,
            350.0,
            &format!("x_{}", t_name(t)),
            Font::new(14.0),
        );
        svg.arrow(
            cx - 20.0,
            334.0,
            cx - 20.0,
            yr + BH / 2.0,
            Stroke::new(BLACK, 1.6),
        );
        svg.arrow_path(
            &[
                (cx - 30.0, 334.0),
                (cx - 30.0, 318.0),
                (cx - 48.0, 318.0),
                (cx - 48.0, yf + BH / 2.0 + 8.0),
                (cx - 30.0, yf + BH / 2.0),
            ],
            Stroke::new(BLACK, 1.3),
        );
        // Both states of step t, concatenated.
        let top = 70.0;
        svg.rect(
            cx - 44.0,
            top,
            44.0,
            34.0,
            &tint(BLUE, 0.25),
            Stroke::new(BLUE, 1.5),
        );
        svg.rect(
            cx,
            top,
            44.0,
            34.0,
            &tint(ORANGE, 0.25),
            Stroke::new(ORANGE, 1.5),
        );
        svg.text(cx - 22.0, top + 23.0, "h→", Font::new(13.0));
        svg.text(cx + 22.0, top + 23.0, "h←", Font::new(13.0));
        svg.text(
            cx,
            top - 10.0,
            &format!("step {}", t_name(t)),
            Font::new(13.0),
        );
        svg.arrow_path(
            &[
                (cx + 22.0, yr - BH / 2.0),
                (cx + 22.0, yr - 30.0),
                (cx + 45.0, yr - 30.0),
                (cx + 45.0, top + 48.0),
                (cx - 22.0, top + 48.0),
                (cx - 22.0, top + 34.0),
            ],
            Stroke::new(BLUE, 1.4),
        );
        svg.arrow(
            cx + 22.0,
            yf - BH / 2.0,
            cx + 22.0,
            top + 34.0,
            Stroke::new(ORANGE, 1.4),
        );
    }
    svg.text(
        15.0,
        22.0,
        "At step t, h→_t has read x_1 … x_t and h←_t has read x_t … x_T: together, the whole sequence (7.3).",
        Font::new(13.0).start(),
    );
    svg.finish()
}

/// Two layers stacked: the states of layer 1 are the inputs of layer 2.
pub fn stacked() -> String {
    let mut svg = Svg::new(745.0, 370.0);
    let (y1, y2) = (250.0, 140.0);
    chain(&mut svg, y1, BLUE, true, "layer 1", "h^{(1)}");
    chain(&mut svg, y2, GREEN, true, "layer 2", "h^{(2)}");
    inputs(&mut svg, 345.0, y1 + BH / 2.0, "x");
    for t in 0..STEPS {
        let cx = step_x(t);
        svg.arrow(cx, y1 - BH / 2.0, cx, y2 + BH / 2.0, Stroke::new(BLUE, 1.6));
        svg.text(
            cx + 6.0,
            (y1 + y2) / 2.0 + 5.0,
            &format!("h^{{(1)}}_{}", t_name(t)),
            Font::new(13.0).start().color(BLUE),
        );
        svg.arrow(cx, y2 - BH / 2.0, cx, 62.0, Stroke::new(GREEN, 1.6));
        svg.text(
            cx,
            52.0,
            &format!("h^{{(2)}}_{}", t_name(t)),
            Font::new(14.0).color(GREEN),
        );
    }
    svg.text(
        15.0,
        22.0,
        "Layer 2 is an RNN over layer 1's states (each layer its own weights); the head reads layer 2's.",
        Font::new(13.0).start(),
    );
    svg.finish()
}
