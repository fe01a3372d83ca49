//! Trainable parameters by Hugging Face name, and the builder that fills them from a
//! checkpoint's name → tensor map or from a seeded initialisation ([`Init`]).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};

use crate::error::{ModelError, Result};

mod init;

pub use init::Init;

/// Named trainable parameters, in creation order (which is the order of `named_parameters()` in
/// Hugging Face models, so iteration is deterministic).
#[derive(Debug, Clone, Default)]
pub struct Params {
    entries: Vec<(String, Var)>,
    index: HashMap<String, usize>,
}

impl Params {
    /// Adds a parameter. Names must be unique.
    pub fn push(&mut self, name: String, var: Var) -> Result<()> {
        if self.index.contains_key(&name) {
            return Err(ModelError::Batch(format!(
                "duplicate parameter name {name}"
            )));
        }
        self.index.insert(name.clone(), self.entries.len());
        self.entries.push((name, var));
        Ok(())
    }

    /// The parameter called `name`.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.index.get(name).map(|&i| &self.entries[i].1)
    }

    /// `(name, var)` pairs in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.entries.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Number of parameter tensors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total number of scalar parameters.
    pub fn num_elements(&self) -> usize {
        self.entries.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// A detached copy of every parameter, by name.
    pub fn to_map(&self) -> HashMap<String, Tensor> {
        self.entries
            .iter()
            .map(|(n, v)| (n.clone(), v.as_detached_tensor()))
            .collect()
    }

    /// Copies the tensors of a file written by [`Params::save_safetensors`] into these
    /// parameters (a resume state): every parameter must be there with its shape, else an
    /// error naming the file and the tensor.
    pub fn load_safetensors(&self, path: &Path) -> Result<()> {
        let saved = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| ModelError::file(path, format!("cannot read weights: {e}")))?;
        for (name, var) in self.iter() {
            let t = saved
                .get(name)
                .ok_or_else(|| ModelError::file(path, format!("tensor `{name}` is missing")))?;
            if t.dims() != var.dims() {
                let (found, expected) = (t.dims(), var.dims());
                return Err(ModelError::file(
                    path,
                    format!("tensor `{name}` has shape {found:?}, expected {expected:?}"),
                ));
            }
            var.set(&t.to_device(var.device())?)?;
        }
        Ok(())
    }

    /// Writes every parameter to a safetensors file (atomically: temp file, then rename).
    pub fn save_safetensors(&self, path: &Path) -> Result<()> {
        let map: HashMap<String, Tensor> = self
            .to_map()
            .into_iter()
            .map(|(n, t)| t.to_device(&Device::Cpu).map(|t| (n, t)))
            .collect::<candle_core::Result<_>>()?;
        crate::io::atomic_write(path, |tmp| {
            candle_core::safetensors::save(&map, tmp).map_err(|e| e.to_string())
        })
    }
}

/// What a [`ParamBuilder`] did besides copying tensors: which optional parameters it had to
/// initialise because the checkpoint lacked them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildReport {
    /// Parameters initialised fresh (e.g. a new task head, or a pooler missing from the file).
    pub initialised: Vec<String>,
    /// Tensors present in the source but deliberately ignored (by prefix).
    pub ignored: Vec<String>,
}

/// Creates the parameters of a model, one by name, either from a source map (a checkpoint) or
/// from a seeded initialisation, and collects every mismatch for one complete error.
pub struct ParamBuilder<'a> {
    source: Option<&'a HashMap<String, Tensor>>,
    device: Device,
    seed: u64,
    params: Params,
    used: BTreeSet<String>,
    missing: Vec<String>,
    wrong_shape: Vec<(String, Vec<usize>, Vec<usize>)>,
    report: BuildReport,
}

impl<'a> ParamBuilder<'a> {
    /// A builder that initialises everything from `seed` (a random-init model).
    pub fn fresh(device: &Device, seed: u64) -> Self {
        Self::new(None, device, seed)
    }

    /// A builder that takes tensors from `source` (names as in HF `BertModel`, without the
    /// `bert.` prefix) and initialises only optional parameters it lacks, from `seed`.
    pub fn from_tensors(source: &'a HashMap<String, Tensor>, device: &Device, seed: u64) -> Self {
        Self::new(Some(source), device, seed)
    }

    fn new(source: Option<&'a HashMap<String, Tensor>>, device: &Device, seed: u64) -> Self {
        Self {
            source,
            device: device.clone(),
            seed,
            params: Params::default(),
            used: BTreeSet::new(),
            missing: Vec::new(),
            wrong_shape: Vec::new(),
            report: BuildReport::default(),
        }
    }

    /// The device parameters are created on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A required parameter: from the source if there is one (missing is an error), else
    /// initialised.
    pub fn required(&mut self, name: &str, shape: &[usize], init: Init) -> Result<Tensor> {
        self.take(name, shape, init, false)
    }

    /// An optional parameter (pooler, task heads): from the source when present, else
    /// initialised and recorded in the report.
    pub fn optional(&mut self, name: &str, shape: &[usize], init: Init) -> Result<Tensor> {
        self.take(name, shape, init, true)
    }

    fn take(&mut self, name: &str, shape: &[usize], init: Init, optional: bool) -> Result<Tensor> {
        let found = self.source.and_then(|s| s.get(name));
        let tensor = match found {
            Some(t) => {
                self.used.insert(name.to_owned());
                if t.dims() != shape {
                    self.wrong_shape
                        .push((name.to_owned(), shape.to_vec(), t.dims().to_vec()));
                    init.tensor(shape, self.seed, name, &self.device)?
                } else {
                    t.to_dtype(DType::F32)?.to_device(&self.device)?
                }
            }
            None => {
                if self.source.is_some() {
                    if optional {
                        tracing::info!("{name} is not in the checkpoint; initialising it");
                        self.report.initialised.push(name.to_owned());
                    } else {
                        self.missing.push(name.to_owned());
                    }
                }
                init.tensor(shape, self.seed, name, &self.device)?
            }
        };
        let var = Var::from_tensor(&tensor)?;
        let t = var.as_tensor().clone();
        self.params.push(name.to_owned(), var)?;
        Ok(t)
    }

    /// Finishes: an error listing every missing, unexpected and wrongly shaped tensor, or the
    /// parameters. Source tensors whose name starts with one of `ignore_prefixes` are not
    /// unexpected (e.g. a fine-tuned `classifier.*` when only the encoder is built).
    pub fn finish(mut self, ignore_prefixes: &[&str]) -> Result<(Params, BuildReport)> {
        let mut unexpected = Vec::new();
        if let Some(source) = self.source {
            let mut names: Vec<&String> = source.keys().collect();
            names.sort();
            for name in names {
                if self.used.contains(name) {
                    continue;
                }
                if ignore_prefixes.iter().any(|p| name.starts_with(p)) {
                    self.report.ignored.push(name.clone());
                } else {
                    unexpected.push(name.clone());
                }
            }
        }
        if !self.missing.is_empty() || !unexpected.is_empty() || !self.wrong_shape.is_empty() {
            return Err(ModelError::Mismatch {
                missing: self.missing,
                unexpected,
                wrong_shape: self.wrong_shape,
            });
        }
        Ok((self.params, self.report))
    }
}
