//! Typed errors. Every error a user can cause names the op (or file) and the shapes (or bytes) involved,
//! so a mistake deep in a model reads like a sentence instead of an nalgebra panic.

use std::fmt;

/// A matrix shape, `rows x cols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape(pub usize, pub usize);

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.0, self.1)
    }
}

fn list(shapes: &[Shape]) -> String {
    shapes
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn non_finite_what(input: Option<usize>) -> String {
    match input {
        Some(k) => format!("the gradient of input {k}"),
        None => "the output".into(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Operands whose shapes do not fit the op.
    #[error("{op}: operand shapes [{}] do not fit: expected {expected}", list(.shapes))]
    Shape {
        op: &'static str,
        shapes: Vec<Shape>,
        expected: String,
    },

    /// A class label outside `0..classes`.
    #[error("{op}: label {label} at row {row} is outside 0..{classes}")]
    Label {
        op: &'static str,
        row: usize,
        label: usize,
        classes: usize,
    },

    /// A value that is not on this tape any more (a handle kept across `Tape::reset`) or never was.
    #[error("{op}: variable #{index} is stale: it was recorded before the last Tape::reset")]
    StaleVar { op: &'static str, index: usize },

    /// A handle made by another tape (its values and parameters are not on this one).
    #[error("{op}: variable #{index} is from another tape (tape {var_tape}, used on tape {tape})")]
    ForeignVar {
        op: &'static str,
        index: usize,
        var_tape: u32,
        tape: u32,
    },

    /// Anomaly detection ([`crate::Tape::set_anomaly_detection`]) found a NaN or an infinity: in the output of
    /// op #`index` on the tape (`phase` "forward"), or in the gradient `backward` computed for its input
    /// number `input` (`phase` "backward"). `shapes` are the op's input shapes; `value` is the first bad entry.
    #[error("{op} (op #{index}, {phase}): {} is {value}; its inputs are [{}]", non_finite_what(*.input), list(.shapes))]
    NonFinite {
        op: &'static str,
        phase: &'static str,
        index: usize,
        input: Option<usize>,
        shapes: Vec<Shape>,
        value: f64,
    },

    /// A gradient with a NaN or an infinity where a finite one is needed (clipping by the global norm cannot
    /// rescale it). `position` is the variable's position in the list given to the op.
    #[error(
        "{op}: the gradient of variable {position} of the list has a non-finite entry {value}"
    )]
    NonFiniteGrad {
        op: &'static str,
        position: usize,
        value: f64,
    },

    /// An argument outside what the op accepts (a negative exponent base, a zero-length slice, ...).
    #[error("{op}: {msg}")]
    Invalid { op: &'static str, msg: String },

    /// A file that could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },

    /// A file that was read but whose content is not what was expected.
    #[error("{path}: {msg}")]
    Format { path: String, msg: String },

    /// Data that is missing, with where we looked and how to get it.
    #[error("{what} not found at {path}: {hint}")]
    MissingData {
        what: String,
        path: String,
        hint: String,
    },

    /// Training stopped because a number stopped making sense: `what` names it (the loss, or the gradient
    /// of a named parameter) and `value` is the first bad value seen.
    #[error("training diverged at step {step}: {what} is {value} (try a smaller learning rate or gradient clipping)")]
    Diverged {
        step: usize,
        what: String,
        value: f64,
    },

    /// Training stopped at a step boundary because it was asked to (Ctrl-C): the run can be resumed from its
    /// last checkpoint.
    #[error("interrupted after step {step}{note}")]
    Interrupted { step: usize, note: String },

    /// A training or experiment setting that cannot work.
    #[error("config: {0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn shape(op: &'static str, shapes: &[Shape], expected: impl Into<String>) -> Self {
        Error::Shape {
            op,
            shapes: shapes.to_vec(),
            expected: expected.into(),
        }
    }

    pub(crate) fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Invalid {
            op,
            msg: msg.into(),
        }
    }

    /// What a [`Error::NonFinite`] found, as [`Error::Diverged`] names it: "the output of matmul (op #12,
    /// forward)" or "the gradient of input 0 of tanh (op #7, backward)". `None` for other errors.
    pub fn non_finite_what(&self) -> Option<String> {
        match self {
            Error::NonFinite {
                op,
                phase,
                index,
                input,
                ..
            } => Some(format!(
                "{} of {op} (op #{index}, {phase})",
                non_finite_what(*input)
            )),
            _ => None,
        }
    }

    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}
