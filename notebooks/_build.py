"""Write the researchers' notebooks (``notebooks/*.ipynb``) from the cells below.

The notebooks are generated, not edited by hand, so that a review reads plain
Python and prose and the committed ``.ipynb`` files never carry outputs or
execution counts. Run

    .venv/bin/python notebooks/_build.py          # (re)write the notebooks
    .venv/bin/python notebooks/_build.py --check  # exit 1 when a notebook differs from this file

``tests/test_notebooks.py`` checks that the committed notebooks equal what this
script writes, executes each one headless against a register and compares
its key numbers with ``trial analyze --json`` / ``trial business-case --json``
(and ``trial power`` / ``trial diagnose`` for the design notebook).

Conventions of every notebook: the first code cell is tagged ``parameters``
(papermill-style: ``REGISTER``, ``AS_OF``, ``SEED``, ``OUTPUT_DIR`` and a few
more); ``REGISTER = None`` builds the demo register in a temporary folder; the
last cell collects the key numbers and writes them as JSON into
``OUTPUT_DIR`` when one is given. Only the public API of ``trial`` is used.
"""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat import v4

HERE = Path(__file__).resolve().parent

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def md(text: str) -> dict:
    return {"cell_type": "markdown", "source": textwrap.dedent(text).strip("\n")}


def code(text: str, *, tags: tuple[str, ...] = ()) -> dict:
    return {"cell_type": "code", "source": textwrap.dedent(text).strip("\n"), "tags": tags}


# --------------------------------------------------------------------------- shared cells
SETUP = code('''
    %matplotlib inline
    import json
    import math
    import tempfile
    from pathlib import Path

    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
    from IPython.display import display

    import trial

    pd.set_option("display.precision", 4)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)


    def show(fig):
        """Display a figure drawn by one of the library's plot_... functions, then release it."""
        display(fig)
        plt.close(fig)


    print(f"trial {trial.__version__}")
''')

DEMO_REGISTER = code('''
    if REGISTER is None:
        # No register given: run the demo chain (synthetic municipal exports for the shipped protocol,
        # intake, randomization into a test-mode register, outcome uploads) in a temporary folder.
        from trial.demo import run_demo

        demo_dir = Path(tempfile.mkdtemp(prefix="trial-notebook-")) / "demo"
        run_demo(demo_dir, seed=SEED, echo=lambda *args: None)
        REGISTER = demo_dir / "register.sqlite"
        print(f"demo register built at {REGISTER}")
    else:
        print(f"register: {REGISTER}")
''')

KEY_NUMBERS_HELPER = '''
    def plain(x):
        """JSON-ready: numpy and pandas scalars to Python, NaN and infinities to None."""
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        if x is None or x is pd.NA or x is pd.NaT:
            return None
        if hasattr(x, "item") and not isinstance(x, str):
            x = x.item()
        if isinstance(x, float) and not math.isfinite(x):
            return None
        return x


    def write_key_numbers(name, numbers):
        """Write the notebook's key numbers as JSON into OUTPUT_DIR (the test suite compares them with the CLI)."""
        payload = plain({"notebook": name, "register": None if REGISTER is None else str(REGISTER),
                         "as_of": None if AS_OF is None else str(AS_OF), "seed": SEED, "numbers": numbers})
        text = json.dumps(payload, indent=1, ensure_ascii=False, allow_nan=False)
        if OUTPUT_DIR is not None:
            out = Path(OUTPUT_DIR)
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{name}.json").write_text(text + "\\n", encoding="utf-8")
            print(f"key numbers written to {out / (name + '.json')}")
        return payload
'''


