package io.github.personas.pipeline.run;

import static org.apache.spark.sql.functions.col;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.predict.BgNbd;
import io.github.personas.pipeline.predict.CustomerValue;
import io.github.personas.pipeline.predict.Discrimination;
import io.github.personas.pipeline.predict.Propensity;
import io.github.personas.pipeline.predict.GammaGamma;
import io.github.personas.pipeline.predict.PurchaseHistories;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Stage 4: each user's predicted value and intent (docs/predict.md) in the {@code predictions}
 * table: the purchase and spend models of every buyer (BG/NBD and Gamma-Gamma, fitted on this
 * run's features), purchase propensity and churn risk (classifiers trained by backtest on the
 * features as of D - H, measured in {@code model_metrics}), and tiers for targeting.
 *
 * <p>The fits see distinct histories with counts, collected to the driver: their cost does not
 * grow with users. The scores are columns computed in place over the features with the fitted
 * parameters and models (no join), cached once with the features beside them for the segment
 * stage; the classifiers train on a hash sample of the backtest's users.
 */
public final class PredictStage {

  /**
   * The stage's result.
   *
   * @param predictions one row per user of the features: the purchase models' scores (null for users
   *                    who never bought), the propensities (null without a model) and the tiers
   * @param featuresWithPredictions the features with the predictions' columns beside them, computed
   *                    in place (no join) and cached: what the segment stage reads, so lifecycle rules
   *                    can use the scores and the report needs no join; the features as they are
   *                    when the stage is off
   * @param users       its rows
   * @param details     the fits, for the summary's {@code details.predict}; null when the stage is off
   * @param report      what the stage did
   * @param modelMetrics the model_metrics rows of the propensity models trained; empty without them
   */
  public record Result(Dataset<Row> predictions, Dataset<Row> featuresWithPredictions, long users,
                       Map<String, Object> details, StageReport report, List<Row> modelMetrics) {
    public Result {
      modelMetrics = modelMetrics == null ? List.of() : List.copyOf(modelMetrics);
    }
  }

  private static final org.apache.logging.log4j.Logger PROGRESS =
      org.apache.logging.log4j.LogManager.getLogger(PredictStage.class);

  private final RunContext ctx;

  public PredictStage(RunContext ctx) {
    this.ctx = ctx;
  }

  /**
   * Checks, before anything is read, that the propensity models can read their configured columns.
   *
   * @param emptyFeatures the features table's columns ({@link FeaturesStage#empty})
   * @throws io.github.personas.pipeline.config.ConfigException naming each column that cannot be read
   */
  public void checkColumns(Dataset<Row> emptyFeatures) {
    if (!ctx.config().predict().propensityEnabled()) {
      return;
    }
    List<String> problems = new Propensity(ctx.config().predict().propensity()).unusableColumns(emptyFeatures);
    if (!problems.isEmpty()) {
      throw io.github.personas.pipeline.config.ConfigException.of(
          "personas.predict.propensity.features: %s (docs/features.md lists the columns)", String.join("; ", problems));
    }
  }

