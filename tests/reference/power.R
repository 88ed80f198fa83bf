# Reference values for trial.power and trial._fast, computed in R.
#
#   Rscript tests/reference/power.R      (from the repository root)
#
# writes tests/reference/power_r.csv (long format, one value a row) whose first
# line records the R, pwr and estimatr versions. Needs r-cran-pwr and
# r-cran-estimatr (Debian packages). The tests only read the CSV; R is not
# needed in CI.
#
# Roles: "treatment" = deltagergruppe (pwr's p1 / n1), "control" = kontrolgruppe (p2 / n2).
# alternative "greater" = treatment share above control share.
options(digits = 15)
suppressPackageStartupMessages({
  library(pwr)
  library(estimatr)
})

rows <- list()
add <- function(func, quantity, value, alternative = "two.sided", p_control = NA, p_treatment = NA,
                n_control = NA, n_treatment = NA, d = NA, alpha = 0.05, power = NA, table_x_treatment = NA,
                table_x_control = NA) {
  rows[[length(rows) + 1]] <<- data.frame(
    func = func, quantity = quantity, alternative = alternative, p_control = p_control,
    p_treatment = p_treatment, n_control = n_control, n_treatment = n_treatment, d = d, alpha = alpha,
    power = power, table_x_treatment = table_x_treatment, table_x_control = table_x_control,
    value = sprintf("%.17g", value))
}

designs <- expand.grid(p_control = c(0.05, 0.5, 0.14), diff = c(0.05, -0.03, 0.15),
                       n_treatment = c(50, 100), n_control = c(100, 300, 900))
designs$p_treatment <- designs$p_control + designs$diff
designs <- designs[designs$p_treatment > 0 & designs$p_treatment < 1, ]

# 1. pwr::pwr.2p2n.test (arcsine, Cohen's h): power, and the MDE (h solved, turned into p_treatment)
for (i in seq_len(nrow(designs))) {
  g <- designs[i, ]
  for (alt in c("two.sided", "greater", "less")) {
    h <- ES.h(g$p_treatment, g$p_control)
    pw <- pwr.2p2n.test(h = h, n1 = g$n_treatment, n2 = g$n_control, sig.level = 0.05, alternative = alt)$power
    add("pwr.2p2n.test", "power", pw, alt, g$p_control, g$p_treatment, g$n_control, g$n_treatment)
  }
  for (target in c(0.8, 0.9)) {
    hh <- pwr.2p2n.test(n1 = g$n_treatment, n2 = g$n_control, sig.level = 0.05, power = target,
                        alternative = "greater")$h
    # h = 2 asin(sqrt(p_t)) - 2 asin(sqrt(p_c))  =>  p_t = sin(asin(sqrt(p_c)) + h/2)^2
    pt <- sin(asin(sqrt(g$p_control)) + hh / 2)^2
    add("pwr.2p2n.test", "mde_p_treatment", pt, "greater", g$p_control, NA, g$n_control, g$n_treatment,
        power = target)
  }
}

# 2. pwr::pwr.t2n.test (two-sample t, unequal n): power and d at a target power
for (d in c(0.2, 0.35, -0.5)) for (n1 in c(30, 100)) for (n2 in c(100, 300, 900)) {
  for (alt in c("two.sided", "greater", "less")) {
    pw <- pwr.t2n.test(d = d, n1 = n1, n2 = n2, sig.level = 0.05, alternative = alt)$power
    add("pwr.t2n.test", "power", pw, alt, n_control = n2, n_treatment = n1, d = d)
  }
}
for (n1 in c(30, 100)) for (n2 in c(100, 300)) for (target in c(0.8, 0.9)) {
  dd <- pwr.t2n.test(n1 = n1, n2 = n2, sig.level = 0.05, power = target, alternative = "two.sided")$d
  # pwr solves with uniroot's default tolerance (.Machine$double.eps^0.25 ~ 1.2e-4)
  add("pwr.t2n.test", "mde_d", dd, "two.sided", n_control = n2, n_treatment = n1, power = target)
}

# 3. stats::power.prop.test (equal n, pooled normal): strict = TRUE counts both tails
for (n in c(50, 100, 300)) for (pc in c(0.05, 0.5)) for (pt in c(0.10, 0.35, 0.6)) {
  if (pt == pc) next
  pw <- power.prop.test(n = n, p1 = pc, p2 = pt, sig.level = 0.05, strict = TRUE)$power
  add("power.prop.test", "power", pw, "two.sided", pc, pt, n, n)
  pw1 <- power.prop.test(n = n, p1 = pc, p2 = pt, sig.level = 0.05, alternative = "one.sided")$power
  add("power.prop.test", "power", pw1, ifelse(pt > pc, "greater", "less"), pc, pt, n, n)
}
for (n in c(100, 300)) for (pc in c(0.05, 0.5)) {
  p2 <- power.prop.test(n = n, p1 = pc, power = 0.8, sig.level = 0.05, strict = TRUE, tol = 1e-12)$p2
  add("power.prop.test", "mde_p_treatment", p2, "two.sided", pc, NA, n, n, power = 0.8)
}

