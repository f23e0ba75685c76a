package io.github.personas.pipeline.segment;

import static org.apache.spark.sql.functions.col;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.engine.Caches;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.feature.StandardScaler;
import org.apache.spark.ml.feature.StandardScalerModel;
import org.apache.spark.ml.feature.VectorAssembler;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.api.java.UDF2;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * K-means personas: configured inputs, transformed and standardised; k chosen automatically;
 * small clusters merged; each persona named and matched to the previous run's for stable ids.
 *
 * <p>Adds to every user {@code persona_id}, {@code persona_name} and {@code distance_to_centroid}
 * (Euclidean, standardised units). The {@link Result} also has one row per persona and the
 * k-selection curve, both as tables.
 */
public final class PersonaClusterer {

  private static final Logger LOG = LogManager.getLogger(PersonaClusterer.class);

  public static final String PERSONA_ID = "persona_id";
  public static final String PERSONA_NAME = "persona_name";
  public static final String DISTANCE = "distance_to_centroid";
  public static final String NATURAL_PREFIX = "pf_";
  public static final String TRANSFORMED_PREFIX = "pt_";
  private static final String RAW = "persona_features";
  private static final String SCALED = "persona_features_scaled";
  private static final String CLUSTER = "persona_cluster";
  private static final String GROUP = "persona_group";
  private static final long SAMPLE_BUCKETS = 1_000_000L;
  /** Spark KMeans' default convergence tolerance, used for the sample fits too. */
  private static final double KMEANS_TOLERANCE = 1e-4;
  /** Users per partition of the clustering input: small enough for many cores, large enough that
   *  k-means iterations are not all task overhead. */
  private static final long USERS_PER_PARTITION = 25_000L;
  private static final Pattern ID = Pattern.compile("P(\\d+)");

  /** Schema of the personas table. */
  public static final StructType PERSONAS_SCHEMA = StructType.fromDDL(
      "persona_id string, persona_name string, adjectives array<string>, users bigint, share double,"
          + " centroid map<string,double>, centroid_transformed map<string,double>,"
          + " top_features array<struct<feature:string,z:double,value:double,population:double>>,"
          + " previous_persona_id string, match_distance double, kmeans_clusters array<int>,"
          + " traits array<string>, goal string, channel string, strategy string");

  /** Schema of the k_selection table. */
  public static final StructType K_SELECTION_SCHEMA = StructType.fromDDL(
      "k int, clusters_found int, cost double, silhouette double, knee boolean, chosen boolean, sample_users bigint,"
          + " reason string");

  /**
   * A persona of an earlier run, as read back from its personas table.
   *
   * @param id                  its persona_id
   * @param name                its persona_name
   * @param centroidTransformed its centroid in transformed, unscaled units
   */
  public record PreviousPersona(String id, String name, Map<String, Double> centroidTransformed) {}

  /**
   * What the previous run left, for stable ids and k.
   *
   * @param date         the previous run's date (for messages)
   * @param personas     its personas
   * @param k            its chosen k, or -1 when unknown
   * @param maxIdNumber  the largest persona number ever given before this run (P07 is 7), 0 if none
   */
  public record Previous(String date, List<PreviousPersona> personas, int k, int maxIdNumber) {
    public Previous {
      personas = List.copyOf(personas);
    }

    /** No earlier run. */
    public static final Previous NONE = new Previous("", List.of(), -1, 0);
  }

  /**
   * The outcome of {@link #apply}.
   *
   * @param assigned       the input rows with persona_id, persona_name, distance_to_centroid
   * @param personas       one row per persona ({@link #PERSONAS_SCHEMA})
   * @param kSelection     the candidate curve ({@link #K_SELECTION_SCHEMA})
   * @param choice         the chosen k and why
   * @param silhouette     the chosen k's silhouette on the selection sample (NaN if undefined)
   * @param model          the fitted assembler, scaler and k-means, or null with a single persona
   * @param matched        personas that kept the previous run's id
   * @param merged         k-means clusters merged away for being smaller than min_share
   */
  public record Result(Dataset<Row> assigned, Dataset<Row> personas, Dataset<Row> kSelection,
                       KSelection.Choice choice, double silhouette, Model model, int matched, int merged) {

    /** The facts the run summary keeps, with the names of {@code personas} (the personas table's rows). */
    public Facts facts(List<Row> personas) {
      Map<String, String> names = new LinkedHashMap<>();
      personas.forEach(r -> names.put(r.getString(0), r.getString(1)));
      return new Facts(choice.k(), Double.isNaN(silhouette) ? null : silhouette,
          choice.knee() > 0 ? choice.knee() : null, choice.reason(), merged, matched, names);
    }
  }

