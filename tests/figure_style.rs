//! Every kind of figure, drawn from small fixtures, is readable at the book's column width: no wider than the
//! column (so it is shown 1:1), no text under 11 px once shown, a dashed series' legend swatch dashed too,
//! and ticks of a count axis printed as integers.

use std::path::Path;
use zerodl::plot::{
    self, Class2d, Class3d, Panel, PathChart, RegionGrid, RegionPanel, Regions, Scatter, Scatter3d,
    Series, YRange, PALETTE,
};

const COLUMN: f64 = 750.0;
const MIN_PX: f64 = 11.0;

/// The value of `name="..."` in one tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    tag[at..].split('"').next()
}

/// Every `<kind ...>` tag of an SVG, with the text that follows it up to the next `<`, trimmed.
fn tags<'a>(svg: &'a str, kind: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{kind} ");
    svg.match_indices(&open)
        .map(|(at, _)| {
            let end = at + svg[at..].find('>').expect("a tag ends");
            let body = &svg[end + 1..];
            // plotters writes a text on a line of its own.
            let text = &body[..body.find('<').unwrap_or(body.len())];
            (&svg[at..end], text.trim())
        })
        .collect()
}

fn num(s: Option<&str>) -> f64 {
    s.expect("the attribute is there")
        .parse()
        .expect("the attribute is a number")
}

/// What makes the figure hard to read at the column width, one line each.
fn problems(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).expect("the figure was written");
    let mut out = Vec::new();
    let width = num(attr(tags(&svg, "svg")[0].0, "width"));
    if width > COLUMN {
        out.push(format!("{width} px wide, more than the column's {COLUMN}"));
    }
    let shown = (COLUMN / width).min(1.0);
    for (tag, text) in tags(&svg, "text") {
        let size = num(attr(tag, "font-size")) * shown;
        if size < MIN_PX {
            out.push(format!("{text:?} shown at {size:.1} px"));
        }
    }
    out
}

/// The polylines left of a legend label and level with it: one for a solid swatch, several for a dashed one.
fn swatch_pieces(path: &Path, label: &str) -> usize {
    let svg = std::fs::read_to_string(path).expect("the figure was written");
    let (tag, _) = *tags(&svg, "text")
        .iter()
        .find(|(_, text)| *text == label)
        .unwrap_or_else(|| panic!("no legend label {label:?}"));
    let (x, y) = (num(attr(tag, "x")), num(attr(tag, "y")));
    tags(&svg, "polyline")
        .iter()
        .filter(|(tag, _)| {
            let pts: Vec<(f64, f64)> = attr(tag, "points")
                .unwrap_or("")
                .split_whitespace()
                .filter_map(|p| {
                    let (a, b) = p.split_once(',')?;
                    Some((a.parse().ok()?, b.parse().ok()?))
                })
                .collect();
            !pts.is_empty()
                && pts
                    .iter()
                    .all(|&(px, py)| (py - y).abs() <= 1.0 && px < x && px > x - 45.0)
        })
        .count()
}

fn texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).expect("the figure was written");
    tags(&svg, "text")
        .into_iter()
        .map(|(_, t)| t.to_string())
        .collect()
}

fn assert_readable(path: &Path) {
    let p = problems(path);
    assert!(p.is_empty(), "{}:\n{}", path.display(), p.join("\n"));
}

#[test]
fn line_panels_are_readable_with_dashed_swatches_and_integer_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.svg");
    let steps = |f: fn(f64) -> f64| (0..=10).map(|i| (i as f64 * 50.0, f(i as f64))).collect();
    let panels = [
        Panel {
            title: "Loss over the steps of a run",
            x_desc: "step",
            y_desc: "cross-entropy",
            series: vec![
                Series::new("train", PALETTE[0], true, steps(|i| 2.0 / (1.0 + i))),
                Series::new("test", PALETTE[0], false, steps(|i| 2.2 / (1.0 + i))),
            ],
            y_range: YRange::Fit,
        },
        Panel {
            title: "Accuracy over the steps of a run",
            x_desc: "step",
            y_desc: "accuracy",
            series: vec![
                Series::new("train", PALETTE[0], true, steps(|i| 0.9 + 0.008 * i)),
                Series::new("test", PALETTE[0], false, steps(|i| 0.88 + 0.008 * i)),
            ],
            y_range: YRange::Fraction,
        },
    ];
    plot::line_panels(&path, &panels).unwrap();
    assert_readable(&path);
    assert!(
        swatch_pieces(&path, "train") > 1,
        "the dashed series' swatch is solid"
    );
    assert_eq!(swatch_pieces(&path, "test"), 1, "the solid series' swatch");
    // The step axis's ticks are whole numbers (the other axes' stay under 3 here).
    let ticks = texts(&path);
    assert!(ticks.iter().any(|t| t == "500"), "no tick 500 in {ticks:?}");
    let counts: Vec<&String> = ticks
        .iter()
        .filter(|t| t.parse::<f64>().is_ok_and(|v| v >= 50.0))
        .collect();
    assert!(
        counts.iter().all(|t| !t.contains('.')),
        "a step printed with decimals: {counts:?}"
    );
}

