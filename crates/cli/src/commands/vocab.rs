//! `multiberts vocab`: train a WordPiece vocabulary on a corpus.

use std::path::PathBuf;

use anyhow::Context;

/// Train a WordPiece vocabulary (`vocab.txt`) on plain text, for `multiberts pretrain --vocab`.
///
/// BERT's normalisation (lower-cased unless `--cased`, accents stripped) and pre-tokenisation;
/// `[PAD] [UNK] [CLS] [SEP] [MASK]` first, then the other tokens in byte order. Train once and
/// keep the file: the trainer of the `tokenizers` crate breaks ties between equally frequent
/// merges in hash-map order (huggingface/tokenizers#1794), so a second training can differ in
/// a few rare tokens; runs that read one file are reproducible.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  \
    multiberts vocab --corpus target/corpus/miniature.txt --size 8000 --out target/corpus/vocab-8k.txt")]
pub struct VocabArgs {
    /// Corpus files (repeatable).
    #[arg(long, required = true, value_name = "FILE")]
    pub corpus: Vec<PathBuf>,
    /// The most tokens the vocabulary may have.
    #[arg(long, value_parser = super::at_least_one::<usize>)]
    pub size: usize,
    /// Where to write `vocab.txt`.
    #[arg(long)]
    pub out: PathBuf,
    /// Keep case (default: lower-case, as uncased BERT).
    #[arg(long)]
    pub cased: bool,
}

/// Runs `multiberts vocab`.
pub fn run(args: VocabArgs) -> anyhow::Result<()> {
    for file in &args.corpus {
        anyhow::ensure!(file.is_file(), "{}: no such corpus file", file.display());
    }
    let n =
        multiberts_model::vocab::train_wordpiece(&args.corpus, args.size, !args.cased, &args.out)
            .with_context(|| format!("training a vocabulary into {}", args.out.display()))?;
    println!("{}: {n} tokens", args.out.display());
    Ok(())
}