  /**
   * What the clustering found, for the run summary.
   *
   * @param k                   the k chosen
   * @param silhouette          its silhouette on the selection sample; null when undefined
   * @param knee                the knee of the cost curve; null without one
   * @param reason              why this k, one sentence
   * @param mergedSmallClusters k-means clusters merged away for being smaller than min_share
   * @param matchedPrevious     personas that kept the previous run's id
   * @param names               persona id to name
   */
  public record Facts(int k, Double silhouette, Integer knee, String reason, int mergedSmallClusters,
                      int matchedPrevious, Map<String, String> names) {}

  /**
   * The fitted persona model: the Spark ML pipeline that assembles and standardises the clustering
   * inputs, and the k-means centres as an MLlib model, whose {@code predict} gives a standardised
   * vector's cluster. MLlib's, because Spark ML's k-means cannot start from given centres (see
   * {@link #fitEveryone}).
   *
   * @param prep   assembler and scaler
   * @param kmeans the centres, standardised units
   */
  public record Model(PipelineModel prep, org.apache.spark.mllib.clustering.KMeansModel kmeans) {

    /** Saves {@code prep} to {@code <path>/prep} and the centres to {@code <path>/kmeans}. */
    public void save(SparkSession spark, String path) {
      try {
        prep.write().overwrite().save(path + "/prep");
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("Cannot save the persona model to " + path, e);
      }
      kmeans.save(spark.sparkContext(), path + "/kmeans");
    }
  }

  private final PersonasConfig.Personas config;
  private final PersonaNamer namer;

  /** One candidate k fitted on the selection sample. */
  private record SampleFit(int k, SampleKMeans.Fit fit, double silhouette, double seconds) {}

  public PersonaClusterer(PersonasConfig.Personas config) {
    this.config = Objects.requireNonNull(config, "config");
    this.namer = new PersonaNamer(config.naming());
  }

  /** The configured clustering inputs in natural units, nulls as 0 ({@code pf_<name>}). */
  public List<Column> inputColumns() {
    List<Column> cols = new ArrayList<>();
    for (PersonasConfig.ClusterInput f : config.features()) {
      cols.add(functions.coalesce(NamedExpr.column(f.sql()).cast(DataTypes.DoubleType), functions.lit(0.0))
          .as(NATURAL_PREFIX + f.name()));
    }
    return cols;
  }

  /**
   * Checks that every clustering input, descriptor, noun rule and template is valid Spark SQL over
   * the features table, before any data is read.
   *
   * @param featuresSchema any Dataset with the features table's columns (it may be empty)
   * @throws ConfigException naming the key and entry
   */
  public void checkConfig(Dataset<Row> featuresSchema) {
    String base = "personas.personas.";
    for (int i = 0; i < config.features().size(); i++) {
      PersonasConfig.ClusterInput f = config.features().get(i);
      checkSql(featuresSchema, base + "features[" + i + "] '" + f.name() + "'", f.sql(), false);
    }
    List<NamedExpr> descriptors = config.naming().descriptors();
    for (int i = 0; i < descriptors.size(); i++) {
      NamedExpr d = descriptors.get(i);
      checkSql(featuresSchema, base + "naming.descriptors[" + i + "] '" + d.name() + "'", d.sql(), true);
    }
    Dataset<Row> profile = profileShape(featuresSchema);
    new RuleTable(base + "naming.nouns", nonEmpty(config.naming().nouns())).checkResolves(profile);
    new RuleTable(base + "naming.templates", nonEmpty(config.naming().templates())).checkResolves(profile);
    new RuleTable(base + "playbook", nonEmpty(playRules())).checkResolves(profile);
  }

  private List<NamedExpr> playRules() {
    List<NamedExpr> rules = new ArrayList<>();
    for (int i = 0; i < config.playbook().size(); i++) {
      rules.add(new NamedExpr(config.playbook().get(i).goal(), config.playbook().get(i).when()));
    }
    return rules;
  }

  private static List<NamedExpr> nonEmpty(List<NamedExpr> rules) {
    return rules.isEmpty() ? List.of(new NamedExpr("none", "false")) : rules;
  }