# --------------------------------------------------------------------------- 01 design
NB01 = [
    md('''
    # 01 · Design: power and diagnosis of the BI25 trial

    The BI25 trial (Copenhagen, *ressourceforløb*) gives 100 citizens an enhanced programme
    (the **deltagergruppe**) and compares them with a randomly chosen **kontrolgruppe**. Before
    any outcome is looked at, a researcher needs to know what the design can show:

    1. the power of every endpoint at the goals the business case assumes, computed *exactly* for
       the test that will actually be used;
    2. what a larger kontrolgruppe buys when the deltagergruppe is capped at 100 places;
    3. the **break-even** effect — the effect at which the investment pays back — and the power to
       detect it;
    4. a **design diagnosis**: the whole pre-specified analysis (allocation, estimator,
       multiplicity rule) simulated many times, with power, bias, coverage and the family-wise
       error rate.

    Nothing in this notebook reads an outcome, so it can be run at any time without breaking the
    trial's peeking discipline. With `REGISTER` set it reads the protocol *the register was
    initialised with* (the pre-registration, checked by its fingerprint) and the realised allocation;
    without it, the shipped protocol `protocols/ressourceforloeb.toml`.
    '''),
    code('''
    # Parameters (papermill-style: this cell is tagged "parameters")
    REGISTER = None          # trial register (SQLite path or postgresql:// URL); None = the shipped protocol only
    AS_OF = None             # count enrollments up to this date, "YYYY-MM-DD"; None = all
    SEED = 2016              # seed of the design diagnosis
    N_SIMS = 2000            # simulated trials in the design diagnosis (as many again under the global null)
    CONTROL_SIZES = (100, 200, 300, 400, 600, 900)   # kontrolgruppe sizes to compare
    OUTPUT_DIR = None        # folder for the key numbers as JSON; None = not written
    ''', tags=("parameters",)),
    SETUP,
    code('''
    from trial.protocol import load
    from trial.register import Register

    enrollments = None
    if REGISTER is None:
        protocol = load()
    else:
        with Register.open(REGISTER) as reg:
            protocol = reg.protocol
            enrollments = reg.enrollments()
        if AS_OF is not None:
            enrollments = enrollments[pd.to_datetime(enrollments["enrolled_at"], utc=True).dt.date
                                      <= pd.Timestamp(AS_OF).date()]
    n_treatment = protocol.capacity
    n_control = protocol.control_size
    print(protocol.summary())
    '''),
    md('''
    ## 1. Power of every endpoint at the goals

    The deltagergruppe is fixed at its capacity (100 places). For each endpoint the table gives the
    power at the goal (control value + goal, e.g. extension 50 % → 35 %) and the **minimum detectable
    effect** (MDE) at 80 % power, for 1:1 and for the protocol's 1:3 allocation.

    **Exact rather than normal power.** The pre-specified estimator is the difference in means with
    the HC2 (Neyman) standard error and Welch degrees of freedom — `estimatr::difference_in_means`.
    For a binary endpoint the data are one 2 × 2 table, so its power can be computed *exactly*:
    decide for every possible table (x treated and y controls with the outcome, (100 + 1) × (300 + 1)
    tables) whether this very test rejects, and add up the binomial probabilities of the rejecting
    tables (`method="exact_hc2"`). The usual normal-approximation formulas are a model of the test,
    not the test; they are good near 50 % and poor for **rare outcomes** such as ordinary
    employment (5 %), where the sampling distribution is skewed and lumpy.

    Endpoints that are not binary need an assumption the protocol does not state (a standard
    deviation for weeks on benefits and the survey scores, a dispersion for admission days); their
    rows say so instead of inventing a number. Pass `assumptions={"benefit_weeks": {"sd": ...}}` to
    `protocol_power` once a defensible value is known.
    '''),
    code('''
    from trial.power import protocol_power

    design = protocol_power(protocol, control_sizes=sorted({n_treatment, n_control}))
    display(design)
    '''),
    code('''
    power_table = design.to_frame()
    power_table[["endpoint", "role", "control_value", "goal", "n_control", "power", "mde_difference", "method", "note"]]
    '''),
    md('''
    ### Exact versus normal power for a rare outcome

    Ordinary employment at its goal (5 % → 10 % in the shipped protocol) with the planned group sizes.
    The normal formulas disagree with each other by several percentage points, and the exact power of
    the test that will actually be run is lower than all of them. A power calculation done with the textbook formula would promise more
    than the trial can deliver. Fisher's and Boschloo's exact tests are shown for comparison: they
    are valid at any sample size but are not the pre-specified test.
    '''),
    code('''
    from trial.power import compare_methods

    employment = protocol.endpoint("ordinary_employment")
    methods = compare_methods(p_control=employment.control_value, p_treatment=employment.goal_value,
                              n_control=n_control, n_treatment=n_treatment)
    methods.to_frame()[["method", "control_value", "treatment_value", "difference", "power", "note"]]
    '''),
    md('''
    Exact power is not even monotone in the sample size: the rejection region of a test on counts
    moves in discrete steps, so adding a few controls can lower the exact power slightly (a
    "saw-tooth"). This is real — it is the power of the test that will be run — and one more reason
    not to read a power curve to the third decimal.

    ## 2. The control-size choice

    Controls cost nothing, treatment places are capped. The variance of a difference in shares is

    $$\\operatorname{Var}(\\hat p_1 - \\hat p_0) = \\frac{p_1(1-p_1)}{n_1} + \\frac{p_0(1-p_0)}{n_0},$$

    and only the second term shrinks with more controls. With equal shares, going from 100 to 300
    controls cuts the variance of the difference by a third (standard error 0.82 of the 1 : 1 value);
    going on to 900 cuts only a further sixth (0.75). The dashed line in each figure is the ceiling with
    unlimited controls (normal approximation). The protocol chose 1 : 3 (300 controls): most of the
    attainable gain, and with about 1,000 referrals a year, 400 citizens are randomized in about six
    months.
    '''),
    code('''
    from trial.power import plot_power_by_control_size, power_by_control_size

    capacity = {}
    fig, axes = plt.subplots(1, len(protocol.primary_endpoints), figsize=(5 * len(protocol.primary_endpoints), 3.8))
    for ax, e in zip(np.atleast_1d(axes), protocol.primary_endpoints):
        capacity[e.id] = power_by_control_size(p_control=e.control_value, p_treatment=e.goal_value,
                                               n_treatment=n_treatment, control_sizes=CONTROL_SIZES,
                                               alpha=protocol.analysis.alpha,
                                               alternative=protocol.analysis.alternative)
        plot_power_by_control_size(capacity[e.id], ax=ax)
        ax.set_title(f"{e.label_en}: {e.control_value:g} → {e.goal_value:g}", fontsize="medium")
    fig.tight_layout()
    show(fig)
    '''),
    code('''
    pd.concat({e: r.to_frame() for e, r in capacity.items()}, names=["endpoint", None]).droplevel(1)
    '''),
    md('''
    The last column (`relative_se`) is the standard error of a difference relative to 1 : 1 when
    both shares are equal. In the shipped protocol the employment endpoints stay far below 80 % power
    at any control size: with 100 treated citizens a 5-point rise from 5 % is simply hard to see. That is the risk the BI25 case
    names itself ("the trial may not show effects large enough to conclude"), and it is why the
    extension endpoint is first in the fixed testing sequence.

    ## 3. Break-even power

    The steering group's question is not "is there an effect?" but "is the effect large enough to pay
    for the programme?". For ordinary employment the BI25 case counts a saving of
    110.8 (transfers, EO) + 23.4 (measures, EI) + 7.0 (service) = 141.2 thousand kr. a year per
    extra citizen in work, against an investment of 6.9 mio. kr. The break-even effect is the number
    of extra citizens in work at which the savings over the horizon equal the investment; its power is
    the chance that the trial detects an effect of exactly that size.

    Caveats: this is deliberately simple (savings flat from year 1, no phasing, no discounting, one
    endpoint carrying the whole investment, 2016 p/l). Notebook 03 computes the break-even effect of
    the full case with phasing and every driver line.
    '''),
    code('''
    from trial.power import break_even_effect

    horizon = protocol.business_case.horizon_years if protocol.business_case else 6
    break_even = {}
    for years in (horizon, 10):
        break_even[years] = break_even_effect(p_control=employment.control_value, n_treatment=n_treatment,
                                              n_control=n_control, horizon_years=years,
                                              alpha=protocol.analysis.alpha,
                                              alternative=protocol.analysis.alternative)
        display(break_even[years])
    '''),
    md('''
    A break-even power well below 80 % means: even if the programme pays back exactly, the trial will
    more often than not fail to show it on this endpoint alone. The business case should therefore be
    read with its uncertainty (notebook 03), not as a yes/no from a significance test.

    ## 4. Design diagnosis by simulation

    Analytic power answers one endpoint at a time. The diagnosis simulates the *whole* pre-specified
    analysis: covariates, stratified permuted-block allocation 1 : 3 with the protocol's block sizes,
    the three confirmatory binary endpoints with their control values and the goals as true effects,
    the primary estimator (HC2 difference in means) and Lin's covariate-adjusted estimator on every
    simulated trial (vectorised, no per-trial model fit), and the **fixed-sequence** multiplicity
    rule. Under the global null (no effect anywhere) the same machinery gives the family-wise error
    rate.

    * **power** is unadjusted; **power_adjusted** is the chance the endpoint is rejected *within the
      fixed sequence*: extension is tested at 5 %, ordinary employment only if extension was rejected,
      flex job only if both were. The later endpoints inherit the earlier ones' power, which is the
      price of strong control of the family-wise error rate without splitting alpha.
    * **coverage** of the 95 % interval and **bias** check that the estimator behaves as its theory
      says at this sample size; **type_s** is the share of significant results with the wrong sign.
    * Every figure carries its Monte Carlo standard error (`*_mc_se`): with 2,000 simulated trials
      a power of 0.78 is known to about ±0.01.
    * `r2` (share of outcome variance explained by the covariates) and `rho` (correlation between the
      endpoints) are assumptions of the simulation (default 0.2 each); Lin's gain depends on `r2`.
    '''),
    code('''
    from trial.diagnose import diagnose

    diagnosis = diagnose(protocol, n_sims=N_SIMS, rng=SEED)
    display(diagnosis)
    '''),
    code('''
    diagnosis.to_frame()[["endpoint", "estimator", "true_effect", "power", "power_mc_se", "power_adjusted",
                          "bias", "rmse", "coverage", "coverage_mc_se", "type_s"]]
    '''),
    md('''
    The family-wise error rate under the global null stays at or below the nominal 5 % (up to Monte
    Carlo error): the fixed sequence controls it without any alpha splitting, *provided the order is
    fixed in advance* — which is why the hierarchy is part of the hashed protocol.

    ## 5. The realised allocation

    With a register, the design can be re-evaluated at the group sizes actually randomized (the
    kontrolgruppe can differ slightly from 300: permuted blocks in some strata are not complete when
    the deltagergruppe fills). This is still outcome-free.
    '''),
    code('''
    from trial.power import power_two_proportions

    realised = None
    if enrollments is None or not len(enrollments):
        print("No register (or nobody enrolled yet): the design above is the planned one.")
    else:
        counts = enrollments["arm"].value_counts()
        n1_real = int(counts.get(protocol.treatment_arm.id, 0))
        n0_real = int(counts.get(protocol.control_arm.id, 0))
        print(f"randomized: {n1_real} in the deltagergruppe, {n0_real} in the kontrolgruppe")
        if n1_real >= 2 and n0_real >= 2:
            realised = pd.DataFrame([
                {"endpoint": e.id, "n_treatment": n1_real, "n_control": n0_real,
                 "power_exact_hc2": power_two_proportions(p_control=e.control_value, p_treatment=e.goal_value,
                                                          n_control=n0_real, n_treatment=n1_real,
                                                          alpha=protocol.analysis.alpha,
                                                          alternative=protocol.analysis.alternative).power}
                for e in protocol.primary_endpoints if e.type == "binary"])
            display(realised)
    '''),
    md('''
    ## Key numbers

    The numbers below are what the test suite compares with `trial power --protocol … --json` and
    `trial diagnose --sims N --seed S --json`: the notebook and the command line share one code path.
    '''),
    code(KEY_NUMBERS_HELPER + '''

    all_sizes = protocol_power(protocol, control_sizes=CONTROL_SIZES)
    key_numbers = write_key_numbers("01_design", {
        "fingerprint": protocol.fingerprint,
        "control_sizes": list(CONTROL_SIZES),
        "protocol_power": [{k: r[k] for k in ("endpoint", "n_control", "power", "mde_difference")}
                           for r in all_sizes.rows],
        "break_even": {str(k): {"citizens": v.break_even_citizens, "difference": v.break_even_difference,
                                "power": v.power} for k, v in break_even.items()},
        "diagnosis": {"n_sims": diagnosis.n_sims, "seed": diagnosis.seed, "fwer": diagnosis.fwer,
                      "rows": [{k: r[k] for k in ("endpoint", "estimator", "power", "power_adjusted", "bias",
                                                  "rmse", "coverage", "type_s")} for r in diagnosis.rows]},
        "realised": None if realised is None else realised.to_dict(orient="records"),
    })
    print(json.dumps(key_numbers["numbers"]["diagnosis"]["rows"][:3], indent=1))
    '''),
]


