//! The tape: a Wengert list of every value a forward pass computed, and the reverse sweep that turns it into
//! gradients.
//!
//! Semantics that small autograd engines leave implicit, stated here and tested in `tests/tape.rs`:
//! - **Order.** Values are recorded in the order they are computed, so the list is already topologically sorted:
//!   `backward` is one loop from the loss down to the first node. No recursion, so an RNN unrolled over thousands
//!   of steps cannot overflow the stack.
//! - **Re-use.** A value used twice (`x * x`, a weight shared by every time step) receives the *sum* of the
//!   gradients from each use.
//! - **Fresh gradients.** `backward` returns a new [`Grads`]; nothing accumulates on the tape. Calling it twice
//!   gives the same gradients twice, not double. Accumulating over micro-batches is explicit: add the `Grads`.
//! - **Parameters persist, activations do not.** [`Tape::param`] values live across training steps and are what
//!   optimizers update in place. Everything else is transient: [`Tape::reset`] drops it (keeping the buffers'
//!   capacity), so a training step starts clean and memory does not grow from step to step. A handle to a
//!   transient value kept across a reset is *stale*: using it is an error, never a silent read of another value.
//! - **One tape per handle.** Every tape has a process-unique identity that its handles carry, so a handle used on
//!   another tape (parameters included) is an error that says so, not a read of whatever sits at its index there.
//! - **Anomaly detection** ([`Tape::set_anomaly_detection`], off by default): every op's output is checked for
//!   NaN and infinity as it is recorded, and every input gradient as `backward` computes it; the first bad one
//!   is an [`Error::NonFinite`] naming the op, so a NaN is traced to where it was born, not where it was noticed.

use crate::error::{Error, Result, Shape};
use crate::scalar::Real;
use nalgebra::DMatrix;
use std::sync::atomic::{AtomicU32, Ordering};

/// The identity of the next tape. Starts at 1 so that no tape has the identity 0 (handy when debugging).
static NEXT_TAPE: AtomicU32 = AtomicU32::new(1);

/// A handle to a value on a [`Tape`]. Cheap to copy (12 bytes); meaningless without its tape, which it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var {
    index: u32,
    /// 0 for parameters (which survive resets), otherwise the tape generation the value was recorded in.
    generation: u32,
    /// The identity of the tape that made it: every tape counts generations from 1, so without this a handle
    /// from another tape would read this tape's value.
    tape: u32,
}

impl Var {
    pub fn is_param(self) -> bool {
        self.generation == 0
    }

    /// For a parameter, its position among the tape's parameters (its creation order): a stable key.
    pub fn param_index(self) -> Option<usize> {
        self.is_param().then_some(self.index as usize)
    }

    /// The identity of the tape the value lives on (unique within the process).
    pub fn tape_id(self) -> u32 {
        self.tape
    }
}

// ANCHOR: op_trait
/// The local backward rule of one recorded op. Each op's `backward` sits next to the function that computed
/// its forward value (see `autograd/ops/`), so the pair can be read, and checked, together.
pub trait Op<T: Real>: 'static {
    fn name(&self) -> &'static str;

    /// Given the op's inputs, its output and `grad` = dL/d(output), return dL/d(input) for each input
    /// whose `needs[i]` is true (`None` for the others, which saves the work for data inputs).
    fn backward(
        &self,
        inputs: &[&DMatrix<T>],
        output: &DMatrix<T>,
        grad: &DMatrix<T>,
        needs: &[bool],
    ) -> Vec<Option<DMatrix<T>>>;
}
// ANCHOR_END: op_trait

struct Node<T: Real> {
    value: DMatrix<T>,
    requires_grad: bool,
    /// `parents[start..start + len]` in `Tape::parents`.
    parent_start: u32,
    parent_len: u32,
    op: Option<Box<dyn Op<T>>>,
}

pub struct Tape<T: Real> {
    params: Vec<DMatrix<T>>,
    nodes: Vec<Node<T>>,
    parents: Vec<Var>,
    generation: u32,
    id: u32,
    anomaly: bool,
}

impl<T: Real> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> Tape<T> {
    pub fn new() -> Self {
        Tape {
            params: Vec::new(),
            nodes: Vec::new(),
            parents: Vec::new(),
            generation: 1,
            // Wrapping after 4 billion tapes could only confuse a handle with one from a tape that old.
            id: NEXT_TAPE.fetch_add(1, Ordering::Relaxed),
            anomaly: false,
        }
    }

