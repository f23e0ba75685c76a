package io.github.personas.pipeline.run;

import static org.apache.spark.sql.functions.col;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import io.github.personas.pipeline.io.OutputWriter;
import io.github.personas.pipeline.predict.BgNbd;
import io.github.personas.pipeline.predict.CustomerValue;
import io.github.personas.pipeline.predict.GammaGamma;
import io.github.personas.pipeline.predict.PurchaseHistories;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.api.java.function.MapFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Stage 4: the purchase and spend models of every buyer, fitted on this run's features (BG/NBD
 * and Gamma-Gamma, docs/predict.md), and each user's scores in the {@code predictions} table.
 *
 * <p>The fits see distinct histories with counts, collected to the driver: their cost does not
 * grow with users. Scoring is a map over the buyers with the fitted parameters.
 */
public final class PredictStage {

  /**
   * The stage's result.
   *
   * @param predictions one row per user of the features: the scores, null for users who never bought
   * @param users       its rows
   * @param details     the fits, for the summary's {@code details.predict}; null when the stage is off
   * @param report      what the stage did
   */
  public record Result(Dataset<Row> predictions, long users, Map<String, Object> details, StageReport report) {}

  private final RunContext ctx;

  public PredictStage(RunContext ctx) {
    this.ctx = ctx;
  }

  /** Fits both models on {@code features}, scores every buyer and writes the predictions table. */
  public Result run(Dataset<Row> features, Caches caches) {
    try (StageLog log = StageLog.start(Stage.PREDICT, ctx)) {
      PersonasConfig.Predict cfg = ctx.config().predict();
      if (!cfg.enabled()) {
        return new Result(null, 0, null, log.finish());
      }
      Dataset<Row> perUser = caches.persist(PurchaseHistories.perUser(features, ctx.date(), cfg.unitDays()));
      List<BgNbd.History> histories = PurchaseHistories.histories(perUser);
      Map<String, Object> details = new LinkedHashMap<>();
      details.put("time_unit", cfg.unitDays() == 7 ? "weeks" : "days");
      BgNbd.Params bg = null;
      GammaGamma.Params gg = null;
      long t = System.nanoTime();
      BgNbd.Fit fit = null;
      if (histories.isEmpty()) {
        log.warn("No user bought anything: no purchase model, the predictions are null");
      } else {
        fit = fitOrWarn(() -> BgNbd.fit(histories, cfg.penalty()), "BG/NBD", log);
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
        GammaGamma.Fit g = spends.isEmpty() ? null
            : fitOrWarn(() -> GammaGamma.fit(spends, cfg.penalty()), "Gamma-Gamma", log);
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
        org.apache.logging.log4j.LogManager.getLogger(PredictStage.class).info("Predict: BG/NBD fitted in {} s: {}",
            StageLog.seconds(t), details);
      }
      Dataset<Row> scores = bg == null ? null : score(perUser, bg, gg, cfg);
      Dataset<Row> users = features.select(col("user_id"));
      Dataset<Row> predictions = scores == null
          ? users.select(nullColumns(cfg))
          : users.join(scores, users.col("user_id").equalTo(scores.col("user_id")), "left_outer")
              .drop(scores.col("user_id"));
      predictions = caches.persist(predictions);
      long n = predictions.count();
      if (scores != null) {
        long unscored = predictions.where(col("p_alive").isNotNull()
            .and(col("expected_purchases_" + cfg.horizonsDays().get(0) + "d").isNull())).count();
        details.put("buyers_without_score", unscored);
        if (unscored > 0) {
          log.warn(String.format("BG/NBD: %d buyers could not be scored (the expectation's series did not settle"
              + " for their history under these parameters); their expected purchases and CLV are null", unscored));
        }
      }
      log.write(OutputWriter.PREDICTIONS, predictions, n);
      return new Result(predictions, n, details, log.finish());
    }
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

  private static org.apache.spark.sql.Column[] nullColumns(PersonasConfig.Predict cfg) {
    return java.util.Arrays.stream(schema(cfg).fields()).map(f -> f.name().equals("user_id") ? col("user_id")
        : org.apache.spark.sql.functions.lit(null).cast(f.dataType()).as(f.name()))
        .toArray(org.apache.spark.sql.Column[]::new);
  }

  /** Each buyer's scores with the fitted parameters: a map over the buyers, nothing collected. */
  private static Dataset<Row> score(Dataset<Row> perUser, BgNbd.Params bg, GammaGamma.Params gg,
                                    PersonasConfig.Predict cfg) {
    List<Integer> horizons = cfg.horizonsDays();
    double unit = cfg.unitDays();
    double discount = cfg.monthlyDiscountRate();
    MapFunction<Row, Row> scoreOne = r -> {
      double x = r.getDouble(1);
      BgNbd.History h = new BgNbd.History(x, r.getDouble(2), r.getDouble(3), 1);
      Object[] out = new Object[2 + 2 * horizons.size() + 1];
      int i = 0;
      out[i++] = r.getString(0);
      out[i++] = BgNbd.pAlive(bg, h);
      for (int d : horizons) {
        out[i++] = orNull(() -> BgNbd.expectedPurchases(bg, h, d / unit));
      }
      // A repeat buyer whose refunds outweigh their repeat purchases is valued as a new one.
      Double mean = r.isNullAt(4) ? null : r.getDouble(4);
      Double orderValue = gg == null ? null
          : mean != null && mean > 0 ? GammaGamma.expectedOrderValue(gg, x, mean)
          : finiteOrNull(gg.populationMean());
      out[i++] = orderValue;
      for (int d : horizons) {
        out[i++] = orderValue == null ? null : orNull(() -> CustomerValue.discounted(bg, h, unit, orderValue, d,
            discount));
      }
      return RowFactory.create(out);
    };
    return perUser.map(scoreOne, Encoders.row(schema(cfg)));
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
