package io.github.personas.pipeline.segment;

import static org.apache.spark.sql.functions.col;

import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.ml.clustering.KMeans;
import org.apache.spark.ml.clustering.KMeansModel;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;

/**
 * K-means personas: configured feature expressions, standardised, clustered with a fixed seed.
 *
 * <p>Adds {@code persona_id} ("P01".."Pk") and {@code distance_to_centroid} (Euclidean, in
 * standardised units) to each user; {@link #summary} gives per persona its size and centroid
 * in natural units.
 */
public final class PersonaClusterer {

  private static final Logger LOG = LogManager.getLogger(PersonaClusterer.class);

  public static final String PERSONA_ID = "persona_id";
  public static final String DISTANCE = "distance_to_centroid";
  private static final String RAW = "persona_features";
  private static final String SCALED = "persona_features_scaled";
  private static final String CLUSTER = "persona_cluster";

  private final PersonasConfig.Personas config;
  private PipelineModel model;

  public PersonaClusterer(PersonasConfig.Personas config) {
    this.config = config;
  }

  /** The fitted model of the last {@link #apply}, or null. */
  public PipelineModel model() {
    return model;
  }

  /** The clustering inputs as columns, nulls as 0 (documented in docs/outputs.md). */
  public List<Column> inputColumns() {
    List<Column> cols = new ArrayList<>();
    for (NamedExpr f : config.features()) {
      cols.add(functions.coalesce(functions.expr(f.sql()).cast(DataTypes.DoubleType), functions.lit(0.0))
          .as("pf_" + f.name()));
    }
    return cols;
  }

  /**
   * Fits k-means on {@code features} and assigns every user a persona.
   *
   * @param features the features table
   * @return the features with persona inputs ({@code pf_*}), {@code persona_id} and distance
   */
  public Dataset<Row> apply(Dataset<Row> features) {
    List<Column> cols = new ArrayList<>(List.of(functions.col("*")));
    cols.addAll(inputColumns());
    // k-means|| samples per partition, so the same users in another partition layout (features
    // computed in this run vs read back from Parquet) would give other clusters. Hash
    // partitioning plus a sort fixes the layout for a given number of shuffle partitions.
    int partitions = Integer.parseInt(features.sparkSession().conf().get("spark.sql.shuffle.partitions"));
    Dataset<Row> input = features.select(cols.toArray(Column[]::new))
        .repartition(partitions, col("user_id"))
        .sortWithinPartitions("user_id")
        .persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
    String[] names = config.features().stream().map(f -> "pf_" + f.name()).toArray(String[]::new);
    long users = input.count();
    int k = (int) Math.max(1, Math.min(config.k(), users));
    if (k < config.k()) {
      LOG.warn("Only {} users: k-means runs with k = {} instead of personas.personas.k = {}", users, k, config.k());
    }
    VectorAssembler assembler = new VectorAssembler().setInputCols(names).setOutputCol(RAW);
    StandardScaler scaler = new StandardScaler().setInputCol(RAW).setOutputCol(SCALED).setWithMean(true).setWithStd(true);
    List<PipelineStage> stages = new ArrayList<>(List.of(assembler, scaler));
    if (k >= 2) {
      stages.add(new KMeans().setK(k).setSeed(config.seed()).setMaxIter(config.maxIterations())
          .setFeaturesCol(SCALED).setPredictionCol(CLUSTER));
    }
    model = new Pipeline().setStages(stages.toArray(PipelineStage[]::new)).fit(input);
    Dataset<Row> assigned = model.transform(input);
    if (k < 2) {
      return assigned.withColumn(PERSONA_ID, functions.lit("P01"))
          .withColumn(DISTANCE, functions.lit(0.0))
          .drop(RAW, SCALED);
    }
    KMeansModel kmeans = (KMeansModel) model.stages()[2];
    Vector[] centers = kmeans.clusterCenters();
    UDF2<Vector, Integer, Double> distance = (v, c) -> Math.sqrt(Vectors.sqdist(v, centers[c]));
    return assigned
        .withColumn(PERSONA_ID, functions.element_at(functions.array(numberBySize(assigned, centers.length)),
            col(CLUSTER).plus(1)))
        .withColumn(DISTANCE, functions.udf(distance, DataTypes.DoubleType).apply(col(SCALED), col(CLUSTER)))
        .drop(RAW, SCALED, CLUSTER);
  }

  /**
   * Persona ids by cluster index: P01 is the largest cluster, ties broken by index, so the ids
   * do not depend on the order in which k-means found the clusters.
   */
  private static Column[] numberBySize(Dataset<Row> assigned, int k) {
    long[] sizes = new long[k];
    for (Row r : assigned.groupBy(CLUSTER).count().collectAsList()) {
      sizes[r.getInt(0)] = r.getLong(1);
    }
    Integer[] order = new Integer[k];
    for (int i = 0; i < k; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> sizes[a] != sizes[b] ? Long.compare(sizes[b], sizes[a]) : Integer.compare(a, b));
    Column[] ids = new Column[k];
    for (int rank = 0; rank < k; rank++) {
      ids[order[rank]] = functions.lit(String.format("P%02d", rank + 1));
    }
    return ids;
  }

  /**
   * One row per persona: persona_id, users, share, centroid (feature name to mean, natural units).
   *
   * @param assigned output of {@link #apply}
   */
  public Dataset<Row> summary(Dataset<Row> assigned) {
    List<Column> aggs = new ArrayList<>();
    aggs.add(functions.count(functions.lit(1)).as("users"));
    List<Column> mapArgs = new ArrayList<>();
    for (NamedExpr f : config.features()) {
      aggs.add(functions.avg(col("pf_" + f.name())).as("mean_" + f.name()));
      mapArgs.add(functions.lit(f.name()));
      mapArgs.add(col("mean_" + f.name()));
    }
    Dataset<Row> grouped = assigned.groupBy(PERSONA_ID)
        .agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new));
    double total = Math.max(1, assigned.count());
    return grouped
        .withColumn("share", col("users").divide(functions.lit(total)))
        .select(col(PERSONA_ID), col("users"), col("share"),
            functions.map(mapArgs.toArray(Column[]::new)).as("centroid"))
        .orderBy(PERSONA_ID);
  }
}
