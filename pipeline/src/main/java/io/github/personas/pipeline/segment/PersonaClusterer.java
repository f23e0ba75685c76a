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
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.ml.feature.SQLTransformer;
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
  static final String STANDARDISED_PREFIX = "ps_";
  private static final String SCALED = "persona_features_scaled";
  private static final String CLUSTER = "persona_cluster";
  private static final String GROUP = "persona_group";
  private static final String RULE = "persona_rule";
  /** The kind of a persona defined by a rule of personas.personas.rules. */
  public static final String RULE_KIND = "rule";
  /** The kind of a persona found by k-means. */
  public static final String CLUSTER_KIND = "clustered";
  /** Traits per persona, strongest first. */
  private static final int MAX_TRAITS = 4;
  /** Traits shown even when none is beyond min_z. */
  private static final int MIN_TRAITS = 2;
  /** Decision trees grown at once. */
  private static final int TREE_THREADS = 4;
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
          + " traits array<string>, goal string, channel string, strategy string, kind string, rule string,"
          + " rule_precision double, rule_recall double,"
          + " trait_values array<struct<input:string,column:string,statistic:string,value:double,population:double>>");

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
   * @param kind                rule or clustered (clustered for tables older than rule personas)
   */
  public record PreviousPersona(String id, String name, Map<String, Double> centroidTransformed, String kind) {

    /** A clustered persona of an earlier run. */
    public PreviousPersona(String id, String name, Map<String, Double> centroidTransformed) {
      this(id, name, centroidTransformed, CLUSTER_KIND);
    }
  }

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
   * @param inputsLeftOut  clustering inputs left out for this data, each with the reason
   * @param inputs         the clustering inputs k-means used, as name = Spark SQL over the features
   *                       table (with the weight where it is not 1): the category inputs are the data's
   */
  public record Result(Dataset<Row> assigned, Dataset<Row> personas, Dataset<Row> kSelection,
                       KSelection.Choice choice, double silhouette, Model model, int matched, int merged,
                       List<String> inputsLeftOut, List<String> inputs) {

    /** The facts the run summary keeps, with the names of {@code personas} (the personas table's rows). */
    public Facts facts(List<Row> personas) {
      Map<String, String> names = new LinkedHashMap<>();
      personas.forEach(r -> names.put(r.getString(0), r.getString(1)));
      return new Facts(choice.k(), Double.isNaN(silhouette) ? null : silhouette,
          choice.knee() > 0 ? choice.knee() : null, choice.reason(), merged, matched, names, inputsLeftOut, inputs);
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
   * @param inputsLeftOut       clustering inputs left out for this data, each with the reason
   * @param inputs              the clustering inputs used, name = Spark SQL (and weight)
   */
  public record Facts(int k, Double silhouette, Integer knee, String reason, int mergedSmallClusters,
                      int matchedPrevious, Map<String, String> names, List<String> inputsLeftOut,
                      List<String> inputs) {}

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

  /** The clustering inputs in natural units, nulls as 0 ({@code pf_<name>}). */
  private static List<Column> inputColumns(List<PersonasConfig.ClusterInput> inputs) {
    List<Column> cols = new ArrayList<>();
    for (PersonasConfig.ClusterInput f : inputs) {
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
      checkSql(featuresSchema, base + "features[" + i + "] '" + f.name() + "' describe", f.describe(), false);
    }
    for (int i = 0; i < config.explainWith().size(); i++) {
      checkSql(featuresSchema, base + "explain_with[" + i + "]", config.explainWith().get(i), false);
    }
    for (int i = 0; i < config.rules().size(); i++) {
      PersonasConfig.RulePersona r = config.rules().get(i);
      checkSql(featuresSchema, base + "rules[" + i + "] '" + r.name() + "' when", r.when(), false);
      if (!(featuresSchema.select(NamedExpr.column(r.when())).schema().fields()[0].dataType()
          instanceof org.apache.spark.sql.types.BooleanType)) {
        throw ConfigException.of("%srules[%d] '%s': when \"%s\" is not a condition (true or false) over the features"
            + " table", base, i, r.name(), r.when());
      }
      if (!r.requires().isEmpty()) {
        checkSql(featuresSchema, base + "rules[" + i + "] '" + r.name() + "' requires", r.requires(), true);
      }
    }
    List<NamedExpr> descriptors = config.naming().descriptors();
    for (int i = 0; i < descriptors.size(); i++) {
      NamedExpr d = descriptors.get(i);
      checkSql(featuresSchema, base + "naming.descriptors[" + i + "] '" + d.name() + "'", d.sql(), true);
    }
    for (int i = 0; i < config.channels().size(); i++) {
      NamedExpr ch = config.channels().get(i);
      checkSql(featuresSchema, base + "channels[" + i + "] '" + ch.name() + "' reach", ch.sql(), true);
    }
    Dataset<Row> profile = featuresSchema.sparkSession().createDataFrame(List.of(),
        PersonaProfiles.schema(featuresSchema, config.features(), descriptors, config.channels()));
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
        // Beside every column, so an aggregate (a valid select of its own) is refused.
        df.select(functions.col("*"), NamedExpr.column(sql).cast(DataTypes.DoubleType)).schema();
      }
    } catch (Exception e) {
      String first = ConfigException.firstLine(e);
      throw new ConfigException(String.format("%s: expression \"%s\" is not valid Spark SQL%s over the features"
          + " table (docs/features.md): %s", what, sql, aggregate ? " aggregate" : "", first), e);
    }
  }

  /**
   * Carves out the rule personas, chooses the inputs that fit the data and k, fits k-means on the
   * other users, merges small clusters, explains, describes, names and plays every persona and
   * matches them to {@code previous}.
   *
   * @param features the features table (one row per user), with the lifecycle and RFM segments when known
   * @param previous what the previous run left, or {@link Previous#NONE}
   * @param caches   owner of what the clustering caches
   */
  public Result apply(Dataset<Row> features, Previous previous, Caches caches) {
    SparkSession spark = features.sparkSession();
    long t0 = System.nanoTime();
    List<PersonasConfig.RulePersona> rules = applicableRules(features);
    LOG.info("Checked which rule personas apply in {} s", seconds(t0));
    // Projection and repartitioning keep every row, so this is also the number of users in input.
    t0 = System.nanoTime();
    long users = features.count();
    LOG.info("Counted {} users to segment in {} s", users, seconds(t0));
    t0 = System.nanoTime();
    Set<String> previousInputs = new HashSet<>();
    previous.personas().stream().filter(p -> p.centroidTransformed() != null)
        .forEach(p -> previousInputs.addAll(p.centroidTransformed().keySet()));
    CategoryInputs categories = CategoryInputs.find(features, config.categoryInputs(), users, previousInputs);
    LOG.info("Category inputs: {} ({} s)", categories.inputs().isEmpty() ? "none" : categories.inputs().stream()
        .map(PersonasConfig.ClusterInput::name).toList(), seconds(t0));
    List<PersonasConfig.ClusterInput> inputs = new ArrayList<>(config.features());
    inputs.addAll(categories.inputs());
    List<String> names = inputs.stream().map(PersonasConfig.ClusterInput::name).toList();
    PersonaNamer namer = categories.words().isEmpty() ? this.namer
        : new PersonaNamer(config.naming().withWords(categories.words()));
    List<Column> cols = new ArrayList<>(List.of(col("*")));
    cols.addAll(inputColumns(inputs));
    cols.add(rules.isEmpty() ? functions.lit(null).cast(DataTypes.IntegerType).as(RULE)
        : new RuleTable("personas.personas.rules", rules.stream().map(r -> new NamedExpr(r.name(), r.when())).toList())
            .firstMatchIndex().as(RULE));
    List<Column> withT = new ArrayList<>(List.of(col("*")));
    for (PersonasConfig.ClusterInput f : inputs) {
      withT.add(functions.expr(f.transform().sql("`" + NATURAL_PREFIX + f.name() + "`")).as(TRANSFORMED_PREFIX + f.name()));
    }
    // The final k-means sums users partition by partition, so the same users in another layout
    // (features computed in this run vs read back from Parquet, another number of cores or of
    // shuffle partitions) would sum in another order and could differ in the last bits. Hash
    // partitioning into a number of partitions that depends only on the number of users, plus a
    // sort, fixes the layout.
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
          spark.createDataFrame(List.of(), K_SELECTION_SCHEMA), none, Double.NaN, null, 0, 0, List.of(), List.of());
    }
    t0 = System.nanoTime();
    ClusteringInputs.Measured measured = ClusteringInputs.measure(input, RULE, rules.size(), inputs, NATURAL_PREFIX,
        TRANSFORMED_PREFIX);
    LOG.info("Sized the rule personas and measured the clustering inputs of {} users in {} s", users, seconds(t0));
    for (int r = 0; r < rules.size(); r++) {
      LOG.info("Rule persona '{}': {} users", rules.get(r).name(), measured.ruleUsers()[r]);
    }
    long restUsers = measured.restUsers();
    // One sample of every user, drawn by hash (the same users every night) and sorted by user_id
    // so it does not depend on the partition layout: its users to cluster give the inputs'
    // correlations and choose k, all of them grow the trees that explain the clusters.
    Sample drawn = restUsers > 0 ? drawSample(input, inputs, restUsers, users) : null;
    ClusteringInputs.Choice chosen = ClusteringInputs.choose(names, measured,
        drawn == null ? new double[0][] : drawn.transformedOfRest(), config.maxCorrelation());
    // With every input constant there is nothing to cluster on: the inputs are kept and give one persona.
    List<String> space = chosen.kept().isEmpty() ? names : chosen.kept();
    int[] spaceIndex = space.stream().mapToInt(names::indexOf).toArray();
    Dataset<Row> rest = input.where(col(RULE).isNull());
    double[] mu = Arrays.stream(spaceIndex).mapToDouble(j -> measured.mean()[j]).toArray();
    double[] sigma = Arrays.stream(spaceIndex).mapToDouble(j -> measured.sd()[j]).toArray();
    // The category inputs weigh weight / sqrt(n) for the n kept: two shares that sum to 1 are near
    // duplicates, and the one kept must weigh what both would have.
    long found = categories.inputs().size();
    long keptCategories = Arrays.stream(spaceIndex).filter(j -> categories.inputs().contains(inputs.get(j))).count();
    double[] weight = Arrays.stream(spaceIndex).mapToDouble(j -> categories.inputs().contains(inputs.get(j))
        ? inputs.get(j).weight() * Math.sqrt((double) found / keptCategories) : inputs.get(j).weight()).toArray();
    PipelineModel prep = standardiser(input, space, mu, sigma, weight);
    double[][] sampleScaled = drawn == null ? new double[0][] : drawn.scaled(spaceIndex, mu, sigma, weight);

    List<KSelection.Candidate> curve = new ArrayList<>();
    Map<Integer, SampleKMeans.Fit> sampleFits = new java.util.HashMap<>();
    long sampleUsers = 0;
    if (restUsers >= 3 && !chosen.kept().isEmpty()) {
      // The sample is small by configuration (selection_sample_users), so candidates are fitted
      // on the driver.
      double[][] points = drawn.ofRest(sampleScaled);
      sampleUsers = points.length;
      SampleKMeans local = new SampleKMeans(config.maxIterations(), KMEANS_TOLERANCE, config.seed());
      int kMax = (int) Math.min(config.kMax(), sampleUsers - 1);
      // Each k is fitted from its own seed, so the candidates are fitted on all the driver's
      // cores at once and come out the same as one after another. With fewer sample users than
      // k_min, kMax alone is tried (k_min >= 2 is checked at load).
      List<SampleFit> fits = java.util.stream.IntStream.rangeClosed(Math.max(2, Math.min(config.kMin(), kMax)), kMax)
          .parallel()
          .mapToObj(k -> {
            long start = System.nanoTime();
            SampleKMeans.Fit m = local.fit(points, k);
            double silhouette = m.found() >= 2 ? SampleKMeans.silhouette(points, m.assignment(), k) : Double.NaN;
            return new SampleFit(k, m, silhouette, (System.nanoTime() - start) / 1e9);
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
    Column cluster;
    double[][] centers;
    long[] sizes;
    if (restUsers == 0) {
      choice = new KSelection.Choice(0, -1, "every user is in a rule persona: nothing to cluster");
      cluster = functions.lit(null).cast(DataTypes.IntegerType);
      centers = new double[0][];
      sizes = new long[0];
    } else if (curve.isEmpty() || curve.stream().allMatch(c -> c.found() < 2)) {
      choice = new KSelection.Choice(1, -1, restUsers < 3
          ? String.format("%d user%s: one persona", restUsers, restUsers == 1 ? "" : "s")
          : "all users to cluster have the same clustering inputs: one persona");
      cluster = functions.lit(0);
      centers = new double[][] {new double[space.size()]};
      sizes = new long[] {restUsers};
    } else {
      choice = KSelection.choose(curve, config.silhouetteTolerance(), config.kChangeMinGain(), previous.k());
      int k = choice.k();
      silhouette = curve.stream().filter(c -> c.k() == k).findFirst().orElseThrow().silhouette();
      FinalFit fit = fitEveryone(prep, rest, sampleFits.get(k).centers(), caches);
      model = fit.model();
      org.apache.spark.mllib.clustering.KMeansModel kmeans = model.kmeans();
      // MLlib's own predict, as Spark ML's k-means model applies it.
      UDF1<Vector, Integer> predict = v -> kmeans.predict(org.apache.spark.mllib.linalg.Vectors.fromML(v));
      cluster = functions.udf(predict, DataTypes.IntegerType).apply(col(SCALED));
      centers = fit.centers();
      sizes = fit.sizes();
    }
    LOG.info("Chosen: {}", choice.reason());

    Merge merge = merge(centers, sizes, users);
    int clustered = merge.centers.length;
    // Rule personas follow the clusters as groups; a rule that took nobody is no persona.
    List<Integer> ruleOfGroup = new ArrayList<>();
    int[] groupOfRule = new int[rules.size()];
    for (int r = 0; r < rules.size(); r++) {
      groupOfRule[r] = measured.ruleUsers()[r] > 0 ? clustered + ruleOfGroup.size() : -1;
      if (groupOfRule[r] >= 0) {
        ruleOfGroup.add(r);
      }
    }
    int groups = clustered + ruleOfGroup.size();
    Column[] groupOfCluster = Arrays.stream(merge.groupOfCluster).mapToObj(functions::lit).toArray(Column[]::new);
    Column[] groupOfRuleCols = Arrays.stream(groupOfRule).mapToObj(functions::lit).toArray(Column[]::new);
    Column clusterGroup = clustered == 0 ? functions.lit(null).cast(DataTypes.IntegerType)
        : functions.element_at(functions.array(groupOfCluster), col(CLUSTER).plus(1));
    Column ruleGroup = rules.isEmpty() ? functions.lit(null).cast(DataTypes.IntegerType)
        : functions.element_at(functions.array(groupOfRuleCols), col(RULE).plus(1));
    Dataset<Row> grouped = prep.transform(input)
        .withColumn(CLUSTER, functions.when(col(RULE).isNull(), cluster))
        .withColumn(GROUP, functions.when(col(RULE).isNull(), clusterGroup).otherwise(ruleGroup));

    // Every persona's rule: rule personas their own condition, clusters a tree's on a sample.
    String[] personaRules = new String[groups];
    for (int i = 0; i < ruleOfGroup.size(); i++) {
      personaRules[clustered + i] = rules.get(ruleOfGroup.get(i)).when();
    }
    if (clustered > 0) {
      int[] sampleGroups = drawn.groups(model, sampleScaled, merge.groupOfCluster, groupOfRule);
      System.arraycopy(explainClusters(spark, drawn, sampleGroups, clustered), 0, personaRules, 0, clustered);
    }
    t0 = System.nanoTime();
    PersonaProfiles.Stats stats = PersonaProfiles.measure(grouped, GROUP, groups, clustered, inputs, NATURAL_PREFIX,
        TRANSFORMED_PREFIX, config.naming().descriptors(), config.channels(), personaRules);
    LOG.info("Profiled {} personas and every user, and measured the rules' precision and recall, in {} s", groups,
        seconds(t0));
    long[] groupUsers = stats.users();
    double[][] z = stats.z();
    int d = names.size();

    // Stable ids: rule personas by name, clusters by optimal assignment of centroids.
    String[] ids = new String[groups];
    String[] keptNames = new String[groups];
    String[] previousIds = new String[groups];
    Double[] matchDistance = new Double[groups];
    double[][] clusterCenters = Arrays.copyOf(merge.centers, clustered);
    // A weighted input's standardised unit is sigma / weight.
    double[] unit = new double[sigma.length];
    for (int j = 0; j < unit.length; j++) {
      unit[j] = sigma[j] / weight[j];
    }
    int matched = matchPrevious(previous, space, mu, unit, clusterCenters, ids, keptNames, previousIds, matchDistance);
    for (int i = 0; i < ruleOfGroup.size(); i++) {
      String name = rules.get(ruleOfGroup.get(i)).name();
      for (PreviousPersona p : previous.personas()) {
        if (RULE_KIND.equals(p.kind()) && p.name().equalsIgnoreCase(name)) {
          ids[clustered + i] = p.id();
          previousIds[clustered + i] = p.id();
          matched++;
        }
      }
    }
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

    // Names: a rule persona's is its rule's; a cluster keeps the previous run's, else takes a
    // template, else is named by its strongest relative traits.
    String[] personaNames = new String[groups];
    Set<String> taken = new HashSet<>();
    for (int i = 0; i < ruleOfGroup.size(); i++) {
      personaNames[clustered + i] = rules.get(ruleOfGroup.get(i)).name();
      taken.add(personaNames[clustered + i]);
    }
    List<List<String>> adjectives = new ArrayList<>();
    for (int g = 0; g < groups; g++) {
      adjectives.add(namer.adjectives(zOf(names, z[g])));
    }
    for (int g = 0; g < clustered; g++) {
      String kept = keptNames[g];
      if (kept != null && taken.stream().noneMatch(kept::equalsIgnoreCase)) {
        personaNames[g] = keptNames[g];
        taken.add(keptNames[g]);
      }
    }
    Dataset<Row> profile = stats.profile();
    List<Row> ruleHits = profile.select(ruleColumns().toArray(Column[]::new)).collectAsList();
    List<NamedExpr> templates = config.naming().templates();
    for (int t = 0; t < templates.size(); t++) {
      String name = templates.get(t).name();
      if (taken.stream().anyMatch(name::equalsIgnoreCase)) {
        continue;
      }
      for (int g : bySize) {
        if (g < clustered && personaNames[g] == null && ruleHits.get(g).getBoolean(1 + t)) {
          personaNames[g] = name;
          taken.add(name);
          break;
        }
      }
    }
    List<NamedExpr> nouns = config.naming().nouns();
    for (int g : bySize) {
      if (personaNames[g] == null) {
        Object nounIndex = ruleHits.get(g).get(0);
        String noun = nounIndex == null ? config.naming().nounOtherwise() : nouns.get((Integer) nounIndex).name();
        personaNames[g] = namer.uniqueName(namer.ranked(zOf(names, z[g])), adjectives.get(g).size(), noun, taken,
            stats.dominantLifecycle()[g]);
        taken.add(personaNames[g]);
      }
    }

    List<Row> personaRows = new ArrayList<>();
    List<Integer> byId = new ArrayList<>(List.of(bySize));
    byId.sort(Comparator.comparing(g -> ids[g]));
    for (int g : byId) {
      boolean byRule = g >= clustered;
      Map<String, Double> centroid = new LinkedHashMap<>();
      Map<String, Double> centroidT = new LinkedHashMap<>();
      List<Row> top = new ArrayList<>();
      Integer[] order = new Integer[d];
      for (int j = 0; j < d; j++) {
        centroid.put(names.get(j), stats.naturalMean()[g][j]);
        centroidT.put(names.get(j), stats.transformedMean()[g][j]);
        order[j] = j;
      }
      int gg = g;
      Arrays.sort(order, Comparator.comparingDouble((Integer j) -> -Math.abs(z[gg][j])).thenComparingInt(j -> j));
      for (int i = 0; i < Math.min(5, d); i++) {
        int j = order[i];
        top.add(RowFactory.create(names.get(j), z[g][j], stats.naturalMean()[g][j], stats.populationMean()[j]));
      }
      List<String> adj = byRule ? List.of()
          : adjectives.get(g).subList(0, Math.min(config.naming().maxAdjectives(), adjectives.get(g).size()));
      List<Integer> kmeansClusters = new ArrayList<>();
      for (int c = 0; c < merge.groupOfCluster.length; c++) {
        if (merge.groupOfCluster[c] == g && model != null) {
          kmeansClusters.add(c);
        }
      }
      List<String> traits = new ArrayList<>();
      List<Row> traitValues = new ArrayList<>();
      // The strong traits; a persona without one shows its strongest relative ones, so every
      // card says what sets it apart.
      long strong = Arrays.stream(z[g]).filter(v -> Math.abs(v) >= config.naming().minZ()).count();
      for (int i = 0; i < d && traits.size() < Math.max(MIN_TRAITS, Math.min(strong, MAX_TRAITS)); i++) {
        int j = order[i];
        PersonaProfiles.Trait t = stats.trait(g, j);
        // A median equal to everyone's says nothing (money of non-buyers when most users buy
        // nothing: 0 vs 0), however far the means are apart; the next input speaks instead.
        if (Math.abs(z[g][j]) > 0 && !(t.value() == t.population()) && !Double.isNaN(t.value())) {
          traits.add(Traits.describe(t));
          traitValues.add(RowFactory.create(names.get(j), t.column(), t.statistic(), t.value(), t.population()));
        }
      }
      Object playIndex = ruleHits.get(g).get(1 + templates.size());
      PersonasConfig.Play play = playIndex == null ? config.playbookOtherwise()
          : config.playbook().get((Integer) playIndex);
      String channel = null;
      for (String ch : play.channels()) {
        if (stats.reach(g, ch) >= config.minReach()) {
          channel = ch;
          break;
        }
      }
      personaRows.add(RowFactory.create(ids[g], personaNames[g], scalaSeq(adj), groupUsers[g],
          (double) groupUsers[g] / users, scalaMap(centroid), scalaMap(centroidT), scalaSeq(top), previousIds[g],
          matchDistance[g], scalaSeq(kmeansClusters), scalaSeq(traits), play.goal(), channel, play.strategy(),
          byRule ? RULE_KIND : CLUSTER_KIND, personaRules[g], stats.precision()[g], stats.recall()[g],
          scalaSeq(traitValues)));
      LOG.info("Persona {} '{}' ({}): {} users ({}%), {}; rule {} (precision {}, recall {})", ids[g], personaNames[g],
          byRule ? RULE_KIND : CLUSTER_KIND, groupUsers[g], String.format("%.1f", 100.0 * groupUsers[g] / users),
          previousIds[g] == null ? "new" : matchDistance[g] == null ? "kept " + previousIds[g]
              : String.format("matched %s at distance %.3f", previousIds[g], matchDistance[g]),
          personaRules[g], String.format("%.3f", stats.precision()[g]), String.format("%.3f", stats.recall()[g]));
    }
    Dataset<Row> personas = spark.createDataFrame(personaRows, PERSONAS_SCHEMA);

    double[][] finalCenters = merge.centers;
    UDF2<Vector, Integer, Double> distance = (v, g) -> {
      if (g == null || g >= finalCenters.length) {
        return null;
      }
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
        .drop(SCALED, CLUSTER, GROUP, RULE)
        .drop(space.stream().map(n -> STANDARDISED_PREFIX + n).toArray(String[]::new));

    List<Row> curveRows = new ArrayList<>();
    for (KSelection.Candidate c : curve) {
      curveRows.add(RowFactory.create(c.k(), c.found(), c.cost(), c.silhouette(), c.k() == choice.knee(),
          c.k() == choice.k(), sampleUsers, choice.reason()));
    }
    Dataset<Row> kSelection = spark.createDataFrame(curveRows, K_SELECTION_SCHEMA);
    List<String> used = IntStream.range(0, spaceIndex.length).mapToObj(c -> inputs.get(spaceIndex[c]).name() + " = "
        + inputs.get(spaceIndex[c]).sql()
        + (Math.abs(weight[c] - 1.0) > 1e-12 ? String.format(Locale.ROOT, " (weight %.3f)", weight[c]) : ""))
        .toList();
    return new Result(assigned, personas, kSelection, choice, silhouette, model, matched, merge.merged,
        chosen.leftOut(), used);
  }

  private static String seconds(long since) {
    return String.format("%.2f", (System.nanoTime() - since) / 1e9);
  }

  private static Map<String, Double> zOf(List<String> names, double[] z) {
    Map<String, Double> m = new LinkedHashMap<>();
    for (int j = 0; j < names.size(); j++) {
      m.put(names.get(j), z[j]);
    }
    return m;
  }

  /**
   * The rule personas whose {@code requires} holds for this data set (one pass for all); the
   * others are logged and skipped.
   */
  private List<PersonasConfig.RulePersona> applicableRules(Dataset<Row> features) {
    List<PersonasConfig.RulePersona> all = config.rules();
    List<Column> checks = new ArrayList<>();
    for (PersonasConfig.RulePersona r : all) {
      checks.add(r.requires().isEmpty() ? functions.lit(true)
          : functions.coalesce(NamedExpr.column(r.requires()).cast(DataTypes.BooleanType), functions.lit(false)));
    }
    if (checks.isEmpty() || all.stream().allMatch(r -> r.requires().isEmpty())) {
      return all;
    }
    Row row = features.agg(checks.get(0), checks.subList(1, checks.size()).toArray(Column[]::new)).first();
    List<PersonasConfig.RulePersona> out = new ArrayList<>();
    for (int i = 0; i < all.size(); i++) {
      if (row.getBoolean(i)) {
        out.add(all.get(i));
      } else {
        LOG.info("Rule persona '{}' does not apply to this data: its requires \"{}\" is false", all.get(i).name(),
            all.get(i).requires());
      }
    }
    return out;
  }

  /**
   * What the sample holds: per user the rule index (null when clustered), the standardised inputs
   * and the natural values the rules are written in (inputs, then explain_with).
   */
  record Sample(Integer[] rule, double[][] transformed, double[][] natural,
                        List<PersonaExplainer.Input> columns) {

    /** The rows of {@code values} (one per sample user) of the users to cluster. */
    double[][] ofRest(double[][] values) {
      return IntStream.range(0, rule.length).filter(u -> rule[u] == null).mapToObj(u -> values[u])
          .toArray(double[][]::new);
    }

    double[][] transformedOfRest() {
      return ofRest(transformed);
    }

    /** Every sample user's inputs {@code index}, standardised as {@link #standardiser} does. */
    double[][] scaled(int[] index, double[] mu, double[] sigma, double[] weight) {
      double[][] out = new double[rule.length][index.length];
      for (int u = 0; u < rule.length; u++) {
        for (int j = 0; j < index.length; j++) {
          double z = (transformed[u][index[j]] - mu[j]) / sigma[j];
          out[u][j] = sigma[j] > 0 && Double.isFinite(sigma[j]) ? (weight[j] != 1.0 ? z * weight[j] : z) : 0.0;
        }
      }
      return out;
    }

    /** Each sample user's persona: its rule persona's, else its cluster's. */
    int[] groups(Model model, double[][] scaled, int[] groupOfCluster, int[] groupOfRule) {
      int[] g = new int[rule.length];
      for (int u = 0; u < rule.length; u++) {
        g[u] = rule[u] != null ? groupOfRule[rule[u]]
            : groupOfCluster[model == null ? 0 : model.kmeans().predict(
                org.apache.spark.mllib.linalg.Vectors.dense(scaled[u]))];
      }
      return g;
    }
  }

  /**
   * Standardises the transformed inputs {@code space} with the moments measured already, as
   * StandardScaler (mean 0, unit sample variance; 0 where constant) would after a pass of its own,
   * times each input's weight, and assembles them into one vector: public MLlib stages that the
   * model saves and loads.
   */
  static PipelineModel standardiser(Dataset<Row> input, List<String> space, double[] mu, double[] sigma,
                                    double[] weight) {
    StringBuilder sql = new StringBuilder("SELECT *");
    String[] scaled = new String[space.size()];
    for (int j = 0; j < space.size(); j++) {
      scaled[j] = STANDARDISED_PREFIX + space.get(j);
      String z = String.format(Locale.ROOT, "(`%s%s` - %sD) / %sD", TRANSFORMED_PREFIX, space.get(j),
          Double.toString(mu[j]), Double.toString(sigma[j]));
      if (weight[j] != 1.0) {
        z = "(" + z + ") * " + Double.toString(weight[j]) + "D";
      }
      sql.append(sigma[j] > 0 && Double.isFinite(sigma[j]) ? ", " + z + " AS `" + scaled[j] + "`"
          : String.format(Locale.ROOT, ", 0.0D AS `%s`", scaled[j]));
    }
    sql.append(" FROM __THIS__");
    SQLTransformer standardise = new SQLTransformer().setStatement(sql.toString());
    VectorAssembler assembler = new VectorAssembler().setInputCols(scaled).setOutputCol(SCALED);
    // With no estimator among the stages, fitting reads only the schema.
    return new Pipeline().setStages(new PipelineStage[] {standardise, assembler}).fit(input);
  }

  /**
   * About selection_sample_users of the users to cluster and of every user the rule personas'
   * share: however many users the rules take, the sample stays small.
   */
  private Sample drawSample(Dataset<Row> input, List<PersonasConfig.ClusterInput> inputs, long restUsers, long users) {
    List<Column> cols = new ArrayList<>(List.of(col("user_id"), col(RULE)));
    for (PersonasConfig.ClusterInput f : inputs) {
      cols.add(col(TRANSFORMED_PREFIX + f.name()));
    }
    int d = inputs.size();
    List<PersonaExplainer.Input> columns = new ArrayList<>();
    List<String> sqls = new ArrayList<>();
    for (PersonasConfig.ClusterInput f : inputs) {
      cols.add(col(NATURAL_PREFIX + f.name()));
      sqls.add(f.sql());
    }
    // Columns besides the inputs let a rule cut where the clusters' borders are diagonal in the
    // inputs: log(monetary) - log(frequency) is the log of the average order value.
    for (String sql : config.explainWith()) {
      cols.add(functions.coalesce(NamedExpr.column(sql).cast(DataTypes.DoubleType), functions.lit(0.0)));
      sqls.add(sql);
    }
    // The trees learn on each value with nulls as 0, as a number; the rule must say the same
    // where that differs from the expression: a null (avg_order_value of a non-buyer) or a
    // boolean. Whether values are null is seen in the sample itself, so no pass is added.
    for (String sql : sqls) {
      cols.add(NamedExpr.column(sql).isNull());
    }
    long t0 = System.nanoTime();
    Column bucket = functions.pmod(functions.xxhash64(functions.lit(config.seed()), col("user_id")),
        functions.lit(SAMPLE_BUCKETS));
    long restCut = Math.round(Math.min(1.0, (double) config.selectionSampleUsers() / restUsers) * SAMPLE_BUCKETS);
    long allCut = Math.round(Math.min(1.0, (double) config.selectionSampleUsers() / users) * SAMPLE_BUCKETS);
    Dataset<Row> drawn = input.where(functions.when(col(RULE).isNull(), bucket.lt(restCut)).otherwise(bucket.lt(allCut)));
    // Sorted on the driver: the sample is small, and a distributed sort would cost two jobs.
    List<Row> rows = new ArrayList<>(drawn.select(cols.toArray(Column[]::new)).collectAsList());
    rows.sort(Comparator.comparing(r -> r.getString(0)));
    int width = sqls.size();
    for (int j = 0; j < width; j++) {
      int at = 2 + d + width + j;
      boolean nullable = rows.stream().anyMatch(r -> r.getBoolean(at));
      boolean number = input.select(NamedExpr.column(sqls.get(j))).schema().fields()[0].dataType()
          instanceof org.apache.spark.sql.types.NumericType;
      columns.add(new PersonaExplainer.Input(number && !nullable ? PersonaExplainer.sqlOf(sqls.get(j))
          : "coalesce(CAST(" + sqls.get(j) + " AS DOUBLE), 0)"));
    }
    Integer[] rule = new Integer[rows.size()];
    double[][] transformed = new double[rows.size()][d];
    double[][] natural = new double[rows.size()][width];
    for (int u = 0; u < rows.size(); u++) {
      Row r = rows.get(u);
      rule[u] = r.isNullAt(1) ? null : r.getInt(1);
      for (int j = 0; j < d; j++) {
        transformed[u][j] = r.getDouble(2 + j);
      }
      for (int j = 0; j < width; j++) {
        natural[u][j] = r.getDouble(2 + d + j);
      }
    }
    LOG.info("Drew a sample of {} users in {} s", rows.size(), seconds(t0));
    return new Sample(rule, transformed, natural, columns);
  }

  /**
   * Each cluster's rule from trees grown on the sample of every user (rule personas included: the
   * rule must tell the cluster from everyone), a few at once: each tree on a small sample is a
   * handful of tiny Spark jobs whose time is mostly scheduling, and Spark runs concurrent jobs.
   */
  private String[] explainClusters(SparkSession spark, Sample drawn, int[] groups, int clustered) {
    PersonaExplainer explainer = new PersonaExplainer(drawn.columns(), config.seed());
    long t0 = System.nanoTime();
    java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(
        Math.min(clustered, TREE_THREADS));
    try {
      List<java.util.concurrent.Future<String>> trees = new ArrayList<>();
      for (int g = 0; g < clustered; g++) {
        int gg = g;
        trees.add(pool.submit(() -> explainer.explain(spark, drawn.natural(), groups, gg)));
      }
      String[] rules = new String[clustered];
      for (int g = 0; g < clustered; g++) {
        rules[g] = trees.get(g).get();
      }
      LOG.info("Explained {} clusters by trees on {} sampled users in {} s", clustered, groups.length, seconds(t0));
      return rules;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("Interrupted while explaining the personas", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
    } finally {
      pool.shutdownNow();
    }
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
    List<PreviousPersona> prev = previous.personas().stream().filter(p -> !RULE_KIND.equals(p.kind())).toList();
    if (prev.isEmpty() || centers.length == 0) {
      return 0;
    }
    // Centroids are compared on the inputs both nights have: an input that comes or goes (a
    // category whose share varied a little more or less than another's) keeps the others' ids.
    int[] common = IntStream.range(0, names.size()).filter(j -> prev.stream().allMatch(p -> p.centroidTransformed() != null
        && p.centroidTransformed().containsKey(names.get(j)))).toArray();
    if (common.length == 0) {
      LOG.warn("The personas of {} were clustered on other inputs than tonight's ({}); every persona gets a new id",
          previous.date(), names);
      return 0;
    }
    if (common.length < names.size()) {
      LOG.info("Personas matched to those of {} on the {} of tonight's {} inputs both runs have", previous.date(),
          common.length, names.size());
    }
    double[][] prevScaled = new double[prev.size()][common.length];
    for (int p = 0; p < prev.size(); p++) {
      for (int c = 0; c < common.length; c++) {
        int j = common[c];
        double t = prev.get(p).centroidTransformed().get(names.get(j));
        prevScaled[p][c] = sigma[j] > 0 ? (t - mu[j]) / sigma[j] : 0.0;
      }
    }
    double[][] cost = new double[centers.length][prev.size()];
    for (int g = 0; g < centers.length; g++) {
      double[] center = new double[common.length];
      for (int c = 0; c < common.length; c++) {
        center[c] = centers[g][common[c]];
      }
      for (int p = 0; p < prev.size(); p++) {
        cost[g][p] = Math.sqrt(sqdist(center, prevScaled[p]));
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
