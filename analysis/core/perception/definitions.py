"""What every published number of the perception statistics estimates (shown on the page and in
summary.json): conditional or marginal, latent or rating scale, and how its CI and p are made."""

DEFINITIONS = {
    "published": "one effect per question, the one the sentences quote: the odds ratio of PIE vs non-PIE in "
    "a proportional-odds (Likert) or logistic (yes/no) model with reader fixed effects. It estimates the PIE "
    "odds ratio on the latent logistic scale of the answers, conditional on the reader and averaged over "
    "cases (a marginal-over-cases OR: with case-to-case variation it is nearer 1 than the case-conditional "
    "OR of a random-intercept model). OR > 1 = PIEs rated higher / said 'yes' more. CI and p: Wald, two-way "
    "cluster-robust by reader and case, Student t with readers - 1 df; the default because it kept 95% "
    "coverage in the planted-effect calibration also when readers differ in their PIE effect (reader SD 1 on "
    "the latent scale), where the case-clustered interval did not. Its price is power with few readers: "
    "for planted ORs of 2.2-2.5 it reached 66-75% with 6 readers x 40 cases each and 26-27% with 3 readers x 60 "
    "cases (case-clustered: 89-93% and 74-76%); sentences of 2-3-reader studies say so. "
    "'not estimable (separation)' when the "
    "likelihood keeps rising as the OR goes to 0 or infinity (e.g. every PIE answer is 'yes').",
    "holm": "Holm correction across questions within each family (each paper test; each model). In the "
    "published family every question counts, a not-estimable one as p = 1, so it never moves the others.",
    "paper_exact": "pooled answers, yes=1/no=0; sample SD (ddof=1); Welch t, Mann-Whitney U (two-sided, "
    "continuity correction), Kruskal-Wallis as in the paper's survey script; answers treated as independent "
    "(their p-values are not valid for clustered answers; shown to compare with the paper).",
    "effect_sizes": "rating-scale, pooled effects: difference in mean answers (marginal over readers and "
    "cases), Cliff's delta, and the pooled 2x2 odds ratio (marginal: no reader or case term). Percentile "
    "CIs from a two-way cluster bootstrap (readers, and cases within PIE group, resampled with "
    "replacement); conservative (too wide) in the calibration.",
    "ordinal": "the published odds ratio with extra columns: ci_*_case and p_case (Wald, clustered by case "
    "only: valid when readers share the PIE effect, too narrow when they differ) and, in the full stage, "
    "ci_*_boot (two-way cluster bootstrap percentile CI, warm-started refits; conservative, type-I error "
    "0-2%). Readers who gave one answer throughout carry no information under reader fixed effects and are "
    "left out (warnings names them).",
    "mixed_linear": "linear mixed model, REML (lme4's profiled criterion), crossed random intercepts for "
    "reader and case: estimate = PIE difference in mean rating on the rating scale (1-K, or yes=1/no=0), "
    "conditional = marginal for a linear model. It assumes every reader has the same PIE effect; when readers "
    "differ its CI is too narrow. var_reader_ci is an approximate chi-square interval with (readers - 1) "
    "degrees of freedom. A singular system is 'not estimable' with the reason.",
    "agreement": "anchor cases = read by >= 2 readers; Krippendorff alpha nominal (yes/no) / ordinal "
    "(Likert); Fleiss' kappa on the anchor cases read by the most readers; bias = mean offset from the "
    "case mean of all its readers. Intra-reader: hidden repeats, quadratic-weighted kappa for Likert.",
    "dose_response": "Spearman rho of case mean rating vs the case's PIE correlation (Fisher z CI, "
    "Bonett-Wright SE); slope of the correlation in the crossed linear mixed model (rating scale).",
}
