//! Where a sweep's jobs run, checked before any job starts: the GPUs of a local pool, how
//! many jobs at once, modes a device lacks (TF32 on the CPU), a GPU request without a GPU in
//! the Slurm allocation, and Slurm jobs still writing the results directory.

use std::ffi::OsString;
use std::path::Path;

use multiberts_manifest::{Precision, SlurmConfig, SweepJob};

use crate::error::{Result, SweepError};
use crate::gpus::GpuOptions;
use crate::local::default_jobs;
use crate::slurm::{SlurmCli, StateClass, slurm_view};

/// The environment variable that renumbers the GPUs a CUDA process sees.
pub(crate) const CUDA_VISIBLE_DEVICES: &str = "CUDA_VISIBLE_DEVICES";

/// The GPUs a local sweep was asked to run on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GpuChoice {
    /// No GPU: the CPU.
    #[default]
    Cpu,
    /// Every visible GPU (`--device cuda`).
    Every,
    /// GPU N alone (`--device cuda:N`).
    One(usize),
    /// These GPUs (`--gpus 0,2`).
    Listed(Vec<usize>),
}

impl GpuChoice {
    /// Whether this names GPUs.
    pub fn is_gpu(&self) -> bool {
        *self != GpuChoice::Cpu
    }
}

/// Checks `--gpus` (`listed`) and `--jobs-per-gpu` against the backend (`slurm`) and the
/// device asked for (`device`, from `--device`), and returns the GPUs the sweep runs on:
/// `--gpus` replaces `cpu` and `cuda`. On Slurm each job runs on the GPU Slurm gives it, so
/// both options are refused there.
pub fn gpu_choice(
    device: GpuChoice,
    listed: Option<&[usize]>,
    jobs_per_gpu: Option<usize>,
    slurm: bool,
) -> Result<GpuChoice> {
    if jobs_per_gpu == Some(0) {
        return Err(placement(
            "--jobs-per-gpu must be at least 1 (it is how many jobs share each GPU; default 1)"
                .into(),
        ));
    }
    if slurm {
        if listed.is_some() || jobs_per_gpu.is_some() {
            return Err(placement(
                "--gpus and --jobs-per-gpu are for the local backend; with --backend slurm each \
                 job runs on the GPU Slurm gives it (ask with --gres gpu:1 and --device cuda)"
                    .into(),
            ));
        }
        return Ok(device);
    }
    match (listed, device) {
        (Some([]), _) => Err(placement(
            "--gpus needs at least one GPU index, e.g. --gpus 0,1".into(),
        )),
        (Some(_), GpuChoice::One(n)) => Err(placement(format!(
            "--gpus and --device cuda:{n} both choose GPUs; give one of them (--device cuda \
             with --gpus is fine)"
        ))),
        (Some(list), _) => Ok(GpuChoice::Listed(list.to_vec())),
        (None, GpuChoice::Cpu) if jobs_per_gpu.is_some() => Err(placement(
            "--jobs-per-gpu needs GPUs: add --device cuda (every visible GPU), --device cuda:N \
             or --gpus LIST; on the CPU, --jobs sets how many jobs run at once"
                .into(),
        )),
        (None, device) => Ok(device),
    }
}

fn placement(message: String) -> SweepError {
    SweepError::Placement(message)
}

/// The GPUs of `choice` given how many this process sees (`visible`; `cuda_env` is the value of
/// `CUDA_VISIBLE_DEVICES`, named in errors): `None` on the CPU. Each must be visible, and none
/// listed twice.
pub fn local_gpus(
    choice: &GpuChoice,
    visible: usize,
    cuda_env: Option<&str>,
) -> Result<Option<Vec<usize>>> {
    if *choice == GpuChoice::Cpu {
        return Ok(None);
    }
    if visible == 0 {
        let env = cuda_env.map_or_else(|| "is not set".to_string(), |v| format!("is `{v}`"));
        return Err(placement(format!(
            "no GPU is visible to this process (the CUDA driver finds none; \
             {CUDA_VISIBLE_DEVICES} {env}); check that `nvidia-smi` lists the GPUs, unset or fix \
             {CUDA_VISIBLE_DEVICES} (a comma-separated list of GPU indices), or use --device cpu"
        )));
    }
    let gpus = match choice {
        GpuChoice::Listed(list) => list.clone(),
        GpuChoice::One(n) => vec![*n],
        _ => (0..visible).collect(),
    };
    for (i, &g) in gpus.iter().enumerate() {
        if g >= visible {
            return Err(placement(format!(
                "GPU {g} is not visible: this process sees {visible} GPU{} (cuda:0 to cuda:{}){}",
                if visible == 1 { "" } else { "s" },
                visible - 1,
                cuda_env
                    .map(|v| format!(
                        "; {CUDA_VISIBLE_DEVICES}=`{v}` renumbers the GPUs it lists from 0"
                    ))
                    .unwrap_or_default()
            )));
        }
        if gpus[..i].contains(&g) {
            return Err(placement(format!("--gpus lists GPU {g} twice")));
        }
    }
    Ok(Some(gpus))
}