    /// This tape's identity, the one its handles carry ([`Var::tape_id`]).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Turn anomaly detection on or off (off by default). When on, every op's output is checked for
    /// non-finite entries as it is recorded, and every input gradient as `backward` computes it; the first
    /// bad one is an [`Error::NonFinite`] naming the op, its position on the tape and its input shapes. Costs
    /// a pass over every value and gradient, so it is for finding where a NaN is born, not for every run.
    pub fn set_anomaly_detection(&mut self, on: bool) {
        self.anomaly = on;
    }

    /// Whether anomaly detection is on ([`Tape::set_anomaly_detection`]).
    pub fn anomaly_detection(&self) -> bool {
        self.anomaly
    }

    /// A trainable value that survives [`Tape::reset`]; optimizers update it through [`Tape::param_mut`].
    pub fn param(&mut self, value: DMatrix<T>) -> Var {
        self.params.push(value);
        Var {
            index: (self.params.len() - 1) as u32,
            generation: 0,
            tape: self.id,
        }
    }

    /// A transient value that does not need a gradient (input data, targets).
    pub fn constant(&mut self, value: DMatrix<T>) -> Var {
        self.push_node(value, false, &[], None)
    }

    /// A transient value whose gradient `backward` reports (inputs of a gradient check, say).
    pub fn leaf(&mut self, value: DMatrix<T>) -> Var {
        self.push_node(value, true, &[], None)
    }

    // ANCHOR: reset
    /// Drop every transient value, keep the parameters and the allocated capacity. Call at the start of a
    /// training step. Handles to transient values from before become stale.
    pub fn reset(&mut self) {
        self.nodes.clear();
        self.parents.clear();
        self.generation = self.generation.checked_add(1).unwrap_or(1);
    }
    // ANCHOR_END: reset

    /// [`Tape::reset`], handing back the value of `v`, a transient value of this step (the input batch, say),
    /// instead of dropping it: a loop that feeds the same batch every step (a benchmark) moves it in and takes it
    /// back rather than copying it in each time. A parameter, or a handle that is stale or from another tape, is
    /// an error, and the tape is not reset then.
    pub fn reset_returning(&mut self, v: Var) -> Result<DMatrix<T>> {
        const OP: &str = "reset_returning";
        if v.is_param() {
            return Err(Error::invalid(
                OP,
                format!(
                    "variable #{} is a parameter, which survives a reset",
                    v.index
                ),
            ));
        }
        self.get(v, OP)?;
        let value = std::mem::replace(
            &mut self.nodes[v.index as usize].value,
            DMatrix::zeros(0, 0),
        );
        self.reset();
        Ok(value)
    }

