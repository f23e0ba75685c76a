package io.github.personas.pipeline.predict;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.expr;

import io.github.personas.pipeline.config.PersonasConfig;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.classification.GBTClassifier;
import org.apache.spark.ml.classification.LogisticRegression;
import org.apache.spark.ml.feature.SQLTransformer;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.NumericType;

/**
 * Who will buy, and who will go quiet, in the next H days: a classifier trained by backtest.
 *
 * <p>The features as of D - H are labelled by what each user then did in (D - H, D], read from the
 * features as of D; a share of those users, chosen by a hash of their id, is held out to measure
 * the model; the model then scores the features as of D. The same feature code made both tables,
 * and the earlier one saw no event after D - H, so the backtest is the situation of the night.
 */
public final class Propensity {

  /** What a model predicts. */
  public enum Outcome {
    /** A purchase row in the next H days. */
    PURCHASE("purchase_propensity"),
    /** No session (or, in transaction data, no purchase) in the next H days: {@code days_inactive} reaches H. */
    CHURN("churn_risk");

    private final String prefix;

    Outcome(String prefix) {
      this.prefix = prefix;
    }

    /** The score column, e.g. {@code purchase_propensity_30d}. */
    public String column(int horizonDays) {
      return prefix + "_" + horizonDays + "d";
    }

    /** The label's column in {@link #labelled}: 1 when the outcome happened, else 0. */
    public String labelColumn() {
      return prefix.equals("purchase_propensity") ? "purchase_label" : "churn_label";
    }

    /**
     * Whether the outcome happened in (from, from + days], as SQL over the features as of
     * from + days: a purchase row after {@code from}, or {@code days_inactive} reaching {@code days}.
     */
    public String label(LocalDate from, int days) {
      return switch (this) {
        case PURCHASE -> "coalesce(last_purchase_date > DATE'" + from + "', false)";
        case CHURN -> "NOT coalesce(days_inactive < " + days + ", false)";
      };
    }
  }

  /**
   * A model trained and measured.
   *
   * @param outcome    what it predicts
   * @param model      the fitted pipeline: reads a features table, adds the score's probability
   * @param figures    its discrimination on the held-out users
   * @param trainUsers users it was trained on
   */
  public record Trained(Outcome outcome, PipelineModel model, Discrimination.Figures figures, long trainUsers) {}

  private static final String VECTOR = "propensity_features";
  private static final long SEED = 20_051_101L;
  /**
   * Fewer training users than this, or fewer of either outcome than {@link #MIN_EACH_OUTCOME},
   * and there is no model: its held-out figures would be noise (40 held-out users give an AUC
   * anywhere from 0.4 to 0.6 for the same model).
   */
  static final long MIN_TRAINING_USERS = 500;
  static final long MIN_EACH_OUTCOME = 25;
  private static final int TRAINING_PARTITIONS = 4;

  private final PersonasConfig.Propensity cfg;

  public Propensity(PersonasConfig.Propensity cfg) {
    this.cfg = cfg;
  }

  /**
   * The configured feature columns missing from {@code features} or not numeric or boolean: a
   * message per column, empty when all can be read.
   */
  public List<String> unusableColumns(Dataset<Row> features) {
    List<String> problems = new ArrayList<>();
    for (String f : cfg.features()) {
      if (!List.of(features.columns()).contains(f)) {
        problems.add(f + " is not a column of the features table");
      } else {
        DataType t = features.schema().apply(f).dataType();
        if (!(t instanceof NumericType) && !(t instanceof BooleanType)) {
          problems.add(f + " is " + t.simpleString() + ", not a number or boolean");
        }
      }
    }
    return problems;
  }

  /**
   * The columns of {@code features} that training reads: user_id, the configured features and
   * what the purchase model's inputs are computed from.
   */
  public org.apache.spark.sql.Column[] reads(Dataset<Row> features) {
    java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>(List.of("user_id", "is_buyer"));
    names.addAll(cfg.features());
    names.addAll(PurchaseHistories.READS);
    List<String> present = List.of(features.columns());
    return names.stream().filter(present::contains).map(c -> col("`" + c + "`"))
        .toArray(org.apache.spark.sql.Column[]::new);
  }