# 4. Exact power by enumeration, written independently in R
hc2_exact <- function(pc, pt, nc, nt, alpha = 0.05) {
  x1 <- 0:nt; x0 <- 0:nc
  m1 <- outer(x1 / nt, rep(1, nc + 1)); m0 <- outer(rep(1, nt + 1), x0 / nc)
  v1 <- m1 * (1 - m1) / (nt - 1); v0 <- m0 * (1 - m0) / (nc - 1)
  se <- sqrt(v1 + v0)
  df <- (v1 + v0)^2 / (v1^2 / (nt - 1) + v0^2 / (nc - 1))
  tt <- (m1 - m0) / se
  p <- 2 * pt(abs(tt), df, lower.tail = FALSE)
  rej <- !is.na(p) & se > 0 & p <= alpha
  w <- outer(dbinom(x1, nt, pt), dbinom(x0, nc, pc))
  sum(w[rej])
}
pooled_exact <- function(pc, pt, nc, nt, alpha = 0.05) {
  x1 <- 0:nt; x0 <- 0:nc
  pbar <- outer(x1, x0, "+") / (nt + nc)
  z <- outer(x1 / nt, x0 / nc, "-") / sqrt(pbar * (1 - pbar) * (1 / nt + 1 / nc))
  rej <- !is.na(z) & abs(z) > qnorm(1 - alpha / 2)
  w <- outer(dbinom(x1, nt, pt), dbinom(x0, nc, pc))
  sum(w[rej])
}
fisher_exact_power <- function(pc, pt, nc, nt, alpha = 0.05) {
  tot <- 0
  for (a in 0:nt) for (b in 0:nc) {
    p <- fisher.test(matrix(c(a, nt - a, b, nc - b), 2))$p.value
    if (p <= alpha) tot <- tot + dbinom(a, nt, pt) * dbinom(b, nc, pc)
  }
  tot
}
exact_designs <- list(c(0.05, 0.10, 300, 100), c(0.10, 0.05, 300, 100), c(0.05, 0.10, 100, 100),
                      c(0.50, 0.35, 300, 100), c(0.50, 0.35, 100, 100), c(0.05, 0.10, 900, 100),
                      c(0.14, 0.09, 300, 100), c(0.02, 0.01, 300, 100))
for (g in exact_designs) {
  add("enumeration_hc2", "power", hc2_exact(g[1], g[2], g[3], g[4]), "two.sided", g[1], g[2], g[3], g[4])
  add("enumeration_pooled_z", "power", pooled_exact(g[1], g[2], g[3], g[4]), "two.sided", g[1], g[2], g[3], g[4])
}
# 4b. Size of the HC2 test at the null (both arms at the control share) and exact coverage of its
#     95 % interval (estimate +- qt(0.975, Welch df) * HC2 se) at the goal, by enumeration
hc2_coverage <- function(pc, pt, nc, nt, level = 0.95) {
  x1 <- 0:nt; x0 <- 0:nc
  m1 <- outer(x1 / nt, rep(1, nc + 1)); m0 <- outer(rep(1, nt + 1), x0 / nc)
  v1 <- m1 * (1 - m1) / (nt - 1); v0 <- m0 * (1 - m0) / (nc - 1)
  se <- sqrt(v1 + v0)
  df <- (v1 + v0)^2 / (v1^2 / (nt - 1) + v0^2 / (nc - 1))
  q <- qt(1 - (1 - level) / 2, df)
  cov <- !is.na(q) & se > 0 & abs(m1 - m0 - (pt - pc)) <= q * se
  w <- outer(dbinom(x1, nt, pt), dbinom(x0, nc, pc))
  sum(w[cov])
}
for (g in exact_designs) {
  add("enumeration_hc2", "size", hc2_exact(g[1], g[1], g[3], g[4]), "two.sided", g[1], g[1], g[3], g[4])
  add("enumeration_hc2", "coverage", hc2_coverage(g[1], g[2], g[3], g[4]), "two.sided", g[1], g[2], g[3], g[4])
}

for (g in list(c(0.10, 0.30, 40, 30), c(0.05, 0.20, 60, 20), c(0.5, 0.3, 50, 50))) {
  add("fisher.test_enumeration", "power", fisher_exact_power(g[1], g[2], g[3], g[4]), "two.sided",
      g[1], g[2], g[3], g[4])
}

# 5. estimatr::difference_in_means on single tables: estimate, std.error, df, p.value (HC2 / Welch)
tables <- list(c(10, 15, 100, 300), c(3, 30, 100, 300), c(0, 4, 100, 300), c(35, 150, 100, 300),
               c(7, 5, 100, 100), c(1, 0, 20, 30))
for (tb in tables) {
  y <- c(rep(1, tb[1]), rep(0, tb[3] - tb[1]), rep(1, tb[2]), rep(0, tb[4] - tb[2]))
  z <- c(rep(1, tb[3]), rep(0, tb[4]))
  fit <- tidy(difference_in_means(y ~ z, data = data.frame(y = y, z = z)))
  for (q in c("estimate", "std.error", "df", "p.value")) {
    add("estimatr::difference_in_means", q, as.numeric(fit[[q]][1]), "two.sided", n_control = tb[4],
        n_treatment = tb[3], table_x_treatment = tb[1], table_x_control = tb[2])
  }
}

out <- do.call(rbind, rows)
path <- file.path("tests", "reference", "power_r.csv")
con <- file(path, "w")
writeLines(sprintf("# %s; pwr %s; estimatr %s; generated by tests/reference/power.R",
                   R.version.string, packageVersion("pwr"), packageVersion("estimatr")), con)
write.csv(out, con, row.names = FALSE, na = "")
close(con)
cat("wrote", nrow(out), "rows to", path, "\n")
