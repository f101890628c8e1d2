//! The book's diagrams, and the tiny examples whose numbers they show, computed by the library's own functions
//! (the naive convolution and pooling, im2col, the tape), so that every number in a picture is one the code
//! computes. [`DIAGRAMS`] lists them with the chapter each belongs to: a diagram is one entry here and one
//! drawing in `plot::diagram`.

use super::Figures;
use crate::autograd::Tape;
use crate::by_hand::{conv, conv_fast, pool};
use crate::error::{Error, Result};
use crate::layout::{ConvGeom, PoolGeom};
use crate::plot::diagram::{self, cells, conv as cd, graphs, rnn};
use nalgebra::DMatrix;

pub struct Diagram {
    /// The chapter whose figures include it (`autograd` for the tape chapter, which is no experiment).
    pub chapter: &'static str,
    /// Its file in `plots/`.
    pub file: &'static str,
    pub draw: fn() -> Result<String>,
}

/// Every diagram, in the book's order.
pub static DIAGRAMS: &[Diagram] = &[
    Diagram {
        chapter: "autograd",
        file: "diagram_tape.svg",
        draw: || Ok(graphs::tape(&tape_sweep()?)),
    },
    Diagram {
        chapter: "ch4",
        file: "diagram_conv.svg",
        draw: || Ok(cd::conv_forward(&conv_forward()?)),
    },
    Diagram {
        chapter: "ch4",
        file: "diagram_conv_backward.svg",
        draw: || Ok(cd::conv_backward(&conv_backward()?)),
    },
    Diagram {
        chapter: "ch4",
        file: "diagram_pooling.svg",
        draw: || Ok(cd::pooling(&pooling()?)),
    },
    Diagram {
        chapter: "ch5",
        file: "diagram_im2col.svg",
        draw: || Ok(cd::im2col(&im2col()?)),
    },
    Diagram {
        chapter: "ch6",
        file: "diagram_batch_norm.svg",
        draw: || Ok(graphs::batch_norm()),
    },
    Diagram {
        chapter: "ch7",
        file: "diagram_rnn_unrolled.svg",
        draw: || Ok(rnn::unrolled()),
    },
    Diagram {
        chapter: "ch7",
        file: "diagram_rnn_bidirectional.svg",
        draw: || Ok(rnn::bidirectional()),
    },
    Diagram {
        chapter: "ch7",
        file: "diagram_rnn_stacked.svg",
        draw: || Ok(rnn::stacked()),
    },
    Diagram {
        chapter: "ch8",
        file: "diagram_lstm_cell.svg",
        draw: || Ok(cells::lstm()),
    },
    Diagram {
        chapter: "ch9",
        file: "diagram_gru_cell.svg",
        draw: || Ok(cells::gru()),
    },
    Diagram {
        chapter: "ch9",
        file: "diagram_gru_cell_reset_after.svg",
        draw: || Ok(cells::gru_reset_after()),
    },
];

/// Draws the diagrams of the chapters in `only` (`diagrams`: all of them; empty: all of them).
pub fn draw(out: &mut Figures, only: &[&str]) -> Result<()> {
    for d in DIAGRAMS
        .iter()
        .filter(|d| only.is_empty() || only.iter().any(|&n| n == "diagrams" || n == d.chapter))
    {
        let svg = (d.draw)()?;
        diagram::write(&out.file(d.file), &svg)?;
    }
    Ok(())
}

/// A matrix from its rows.
fn rows(r: usize, c: usize, v: &[f64]) -> DMatrix<f64> {
    DMatrix::from_row_slice(r, c, v)
}

/// An image as the library's layout holds it: one column, entries in row-major order.
fn as_column(m: &DMatrix<f64>) -> DMatrix<f64> {
    DMatrix::from_iterator(m.len(), 1, m.transpose().iter().copied())
}

/// A column of row-major entries back into `r x c`.
fn from_column(v: &[f64], r: usize, c: usize) -> DMatrix<f64> {
    DMatrix::from_row_slice(r, c, v)
}

