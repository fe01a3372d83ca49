//! Paper tables (Markdown, LaTeX, CSV) and figures (SVG) regenerated from stored results.
