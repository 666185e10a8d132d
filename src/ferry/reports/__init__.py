"""Reports: every verb writes HTML for people and JSON for machines under reports/<verb>/."""
