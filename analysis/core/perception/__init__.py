"""Reader-study perception statistics, pure (no Django): data, models, effects, agreement, figures, text."""
