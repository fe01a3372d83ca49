//! One module per verb. Each defines its clap arguments and a `run` function.

pub mod bootstrap;
pub mod data;
pub mod encode;
pub mod plan;
pub mod tasks;