  private static void checkSql(Dataset<Row> df, String what, String sql, boolean aggregate) {
    try {
      if (aggregate) {
        df.agg(NamedExpr.column(sql)).schema();
      } else {
        df.select(NamedExpr.column(sql).cast(DataTypes.DoubleType)).schema();
      }
    } catch (Exception e) {
      String first = ConfigException.firstLine(e);
      throw new ConfigException(String.format("%s: expression \"%s\" is not valid Spark SQL%s over the features"
          + " table (docs/features.md): %s", what, sql, aggregate ? " aggregate" : "", first), e);
    }
  }

  /** An empty persona profile with the columns naming rules may use. */
  private Dataset<Row> profileShape(Dataset<Row> features) {
    List<Column> aggs = new ArrayList<>();
    aggs.add(functions.count(functions.lit(1)).as("users"));
    aggs.add(functions.lit(0.0).as("share"));
    for (PersonasConfig.ClusterInput f : config.features()) {
      aggs.add(functions.avg(NamedExpr.column(f.sql()).cast(DataTypes.DoubleType)).as(f.name()));
      aggs.add(functions.lit(0.0).as("z_" + f.name()));
    }
    aggs.addAll(descriptorAggs());
    return features.limit(0).agg(aggs.get(0), aggs.subList(1, aggs.size()).toArray(Column[]::new));
  }

