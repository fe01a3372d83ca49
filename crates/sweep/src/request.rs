//! From what the user asked (`multiberts sweep`'s flags as plain values, [`SweepRequest`]) to
//! a checked plan ([`SweepPlan`]): the manifest, its results tree and jobs, the devices
//! checked, and the options of the local pool ([`LocalOptions`]) or of a Slurm submission
//! ([`SlurmOptions`]).
//!
//! The sweep crate runs no model, so what it needs to know of this machine's devices comes
//! through [`DeviceProbe`], which the binary answers with the model crate.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use multiberts_collector::ResultsTree;
use multiberts_manifest::{Manifest, SlurmOverrides, SweepJob};

use crate::child::ChildSettings;
use crate::error::{Result, SweepError};
use crate::gpus::GpuOptions;
use crate::local::{LocalOptions, SweepOutcome};
use crate::placement::{
    GpuChoice, collect_args, gpu_choice, local_gpus, parallel_jobs, refuse_tf32_on_cpu,
    refuse_while_in_slurm, warn_gpu_without_gres,
};
use crate::slurm::{SlurmOptions, absolute, submit_slurm};

/// A device failure as the device layer words it (the binary's model crate).
pub type DeviceFailure = Box<dyn std::error::Error + Send + Sync + 'static>;

/// This machine's devices, as the model crate sees them. A device is a CUDA index, `None`
/// for the CPU.
pub trait DeviceProbe {
    /// How many GPUs this process sees.
    fn visible_gpus(&self) -> usize;
    /// Fails when this build cannot run on `gpu` at all (a GPU on a build without CUDA).
    fn check_supported(&self, gpu: Option<usize>) -> std::result::Result<(), DeviceFailure>;
    /// Opens `gpu` (or the CPU) and releases it again: fails when it does not exist.
    fn open(&self, gpu: Option<usize>) -> std::result::Result<(), DeviceFailure>;
    /// Checks the kernel-path environment variable the children inherit (a typo there would
    /// fail every job).
    fn check_kernels(&self) -> std::result::Result<(), String>;
}

/// What the user asked of a sweep: `multiberts sweep`'s flags as plain values.
#[derive(Debug, Clone, Default)]
pub struct SweepRequest {
    /// The manifest file (`None`: the embedded demo).
    pub manifest: Option<PathBuf>,
    /// `--results-dir` (default: the manifest's `results_dir`).
    pub results_dir: Option<PathBuf>,
    /// `--data-dir` (default: `MULTIBERTS_DATA`, then the manifest's `data_dir`).
    pub data_dir: Option<PathBuf>,
    /// The GPUs `--device` names.
    pub device: GpuChoice,
    /// `--gpus`.
    pub gpus: Option<Vec<usize>>,
    /// `--jobs`.
    pub jobs: Option<usize>,
    /// `--jobs-per-gpu`.
    pub jobs_per_gpu: Option<usize>,
    /// `--threads-per-job`.
    pub threads_per_job: usize,
    /// `--retries`.
    pub retries: u32,
    /// `--keep-going`.
    pub keep_going: bool,
    /// `--checkpoint-every` (0: not given).
    pub checkpoint_every: u64,
    /// `--checkpoint-minutes`.
    pub checkpoint_minutes: u64,
    /// `--keep-state`.
    pub keep_state: bool,
    /// `--rerun-stale`.
    pub rerun_stale: bool,
    /// The collect step's learning-rate rule by name (`--rule`); `None` with `--no-collect`.
    pub collect_rule: Option<String>,
    /// Submit to Slurm (`--backend slurm`) instead of the local pool.
    pub on_slurm: bool,
    /// The Slurm options (with `--backend slurm` only).
    pub slurm: SlurmRequest,
}

/// The Slurm options of a [`SweepRequest`].
#[derive(Debug, Clone, Default)]
pub struct SlurmRequest {
    /// Overrides of the manifest's `[slurm]` table.
    pub overrides: SlurmOverrides,
    /// `--dry-run`: print, submit nothing.
    pub dry_run: bool,
    /// `--resubmit-failed`.
    pub resubmit_failed: bool,
}

impl SlurmRequest {
    /// Whether any option was given (they only make sense with `--backend slurm`).
    pub fn any(&self) -> bool {
        self.dry_run || self.resubmit_failed || self.overrides != SlurmOverrides::default()
    }
}

impl SweepRequest {
    /// What each child is told, on `gpu` (`None`: the CPU).
    pub fn settings(&self, gpu: Option<usize>) -> ChildSettings {
        ChildSettings {
            checkpoint_every: self.checkpoint_every,
            checkpoint_minutes: self.checkpoint_minutes,
            keep_state: self.keep_state,
            device: device_name(gpu),
        }
    }

