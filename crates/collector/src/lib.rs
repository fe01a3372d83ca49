//! The results tree: atomic job outputs, DONE markers, the predictions Parquet schema,
//! consolidation per task, and export/import of the upstream MultiBERTs layouts.