  /**
   * Chooses k, fits k-means on {@code features}, merges small clusters, names the personas and
   * matches them to {@code previous}.
   *
   * @param features the features table (one row per user)
   * @param previous what the previous run left, or {@link Previous#NONE}
   * @param caches   owner of what the clustering caches
   */
  public Result apply(Dataset<Row> features, Previous previous, Caches caches) {
    SparkSession spark = features.sparkSession();
    List<String> names = config.features().stream().map(PersonasConfig.ClusterInput::name).toList();
    List<Column> cols = new ArrayList<>(List.of(col("*")));
    cols.addAll(inputColumns());
    List<Column> withT = new ArrayList<>(List.of(col("*")));
    for (PersonasConfig.ClusterInput f : config.features()) {
      withT.add(functions.expr(f.transform().sql("`" + NATURAL_PREFIX + f.name() + "`")).as(TRANSFORMED_PREFIX + f.name()));
    }
    // The final k-means sums users partition by partition, so the same users in another layout
    // (features computed in this run vs read back from Parquet, another number of cores or of
    // shuffle partitions) would sum in another order and could differ in the last bits. Hash
    // partitioning into a number of partitions that depends only on the number of users, plus a
    // sort, fixes the layout.
    // Projection and repartitioning keep every row, so this is also the number of users in input.
    long users = features.count();
    int partitions = (int) Math.max(1, Math.min(2000, (users + USERS_PER_PARTITION - 1) / USERS_PER_PARTITION));
    // The clustering inputs are computed after the shuffle, which then moves 2 x inputs fewer columns.
    Dataset<Row> input = caches.persist(features
        .repartition(partitions, col("user_id"))
        .sortWithinPartitions("user_id")
        .select(cols.toArray(Column[]::new))
        .select(withT.toArray(Column[]::new)));
    if (users == 0) {
      KSelection.Choice none = new KSelection.Choice(0, -1, "no users: no personas");
      Dataset<Row> empty = input.withColumn(PERSONA_ID, functions.lit(null).cast(DataTypes.StringType))
          .withColumn(PERSONA_NAME, functions.lit(null).cast(DataTypes.StringType))
          .withColumn(DISTANCE, functions.lit(null).cast(DataTypes.DoubleType));
      return new Result(empty, spark.createDataFrame(List.of(), PERSONAS_SCHEMA),
          spark.createDataFrame(List.of(), K_SELECTION_SCHEMA), none, Double.NaN, null, 0, 0);
    }
    String[] tCols = names.stream().map(n -> TRANSFORMED_PREFIX + n).toArray(String[]::new);
    VectorAssembler assembler = new VectorAssembler().setInputCols(tCols).setOutputCol(RAW);
    StandardScaler scaler = new StandardScaler().setInputCol(RAW).setOutputCol(SCALED).setWithMean(true).setWithStd(true);

    PipelineModel prep = new Pipeline().setStages(new PipelineStage[] {assembler, scaler}).fit(input);
    StandardScalerModel scalerModel = (StandardScalerModel) prep.stages()[1];
    double[] mu = scalerModel.mean().toArray();
    double[] sigma = scalerModel.std().toArray();

    List<KSelection.Candidate> curve = new ArrayList<>();
    Map<Integer, SampleKMeans.Fit> sampleFits = new java.util.HashMap<>();
    long sampleUsers = 0;
    if (users >= 3) {
      double fraction = Math.min(1.0, (double) config.selectionSampleUsers() / users);
      // The sample is small by configuration (selection_sample_users), so candidates are fitted
      // on the driver; sorted by user_id so the draw does not depend on the partition layout.
      List<Row> sampleRows = prep.transform(input)
          .where(functions.pmod(functions.xxhash64(functions.lit(config.seed()), col("user_id")),
              functions.lit(SAMPLE_BUCKETS)).lt(Math.round(fraction * SAMPLE_BUCKETS)))
          .select("user_id", SCALED)
          .orderBy("user_id")
          .collectAsList();
      double[][] points = sampleRows.stream().map(r -> ((Vector) r.get(1)).toArray()).toArray(double[][]::new);
      sampleUsers = points.length;
      SampleKMeans local = new SampleKMeans(config.maxIterations(), KMEANS_TOLERANCE, config.seed());
      int kMax = (int) Math.min(config.kMax(), sampleUsers - 1);
      // Each k is fitted from its own seed, so the candidates are fitted on all the driver's
      // cores at once and come out the same as one after another. With fewer sample users than
      // k_min, kMax alone is tried (k_min >= 2 is checked at load).
      List<SampleFit> fits = java.util.stream.IntStream.rangeClosed(Math.max(2, Math.min(config.kMin(), kMax)), kMax)
          .parallel()
          .mapToObj(k -> {
            long t0 = System.nanoTime();
            SampleKMeans.Fit m = local.fit(points, k);
            double silhouette = m.found() >= 2 ? SampleKMeans.silhouette(points, m.assignment(), k) : Double.NaN;
            return new SampleFit(k, m, silhouette, (System.nanoTime() - t0) / 1e9);
          })
          .toList();
      for (SampleFit f : fits) {
        sampleFits.put(f.k(), f.fit());
        curve.add(new KSelection.Candidate(f.k(), f.fit().found(), f.fit().cost(), f.silhouette()));
        LOG.info("k = {}: cost {}, silhouette {}, {} clusters found ({} s)", f.k(),
            String.format("%.1f", f.fit().cost()), String.format("%.4f", f.silhouette()), f.fit().found(),
            String.format("%.2f", f.seconds()));
      }
    }

    KSelection.Choice choice;
    double silhouette = Double.NaN;
    Model model = null;
    Dataset<Row> clustered;
    double[][] centers;
    long[] sizes;
    if (curve.isEmpty() || curve.stream().allMatch(c -> c.found() < 2)) {
      choice = new KSelection.Choice(1, -1, users < 3
          ? String.format("%d user%s: one persona", users, users == 1 ? "" : "s")
          : "all users have the same clustering inputs: one persona");
      clustered = prep.transform(input).withColumn(CLUSTER, functions.lit(0));
      centers = new double[][] {new double[names.size()]};
      sizes = new long[] {users};
    } else {
      choice = KSelection.choose(curve, config.silhouetteTolerance(), config.kChangeMinGain(), previous.k());
      int k = choice.k();
      silhouette = curve.stream().filter(c -> c.k() == k).findFirst().orElseThrow().silhouette();
      FinalFit fit = fitEveryone(prep, input, sampleFits.get(k).centers(), caches);
      model = fit.model();
      org.apache.spark.mllib.clustering.KMeansModel kmeans = model.kmeans();
      // MLlib's own predict, as Spark ML's k-means model applies it.
      UDF1<Vector, Integer> predict = v -> kmeans.predict(org.apache.spark.mllib.linalg.Vectors.fromML(v));
      clustered = prep.transform(input).withColumn(CLUSTER,
          functions.udf(predict, DataTypes.IntegerType).apply(col(SCALED)));
      centers = fit.centers();
      sizes = fit.sizes();
    }
    LOG.info("Chosen: {}", choice.reason());

    Merge merge = merge(centers, sizes, users);
    int groups = merge.centers.length;
    Column[] groupOf = Arrays.stream(merge.groupOfCluster).mapToObj(functions::lit).toArray(Column[]::new);
    Dataset<Row> grouped = clustered.withColumn(GROUP,
        functions.element_at(functions.array(groupOf), col(CLUSTER).plus(1)));

    // One pass for every persona's natural and transformed means and its descriptors.
    List<Column> aggs = new ArrayList<>();
    for (String n : names) {
      aggs.add(functions.avg(col(NATURAL_PREFIX + n)).as("n_" + n));
      aggs.add(functions.avg(col(TRANSFORMED_PREFIX + n)).as("t_" + n));
    }
    aggs.addAll(descriptorAggs());
    List<Row> stats = grouped.groupBy(GROUP).agg(functions.count(functions.lit(1)).as("users"),
        aggs.toArray(Column[]::new)).orderBy(GROUP).collectAsList();

    int d = names.size();
    long[] groupUsers = new long[groups];
    double[][] naturalMean = new double[groups][d];
    double[][] transformedMean = new double[groups][d];
    double[][] z = new double[groups][d];
    double[] population = new double[d];
    List<Row> profileRows = new ArrayList<>();
    for (Row r : stats) {
      int g = r.getInt(0);
      groupUsers[g] = r.getLong(1);
      for (int j = 0; j < d; j++) {
        naturalMean[g][j] = r.getDouble(2 + 2 * j);
        transformedMean[g][j] = r.getDouble(3 + 2 * j);
        z[g][j] = sigma[j] > 0 ? (transformedMean[g][j] - mu[j]) / sigma[j] : 0.0;
        population[j] += naturalMean[g][j] * groupUsers[g] / users;
      }
    }
    StructType profileSchema = profileShape(input).schema();
    for (Row r : stats) {
      int g = r.getInt(0);
      List<Object> values = new ArrayList<>();
      values.add(groupUsers[g]);
      values.add((double) groupUsers[g] / users);
      for (int j = 0; j < d; j++) {
        values.add(naturalMean[g][j]);
        values.add(z[g][j]);
      }
      for (int i = 0; i < config.naming().descriptors().size(); i++) {
        values.add(r.get(2 + 2 * d + i));
      }
      profileRows.add(RowFactory.create(values.toArray()));
    }
    Dataset<Row> profile = spark.createDataFrame(profileRows, profileSchema);

    // Stable ids: optimal assignment of tonight's centroids to the previous run's.
    String[] ids = new String[groups];
    String[] keptNames = new String[groups];
    String[] previousIds = new String[groups];
    Double[] matchDistance = new Double[groups];
    int matched = matchPrevious(previous, names, mu, sigma, merge.centers, ids, keptNames, previousIds, matchDistance);
    Integer[] bySize = new Integer[groups];
    for (int g = 0; g < groups; g++) {
      bySize[g] = g;
    }
    Arrays.sort(bySize, Comparator.comparingLong((Integer g) -> -groupUsers[g]).thenComparingInt(g -> g));
    int next = previous.maxIdNumber();
    for (int g : bySize) {
      if (ids[g] == null) {
        ids[g] = String.format("P%02d", ++next);
      }
    }

    // Names: kept from the previous run, else a template, else adjectives and a noun.
    String[] personaNames = new String[groups];
    List<List<String>> adjectives = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      Map<String, Double> zg = new LinkedHashMap<>();
      for (int j = 0; j < d; j++) {
        zg.put(names.get(j), z[g][j]);
      }
      adjectives.add(namer.adjectives(zg));
    }
    Set<String> taken = new HashSet<>();
    for (int g = 0; g < groups; g++) {
      if (keptNames[g] != null) {
        personaNames[g] = keptNames[g];
        taken.add(keptNames[g]);
      }
    }
    List<Row> ruleHits = profile.select(ruleColumns().toArray(Column[]::new)).collectAsList();
    List<NamedExpr> templates = config.naming().templates();
    for (int t = 0; t < templates.size(); t++) {
      String name = templates.get(t).name();
      if (taken.stream().anyMatch(name::equalsIgnoreCase)) {
        continue;
      }
      int claim = -1;
      for (int g : bySize) {
        if (personaNames[g] == null && ruleHits.get(g).getBoolean(1 + t)) {
          claim = g;
          break;
        }
      }
      if (claim >= 0) {
        personaNames[claim] = name;
        taken.add(name);
      }
    }
    List<NamedExpr> nouns = config.naming().nouns();
    for (int g : bySize) {
      if (personaNames[g] == null) {
        Object nounIndex = ruleHits.get(g).get(0);
        String noun = nounIndex == null ? config.naming().nounOtherwise() : nouns.get((Integer) nounIndex).name();
        personaNames[g] = namer.uniqueName(adjectives.get(g), noun, taken);
        taken.add(personaNames[g]);
      }
    }

