"""Field mapping: recipes, proposer, mapping.yaml, transforms and payload builders."""