    /// Number of transient values recorded since the last reset.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn num_params(&self) -> usize {
        self.params.len()
    }

    /// Every parameter handle, in creation order.
    pub fn params(&self) -> impl Iterator<Item = Var> + '_ {
        (0..self.params.len()).map(|i| Var {
            index: i as u32,
            generation: 0,
            tape: self.id,
        })
    }

    /// Capacity of the node list: stays put across steps of the same model (see `tests/tape.rs`).
    pub fn capacity(&self) -> usize {
        self.nodes.capacity()
    }

    pub fn value(&self, v: Var) -> Result<&DMatrix<T>> {
        self.get(v, "value")
    }

    pub fn shape(&self, v: Var) -> Result<Shape> {
        let m = self.get(v, "shape")?;
        Ok(Shape(m.nrows(), m.ncols()))
    }

    /// The value of a `1x1` result as a number.
    pub fn scalar(&self, v: Var) -> Result<T> {
        let m = self.get(v, "scalar")?;
        if m.shape() != (1, 1) {
            return Err(Error::shape(
                "scalar",
                &[Shape(m.nrows(), m.ncols())],
                "a 1x1 value",
            ));
        }
        Ok(m[(0, 0)])
    }

    /// In-place access to a parameter, for optimizers and initialisers.
    pub fn param_mut(&mut self, v: Var) -> Result<&mut DMatrix<T>> {
        self.check_tape(v, "param_mut")?;
        if !v.is_param() || v.index as usize >= self.params.len() {
            return Err(Error::invalid(
                "param_mut",
                format!("variable #{} is not a parameter of this tape", v.index),
            ));
        }
        Ok(&mut self.params[v.index as usize])
    }

    fn check_tape(&self, v: Var, op: &'static str) -> Result<()> {
        if v.tape != self.id {
            return Err(Error::ForeignVar {
                op,
                index: v.index as usize,
                var_tape: v.tape,
                tape: self.id,
            });
        }
        Ok(())
    }

    pub(crate) fn get(&self, v: Var, op: &'static str) -> Result<&DMatrix<T>> {
        self.check_tape(v, op)?;
        let found = if v.is_param() {
            self.params.get(v.index as usize)
        } else if v.generation == self.generation {
            self.nodes.get(v.index as usize).map(|n| &n.value)
        } else {
            None
        };
        found.ok_or(Error::StaleVar {
            op,
            index: v.index as usize,
        })
    }

    fn requires_grad(&self, v: Var) -> bool {
        v.is_param() || self.nodes[v.index as usize].requires_grad
    }

    /// Record the result of an op. Public so that a layer can register a hand-derived, fused forward and
    /// backward as a single node (the fast path). An input that is stale or from another tape is an error;
    /// in anomaly mode, so is a non-finite entry of `value`.
    pub fn record(&mut self, value: DMatrix<T>, inputs: &[Var], op: impl Op<T>) -> Result<Var> {
        for &v in inputs {
            self.get(v, op.name())?;
        }
        if self.anomaly {
            if let Some(bad) = first_non_finite(&value) {
                return Err(Error::NonFinite {
                    op: op.name(),
                    phase: "forward",
                    index: self.nodes.len(),
                    input: None,
                    shapes: self.shapes_of(inputs),
                    value: bad,
                });
            }
        }
        let requires = inputs.iter().any(|&v| self.requires_grad(v));
        // An op whose inputs need no gradient is a constant: its backward rule would never run.
        let op: Option<Box<dyn Op<T>>> = if requires { Some(Box::new(op)) } else { None };
        Ok(self.push_node(value, requires, inputs, op))
    }

    /// The shapes of inputs already checked to be on this tape.
    fn shapes_of(&self, inputs: &[Var]) -> Vec<Shape> {
        inputs
            .iter()
            .filter_map(|&v| self.get(v, "shape").ok())
            .map(|m| Shape(m.nrows(), m.ncols()))
            .collect()
    }

    fn push_node(
        &mut self,
        value: DMatrix<T>,
        requires_grad: bool,
        inputs: &[Var],
        op: Option<Box<dyn Op<T>>>,
    ) -> Var {
        let parent_start = self.parents.len() as u32;
        self.parents.extend_from_slice(inputs);
        self.nodes.push(Node {
            value,
            requires_grad,
            parent_start,
            parent_len: inputs.len() as u32,
            op,
        });
        Var {
            index: (self.nodes.len() - 1) as u32,
            generation: self.generation,
            tape: self.id,
        }
    }

    /// Reverse sweep from a scalar loss: dL/dv for every recorded value v that L depends on.
    pub fn backward(&self, loss: Var) -> Result<Grads<T>> {
        let l = self.get(loss, "backward")?;
        if l.shape() != (1, 1) {
            return Err(Error::shape(
                "backward",
                &[Shape(l.nrows(), l.ncols())],
                "a 1x1 loss (reduce with sum or mean first, or use backward_with)",
            ));
        }
        self.backward_with(loss, DMatrix::from_element(1, 1, T::one()))
    }

    /// Reverse sweep seeded with `seed` = dL/d(output) for a non-scalar output: a vector-Jacobian product.
    pub fn backward_with(&self, output: Var, seed: DMatrix<T>) -> Result<Grads<T>> {
        let out = self.get(output, "backward_with")?;
        if out.shape() != seed.shape() {
            return Err(Error::shape(
                "backward_with",
                &[
                    Shape(out.nrows(), out.ncols()),
                    Shape(seed.nrows(), seed.ncols()),
                ],
                "a seed of the output's shape",
            ));
        }
        // ANCHOR: backward
        let mut grads = Grads {
            params: vec![None; self.params.len()],
            nodes: Vec::with_capacity(self.nodes.len()),
            generation: self.generation,
            tape: self.id,
        };
        grads.nodes.resize_with(self.nodes.len(), || None);
        if output.is_param() {
            grads.params[output.index as usize] = Some(seed);
            return Ok(grads);
        }
        let top = output.index as usize;
        grads.nodes[top] = Some(seed);
        // ANCHOR_END: backward

        // ANCHOR: backward_sweep
        let mut inputs: Vec<&DMatrix<T>> = Vec::new();
        let mut needs: Vec<bool> = Vec::new();
        for i in (0..=top).rev() {
            let node = &self.nodes[i];
            let Some(op) = &node.op else { continue };
            let (lower, upper) = grads.nodes.split_at_mut(i);
            let Some(g) = upper[0].as_ref() else { continue };
            let parents = &self.parents
                [node.parent_start as usize..(node.parent_start + node.parent_len) as usize];
            inputs.clear();
            needs.clear();
            for &p in parents {
                inputs.push(if p.is_param() {
                    &self.params[p.index as usize]
                } else {
                    &self.nodes[p.index as usize].value
                });
                needs.push(self.requires_grad(p));
            }
            let local = op.backward(&inputs, &node.value, g, &needs);
            self.check_local(op.name(), i, &inputs, &local)?;
            for (&p, d) in parents.iter().zip(local) {
                let Some(d) = d else { continue };
                let slot = if p.is_param() {
                    &mut grads.params[p.index as usize]
                } else {
                    &mut lower[p.index as usize]
                };
                match slot {
                    Some(acc) => *acc += d, // the sum of (T.1)
                    None => *slot = Some(d),
                }
            }
        }
        Ok(grads)
        // ANCHOR_END: backward_sweep
    }

    /// What op #`index`'s backward returned for its `inputs`. `Op` is public: a rule written outside this crate
    /// that breaks the contract (one gradient per input, in the input's shape) must be an error, not a gradient
    /// dropped by a zip or a panic. In anomaly mode, a non-finite gradient is an error too.
    fn check_local(
        &self,
        op: &'static str,
        index: usize,
        inputs: &[&DMatrix<T>],
        local: &[Option<DMatrix<T>>],
    ) -> Result<()> {
        if local.len() != inputs.len() {
            return Err(Error::invalid(
                op,
                format!(
                    "backward returned {} gradients for {} inputs (op #{index})",
                    local.len(),
                    inputs.len()
                ),
            ));
        }
        let shape = |m: &DMatrix<T>| Shape(m.nrows(), m.ncols());
        for (k, (d, input)) in local.iter().zip(inputs).enumerate() {
            let Some(d) = d else { continue };
            if d.shape() != input.shape() {
                return Err(Error::shape(
                    op,
                    &[shape(input), shape(d)],
                    format!(
                        "backward to return the gradient of input {k} in its shape (op #{index})"
                    ),
                ));
            }
            if self.anomaly {
                if let Some(bad) = first_non_finite(d) {
                    return Err(Error::NonFinite {
                        op,
                        phase: "backward",
                        index,
                        input: Some(k),
                        shapes: inputs.iter().map(|m| shape(m)).collect(),
                        value: bad,
                    });
                }
            }
        }
        Ok(())
    }
}

