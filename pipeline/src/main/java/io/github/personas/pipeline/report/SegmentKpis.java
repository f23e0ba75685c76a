package io.github.personas.pipeline.report;

import static org.apache.spark.sql.functions.col;

import io.github.personas.pipeline.config.ConfigException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * KPIs per (dimension, segment) with their lift over the population and a significance test of
 * the segment against everyone else, plus the holdout uplift per segment.
 *
 * <p>A KPI of a segment is marked significant when it passes two bars: its Benjamini–Hochberg
 * q-value, over every test of the table, is below the significance level (a run makes hundreds of
 * tests, and raw p-values would flag about one in twenty of the segments that do not differ), and
 * its lift is at least the minimum effect away from 1 (with thousands of users a 1 % difference is
 * "significant" and still of no use to anyone).
 *
 * <p>All dimensions and the holdout split are aggregated in one Spark job into additive
 * {@link Moments}; the tests run on the driver over those few rows. Every dimension partitions the
 * same users, so per dimension {@code users} and {@code revenue} sum to the population totals.
 */
public final class SegmentKpis {

  public static final String DIMENSION = "dimension";
  public static final String SEGMENT = "segment";
  /** Segment value of users whose dimension is null. */
  public static final String NONE = "(none)";
  /** Dimension and segment of the whole population in holdout_uplift. */
  public static final String ALL = "(all)";

  private static final String HOLDOUT = "holdout";
  private static final String IN_HOLDOUT = "kpi_in_holdout";

  /**
   * The tables of one report.
   *
   * @param kpis          segment_kpis: one row per (dimension, segment)
   * @param holdoutUplift holdout_uplift: one row per (dimension, segment, kpi), plus the population
   * @param population    the population's users, buyers, revenue and KPI values, for the summary
   * @param tests         p-values in segment_kpis: the tests its q-values are adjusted for
   */
  public record Result(Dataset<Row> kpis, Dataset<Row> holdoutUplift, Map<String, Object> population, int tests) {}

  private final List<String> dimensions;
  private final List<Kpi> kpis;
  private final double alpha;
  private final double minEffect;

  /**
   * @param dimensions columns to report on, e.g. rfm_segment, lifecycle_stage, persona_name
   * @param kpis       the KPIs, see {@link Kpi#defaults}
   * @param alpha      significance level of the tests, e.g. 0.05: the false discovery rate of segment_kpis
   * @param minEffect  how far from 1 a lift must be for segment_kpis to mark it significant, e.g. 0.05
   */
  public SegmentKpis(List<String> dimensions, List<Kpi> kpis, double alpha, double minEffect) {
    if (dimensions.isEmpty()) {
      throw new IllegalArgumentException("At least one report dimension is needed");
    }
    if (!(alpha > 0 && alpha < 1)) {
      throw new IllegalArgumentException(String.format("alpha must be within (0, 1), got %s", alpha));
    }
    this.dimensions = List.copyOf(dimensions);
    this.kpis = List.copyOf(kpis);
    if (!(minEffect >= 0 && minEffect < 1)) {
      throw new IllegalArgumentException(String.format("minEffect must be within [0, 1), got %s", minEffect));
    }
    this.alpha = alpha;
    this.minEffect = minEffect;
  }

