//! Stand-in Slurm commands shared by the Slurm tests (`mod common;` in a test file).

use std::path::{Path, PathBuf};

/// Writes an executable shell script.
pub fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// Stand-ins: `sbatch` logs its arguments and prints ids 100, 101, …; `squeue` prints
/// `squeue.txt`; `scontrol show config` says MaxArraySize = 3, `scontrol show job` prints
/// `scontrol.txt`.
pub fn fake_slurm(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let d = dir.display();
    script(
        &bin.join("sbatch"),
        &format!(
            "echo \"$@\" >> {d}/sbatch.log\nn=$(cat {d}/next 2>/dev/null || echo 100)\n\
             echo $((n + 1)) > {d}/next\necho \"$n\"\n"
        ),
    );
    script(
        &bin.join("squeue"),
        &format!("cat {d}/squeue.txt 2>/dev/null\n"),
    );
    script(
        &bin.join("scontrol"),
        &format!(
            "case \"$*\" in\n  'show config') echo 'MaxArraySize            = 3' ;;\n  \
             *'show job'*) cat {d}/scontrol.txt 2>/dev/null ;;\nesac\n"
        ),
    );
    script(
        &bin.join("sacct"),
        "echo 'Slurm accounting storage is disabled' >&2; exit 1\n",
    );
    bin
}

/// Makes the stand-ins of [`fake_slurm`] the first on `PATH`, for the sweep to find.
///
/// # Safety
/// Changes the environment: call it only while no other thread reads it (one test per binary).
pub unsafe fn fake_slurm_on_path(dir: &Path) {
    let bin = fake_slurm(dir);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // SAFETY: the caller's promise.
    unsafe { std::env::set_var("PATH", path) };
}

/// The argument lines `sbatch` was called with, in order.
pub fn sbatch_calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("sbatch.log"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}