  /**
   * The backtest users with both outcomes' labels and whether they are held out: the features as
   * of D - H joined with the labels read from the features as of D.
   */
  public Dataset<Row> labelled(Dataset<Row> backtest, Dataset<Row> current, LocalDate backtestDate) {
    List<org.apache.spark.sql.Column> labels = new ArrayList<>(List.of(col("user_id")));
    for (Outcome o : Outcome.values()) {
      labels.add(expr(o.label(backtestDate, cfg.horizonDays())).cast("double").as(o.labelColumn()));
    }
    Dataset<Row> split = backtest.withColumn("held_out",
        expr("pmod(xxhash64(user_id), 1000000) < " + Math.round(cfg.testShare() * 1e6)));
    // The samples train() draws are drawn here already, before the join: the labels' join then
    // moves at most twice max_training_users, not every user of the backtest (430,000 at 50M events).
    // Counted before the join: the same users as counting after it when every backtest user is in
    // tonight's features (always in one run's pass; a published D - H partition may hold users
    // erased since, and then a slightly smaller sample is drawn).
    Row counts = split.agg(expr("count_if(NOT held_out)"), expr("count_if(held_out)")).first();
    Dataset<Row> drawn = split.where("CASE WHEN held_out THEN " + sampled(counts.getLong(1), "test") + " ELSE "
        + sampled(counts.getLong(0), "train") + " END");
    return drawn.join(current.select(labels.toArray(org.apache.spark.sql.Column[]::new)), "user_id");
  }