  /**
   * Fits the purchase models on {@code features}, trains the classifiers on {@code backtest} (null:
   * none, with a warning), scores every user and writes predictions and model_metrics.
   */
  public Result run(Dataset<Row> features, FeaturesStage.Backtest backtest, Caches caches) {
    try (StageLog log = StageLog.start(Stage.PREDICT, ctx)) {
      PersonasConfig.Predict cfg = ctx.config().predict();
      if (!cfg.enabled()) {
        return new Result(null, features, 0, null, log.finish(), List.of());
      }
      // Read twice (histories, spends): a filter and a projection of the features, not worth a cache.
      Dataset<Row> perUser = PurchaseHistories.perUser(features, ctx.date(), cfg.unitDays());
      long t = System.nanoTime();
      List<BgNbd.History> histories = PurchaseHistories.histories(perUser);
      Map<String, Object> details = new LinkedHashMap<>();
      details.put("time_unit", cfg.unitDays() == 7 ? "weeks" : "days");
      BgNbd.Params bg = null;
      GammaGamma.Params gg = null;
      BgNbd.Fit fit = null;
      if (histories.isEmpty()) {
        log.warn("No user bought anything: no purchase model, the predictions are null");
      } else {
        long fitStart = System.nanoTime();
        fit = fitOrWarn(() -> BgNbd.fit(histories, cfg.penalty()), "BG/NBD", log);
        PROGRESS.info("Predict: {} purchase histories collected in {} s, BG/NBD fitted on them in {} s",
            histories.size(), StageLog.seconds(t, fitStart), StageLog.seconds(fitStart));
      }
      if (fit != null) {
        bg = fit.params();
        details.put("r", bg.r());
        details.put("alpha", bg.alpha());
        details.put("a", bg.a());
        details.put("b", bg.b());
        details.put("log_likelihood", fit.logLikelihood());
        details.put("evaluations", fit.evaluations());
        details.put("buyers", fit.customers());
        details.put("histories", fit.histories());
        details.put("at_bound", fit.atBound());
        if (fit.atBound()) {
          log.warn(String.format("BG/NBD: the data does not pin the drop-out down (r=%.4g, alpha=%.4g, a=%.4g,"
              + " b=%.4g): few buyers are seen stopping, so P(alive) is near 1 for everyone", bg.r(), bg.alpha(),
              bg.a(), bg.b()));
        }
        List<GammaGamma.Spend> spends = PurchaseHistories.spends(perUser);
        if (spends.isEmpty()) {
          log.warn("No repeat buyer: no spend model, expected_order_value and clv are null");
        }
        long ggStart = System.nanoTime();
        GammaGamma.Fit g = spends.isEmpty() ? null
            : fitOrWarn(() -> GammaGamma.fit(spends, cfg.penalty()), "Gamma-Gamma", log);
        if (g != null) {
          PROGRESS.info("Predict: Gamma-Gamma fitted on {} spend histories in {} s", spends.size(),
              StageLog.seconds(ggStart));
        }
        if (g != null) {
          gg = g.params();
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("p", gg.p());
          m.put("q", gg.q());
          m.put("v", gg.v());
          m.put("log_likelihood", g.logLikelihood());
          m.put("repeat_buyers", g.buyers());
          details.put("gamma_gamma", m);
        }
        // Seconds in the log, not the summary: a summary is the same for the same input.
        PROGRESS.info("Predict: the purchase and spend models in {} s: {}", StageLog.seconds(t), details);
      }
      // Every score is a column computed in place over the features: no join, and the segment
      // stage reads the same rows (a join with the wide features cost the report 7 s at 500k users).
      Dataset<Row> scored = bg == null ? withNullScores(features, cfg) : withScores(features, bg, gg, cfg, ctx.date());
      Propensities propensities = propensities(scored, backtest, bg, caches, log, details);
      Dataset<Row> users = tiers(caches.persist(propensities.users()), cfg);
      Dataset<Row> predictions = users.select(columns(cfg).stream().map(c -> col(c))
          .toArray(org.apache.spark.sql.Column[]::new));
      String first = "expected_purchases_" + cfg.horizonsDays().get(0) + "d";
      Row counted = users.agg(org.apache.spark.sql.functions.count(org.apache.spark.sql.functions.lit(1)),
          org.apache.spark.sql.functions.expr("count_if(p_alive IS NOT NULL AND " + first + " IS NULL)")).first();
      long n = counted.getLong(0);
      if (bg != null) {
        long unscored = counted.getLong(1);
        details.put("buyers_without_score", unscored);
        if (unscored > 0) {
          log.warn(String.format("BG/NBD: %d buyers could not be scored (the expectation's series did not settle"
              + " for their history under these parameters); their expected purchases and CLV are null", unscored));
        }
      }
      log.write(OutputWriter.PREDICTIONS, predictions, n);
      if (!propensities.metrics().isEmpty()) {
        Dataset<Row> metrics = ctx.spark().createDataFrame(propensities.metrics(), METRICS_SCHEMA).coalesce(1);
        log.write(OutputWriter.MODEL_METRICS, metrics, propensities.metrics().size());
      }
      return new Result(predictions, users, n, details, log.finish(), propensities.metrics());
    }
  }

  /**
   * {@code features} with the predictions this date has published beside them, for a run of the
   * segment stage without the predict stage; as they are, with a warning, when the date has none;
   * as they are when the stage is off.
   */
  public static Dataset<Row> withPublished(RunContext ctx, Dataset<Row> features) {
    return withPublished(ctx, features, true);
  }