/// The convolution example: a 5x5 image, a 3x3 kernel, stride 2, padding 1.
pub fn conv_example() -> (DMatrix<f64>, DMatrix<f64>, f64, ConvGeom) {
    let x = rows(
        5,
        5,
        &[
            1., 2., 0., 1., 3., //
            0., 1., 2., 3., 1., //
            2., 1., 0., 1., 0., //
            1., 3., 1., 0., 2., //
            0., 1., 2., 1., 1.,
        ],
    );
    let k = rows(3, 3, &[1., 2., 0., 0., 1., -1., -1., 0., 1.]);
    let g = ConvGeom {
        c_in: 1,
        h: 5,
        w: 5,
        c_out: 1,
        kh: 3,
        kw: 3,
        stride: 2,
        pad: 1,
    };
    (x, k, 1.0, g)
}

/// The error handed to [`conv_example`]'s output in the backward diagram.
pub fn conv_example_delta() -> DMatrix<f64> {
    rows(3, 3, &[1., -1., 2., 0., 1., -2., 1., 0., 1.])
}

fn padded(m: &DMatrix<f64>, p: usize) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(m.nrows() + 2 * p, m.ncols() + 2 * p);
    out.view_mut((p, p), m.shape()).copy_from(m);
    out
}

pub fn conv_forward() -> Result<cd::ConvForward> {
    let (x, k, b, g) = conv_example();
    let y = conv::forward(&as_column(&x), &as_column(&k), &rows(1, 1, &[b]), &g)?;
    Ok(cd::ConvForward {
        padded: padded(&x, g.pad),
        pad: g.pad,
        kernel: k,
        bias: b,
        stride: g.stride,
        output: from_column(y.as_slice(), g.out_h(), g.out_w()),
    })
}

pub fn conv_backward() -> Result<cd::ConvBackward> {
    let (x, k, _, g) = conv_example();
    let delta = conv_example_delta();
    let grads = conv::backward(&as_column(&delta), &as_column(&x), &as_column(&k), &g)?;
    let s = g.stride;
    let (oh, ow) = delta.shape();
    let dilated = DMatrix::from_fn(s * (oh - 1) + 1, s * (ow - 1) + 1, |t, r| {
        if t % s == 0 && r % s == 0 {
            delta[(t / s, r / s)]
        } else {
            0.0
        }
    });
    let pd = padded(&dilated, g.kh - 1);
    let rotated = DMatrix::from_fn(g.kh, g.kw, |a, c| k[(g.kh - 1 - a, g.kw - 1 - c)]);
    let (fh, fw) = (pd.nrows() - g.kh + 1, pd.ncols() - g.kw + 1);
    let full = DMatrix::from_fn(fh, fw, |i, j| {
        pd.view((i, j), (g.kh, g.kw)).component_mul(&rotated).sum()
    });
    let dx = from_column(grads.dx.as_slice(), g.h, g.w);
    // What the picture says, (4.11) then the crop (4.12), is what the library computes.
    if full.view((g.pad, g.pad), (g.h, g.w)) != dx {
        return Err(Error::Config(
            "the convolution diagram's full convolution, cropped, differs from conv::backward"
                .into(),
        ));
    }
    Ok(cd::ConvBackward {
        delta,
        dilated,
        padded: pd,
        kernel: k,
        rotated,
        full,
        dx,
        stride: s,
        pad: g.pad,
    })
}

/// The im2col example: a 4x4 image, two 3x3 kernels, stride 1, no padding.
pub fn im2col_example() -> (DMatrix<f64>, DMatrix<f64>, ConvGeom) {
    let x = rows(
        4,
        4,
        &[
            1., 2., 0., 3., //
            0., 1., 2., 1., //
            3., 0., 1., 2., //
            1., 2., 3., 0.,
        ],
    );
    // Column o is kernel o, its entries in (row, column) order.
    let w = DMatrix::from_column_slice(
        9,
        2,
        &[
            1., 0., -1., 1., 0., -1., 1., 0., -1., //
            0., 1., 0., 1., -1., 1., 0., 1., 0.,
        ],
    );
    let g = ConvGeom {
        c_in: 1,
        h: 4,
        w: 4,
        c_out: 2,
        kh: 3,
        kw: 3,
        stride: 1,
        pad: 0,
    };
    (x, w, g)
}