  /**
   * @param users one row per user with the dimensions, holdout, is_buyer, frequency, monetary and
   *              the columns the KPIs read (docs/outputs.md)
   */
  public Result apply(Dataset<Row> users) {
    List<String> columns = List.of(users.columns());
    for (String d : dimensions) {
      if (!columns.contains(d)) {
        throw new ConfigException(String.format(
            "personas.report.dimensions names '%s', which is not a column of the segments, features or predictions; available: %s",
            d, columns));
      }
    }
    // Two levels: users are summed per combination of dimension values first, so each KPI
    // expression is evaluated once per user (exploding users into one row per dimension first
    // evaluated every KPI once per dimension and aggregated dimensions times more rows); only
    // the combinations, a few hundred, are exploded and summed per dimension. Every total is a
    // count or a sum, so the two levels add up to the same figures.
    List<Column> keys = new ArrayList<>();
    List<Column> pairs = new ArrayList<>();
    for (int i = 0; i < dimensions.size(); i++) {
      String d = dimensions.get(i);
      keys.add(functions.coalesce(col(d).cast("string"), functions.lit(NONE)).as("_d" + i));
      pairs.add(functions.struct(functions.lit(d).as(DIMENSION), col("_d" + i).as(SEGMENT)));
    }
    keys.add(functions.coalesce(col(HOLDOUT), functions.lit(false)).as(IN_HOLDOUT));
    List<Column> aggs = new ArrayList<>();
    aggs.add(functions.sum(functions.when(col("is_buyer"), 1).otherwise(0)).cast("long").as("buyers"));
    // Money is summed as a decimal, as the features sum it: 2,000 orders of 9.99 are 19,980.
    aggs.add(functions.sum(col("monetary").cast("decimal(38,4)")).cast("double").as("revenue"));
    aggs.add(functions.sum(col("frequency")).cast("long").as("orders"));
    List<Column> totals = new ArrayList<>(List.of(functions.sum(col("buyers")).cast("long").as("buyers"),
        functions.sum(col("revenue").cast("decimal(38,4)")).cast("double").as("revenue"), functions.sum(col("orders")).cast("long").as("orders")));
    for (int i = 0; i < kpis.size(); i++) {
      Kpi k = kpis.get(i);
      Column v = functions.when(functions.coalesce(functions.expr(k.appliesSql()).cast("boolean"), functions.lit(false)),
          functions.expr(k.valueSql()).cast(DataTypes.DoubleType));
      aggs.add(functions.count(v).as("n" + i));
      aggs.add(functions.coalesce(functions.sum(v), functions.lit(0.0)).as("s" + i));
      aggs.add(functions.coalesce(functions.sum(v.multiply(v)), functions.lit(0.0)).as("q" + i));
      totals.add(functions.sum(col("n" + i)).cast("long").as("n" + i));
      totals.add(functions.sum(col("s" + i)).as("s" + i));
      totals.add(functions.sum(col("q" + i)).as("q" + i));
    }
    Dataset<Row> combinations = users
        .groupBy(keys.toArray(Column[]::new))
        .agg(functions.count(functions.lit(1)).as("users"), aggs.toArray(Column[]::new));
    List<Row> rows = combinations
        .select(functions.explode(functions.array(pairs.toArray(Column[]::new))).as("d"), col("*"))
        .groupBy(col("d." + DIMENSION).as(DIMENSION), col("d." + SEGMENT).as(SEGMENT), col(IN_HOLDOUT))
        .agg(functions.sum(col("users")).cast("long").as("users"), totals.toArray(Column[]::new))
        .collectAsList();

    // group key -> [treated, holdout] stats
    Map<List<String>, Group[]> groups = new LinkedHashMap<>();
    for (Row r : rows) {
      List<String> key = List.of(r.getString(0), r.getString(1));
      Group g = Group.of(r, kpis.size());
      groups.computeIfAbsent(key, x -> new Group[] {Group.empty(kpis.size()), Group.empty(kpis.size())})
          [r.getBoolean(2) ? 1 : 0] = g;
    }
    Group[] population = {Group.empty(kpis.size()), Group.empty(kpis.size())};
    groups.forEach((key, g) -> {
      if (key.get(0).equals(dimensions.get(0))) {
        population[0] = population[0].plus(g[0]);
        population[1] = population[1].plus(g[1]);
      }
    });
    Group all = population[0].plus(population[1]);

    SparkSession spark = users.sparkSession();
    List<Row> kpiRows = new ArrayList<>();
    List<Map.Entry<List<String>, Group[]>> ordered = new ArrayList<>(groups.entrySet());
    ordered.sort(Comparator.<Map.Entry<List<String>, Group[]>, String>comparing(e -> e.getKey().get(0))
        .thenComparing(e -> -e.getValue()[0].plus(e.getValue()[1]).users)
        .thenComparing(e -> e.getKey().get(1)));
    List<Row> upliftRows = new ArrayList<>();
    List<Object[]> values = new ArrayList<>();
    Double[] pValues = new Double[ordered.size() * kpis.size()];
    for (int s = 0; s < ordered.size(); s++) {
      Map.Entry<List<String>, Group[]> e = ordered.get(s);
      Group seg = e.getValue()[0].plus(e.getValue()[1]);
      Group rest = all.minus(seg);
      Object[] v = new Object[2 * kpis.size()];
      for (int i = 0; i < kpis.size(); i++) {
        double value = seg.moments[i].mean();
        double pop = all.moments[i].mean();
        v[2 * i] = finite(value);
        v[2 * i + 1] = finite(pop == 0 ? Double.NaN : value / pop);
        pValues[s * kpis.size() + i] = test(kpis.get(i), seg.moments[i], rest.moments[i]);
      }
      values.add(v);
      upliftRows.addAll(uplift(e.getKey().get(0), e.getKey().get(1), e.getValue()));
    }
    // One family for the whole table: every segment of every dimension on every KPI is a test a
    // reader may pick out, so each is corrected for all the others.
    Double[] qValues = SignificanceTests.benjaminiHochberg(pValues);
    for (int s = 0; s < ordered.size(); s++) {
      Map.Entry<List<String>, Group[]> e = ordered.get(s);
      Group seg = e.getValue()[0].plus(e.getValue()[1]);
      List<Object> v = new ArrayList<>(List.of(e.getKey().get(0), e.getKey().get(1), seg.users,
          all.users == 0 ? 0.0 : (double) seg.users / all.users, seg.buyers, seg.revenue));
      for (int i = 0; i < kpis.size(); i++) {
        Double lift = (Double) values.get(s)[2 * i + 1];
        Double q = qValues[s * kpis.size() + i];
        v.add(values.get(s)[2 * i]);
        v.add(lift);
        v.add(pValues[s * kpis.size() + i]);
        v.add(q);
        v.add(significant(q, lift));
      }
      kpiRows.add(RowFactory.create(v.toArray()));
    }
    upliftRows.addAll(0, uplift(ALL, ALL, population));

    Map<String, Object> headline = new LinkedHashMap<>();
    headline.put("users", all.users);
    headline.put("buyers", all.buyers);
    headline.put("revenue", all.revenue);
    headline.put("orders", all.orders);
    headline.put("holdout_users", population[1].users);
    for (int i = 0; i < kpis.size(); i++) {
      headline.put(kpis.get(i).name(), finite(all.moments[i].mean()));
    }
    int tests = (int) java.util.Arrays.stream(pValues).filter(java.util.Objects::nonNull).count();
    return new Result(spark.createDataFrame(kpiRows, kpiSchema()), spark.createDataFrame(upliftRows, UPLIFT_SCHEMA),
        headline, tests);
  }