    List<Row> personaRows = new ArrayList<>();
    List<Integer> byId = new ArrayList<>(List.of(bySize));
    byId.sort(Comparator.comparing(g -> ids[g]));
    for (int g : byId) {
      Map<String, Double> centroid = new LinkedHashMap<>();
      Map<String, Double> centroidT = new LinkedHashMap<>();
      List<Row> top = new ArrayList<>();
      Integer[] order = new Integer[d];
      for (int j = 0; j < d; j++) {
        centroid.put(names.get(j), naturalMean[g][j]);
        centroidT.put(names.get(j), transformedMean[g][j]);
        order[j] = j;
      }
      int gg = g;
      Arrays.sort(order, Comparator.comparingDouble((Integer j) -> -Math.abs(z[gg][j])).thenComparingInt(j -> j));
      for (int i = 0; i < Math.min(5, d); i++) {
        int j = order[i];
        top.add(RowFactory.create(names.get(j), z[g][j], naturalMean[g][j], population[j]));
      }
      List<String> adj = adjectives.get(g).subList(0, Math.min(config.naming().maxAdjectives(), adjectives.get(g).size()));
      List<Integer> clusters = new ArrayList<>();
      for (int c = 0; c < merge.groupOfCluster.length; c++) {
        if (merge.groupOfCluster[c] == g && model != null) {
          clusters.add(c);
        }
      }
      List<String> traits = new ArrayList<>();
      for (int i = 0; i < d && traits.size() < 4; i++) {
        int j = order[i];
        if (Math.abs(z[g][j]) >= config.naming().minZ()) {
          traits.add(Traits.describe(names.get(j), naturalMean[g][j], population[j]));
        }
      }
      Object playIndex = ruleHits.get(g).get(1 + templates.size());
      PersonasConfig.Play play = playIndex == null ? config.playbookOtherwise()
          : config.playbook().get((Integer) playIndex);
      personaRows.add(RowFactory.create(ids[g], personaNames[g], scalaSeq(adj), groupUsers[g],
          (double) groupUsers[g] / users, scalaMap(centroid), scalaMap(centroidT), scalaSeq(top), previousIds[g],
          matchDistance[g], scalaSeq(clusters), scalaSeq(traits), play.goal(), play.channel(), play.strategy()));
      LOG.info("Persona {} '{}': {} users ({}%), {}", ids[g], personaNames[g], groupUsers[g],
          String.format("%.1f", 100.0 * groupUsers[g] / users),
          previousIds[g] == null ? "new" : String.format("matched %s at distance %.3f", previousIds[g], matchDistance[g]));
    }
    Dataset<Row> personas = spark.createDataFrame(personaRows, PERSONAS_SCHEMA);

