package io.github.personas.pipeline.segment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.NamedExpr;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

class CategoryInputsTest {

  private final SparkSession spark = SparkTestSession.get();

  /**
   * Three food lovers (food 9, books 1), seven who split books and toys evenly, one who never
   * shopped. Shares over all 11 users: food 0.9 x 3 (variance 0.161), toys 0.5 x 7 (0.058),
   * books 0.1 x 3 and 0.5 x 7 (0.042).
   */
  private Dataset<Row> features() {
    StringBuilder values = new StringBuilder();
    for (int u = 1; u <= 11; u++) {
      String map = u <= 3 ? "map('food', 9L, 'books', 1L)" : u <= 10 ? "map('books', 5L, 'toys', 5L)"
          : "CAST(map() AS MAP<STRING, BIGINT>)";
      values.append(u == 1 ? "" : ", ").append("('u").append(String.format("%02d", u)).append("', ").append(map)
          .append(")");
    }
    return spark.sql("SELECT * FROM VALUES " + values + " AS t(user_id, category_events)");
  }

  private static PersonasConfig.CategoryInputs settings(int top, double minUsers) {
    return new PersonasConfig.CategoryInputs(top, minUsers, 1.0, "%s-loving");
  }

  private static List<String> names(CategoryInputs found) {
    return found.inputs().stream().map(PersonasConfig.ClusterInput::name).toList();
  }

  /** Each user's value of every input, by user. */
  private Map<String, List<Double>> values(Dataset<Row> features, CategoryInputs found) {
    Dataset<Row> withInputs = features;
    for (PersonasConfig.ClusterInput f : found.inputs()) {
      withInputs = withInputs.withColumn(f.name(), NamedExpr.column(f.sql()).cast("double"));
    }
    Map<String, List<Double>> byUser = new TreeMap<>();
    for (Row r : withInputs.collectAsList()) {
      byUser.put(r.getString(0), found.inputs().stream().map(f -> r.<Double>getAs(f.name())).toList());
    }
    return byUser;
  }

  @Test
  void theCategoriesWhoseShareVariesMostBetweenUsersBecomeInputsThatWeighAsOneTogether() {
    CategoryInputs found = CategoryInputs.find(features(), settings(2, 0.05), 11);
    assertEquals(List.of("category_food", "category_toys"),
        names(found));
    for (PersonasConfig.ClusterInput f : found.inputs()) {
      assertEquals(1 / Math.sqrt(2), f.weight(), 1e-12, f.name());
      assertEquals(PersonasConfig.Transform.NONE, f.transform(), "shares are compared by their means");
    }
    assertEquals(List.of(new PersonasConfig.Word("category_food", "food-loving", ""),
        new PersonasConfig.Word("category_toys", "toys-loving", "")), found.words());
    Map<String, List<Double>> v = values(features(), found);
    assertEquals(List.of(0.9, 0.0), v.get("u01"));
    assertEquals(List.of(0.0, 0.5), v.get("u04"));
    assertEquals(List.of(0.0, 0.0), v.get("u11"), "no shopping events: share 0 everywhere");
  }

  @Test
  void aCategoryFewUsersShopInIsNoInputHoweverItsShareVaries() {
    // Food: 3 of 11 users, below half.
    CategoryInputs found = CategoryInputs.find(features(), settings(3, 0.5), 11);
    assertEquals(List.of("category_toys", "category_books"),
        names(found));
  }

  @Test
  void topZeroOrDataWithoutCategoriesGiveNoInputs() {
    assertTrue(CategoryInputs.find(features(), settings(0, 0.05), 11).inputs().isEmpty());
    assertTrue(CategoryInputs.find(features().drop("category_events"), settings(5, 0.05), 11).inputs().isEmpty(),
        "a features table of an older version");
    Dataset<Row> none = spark.sql("SELECT 'u1' AS user_id, CAST(map() AS MAP<STRING, BIGINT>) AS category_events");
    assertTrue(CategoryInputs.find(none, settings(5, 0.05), 1).inputs().isEmpty(), "no user shopped a category");
  }

  @Test
  void aCategoryWithQuotesAndSpacesGetsASnakeCaseNameAndAWorkingExpression() {
    Dataset<Row> odd = spark.sql("SELECT * FROM VALUES ('u1', map('Kid\\'s Toys', 3L, 'a\\\\b', 1L)),"
        + " ('u2', map('a\\\\b', 2L)), ('u3', CAST(map() AS MAP<STRING, BIGINT>)) AS t(user_id, category_events)");
    // Shares of a\b 0.25, 1, 0 (variance 0.181), of Kid's Toys 0.75, 0, 0 (0.125).
    CategoryInputs found = CategoryInputs.find(odd, settings(5, 0), 3);
    assertEquals(List.of("category_a_b", "category_kid_s_toys"),
        names(found));
    Map<String, List<Double>> v = values(odd, found);
    assertEquals(List.of(0.25, 0.75), v.get("u1"));
    assertEquals(List.of(1.0, 0.0), v.get("u2"));
    assertEquals("kid's toys-loving", found.words().get(1).high());
  }

  @Test
  void aCategoryWhoseNameClashesWithAnotherGivesItsPlaceToTheNextAndTheWeightCountsTheInputsKept() {
    // One user each, so equal variances: by name, Kids, kids! (also category_kids), toys.
    Dataset<Row> clash = spark.sql("SELECT * FROM VALUES ('u1', map('Kids', 1L)), ('u2', map('kids!', 1L)),"
        + " ('u3', map('toys', 1L)), ('u4', CAST(map() AS MAP<STRING, BIGINT>)) AS t(user_id, category_events)");
    CategoryInputs found = CategoryInputs.find(clash, settings(2, 0), 4);
    assertEquals(List.of("category_kids", "category_toys"),
        names(found));
    assertEquals(1 / Math.sqrt(2), found.inputs().get(0).weight(), 1e-12);
    assertEquals(List.of(1.0, 0.0), values(clash, found).get("u1"), "Kids' own share");
  }

  /** Shares of x 1, 0, 0, 0 (variance 0.1875), of y 0, 1, 1, 0 (0.25), of z 0, 0, 0, 1 (0.1875). */
  private Dataset<Row> threeCategories() {
    return spark.sql("SELECT * FROM VALUES ('u1', map('x', 1L)), ('u2', map('y', 1L)), ('u3', map('y', 1L)),"
        + " ('u4', map('z', 1L)) AS t(user_id, category_events)");
  }

  @Test
  void yesterdaysCategoryKeepsItsPlaceOverOneWhoseShareVariesAsMuch() {
    assertEquals(List.of("category_y", "category_x"), names(CategoryInputs.find(threeCategories(), settings(2, 0), 4)),
        "x before z by name");
    assertEquals(List.of("category_y", "category_z"), names(CategoryInputs.find(threeCategories(), settings(2, 0), 4,
        java.util.Set.of("category_z", "frequency"))));
  }

  @Test
  void aCategoryWhoseShareVariesMuchMoreStillTakesYesterdaysPlace() {
    // y varies 1.33 times as much as x.
    assertEquals(List.of("category_y"), names(CategoryInputs.find(threeCategories(), settings(1, 0), 4,
        java.util.Set.of("category_x"))));
  }
}