  /** {@link #withPublished(RunContext, Dataset)}, warning or not (a check of the rules before the run does not). */
  static Dataset<Row> withPublished(RunContext ctx, Dataset<Row> features, boolean warn) {
    if (!ctx.config().predict().enabled()) {
      return features;
    }
    if (!ctx.out().has(OutputWriter.PREDICTIONS)) {
      if (!warn) {
        return features;
      }
      // Without them: a rule that reads a score fails its check, naming the column, rather than
      // seeing nulls and matching nobody.
      PROGRESS.warn("No predictions published for {}: the segments are built on the features alone (run"
          + " `personas predict` for the date first where rules read the scores)", ctx.date());
      return features;
    }
    Dataset<Row> published = ctx.out().read(OutputWriter.PREDICTIONS);
    List<String> have = List.of(features.columns());
    List<org.apache.spark.sql.Column> cols = new ArrayList<>(List.of(published.col("user_id").as("predicted_user_id")));
    for (String c : published.columns()) {
      if (!have.contains(c)) {
        cols.add(published.col(c));
      }
    }
    Dataset<Row> p = published.select(cols.toArray(org.apache.spark.sql.Column[]::new));
    return features.join(p, features.col("user_id").equalTo(p.col("predicted_user_id")), "left_outer")
        .drop("predicted_user_id");
  }

  /** The scores' columns after user_id: P(alive), expected purchases per horizon, order value, CLV per horizon. */
  static StructType schema(PersonasConfig.Predict cfg) {
    List<StructField> f = new ArrayList<>();
    f.add(DataTypes.createStructField("user_id", DataTypes.StringType, false));
    f.add(DataTypes.createStructField("p_alive", DataTypes.DoubleType, true));
    cfg.horizonsDays().forEach(h -> f.add(DataTypes.createStructField("expected_purchases_" + h + "d",
        DataTypes.DoubleType, true)));
    f.add(DataTypes.createStructField("expected_order_value", DataTypes.DoubleType, true));
    cfg.horizonsDays().forEach(h -> f.add(DataTypes.createStructField("clv_" + h + "d", DataTypes.DoubleType, true)));
    return DataTypes.createStructType(f);
  }

  /** {@code features} with the purchase model's columns, null: no buyer, or no fit. */
  private static Dataset<Row> withNullScores(Dataset<Row> features, PersonasConfig.Predict cfg) {
    List<org.apache.spark.sql.Column> out = new ArrayList<>(List.of(col("*")));
    for (StructField f : schema(cfg).fields()) {
      if (!f.name().equals("user_id")) {
        out.add(org.apache.spark.sql.functions.lit(null).cast(f.dataType()).as(f.name()));
      }
    }
    return features.select(out.toArray(org.apache.spark.sql.Column[]::new));
  }

  /**
   * A features table without rows with the predictions' columns beside the features: what the
   * segment stage's rules are checked against when the stage is on.
   */
  public Dataset<Row> withEmptyPredictions(Dataset<Row> emptyFeatures) {
    PersonasConfig.Predict cfg = ctx.config().predict();
    if (!cfg.enabled()) {
      return emptyFeatures;
    }
    List<org.apache.spark.sql.Column> out = new ArrayList<>(List.of(col("*")));
    for (String c : columns(cfg)) {
      if (!c.equals("user_id")) {
        DataType t = c.equals("value_tier") || c.equals("churn_risk_band") ? DataTypes.StringType
            : c.equals("propensity_decile") ? DataTypes.IntegerType : DataTypes.DoubleType;
        out.add(org.apache.spark.sql.functions.lit(null).cast(t).as(c));
      }
    }
    return emptyFeatures.select(out.toArray(org.apache.spark.sql.Column[]::new));
  }

  /** The columns of model_metrics: one row per figure of a propensity model. */
  public static final StructType METRICS_SCHEMA = new StructType()
      .add("score", DataTypes.StringType, false)
      .add("horizon_days", DataTypes.IntegerType, false)
      .add("metric", DataTypes.StringType, false)
      .add("decile", DataTypes.IntegerType, true)
      .add("value", DataTypes.DoubleType, false);

