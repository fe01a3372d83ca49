//! The sbatch scripts of a submission: a job array whose task `i` runs `multiberts run-job` on
//! the job directory of line `offset + i` of the submission's job list, and a collect job.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::Path;

use multiberts_manifest::SlurmConfig;

use crate::child::{ChildSettings, RUN_JOB, SETTINGS_FLAG};

/// Exit status of `run-job` when it stopped on USR2 with its state saved (the runner's
/// `STOPPED_EXIT_CODE`; repeated here because the sweep crate does not link the runner).
pub const STOPPED_EXIT_CODE: u8 = 75;

/// Quotes a word for a POSIX shell (unchanged when it needs no quotes).
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn quote_os(word: &OsString) -> String {
    shell_quote(&word.to_string_lossy())
}

/// What both scripts need to know.
#[derive(Debug, Clone)]
pub struct ScriptContext<'a> {
    /// The sweep's name (job names).
    pub name: &'a str,
    /// The submission's label (`001`), for the header comment.
    pub submission: &'a str,
    /// The working directory jobs start in (`--chdir`).
    pub workdir: &'a Path,
    /// `results/<name>/logs/slurm`.
    pub log_dir: &'a Path,
    /// Resources and options.
    pub config: &'a SlurmConfig,
    /// The `multiberts` executable.
    pub exe: &'a Path,
}

fn directive(out: &mut String, option: &str) {
    let _ = writeln!(out, "#SBATCH {option}");
}

fn path_str(p: &Path) -> String {
    shell_quote(&p.to_string_lossy())
}

/// The `#SBATCH` lines shared by both scripts: account, partition, qos, time, extra args.
fn common_directives(out: &mut String, ctx: &ScriptContext<'_>) {
    let c = ctx.config;
    directive(out, &format!("--chdir={}", path_str(ctx.workdir)));
    for (flag, value) in [
        ("partition", &c.partition),
        ("account", &c.account),
        ("qos", &c.qos),
        ("time", &c.time),
    ] {
        if let Some(v) = value {
            directive(out, &format!("--{flag}={v}"));
        }
    }
}

fn setup_lines(out: &mut String, ctx: &ScriptContext<'_>) {
    if !ctx.config.setup.is_empty() {
        out.push_str("\n# Setup lines from the manifest's [slurm] table.\n");
        for line in &ctx.config.setup {
            out.push_str(line);
            out.push('\n');
        }
    }
}

/// The array script. Task `i` runs the job on line `$1 + i + 1` of `jobs_file` (its id) and
/// `dirs_file` (its directory, holding the `job.json` the sweep wrote); `$1`, the chunk's
/// offset, lets one script serve arrays split at `MaxArraySize`.
pub fn array_script(
    ctx: &ScriptContext<'_>,
    jobs_file: &Path,
    dirs_file: &Path,
    settings: &ChildSettings,
) -> String {
    let c = ctx.config;
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(
        s,
        "# multiberts sweep `{}`, Slurm submission {}: array task i runs `multiberts run-job`\n\
         # for line (offset + i + 1) of the job list; the offset is this script's first argument.",
        ctx.name, ctx.submission,
    );
    directive(
        &mut s,
        &format!(
            "--job-name={}",
            shell_quote(&format!("multiberts-{}", ctx.name))
        ),
    );
    common_directives(&mut s, ctx);
    directive(
        &mut s,
        &format!("--output={}", path_str(&ctx.log_dir.join("%A_%a.out"))),
    );
    directive(
        &mut s,
        &format!("--error={}", path_str(&ctx.log_dir.join("%A_%a.err"))),
    );
    directive(&mut s, "--open-mode=append");
    directive(&mut s, "--requeue");
    directive(&mut s, &format!("--signal=B:USR2@{}", c.signal_seconds));
    if let Some(n) = c.cpus_per_task {
        directive(&mut s, &format!("--cpus-per-task={n}"));
    }
    if let Some(m) = &c.mem {
        directive(&mut s, &format!("--mem={m}"));
    }
    if let Some(g) = &c.gres {
        directive(&mut s, &format!("--gres={g}"));
    }
    for a in &c.extra_args {
        directive(&mut s, a);
    }
    let jobs = path_str(jobs_file);
    let dirs = path_str(dirs_file);
    let _ = write!(
        s,
        r#"
jobs_file={jobs}
dirs_file={dirs}
offset="${{1:-0}}"
line=$((SLURM_ARRAY_TASK_ID + offset + 1))
MULTIBERTS_JOB="$(sed -n "${{line}}p" "$jobs_file")"
job_dir="$(sed -n "${{line}}p" "$dirs_file")"
if [ -z "$MULTIBERTS_JOB" ] || [ -z "$job_dir" ]; then
  echo "multiberts: no job on line $line of $jobs_file and $dirs_file" >&2
  exit 2
fi
export MULTIBERTS_JOB
echo "multiberts: job $MULTIBERTS_JOB as Slurm job $SLURM_JOB_ID (array task ${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}, restart ${{SLURM_RESTART_COUNT:-0}}) on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
"#
    );
    setup_lines(&mut s, ctx);
    let cmd = format!(
        "{} {RUN_JOB} \"$job_dir\" {SETTINGS_FLAG} {}",
        path_str(ctx.exe),
        shell_quote(&settings.to_json())
    );
    let _ = write!(
        s,
        r#"
# The job runs in the background so that the USR2 trap fires while it trains: Slurm sends USR2
# {secs} s before the time limit (or a preemption), the job saves its resume state and stops at
# the next step with status {code}, and this script requeues it; the next run resumes.
stop=0
trap 'stop=1; kill -USR2 "$pid" 2>/dev/null' USR2
{cmd} --threads "${{SLURM_CPUS_PER_TASK:-1}}" &
pid=$!
while :; do
  wait "$pid"
  status=$?
  # A trapped signal interrupts `wait` (status > 128) while the job goes on: wait again.
  if [ "$status" -gt 128 ] && kill -0 "$pid" 2>/dev/null; then continue; fi
  break
done
if [ "$status" = {code} ] || {{ [ "$stop" = 1 ] && [ "$status" -gt 128 ]; }}; then
  echo "multiberts: job $MULTIBERTS_JOB stopped on USR2 (status $status); requeueing Slurm job $SLURM_JOB_ID"
  if scontrol requeue "$SLURM_JOB_ID"; then
    exit 0
  fi
  echo "multiberts: scontrol requeue $SLURM_JOB_ID failed; resubmit with --resubmit-failed" >&2
fi
exit "$status"
"#,
        secs = c.signal_seconds,
        code = STOPPED_EXIT_CODE,
    );
    s
}

