//! Task specs (`tasks/*.toml`) and dataset readers that turn data files into typed examples.
