//! Checkpoints: what a run has learned, and everything it needs to continue exactly, in one safetensors file.
//!
//! The format is safetensors so that NumPy, PyTorch and candle read a zerodl model with no zerodl code:
//! - every parameter under its stable name (`layer0.weight`, `conv1.bias`, `rnn.layer0.forward.w_h`), float32,
//!   **row-major** with its `rows x cols` shape, so `numpy` sees the same matrix the book writes;
//! - every buffer (batch norm's `bn1.running_mean`) under its name, float64 (zerodl keeps them in f64);
//! - the optimizer's state as `optimizer.<slot>.<parameter name>` (`optimizer.m.layer0.weight`);
//! - in the metadata, one entry `zerodl` holding a JSON object of strings: the format version, the chapter and its
//!   command-line flags, the optimizer's step count and rate, the model's random generators;
//! - the loop's position (`loop.state`) and the caller's own state (`run.curve`, ...) as float64 tensors, exact.
//!
//! Writing is atomic (a temporary file in the same folder, flushed to disk, then renamed over the old one), so
//! an interrupted write leaves the previous checkpoint in place. Reading checks every name, dtype and shape
//! against the model the settings describe; a mismatch is an error naming the tensor and both shapes.

use crate::autograd::{Tape, Var};
use crate::error::{Error, Result, Shape};
use crate::nn::Module;
use crate::optim::Optimizer;
use nalgebra::DMatrix;
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file a checkpoint directory holds.
pub const FILE: &str = "checkpoint.safetensors";
/// Bumped when the layout changes; a checkpoint of another version is refused with both numbers.
pub const FORMAT: &str = "1";

const OPT_PREFIX: &str = "optimizer.";
/// Metadata keys of the model's random generators.
const RNG_PREFIX: &str = "zerodl.rng.";
/// The one safetensors metadata entry: a JSON object of zerodl's fields (`zerodl.format`, `zerodl.chapter`, ...).
const META_KEY: &str = "zerodl";
/// Tensors that belong to the run, not the model.
const RUN_PREFIXES: [&str; 3] = [OPT_PREFIX, "loop.", "run."];

/// A tensor's values, in the dtype it is stored with.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    /// Row-major.
    pub values: Values,
}

/// Tensors by name and metadata strings by key: a checkpoint in memory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Checkpoint {
    pub tensors: BTreeMap<String, Tensor>,
    pub meta: BTreeMap<String, String>,
}

impl Checkpoint {
    pub fn new() -> Self {
        let mut c = Checkpoint::default();
        c.meta.insert("zerodl.format".into(), FORMAT.into());
        c
    }

    /// Store `m` (column-major in nalgebra) row-major, as every other framework expects.
    pub fn put_matrix(&mut self, name: &str, m: &DMatrix<f32>) {
        let values = m.transpose().as_slice().to_vec();
        self.tensors.insert(
            name.into(),
            Tensor {
                shape: vec![m.nrows(), m.ncols()],
                values: Values::F32(values),
            },
        );
    }

    /// The matrix stored under `name`, which must be float32 of shape `shape`.
    pub fn matrix(&self, name: &str, shape: (usize, usize)) -> Result<DMatrix<f32>> {
        let t = self.tensor(name)?;
        let Values::F32(v) = &t.values else {
            return Err(self.mismatch(name, "dtype F64, expected F32".into()));
        };
        if t.shape != [shape.0, shape.1] {
            return Err(self.mismatch(
                name,
                format!(
                    "the checkpoint holds shape {:?}, the model expects {}",
                    t.shape,
                    Shape(shape.0, shape.1)
                ),
            ));
        }
        Ok(DMatrix::from_row_slice(shape.0, shape.1, v))
    }

    pub fn put_f64(&mut self, name: &str, values: &[f64]) {
        self.tensors.insert(
            name.into(),
            Tensor {
                shape: vec![values.len()],
                values: Values::F64(values.to_vec()),
            },
        );
    }

