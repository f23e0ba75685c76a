package io.github.personas.pipeline.segment;

import static org.apache.spark.sql.functions.col;

import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

/**
 * Every persona's profile, and the population's, in one pass over the users: sizes, input means,
 * trait statistics in natural units, descriptors, dominant lifecycle stage and RFM segment, the
 * share reachable on each channel, and how well each persona's rule finds it.
 *
 * <p>The profile is a small table, one row per persona, over which the naming and playbook rules
 * in configuration are evaluated. Its columns: {@code users}, {@code share}, {@code kind} (rule or
 * clustered), each clustering input's mean and {@code z_<input>} (standardised difference from
 * every user, transformed units), each descriptor and {@code all_<descriptor>} (its value over
 * every user), {@code dominant_lifecycle_stage}, {@code dominant_rfm_segment} and
 * {@code reach_<channel>}.
 */
public final class PersonaProfiles {

  /** The lifecycle and RFM columns whose most frequent value the profile carries, when present. */
  private static final List<String[]> DOMINANT = List.of(
      new String[] {LifecycleStager.LIFECYCLE_STAGE, "dominant_lifecycle_stage"},
      new String[] {RfmScorer.RFM_SEGMENT, "dominant_rfm_segment"});

  /**
   * A trait figure: the persona's and every user's value of one statistic of one column.
   *
   * @param input      the clustering input's name
   * @param column     Spark SQL over the features table (the input's {@code describe})
   * @param statistic  median or mean
   * @param value      the persona's
   * @param population every user's
   */
  public record Trait(String input, String column, String statistic, double value, double population) {}

  /**
   * What the pass measured; arrays are indexed by persona (group) and input.
   *
   * @param users             users per persona
   * @param naturalMean       mean of each input in natural units
   * @param transformedMean   mean of each input, transformed
   * @param populationMean    every user's mean of each input in natural units
   * @param z                 standardised difference from every user, transformed units
   * @param traitValue        the persona's trait statistic of each input's describe column
   * @param traitPopulation   every user's
   * @param dominantLifecycle most frequent lifecycle stage, or null
   * @param precision         share of the users the persona's rule matches who are in the persona
   * @param recall            share of the persona's users its rule matches
   * @param reach             share of the persona's users reachable on each channel
   * @param channels          the channels' names
   * @param inputs            the clustering inputs
   * @param profile           the profile table
   */
  public record Stats(long[] users, double[][] naturalMean, double[][] transformedMean, double[] populationMean,
                      double[][] z, double[][] traitValue, double[] traitPopulation, String[] dominantLifecycle,
                      double[] precision, double[] recall, double[][] reach, List<String> channels,
                      List<PersonasConfig.ClusterInput> inputs, Dataset<Row> profile) {

    /** The trait figures of persona {@code g}, input {@code j}. */
    public Trait trait(int g, int j) {
      PersonasConfig.ClusterInput f = inputs.get(j);
      return new Trait(f.name(), f.describe(), f.byMedian() ? "median" : "mean", traitValue[g][j], traitPopulation[j]);
    }

    /** Share of persona {@code g}'s users reachable on {@code channel}; 0 for an unknown channel. */
    public double reach(int g, String channel) {
      int c = channels.indexOf(channel);
      return c < 0 ? 0 : reach[g][c];
    }
  }

  private PersonaProfiles() {}