/// The collect script: consolidates the done jobs and writes the report once the arrays end.
pub fn collect_script(ctx: &ScriptContext<'_>, collect_args: &[OsString]) -> String {
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(
        s,
        "# multiberts sweep `{}`, Slurm submission {}: collect the predictions and write the\n\
         # report once every array task has ended (submitted with --dependency=afterany:...).",
        ctx.name, ctx.submission
    );
    directive(
        &mut s,
        &format!(
            "--job-name={}",
            shell_quote(&format!("multiberts-{}-collect", ctx.name))
        ),
    );
    common_directives(&mut s, ctx);
    directive(
        &mut s,
        &format!("--output={}", path_str(&ctx.log_dir.join("collect_%j.out"))),
    );
    directive(
        &mut s,
        &format!("--error={}", path_str(&ctx.log_dir.join("collect_%j.err"))),
    );
    for a in &ctx.config.extra_args {
        directive(&mut s, a);
    }
    setup_lines(&mut s, ctx);
    let mut cmd = format!("\nexec {}", path_str(ctx.exe));
    for a in collect_args {
        cmd.push(' ');
        cmd.push_str(&quote_os(a));
    }
    s.push_str(&cmd);
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/a/b-c_d.toml"), "/a/b-c_d.toml");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn array_script_has_resources_signal_and_payload() {
        let config = SlurmConfig {
            partition: Some("gpu".into()),
            time: Some("01:00:00".into()),
            cpus_per_task: Some(4),
            gres: Some("gpu:1".into()),
            extra_args: vec!["--constraint=a100".into()],
            setup: vec!["module load cuda".into()],
            signal_seconds: 300,
            ..SlurmConfig::default()
        };
        let ctx = ScriptContext {
            name: "demo",
            submission: "001",
            workdir: Path::new("/work dir"),
            log_dir: Path::new("/r/demo/logs/slurm"),
            config: &config,
            exe: Path::new("/bin/multiberts"),
        };
        let settings = ChildSettings {
            device: "cuda:0".into(),
            ..ChildSettings::default()
        };
        let s = array_script(
            &ctx,
            Path::new("/r/demo/slurm/001/jobs.txt"),
            Path::new("/r/demo/slurm/001/job-dirs.txt"),
            &settings,
        );
        for needle in [
            "#SBATCH --chdir='/work dir'\n",
            "#SBATCH --partition=gpu\n",
            "#SBATCH --time=01:00:00\n",
            "#SBATCH --output=/r/demo/logs/slurm/%A_%a.out\n",
            "#SBATCH --open-mode=append\n",
            "#SBATCH --requeue\n",
            "#SBATCH --signal=B:USR2@300\n",
            "#SBATCH --cpus-per-task=4\n",
            "#SBATCH --gres=gpu:1\n",
            "#SBATCH --constraint=a100\n",
            "module load cuda\n",
            "dirs_file=/r/demo/slurm/001/job-dirs.txt\n",
            "/bin/multiberts run-job \"$job_dir\" --settings '{\"checkpoint_every\":0,\"checkpoint_minutes\":10,\"keep_state\":false,\"device\":\"cuda:0\"}' --threads",
            "scontrol requeue \"$SLURM_JOB_ID\"",
            "[ \"$status\" = 75 ]",
        ] {
            assert!(s.contains(needle), "{needle:?} missing from:\n{s}");
        }
        // Directives must come before the first command, or sbatch ignores them.
        let last_directive = s.rfind("#SBATCH").unwrap();
        let first_command = s.find("jobs_file=").unwrap();
        assert!(last_directive < first_command);
        let c = collect_script(&ctx, &["collect".into()]);
        assert!(c.contains("exec /bin/multiberts collect\n"), "{c}");
        assert!(!c.contains("--gres"), "the collect job needs no GPU:\n{c}");
    }
}