  /**
   * The users with their propensity scores, or null columns.
   *
   * @param users   the rows scored, with a column per propensity model (null when the models are off or failed)
   * @param metrics the held-out figures of the models trained, for model_metrics
   */
  private record Propensities(Dataset<Row> users, List<Row> metrics) {}

  /**
   * Trains the purchase and churn classifiers on the backtest and scores every user of
   * {@code users} (rows of the features) with them; a model that cannot be trained is a warning
   * and a null column.
   */
  private Propensities propensities(Dataset<Row> users, FeaturesStage.Backtest backtest, BgNbd.Params bg,
                                    Caches caches, StageLog log, Map<String, Object> details) {
    PersonasConfig.Predict cfg = ctx.config().predict();
    int h = cfg.propensity().horizonDays();
    List<org.apache.spark.sql.Column> nulls = new ArrayList<>(List.of(col("*")));
    for (Propensity.Outcome o : Propensity.Outcome.values()) {
      nulls.add(org.apache.spark.sql.functions.lit(null).cast(DataTypes.DoubleType).as(o.column(h)));
    }
    Dataset<Row> none = users.select(nulls.toArray(org.apache.spark.sql.Column[]::new));
    if (!cfg.propensityEnabled()) {
      return new Propensities(none, List.of());
    }
    if (backtest == null) {
      log.warn("Propensity: no features as of " + ctx.date().minusDays(h) + " (D - " + h + " days): they are folded"
          + " by VALIDATE and FEATURES in the same run, or read from a published features partition of that date;"
          + " purchase_propensity and churn_risk are null");
      return new Propensities(none, List.of());
    }
    Propensity model = new Propensity(cfg.propensity());
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("horizon_days", h);
    summary.put("backtest_date", backtest.date().toString());
    summary.put("classifier", cfg.propensity().classifier());
    details.put("propensity", summary);
    // Only the columns the models and the purchase model read: the backtest's other features are
    // never computed, and the cached rows and the labels' join are a fraction as wide.
    Dataset<Row> backtestFeatures = caches.persist(backtest.features().select(model.reads(backtest.features())));
    long t0 = System.nanoTime();
    long backtestUsers = backtestFeatures.count();
    PROGRESS.info("Predict: {} users seen by {} (the backtest) in {} s", backtestUsers, backtest.date(),
        StageLog.seconds(t0));
    summary.put("backtest_users", backtestUsers);
    // The purchase model as of D - H is an input of the classifiers when both fits exist.
    BgNbd.Params bgBack = null;
    if (bg != null) {
      t0 = System.nanoTime();
      List<BgNbd.History> backHistories = PurchaseHistories.histories(
          PurchaseHistories.perUser(backtestFeatures, backtest.date(), cfg.unitDays()));
      BgNbd.Fit backFit = backHistories.isEmpty() ? null
          : fitOrWarn(() -> BgNbd.fit(backHistories, cfg.penalty()), "BG/NBD as of " + backtest.date(), log);
      bgBack = backFit == null ? null : backFit.params();
      PROGRESS.info("Predict: BG/NBD as of {} fitted on {} histories in {} s", backtest.date(),
          backHistories.size(), StageLog.seconds(t0));
    }
    double horizonUnits = (double) h / cfg.unitDays();
    Dataset<Row> scored = users;
    if (bgBack != null) {
      summary.put("purchase_model_inputs", Propensity.PURCHASE_MODEL_INPUTS);
      backtestFeatures = Propensity.withPurchaseModel(backtestFeatures, backtest.date(), cfg.unitDays(), bgBack,
          horizonUnits);
      scored = Propensity.withPurchaseModel(users, ctx.date(), cfg.unitDays(), bg, horizonUnits);
    }
    List<Row> metrics = new ArrayList<>();
    Dataset<Row> labelled = caches.persist(model.labelled(backtestFeatures, users, backtest.date()));
    List<String> scores = new ArrayList<>();
    for (Propensity.Outcome o : Propensity.Outcome.values()) {
      long t = System.nanoTime();
      Propensity.Trained trained;
      try {
        trained = model.train(labelled, o);
        save(trained, o.column(h), log);
      } catch (RuntimeException e) {
        // Too little data, or a failure of the fit: the night's other tables still publish.
        log.warn(String.format("Propensity: no %s model (%s users seen by %s: %s); its column is null",
            o.column(h), backtestUsers, backtest.date(),
            io.github.personas.pipeline.config.ConfigException.firstLine(e)));
        continue;
      }
      Discrimination.Figures f = trained.figures();
      PROGRESS.info("Predict: {} trained on {} users in {} s: AUC-ROC {} on {} held out", o.column(h),
          trained.trainUsers(), StageLog.seconds(t), String.format("%.4f", f.aucRoc()), f.users());
      summary.put(o.column(h), figures(trained));
      metrics.addAll(metricRows(o.column(h), h, trained));
      scored = Propensity.score(trained, scored, h);
      scores.add(o.column(h));
    }
    // Only trees that scored tonight's users make their range a concern: without a model the
    // warning would send a user to tune inputs nothing read.
    if (!scores.isEmpty() && cfg.propensity().classifier().equals("gbt")) {
      t0 = System.nanoTime();
      List<String> beyond = model.beyondTraining(backtestFeatures, users, 0.2);
      PROGRESS.info("Predict: tonight's inputs against the backtest's ranges in {} s", StageLog.seconds(t0));
      if (!beyond.isEmpty()) {
        log.warn("Propensity: trees cannot extrapolate, and tonight's users lie outside the backtest's on "
            + String.join("; ", beyond) + ". Their scores are those of the backtest's most extreme users: leave"
            + " such inputs out of personas.predict.propensity.features, or set classifier = logistic"
            + " (docs/predict.md)");
      }
    }
    List<org.apache.spark.sql.Column> out = new ArrayList<>();
    for (String c : users.columns()) {
      out.add(col("`" + c + "`"));
    }
    for (Propensity.Outcome o : Propensity.Outcome.values()) {
      out.add(scores.contains(o.column(h)) ? col(o.column(h))
          : org.apache.spark.sql.functions.lit(null).cast(DataTypes.DoubleType).as(o.column(h)));
    }
    return new Propensities(scored.select(out.toArray(org.apache.spark.sql.Column[]::new)), metrics);
  }