    double[][] finalCenters = merge.centers;
    UDF2<Vector, Integer, Double> distance = (v, g) -> {
      double[] a = v.toArray();
      double[] c = finalCenters[g];
      double s = 0;
      for (int i = 0; i < a.length; i++) {
        s += (a[i] - c[i]) * (a[i] - c[i]);
      }
      return Math.sqrt(s);
    };
    Column[] idOf = Arrays.stream(ids).map(functions::lit).toArray(Column[]::new);
    Column[] nameOf = Arrays.stream(personaNames).map(functions::lit).toArray(Column[]::new);
    Dataset<Row> assigned = grouped
        .withColumn(PERSONA_ID, functions.element_at(functions.array(idOf), col(GROUP).plus(1)))
        .withColumn(PERSONA_NAME, functions.element_at(functions.array(nameOf), col(GROUP).plus(1)))
        .withColumn(DISTANCE, functions.udf(distance, DataTypes.DoubleType).apply(col(SCALED), col(GROUP)))
        .drop(RAW, SCALED, CLUSTER, GROUP);

    List<Row> curveRows = new ArrayList<>();
    for (KSelection.Candidate c : curve) {
      curveRows.add(RowFactory.create(c.k(), c.found(), c.cost(), c.silhouette(), c.k() == choice.knee(),
          c.k() == choice.k(), sampleUsers, choice.reason()));
    }
    Dataset<Row> kSelection = spark.createDataFrame(curveRows, K_SELECTION_SCHEMA);
    return new Result(assigned, personas, kSelection, choice, silhouette, model, matched, merge.merged);
  }

  private List<Column> descriptorAggs() {
    return config.naming().descriptors().stream().map(x -> x.column().as(x.name())).toList();
  }

  /** Noun rule index (null if none) then one boolean per template, for each persona profile. */
  private List<Column> ruleColumns() {
    List<Column> cols = new ArrayList<>();
    cols.add(config.naming().nouns().isEmpty() ? functions.lit(null).cast(DataTypes.IntegerType)
        : new RuleTable("personas.personas.naming.nouns", config.naming().nouns()).firstMatchIndex());
    for (NamedExpr t : config.naming().templates()) {
      cols.add(functions.coalesce(t.column().cast(DataTypes.BooleanType), functions.lit(false)));
    }
    cols.add(config.playbook().isEmpty() ? functions.lit(null).cast(DataTypes.IntegerType)
        : new RuleTable("personas.personas.playbook", playRules()).firstMatchIndex());
    return cols;
  }

  /** The k-means model over everyone, its centres (standardised units) and cluster sizes. */
  private record FinalFit(Model model, double[][] centers, long[] sizes) {}

  /**
   * Lloyd's iterations over every user, from the centres the chosen k had on the sample.
   *
   * <p>Starting where the sample fit ended, a few passes converge; Spark's KMeans would start
   * over with k-means|| (several passes and samples) and took 20 s of the 55 s segment stage at
   * 500k users. Spark ML's estimator takes no initial centres and its model cannot be built from
   * MLlib's with public API, so this step is MLlib's k-means with an initial model, and the model
   * kept is MLlib's beside the ML pipeline that prepares its input ({@link Model}).
   */
  private FinalFit fitEveryone(PipelineModel prep, Dataset<Row> input, double[][] start, Caches caches) {
    int k = start.length;
    org.apache.spark.mllib.linalg.Vector[] initial = Arrays.stream(start)
        .map(org.apache.spark.mllib.linalg.Vectors::dense).toArray(org.apache.spark.mllib.linalg.Vector[]::new);
    JavaRDD<org.apache.spark.mllib.linalg.Vector> vectors = caches.persist(prep.transform(input).select(SCALED)
        .javaRDD().map(r -> org.apache.spark.mllib.linalg.Vectors.fromML((Vector) r.get(0))));
    org.apache.spark.mllib.clustering.KMeansModel fitted = new org.apache.spark.mllib.clustering.KMeans()
        .setK(k).setMaxIterations(config.maxIterations()).setEpsilon(KMEANS_TOLERANCE).setSeed(config.seed())
        .setInitialModel(new org.apache.spark.mllib.clustering.KMeansModel(initial))
        .run(vectors.rdd());
    Map<Integer, Long> counts = fitted.predict(vectors).countByValue();
    long[] sizes = new long[k];
    for (int c = 0; c < k; c++) {
      sizes[c] = counts.getOrDefault(c, 0L);
    }
    double[][] centers = Arrays.stream(fitted.clusterCenters()).map(org.apache.spark.mllib.linalg.Vector::toArray)
        .toArray(double[][]::new);
    LOG.info("k-means on all {} users from the sample's centres: cost {}", Arrays.stream(sizes).sum(),
        String.format("%.1f", fitted.trainingCost()));
    return new FinalFit(new Model(prep, fitted), centers, sizes);
  }

  /** Result of merging small clusters: cluster index to group index, and group centroids. */
  private record Merge(int[] groupOfCluster, double[][] centers, int merged) {}

  /**
   * Merges clusters smaller than min_share into the cluster whose centroid is nearest, smallest
   * first; a merged centroid is the size-weighted mean. Empty clusters go first.
   */
  private Merge merge(double[][] centers, long[] sizes, long users) {
    int k = centers.length;
    int[] target = new int[k];
    long[] size = sizes.clone();
    double[][] c = Arrays.stream(centers).map(double[]::clone).toArray(double[][]::new);
    boolean[] alive = new boolean[k];
    Arrays.fill(alive, true);
    for (int i = 0; i < k; i++) {
      target[i] = i;
    }
    int merged = 0;
    while (true) {
      int smallest = -1;
      int aliveCount = 0;
      for (int i = 0; i < k; i++) {
        if (alive[i]) {
          aliveCount++;
          if (smallest < 0 || size[i] < size[smallest]) {
            smallest = i;
          }
        }
      }
      if (aliveCount <= 1 || (size[smallest] > 0 && size[smallest] >= config.minShare() * users)) {
        break;
      }
      int nearest = -1;
      double best = Double.POSITIVE_INFINITY;
      for (int i = 0; i < k; i++) {
        if (alive[i] && i != smallest) {
          double dist = sqdist(c[i], c[smallest]);
          if (dist < best) {
            best = dist;
            nearest = i;
          }
        }
      }
      long total = size[nearest] + size[smallest];
      if (total > 0) {
        for (int j = 0; j < c[nearest].length; j++) {
          c[nearest][j] = (c[nearest][j] * size[nearest] + c[smallest][j] * size[smallest]) / total;
        }
      }
      size[nearest] = total;
      alive[smallest] = false;
      for (int i = 0; i < k; i++) {
        if (target[i] == smallest) {
          target[i] = nearest;
        }
      }
      if (sizes[smallest] > 0) {
        merged++;
        LOG.info("Merged k-means cluster {} ({} users, below personas.personas.min_share = {}) into cluster {}",
            smallest, sizes[smallest], config.minShare(), nearest);
      }
    }
    int[] groupIndex = new int[k];
    Arrays.fill(groupIndex, -1);
    List<double[]> groupCenters = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      if (alive[i]) {
        groupIndex[i] = groupCenters.size();
        groupCenters.add(c[i]);
      }
    }
    int[] groupOfCluster = new int[k];
    for (int i = 0; i < k; i++) {
      groupOfCluster[i] = groupIndex[target[i]];
    }
    return new Merge(groupOfCluster, groupCenters.toArray(double[][]::new), merged);
  }

  /**
   * Matches tonight's groups to the previous personas by optimal assignment on the distance of
   * their centroids in tonight's standardised units; fills ids, names and distances of the
   * matches within match_max_distance.
   *
   * @return how many personas kept a previous id
   */
  private int matchPrevious(Previous previous, List<String> names, double[] mu, double[] sigma, double[][] centers,
                            String[] ids, String[] keptNames, String[] previousIds, Double[] distances) {
    List<PreviousPersona> prev = previous.personas();
    if (prev.isEmpty()) {
      return 0;
    }
    if (!prev.stream().allMatch(p -> p.centroidTransformed() != null
        && p.centroidTransformed().keySet().equals(new HashSet<>(names)))) {
      LOG.warn("The personas of {} were clustered on other inputs than personas.personas.features now lists;"
          + " every persona gets a new id", previous.date());
      return 0;
    }
    double[][] prevScaled = new double[prev.size()][names.size()];
    for (int p = 0; p < prev.size(); p++) {
      for (int j = 0; j < names.size(); j++) {
        double t = prev.get(p).centroidTransformed().get(names.get(j));
        prevScaled[p][j] = sigma[j] > 0 ? (t - mu[j]) / sigma[j] : 0.0;
      }
    }
    double[][] cost = new double[centers.length][prev.size()];
    for (int g = 0; g < centers.length; g++) {
      for (int p = 0; p < prev.size(); p++) {
        cost[g][p] = Math.sqrt(sqdist(centers[g], prevScaled[p]));
      }
    }
    int[] assignment = OptimalAssignment.solve(cost);
    int matched = 0;
    for (int g = 0; g < centers.length; g++) {
      int p = assignment[g];
      if (p >= 0 && cost[g][p] <= config.matchMaxDistance()) {
        ids[g] = prev.get(p).id();
        keptNames[g] = prev.get(p).name();
        previousIds[g] = prev.get(p).id();
        distances[g] = cost[g][p];
        matched++;
      }
    }
    return matched;
  }

  /** The number in a persona id (P07 is 7), or 0 for ids of another shape. */
  public static int idNumber(String id) {
    Matcher m = ID.matcher(id == null ? "" : id);
    return m.matches() ? Integer.parseInt(m.group(1)) : 0;
  }

  private static double sqdist(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (a[i] - b[i]) * (a[i] - b[i]);
    }
    return s;
  }

  private static <T> scala.collection.immutable.Seq<T> scalaSeq(List<T> list) {
    return scala.jdk.javaapi.CollectionConverters.asScala(list).toList();
  }

  private static scala.collection.Map<String, Double> scalaMap(Map<String, Double> map) {
    return scala.jdk.javaapi.CollectionConverters.asScala(map);
  }
}
