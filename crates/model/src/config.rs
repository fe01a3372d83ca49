//! `BertConfig`: the shape and hyper-parameters of a BERT encoder, read from a Hugging Face
//! `config.json` (unknown keys are tolerated: HF configs carry dozens we do not use).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Errors from reading or validating a `config.json`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read BERT config {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid JSON or misses a required key.
    #[error("{path}:{line}:{column}: invalid BERT config: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What serde expected.
        message: String,
    },
    /// The values are inconsistent or unsupported.
    #[error("{origin}: invalid BERT config: {message}")]
    Invalid {
        /// The file (or "preset NAME").
        origin: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// No preset has that name.
    #[error(
        "unknown model size `{0}`; expected one of tiny, mini, small, base, or a shape \
         L<layers>-H<hidden> such as L2-H128 (hidden a multiple of 64)"
    )]
    UnknownPreset(String),
}

/// `L<layers>-H<hidden>` with 1..=48 layers and a hidden size that is a positive multiple of
/// 64 up to 4096 (the shapes of Google's BERT miniatures and beyond).
fn miniature_shape(name: &str) -> Option<(usize, usize)> {
    let (l, h) = name.strip_prefix('L')?.split_once("-H")?;
    let (layers, hidden): (usize, usize) = (l.parse().ok()?, h.parse().ok()?);
    let ok = (1..=48).contains(&layers) && hidden % 64 == 0 && (64..=4096).contains(&hidden);
    ok.then_some((layers, hidden))
}

fn default_hidden_act() -> String {
    "gelu".to_owned()
}
fn default_dropout() -> f64 {
    0.1
}
fn default_type_vocab() -> usize {
    2
}
fn default_init_range() -> f64 {
    0.02
}
fn default_ln_eps() -> f64 {
    1e-12
}
fn default_max_pos() -> usize {
    512
}
fn default_position_embedding_type() -> String {
    "absolute".to_owned()
}

/// The configuration of a BERT encoder, with Hugging Face key names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    /// Rows of the word-embedding matrix.
    pub vocab_size: usize,
    /// Width H of every hidden state.
    pub hidden_size: usize,
    /// Number of transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; must divide `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Activation of the feed-forward layer; only the exact (erf) `gelu` is supported.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    /// Dropout on embeddings and residual branches (train mode only).
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    /// Dropout on attention probabilities (train mode only).
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    /// Longest sequence the position embeddings cover.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Number of token-type (segment) ids.
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// Standard deviation of the N(0, σ) weight initialisation.
    #[serde(default = "default_init_range")]
    pub initializer_range: f64,
    /// Epsilon inside every LayerNorm.
    #[serde(default = "default_ln_eps")]
    pub layer_norm_eps: f64,
    /// Id of `[PAD]`; its word-embedding row is zero and gets no gradient.
    #[serde(default)]
    pub pad_token_id: usize,
    /// Dropout before a classifier head; `None` means `hidden_dropout_prob` (as in HF).
    #[serde(default)]
    pub classifier_dropout: Option<f64>,
    /// Only `absolute` is supported.
    #[serde(default = "default_position_embedding_type")]
    pub position_embedding_type: String,
}