    /// The float64 vector stored under `name`, which must hold `len` values.
    pub fn f64s(&self, name: &str, len: usize) -> Result<Vec<f64>> {
        let t = self.tensor(name)?;
        match &t.values {
            Values::F64(v) if t.shape == [len] => Ok(v.clone()),
            Values::F64(_) => Err(self.mismatch(
                name,
                format!(
                    "the checkpoint holds shape {:?}, the model expects [{len}]",
                    t.shape
                ),
            )),
            Values::F32(_) => Err(self.mismatch(name, "dtype F32, expected F64".into())),
        }
    }

    /// The float64 vector stored under `name`, of any length.
    pub fn f64s_any(&self, name: &str) -> Result<Vec<f64>> {
        let len = self.tensor(name)?.shape.iter().product();
        self.f64s(name, len)
    }

    fn tensor(&self, name: &str) -> Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| Error::Format {
            path: self.source(),
            msg: format!("tensor {name:?} is missing (the checkpoint was written for another model or settings)"),
        })
    }

    fn source(&self) -> String {
        self.meta
            .get("zerodl.path")
            .cloned()
            .unwrap_or_else(|| "checkpoint".into())
    }

    fn mismatch(&self, name: &str, msg: String) -> Error {
        Error::Format {
            path: self.source(),
            msg: format!("tensor {name:?}: {msg}"),
        }
    }

    /// A metadata value, parsed as JSON into `V`.
    pub fn meta_json(&self, key: &str) -> Result<serde_json::Value> {
        let raw = self.meta.get(key).ok_or_else(|| Error::Format {
            path: self.source(),
            msg: format!("metadata {key:?} is missing"),
        })?;
        serde_json::from_str(raw).map_err(|e| Error::Format {
            path: self.source(),
            msg: format!("metadata {key:?} is not valid: {e}"),
        })
    }

    // ANCHOR: model
    /// Every parameter and buffer of `model` under its name.
    pub fn put_model(&mut self, tape: &Tape<f32>, model: &dyn Module) -> Result<()> {
        for (name, v) in crate::nn::module::param_names(model)? {
            self.put_matrix(&name, tape.value(v)?);
        }
        for (name, b) in model.named_buffers() {
            self.put_f64(&name, &b.borrow());
        }
        for (name, rng) in model.named_rngs() {
            let r = rng.borrow();
            let seed: String = r.get_seed().iter().map(|b| format!("{b:02x}")).collect();
            let state = serde_json::json!({"seed": seed, "stream": r.get_stream(),
                                           "word_pos": r.get_word_pos().to_string()});
            self.meta
                .insert(format!("{RNG_PREFIX}{name}"), state.to_string());
        }
        Ok(())
    }

    /// Overwrite `model`'s parameters and buffers with the saved ones. Every name the model has must be
    /// saved with the model's shape, and every saved model tensor must belong to the model: a checkpoint of
    /// another architecture is refused, naming the first tensor that differs.
    pub fn restore_model(&self, tape: &mut Tape<f32>, model: &dyn Module) -> Result<()> {
        let params = crate::nn::module::param_names(model)?;
        let buffers = model.named_buffers();
        let known: std::collections::BTreeSet<&str> = params
            .iter()
            .map(|(n, _)| n.as_str())
            .chain(buffers.iter().map(|(n, _)| n.as_str()))
            .collect();
        if let Some(extra) = self
            .tensors
            .keys()
            .find(|k| !RUN_PREFIXES.iter().any(|p| k.starts_with(p)) && !known.contains(k.as_str()))
        {
            return Err(self.mismatch(extra, "the model has no tensor of this name".into()));
        }
        for (name, v) in &params {
            let shape = tape.value(*v)?.shape();
            let m = self.matrix(name, shape)?;
            *tape.param_mut(*v)? = m;
        }
        for (name, b) in &buffers {
            let len = b.borrow().len();
            *b.borrow_mut() = self.f64s(name, len)?;
        }
        for (name, rng) in model.named_rngs() {
            *rng.borrow_mut() = self.rng(&name)?;
        }
        Ok(())
    }
    // ANCHOR_END: model

    /// The optimizer's state slots, its step count and its rate.
    pub fn put_optimizer(
        &mut self,
        opt: &mut dyn Optimizer<f32>,
        params: &[(String, Var)],
    ) -> Result<()> {
        for (slot, states) in opt.slots() {
            for (name, v) in params {
                if let Some(m) = states.peek(*v) {
                    let key = format!("{OPT_PREFIX}{slot}.{name}");
                    self.put_matrix(&key, m);
                }
            }
        }
        let state = serde_json::json!({"steps": opt.steps(), "lr": opt.lr()});
        self.meta
            .insert("zerodl.optimizer".into(), state.to_string());
        Ok(())
    }

    /// Restore what [`Checkpoint::put_optimizer`] saved into a fresh optimizer of the same kind.
    pub fn restore_optimizer(
        &self,
        tape: &Tape<f32>,
        opt: &mut dyn Optimizer<f32>,
        params: &[(String, Var)],
    ) -> Result<()> {
        let slot_names: Vec<&'static str> = opt.slots().iter().map(|(s, _)| *s).collect();
        // Every saved optimizer tensor must be a slot of this optimizer for a parameter of this model.
        for key in self.tensors.keys().filter(|k| k.starts_with(OPT_PREFIX)) {
            let rest = &key[OPT_PREFIX.len()..];
            let ok = slot_names.iter().any(|s| {
                rest.strip_prefix(s)
                    .and_then(|r| r.strip_prefix('.'))
                    .is_some_and(|p| params.iter().any(|(n, _)| n == p))
            });
            if !ok {
                return Err(self.mismatch(
                    key,
                    "not a state slot of this optimizer and model (was it saved with another --optimizer?)"
                        .into(),
                ));
            }
        }
        for (slot, states) in opt.slots() {
            for (name, v) in params {
                let key = format!("{OPT_PREFIX}{slot}.{name}");
                if self.tensors.contains_key(&key) {
                    let shape = tape.value(*v)?.shape();
                    states.set(*v, self.matrix(&key, shape)?)?;
                }
            }
        }
        let state: serde_json::Value = self.meta_json("zerodl.optimizer")?;
        let steps = state["steps"].as_u64();
        let lr = state["lr"].as_f64();
        let (Some(steps), Some(lr)) = (steps, lr) else {
            return Err(Error::Format {
                path: self.source(),
                msg: format!("metadata \"zerodl.optimizer\" lacks steps or lr: {state}"),
            });
        };
        opt.set_steps(steps);
        opt.set_lr(lr);
        Ok(())
    }

    /// The generator saved under `name`, at the position it was saved at.
    fn rng(&self, name: &str) -> Result<crate::rng::Rng> {
        use rand::SeedableRng;
        let key = format!("{RNG_PREFIX}{name}");
        let v = self.meta_json(&key)?;
        let bad = || Error::Format {
            path: self.source(),
            msg: format!("metadata {key:?} is not a generator state: {v}"),
        };
        let hex = v["seed"].as_str().ok_or_else(bad)?;
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(bad());
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        let stream = v["stream"].as_u64().ok_or_else(bad)?;
        let pos: u128 = v["word_pos"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let mut r = crate::rng::Rng::from_seed(seed);
        r.set_stream(stream);
        r.set_word_pos(pos);
        Ok(r)
    }

    // ANCHOR: bytes
    /// The safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let raw: Vec<(String, Vec<u8>, Dtype, Vec<usize>)> = self
            .tensors
            .iter()
            .map(|(name, t)| {
                let (bytes, dtype) = match &t.values {
                    Values::F32(v) => {
                        (v.iter().flat_map(|x| x.to_le_bytes()).collect(), Dtype::F32)
                    }
                    Values::F64(v) => {
                        (v.iter().flat_map(|x| x.to_le_bytes()).collect(), Dtype::F64)
                    }
                };
                (name.clone(), bytes, dtype, t.shape.clone())
            })
            .collect();
        let mut views = Vec::with_capacity(raw.len());
        for (name, bytes, dtype, shape) in &raw {
            let view = TensorView::new(*dtype, shape.clone(), bytes)
                .map_err(|e| Error::invalid("checkpoint", format!("tensor {name:?}: {e}")))?;
            views.push((name.as_str(), view));
        }
        // One metadata entry holding a sorted JSON object: safetensors keeps metadata in a HashMap, whose order
        // changes from process to process, and the same run should write the same bytes.
        let sorted: BTreeMap<&String, &String> = self
            .meta
            .iter()
            .filter(|(k, _)| k.as_str() != "zerodl.path")
            .collect();
        let meta: HashMap<String, String> =
            HashMap::from([(META_KEY.to_string(), serde_json::json!(sorted).to_string())]);
        safetensors::serialize(views, Some(meta))
            .map_err(|e| Error::invalid("checkpoint", e.to_string()))
    }

    /// Parse safetensors bytes (`path` names them in errors). Any damage is an error, never a panic: the
    /// safetensors reader checks the header against the byte count before anything is allocated.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<Self> {
        let bad = |msg: String| Error::Format {
            path: path.into(),
            msg,
        };
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| bad(format!("not a readable safetensors file: {e}")))?;
        let (_, header) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| bad(format!("not a readable safetensors file: {e}")))?;
        let mut c = Checkpoint::default();
        if let Some(raw) = header.metadata().as_ref().and_then(|m| m.get(META_KEY)) {
            let fields: BTreeMap<String, String> = match serde_json::from_str(raw) {
                Ok(serde_json::Value::Object(o)) => o
                    .into_iter()
                    .map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        bad(format!("metadata {META_KEY:?} holds a non-string value"))
                    })?,
                _ => {
                    return Err(bad(format!(
                        "metadata {META_KEY:?} is not a JSON object of strings"
                    )))
                }
            };
            c.meta.extend(fields);
        }
        match c.meta.get("zerodl.format").map(String::as_str) {
            Some(FORMAT) => {}
            Some(v) => {
                return Err(bad(format!(
                    "checkpoint format {v}, this zerodl reads format {FORMAT}"
                )))
            }
            None => {
                return Err(bad(
                    "no zerodl.format in the metadata: not a zerodl checkpoint".into(),
                ))
            }
        }
        c.meta.insert("zerodl.path".into(), path.into());
        for (name, view) in st.tensors() {
            let data = view.data();
            let values = match view.dtype() {
                Dtype::F32 => Values::F32(
                    data.chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect(),
                ),
                Dtype::F64 => Values::F64(
                    data.chunks_exact(8)
                        .map(|b| f64::from_le_bytes(b.try_into().expect("chunks of 8")))
                        .collect(),
                ),
                other => {
                    return Err(bad(format!(
                        "tensor {name:?} has dtype {other:?}; zerodl writes F32 and F64 only"
                    )))
                }
            };
            c.tensors.insert(
                name,
                Tensor {
                    shape: view.shape().to_vec(),
                    values,
                },
            );
        }
        Ok(c)
    }
    // ANCHOR_END: bytes

    /// Write `dir/checkpoint.safetensors` atomically: a temporary file in `dir`, flushed to disk, renamed over
    /// the old checkpoint. A crash or a full disk at any point leaves the previous checkpoint whole.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(FILE);
        let tmp = dir.join(format!(".{FILE}.tmp-{}", std::process::id()));
        let bytes = self.to_bytes()?;
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            // The rename itself is durable once the folder is synced (best effort: not every platform can).
            if let Ok(d) = fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            Error::io(&path, e)
        })?;
        Ok(path)
    }

    /// Read a checkpoint from a directory written by [`Checkpoint::save`] (or the file itself).
    pub fn load(path: &Path) -> Result<Self> {
        let file = if path.is_dir() {
            path.join(FILE)
        } else {
            path.to_path_buf()
        };
        if !file.exists() {
            return Err(Error::MissingData {
                what: "checkpoint".into(),
                path: file.display().to_string(),
                hint: "save one with `zerodl run <chapter> --save DIR`".into(),
            });
        }
        let bytes = fs::read(&file).map_err(|e| Error::io(&file, e))?;
        Self::from_bytes(&bytes, &file.display().to_string())
    }
}
