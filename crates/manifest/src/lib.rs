//! Sweep manifests: schema, validation with file:line:column errors, expansion into jobs.
