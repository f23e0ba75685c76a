package io.github.personas.pipeline.report;

import java.util.List;
import java.util.Map;

/**
 * Everything the human report shows, already small and on the driver: plain values, so the
 * report can be rendered (and golden-tested) without Spark.
 *
 * @param runDate     the run date
 * @param version     the personas version
 * @param headline    population figures by name (users, buyers, revenue, conversion_rate, ...)
 * @param segments    KPI rows of every dimension
 * @param personas    one card per persona
 * @param kSelection  the k-selection curve
 * @param kReason     why the chosen k won
 * @param transitions persona moves since the previous run (empty on a first run)
 * @param history     persona sizes per earlier and this run date
 * @param quality     where the input rows went
 * @param predicted   what the PREDICT stage adds: mean scores per persona and RFM segment, the
 *                    propensity models' checks; {@link Predicted#NONE} when it did not run
 * @param significance what the significance marks of the KPI tables mean
 */
public record ReportData(String runDate, String version, Map<String, Object> headline, List<SegmentRow> segments,
                         List<PersonaCard> personas, List<KPoint> kSelection, String kReason,
                         List<Transition> transitions, List<HistoryPoint> history, List<QualityRow> quality,
                         Predicted predicted, Significance significance) {

  public ReportData {
    segments = List.copyOf(segments);
    personas = List.copyOf(personas);
    kSelection = List.copyOf(kSelection);
    transitions = List.copyOf(transitions);
    history = List.copyOf(history);
    quality = List.copyOf(quality);
    predicted = predicted == null ? Predicted.NONE : predicted;
    java.util.Objects.requireNonNull(significance, "significance");
  }

  /**
   * The predictions as the report shows them.
   *
   * @param clvDays        horizon of the CLV shown (the longest configured); null without CLV
   * @param propensityDays horizon of purchase propensity and churn risk; null without them
   * @param scores         mean scores per segment of persona_id and rfm_segment
   * @param metrics        the model_metrics rows: how well propensity and churn risk did on held-out users
   * @param pAliveWithheld whether P(alive) is left off the cards because it reads 1.00 for every
   *                       segment (a fit that sees nobody drop out): scores hold no P(alive) then
   */
  public record Predicted(Integer clvDays, Integer propensityDays, List<SegmentScores> scores,
                          List<ModelMetric> metrics, boolean pAliveWithheld) {

    /** No PREDICT stage, or predictions without scores: nothing predicted is shown. */
    public static final Predicted NONE = new Predicted(null, null, List.of(), List.of());

    public Predicted {
      scores = List.copyOf(scores);
      metrics = List.copyOf(metrics);
    }

    /** Scores as they are, P(alive) included where present. */
    public Predicted(Integer clvDays, Integer propensityDays, List<SegmentScores> scores, List<ModelMetric> metrics) {
      this(clvDays, propensityDays, scores, metrics, false);
    }

    /** The mean scores of {@code segment} of {@code dimension}, or null when there are none. */
    public SegmentScores of(String dimension, String segment) {
      return scores.stream().filter(s -> s.dimension().equals(dimension) && s.segment().equals(segment))
          .findFirst().orElse(null);
    }
  }

  /**
   * Mean scores of one segment, each over the segment's users who have the score; null when none has.
   *
   * @param dimension          persona_id or rfm_segment
   * @param segment            the persona id or RFM segment
   * @param users              users in the segment
   * @param pAlive             mean P(alive)
   * @param clv                mean CLV over the longest horizon
   * @param purchasePropensity mean purchase propensity (0..1)
   * @param churnRisk          mean churn risk (0..1)
   */
  public record SegmentScores(String dimension, String segment, long users, Double pAlive, Double clv,
                              Double purchasePropensity, Double churnRisk) {

    /** Whether any score is known. */
    public boolean any() {
      return pAlive != null || clv != null || purchasePropensity != null || churnRisk != null;
    }

    /** The same scores without P(alive). */
    public SegmentScores withoutPAlive() {
      return new SegmentScores(dimension, segment, users, null, clv, purchasePropensity, churnRisk);
    }
  }

  /**
   * One row of the model_metrics table.
   *
   * @param score       the score checked, e.g. purchase_propensity_30d
   * @param horizonDays its horizon
   * @param metric      auc_roc, auc_pr, base_rate, top_decile_lift, train_users, test_users; per
   *                    decile users, mean_score, observed_rate
   * @param decile      1 = the highest-scored tenth of the test users; null for a metric of the whole model
   * @param value       the value
   */
  public record ModelMetric(String score, int horizonDays, String metric, Integer decile, double value) {}

  /**
   * The bars a segment's KPI clears to be marked significant, so the report can say what a mark means.
   *
   * @param level     false discovery rate: a q-value below it is a discovery
   * @param minEffect how far from 1 the lift must be
   * @param tests     p-values in segment_kpis, the family the q-values are adjusted over
   */
  public record Significance(double level, double minEffect, int tests) {}

  /**
   * Headline KPIs of one segment, with lifts and significance flags.
   *
   * @param dimension      the dimension
   * @param segment        the segment
   * @param users          users
   * @param share          users / all users
   * @param conversionRate buyers / users
   * @param conversionLift conversion rate / the population's
   * @param conversionSignificant whether the conversion rate differs significantly from the rest, by at
   *                              least the minimum effect
   * @param arpu           revenue per user
   * @param arpuLift       ARPU / the population's
   * @param arpuSignificant whether ARPU differs significantly from the rest, by at least the minimum effect
   * @param activeRate30d  share of users active in 30 days
   */
  public record SegmentRow(String dimension, String segment, long users, double share, Double conversionRate,
                           Double conversionLift, boolean conversionSignificant, Double arpu, Double arpuLift,
                           boolean arpuSignificant, Double activeRate30d) {}

  /**
   * A persona as a person reads it.
   *
   * @param id        persona_id
   * @param name      persona_name
   * @param kind      rule or clustered
   * @param users     users
   * @param share     users / all users
   * @param rule      the rule that finds the persona (Spark SQL over the features table)
   * @param precision share of the users the rule matches who are in the persona
   * @param recall    share of the persona's users the rule matches
   * @param traits    defining traits in words with numbers, most distinguishing first
   * @param goal      the play's goal
   * @param channel   the channel recommended, or null when the data shows none the persona is reachable on
   * @param strategy  the play's strategy
   */
  public record PersonaCard(String id, String name, String kind, long users, double share, String rule,
                            double precision, double recall, List<String> traits, String goal, String channel,
                            String strategy) {
    public PersonaCard {
      traits = List.copyOf(traits);
    }

    /** The play in one sentence. */
    public String play() {
      return String.format("%s. %s. %s.", goal, channel == null
          ? "No channel: the data shows none these users are reachable on" : "Channel: " + channel, strategy);
    }
  }

  /**
   * One candidate k.
   *
   * @param k          clusters
   * @param cost       within-cluster sum of squares on the sample
   * @param silhouette silhouette on the sample (NaN if undefined)
   * @param chosen     the run's k
   */
  public record KPoint(int k, double cost, double silhouette, boolean chosen) {}

  /**
   * Users moving between personas.
   *
   * @param from  the previous run's persona, or (new)
   * @param to    this run's persona, or (gone)
   * @param users users
   */
  public record Transition(String from, String to, long users) {}

  /**
   * A persona's size on a run date.
   *
   * @param runDate the run date
   * @param segment the persona id
   * @param users   users
   */
  public record HistoryPoint(String runDate, String segment, long users) {}

  /**
   * One line of the data-quality summary.
   *
   * @param source   events or profiles
   * @param what     read, accepted, quarantined: reason, duplicates, filtered
   * @param rows     rows
   */
  public record QualityRow(String source, String what, long rows) {}
}