# --------------------------------------------------------------------------- 02 effect analysis
NB02 = [
    md('''
    # 02 · Effect analysis: the pre-specified analysis, then what to explore next

    This notebook runs the trial's **pre-specified analysis** on a register — the same function and
    the same numbers as `trial analyze` and the steering group's quarterly report — and then the
    analyses a researcher does next, each labelled **exploratory**:

    1. the register: allocation and baseline balance;
    2. the pre-specified analysis: primary estimator, sensitivity estimators, multiplicity;
    3. randomization inference next to the model-based answer;
    4. heterogeneity across the pre-specified subgroups;
    5. sensitivity to attrition (Lee bounds);
    6. trajectories from the weekly status panel, and time to work.

    It runs unchanged against a real register: set `REGISTER` to its path (or PostgreSQL URL). With
    `REGISTER = None` it builds the demo register (synthetic data whose true effects are the BI25
    goals) in a temporary folder. No CPR number is ever in a register — only keyed pseudonyms — and
    this notebook prints no citizen-level rows.
    '''),
    code('''
    # Parameters (papermill-style: this cell is tagged "parameters")
    REGISTER = None          # trial register (SQLite path or postgresql:// URL); None = build the demo register
    AS_OF = None             # analyse the data as of this date, "YYYY-MM-DD"; None = the newest upload
    SEED = 2016              # seed of the bootstrap in the Lee bounds
    N_RESAMPLES = 2000       # re-randomizations for randomization inference (as `trial analyze`)
    OUTPUT_DIR = None        # folder for the key numbers as JSON; None = not written
    ''', tags=("parameters",)),
    SETUP,
    DEMO_REGISTER,
    md('''
    ## 1. The register

    The register holds the pre-registered protocol (its fingerprint is checked when the register is
    opened), every allocation with an audit chain, and the uploaded outcome exports. Balance of the
    baseline covariates is a check of the *randomization process*: the omnibus p-value is computed by
    re-randomizing with the register's own scheme. An imbalance is not a reason to change the
    analysis — the covariates for adjustment are fixed in the protocol before any outcome is seen.
    '''),
    code('''
    from trial.analysis import analyze, register_frames
    from trial.register import Register

    reg = Register.open(REGISTER)
    protocol = reg.protocol
    print(protocol.summary())
    balance = reg.balance()
    display(balance)
    '''),
    md('''
    ## 2. The pre-specified analysis

    `analyze(register, as_of=AS_OF)` derives every endpoint from the uploaded observations by the
    protocol's rules and runs the protocol's estimators:

    * **Primary: difference in means with the HC2 standard error** (Neyman's conservative variance
      for a randomized experiment) and Welch degrees of freedom — `estimatr::difference_in_means(y ~ z)`.
      For a binary endpoint this is the difference in shares. It needs no model and is unbiased under
      randomization.
    * **Lin's covariate adjustment** (`lin_hc2`, `estimatr::lm_lin`): OLS of the outcome on treatment,
      the protocol's covariates centred at their means, and their interactions with treatment, with
      HC2 errors. Adjustment cannot hurt precision asymptotically (unlike plain ANCOVA with
      unequal arms); in small samples its standard error can be optimistic, which is why it is a
      sensitivity analysis here, not the primary one.
    * **Risk difference with Newcombe's hybrid-score interval**: better coverage than the Wald
      interval when a share is near 0 %, as for §99 (2 %).
    * **Randomization inference** (section 3), negative binomial rate ratio for admission days,
      log-rank and Cox for time to work.

    **Multiplicity.** Only the confirmatory family — the primary endpoints, with the primary
    estimator — makes claims. They are tested in the **fixed sequence** of the protocol (extension,
    then ordinary employment, then flex job), each at the full 5 %, and the sequence stops at the first
    non-rejection; the adjusted p-value is the running maximum. Everything else is exploratory,
    however small its p-value.

    **Peeking discipline.** Before the protocol's analysis date the table is *descriptive*: roles and
    adjusted p-values are shown, but `rejected` stays empty and no confirmatory claim is made.
    Looking at interim effects repeatedly and stopping when they look good inflates the error rate;
    the steering group sees the quarterly numbers, the confirmatory test is done once.
    '''),
    code('''
    result = analyze(reg, as_of=AS_OF, n_resamples=N_RESAMPLES)
    print(f"as of {result.as_of} (data date {result.data_date}); analysis date {result.analysis_date}; "
          f"{'DESCRIPTIVE — no confirmatory claims yet' if result.descriptive else 'confirmatory'}")
    display(result.confirmatory()[["endpoint", "estimate", "std_error", "df", "p_value", "ci_low", "ci_high",
                                   "adjusted_p_value", "rejected", "n_treatment", "n_control", "n_missing"]])
    '''),
    code('''
    table = result.to_frame()
    table[["endpoint", "estimator", "role", "estimate", "ci_low", "ci_high", "p_value", "adjusted_p_value",
           "n_treatment", "n_control", "note"]]
    '''),
    md('''
    The result keeps every estimator's own result object behind the table (`result.results`, keyed by
    endpoint and estimator; `result.result(endpoint, estimator)` picks one), and the frame the
    estimators ran on (`result.data`: one row per enrolled citizen, every endpoint value, no CPR
    number) — nothing needs recomputing. The forest plot draws straight from the result: by default
    the confirmatory family's estimator (HC2 difference in means) for every endpoint asked for;
    confirmatory rows are marked `*`.
    '''),
    code('''
    from trial import estimate as E

    primary = result.primary_estimator
    data = result.data


    def comparable(endpoint_id):
        """True when the endpoint is observed for someone in each arm (early in a trial it may not be yet)."""
        return data.loc[data[endpoint_id].notna(), "treatment"].nunique() == 2


    not_yet = [e.id for e in protocol.endpoints if not comparable(e.id)]
    if not_yet:
        print(f"not observed in both arms as of {result.as_of} (left out below): {', '.join(not_yet)}")

    first = protocol.primary_endpoints[0].id
    if result.result(first) is not None:
        display(result.result(first))          # the estimator's own object behind the table's first row
    on_own_scale = ("benefit_weeks", "functional_ability_change", "psych_admission_days")
    shown = [e.id for e in protocol.endpoints
             if e.type != "time_to_event" and comparable(e.id) and e.id not in on_own_scale]
    if shown:
        show(E.plot_forest(result, endpoints=shown))
    '''),
    md('''
    Weeks on benefits, functional ability and admission days are on other scales and left out of the
    plot (they are in the table).

    ## 3. Randomization inference next to the model-based answer

    The HC2 *t*-test relies on a normal approximation. Randomization inference relies only on the
    randomization: under the **sharp null** that assignment changed nobody's outcome, the outcomes are
    fixed and only the assignment is random, so re-drawing it many times *with the register's own
    scheme* (permuted blocks within strata, the same block sizes, the capacity rule) gives the exact
    distribution of the difference in means. Its p-value is exact up to Monte Carlo error (±
    √(p(1−p)/`N_RESAMPLES`)); its interval comes from inverting the test under a constant effect.

    Where the two agree, the normal approximation is fine. They disagree most for **rare binary
    outcomes**, where few citizens have the outcome and the *t* approximation is poor — trust the
    randomization answer there. Note that the sharp null is stronger than "no average effect".
    '''),
    code('''
    ri = table[table["estimator"].isin([primary, "randomization_inference"])].pivot_table(
        index="endpoint", columns="estimator", values=["estimate", "p_value"], sort=False)
    ri.columns = [f"{a}_{b}" for a, b in ri.columns]
    ri = ri.dropna()
    ri["p_difference"] = ri["p_value_randomization_inference"] - ri[f"p_value_{primary}"]
    ri["control_mean"] = table.drop_duplicates("endpoint").set_index("endpoint")["control_mean"]
    display(ri)
    if len(ri):
        worst = ri["p_difference"].abs().idxmax()
        print(f"largest disagreement: {worst} (control mean {ri.loc[worst, 'control_mean']:.3f}): "
              f"p = {ri.loc[worst, f'p_value_{primary}']:.4f} (HC2 t) vs "
              f"{ri.loc[worst, 'p_value_randomization_inference']:.4f} (randomization, {result.n_resamples} "
              f"draws, {result.ri_scheme})")
    '''),
    md('''
    ## 4. Heterogeneity (exploratory)

    Does the programme work better for some citizens? The protocol pre-specifies two factors (age band
    and a previous ressourceforløb). For each primary endpoint the interaction of treatment with the
    factor is tested by an HC2 Wald test (`estimatr::lm_robust(y ~ z * g)`), and the effect in each level
    is shown. `subgroup_interaction` refuses any factor that is not pre-specified.

    Read these as hypotheses, never as findings: detecting an interaction as large as the main effect
    needs about four times the sample size, several tests are shown here at once, and a subgroup with
    a "significant" effect in a trial whose overall effect is not significant is the classic false
    discovery.
    '''),
    code('''
    subgroups = []
    levels = []
    for factor in protocol.subgroups:
        for e in [e for e in protocol.primary_endpoints if comparable(e.id)]:
            complete = data[data[e.id].notna()]
            s = E.subgroup_interaction(complete, outcome=e.id, treatment="treatment", subgroup=factor,
                                       prespecified=protocol, confidence_level=1 - protocol.analysis.alpha)
            subgroups.append(s)
            if s.table is not None:
                levels.append(s.table.assign(endpoint=e.id, factor=factor, interaction_p_value=s.p_value))
    if subgroups:
        display(pd.concat([s.to_frame() for s in subgroups], ignore_index=True)[
            ["outcome", "estimator", "estimate", "statistic", "df", "p_value", "role", "note"]])
    if levels:
        display(pd.concat(levels, ignore_index=True).set_index(["endpoint", "factor", "level"]))
    '''),
    md('''
    ## 5. Sensitivity to attrition: Lee bounds

    Citizens who move away, die or withdraw have no outcome after the event; the pre-specified analysis
    uses complete cases. If the programme changes *who* drops out, complete cases compare different
    kinds of citizens. **Lee (2009) bounds** give the range of the effect among citizens who would be
    observed whichever arm they were in, by trimming the arm with more observed outcomes by the excess
    share, from the top (lower bound) or the bottom (upper bound).

    Assumptions: assignment is random (true here) and **monotone**: assignment can only move
    observation one way (nobody is observed *because* of treatment who would be lost under control and
    vice versa at the same time). The bounds are for the always-observed, not for everyone. The
    interval is Imbens–Manski's, covering the effect (not the whole bounds) with 95 %; the standard
    errors are bootstrapped (seed `SEED`); each bound also gets its own interval
    (`lower_bound_ci_low` … `upper_bound_ci_high`).
    '''),
    code('''
    missing = table[table["estimator"] == primary][["endpoint", "n_missing", "missing_reasons"]]
    display(missing.set_index("endpoint"))
    lee = [E.lee_bounds(data, outcome=e.id, treatment="treatment", rng=SEED,
                        confidence_level=1 - protocol.analysis.alpha)
           for e in protocol.primary_endpoints if comparable(e.id)]
    if lee:
        display(pd.concat([r.to_frame() for r in lee], ignore_index=True)[
            ["outcome", "lower_bound", "upper_bound", "trimming_share", "trimmed_arm", "ci_low", "ci_high",
             "lower_bound_ci_low", "lower_bound_ci_high", "upper_bound_ci_low", "upper_bound_ci_high",
             "n_treatment", "n_control"]])
    '''),
    md('''
    When the bounds are narrow and on the same side of zero as the complete-case estimate, attrition
    cannot explain the effect away. For a rare binary outcome even a small trimming share moves the
    bounds a lot: trimming a few percent of the treated from the top removes a large part of the few
    citizens with the outcome.

    ## 6. Trajectories from the weekly panel

    The endpoints look at one week (status at week 156) or a count; the weekly status panel shows
    *when* things happen. Below, the share **self-supporting** (ordinary employment, education or
    self-supporting without benefit) per week by arm, with Wilson intervals, and the effect by
    quarter (13 weeks) with standard errors clustered by citizen (`linearmodels.PanelOLS`; weeks of one
    citizen are strongly correlated, so week-level errors would be far too small). The pooled and
    quarterly effects are descriptive: there are twelve quarters and no pre-specified one.
    '''),
    code('''
    status = register_frames(reg, result.as_of)["status"]
    panel = status.merge(data[["pseudonym", "treatment"]], on="pseudonym", how="inner")
    panel["self_supporting"] = panel["status"].astype(str).isin(protocol.self_supporting_statuses).astype(int)
    trajectory = E.panel_effects(panel, outcome="self_supporting", treatment="treatment", period_weeks=13,
                                 confidence_level=1 - protocol.analysis.alpha)
    display(trajectory)
    show(E.plot_weekly_shares(trajectory))
    trajectory.periods
    '''),
    md('''
    **Time to work** (first week in ordinary employment or flex job, censored at week 156 or at
    attrition) is the protocol's exploratory time-to-event endpoint; the Kaplan–Meier curves show the
    cumulative share in work (log-rank and Cox results are in the analysis table).
    '''),
    code('''
    for tte in [e for e in protocol.endpoints if e.type == "time_to_event" and comparable(e.id)]:
        km = E.kaplan_meier(data[data[tte.id].notna()], time=tte.id, event=f"{tte.id}_event",
                            treatment="treatment", horizon=tte.horizon_weeks)
        show(E.plot_kaplan_meier(km))
        display(table[table["endpoint"] == tte.id][["estimator", "estimate", "ci_low", "ci_high", "p_value",
                                                    "method"]])
    '''),
    md('''
    ## Key numbers

    Every row of the analysis table, as the test suite compares it with
    `trial analyze --register R [--as-of D] --n-resamples N --json`.
    '''),
    code(KEY_NUMBERS_HELPER + '''

    COLUMNS = ["endpoint", "estimator", "role", "estimate", "std_error", "statistic", "df", "p_value", "ci_low",
               "ci_high", "n_treatment", "n_control", "n_missing", "control_mean", "treatment_mean",
               "adjusted_p_value", "rejected"]
    key_numbers = write_key_numbers("02_effect_analysis", {
        "as_of": result.as_of.isoformat(),
        "descriptive": result.descriptive,
        "n_by_arm": result.n_by_arm,
        "n_resamples": result.n_resamples,
        "estimates": table[COLUMNS].to_dict(orient="records"),
        "lee_bounds": {r.outcome: [r.lower_bound, r.upper_bound] for r in lee},
        "panel_pooled": [trajectory.estimate, trajectory.std_error],
    })
    reg.close()
    print(f"{len(key_numbers['numbers']['estimates'])} rows")
    '''),
]