impl BertConfig {
    /// Reads and validates a `config.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json_str(&text, path)
    }

    /// Parses and validates config JSON; `path` is only used in error messages.
    pub fn from_json_str(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Self = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        config.validate(&path.display().to_string())?;
        Ok(config)
    }

    /// A named random-init size: `tiny` (the bert-tiny fixture shape: 2 layers × 32, 2 heads),
    /// `mini` (4 × 256), `small` (4 × 512) or `base` (12 × 768), or any shape of Google's BERT
    /// miniatures written `L<layers>-H<hidden>` (e.g. `L2-H128`: hidden a multiple of 64, one
    /// head per 64, feed-forward 4 × hidden, 512 positions); all with the uncased BERT vocab.
    pub fn preset(name: &str) -> Result<Self, ConfigError> {
        let (layers, hidden, heads, inter, max_pos) = match name {
            "tiny" => (2, 32, 2, 64, 64),
            "mini" => (4, 256, 4, 1024, 512),
            "small" => (4, 512, 8, 2048, 512),
            "base" => (12, 768, 12, 3072, 512),
            other => match miniature_shape(other) {
                Some((layers, hidden)) => (layers, hidden, hidden / 64, 4 * hidden, 512),
                None => return Err(ConfigError::UnknownPreset(other.to_owned())),
            },
        };
        Ok(Self::with_shape(layers, hidden, heads, inter, max_pos))
    }

    /// A config with the given shape and BERT defaults for everything else.
    pub fn with_shape(
        num_hidden_layers: usize,
        hidden_size: usize,
        num_attention_heads: usize,
        intermediate_size: usize,
        max_position_embeddings: usize,
    ) -> Self {
        Self {
            vocab_size: 30522,
            hidden_size,
            num_hidden_layers,
            num_attention_heads,
            intermediate_size,
            hidden_act: default_hidden_act(),
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
            max_position_embeddings,
            type_vocab_size: 2,
            initializer_range: 0.02,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            classifier_dropout: None,
            position_embedding_type: default_position_embedding_type(),
        }
    }

    /// Checks that the values describe an encoder we can build.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            origin: origin.to_owned(),
            message,
        };
        for (key, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
        ] {
            if v == 0 {
                return Err(invalid(format!("`{key}` must be positive, got 0")));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(invalid(format!(
                "`hidden_size` ({}) must be a multiple of `num_attention_heads` ({})",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if self.hidden_act != "gelu" {
            return Err(invalid(format!(
                "`hidden_act` = {:?} is not supported; expected \"gelu\" (exact erf GELU)",
                self.hidden_act
            )));
        }
        if self.position_embedding_type != "absolute" {
            return Err(invalid(format!(
                "`position_embedding_type` = {:?} is not supported; expected \"absolute\"",
                self.position_embedding_type
            )));
        }
        for (key, p) in [
            ("hidden_dropout_prob", self.hidden_dropout_prob),
            (
                "attention_probs_dropout_prob",
                self.attention_probs_dropout_prob,
            ),
            ("classifier_dropout", self.classifier_dropout.unwrap_or(0.0)),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(invalid(format!("`{key}` must be in [0, 1), got {p}")));
            }
        }
        if self.pad_token_id >= self.vocab_size {
            return Err(invalid(format!(
                "`pad_token_id` ({}) must be below `vocab_size` ({})",
                self.pad_token_id, self.vocab_size
            )));
        }
        if self.layer_norm_eps.is_nan()
            || self.layer_norm_eps <= 0.0
            || self.initializer_range.is_nan()
            || self.initializer_range < 0.0
        {
            return Err(invalid(
                "`layer_norm_eps` must be positive and `initializer_range` non-negative".into(),
            ));
        }
        Ok(())
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Dropout before a classification head (HF: `classifier_dropout` or the hidden dropout).
    pub fn head_dropout(&self) -> f64 {
        self.classifier_dropout.unwrap_or(self.hidden_dropout_prob)
    }

    /// The config as HF-style pretty JSON (for writing generated checkpoints).
    pub fn to_json_pretty(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("model_type".into(), "bert".into());
            map.insert("architectures".into(), serde_json::json!(["BertModel"]));
        }
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/bert-tiny")
            .join(rel)
    }

    #[test]
    fn reads_multiberts_and_transformers5_configs() {
        for rel in ["config.json", "headless/config.json"] {
            let c = BertConfig::from_file(fixture(rel)).unwrap();
            assert_eq!(c, BertConfig::preset("tiny").unwrap(), "{rel}");
            assert_eq!(c.head_dim(), 16);
        }
    }

    #[test]
    fn errors_name_file_line_and_problem() {
        let p = Path::new("x/config.json");
        let err = BertConfig::from_json_str("{\n  \"vocab_size\": \"many\"\n}", p).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("x/config.json:2:"), "{msg}");
        let err = BertConfig::from_json_str(
            r#"{"vocab_size": 10, "hidden_size": 30, "num_hidden_layers": 1,
                "num_attention_heads": 4, "intermediate_size": 8}"#,
            p,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("multiple of `num_attention_heads`")
        );
        let err = BertConfig::from_json_str(
            r#"{"vocab_size": 10, "hidden_size": 32, "num_hidden_layers": 1,
                "num_attention_heads": 4, "intermediate_size": 8, "hidden_act": "relu"}"#,
            p,
        )
        .unwrap_err();
        assert!(err.to_string().contains("hidden_act"));
        assert!(matches!(
            BertConfig::preset("huge"),
            Err(ConfigError::UnknownPreset(_))
        ));
    }

    #[test]
    fn miniature_shapes_as_google_names_them() {
        let c = BertConfig::preset("L2-H128").unwrap();
        assert_eq!(
            (
                c.num_hidden_layers,
                c.hidden_size,
                c.num_attention_heads,
                c.intermediate_size
            ),
            (2, 128, 2, 512)
        );
        assert_eq!(
            BertConfig::preset("L12-H768").unwrap().num_attention_heads,
            12
        );
        for bad in ["L2-H100", "L0-H128", "L2H128", "L2-H0", "L99-H64"] {
            let err = BertConfig::preset(bad).unwrap_err().to_string();
            assert!(err.contains("L<layers>-H<hidden>"), "{bad}: {err}");
        }
    }

    #[test]
    fn generated_json_round_trips() {
        let c = BertConfig::preset("mini").unwrap();
        let back = BertConfig::from_json_str(&c.to_json_pretty(), Path::new("gen")).unwrap();
        assert_eq!(c, back);
    }
}