pub fn im2col() -> Result<cd::Im2col> {
    let (x, w, g) = im2col_example();
    g.validate()?;
    let (p, k) = (g.positions(), g.patch());
    let mut cols = vec![0.0; p * k];
    let xc = as_column(&x);
    conv_fast::im2col(
        conv_fast::padded(xc.as_slice(), &g, &mut Vec::new()),
        &g,
        &mut cols,
    );
    let y = conv_fast::forward(&xc, &w, &DMatrix::zeros(1, g.c_out), &g)?;
    Ok(cd::Im2col {
        input: x,
        k: g.kh,
        cols: DMatrix::from_column_slice(p, k, &cols),
        weights: w,
        // Y is the output channel by channel: the P x C_out matrix R, column by column.
        product: DMatrix::from_column_slice(p, g.c_out, y.as_slice()),
    })
}

/// The pooling example: a 4x4 map, 2x2 windows, stride 2, and the error handed back.
pub fn pooling_example() -> (DMatrix<f64>, DMatrix<f64>, PoolGeom) {
    let x = rows(
        4,
        4,
        &[
            1., 3., 2., 0., //
            4., 2., 1., 5., //
            0., 6., 3., 1., //
            2., 1., 4., 2.,
        ],
    );
    let delta = rows(2, 2, &[4., 8., -4., 2.]);
    let g = PoolGeom {
        c: 1,
        h: 4,
        w: 4,
        ph: 2,
        pw: 2,
        stride: 2,
    };
    (x, delta, g)
}

pub fn pooling() -> Result<cd::Pooling> {
    let (x, delta, g) = pooling_example();
    let (xc, dc) = (as_column(&x), as_column(&delta));
    let (oh, ow) = (g.out_h(), g.out_w());
    let run = |kind: pool::Kind| -> Result<(DMatrix<f64>, DMatrix<f64>)> {
        let y = pool::forward(kind, &xc, &g)?;
        let dx = pool::backward(kind, &dc, &xc, &g)?;
        Ok((
            from_column(y.as_slice(), oh, ow),
            from_column(dx.as_slice(), g.h, g.w),
        ))
    };
    let (max, dx_max) = run(pool::Kind::Max)?;
    let (avg, dx_avg) = run(pool::Kind::Avg)?;
    // The winner of each window is where the max's backward put that window's error.
    let mut winners = Vec::new();
    for u in 0..oh {
        for v in 0..ow {
            let cells = (0..g.ph)
                .flat_map(|a| (0..g.pw).map(move |b| (u * g.stride + a, v * g.stride + b)));
            let won = cells.clone().find(|&c| dx_max[c] != 0.0);
            winners.push(won.ok_or_else(|| {
                Error::Config(format!(
                    "the pooling diagram's window ({u}, {v}) has no winner"
                ))
            })?);
        }
    }
    Ok(cd::Pooling {
        input: x,
        window: g.ph,
        max,
        avg,
        delta,
        dx_max,
        dx_avg,
        winners,
    })
}

/// The tape chapter's example, `L = Σ (x² + x)` at `x = (1, −2, 3)`, recorded and swept by the tape.
pub fn tape_sweep() -> Result<graphs::TapeSweep> {
    let mut t = Tape::<f64>::new();
    let x = t.leaf(rows(1, 3, &[1.0, -2.0, 3.0]));
    let v1 = t.mul(x, x)?;
    let v2 = t.add(v1, x)?;
    let l = t.sum(v2)?;
    let g = t.backward(l)?;
    let row = |m: &DMatrix<f64>| m.iter().copied().collect::<Vec<f64>>();
    let adj = |v| {
        g.get(v)
            .map(row)
            .ok_or_else(|| Error::Config("the tape diagram: a node without a gradient".into()))
    };
    let (a1, xs) = (adj(v1)?, row(t.value(x)?));
    Ok(graphs::TapeSweep {
        values: [xs.clone(), row(t.value(v1)?), row(t.value(v2)?)],
        loss: t.scalar(l)?,
        adjoints: [adj(x)?, a1.clone(), adj(v2)?],
        mul_share: a1.iter().zip(&xs).map(|(a, b)| a * b).collect(),
    })
}