#[test]
fn picture_grids_are_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grid.svg");
    let pic: Vec<f32> = (0..28 * 28).map(|i| (i % 7) as f32 - 3.0).collect();
    let row: Vec<&[f32]> = vec![&pic; 10];
    let pictures = vec![row.clone(), row];
    let rows = ["step 5".to_string(), "step 500".to_string()];
    let cols: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    plot::picture_grid(&path, "Weights", &pictures, (28, 28), &rows, &cols).unwrap();
    assert_readable(&path);
}

#[test]
fn scatters_regions_and_paths_are_readable() {
    let dir = tempfile::tempdir().unwrap();
    let pts = |k: f64| (0..20).map(|i| (i as f64, k * i as f64)).collect();
    let classes = [
        Class2d {
            name: "positive",
            color: PALETTE[1],
            points: pts(1.0),
        },
        Class2d {
            name: "negative",
            color: PALETTE[0],
            points: pts(-1.0),
        },
    ];
    let flat = dir.path().join("scatter.svg");
    plot::scatter(
        &flat,
        &Scatter {
            title: "Points",
            x_desc: "x1",
            y_desc: "x2",
            x_range: (0.0, 20.0),
            y_range: (-20.0, 20.0),
            line: Some(("line", [(0.0, 0.0), (20.0, 0.0)])),
            classes: &classes,
        },
    )
    .unwrap();
    assert_readable(&flat);

    let classes3 = [Class3d {
        name: "points",
        color: PALETTE[0],
        points: (0..20).map(|i| (i as f64, 2.0 * i as f64, 0.5)).collect(),
    }];
    let deep = dir.path().join("scatter3d.svg");
    plot::scatter_3d(
        &deep,
        &Scatter3d {
            title: "Points in 3-D",
            ground: (0.0, 40.0),
            height: (-1.0, 1.0),
            axis_names: ["x1", "x2", "x3"],
            plane: &|_, _| 0.0,
            classes: &classes3,
        },
    )
    .unwrap();
    assert_readable(&deep);

    let grid = RegionGrid {
        lo: 0.0,
        hi: 1.0,
        n: 4,
    };
    let panel = |title: &str| RegionPanel {
        title: title.into(),
        cells: (0..16).map(|i| i % 2).collect(),
    };
    let regions = dir.path().join("regions.svg");
    plot::decision_regions(
        &regions,
        &Regions {
            grid,
            colors: &PALETTE[..2],
            x_desc: "x1",
            y_desc: "x2",
            points: &[(0.2, 0.3, 0), (0.7, 0.8, 1)],
            panels: &[panel("linear"), panel("one hidden layer")],
        },
    )
    .unwrap();
    assert_readable(&regions);

    let walk = dir.path().join("paths.svg");
    let paths = [
        Series::new(
            "SGD",
            PALETTE[0],
            false,
            vec![(-7.0, 2.0), (-3.0, -1.0), (0.0, 0.0)],
        ),
        Series::new(
            "Adam",
            PALETTE[1],
            true,
            vec![(-7.0, 2.0), (-5.0, 1.0), (0.0, 0.0)],
        ),
    ];
    plot::paths_over_contours(
        &walk,
        &PathChart {
            title: "Paths",
            x_desc: "x",
            y_desc: "y",
            x_range: (-8.0, 3.0),
            y_range: (-3.0, 3.0),
            contours: &[vec![(-4.0, 0.0), (0.0, 1.0), (4.0, 0.0)]],
            paths: &paths,
            mark: Some((0.0, 0.0)),
        },
    )
    .unwrap();
    assert_readable(&walk);
    assert!(
        swatch_pieces(&walk, "Adam") > 1,
        "the dashed path's swatch is solid"
    );
}

#[test]
fn word_heat_is_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("words.svg");
    let rows = [plot::words::WordRow {
        title: "A review".into(),
        words: "a film worth seeing twice"
            .split(' ')
            .enumerate()
            .map(|(i, w)| (w.to_string(), i as f64 - 2.0))
            .collect(),
    }];
    plot::words::word_heat(&path, &rows).unwrap();
    assert_readable(&path);
}