/// Jobs at once: `jobs` (capped by the GPU slots), else every GPU slot, else cores / threads
/// per job; at least 1.
pub fn parallel_jobs(
    jobs: Option<usize>,
    threads_per_job: usize,
    gpus: Option<&GpuOptions>,
) -> usize {
    match gpus {
        Some(g) => {
            let capacity = g.capacity();
            if let Some(n) = jobs.filter(|&n| n > capacity) {
                tracing::warn!(
                    "--jobs {n} is more than the {capacity} GPU slot(s) (GPUs × --jobs-per-gpu); \
                     running {capacity} at a time (more jobs per GPU with --jobs-per-gpu)"
                );
            }
            jobs.map_or(capacity, |n| n.min(capacity))
        }
        None => jobs.unwrap_or_else(|| default_jobs(threads_per_job)),
    }
    .max(1)
}

/// TF32 is a mode of NVIDIA GPUs: a CPU sweep with `precision = "tf32"` jobs fails here,
/// naming the tasks, instead of once in every job.
pub fn refuse_tf32_on_cpu(jobs: &[SweepJob], on_gpu: bool) -> Result<()> {
    if on_gpu {
        return Ok(());
    }
    let mut tasks: Vec<&str> = jobs
        .iter()
        .filter_map(SweepJob::finetune)
        .filter(|j| j.spec.hyper.precision == Precision::Tf32)
        .map(|j| j.spec.task.name.as_str())
        .collect();
    tasks.dedup();
    if tasks.is_empty() {
        return Ok(());
    }
    Err(placement(format!(
        "precision \"tf32\" (task {}) needs a CUDA GPU: TF32 is a tensor-core mode of NVIDIA \
         GPUs; run with --device cuda, or set precision = \"fp32\" (or \"bf16\") for the CPU",
        tasks.join(", ")
    )))
}

/// A GPU job on Slurm (`cuda`: the GPU index its jobs use) needs a GPU in its allocation,
/// which Slurm numbers from 0: warns when neither the `[slurm]` table nor the options ask for
/// one, or when the index is not 0.
pub fn warn_gpu_without_gres(cuda: Option<usize>, config: &SlurmConfig) {
    let Some(n) = cuda else {
        return;
    };
    let asks_for_gpu = config.gres.as_deref().is_some_and(|g| g.contains("gpu"))
        || config.extra_args.iter().any(|a| a.contains("gpu"));
    if !asks_for_gpu {
        tracing::warn!(
            "--device cuda:{n} but no GPU is requested from Slurm; add `gres = \"gpu:1\"` to the \
             manifest's [slurm] table or pass --gres gpu:1"
        );
    }
    if n > 0 {
        tracing::warn!(
            "--device cuda:{n}: Slurm numbers the GPUs of each job's allocation from 0, so with \
             one GPU per job use --device cuda"
        );
    }
}

/// A local sweep must not write the job directories that Slurm jobs of the same results
/// directory `out` are writing: refuses while any is queued or running there (a Slurm that
/// cannot be asked is a warning, not a refusal).
pub fn refuse_while_in_slurm(out: &Path) -> Result<()> {
    let view = match slurm_view(out, &SlurmCli, false) {
        Ok(view) => view,
        Err(e) => {
            tracing::warn!("cannot check this sweep's Slurm jobs ({e})");
            return Ok(());
        }
    };
    let active = view
        .jobs
        .values()
        .filter(|j| j.class() == Some(StateClass::Active))
        .count();
    if active > 0 {
        return Err(placement(format!(
            "{active} jobs of this sweep are queued or running in Slurm (arrays {}) and write to \
             {}; wait for them (`multiberts status`), or cancel them with scancel, before a local \
             sweep",
            view.active_arrays()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", "),
            out.display()
        )));
    }
    Ok(())
}

