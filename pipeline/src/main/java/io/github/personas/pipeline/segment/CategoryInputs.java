package io.github.personas.pipeline.segment;

import static org.apache.spark.sql.functions.col;

import io.github.personas.pipeline.config.PersonasConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.functions;

/**
 * Interest inputs found in the data: the share of a user's shopping events in each of a few
 * categories, so that personas such as food lovers can emerge beside the behavioural ones.
 *
 * <p>The categories are the data's, not the configuration's, so the inputs are made per run: those
 * whose share varies most between users, as food does where some users buy mostly food and most
 * none; a category everyone shops in alike tells no one apart. Data without categories
 * (transactions with products only) gets none. Each input weighs weight / sqrt(n): n shares that
 * sum to at most 1 would otherwise count n times in the distance.
 *
 * @param inputs the inputs, the category whose share varies most first
 * @param words  the naming vocabulary's words for them
 */
public record CategoryInputs(List<PersonasConfig.ClusterInput> inputs, List<PersonasConfig.Word> words) {

  private static final Logger LOG = LogManager.getLogger(CategoryInputs.class);
  /** The features table's column of shopping events per category. */
  public static final String COLUMN = "category_events";

  public CategoryInputs {
    inputs = List.copyOf(inputs);
    words = List.copyOf(words);
  }

  /** How much more a new category's share must vary to take the place of one used last run. */
  static final double STICKINESS = 1.1;

  /** No category inputs. */
  public static final CategoryInputs NONE = new CategoryInputs(List.of(), List.of());

  /**
   * Among the categories of {@code features} shopped by at least min_users of all {@code users},
   * the top ones by the variance of the users' shares in them (ties by name).
   */
  public static CategoryInputs find(Dataset<Row> features, PersonasConfig.CategoryInputs settings, long users) {
    return find(features, settings, users, Set.of());
  }

  /**
   * As {@link #find(Dataset, PersonasConfig.CategoryInputs, long)}, where a category among
   * {@code previous} (last run's input names) keeps its place unless another's share varies more
   * than {@value #STICKINESS} times as much: two categories that vary about as much do not swap
   * from night to night, and with them the personas' inputs.
   */
  public static CategoryInputs find(Dataset<Row> features, PersonasConfig.CategoryInputs settings, long users,
                                    Set<String> previous) {
    if (settings.top() == 0) {
      return NONE;
    }
    if (!List.of(features.columns()).contains(COLUMN)) {
      LOG.info("No category inputs: the features table has no {} column (written by an older version)", COLUMN);
      return NONE;
    }
    // Per category: users who shopped in it, and the sums of their shares and squared shares; a
    // user who did not has share 0, so the variance over every user follows.
    Column total = functions.aggregate(functions.map_values(col(COLUMN)), functions.lit(0L), (a, b) -> a.plus(b));
    List<Row> all = features.select(functions.explode(col(COLUMN)).as(new String[] {"category", "n"}),
            total.as("total"))
        .withColumn("share", col("n").divide(col("total")))
        .groupBy("category")
        .agg(functions.count(functions.lit(1)), functions.sum("share"), functions.sum(col("share").multiply(col("share"))))
        .collectAsList();
    List<Row> ranked = new ArrayList<>();
    for (Row r : all) {
      if (r.getString(0) == null) {
        continue;
      }
      if (r.getLong(1) >= settings.minUsers() * users) {
        ranked.add(r);
      } else {
        LOG.info("Category '{}' is no clustering input: {} of {} users shopped in it, below min_users {}",
            r.getString(0), r.getLong(1), users, settings.minUsers());
      }
    }
    // The categories whose share varies most between users say most about their interests: one
    // that everyone shops in equally tells no one apart. Sums over users in another partition
    // layout differ in the last bits, so variances are compared to 9 significant digits and ties
    // go by name: the same features give the same inputs.
    ranked.sort(Comparator.comparingDouble((Row r) -> -rounded(variance(r, users)
        * (previous.contains(name(r.getString(0))) ? STICKINESS : 1.0))).thenComparing(r -> r.getString(0)));
    // Category by input name, in rank order.
    Map<String, String> categories = new LinkedHashMap<>();
    for (Row r : ranked) {
      if (categories.size() == settings.top()) {
        break;
      }
      String c = r.getString(0);
      String name = name(c);
      if (name.equals(PersonasConfig.CategoryInputs.PREFIX) || categories.putIfAbsent(name, c) != null) {
        LOG.info("Category '{}' is no clustering input: its name '{}' is empty or another category's", c, name);
      }
    }
    if (categories.isEmpty()) {
      return NONE;
    }
    double weight = settings.weight() / Math.sqrt(categories.size());
    List<PersonasConfig.ClusterInput> inputs = new ArrayList<>();
    List<PersonasConfig.Word> words = new ArrayList<>();
    categories.forEach((name, c) -> {
      String sql = share(c);
      inputs.add(new PersonasConfig.ClusterInput(name, sql, PersonasConfig.Transform.NONE, sql, weight));
      words.add(new PersonasConfig.Word(name, String.format(Locale.ROOT, settings.word(), c.toLowerCase(Locale.ROOT)),
          ""));
    });
    return new CategoryInputs(inputs, words);
  }

  private static double rounded(double x) {
    return x == 0 || !Double.isFinite(x) ? x
        : new java.math.BigDecimal(x).round(new java.math.MathContext(9)).doubleValue();
  }

  /** The variance over every user of the share in a category, from its row (users, sum, sum of squares). */
  private static double variance(Row r, long users) {
    double mean = r.getDouble(2) / users;
    return r.getDouble(3) / users - mean * mean;
  }

  /** The input's name: the prefix and the category, lower case, other characters as _. */
  static String name(String category) {
    return PersonasConfig.CategoryInputs.PREFIX
        + category.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "_").replaceAll("^_|_$", "");
  }

  /** Spark SQL: the share of the user's shopping events (with a category) in {@code category}; 0 without any. */
  static String share(String category) {
    String literal = "'" + category.replace("\\", "\\\\").replace("'", "\\'") + "'";
    // Never null (the outer coalesce tells Spark so), so the traits can read the input's own column.
    return "coalesce(coalesce(try_element_at(" + COLUMN + ", " + literal + "), 0) / greatest(aggregate(map_values("
        + COLUMN + "), 0L, (a, b) -> a + b), 1), 0)";
  }
}