# --------------------------------------------------------------------------- 03 business case
NB03 = [
    md('''
    # 03 · The business case fed by the trial's effects

    The steering group decides in money. The BI25 investment case (Københavns Kommune, 2016 p/l, in
    1.000 kr.) assumed its effects: 5 more of 100 citizens in ordinary employment, 5 more in flex job,
    15 fewer extensions of the ressourceforløb, fewer social services. This notebook

    1. reproduces the published case at those **assumed** (*antaget*) goals;
    2. replaces the goals by the trial's **measured** (*målt*) effects with their uncertainty, and shows
       the distribution of the net result, the probability of payback and the break-even effects;
    3. shows the sensitivity of the result to each assumption (tornado);
    4. puts *antaget* and *målt* side by side.

    It uses `trial.analysis.analyze` for the effects, so its numbers are those of
    `trial business-case --register R --seed S` and of the quarterly report.
    '''),
    code('''
    # Parameters (papermill-style: this cell is tagged "parameters")
    REGISTER = None          # trial register (SQLite path or postgresql:// URL); None = build the demo register
    AS_OF = None             # effects as of this date, "YYYY-MM-DD"; None = the newest upload
    SEED = 2016              # seed of the draws of the effects
    N_DRAWS = 2000           # draws of the effects (as `trial business-case --draws`)
    HORIZON_YEARS = 10       # years of the net-result distribution and NPV
    PAYBACK_WITHIN = 10      # N in P(payback within N years) and in the break-even effect
    OUTPUT_DIR = None        # folder for the key numbers as JSON; None = not written
    ''', tags=("parameters",)),
    SETUP,
    DEMO_REGISTER,
    code('''
    from trial.analysis import analyze
    from trial.business_case import (compute_case, default_case_path, effect_fed_case, effects_from_analysis,
                                     load_case, plot_cumulative_net, plot_tornado, plot_waterfall)
    from trial.register import Register

    with Register.open(REGISTER) as reg:
        protocol = reg.protocol
        analysis = analyze(reg, as_of=AS_OF)
    case_path = default_case_path(protocol)
    print(f"protocol {protocol.trial.id} ({protocol.fingerprint[:16]}…), case file {case_path.name}")
    '''),
    md('''
    ## 1. The published case at the goals (*antaget*)

    The case file writes every permanent line as a **driver**: effect × citizens treated × amount per
    citizen-year × phasing over the years — the structure of SØM, Den Socialøkonomiske
    Investeringsmodel (target group × net effect × consequence × price). At the goals it reproduces
    every published figure of BI25: totals per year and per *styringsområde* (Service, EI, EO), the
    split over committees, and the two payback times — on service savings (16 years) and on the total
    economy (6 years). Inconsistencies in the printed case are reported as warnings, never hidden.
    '''),
    code('''
    published = compute_case(load_case(case_path))
    display(published)
    '''),
    md('''
    ## 2. The trial's effects (*målt*)

    Per endpoint the row of the protocol's primary estimator (HC2 difference in means) from the
    analysis table: estimate, standard error and interval, all marked *målt*. The protocol's
    `[business_case.drivers]` table says which endpoint drives which line of the case; a driver line
    without a measured effect keeps the case's assumed effect and stays marked *antaget*.

    Before the protocol's analysis date the effects are **descriptive** interim numbers: a business case
    fed with them is a planning aid for the steering group, not an evaluation result.
    '''),
    code('''
    effects = effects_from_analysis(analysis, protocol)
    print(f"effects as of {analysis.as_of}"
          + (" — DESCRIPTIVE (before the analysis date)" if analysis.descriptive else ""))
    display(pd.DataFrame(effects).T)
    # early in a trial an endpoint may not be observed in both arms yet: it has no estimate, so
    # effects_from_analysis leaves it out and its line keeps the case's assumed effect (antaget)
    not_measured = [e for e in dict.fromkeys(analysis.table["endpoint"]) if e not in effects]
    if not_measured:
        print(f"no estimate yet (the case keeps its assumed effect, antaget): {', '.join(not_measured)}")
    '''),
    md('''
    ## 3. The effect-fed case with its uncertainty

    Every permanent line is linear in the effects, so the case can be evaluated for thousands of
    effect draws at once. The measured effects are drawn jointly from the normal approximation with
    their estimated covariance (`trial.analysis.joint_effect_draws`: the differences in means are
    estimated on the same citizens — a citizen in ordinary employment is rarely in a flex job — with
    pairwise complete cases), as `trial business-case --register` draws them. This treats the sampling
    distribution as if it were the uncertainty about the true effect. Read `P(payback)` as *sampling uncertainty carried
    through the budget*, not as the probability that the programme works.

    The payback time is on the total economy: all implementation costs against the cumulated savings,
    savings accruing evenly within a year, the last case year continued to the horizon.
    '''),
    code('''
    case = effect_fed_case(effects, protocol=protocol, n_draws=N_DRAWS, rng=SEED, horizon_years=HORIZON_YEARS,
                           payback_within=PAYBACK_WITHIN)
    display(case)
    '''),
    code('''
    case.to_frame()
    '''),
    code('''
    show(plot_cumulative_net(case))
    show(plot_waterfall(case.base))
    '''),
    md('''
    ## 4. Break-even effects

    For each endpoint: the effect at which the case pays back within `PAYBACK_WITHIN` years, the other
    effects held at their estimates; and the **break-even scale**, the common factor on all effects at
    which it pays back. Compare the break-even effect with the estimate *and its interval*: an interval
    entirely above the break-even effect is the strongest news a trial of this size can bring.
    '''),
    code('''
    print(f"break-even scale: {case.break_even_scale:.3f} × the effects used")
    case.break_even
    '''),
    md('''
    ## 5. Sensitivity

    Each effect at the bounds of its interval, all effects halved, effects lasting only 1, 3 or 5
    years, all unit prices ±20 %, and discount rates 0 %, 3.5 % and 4 % (Finansministeriet's rate is
    4 % for 2013–2020 price levels and 3.5 % from 2021). The tornado ranks the variants by the present value of the net gain
    over the horizon. Each row is marked *målt* or *antaget* by what it varies.
    '''),
    code('''
    show(plot_tornado(case.sensitivity))
    case.sensitivity.to_frame()
    '''),
    md('''
    ## 6. *Antaget* versus *målt*

    The published case promised payback on the total economy after six years, assuming the goals. The
    column on the right uses what the trial measured. The unit amounts, phasing and investments are
    the same on both sides; only the effects differ. Remember that a municipal budget line is a
    *consequence* of the effect (transfers saved, measures not bought): its prices are *antaget* in both
    columns, and the sensitivity above shows how much they matter.
    '''),
    code('''
    def payback_text(years):
        return "never" if years is None or not math.isfinite(years) else f"{years:.2f}"

    comparison = pd.DataFrame({
        "antaget (goals, published case)": {
            "payback on service savings, years": payback_text(published.payback_years_service),
            "payback on the total economy, years": payback_text(published.payback_years_total),
            "net gain over the case years (1.000 kr.)": round(-float(np.sum(published.net)), 1),
            "present value of the net gain (1.000 kr.)": round(published.npv, 1),
        },
        "målt (trial estimates)": {
            "payback on service savings, years": payback_text(case.base.payback_years_service),
            "payback on the total economy, years": payback_text(case.base.payback_years_total),
            "net gain over the case years (1.000 kr.)": round(-float(np.sum(case.base.net)), 1),
            "present value of the net gain (1.000 kr.)": round(case.base.npv, 1),
        },
    })
    comparison
    '''),
    md('''
    ## 7. Variant: the saved forsørgelse in measured helårspersoner

    The published case counts transfers *per citizen moved into a job* (110,8 t.kr. a year, 106,08 for
    fleksjob). The weekly panel measures the same money directly: the difference between the arms in
    the share of follow-up weeks 105–156 (the third year, when the case counts the full effect) spent
    on ressourceforløbsydelse, kontanthjælp, sygedagpenge or førtidspension — Δ helårspersoner per
    treated citizen a year. The variant `helaarspersoner` prices it at 108,44 t.kr. net per
    helårsperson after refusion (implied by the published case) and **replaces** the "sparet
    forsørgelse" amounts instead of adding to them; at the assumed effect it is the published case.
    The measured helårspersoner are drawn jointly with the other effects (as
    `trial business-case --register R --variant helaarspersoner`).
    '''),
    code('''
    from trial.business_case import effect_fed

    variant = effect_fed(REGISTER, as_of=AS_OF, rng=SEED, n_draws=N_DRAWS, horizon_years=HORIZON_YEARS,
                         payback_within=PAYBACK_WITHIN, variants=["helaarspersoner"])
    line = next(e for e in variant.effects if e.endpoint == "benefit_years")
    print(f"Δ helårspersoner on forsørgelse: {line.estimate:+.3f} per treated citizen a year "
          f"(SE {line.std_error or float('nan'):.3f}, {line.basis})")
    pd.DataFrame({
        "per citizen moved (published)": {"payback on the total economy, years": payback_text(case.payback_years_total),
                                          f"P(payback within {PAYBACK_WITHIN} years)": round(case.p_payback, 3)},
        "measured helårspersoner (variant)": {
            "payback on the total economy, years": payback_text(variant.payback_years_total),
            f"P(payback within {PAYBACK_WITHIN} years)": round(variant.p_payback, 3)},
    })
    '''),
    md('''
    ## Key numbers

    What the test suite compares with `trial business-case --register R --seed SEED --json`.
    '''),
    code(KEY_NUMBERS_HELPER + '''

    d = case.to_dict()
    key_numbers = write_key_numbers("03_business_case", {
        "as_of": analysis.as_of.isoformat(),
        **{k: d[k] for k in ("net", "total_permanent", "total_investment", "payback_years_service",
                             "payback_years_total", "npv", "p_payback_within", "break_even_scale", "seed",
                             "n_draws", "payback_within", "horizon_years")},
        "net_gain_median": d["net_gain_distribution"]["median"],
        "net_gain_ci_low": d["net_gain_distribution"]["ci_low"],
        "net_gain_ci_high": d["net_gain_distribution"]["ci_high"],
        "break_even": [{k: r[k] for k in ("endpoint", "estimate", "break_even_effect")} for r in d["break_even"]],
        "effects": {k: v["estimate"] for k, v in effects.items()},
        "published_payback_years_total": published.payback_years_total,
        "payback_years_total_quantiles": d["payback_years_total_quantiles"],
        "p_payback_never": d["p_payback_never"],
        "variant_helaarspersoner": {"benefit_years": line.estimate, "basis": line.basis,
                                    "p_payback_within": variant.p_payback,
                                    "total_permanent": list(variant.base.total_permanent)},
    })
    print(f"P(payback within {case.payback_within} years) = {case.p_payback:.3f}; "
          f"never pays back in {case.p_payback_never:.1%} of the draws")
    '''),
]

NOTEBOOKS = {
    "01_design.ipynb": NB01,
    "02_effect_analysis.ipynb": NB02,
    "03_business_case.ipynb": NB03,
}


# --------------------------------------------------------------------------- writing
def build(name: str, cells: list[dict]) -> nbformat.NotebookNode:
    """A notebook without outputs, with stable cell ids (``<prefix>-<index>``) so diffs stay small."""
    nb = v4.new_notebook()
    nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
    prefix = name.split("_", 1)[0]
    for i, c in enumerate(cells):
        cell_id = f"nb{prefix}-{i:02d}"
        if c["cell_type"] == "markdown":
            cell = v4.new_markdown_cell(c["source"], id=cell_id)
        else:
            cell = v4.new_code_cell(c["source"], id=cell_id)
            if c["tags"]:
                cell.metadata["tags"] = list(c["tags"])
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "--check" in argv
    stale = []
    for name, cells in NOTEBOOKS.items():
        text = render(build(name, cells))
        path = HERE / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("out of date (run notebooks/_build.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
