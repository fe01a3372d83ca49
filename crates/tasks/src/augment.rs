//! Augmentations of a training split that a manifest's `[[tasks]]` entry may ask for
//! (`augment = "cda"`). The manifest parses the name into an [`Augmentation`]; the runner
//! applies it with [`Augmentation::apply`]; nothing else matches on the name.

use serde::{Deserialize, Serialize};

use crate::cda;
use crate::example::SplitData;

/// A transformation of the training split, applied after `max_train_examples` truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Augmentation {
    /// Counterfactual data augmentation: every example plus its gender-swapped twin
    /// ([`cda::augment`]).
    Cda,
}

impl Augmentation {
    /// Every augmentation, in the order error messages list them.
    pub const ALL: [Augmentation; 1] = [Augmentation::Cda];

    /// The manifest spelling (`cda`), also the default variant name of augmented runs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cda => "cda",
        }
    }

    /// Parses the manifest spelling (exact match).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Augments `split` in place. The split is renamed (`train+cda`) so that its cached
    /// features never mix with the plain split's.
    pub fn apply(self, split: &mut SplitData) {
        match self {
            Self::Cda => split.examples = cda::augment(&split.examples),
        }
        split.split = format!("{}+{}", split.split, self.name());
    }
}

impl std::fmt::Display for Augmentation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Augmentation;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for a in Augmentation::ALL {
            assert_eq!(Augmentation::parse(a.name()), Some(a));
        }
        assert_eq!(Augmentation::parse("CDA"), None);
        assert_eq!(Augmentation::parse("eda"), None);
    }
}
