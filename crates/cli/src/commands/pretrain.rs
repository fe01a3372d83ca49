//! `multiberts pretrain`: masked-language-model pre-training of a BERT from scratch.

use std::path::PathBuf;

use anyhow::Context;

use multiberts_manifest::PretrainSettings;
use multiberts_manifest::pretrain as defaults;
use multiberts_pretrain::{PretrainOptions, pretrain};
use multiberts_runner::SaveSchedule;
use multiberts_runner::save_schedule::DEFAULT_CHECKPOINT_MINUTES;

/// Pre-train a BERT from scratch with BERT's masked-LM recipe (15 % of tokens chosen, 80/10/10
/// mask/random/keep), optionally with next-sentence prediction, and save Hugging Face
/// checkpoints (`step_<N>/`: config.json, model.safetensors with `bert.*` and `cls.*`,
/// vocab.txt) at the steps asked for.
///
/// The corpus is plain text: one sentence per line, a blank line between documents (the input
/// of BERT's `create_pretraining_data.py`). The seed sets the initialisation, the training
/// sequences, their order, the masks and dropout. A killed run resumes where its last resume
/// state was saved and ends with the same bytes as an uninterrupted one; a finished run
/// (`DONE` in its folder) is not run again, and is refused for other settings or changed files.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  \
    multiberts pretrain --corpus wiki.txt --vocab vocab.txt --config mini --seed 0 \\\n    \
    --steps 2000 --save-steps 0,100,200,500,1000,2000 --out runs/mini-seed_0")]
pub struct PretrainArgs {
    /// The run's folder (checkpoints, log.jsonl, resume state).
    #[arg(long)]
    pub out: PathBuf,
    /// Corpus files (repeatable).
    #[arg(long, required = true, value_name = "FILE")]
    pub corpus: Vec<PathBuf>,
    /// The WordPiece vocabulary (vocab.txt): bert-base-uncased's, or one trained on the corpus
    /// with `multiberts vocab`.
    #[arg(long, value_name = "FILE")]
    pub vocab: PathBuf,
    /// Keep case (for cased vocabularies; default: lower-case the text).
    #[arg(long)]
    pub cased: bool,
    /// Architecture: a size (tiny, mini, small, base, or L<layers>-H<hidden> as Google's BERT
    /// miniatures, e.g. L2-H128) or a config.json; a size's vocab_size is the vocabulary's.
    #[arg(long, default_value = "mini")]
    pub config: String,
    /// Seed of the initialisation, data order, masks and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Optimizer steps.
    #[arg(long, value_parser = super::at_least_one::<u64>)]
    pub steps: u64,
    /// Steps after which a checkpoint is saved (0: the initialisation).
    #[arg(long, value_delimiter = ',', value_name = "STEPS")]
    pub save_steps: Vec<u64>,
    /// Sequences per step.
    #[arg(long, default_value_t = defaults::DEFAULT_BATCH_SIZE, value_parser = super::at_least_one::<usize>)]
    pub batch_size: usize,
    /// Tokens per sequence, special tokens included.
    #[arg(long, default_value_t = defaults::DEFAULT_MAX_SEQ_LEN)]
    pub max_seq_len: usize,
    /// Peak learning rate (BERT: 1e-4).
    #[arg(long, default_value_t = defaults::DEFAULT_LEARNING_RATE)]
    pub learning_rate: f64,
    /// Warm-up steps (default: 1 % of the steps, BERT's 10k of 1M).
    #[arg(long)]
    pub warmup_steps: Option<u64>,
    /// Also train the next-sentence head (BERT did).
    #[arg(long)]
    pub next_sentence: bool,
    /// `cpu`, `cuda` or `cuda:N`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Also save the resume state every N steps.
    #[arg(long, value_parser = super::at_least_one::<u64>)]
    pub checkpoint_every: Option<u64>,
    /// Save the resume state every N minutes (0: only on a stop request or at
    /// `--checkpoint-every`).
    #[arg(long, default_value_t = DEFAULT_CHECKPOINT_MINUTES)]
    pub checkpoint_minutes: u64,
}

impl PretrainArgs {
    /// The run's settings, with the manifest's defaults where no flag sets them (as a
    /// manifest's `pretrain` checkpoints are built).
    fn settings(&self) -> PretrainSettings {
        PretrainSettings {
            config: self.config.clone(),
            corpus: self.corpus.clone(),
            vocab: self.vocab.clone(),
            cased: self.cased,
            steps: self.steps,
            save_steps: self.save_steps.clone(),
            batch_size: self.batch_size,
            max_seq_len: self.max_seq_len,
            learning_rate: self.learning_rate,
            warmup_steps: self
                .warmup_steps
                .unwrap_or_else(|| defaults::default_warmup_steps(self.steps)),
            weight_decay: defaults::DEFAULT_WEIGHT_DECAY,
            max_grad_norm: defaults::DEFAULT_MAX_GRAD_NORM,
            next_sentence: self.next_sentence,
        }
    }
}

/// Runs `multiberts pretrain`.
pub fn run(args: PretrainArgs) -> anyhow::Result<()> {
    multiberts_runner::process::prepare(None);
    let spec = multiberts_pretrain::spec_of_folder(&args.out, &args.settings(), args.seed)?;
    let device = multiberts_model::device::parse_device(&args.device)?;
    let options = PretrainOptions {
        device,
        save: SaveSchedule {
            steps: args.checkpoint_every.unwrap_or(0),
            minutes: args.checkpoint_minutes,
        },
        abort_after_step: multiberts_runner::abort_after_step()?,
    };
    let summary = pretrain(&spec, &args.out, &options)
        .with_context(|| format!("pre-training into {}", args.out.display()))?;
    print!("{}", summary.text(spec.steps));
    Ok(())
}