  /** A model's held-out figures, for the summary. */
  private static Map<String, Object> figures(Propensity.Trained trained) {
    Discrimination.Figures f = trained.figures();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("train_users", trained.trainUsers());
    m.put("test_users", f.users());
    m.putAll(f.headline());
    return m;
  }

  /** A model's rows of model_metrics: its figures, then users, mean score and observed rate per decile. */
  private static List<Row> metricRows(String score, int horizon, Propensity.Trained trained) {
    List<Row> rows = new ArrayList<>();
    figures(trained).forEach((k, v) -> rows.add(RowFactory.create(score, horizon, k, null,
        ((Number) v).doubleValue())));
    for (Discrimination.Decile d : trained.figures().deciles()) {
      rows.add(RowFactory.create(score, horizon, "users", d.decile(), (double) d.users()));
      rows.add(RowFactory.create(score, horizon, "mean_score", d.decile(), d.meanScore()));
      rows.add(RowFactory.create(score, horizon, "observed_rate", d.decile(), d.observedRate()));
    }
    return rows;
  }

  /** Saves a model under prediction_models/dt=D/&lt;score&gt;/ (staged with the tables). */
  private void save(Propensity.Trained trained, String score, StageLog log) {
    String path = ctx.out().writePath(OutputWriter.PREDICTION_MODELS) + "/" + score;
    try {
      trained.model().write().overwrite().save(path);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("Cannot save the " + score + " model to " + path, e);
    }
    log.file(score, ctx.out().partition(OutputWriter.PREDICTION_MODELS) + "/" + score);
  }