    /// ` <manifest>` as the user gave it, for commands suggested in messages.
    pub fn manifest_arg(&self) -> String {
        self.manifest
            .as_ref()
            .map(|m| format!(" {}", m.display()))
            .unwrap_or_default()
    }
}

/// The manifest at `manifest` (the embedded demo when `None`) and its results tree, under
/// `results_dir` when given (`--results-dir`, `MULTIBERTS_RESULTS`), else under the manifest's
/// `results_dir`: what a command on a sweep's results reads first.
pub fn manifest_and_tree(
    manifest: Option<&Path>,
    results_dir: Option<&Path>,
) -> Result<(Manifest, ResultsTree)> {
    let manifest = Manifest::load_or_demo(manifest)?;
    let tree = ResultsTree::new(manifest.results_dir_or(results_dir), &manifest.name)?;
    Ok((manifest, tree))
}

/// A device's name as `--device` and the children take it: `cpu` or `cuda:N`.
pub fn device_name(gpu: Option<usize>) -> String {
    gpu.map_or_else(|| "cpu".to_string(), |n| format!("cuda:{n}"))
}

/// The device of a choice: `None` on the CPU, else the GPU a single device means (every GPU,
/// or a list, is `cuda:0` until the pool gives each job its slot's).
fn device_of(choice: &GpuChoice) -> Option<usize> {
    match choice {
        GpuChoice::Cpu => None,
        GpuChoice::One(n) => Some(*n),
        GpuChoice::Every | GpuChoice::Listed(_) => Some(0),
    }
}

/// A sweep checked before any job starts: the request, the GPUs it runs on, the manifest,
/// its results tree and jobs, and the executable the children run.
#[derive(Debug)]
pub struct SweepPlan {
    /// What the user asked.
    pub request: SweepRequest,
    /// The GPUs the sweep runs on (`--gpus` replaces `--device`'s).
    pub choice: GpuChoice,
    /// The manifest.
    pub manifest: Manifest,
    /// Its results tree.
    pub tree: ResultsTree,
    /// Every job, pre-training first.
    pub jobs: Vec<SweepJob>,
    /// The `multiberts` executable the children run.
    pub exe: PathBuf,
}

impl SweepPlan {
    /// Checks the request in the order a sweep fails fastest: the GPU options, the device
    /// this build supports (a GPU sweep on a CPU build fails here, not once per job), the
    /// manifest and its local checkpoints, TF32 jobs on the CPU, stale jobs (unless
    /// `--rerun-stale`, which re-marks them under the sweep's lock), the kernel path; then,
    /// for the local pool, Slurm options without `--backend slurm` and Slurm jobs still
    /// writing the results.
    pub fn prepare(request: SweepRequest, probe: &dyn DeviceProbe) -> Result<SweepPlan> {
        let listed = request.gpus.as_deref();
        let choice = gpu_choice(
            request.device.clone(),
            listed,
            request.jobs_per_gpu,
            request.on_slurm,
        )?;
        let first = listed.and_then(<[usize]>::first).copied();
        probe
            .check_supported(first.or(device_of(&choice)))
            .map_err(SweepError::Device)?;
        let (manifest, tree) =
            manifest_and_tree(request.manifest.as_deref(), request.results_dir.as_deref())?;
        manifest.check_local_checkpoints()?;
        let data_root = manifest.data_root(request.data_dir.as_deref());
        let jobs = manifest.sweep_jobs(data_root.as_deref(), tree.root())?;
        refuse_tf32_on_cpu(&jobs, choice.is_gpu())?;
        if !request.rerun_stale {
            crate::check_stale(&tree, false)?;
        }
        probe.check_kernels().map_err(SweepError::Placement)?;
        let exe = std::env::current_exe().map_err(SweepError::Exe)?;
        if !request.on_slurm {
            if request.slurm.any() {
                return Err(SweepError::Placement(
                    "Slurm options (--dry-run, --partition, ...) need --backend slurm".into(),
                ));
            }
            refuse_while_in_slurm(tree.root())?;
        }
        Ok(SweepPlan {
            request,
            choice,
            manifest,
            tree,
            jobs,
            exe,
        })
    }

    /// The device the jobs run on, in words (`cpu`, `cuda:N`).
    pub fn device_text(&self) -> String {
        device_name(device_of(&self.choice))
    }