  /** Schema of holdout_uplift. */
  public static final StructType UPLIFT_SCHEMA = StructType.fromDDL(
      "dimension string, segment string, kpi string, treated_users bigint, holdout_users bigint,"
          + " treated_value double, holdout_value double, difference double, relative_uplift double,"
          + " p_value double, significant boolean");

  /** Schema of segment_kpis for these KPIs. */
  public StructType kpiSchema() {
    List<StructField> fields = new ArrayList<>(List.of(
        DataTypes.createStructField(DIMENSION, DataTypes.StringType, false),
        DataTypes.createStructField(SEGMENT, DataTypes.StringType, false),
        DataTypes.createStructField("users", DataTypes.LongType, false),
        DataTypes.createStructField("share", DataTypes.DoubleType, false),
        DataTypes.createStructField("buyers", DataTypes.LongType, false),
        DataTypes.createStructField("revenue", DataTypes.DoubleType, false)));
    for (Kpi k : kpis) {
      fields.add(DataTypes.createStructField(k.name(), DataTypes.DoubleType, true));
      fields.add(DataTypes.createStructField(k.name() + "_lift", DataTypes.DoubleType, true));
      fields.add(DataTypes.createStructField(k.name() + "_p_value", DataTypes.DoubleType, true));
      fields.add(DataTypes.createStructField(k.name() + "_q_value", DataTypes.DoubleType, true));
      fields.add(DataTypes.createStructField(k.name() + "_significant", DataTypes.BooleanType, false));
    }
    return DataTypes.createStructType(fields);
  }