  /**
   * Adds value_tier (by the longest horizon's CLV), propensity_decile (1 = most likely to buy)
   * and churn_risk_band: the predictions as segments a marketer can target.
   */
  static Dataset<Row> tiers(Dataset<Row> predictions, PersonasConfig.Predict cfg) {
    String clv = "clv_" + cfg.horizonsDays().get(cfg.horizonsDays().size() - 1) + "d";
    String propensity = Propensity.Outcome.PURCHASE.column(cfg.propensity().horizonDays());
    String churn = Propensity.Outcome.CHURN.column(cfg.propensity().horizonDays());
    // Tiers are cut on the values with their ties broken by a hash of the user id: trees give few
    // distinct scores and one-time buyers of a day share a CLV, and a tied block would otherwise
    // land whole in one tier (60 % of users in "decile 4"). The nudge is a billionth of the value.
    String clvValue = clv;
    String propensityValue = propensity;
    clv = "tier_clv";
    propensity = "tier_propensity";
    predictions = predictions.withColumn(clv, org.apache.spark.sql.functions.expr(tieBroken(clvValue)))
        .withColumn(propensity, org.apache.spark.sql.functions.expr(tieBroken(propensityValue)));
    // One pass for both columns' quantiles.
    double[][] cuts = edges(predictions, new String[] {clv, propensity}, new double[] {0.4, 0.7, 0.9},
        new double[] {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9});
    double[] clvEdges = cuts[0];
    double[] deciles = cuts[1];
    String valueTier = clvEdges == null ? "CASE WHEN NOT is_buyer THEN 'No purchase yet' ELSE 'Unknown' END"
        : String.format(java.util.Locale.ROOT, "CASE WHEN NOT is_buyer THEN 'No purchase yet'"
            + " WHEN %1$s IS NULL THEN 'Unknown' WHEN %1$s >= %4$s THEN 'Top 10%%' WHEN %1$s >= %3$s THEN 'Next 20%%'"
            + " WHEN %1$s >= %2$s THEN 'Middle 30%%' ELSE 'Bottom 40%%' END", clv, literal(clvEdges[0]),
            literal(clvEdges[1]), literal(clvEdges[2]));
    StringBuilder decile = new StringBuilder("CAST(NULL AS INT)");
    if (deciles != null) {
      decile = new StringBuilder("CASE WHEN " + propensity + " IS NULL THEN CAST(NULL AS INT) ELSE 10");
      for (double e : deciles) {
        decile.append(" - CASE WHEN ").append(propensity).append(" >= ").append(literal(e)).append(" THEN 1 ELSE 0 END");
      }
      decile.append(" END");
    }
    return predictions
        .withColumn("value_tier", org.apache.spark.sql.functions.expr(valueTier))
        .withColumn("propensity_decile", org.apache.spark.sql.functions.expr(decile.toString()))
        .withColumn("churn_risk_band", org.apache.spark.sql.functions.expr("CASE WHEN " + churn
            + " IS NULL THEN 'Unknown' WHEN " + churn + " >= 0.7 THEN 'High' WHEN " + churn
            + " >= 0.3 THEN 'Medium' ELSE 'Low' END"))
        .drop(clv, propensity);
  }

  /** The predictions table's columns, in order. */
  static List<String> columns(PersonasConfig.Predict cfg) {
    List<String> out = new ArrayList<>(List.of(schema(cfg).fieldNames()));
    for (Propensity.Outcome o : Propensity.Outcome.values()) {
      out.add(o.column(cfg.propensity().horizonDays()));
    }
    out.addAll(List.of("value_tier", "propensity_decile", "churn_risk_band"));
    return out;
  }

  /** {@code column} plus a billionth of its size times a hash fraction of the user id: ties broken, order kept. */
  private static String tieBroken(String column) {
    return column + " + 1e-9D * (1D + abs(" + column + ")) * (pmod(xxhash64('tier', user_id), 1000000) / 1e6D)";
  }

  /**
   * The quantiles {@code probabilities[i]} of each column's non-null values, in one pass; null for
   * a column without any.
   */
  private static double[][] edges(Dataset<Row> df, String[] columns, double[]... probabilities) {
    // approxQuantile of several columns takes one set of probabilities: the union, then each column's own.
    java.util.TreeSet<Double> all = new java.util.TreeSet<>();
    for (double[] p : probabilities) {
      java.util.Arrays.stream(p).forEach(all::add);
    }
    double[] union = all.stream().mapToDouble(Double::doubleValue).toArray();
    // Nulls are ignored by approxQuantile, column by column.
    double[][] q = df.stat().approxQuantile(columns, union, 1e-4);
    double[][] out = new double[columns.length][];
    for (int c = 0; c < columns.length; c++) {
      if (q[c].length == 0 || java.util.Arrays.stream(q[c]).anyMatch(Double::isNaN)) {
        continue;
      }
      out[c] = new double[probabilities[c].length];
      for (int i = 0; i < probabilities[c].length; i++) {
        out[c][i] = q[c][java.util.Arrays.binarySearch(union, probabilities[c][i])];
      }
    }
    return out;
  }

