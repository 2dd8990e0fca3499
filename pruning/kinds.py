"""The names of pruning's job kinds (registered in PruningConfig.ready()): one constant each, so a typo is a
NameError at import, not a job no worker knows."""

EXPERIMENT = "experiment"
TRAIN = "train"
SWEEP = "sweep"
SELECT_PIES = "select_pies"
MAKE_SYNTHETIC = "make_synthetic"
METHOD_SWEEP = "method_sweep"
