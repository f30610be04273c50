## EffTox OC reference: trialr 0.1.6 efftox_simulate (unmodified package function), the vignette's
## scenario (A400-EffTox) with 6 cohorts of 3 instead of 13 (CPU), default rstan sampling (4 chains x 2000).
suppressMessages({library(trialr); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
nsim <- as.integer(args[1]); seed <- as.integer(args[2]); out <- args[3]
dat <- efftox_parameters_demo(); dat$num_patients <- 0; dat$eff <- c(); dat$tox <- c(); dat$doses <- c()
true_eff <- c(0.20, 0.40, 0.60, 0.80, 0.90); true_tox <- c(0.05, 0.10, 0.15, 0.20, 0.40)
set.seed(seed)
res <- list()
for (i in seq_len(nsim)) {
  s <- efftox_simulate(dat, num_sims = 1, first_dose = 1, true_eff = true_eff, true_tox = true_tox,
                       cohort_sizes = rep(3, 6), refresh = 0)
  res[[i]] <- list(rec = s$recommended_dose[1], doses = s$doses_given[[1]], eff = s$efficacies[[1]], tox = s$toxicities[[1]])
  if (i %% 10 == 0) write_json(list(call = sprintf("efftox_simulate(efftox_parameters_demo(), num_sims=1 x %d, first_dose=1, true_eff=c(0.2,0.4,0.6,0.8,0.9), true_tox=c(0.05,0.1,0.15,0.2,0.4), cohort_sizes=rep(3,6)); set.seed(%d)", nsim, seed),
        version = as.character(packageVersion("trialr")), rstan = as.character(packageVersion("rstan")), n_done = i, trials = res),
        out, auto_unbox = TRUE, digits = NA)
}
