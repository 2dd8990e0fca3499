"""Pure helpers every layer may use (no Django, no torch): atomic files, CSV neutralising, progress, sparsity."""
