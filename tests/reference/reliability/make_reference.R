# Reference values for scoring.reliability, computed with R's psych package (the established
# implementation). The tests read expected.json only: R is not a test dependency.
#
#   Rscript tests/reference/reliability/make_reference.R      (from the repository root)
#
# Data: likert8.csv (300 x 8, answers 0-4, empty cell = missing, item i6 mis-keyed), made by make_data.py.
# Four analyses, each on the data as entered ("raw") and with i6 reversed as 4 - i6 ("keyed"):
#   pairwise  psych::alpha(x)                    (default use = "pairwise")
#   listwise  psych::alpha(na.omit(x))           (complete cases only)
#   omega     psych::omega(x, nfactors = 1, fm = "minres", flip = FALSE, plot = FALSE)$omega.tot
#             on x (pairwise correlations) and on na.omit(x) (listwise)
#   pc1       psych::principal(x)$loadings       (the loadings behind alpha's "should be reversed" warning)
# and omega of one correlation matrix with a Heywood case ("heywood").
suppressPackageStartupMessages({
  library(psych)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference/reliability"

x_raw <- read.csv(file.path(here, "likert8.csv"), na.strings = "")
x_keyed <- x_raw
x_keyed$i6 <- 4 - x_keyed$i6

one_alpha <- function(x) {
  invisible(capture.output(a <- suppressWarnings(alpha(x))))  # alpha also cat()s its reversal advice
  tot <- a$total
  list(
    n_obs = nrow(x),
    n_items = ncol(x),
    raw_alpha = tot$raw_alpha,
    std_alpha = tot$std.alpha,
    average_r = tot$average_r,
    ase = tot$ase,
    feldt_lower = a$feldt$lower.ci[[1]],
    feldt_upper = a$feldt$upper.ci[[1]],
    duhachek_lower = tot$raw_alpha - 1.96 * tot$ase,
    duhachek_upper = tot$raw_alpha + 1.96 * tot$ase,
    items = list(
      item = colnames(x),
      n = unname(a$item.stats$n),
      mean = unname(a$item.stats$mean),
      sd = unname(a$item.stats$sd),
      r_drop = unname(a$item.stats$r.drop),
      alpha_if_deleted = unname(a$alpha.drop$raw_alpha),
      alpha_if_deleted_std = unname(a$alpha.drop$std.alpha),
      pc1_loading = unname(as.vector(principal(x)$loadings[, 1]))
    ),
    psych_flags_reversal = any(principal(x)$loadings[, 1] < 0)
  )
}

one_omega <- function(x) {
  om <- suppressMessages(suppressWarnings(
    omega(x, nfactors = 1, fm = "minres", flip = FALSE, plot = FALSE)
  ))
  list(omega_total = om$omega.tot, h2 = unname(om$schmid$sl[, "h2"]))
}

analyses <- function(x) {
  complete <- na.omit(x)
  list(
    pairwise = c(one_alpha(x), one_omega(x)),
    listwise = c(one_alpha(complete), one_omega(complete))
  )
}

# A Heywood case (the exact one-factor solution needs a loading above 1). psych bounds the uniquenesses at
# 0.005; where its optimiser stops then depends on its search, so the tests compare loosely (see omega.py).
heywood_r <- matrix(c(1, .8, .8, .8, 1, .5, .8, .5, 1), 3)
heywood <- suppressMessages(suppressWarnings(
  omega(heywood_r, nfactors = 1, fm = "minres", flip = FALSE, plot = FALSE)
))

out <- list(
  provenance = list(
    script = "tests/reference/reliability/make_reference.R",
    data = "tests/reference/reliability/likert8.csv",
    r_version = R.version.string,
    psych_version = as.character(packageVersion("psych")),
    gparotation_version = as.character(packageVersion("GPArotation")),
    calls = list(
      pairwise = "psych::alpha(x)",
      listwise = "psych::alpha(na.omit(x))",
      omega = "psych::omega(x, nfactors = 1, fm = 'minres', flip = FALSE, plot = FALSE)$omega.tot",
      pc1 = "psych::principal(x)$loadings[, 1]",
      duhachek = "raw_alpha +/- 1.96 * ase, as print.psych shows it"
    )
  ),
  raw = analyses(x_raw),
  keyed = analyses(x_keyed),
  heywood = list(r = heywood_r, omega_total = heywood$omega.tot, h2 = unname(heywood$schmid$sl[, "h2"]))
)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"),
           file.path(here, "expected.json"))
cat("wrote", file.path(here, "expected.json"), "\n")