  /**
   * One pass (a rollup by persona: each persona and everyone) over {@code grouped}.
   *
   * @param grouped     the users with the persona index in {@code group}, the inputs' natural and
   *                    transformed columns and every feature
   * @param rules       each persona's rule, Spark SQL over the features table
   * @param groups      personas: clusters first, then rule personas
   * @param clustered   how many of them are clusters
   */
  public static Stats measure(Dataset<Row> grouped, String group, int groups, int clustered,
                              List<PersonasConfig.ClusterInput> inputs,
                              String naturalPrefix, String transformedPrefix, List<NamedExpr> descriptors,
                              List<NamedExpr> channels, String[] rules) {
    int d = inputs.size();
    List<Column> aggs = new ArrayList<>();
    for (PersonasConfig.ClusterInput f : inputs) {
      Column t = col(transformedPrefix + f.name());
      aggs.add(functions.avg(col(naturalPrefix + f.name())));
      aggs.add(functions.avg(t));
      aggs.add(functions.avg(t.multiply(t)));
      // An input that describes itself and is never null has its natural column already: reading
      // it spares the rollup evaluating the expression (a category share's map lambdas) twice a user.
      Column expr = NamedExpr.column(f.describe());
      boolean same = f.describe().equals(f.sql()) && !grouped.select(expr).schema().fields()[0].nullable();
      Column described = same ? col(naturalPrefix + f.name()) : expr.cast(DataTypes.DoubleType);
      aggs.add(f.byMedian() ? functions.median(described) : functions.avg(described));
    }
    for (NamedExpr x : descriptors) {
      aggs.add(x.column());
    }
    List<String> columns = Arrays.asList(grouped.columns());
    for (String[] dom : DOMINANT) {
      aggs.add(columns.contains(dom[0]) ? functions.mode(col(dom[0]), true)
          : functions.lit(null).cast(DataTypes.StringType));
    }
    for (NamedExpr ch : channels) {
      aggs.add(functions.coalesce(ch.column().cast(DataTypes.DoubleType), functions.lit(0.0)));
    }
    for (String rule : rules) {
      aggs.add(functions.sum(functions.coalesce(NamedExpr.column(rule).cast(DataTypes.BooleanType), functions.lit(false))
          .cast(DataTypes.LongType)));
    }
    List<Row> rows = grouped.rollup(col(group)).agg(functions.count(functions.lit(1)), aggs.toArray(Column[]::new))
        .collectAsList();
    Row all = null;
    Row[] byGroup = new Row[groups];
    for (Row r : rows) {
      if (r.isNullAt(0)) {
        all = r;
      } else {
        byGroup[r.getInt(0)] = r;
      }
    }
    long users = all.getLong(1);
    int descAt = 2 + 4 * d;
    int domAt = descAt + descriptors.size();
    int chAt = domAt + DOMINANT.size();
    int ruleAt = chAt + channels.size();
    long[] n = new long[groups];
    double[][] natural = new double[groups][d];
    double[][] transformed = new double[groups][d];
    double[][] z = new double[groups][d];
    double[][] trait = new double[groups][d];
    double[] traitAll = new double[d];
    double[] naturalAll = new double[d];
    double[] sd = new double[d];
    for (int j = 0; j < d; j++) {
      naturalAll[j] = all.getDouble(2 + 4 * j);
      double mean = all.getDouble(3 + 4 * j);
      sd[j] = Math.sqrt(Math.max(0, all.getDouble(4 + 4 * j) - mean * mean));
      traitAll[j] = all.isNullAt(5 + 4 * j) ? Double.NaN : all.getDouble(5 + 4 * j);
    }
    String[] lifecycle = new String[groups];
    double[][] reach = new double[groups][channels.size()];
    double[] precision = new double[groups];
    double[] recall = new double[groups];
    List<Row> profileRows = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      Row r = byGroup[g];
      n[g] = r.getLong(1);
      for (int j = 0; j < d; j++) {
        natural[g][j] = r.getDouble(2 + 4 * j);
        transformed[g][j] = r.getDouble(3 + 4 * j);
        z[g][j] = sd[j] > 0 ? (transformed[g][j] - all.getDouble(3 + 4 * j)) / sd[j] : 0.0;
        trait[g][j] = r.isNullAt(5 + 4 * j) ? Double.NaN : r.getDouble(5 + 4 * j);
      }
      lifecycle[g] = r.getString(domAt);
      for (int c = 0; c < channels.size(); c++) {
        reach[g][c] = r.getDouble(chAt + c);
      }
      // The total row counts every user a rule matches; the persona's row those in the persona.
      long matched = all.getLong(ruleAt + g);
      long hits = r.getLong(ruleAt + g);
      precision[g] = matched == 0 ? 0 : (double) hits / matched;
      recall[g] = n[g] == 0 ? 0 : (double) hits / n[g];
      List<Object> values = new ArrayList<>();
      values.add(n[g]);
      values.add((double) n[g] / users);
      values.add(g >= clustered ? PersonaClusterer.RULE_KIND : PersonaClusterer.CLUSTER_KIND);
      for (int j = 0; j < d; j++) {
        values.add(natural[g][j]);
        values.add(z[g][j]);
      }
      for (int i = 0; i < descriptors.size(); i++) {
        values.add(r.get(descAt + i));
        values.add(all.get(descAt + i));
      }
      for (int i = 0; i < DOMINANT.size(); i++) {
        values.add(r.get(domAt + i));
      }
      for (int c = 0; c < channels.size(); c++) {
        values.add(reach[g][c]);
      }
      profileRows.add(RowFactory.create(values.toArray()));
    }
    StructType schema = schema(grouped, inputs, descriptors, channels);
    Dataset<Row> profile = grouped.sparkSession().createDataFrame(profileRows, schema);
    return new Stats(n, natural, transformed, naturalAll, z, trait, traitAll, lifecycle, precision, recall, reach,
        channels.stream().map(NamedExpr::name).toList(), inputs, profile);
  }

  /**
   * The profile's schema; {@code features} may be empty (the configuration is checked with it
   * before any data is read).
   */
  public static StructType schema(Dataset<Row> features, List<PersonasConfig.ClusterInput> inputs,
                                  List<NamedExpr> descriptors, List<NamedExpr> channels) {
    List<StructField> fields = new ArrayList<>();
    fields.add(DataTypes.createStructField("users", DataTypes.LongType, false));
    fields.add(DataTypes.createStructField("share", DataTypes.DoubleType, false));
    fields.add(DataTypes.createStructField("kind", DataTypes.StringType, true));
    for (PersonasConfig.ClusterInput f : inputs) {
      fields.add(DataTypes.createStructField(f.name(), DataTypes.DoubleType, false));
      fields.add(DataTypes.createStructField("z_" + f.name(), DataTypes.DoubleType, false));
    }
    if (!descriptors.isEmpty()) {
      List<Column> aggs = descriptors.stream().map(NamedExpr::column).toList();
      StructType types = features.limit(0).agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new)).schema();
      for (int i = 0; i < descriptors.size(); i++) {
        fields.add(DataTypes.createStructField(descriptors.get(i).name(), types.fields()[i].dataType(), true));
        fields.add(DataTypes.createStructField("all_" + descriptors.get(i).name(), types.fields()[i].dataType(), true));
      }
    }
    for (String[] dom : DOMINANT) {
      fields.add(DataTypes.createStructField(dom[1], DataTypes.StringType, true));
    }
    for (NamedExpr ch : channels) {
      fields.add(DataTypes.createStructField("reach_" + ch.name(), DataTypes.DoubleType, false));
    }
    return DataTypes.createStructType(fields);
  }
}
