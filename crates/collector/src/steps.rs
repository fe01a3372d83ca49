//! The unit of the pre-training `step` column.

/// What the `step` column of a manifest's predictions counts: thousands (the released
/// MultiBERTs' `step_{step}k`, every hub or path checkpoint) or the optimizer steps of the
/// manifest's own `pretrain` runs. Decided once from the manifest and passed to consolidation
/// (the learning-rate groups' names) and to every figure (axis names and tick labels).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepUnit {
    /// Thousands of steps (`20` is step 20k).
    #[default]
    Thousands,
    /// Optimizer steps (`20` is step 20).
    Optimizer,
}

impl StepUnit {
    /// The x axis' name of a figure over steps.
    pub fn axis(self) -> &'static str {
        match self {
            StepUnit::Thousands => "pre-training step (thousands)",
            StepUnit::Optimizer => "pre-training step (optimizer steps)",
        }
    }

    /// A step as a tick label: `20k`, `2M` for thousands; the plain number for optimizer steps.
    pub fn tick(self, step: i64) -> String {
        match self {
            StepUnit::Thousands => crate::upstream::format_steps(step),
            StepUnit::Optimizer => step.to_string(),
        }
    }

    /// A step as a run selector writes it: `20k` (thousands, as `step=20k` selects the hub's
    /// `step_20k`) or the plain number of optimizer steps (`step=300`).
    pub fn selector(self, step: i64) -> String {
        match self {
            StepUnit::Thousands => format!("{step}k"),
            StepUnit::Optimizer => step.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_written_in_their_unit() {
        assert_eq!(StepUnit::Thousands.selector(20), "20k");
        assert_eq!(StepUnit::Optimizer.selector(20), "20");
        assert_eq!(StepUnit::Thousands.tick(2000), "2M");
        assert_eq!(StepUnit::Optimizer.tick(2000), "2000");
    }
}