/// The arguments of the Slurm collect job: `collect [<manifest>] --results-dir <dir> [--rule
/// <rule>]`, paths as given (make them absolute first).
pub fn collect_args(
    manifest: Option<&Path>,
    results_dir: &Path,
    rule: Option<&str>,
) -> Vec<OsString> {
    let mut c: Vec<OsString> = vec!["collect".into()];
    if let Some(m) = manifest {
        c.push(m.into());
    }
    c.push("--results-dir".into());
    c.push(results_dir.into());
    if let Some(rule) = rule {
        c.push("--rule".into());
        c.push(rule.into());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_options_are_checked_against_backend_and_device() {
        use GpuChoice::*;
        let check = |device, listed: Option<&[usize]>, per_gpu, slurm| {
            gpu_choice(device, listed, per_gpu, slurm).map_err(|e| e.to_string())
        };
        assert_eq!(check(Cpu, None, None, false), Ok(Cpu));
        assert_eq!(check(Every, None, None, false), Ok(Every));
        assert_eq!(check(One(2), None, None, false), Ok(One(2)));
        assert_eq!(
            check(Cpu, Some(&[0, 2]), None, false),
            Ok(Listed(vec![0, 2]))
        );
        assert_eq!(
            check(Every, Some(&[1]), Some(2), false),
            Ok(Listed(vec![1]))
        );
        assert_eq!(check(Every, None, None, true), Ok(Every));
        for (device, listed, per_gpu, slurm, want) in [
            (Every, None, Some(0), false, "at least 1"),
            (Cpu, None, Some(2), false, "--jobs-per-gpu needs GPUs"),
            (One(1), Some(&[0][..]), None, false, "both choose GPUs"),
            (Cpu, Some(&[][..]), None, false, "at least one GPU index"),
            (Cpu, Some(&[0][..]), None, true, "for the local backend"),
            (Every, None, Some(2), true, "for the local backend"),
        ] {
            let err = check(device, listed, per_gpu, slurm).unwrap_err();
            assert!(err.contains(want), "{listed:?} {per_gpu:?} {slurm}: {err}");
        }
    }

    #[test]
    fn local_gpus_are_every_visible_one_the_listed_ones_or_one() {
        let gpus = |c: GpuChoice, visible| local_gpus(&c, visible, None).map_err(|e| e.to_string());
        assert_eq!(gpus(GpuChoice::Cpu, 4), Ok(None));
        assert_eq!(gpus(GpuChoice::Cpu, 0), Ok(None));
        assert_eq!(gpus(GpuChoice::Every, 3), Ok(Some(vec![0, 1, 2])));
        assert_eq!(gpus(GpuChoice::One(1), 3), Ok(Some(vec![1])));
        assert_eq!(gpus(GpuChoice::Listed(vec![2, 0]), 3), Ok(Some(vec![2, 0])));
        let none = gpus(GpuChoice::Every, 0).unwrap_err();
        assert!(
            none.contains("no GPU is visible")
                && none.contains("CUDA_VISIBLE_DEVICES")
                && none.contains("--device cpu"),
            "{none}"
        );
        let far = gpus(GpuChoice::One(3), 2).unwrap_err();
        assert!(
            far.contains("GPU 3 is not visible") && far.contains("cuda:1"),
            "{far}"
        );
        let renumbered = local_gpus(&GpuChoice::One(3), 2, Some("4,5")).unwrap_err();
        assert!(renumbered.to_string().contains("renumbers"), "{renumbered}");
        let twice = gpus(GpuChoice::Listed(vec![1, 1]), 2).unwrap_err();
        assert!(twice.contains("GPU 1 twice"), "{twice}");
    }

    #[test]
    fn parallel_jobs_are_capped_by_the_gpu_slots() {
        let two = GpuOptions {
            gpus: vec![0, 1],
            per_gpu: 2,
        };
        assert_eq!(parallel_jobs(None, 1, Some(&two)), 4);
        assert_eq!(parallel_jobs(Some(9), 1, Some(&two)), 4);
        assert_eq!(parallel_jobs(Some(3), 1, Some(&two)), 3);
        assert_eq!(parallel_jobs(Some(5), 1, None), 5);
        assert!(parallel_jobs(None, 1, None) >= 1);
    }

    #[test]
    fn the_collect_job_gets_the_manifest_results_and_rule() {
        let args = collect_args(Some(Path::new("/m.toml")), Path::new("/r"), Some("best-lr"));
        assert_eq!(
            args,
            [
                "collect",
                "/m.toml",
                "--results-dir",
                "/r",
                "--rule",
                "best-lr"
            ]
            .map(OsString::from)
        );
        assert_eq!(collect_args(None, Path::new("/r"), None).len(), 3);
    }
}