    /// The local pool's options: which GPUs (checked to be visible and to open), how many
    /// jobs at once, what each child is told.
    pub fn local_options(&self, probe: &dyn DeviceProbe) -> Result<LocalOptions> {
        let request = &self.request;
        let env = std::env::var(crate::placement::CUDA_VISIBLE_DEVICES).ok();
        let gpus = local_gpus(&self.choice, probe.visible_gpus(), env.as_deref())?.map(|gpus| {
            GpuOptions {
                gpus,
                per_gpu: request.jobs_per_gpu.unwrap_or(1),
            }
        });
        // The jobs run here: make sure the devices exist (each is released again at once).
        match &gpus {
            Some(g) => {
                for &n in &g.gpus {
                    probe.open(Some(n)).map_err(SweepError::Device)?;
                }
            }
            None => probe
                .open(device_of(&self.choice))
                .map_err(SweepError::Device)?,
        }
        Ok(LocalOptions {
            exe: self.exe.clone(),
            prefix: Vec::new(),
            // On GPUs the pool gives each child the device of its slot.
            settings: request.settings(device_of(&self.choice)),
            output_dir: self.tree.root().to_path_buf(),
            jobs: parallel_jobs(request.jobs, request.threads_per_job, gpus.as_ref()),
            gpus,
            threads_per_job: request.threads_per_job,
            retries: request.retries,
            keep_going: request.keep_going,
            progress: std::io::stderr().is_terminal(),
            rerun_stale: request.rerun_stale,
        })
    }

    /// `--backend slurm`: submits the jobs that need it and returns what was done, in words.
    pub fn submit_slurm(&self) -> Result<String> {
        let (request, manifest) = (&self.request, &self.manifest);
        if request.jobs.is_some() || request.keep_going {
            tracing::warn!(
                "--jobs and --keep-going are for the local backend; Slurm runs every job on its own (throttle with --array-parallelism)"
            );
        }
        // Jobs run elsewhere (another node, another working directory): absolute paths only
        // (the job files' checkpoint paths and data root already are).
        let tree = ResultsTree::new(&absolute(self.tree.results_dir()), &manifest.name)?;
        let manifest_path = request.manifest.as_deref().map(absolute);
        let collect = request
            .collect_rule
            .as_deref()
            .map(|rule| collect_args(manifest_path.as_deref(), tree.results_dir(), Some(rule)));
        let config = manifest
            .slurm
            .clone()
            .with_overrides(&request.slurm.overrides);
        // One GPU per array task: `cuda` is `cuda:0`, the GPU Slurm gave the task.
        let gpu = device_of(&request.device);
        warn_gpu_without_gres(gpu, &config);
        let options = SlurmOptions {
            exe: self.exe.clone(),
            settings: request.settings(gpu),
            collect_args: collect,
            output_dir: tree.root().to_path_buf(),
            workdir: std::env::current_dir().map_err(SweepError::WorkingDirectory)?,
            name: manifest.name.to_string(),
            config,
            resubmit_failed: request.slurm.resubmit_failed,
            dry_run: request.slurm.dry_run,
            rerun_stale: request.rerun_stale,
        };
        let outcome = submit_slurm(&self.jobs, &tree, &options)?;
        let dry_run = request.slurm.dry_run;
        Ok(outcome.text(&manifest.name, &request.manifest_arg(), dry_run))
    }

    /// A local sweep's verdict: an error when it was interrupted or left jobs not done.
    pub fn check_outcome(&self, outcome: &SweepOutcome) -> Result<()> {
        if outcome.interrupted {
            return Err(SweepError::Interrupted);
        }
        if !outcome.all_done() {
            return Err(SweepError::NotDone {
                left: outcome.total - outcome.already_done - outcome.succeeded.len(),
                total: outcome.total,
                manifest_arg: self.request.manifest_arg(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_told_an_explicit_device() {
        let request = SweepRequest {
            device: GpuChoice::Every,
            checkpoint_every: 7,
            checkpoint_minutes: 3,
            keep_state: true,
            ..SweepRequest::default()
        };
        // Slurm: `cuda` is the task's own GPU, cuda:0.
        let slurm = request.settings(device_of(&request.device));
        assert_eq!(slurm.device, "cuda:0");
        assert_eq!(
            (
                slurm.checkpoint_every,
                slurm.checkpoint_minutes,
                slurm.keep_state
            ),
            (7, 3, true)
        );
        let cpu = SweepRequest::default().settings(None);
        assert_eq!(cpu.device, "cpu");
        assert_eq!(device_of(&GpuChoice::One(2)), Some(2));
        assert_eq!(device_of(&GpuChoice::Listed(vec![3])), Some(0));
    }

    #[test]
    fn a_sweep_left_unfinished_names_the_status_command() {
        let manifest_arg = SweepRequest {
            manifest: Some(PathBuf::from("m.toml")),
            ..SweepRequest::default()
        }
        .manifest_arg();
        let err = SweepError::NotDone {
            left: 2,
            total: 5,
            manifest_arg,
        };
        let want = "2 of 5 jobs are not done; see `multiberts status m.toml`";
        assert_eq!(err.to_string(), want);
        assert_eq!(SweepRequest::default().manifest_arg(), "");
    }
}
