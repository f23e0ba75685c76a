package io.github.personas.pipeline.segment;

import io.github.personas.pipeline.engine.Caches;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class PersonaClustererTest {

  private final SparkSession spark = SparkTestSession.get();
  private final Caches caches = new Caches();

  @org.junit.jupiter.api.AfterEach
  void releaseCaches() {
    caches.close();
  }

  private static final List<PersonasConfig.Play> PLAYBOOK = List.of(
      new PersonasConfig.Play("buyer_share >= 0.5", "Grow order value", List.of("email"), "Loyalty rewards"));
  private static final PersonasConfig.Play OTHERWISE = new PersonasConfig.Play("true", "Build the habit",
      List.of("push"), "Tips");
  private static final List<NamedExpr> CHANNELS = List.of(new NamedExpr("email", "avg(CAST(buyer AS DOUBLE))"),
      new NamedExpr("push", "avg(1.0)"));

  private static PersonasConfig.Personas config(int kMin, int kMax, double minShare) {
    return config(kMin, kMax, minShare, List.of(), List.of(
        new PersonasConfig.ClusterInput("x", "x", PersonasConfig.Transform.NONE),
        new PersonasConfig.ClusterInput("y", "y", PersonasConfig.Transform.NONE)));
  }

  private static PersonasConfig.Personas config(int kMin, int kMax, double minShare,
                                                List<PersonasConfig.RulePersona> rules,
                                                List<PersonasConfig.ClusterInput> inputs) {
    PersonasConfig.Naming naming = new PersonasConfig.Naming(0.5, 3,
        List.of(new PersonasConfig.Word("x", "wide", "narrow"), new PersonasConfig.Word("y", "tall", "")),
        List.of(new NamedExpr("buyer_share", "avg(CAST(buyer AS DOUBLE))")),
        List.of(new NamedExpr("buyers", "buyer_share >= 0.5")),
        "users",
        List.of(new NamedExpr("Tall ones", "z_y >= 1")));
    return new PersonasConfig.Personas(kMin, kMax, 7, 30, 10_000, 0.02, 0.05, minShare, 1.0, inputs, rules, 0.95,
        List.of(), naming, PLAYBOOK, OTHERWISE, CHANNELS, 0.2);
  }

  /**
   * Three groups: A (60 users) at (0, 0), B (30 buyers) at (10, 0), C (10) at (0, 10), plus
   * {@code extra} users far out at (10, 10); {@code shift} moves every point a little.
   */
  private Dataset<Row> users(double shift, int extra) {
    List<Row> rows = new ArrayList<>();
    int id = 0;
    Object[][] groups = {{60, 0.0, 0.0, false}, {30, 10.0, 0.0, true}, {10, 0.0, 10.0, false}, {extra, 10.0, 10.0, false}};
    for (Object[] g : groups) {
      for (int i = 0; i < (int) g[0]; i++) {
        double jitter = ((i * 37) % 11 - 5) / 10.0;
        rows.add(RowFactory.create(String.format("u%03d", id++), (double) g[1] + jitter + shift,
            (double) g[2] - jitter + shift, g[3]));
      }
    }
    return spark.createDataFrame(rows, StructType.fromDDL("user_id string, x double, y double, buyer boolean"));
  }

  private static Map<String, String> personaOf(PersonaClusterer.Result r) {
    return r.assigned().select("user_id", "persona_id").collectAsList().stream()
        .collect(Collectors.toMap(x -> x.getString(0), x -> x.getString(1)));
  }

  private static List<PersonaClusterer.PreviousPersona> previous(PersonaClusterer.Result r) {
    return r.personas().collectAsList().stream().map(p -> new PersonaClusterer.PreviousPersona(p.getString(0),
        p.getString(1), scala.jdk.javaapi.CollectionConverters.asJava(p.<String, Double>getMap(6)))).toList();
  }

  @Test
  void choosesTheNumberOfGroupsNamesThemAndNumbersThemBySize() {
    PersonaClusterer.Result r = new PersonaClusterer(config(2, 5, 0.02)).apply(users(0, 0),
        PersonaClusterer.Previous.NONE, caches);
    assertEquals(3, r.choice().k(), r.choice().reason());
    assertTrue(r.silhouette() > 0.8, "well separated groups: silhouette " + r.silhouette());
    assertEquals(4, r.kSelection().count(), "one curve row per candidate k = 2..5");
    assertEquals(1, r.kSelection().where("chosen").count());

    Map<String, Row> personas = r.personas().collectAsList().stream()
        .collect(Collectors.toMap(p -> p.getString(0), p -> p));
    assertEquals(3, personas.size());
    // id, name, users: P01 the largest. A is low on x; B high on x and buys; C claimed by the template.
    assertEquals("Narrow users", personas.get("P01").getString(1));
    assertEquals(60L, personas.get("P01").getLong(3));
    assertEquals("Wide buyers", personas.get("P02").getString(1));
    assertEquals(30L, personas.get("P02").getLong(3));
    assertEquals("Tall ones", personas.get("P03").getString(1));
    assertEquals(0.1, personas.get("P03").getDouble(4), 1e-12);
    // centroid in natural units
    Map<String, Double> centroid = scala.jdk.javaapi.CollectionConverters.asJava(personas.get("P02").getMap(5));
    assertEquals(10.0, centroid.get("x"), 0.3);
    assertNull(personas.get("P01").get(8), "first run: no previous id");
    // The playbook: buyers get the upsell play, the others the default one; traits in words with numbers.
    assertEquals("Grow order value", personas.get("P02").getAs("goal"));
    assertEquals("email", personas.get("P02").getAs("channel"));
    assertEquals("Build the habit", personas.get("P01").getAs("goal"));
    List<String> traits = personas.get("P02").getList(personas.get("P02").fieldIndex("traits"));
    // x is not transformed, so its trait compares means: the persona's and every user's.
    assertEquals("x: mean 9.98 vs 2.99 for all users (3.3×)", traits.get(0));

    Map<String, String> assigned = personaOf(r);
    assertEquals("P01", assigned.get("u000"));
    assertEquals("P02", assigned.get("u060"));
    assertEquals("P03", assigned.get("u090"));
    double maxDistance = r.assigned().agg(org.apache.spark.sql.functions.max("distance_to_centroid")).first().getDouble(0);
    assertTrue(maxDistance < 1.0, "every user is near its centroid (standardised units): " + maxDistance);
  }

  @Test
  void aRulePersonaIsCarvedOutBeforeClusteringAndCarriesItsOwnConditionWithPrecisionOne() {
    // The 12 users far out at (10, 10) are what the rule takes; k-means sees only the three groups.
    PersonasConfig.Personas config = config(2, 5, 0.02, List.of(
        new PersonasConfig.RulePersona("Corner users", "x > 8 AND y > 8", ""),
        new PersonasConfig.RulePersona("Nobody", "x > 1000", ""),
        new PersonasConfig.RulePersona("Skipped here", "true", "max(x) > 1000")), List.of(
        new PersonasConfig.ClusterInput("x", "x", PersonasConfig.Transform.NONE),
        new PersonasConfig.ClusterInput("y", "y", PersonasConfig.Transform.NONE)));
    PersonaClusterer.Result r = new PersonaClusterer(config).apply(users(0, 12), PersonaClusterer.Previous.NONE, caches);
    assertEquals(3, r.choice().k(), r.choice().reason());
    Map<String, Row> byName = r.personas().collectAsList().stream()
        .collect(Collectors.toMap(p -> p.<String>getAs("persona_name"), p -> p));
    assertEquals(4, byName.size(), "three clusters and one rule persona; a rule that takes nobody is no persona: "
        + byName.keySet());
    Row corner = byName.get("Corner users");
    assertEquals("rule", corner.getAs("kind"));
    assertEquals("x > 8 AND y > 8", corner.getAs("rule"));
    assertEquals(12L, corner.<Long>getAs("users"));
    assertEquals(1.0, corner.<Double>getAs("rule_precision"));
    assertEquals(1.0, corner.<Double>getAs("rule_recall"));
    assertNull(r.assigned().where("persona_name = 'Corner users'").first().getAs("distance_to_centroid"),
        "a rule persona has no centroid to be distant from");
    byName.values().stream().filter(p -> !"rule".equals(p.getAs("kind")))
        .forEach(p -> assertEquals("clustered", p.getAs("kind")));
  }

  @Test
  void everyClusterHasATreeRuleWhosePrecisionAndRecallAreThoseOfTheRuleAsWritten() {
    PersonaClusterer.Result r = new PersonaClusterer(config(2, 5, 0.02)).apply(users(0, 0),
        PersonaClusterer.Previous.NONE, caches);
    Dataset<Row> assigned = r.assigned();
    for (Row p : r.personas().collectAsList()) {
      String rule = p.getAs("rule");
      String id = p.getAs("persona_id");
      assertTrue(rule.matches("[xy] (<=|>|>=) -?[0-9.]+( AND [xy] (<=|>|>=) -?[0-9.]+)*"), id + ": " + rule);
      long matched = assigned.where(rule).count();
      long hits = assigned.where("(" + rule + ") AND persona_id = '" + id + "'").count();
      long users = p.<Long>getAs("users");
      assertEquals((double) hits / matched, p.<Double>getAs("rule_precision"), 1e-12, id + ": " + rule);
      assertEquals((double) hits / users, p.<Double>getAs("rule_recall"), 1e-12, id + ": " + rule);
      assertTrue(p.<Double>getAs("rule_precision") >= 0.95, id + ": " + rule);
    }
  }

  @Test
  void constantAndNearDuplicateInputsAreLeftOutWithTheReason() {
    List<Row> rows = new ArrayList<>();
    for (Row u : users(0, 0).collectAsList()) {
      rows.add(RowFactory.create(u.get(0), u.get(1), u.get(2), u.get(3), 5.0, 2 * u.getDouble(2) + 1));
    }
    Dataset<Row> features = spark.createDataFrame(rows,
        StructType.fromDDL("user_id string, x double, y double, buyer boolean, flat double, y2 double"));
    PersonasConfig.Personas config = config(2, 5, 0.02, List.of(), List.of(
        new PersonasConfig.ClusterInput("x", "x", PersonasConfig.Transform.NONE),
        new PersonasConfig.ClusterInput("y", "y", PersonasConfig.Transform.NONE),
        new PersonasConfig.ClusterInput("flat", "flat", PersonasConfig.Transform.NONE),
        new PersonasConfig.ClusterInput("y2", "y2", PersonasConfig.Transform.NONE)));
    PersonaClusterer.Result r = new PersonaClusterer(config).apply(features, PersonaClusterer.Previous.NONE, caches);
    assertEquals(2, r.inputsLeftOut().size(), r.inputsLeftOut().toString());
    assertTrue(r.inputsLeftOut().get(0).startsWith("flat: the same value (5.000) for every user"),
        r.inputsLeftOut().toString());
    assertTrue(r.inputsLeftOut().get(1).startsWith("y2: correlated with y (r = 1.000"), r.inputsLeftOut().toString());
    assertEquals(3, r.choice().k(), "the same three groups as without the two inputs: " + r.choice().reason());
    org.apache.spark.ml.Transformer[] stages = r.model().prep().stages();
    String[] clustered = ((org.apache.spark.ml.feature.VectorAssembler) stages[stages.length - 1]).getInputCols();
    assertEquals(List.of(PersonaClusterer.STANDARDISED_PREFIX + "x", PersonaClusterer.STANDARDISED_PREFIX + "y"),
        List.of(clustered), "k-means clusters on the inputs kept");
  }

  @Test
  void aSlightlyChangedNextDayKeepsIdsAndNamesAndANewGroupGetsTheNextId() {
    PersonaClusterer clusterer = new PersonaClusterer(config(2, 5, 0.02));
    PersonaClusterer.Result day1 = clusterer.apply(users(0, 0), PersonaClusterer.Previous.NONE, caches);
    PersonaClusterer.Result day2 = clusterer.apply(users(0.2, 0),
        new PersonaClusterer.Previous("day1", previous(day1), day1.choice().k(), 3), caches);
    assertEquals(3, day2.matched());
    assertEquals(personaOf(day1), personaOf(day2), "every user keeps their persona id");
    assertEquals(day1.personas().select("persona_id", "persona_name").collectAsList(),
        day2.personas().select("persona_id", "persona_name").collectAsList());
    assertEquals("P02", day2.personas().where("persona_id = 'P02'").first().getString(8), "previous id recorded");

    // Day 3: a new group of 12 users appears far from the others; ids so far went up to P07.
    PersonaClusterer.Result day3 = clusterer.apply(users(0.2, 12),
        new PersonaClusterer.Previous("day2", previous(day2), day2.choice().k(), 7), caches);
    Map<String, String> assigned = personaOf(day3);
    assertEquals("P08", assigned.get("u100"), "the new group gets the next unused number");
    assertEquals("P01", assigned.get("u000"));
    assertEquals("P03", assigned.get("u090"));
  }

  @Test
  void previousIdsAndNamesWinOverSizeOrderAndGeneratedNames() {
    PersonaClusterer clusterer = new PersonaClusterer(config(2, 5, 0.02));
    PersonaClusterer.Result day1 = clusterer.apply(users(0, 0), PersonaClusterer.Previous.NONE, caches);
    // Rename and renumber yesterday's personas as an older run might have: C became P01 "Gamma".
    Map<String, String[]> rename = Map.of("P01", new String[] {"P05", "Alpha"}, "P02", new String[] {"P09", "Beta"},
        "P03", new String[] {"P01", "Gamma"});
    List<PersonaClusterer.PreviousPersona> renamed = previous(day1).stream()
        .map(p -> new PersonaClusterer.PreviousPersona(rename.get(p.id())[0], rename.get(p.id())[1],
            p.centroidTransformed()))
        .toList();
    PersonaClusterer.Result day2 = clusterer.apply(users(0.1, 0), new PersonaClusterer.Previous("day1", renamed, 3, 9), caches);
    Map<String, String> assigned = personaOf(day2);
    assertEquals("P05", assigned.get("u000"));
    assertEquals("P09", assigned.get("u060"));
    assertEquals("P01", assigned.get("u090"));
    assertEquals("Gamma", day2.personas().where("persona_id = 'P01'").first().getString(1));
  }

  @Test
  void clustersBelowTheMinimumShareAreMergedIntoTheNearest() {
    // k fixed at 4: the two far-out users form their own cluster, 2% of users, below 5%.
    PersonaClusterer.Result r = new PersonaClusterer(config(4, 4, 0.05)).apply(users(0, 2),
        PersonaClusterer.Previous.NONE, caches);
    assertEquals(4, r.choice().k());
    assertEquals(1, r.merged());
    assertEquals(3, r.personas().count());
    assertEquals(102, r.personas().agg(org.apache.spark.sql.functions.sum("users")).first().getLong(0));
    List<Integer> clusters = r.personas().collectAsList().stream()
        .flatMap(p -> p.<Integer>getList(10).stream()).sorted().toList();
    assertEquals(List.of(0, 1, 2, 3), clusters, "every k-means cluster belongs to exactly one persona");
  }

  @Test
  void aTemplateOverAMissingColumnIsAConfigErrorNamingTheTemplate() {
    PersonasConfig.Personas good = config(2, 5, 0.02);
    PersonasConfig.Naming naming = good.naming();
    PersonasConfig.Personas bad = new PersonasConfig.Personas(2, 5, 7, 30, 10_000, 0.02, 0.05, 0.02, 1.0,
        good.features(), List.of(), 0.95, List.of(), new PersonasConfig.Naming(naming.minZ(), naming.maxAdjectives(),
            naming.vocabulary(), naming.descriptors(), naming.nouns(), naming.nounOtherwise(),
            List.of(new NamedExpr("Night owls", "z_night_share >= 1"))), PLAYBOOK, OTHERWISE, CHANNELS, 0.2);
    new PersonaClusterer(good).checkConfig(users(0, 0));
    io.github.personas.pipeline.config.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
        io.github.personas.pipeline.config.ConfigException.class, () -> new PersonaClusterer(bad).checkConfig(users(0, 0)));
    assertTrue(e.getMessage().contains("personas.personas.naming.templates[0] 'Night owls'"), e.getMessage());
  }

  @Test
  void identicalUsersGiveOnePersona() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      rows.add(RowFactory.create("u" + i, 1.0, 2.0, false));
    }
    PersonaClusterer.Result r = new PersonaClusterer(config(2, 5, 0.02)).apply(spark.createDataFrame(rows,
        StructType.fromDDL("user_id string, x double, y double, buyer boolean")), PersonaClusterer.Previous.NONE, caches);
    assertEquals(1, r.personas().count(), r.choice().reason());
    assertEquals(20, r.assigned().where("persona_id = 'P01'").count());
  }
  @Test
  void fewerUsersThanTheSmallestKStillGiveEveryUserAPersona() {
    // Corpus case: 4 users, k_min = 5. k is capped below the number of sampled users.
    List<Row> rows = List.of(RowFactory.create("a", 0.0, 0.0, false), RowFactory.create("b", 0.1, 0.0, false),
        RowFactory.create("c", 10.0, 0.0, true), RowFactory.create("d", 0.0, 10.0, false));
    PersonaClusterer.Result r = new PersonaClusterer(config(5, 8, 0.0)).apply(spark.createDataFrame(rows,
        StructType.fromDDL("user_id string, x double, y double, buyer boolean")), PersonaClusterer.Previous.NONE, caches);
    long personas = r.personas().count();
    assertTrue(personas >= 1 && personas <= 3, personas + " personas: " + r.choice().reason());
    assertEquals(4, r.assigned().where("persona_id IS NOT NULL AND persona_name IS NOT NULL").count());
    assertEquals(r.assigned().select("persona_id").distinct().count(), personas, "every persona has users");
    assertTrue(r.kSelection().count() >= 1, "the curve records the k that could be tried");
  }

  @Test
  void aSingleUserGetsOnePersona() {
    PersonaClusterer.Result r = new PersonaClusterer(config(2, 5, 0.02)).apply(spark.createDataFrame(
        List.of(RowFactory.create("only", 3.0, 4.0, true)),
        StructType.fromDDL("user_id string, x double, y double, buyer boolean")), PersonaClusterer.Previous.NONE, caches);
    assertEquals(1, r.choice().k());
    assertTrue(r.choice().reason().contains("1 user:"), r.choice().reason());
    List<Row> personas = r.personas().collectAsList();
    assertEquals(1, personas.size());
    assertEquals("P01", personas.get(0).getString(0));
    Row only = r.assigned().select("user_id", "persona_id", PersonaClusterer.DISTANCE).first();
    assertEquals("P01", only.getString(1));
    assertEquals(0.0, only.getDouble(2), 1e-9, "the user is its own centroid");
  }

  @Test
  void theStandardiserInSparkAndTheSampleOnTheDriverScaleAlikeWithWeightsAndAConstantInput() {
    // Inputs a (mean 2, sd 1), b weighted 0.5 (mean 10, sd 4), c constant (sd 0).
    Dataset<Row> t = spark.sql("SELECT * FROM VALUES (1D, 6D, 3D), (2D, 10D, 3D), (3D, 14D, 3D) AS v(pt_a, pt_b, pt_c)");
    double[] mu = {2, 10, 3};
    double[] sigma = {1, 4, 0};
    double[] weight = {1, 0.5, 1};
    List<String> space = List.of("a", "b", "c");
    List<Row> rows = PersonaClusterer.standardiser(t, space, mu, sigma, weight).transform(t)
        .select("persona_features_scaled").collectAsList();
    double[][] transformed = {{1, 6, 3}, {2, 10, 3}, {3, 14, 3}};
    PersonaClusterer.Sample sample = new PersonaClusterer.Sample(new Integer[3], transformed, new double[3][0], List.of());
    double[][] driver = sample.scaled(new int[] {0, 1, 2}, mu, sigma, weight);
    double[][] expected = {{-1, -0.5, 0}, {0, 0, 0}, {1, 0.5, 0}};
    for (int u = 0; u < 3; u++) {
      double[] spark = ((org.apache.spark.ml.linalg.Vector) rows.get(u).get(0)).toArray();
      assertEquals(java.util.Arrays.toString(expected[u]), java.util.Arrays.toString(spark), "Spark, user " + u);
      assertEquals(java.util.Arrays.toString(spark), java.util.Arrays.toString(driver[u]), "the same bits, user " + u);
    }
  }

  @Test
  void usersAlikeButForWhatTheyShopSplitIntoInterestPersonasNamedByTheirCategory() {
    // Group A (60 users at the same place) is half food lovers, half book lovers; B and C shop both.
    Dataset<Row> users = users(0, 0).withColumn("category_events", org.apache.spark.sql.functions.expr(
        "CASE WHEN x < 5 AND y < 5 THEN CASE WHEN CAST(substr(user_id, 2) AS INT) % 2 = 0"
            + " THEN map('food', 9L, 'books', 1L) ELSE map('books', 9L, 'food', 1L) END"
            + " ELSE map('food', 5L, 'books', 5L) END"));
    PersonasConfig.Personas base = config(4, 4, 0.02);
    PersonasConfig.Personas withInterests = new PersonasConfig.Personas(base.kMin(), base.kMax(), base.seed(),
        base.maxIterations(), base.selectionSampleUsers(), base.silhouetteTolerance(), base.kChangeMinGain(),
        base.minShare(), base.matchMaxDistance(), base.features(), base.rules(), base.maxCorrelation(),
        base.explainWith(), base.naming(), base.playbook(), base.playbookOtherwise(), base.channels(), base.minReach(),
        new PersonasConfig.CategoryInputs(2, 0.05, 1.0, "%s-loving"));
    PersonaClusterer.Result r = new PersonaClusterer(withInterests).apply(users, PersonaClusterer.Previous.NONE, caches);
    Map<String, String> names = r.personas().collectAsList().stream()
        .collect(Collectors.toMap(p -> p.getString(0), p -> p.getString(1)));
    assertTrue(names.values().stream().anyMatch(n -> n.toLowerCase().contains("food-loving"))
        && names.values().stream().anyMatch(n -> n.toLowerCase().contains("books-loving")), names.toString());
    // Every food lover of A in one persona, every book lover in another.
    Map<String, String> of = personaOf(r);
    java.util.Set<String> food = new java.util.HashSet<>();
    java.util.Set<String> books = new java.util.HashSet<>();
    for (int u = 0; u < 60; u++) {
      (u % 2 == 0 ? food : books).add(of.get(String.format("u%03d", u)));
    }
    assertEquals(1, food.size(), food.toString());
    assertEquals(1, books.size(), books.toString());
    assertTrue(!food.equals(books));
    // Two shares that sum to 1 say the same thing: the first by name stays, and weighs what both would have.
    assertTrue(r.inputs().stream().anyMatch(i -> i.startsWith("category_books = ") && !i.contains("weight")),
        r.inputs().toString());
    assertTrue(r.inputsLeftOut().stream().anyMatch(i -> i.startsWith("category_food: correlated with category_books")),
        r.inputsLeftOut().toString());
  }
}