  private static String literal(double v) {
    return "CAST('" + v + "' AS DOUBLE)";
  }

  /**
   * {@code features} with each buyer's scores under the fitted parameters (null for users who
   * never bought): a column computed in place, nothing collected and nothing joined.
   */
  private static Dataset<Row> withScores(Dataset<Row> features, BgNbd.Params bg, GammaGamma.Params gg,
                                         PersonasConfig.Predict cfg, java.time.LocalDate date) {
    List<Integer> horizons = cfg.horizonsDays();
    double unit = cfg.unitDays();
    double discount = cfg.monthlyDiscountRate();
    StructType scores = new StructType(java.util.Arrays.stream(schema(cfg).fields())
        .filter(f -> !f.name().equals("user_id")).toArray(StructField[]::new));
    org.apache.spark.sql.api.java.UDF4<Double, Double, Double, Double, Row> scoreOne = (x, tx, t, mean) -> {
      BgNbd.History h = new BgNbd.History(x, tx, t, 1);
      // The horizons and the CLV's month ends share days (30 and 90 are month ends of 365):
      // each expectation is computed once per buyer.
      Map<Integer, Double> upTo = new java.util.HashMap<>();
      java.util.function.IntToDoubleFunction expected = days -> upTo.computeIfAbsent(days,
          d -> BgNbd.expectedPurchases(bg, h, d / unit));
      Object[] out = new Object[1 + 2 * horizons.size() + 1];
      int i = 0;
      out[i++] = BgNbd.pAlive(bg, h);
      for (int d : horizons) {
        out[i++] = orNull(() -> expected.applyAsDouble(d));
      }
      // A repeat buyer whose refunds outweigh their repeat purchases is valued as a new one.
      Double orderValue = gg == null ? null
          : mean != null && mean > 0 ? GammaGamma.expectedOrderValue(gg, x, mean)
          : finiteOrNull(gg.populationMean());
      out[i++] = orderValue;
      for (int d : horizons) {
        out[i++] = orderValue == null ? null : orNull(() -> CustomerValue.discounted(expected, orderValue, d,
            discount));
      }
      return RowFactory.create(out);
    };
    org.apache.spark.sql.Column[] h = PurchaseHistories.columns(date, unit);
    String tmp = "__scores";
    List<org.apache.spark.sql.Column> out = new ArrayList<>(List.of(col("*")));
    for (StructField f : scores.fields()) {
      out.add(col(tmp + "." + f.name()).as(f.name()));
    }
    return features.withColumn(tmp, org.apache.spark.sql.functions.when(PurchaseHistories.BUYER,
            org.apache.spark.sql.functions.udf(scoreOne, scores).apply(h[0], h[1], h[2], h[3])))
        .select(out.toArray(org.apache.spark.sql.Column[]::new)).drop(tmp);
  }

  /**
   * A fit, or null with a warning when the search fails: the run publishes its segments and the
   * predictions are null, rather than the night's run failing on a model.
   */
  private static <T> T fitOrWarn(java.util.function.Supplier<T> fit, String model, StageLog log) {
    try {
      return fit.get();
    } catch (RuntimeException e) {
      log.warn(String.format("%s could not be fitted (%s): its predictions are null", model,
          io.github.personas.pipeline.config.ConfigException.firstLine(e)));
      return null;
    }
  }

  private static Double finiteOrNull(double v) {
    return Double.isFinite(v) ? v : null;
  }

  /**
   * A score, or null when the series behind it does not settle for this buyer's history (a fit
   * with degenerate parameters): one buyer without a score, counted in a warning, not a failed run.
   */
  private static Double orNull(java.util.function.DoubleSupplier score) {
    try {
      return finiteOrNull(score.getAsDouble());
    } catch (IllegalArgumentException e) {
      return null;
    }
  }
}
