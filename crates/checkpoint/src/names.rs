//! Normalisation of checkpoint tensor names to Hugging Face `BertModel` names.

/// Maps a tensor name found in a checkpoint to its `BertModel` name, or `None` for tensors
/// that are dropped on purpose.
///
/// * a leading `bert.` is removed (`BertForPreTraining` / `BertForSequenceClassification`
///   files carry it; `BertModel` files do not);
/// * TF-era LayerNorm names `gamma`/`beta` become `weight`/`bias`;
/// * the pre-training heads `cls.*` and the `embeddings.position_ids` /
///   `embeddings.token_type_ids` buffers (constants, not parameters) are dropped.
///
/// Task heads such as `classifier.*` are kept so that fine-tuned checkpoints round-trip.
pub fn normalize_name(name: &str) -> Option<String> {
    let name = name.strip_prefix("bert.").unwrap_or(name);
    if name.starts_with("cls.")
        || name == "embeddings.position_ids"
        || name == "embeddings.token_type_ids"
    {
        return None;
    }
    let renamed = match name.rsplit_once('.') {
        Some((parent, "gamma")) => format!("{parent}.weight"),
        Some((parent, "beta")) => format!("{parent}.bias"),
        _ => name.to_string(),
    };
    Some(renamed)
}
