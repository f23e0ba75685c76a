package io.github.personas.pipeline.config;

import java.util.List;

/**
 * The whole validated configuration of a run; immutable, built by {@link ConfigLoader}.
 *
 * @param origin            where it was loaded from (for messages and the summary)
 * @param hash              SHA-256 of the resolved configuration, written to the run summary
 * @param timezone          IANA zone for time-of-day features
 * @param sessionWindows    trailing windows in days of the sessions_<N>d features
 * @param events            the events source
 * @param profiles          the profiles source (may be absent)
 * @param outputPath        root folder of the output tables
 * @param filesPerPartition Parquet files written per table partition, at least
 * @param rowsPerFile       rows per Parquet file above which a table partition gets more files
 * @param quality           data-quality gates
 * @param rfm               RFM scoring and segment rules
 * @param lifecycle         lifecycle stage rules
 * @param holdout           control-group settings
 * @param personas          k-means persona settings
 * @param report            KPI report settings
 * @param privacy           personal-data settings: hashing salt and suppression list
 * @param predict           the purchase and spend models
 * @param catalog           database of Spark's session catalog the output tables are registered in
 *                          after each publish; "" = none
 */
public record PersonasConfig(
    String origin,
    String hash,
    String timezone,
    List<Integer> sessionWindows,
    SourceConfig events,
    SourceConfig profiles,
    String outputPath,
    int filesPerPartition,
    long rowsPerFile,
    Quality quality,
    Rfm rfm,
    Lifecycle lifecycle,
    Holdout holdout,
    Personas personas,
    Report report,
    Privacy privacy,
    Predict predict,
    String catalog) {

  public PersonasConfig {
    sessionWindows = List.copyOf(sessionWindows);
    catalog = catalog == null ? "" : catalog;
  }

  /** The catalog database the output tables are registered in, if the configuration names one. */
  public java.util.Optional<String> catalogDatabase() {
    return catalog.isEmpty() ? java.util.Optional.empty() : java.util.Optional.of(catalog);
  }

  /**
   * Data-quality gates; a breach stops the run with exit code 3.
   *
   * @param maxQuarantineShare largest share (0..1) of event rows read that may break the contract
   *                           (rows after the run date are counted by maxFutureShare instead)
   * @param maxFutureShare     largest share (0..1) of event rows read that are later than the run date
   * @param minAcceptedEvents  fewest accepted event rows
   * @param minUsers           fewest users in the features table
   * @param warnMargin         a measured value this close (0..1, relative to the limit) to a limit
   *                           is a near miss: a warning in the summary
   * @param maxRevenuePerEvent largest |revenue| of one event; a larger one is quarantined as
   *                           {@code implausible_revenue}, so no sum of revenue can overflow
   * @param earliestEventDate  events before the start of this date (UTC) are quarantined as
   *                           {@code event_before_earliest_date}, or {@code epoch_seconds_not_millis}
   *                           when they are epoch seconds read as milliseconds
   * @param maxDaysAfterLatestEvent a run date more days than this after the latest accepted event
   *                           is a warning: a wrong --date, or an input that stopped growing
   */
  public record Quality(double maxQuarantineShare, double maxFutureShare, long minAcceptedEvents, long minUsers,
                        double warnMargin, double maxRevenuePerEvent, java.time.LocalDate earliestEventDate,
                        int maxDaysAfterLatestEvent) {

    /** The default largest revenue of one event. */
    public static final double DEFAULT_MAX_REVENUE_PER_EVENT = 1e12;
    /** The default earliest plausible event date: no app or shop of today sent events before it. */
    public static final java.time.LocalDate DEFAULT_EARLIEST_EVENT_DATE = java.time.LocalDate.of(2000, 1, 1);
    /** The default number of days a run date may lie after the latest accepted event without a warning. */
    public static final int DEFAULT_MAX_DAYS_AFTER_LATEST_EVENT = 30;

    public Quality {
      java.util.Objects.requireNonNull(earliestEventDate, "earliestEventDate");
    }

    /** Gates with the default plausible event dates. */
    public Quality(double maxQuarantineShare, double maxFutureShare, long minAcceptedEvents, long minUsers,
                   double warnMargin, double maxRevenuePerEvent) {
      this(maxQuarantineShare, maxFutureShare, minAcceptedEvents, minUsers, warnMargin, maxRevenuePerEvent,
          DEFAULT_EARLIEST_EVENT_DATE, DEFAULT_MAX_DAYS_AFTER_LATEST_EVENT);
    }

    /** Gates with the default largest revenue of one event and plausible event dates. */
    public Quality(double maxQuarantineShare, double maxFutureShare, long minAcceptedEvents, long minUsers,
                   double warnMargin) {
      this(maxQuarantineShare, maxFutureShare, minAcceptedEvents, minUsers, warnMargin, DEFAULT_MAX_REVENUE_PER_EVENT);
    }
  }

  /**
   * RFM scoring and the ordered segment rule table.
   *
   * @param quantileRelativeError relative error of the buyers' quantiles (0 = exact)
   * @param cutPoints             fixed cut points per measure; an empty list means quantiles
   * @param noPurchaseSegment     segment of users who never purchased
   * @param segments              ordered rules over r_score, f_score, m_score; first match wins
   */
  public record Rfm(double quantileRelativeError, CutPoints cutPoints, String noPurchaseSegment,
                    List<NamedExpr> segments) {
    public Rfm {
      segments = List.copyOf(segments);
    }

    /** Quantile scoring with {@code segments}. */
    public Rfm(double quantileRelativeError, String noPurchaseSegment, List<NamedExpr> segments) {
      this(quantileRelativeError, CutPoints.QUANTILES, noPurchaseSegment, segments);
    }
  }

  /**
   * Fixed RFM cut points: four ascending values per measure, or none for the buyers' quantiles.
   *
   * @param recencyDays upper bounds (inclusive, days) of R scores 5, 4, 3, 2
   * @param frequency   upper bounds (inclusive, orders) of F scores 1, 2, 3, 4
   * @param monetary    upper bounds (inclusive, currency) of M scores 1, 2, 3, 4
   */
  public record CutPoints(List<Double> recencyDays, List<Double> frequency, List<Double> monetary) {
    /** No fixed cut points: every measure by quantiles. */
    public static final CutPoints QUANTILES = new CutPoints(List.of(), List.of(), List.of());

    public CutPoints {
      recencyDays = List.copyOf(recencyDays);
      frequency = List.copyOf(frequency);
      monetary = List.copyOf(monetary);
    }
  }

  /**
   * Lifecycle stages: ordered rules over the features table, first match wins.
   *
   * @param otherwise stage of users no rule matches
   * @param stages    the rules in priority order
   */
  public record Lifecycle(String otherwise, List<NamedExpr> stages) {
    public Lifecycle {
      stages = List.copyOf(stages);
    }
  }

  /**
   * Holdout (control) group drawn by a salted hash of user_id.
   *
   * @param share share of users in the holdout, 0..0.5
   * @param salt  changes which users are drawn
   */
  public record Holdout(double share, String salt) {}

  /**
   * K-means persona settings.
   *
   * @param kMin                 smallest candidate k
   * @param kMax                 largest candidate k (equal to kMin to fix k)
   * @param seed                 k-means seed
   * @param maxIterations        k-means iteration cap
   * @param selectionSampleUsers users sampled (by hash of user_id) to fit and score candidate k
   * @param silhouetteTolerance  silhouette difference below which two candidates count as equal
   * @param kChangeMinGain       silhouette gain another k needs over the previous run's k to replace it
   * @param minShare             personas smaller than this share of users are merged, 0..0.5
   * @param matchMaxDistance     largest centroid distance (standardised units) that keeps a
   *                             previous persona's id and name
   * @param features             clustering inputs
   * @param rules                rule personas, carved out before clustering; first match wins
   * @param maxCorrelation       of two inputs correlated at least this much (absolute), the later is left out
   * @param explainWith          Spark SQL over the features table that persona rules may use besides the inputs
   * @param naming               how personas are named
   * @param playbook             goal, channel and strategy rules over the persona profile; first match wins
   * @param playbookOtherwise    the play of personas no rule matches (its {@code when} is unused)
   * @param channels             how to tell, per channel, the share of a persona's users reachable on it
   * @param minReach             a channel is recommended only to personas with at least this share reachable
   * @param categoryInputs       the category-affinity inputs added to {@code features} where the data has categories
   */
  public record Personas(int kMin, int kMax, long seed, int maxIterations, int selectionSampleUsers,
                         double silhouetteTolerance, double kChangeMinGain, double minShare, double matchMaxDistance,
                         List<ClusterInput> features, List<RulePersona> rules, double maxCorrelation,
                         List<String> explainWith, Naming naming,
                         List<Play> playbook, Play playbookOtherwise, List<NamedExpr> channels, double minReach,
                         CategoryInputs categoryInputs) {
    public Personas {
      features = List.copyOf(features);
      rules = List.copyOf(rules);
      explainWith = List.copyOf(explainWith);
      playbook = List.copyOf(playbook);
      channels = List.copyOf(channels);
    }

    /** Settings without category-affinity inputs. */
    public Personas(int kMin, int kMax, long seed, int maxIterations, int selectionSampleUsers,
                    double silhouetteTolerance, double kChangeMinGain, double minShare, double matchMaxDistance,
                    List<ClusterInput> features, List<RulePersona> rules, double maxCorrelation,
                    List<String> explainWith, Naming naming,
                    List<Play> playbook, Play playbookOtherwise, List<NamedExpr> channels, double minReach) {
      this(kMin, kMax, seed, maxIterations, selectionSampleUsers, silhouetteTolerance, kChangeMinGain, minShare,
          matchMaxDistance, features, rules, maxCorrelation, explainWith, naming, playbook, playbookOtherwise, channels,
          minReach, CategoryInputs.NONE);
    }
  }

  /**
   * Category-affinity (interest) inputs: per category, the share of a user's shopping events in it.
   *
   * @param top      at most this many categories, those whose share varies most between users; 0 = none
   * @param minUsers a category needs at least this share (0..1) of every user shopping in it
   * @param weight   each standardised category input is multiplied by weight / sqrt(n): together
   *                 they count in the squared distance as weight^2 inputs (one at 1), however many
   * @param word     the adjective of a persona well above everyone in a category, %s = the category
   */
  public record CategoryInputs(int top, double minUsers, double weight, String word) {
    /** The category inputs' names: this and the category, lower case, other characters as _. */
    public static final String PREFIX = "category_";
    /** No category inputs. */
    public static final CategoryInputs NONE = new CategoryInputs(0, 0, 1, "%s-loving");
  }

  /**
   * A persona defined by a rule rather than found by clustering.
   *
   * @param name     the persona's name
   * @param when     Spark SQL condition over the features table
   * @param requires Spark SQL aggregate condition over the whole features table that must hold for
   *                 the rule to apply to a data set (e.g. that it has sessions at all); "" = always
   */
  public record RulePersona(String name, String when, String requires) {}

  /**
   * One engagement play of the playbook.
   *
   * @param when     Spark SQL condition over the persona profile
   * @param goal     what the marketer wants from these users
   * @param channels the channels in order of preference; the first the persona is reachable on is recommended
   * @param strategy the engagement strategy in a sentence
   */
  public record Play(String when, String goal, List<String> channels, String strategy) {
    public Play {
      channels = List.copyOf(channels);
    }
  }

  /**
   * One clustering input.
   *
   * @param name      its name in the personas table (centroid keys) and in naming rules
   * @param sql       Spark SQL expression over the features table, natural units; null counts as 0
   * @param transform applied before standardisation
   * @param describe  Spark SQL over the features table that the persona's traits report, natural
   *                  units (the input may cap or fill it: {@code least(tenure_days, 30)} describes
   *                  {@code tenure_days})
   * @param weight    multiplies the standardised input: 1 for a configured input
   */
  public record ClusterInput(String name, String sql, Transform transform, String describe, double weight) {

    /** An input of weight 1. */
    public ClusterInput(String name, String sql, Transform transform, String describe) {
      this(name, sql, transform, describe, 1.0);
    }

    /** An input that describes itself. */
    public ClusterInput(String name, String sql, Transform transform) {
      this(name, sql, transform, sql);
    }

    /** Whether traits compare medians (heavy-tailed inputs, which are transformed) or means (shares, rates). */
    public boolean byMedian() {
      return transform != Transform.NONE;
    }
  }

  /** A monotone transform applied to a clustering input before standardisation. */
  public enum Transform {
    /** The value as it is. */
    NONE,
    /** Sign-preserving log1p: sign(x) * ln(1 + |x|); tames heavy-tailed counts and money. */
    LOG1P,
    /** Sign-preserving square root. */
    SQRT;

    /** Spark SQL applying this transform to the expression {@code x}. */
    public String sql(String x) {
      return switch (this) {
        case NONE -> "(" + x + ")";
        case LOG1P -> "(signum(" + x + ") * log1p(abs(" + x + ")))";
        case SQRT -> "(signum(" + x + ") * sqrt(abs(" + x + ")))";
      };
    }
  }

  /**
   * Persona naming: adjectives from distinguishing inputs, a noun from rules, whole-name templates.
   *
   * @param minZ          smallest |standardised difference| that makes an input distinguishing
   * @param maxAdjectives at most this many adjectives per name
   * @param vocabulary    the words for a high or low value of an input
   * @param descriptors   per-persona aggregates over the features table, for nouns and templates
   * @param nouns         ordered noun rules over the persona profile; first match wins
   * @param nounOtherwise the noun when no rule matches
   * @param templates     ordered whole-name rules; each claims at most one persona
   */
  public record Naming(double minZ, int maxAdjectives, List<Word> vocabulary, List<NamedExpr> descriptors,
                       List<NamedExpr> nouns, String nounOtherwise, List<NamedExpr> templates) {
    public Naming {
      vocabulary = List.copyOf(vocabulary);
      descriptors = List.copyOf(descriptors);
      nouns = List.copyOf(nouns);
      templates = List.copyOf(templates);
    }

    /** This naming with {@code more} words (for inputs found in the data, such as categories). */
    public Naming withWords(List<Word> more) {
      List<Word> all = new java.util.ArrayList<>(vocabulary);
      all.addAll(more);
      return new Naming(minZ, maxAdjectives, all, descriptors, nouns, nounOtherwise, templates);
    }
  }

  /**
   * The words for one clustering input.
   *
   * @param feature the clustering input's name
   * @param high    word when the persona is well above the population; "" for none
   * @param low     word when the persona is well below the population; "" for none
   */
  public record Word(String feature, String high, String low) {}

  /**
   * KPI report settings.
   *
   * @param dimensions        columns of the segments or features tables that get KPI rows, or predicted
   *                          ones of the predictions table (left out when a run has no predictions)
   * @param significanceLevel false discovery rate of segment_kpis: a Benjamini–Hochberg q-value below
   *                          this (in holdout_uplift, a p-value) is significant
   * @param minEffect         how far from 1 a segment's lift must be for segment_kpis to mark it
   *                          significant (0.05: 5 % above or below the population)
   * @param dormantStages     lifecycle stages that count as dormant in dormant_share
   */
  public record Report(List<String> dimensions, double significanceLevel, double minEffect,
                       List<String> dormantStages) {
    public Report {
      dimensions = List.copyOf(dimensions);
      dormantStages = List.copyOf(dormantStages);
    }
  }

  /**
   * Personal data.
   *
   * @param salt            secret mixed into the hash of personal columns (sha2-256 of salt and value)
   * @param suppressionList users to leave out of every output of the run; a file or folder, "" for none
   * @param suppressionFormat format of the suppression list: text (one user_id per line), csv or parquet
   */
  public record Privacy(String salt, String suppressionList, String suppressionFormat) {
    /** No suppression list. */
    public static final Privacy NONE = new Privacy("", "", "text");

    /** True when a suppression list is configured. */
    public boolean suppresses() {
      return suppressionList != null && !suppressionList.isBlank();
    }
  }

  /**
   * Copy with other input and output paths, as the CLI's options give them.
   *
   * @throws ConfigException when a path holds a placeholder it cannot take, naming the option
   */
  public PersonasConfig withPaths(String eventsPath, String profilesPath, String output) {
    PathTemplate.checkInput("--events", eventsPath);
    PathTemplate.checkInput("--profiles", profilesPath);
    PathTemplate.checkFixed("--output", output, OUTPUT_TAKES_NO_PLACEHOLDER);
    return new PersonasConfig(
        origin,
        hash,
        timezone,
        sessionWindows,
        eventsPath == null ? events : events.withPath(eventsPath),
        profilesPath == null ? profiles : profiles.withPath(profilesPath),
        output == null ? outputPath : output,
        filesPerPartition,
        rowsPerFile,
        quality,
        rfm,
        lifecycle,
        holdout,
        personas,
        report,
        privacy,
        predict,
        catalog);
  }

  /** Why the output root takes no placeholder, for the messages of the loader and the CLI. */
  static final String OUTPUT_TAKES_NO_PLACEHOLDER =
      "the output root holds every date (<table>/dt=<date>/ below it) and takes no placeholder";

  /**
   * This configuration for one run date: {@code ${date}} in the input paths replaced by
   * {@code date}. Every run resolves its configuration so, when it starts.
   */
  public PersonasConfig forDate(java.time.LocalDate date) {
    SourceConfig e = events.forDate(date);
    SourceConfig p = profiles.forDate(date);
    if (e == events && p == profiles) {
      return this;
    }
    return new PersonasConfig(origin, hash, timezone, sessionWindows, e, p, outputPath, filesPerPartition, rowsPerFile,
        quality, rfm, lifecycle, holdout, personas, report, privacy, predict, catalog);
  }

  /**
   * The purchase and spend models of the PREDICT stage.
   *
   * @param enabled             false: the stage writes nothing
   * @param unitDays            the fit's time unit in days: 1 (days) or 7 (weeks)
   * @param horizonsDays        horizons of the expected purchases and the CLV, in days, ascending
   * @param penalty             L2 penalty on the parameters of both fits, per customer; 0 for none
   * @param monthlyDiscountRate discount of the CLV per 30-day month
   * @param propensity          the classifiers of purchase and churn, trained by backtest
   */
  public record Predict(boolean enabled, int unitDays, List<Integer> horizonsDays, double penalty,
                        double monthlyDiscountRate, Propensity propensity) {
    /** Copies the horizons: a configuration does not change. */
    public Predict {
      horizonsDays = List.copyOf(horizonsDays);
    }

    /** Whether the run trains the propensity classifiers (which needs the features as of D - H). */
    public boolean propensityEnabled() {
      return enabled && propensity.enabled();
    }
  }

  /**
   * Purchase propensity and churn risk: classifiers trained in the run on the features as of
   * D - H, labelled by what users did in (D - H, D], applied to the features as of D.
   *
   * @param enabled          false: no propensity columns, no model_metrics
   * @param horizonDays      H, in days
   * @param classifier       "gbt" (gradient-boosted trees) or "logistic" (logistic regression)
   * @param testShare        share of the backtest users held out to measure the models
   * @param maxTrainingUsers at most this many users are trained on (a sample, the same every run)
   * @param features         the feature columns the classifiers read (numeric or boolean)
   */
  public record Propensity(boolean enabled, int horizonDays, String classifier, double testShare,
                           long maxTrainingUsers, List<String> features) {
    /** Copies the features: a configuration does not change. */
    public Propensity {
      features = List.copyOf(features);
    }
  }
}