  /**
   * Fits the classifier on the training users of {@code labelled} (a hash sample of at most
   * {@code max_training_users}) and measures it on the held-out ones (as many at most).
   *
   * @throws IllegalArgumentException when the training or held-out users lack either outcome
   */
  public Trained train(Dataset<Row> labelled, Outcome outcome) {
    Row split = labelled.agg(expr("count_if(NOT held_out)"), expr("count_if(held_out)")).first();
    Dataset<Row> train = sample(labelled.where("NOT held_out"), split.getLong(0), "train");
    Dataset<Row> test = sample(labelled.where("held_out"), split.getLong(1), "test");
    // Trees pass over their input once per level: a few partitions of a sample, not the shuffle's
    // hundreds; a fixed number, not the cores', so the trees' subsamples (and the summary) are the
    // same on any machine.
    train = train.coalesce(TRAINING_PARTITIONS);
    String label = outcome.labelColumn();
    Row counts = train.agg(expr("count(*)"), expr("coalesce(CAST(sum(" + label + ") AS BIGINT), 0L)")).first();
    long trainUsers = counts.getLong(0);
    long positives = counts.getLong(1);
    if (trainUsers < MIN_TRAINING_USERS || positives < MIN_EACH_OUTCOME || trainUsers - positives < MIN_EACH_OUTCOME) {
      throw new IllegalArgumentException(String.format("%d of the %d training users had the outcome: a model needs"
          + " %d users, %d with the outcome and %d without, to be learnt and measured", positives, trainUsers,
          MIN_TRAINING_USERS, MIN_EACH_OUTCOME, MIN_EACH_OUTCOME));
    }
    long t = System.nanoTime();
    PipelineModel model = pipeline(outcome, train).fit(train);
    org.apache.logging.log4j.LogManager.getLogger(Propensity.class).info("Predict: {} fitted on {} users in {} s",
        outcome.column(cfg.horizonDays()), trainUsers, String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t) / 1e9));
    List<Discrimination.Scored> scored = model.transform(test)
        .select(probabilityOf(outcome), col(label), expr("xxhash64(user_id)")).collectAsList().stream()
        .map(r -> new Discrimination.Scored(r.getDouble(0), r.getDouble(1) == 1.0, r.getLong(2)))
        .toList();
    return new Trained(outcome, model, Discrimination.of(scored), trainUsers);
  }

  /**
   * The configured inputs on which more than {@code share} of {@code current}'s users lie outside
   * the range the backtest's users span, each as a sentence: trees score those users as the most
   * extreme ones they saw, and cannot extrapolate (on CDNOW's one cohort, tonight's customers are
   * all older than any in the backtest).
   */
  public List<String> beyondTraining(Dataset<Row> backtest, Dataset<Row> current, double share) {
    List<org.apache.spark.sql.Column> ranges = new ArrayList<>();
    for (String f : cfg.features()) {
      ranges.add(org.apache.spark.sql.functions.min(expr("CAST(`" + f + "` AS DOUBLE)")));
      ranges.add(org.apache.spark.sql.functions.max(expr("CAST(`" + f + "` AS DOUBLE)")));
    }
    Row range = backtest.agg(ranges.get(0), ranges.subList(1, ranges.size()).toArray(
        org.apache.spark.sql.Column[]::new)).first();
    List<org.apache.spark.sql.Column> outside = new ArrayList<>();
    for (int i = 0; i < cfg.features().size(); i++) {
      String v = "CAST(`" + cfg.features().get(i) + "` AS DOUBLE)";
      String cond = range.isNullAt(2 * i) ? "false" : v + " < " + range.getDouble(2 * i) + "D OR " + v + " > "
          + range.getDouble(2 * i + 1) + "D";
      outside.add(expr("avg(CASE WHEN " + cond + " THEN 1D ELSE 0D END)"));
    }
    Row shares = current.agg(outside.get(0), outside.subList(1, outside.size()).toArray(
        org.apache.spark.sql.Column[]::new)).first();
    List<String> out = new ArrayList<>();
    for (int i = 0; i < cfg.features().size(); i++) {
      if (!shares.isNullAt(i) && shares.getDouble(i) > share) {
        out.add(String.format(Locale.ROOT, "%s: %.0f %% of tonight's users lie outside the backtest's %s .. %s",
            cfg.features().get(i), 100 * shares.getDouble(i), range.get(2 * i), range.get(2 * i + 1)));
      }
    }
    return out;
  }

  /** The configured features, and the purchase model's columns when {@link #withPurchaseModel} added them. */
  public List<String> inputs(String[] columns) {
    List<String> out = new ArrayList<>(cfg.features());
    PURCHASE_MODEL_INPUTS.stream().filter(List.of(columns)::contains).forEach(out::add);
    return out;
  }

  /** At most {@code max_training_users} of {@code users}, by a hash of their id, so the same every run. */
  private Dataset<Row> sample(Dataset<Row> users, long n, String salt) {
    return users.where(sampled(n, salt));
  }

  /**
   * The condition that keeps about {@code max_training_users} of {@code n} users by a salted hash
   * of their id: the same users every run, and a no-op on users it kept already.
   */
  private String sampled(long n, String salt) {
    if (n <= cfg.maxTrainingUsers()) {
      return "true";
    }
    long keep = Math.round((double) cfg.maxTrainingUsers() / n * 1e6);
    return "pmod(xxhash64('" + salt + "', user_id), 1000000) < " + keep;
  }

  /** Reads the configured columns (null as -1), assembles them and fits the classifier; its score is a column. */
  private Pipeline pipeline(Outcome outcome, Dataset<Row> train) {
    StringJoiner select = new StringJoiner(", ", "SELECT *, ", " FROM __THIS__");
    List<String> inputs = new ArrayList<>();
    boolean linear = cfg.classifier().equals("logistic");
    for (String f : inputs(train.columns())) {
      String in = "propensity_in_" + f;
      String v = "CAST(`" + f + "` AS DOUBLE)";
      if (linear) {
        // A line cannot split a stand-in value off: a null is 0 plus a flag of its own, whose
        // weight the model learns (never having had a session is not a recent session).
        select.add("coalesce(" + v + ", 0D) AS `" + in + "`");
        select.add("CASE WHEN " + v + " IS NULL THEN 1D ELSE 0D END AS `" + in + "_missing`");
        inputs.add(in);
        inputs.add(in + "_missing");
      } else {
        // Trees split -1 off from counts, days and rates, which are never negative.
        select.add("coalesce(" + v + ", -1D) AS `" + in + "`");
        inputs.add(in);
      }
    }
    String prefix = outcome.name().toLowerCase(Locale.ROOT);
    List<PipelineStage> stages = new ArrayList<>();
    stages.add(new SQLTransformer().setStatement(select.toString()));
    stages.add(new VectorAssembler().setInputCols(inputs.toArray(String[]::new)).setOutputCol(VECTOR));
    String probability = probabilityColumn(outcome);
    if (linear) {
      stages.add(new StandardScaler().setInputCol(VECTOR).setOutputCol(VECTOR + "_scaled"));
      stages.add(new LogisticRegression().setFeaturesCol(VECTOR + "_scaled").setLabelCol(outcome.labelColumn())
          .setRegParam(0.001).setMaxIter(200).setProbabilityCol(probability)
          .setRawPredictionCol(prefix + "_raw").setPredictionCol(prefix + "_prediction"));
    } else {
      // Few shallow trees with 50 users a leaf at least: enough for a few dozen inputs, and regular
      // on a few thousand users, where deeper trees at a higher rate put noise into the top tenth.
      stages.add(new GBTClassifier().setFeaturesCol(VECTOR).setLabelCol(outcome.labelColumn()).setMaxIter(15)
          .setMaxDepth(4).setMinInstancesPerNode(50).setStepSize(0.2).setSubsamplingRate(0.8).setMaxBins(64).setSeed(SEED)
          .setProbabilityCol(probability).setRawPredictionCol(prefix + "_raw")
          .setPredictionCol(prefix + "_prediction"));
    }
    return new Pipeline().setStages(stages.toArray(PipelineStage[]::new));
  }

  /** Inputs the models read besides the configured features when the purchase model is fitted. */
  public static final List<String> PURCHASE_MODEL_INPUTS = List.of("bgnbd_expected_purchases", "bgnbd_p_alive");

  /**
   * {@code users} (rows of a features table) with BG/NBD's expected purchases in the horizon and
   * P(alive) as of {@code date} (null for users who never bought): the purchase model's view as an
   * input of the classifier, which extrapolates where the trees cannot (a backtest's users are
   * younger than tonight's). A column computed in place, no join.
   *
   * @param date         the date of {@code users}' features: the end of their observation
   * @param unitDays     days in the fit's time unit
   * @param horizonUnits the horizon in the fit's time unit
   */
  public static Dataset<Row> withPurchaseModel(Dataset<Row> users, LocalDate date, double unitDays,
                                               BgNbd.Params params, double horizonUnits) {
    org.apache.spark.sql.types.StructType schema = new org.apache.spark.sql.types.StructType()
        .add(PURCHASE_MODEL_INPUTS.get(0), org.apache.spark.sql.types.DataTypes.DoubleType, true)
        .add(PURCHASE_MODEL_INPUTS.get(1), org.apache.spark.sql.types.DataTypes.DoubleType, true);
    org.apache.spark.sql.api.java.UDF3<Double, Double, Double, Row> model = (x, tx, t) -> {
      BgNbd.History h = new BgNbd.History(x, tx, t, 1);
      Double expected;
      try {
        double e = BgNbd.expectedPurchases(params, h, horizonUnits);
        expected = Double.isFinite(e) ? e : null;
      } catch (IllegalArgumentException e) {
        expected = null;
      }
      return org.apache.spark.sql.RowFactory.create(expected, BgNbd.pAlive(params, h));
    };
    org.apache.spark.sql.Column[] h = PurchaseHistories.columns(date, unitDays);
    String tmp = "__purchase_model";
    List<org.apache.spark.sql.Column> out = new ArrayList<>();
    for (String c : users.columns()) {
      out.add(col("`" + c + "`"));
    }
    PURCHASE_MODEL_INPUTS.forEach(c -> out.add(col(tmp + "." + c).as(c)));
    return users.withColumn(tmp, org.apache.spark.sql.functions.when(PurchaseHistories.BUYER,
            org.apache.spark.sql.functions.udf(model, schema).apply(h[0], h[1], h[2])))
        .select(out.toArray(org.apache.spark.sql.Column[]::new));
  }

  /** The model's probability vector column (saved models add it): index 1 is the outcome's probability. */
  public static String probabilityColumn(Outcome outcome) {
    return outcome.name().toLowerCase(Locale.ROOT) + "_probability";
  }

  private static org.apache.spark.sql.Column probabilityOf(Outcome outcome) {
    return org.apache.spark.ml.functions.vector_to_array(col(probabilityColumn(outcome)), "float64").getItem(1);
  }

  /**
   * {@code users} with the score of {@code trained} as a column named for the horizon, and none
   * of the model's working columns.
   */
  public static Dataset<Row> score(Trained trained, Dataset<Row> users, int horizonDays) {
    List<org.apache.spark.sql.Column> keep = new ArrayList<>();
    for (String c : users.columns()) {
      keep.add(col("`" + c + "`"));
    }
    keep.add(probabilityOf(trained.outcome()).as(trained.outcome().column(horizonDays)));
    return trained.model().transform(users).select(keep.toArray(org.apache.spark.sql.Column[]::new));
  }
}