fn first_non_finite<T: Real>(m: &DMatrix<T>) -> Option<f64> {
    m.iter().map(|v| v.as_f64()).find(|v| !v.is_finite())
}

/// The gradients from one reverse sweep, looked up by the [`Var`] they belong to.
#[derive(Clone, Debug)]
pub struct Grads<T: Real> {
    params: Vec<Option<DMatrix<T>>>,
    nodes: Vec<Option<DMatrix<T>>>,
    generation: u32,
    tape: u32,
}

impl<T: Real> Grads<T> {
    /// The identity of the tape whose sweep these are ([`Tape::id`]).
    pub fn tape_id(&self) -> u32 {
        self.tape
    }

    /// dL/dv, or `None` when L does not depend on `v` (or `v` needs no gradient, is stale, or is from another
    /// tape).
    pub fn get(&self, v: Var) -> Option<&DMatrix<T>> {
        if v.tape != self.tape {
            None
        } else if v.is_param() {
            self.params.get(v.index as usize)?.as_ref()
        } else if v.generation == self.generation {
            self.nodes.get(v.index as usize)?.as_ref()
        } else {
            None
        }
    }

    /// dL/dv, or a zero matrix of `v`'s shape when L does not depend on `v`.
    pub fn get_or_zeros(&self, tape: &Tape<T>, v: Var) -> Result<DMatrix<T>> {
        match self.get(v) {
            Some(g) => Ok(g.clone()),
            None => {
                let m = tape.get(v, "grad")?;
                Ok(DMatrix::zeros(m.nrows(), m.ncols()))
            }
        }
    }

    /// In-place access to a gradient, for clipping.
    pub fn get_mut(&mut self, v: Var) -> Option<&mut DMatrix<T>> {
        if v.tape != self.tape {
            None
        } else if v.is_param() {
            self.params.get_mut(v.index as usize)?.as_mut()
        } else if v.generation == self.generation {
            self.nodes.get_mut(v.index as usize)?.as_mut()
        } else {
            None
        }
    }

    /// Take a parameter's gradient out (no copy), for an optimizer step.
    pub fn take(&mut self, v: Var) -> Option<DMatrix<T>> {
        if v.tape != self.tape {
            None
        } else if v.is_param() {
            self.params.get_mut(v.index as usize)?.take()
        } else if v.generation == self.generation {
            self.nodes.get_mut(v.index as usize)?.take()
        } else {
            None
        }
    }
}