  private List<Row> uplift(String dimension, String segment, Group[] split) {
    List<Row> out = new ArrayList<>();
    Group treated = split[0];
    Group holdout = split[1];
    for (int i = 0; i < kpis.size(); i++) {
      Kpi k = kpis.get(i);
      double t = treated.moments[i].mean();
      double h = holdout.moments[i].mean();
      Double p = test(k, treated.moments[i], holdout.moments[i]);
      out.add(RowFactory.create(dimension, segment, k.name(), treated.users, holdout.users, finite(t), finite(h),
          finite(t - h), finite(h == 0 ? Double.NaN : (t - h) / Math.abs(h)), p, p != null && p < alpha));
    }
    return out;
  }

  /**
   * Whether a segment's KPI is worth a reader's attention: a discovery at the configured false
   * discovery rate whose lift over the population is at least {@code minEffect} away from 1.
   */
  private boolean significant(Double qValue, Double lift) {
    return qValue != null && qValue < alpha && lift != null && Math.abs(lift - 1) >= minEffect;
  }

  private static Double test(Kpi k, Moments a, Moments b) {
    return k.rate()
        ? SignificanceTests.twoProportions(Math.round(a.sum()), a.n(), Math.round(b.sum()), b.n())
        : SignificanceTests.welch(a, b);
  }

  private static Double finite(double v) {
    return Double.isFinite(v) ? v : null;
  }

  /** Additive totals of one group of users. */
  private record Group(long users, long buyers, double revenue, long orders, Moments[] moments) {
    static Group empty(int kpis) {
      Moments[] m = new Moments[kpis];
      java.util.Arrays.fill(m, Moments.EMPTY);
      return new Group(0, 0, 0, 0, m);
    }

    static Group of(Row r, int kpis) {
      Moments[] m = new Moments[kpis];
      for (int i = 0; i < kpis; i++) {
        m[i] = new Moments(r.getLong(7 + 3 * i), r.getDouble(8 + 3 * i), r.getDouble(9 + 3 * i));
      }
      return new Group(r.getLong(3), r.getLong(4), r.isNullAt(5) ? 0 : r.getDouble(5), r.isNullAt(6) ? 0 : r.getLong(6), m);
    }

    Group plus(Group o) {
      Moments[] m = new Moments[moments.length];
      for (int i = 0; i < m.length; i++) {
        m[i] = new Moments(moments[i].n() + o.moments[i].n(), moments[i].sum() + o.moments[i].sum(),
            moments[i].sumSq() + o.moments[i].sumSq());
      }
      return new Group(users + o.users, buyers + o.buyers, revenue + o.revenue, orders + o.orders, m);
    }

    Group minus(Group o) {
      Moments[] m = new Moments[moments.length];
      for (int i = 0; i < m.length; i++) {
        m[i] = moments[i].minus(o.moments[i]);
      }
      return new Group(users - o.users, buyers - o.buyers, revenue - o.revenue, orders - o.orders, m);
    }
  }
}
