package io.github.personas.pipeline.segment;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.ml.classification.DecisionTreeClassificationModel;
import org.apache.spark.ml.classification.DecisionTreeClassifier;
import org.apache.spark.ml.linalg.SQLDataTypes;
import org.apache.spark.ml.linalg.Vectors;
import org.apache.spark.ml.tree.ContinuousSplit;
import org.apache.spark.ml.tree.InternalNode;
import org.apache.spark.ml.tree.LeafNode;
import org.apache.spark.ml.tree.Node;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * A short rule that tells one persona from everyone else: a shallow decision tree (Spark MLlib),
 * persona against the rest, on the clustering inputs in natural units, read back as Spark SQL.
 *
 * <p>The tree is grown on a sample with both classes weighted equally, so a persona of 3 % is
 * not drowned by the rest. Its leaves are paths of conditions; the rule is the union of at most
 * three leaves with the best F1 on the sample among those precise enough, then tightened by up
 * to three more thresholds where that helps (a path reads at most three inputs), with its
 * conditions on one input merged and those that add nothing pruned. Thresholds are rounded for
 * reading (an integer-valued input's {@code > 5.5} is {@code >= 6}); precision and recall are then
 * measured on every user by the caller with the rule as written, so the figures are those of the
 * text a marketer reads.
 */
public final class PersonaExplainer {

  /** Deepest tree: three conditions per path at most. */
  public static final int MAX_DEPTH = 3;
  /** Precision a rule should reach on the sample before its F1 counts. */
  private static final double TARGET_PRECISION = 0.85;
  /** Recall a precise rule must keep to count as one. */
  private static final double MIN_RECALL = 0.5;
  /** The second tier, when no union reaches the first: still precise, if narrower. */
  private static final double FALLBACK_PRECISION = 0.8;
  private static final double FALLBACK_RECALL = 0.25;
  /** F1 a condition may cost before it is kept for the rule's sake. */
  private static final double PRUNE_TOLERANCE = 0.01;
  /** The persona's share of the weight in each tree grown; negative: unweighted. */
  private static final double[] POSITIVE_WEIGHTS = {0.5};
  /** Users a tree is grown on. */
  private static final int TREE_USERS = 5_000;
  /** Most paths joined by OR in one rule. */
  private static final int MAX_PATHS = 3;
  private static final StructType TRAINING = new StructType()
      .add("features", SQLDataTypes.VectorType())
      .add("label", DataTypes.DoubleType)
      .add("weight", DataTypes.DoubleType);

  /**
   * One input of the rules.
   *
   * @param sql Spark SQL for the input's natural value over the features table, as the rule shows it
   */
  public record Input(String sql) {}

  /**
   * An input's expression as it reads inside a rule: a column or a function call as it is,
   * anything else in parentheses. A null counts as 0 among the clustering inputs but makes a
   * condition false in SQL; the precision and recall of the written rule say what that costs.
   */
  public static String sqlOf(String sql) {
    String s = sql.trim();
    // NOT(x) looks like a call but binds looser than a comparison.
    if (s.regionMatches(true, 0, "NOT", 0, 3) && (s.length() == 3 || !Character.isLetterOrDigit(s.charAt(3))
        && s.charAt(3) != '_')) {
      return "(" + s + ")";
    }
    return s.matches("[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*\\([^()]*(\\([^()]*\\)[^()]*)*\\)") ? s : "(" + s + ")";
  }

  /** A rule that does not tell the persona apart (no leaf of the tree predicts it). */
  public static final String NO_RULE = "false";

  private final List<Input> inputs;
  private final long seed;

  /**
   * @param inputs the inputs, in the order of the sample's columns
   * @param seed   seed of the tree
   */
  public PersonaExplainer(List<Input> inputs, long seed) {
    this.inputs = List.copyOf(inputs);
    this.seed = seed;
  }

  /** One condition of a path: {@code input > threshold} or {@code input <= threshold}. */
  private record Condition(int input, boolean above, double threshold) {}

  /**
   * The rule separating {@code group} from the other users of the sample.
   *
   * @param spark   the session (the tree is fitted by MLlib on a small local Dataset)
   * @param points  the sample: one row of natural input values per user
   * @param groups  each sample user's persona index
   * @param group   the persona to explain
   * @return Spark SQL over the features table; {@link #NO_RULE} when the tree finds nothing
   */
  public String explain(SparkSession spark, double[][] points, int[] groups, int group) {
    long positives = IntStream.of(groups).filter(g -> g == group).count();
    if (positives == 0 || positives == groups.length) {
      return positives == 0 ? NO_RULE : "true";
    }
    // Both classes weighted equally: a small persona is not drowned by the rest. (More weights
    // give more leaves to choose from, at the cost of a Spark fit each.)
    double wPos = groups.length / (2.0 * positives);
    double wNeg = groups.length / (2.0 * (groups.length - positives));
    List<List<Condition>> leaves = new ArrayList<>();
    // The trees see every step-th user: their splits need a few thousand; the rule is then
    // chosen, tightened and pruned on the whole sample.
    int step = Math.max(1, points.length / TREE_USERS);
    for (double share : POSITIVE_WEIGHTS) {
      List<Row> rows = new ArrayList<>(points.length);
      for (int i = 0; i < points.length; i += step) {
        boolean pos = groups[i] == group;
        double w = share < 0 ? 1.0 : pos ? 2 * share * wPos : 2 * (1 - share) * wNeg;
        rows.add(RowFactory.create(Vectors.dense(points[i]), pos ? 1.0 : 0.0, w));
      }
      // The rows reach the executors once, as a broadcast: a Dataset made from the driver's list
      // carries all of them inside every task of every job of the fit (on CDNOW 6,652 users, 1.2 MB
      // in each of about ten tasks per tree, and Spark warned of "a task of very large size").
      // One partition in the list's order, as before: the same rows in the same order grow the
      // same tree on any machine.
      Broadcast<List<Row>> shipped = JavaSparkContext.fromSparkContext(spark.sparkContext()).broadcast(rows);
      try {
        Dataset<Row> training = spark.range(0, 1, 1, 1)
            .flatMap((FlatMapFunction<Long, Row>) x -> shipped.value().iterator(), Encoders.row(TRAINING));
        DecisionTreeClassificationModel tree = new DecisionTreeClassifier()
            .setMaxDepth(MAX_DEPTH).setMaxBins(64).setWeightCol("weight").setSeed(seed)
            .setMinInstancesPerNode(Math.max(1, points.length / 1000))
            .fit(training);
        walk(tree.rootNode(), new ArrayList<>(), leaves);
      } finally {
        shipped.destroy();
      }
    }
    boolean[] integral = integral(points);
    double[][] sortedColumns = new double[integral.length][];
    for (int j = 0; j < integral.length; j++) {
      int jj = j;
      sortedColumns[j] = java.util.Arrays.stream(points).mapToDouble(p -> p[jj]).sorted().toArray();
    }
    List<List<Condition>> readable = leaves.stream().map(p -> readable(merge(p), integral, sortedColumns)).distinct()
        .toList();
    List<List<Condition>> chosen = prune(refine(choose(readable, points, groups, group), points, groups, group, integral),
        points, groups, group).stream().map(p -> readable(p, integral, sortedColumns)).toList();
    return chosen.isEmpty() ? NO_RULE : render(chosen, integral, sortedColumns);
  }

  /** Every leaf's path, in the tree's order. */
  private static void walk(Node node, List<Condition> path, List<List<Condition>> leaves) {
    if (node instanceof LeafNode) {
      leaves.add(List.copyOf(path));
      return;
    }
    InternalNode in = (InternalNode) node;
    ContinuousSplit split = (ContinuousSplit) in.split();
    path.add(new Condition(split.featureIndex(), false, split.threshold()));
    walk(in.leftChild(), path, leaves);
    path.set(path.size() - 1, new Condition(split.featureIndex(), true, split.threshold()));
    walk(in.rightChild(), path, leaves);
    path.remove(path.size() - 1);
  }

  /** The tightest bound per input and side: {@code x > 3 AND x > 5} is {@code x > 5}. */
  private static List<Condition> merge(List<Condition> path) {
    List<Condition> out = new ArrayList<>();
    for (Condition c : path) {
      int at = -1;
      for (int i = 0; i < out.size(); i++) {
        if (out.get(i).input() == c.input() && out.get(i).above() == c.above()) {
          at = i;
        }
      }
      if (at < 0) {
        out.add(c);
      } else {
        double t = c.above() ? Math.max(out.get(at).threshold(), c.threshold())
            : Math.min(out.get(at).threshold(), c.threshold());
        out.set(at, new Condition(c.input(), c.above(), t));
      }
    }
    out.sort(Comparator.comparingInt(Condition::input).thenComparing(c -> !c.above()));
    return out;
  }

  /**
   * Thresholds as they will be written: for whole-valued inputs the whole number below, else the
   * number with the fewest significant digits that splits the sample's values the same way
   * ({@code 0.325} between 0.30 and 0.35 reads {@code 0.3}).
   */
  private static List<Condition> readable(List<Condition> path, boolean[] integral, double[][] sortedColumns) {
    return path.stream().map(c -> new Condition(c.input(), c.above(),
        integral[c.input()] ? Math.floor(c.threshold()) : simplest(c.threshold(), sortedColumns[c.input()]))).toList();
  }

  /** The simplest number t' with the same values of {@code sorted} at or below it as at or below t. */
  static double simplest(double t, double[] sorted) {
    int at = java.util.Arrays.binarySearch(sorted, t);
    int below = at >= 0 ? at : -at - 2;
    while (below + 1 < sorted.length && sorted[below + 1] <= t) {
      below++;
    }
    double lo = below >= 0 ? sorted[below] : Double.NEGATIVE_INFINITY;
    double hi = below + 1 < sorted.length ? sorted[below + 1] : Double.POSITIVE_INFINITY;
    for (int digits = 1; digits <= 15; digits++) {
      for (java.math.RoundingMode mode : new java.math.RoundingMode[] {java.math.RoundingMode.HALF_UP,
          java.math.RoundingMode.FLOOR, java.math.RoundingMode.CEILING}) {
        double c = t == 0 ? 0 : new java.math.BigDecimal(t).round(new java.math.MathContext(digits, mode)).doubleValue();
        if (c >= lo && c < hi) {
          return c;
        }
      }
    }
    return t;
  }

  /**
   * The union of at most {@link #MAX_PATHS} leaves that scores best on the sample: F1 within the
   * best {@link #tier} reached. Any leaf may join, not only those a tree predicts the persona in.
   */
  private static List<List<Condition>> choose(List<List<Condition>> leaves, double[][] points, int[] groups, int group) {
    java.util.BitSet persona = new java.util.BitSet(points.length);
    for (int u = 0; u < groups.length; u++) {
      if (groups[u] == group) {
        persona.set(u);
      }
    }
    int positives = persona.cardinality();
    int n = leaves.size();
    java.util.BitSet[] cells = new java.util.BitSet[n];
    for (int i = 0; i < n; i++) {
      cells[i] = bits(hits(leaves.get(i), points));
    }
    int[] best = {};
    double bestScore = -1;
    for (int[] subset : subsets(n, MAX_PATHS)) {
      java.util.BitSet union = new java.util.BitSet(points.length);
      for (int i : subset) {
        union.or(cells[i]);
      }
      int matched = union.cardinality();
      union.and(persona);
      int tp = union.cardinality();
      if (tp == 0) {
        continue;
      }
      double precision = (double) tp / matched;
      double recall = (double) tp / positives;
      double f1 = 2.0 * tp / (matched + positives);
      // Fewer paths win ties: the 1e-9 per path keeps the shortest of equal rules.
      double score = tier(precision, recall) + f1 - 1e-9 * subset.length;
      if (score > bestScore) {
        bestScore = score;
        best = subset;
      }
    }
    List<List<Condition>> chosen = new ArrayList<>();
    for (int i : best) {
      chosen.add(leaves.get(i));
    }
    return chosen;
  }

  /**
   * Rules precise enough to act on come first: precision 0.85 with half the persona, else
   * precision 0.8 with a quarter of it; F1 decides within a tier.
   */
  private static int tier(Counts c, long positives) {
    return tier(c.precision(), (double) c.hits() / positives);
  }

  private static int tier(double precision, double recall) {
    if (precision >= TARGET_PRECISION && recall >= MIN_RECALL) {
      return 4;
    }
    return precision >= FALLBACK_PRECISION && recall >= FALLBACK_RECALL ? 2 : 0;
  }

  /** Every subset of {0..n-1} with 1 to {@code most} members. */
  private static List<int[]> subsets(int n, int most) {
    List<int[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new int[] {i});
      for (int j = i + 1; j < n && most >= 2; j++) {
        out.add(new int[] {i, j});
        for (int k = j + 1; k < n && most >= 3; k++) {
          out.add(new int[] {i, j, k});
        }
      }
    }
    return out;
  }

  private static java.util.BitSet bits(boolean[] hits) {
    java.util.BitSet b = new java.util.BitSet(hits.length);
    for (int u = 0; u < hits.length; u++) {
      if (hits[u]) {
        b.set(u);
      }
    }
    return b;
  }

  /**
   * Tightens the rule where the trees' greedy splits left it loose: adds to a path the one
   * threshold (on any input, at a quantile of the users the path matches) that most improves the
   * rule's {@link #tier} and F1, while a path reads at most {@link #MAX_DEPTH} inputs; repeated
   * while it helps. A tree spends its depth on the split best for all users; the persona's own
   * border may need one more cut, e.g. the recent users its frequent-buyer path also matches.
   */
  private static List<List<Condition>> refine(List<List<Condition>> rule, double[][] points, int[] groups, int group,
                                              boolean[] integral) {
    long positives = IntStream.of(groups).filter(g -> g == group).count();
    int d = points.length == 0 ? 0 : points[0].length;
    List<List<Condition>> current = copy(rule);
    double score = score(Counts.of(union(current, points), groups, group), positives);
    for (int round = 0; round < MAX_DEPTH; round++) {
      List<List<Condition>> best = null;
      double bestScore = score + 1e-6;
      for (int p = 0; p < current.size(); p++) {
        List<Condition> path = current.get(p);
        if (path.stream().map(Condition::input).distinct().count() >= MAX_DEPTH) {
          continue;
        }
        boolean[] matched = hits(path, points);
        for (int j = 0; j < d; j++) {
          for (double t : quantiles(points, matched, j, integral[j])) {
            for (boolean above : new boolean[] {true, false}) {
              List<List<Condition>> trial = copy(current);
              trial.get(p).add(new Condition(j, above, t));
              double sc = score(Counts.of(union(trial, points), groups, group), positives);
              if (sc > bestScore) {
                bestScore = sc;
                best = trial;
              }
            }
          }
        }
      }
      if (best == null) {
        break;
      }
      current = best.stream().map(PersonaExplainer::merge).toList();
      score = bestScore;
    }
    return current;
  }

  private static double score(Counts c, long positives) {
    return tier(c, positives) + c.f1(positives);
  }

  /** Up to 16 distinct cut points of input {@code j} among the matched users, rounded as written. */
  private static double[] quantiles(double[][] points, boolean[] matched, int j, boolean integral) {
    double[] v = IntStream.range(0, points.length).filter(u -> matched[u]).mapToDouble(u -> points[u][j]).sorted()
        .toArray();
    if (v.length == 0) {
      return new double[0];
    }
    java.util.TreeSet<Double> cuts = new java.util.TreeSet<>();
    for (int q = 1; q < 16; q++) {
      double x = v[(int) ((long) q * (v.length - 1) / 16)];
      cuts.add(integral ? Math.floor(x) : x);
    }
    return cuts.stream().mapToDouble(Double::doubleValue).toArray();
  }

  /**
   * Drops conditions and whole paths while that costs the rule less than {@link #PRUNE_TOLERANCE}
   * of F1 on the sample and keeps its {@link #tier}, the cheapest first: a bound the tree needed
   * for its impurity, or a path another one covers, only makes the rule longer to read.
   */
  private static List<List<Condition>> prune(List<List<Condition>> rule, double[][] points, int[] groups, int group) {
    long positives = IntStream.of(groups).filter(g -> g == group).count();
    List<List<Condition>> current = new ArrayList<>();
    rule.forEach(p -> current.add(new ArrayList<>(p)));
    boolean[] start = union(current, points);
    Counts counts = Counts.of(start, groups, group);
    double f1 = counts.f1(positives);
    int tier = tier(counts, positives);
    while (true) {
      // Candidates: each rule with one condition, or one whole path, fewer.
      List<List<List<Condition>>> trials = new ArrayList<>();
      for (int p = 0; p < current.size(); p++) {
        if (current.size() > 1) {
          List<List<Condition>> trial = copy(current);
          trial.remove(p);
          trials.add(trial);
        }
        for (int c = 0; c < current.get(p).size() && current.get(p).size() > 1; c++) {
          List<List<Condition>> trial = copy(current);
          trial.get(p).remove(c);
          trials.add(trial);
        }
      }
      List<List<Condition>> best = null;
      double bestF1 = -1;
      for (List<List<Condition>> trial : trials) {
        Counts c = Counts.of(union(trial, points), groups, group);
        if (tier(c, positives) >= tier && c.f1(positives) > bestF1) {
          bestF1 = c.f1(positives);
          best = trial;
        }
      }
      if (best == null || bestF1 < f1 - PRUNE_TOLERANCE) {
        return current;
      }
      current.clear();
      current.addAll(best);
      f1 = Math.max(f1, bestF1);
    }
  }

  private static List<List<Condition>> copy(List<List<Condition>> rule) {
    List<List<Condition>> out = new ArrayList<>();
    rule.forEach(p -> out.add(new ArrayList<>(p)));
    return out;
  }

  private static boolean[] union(List<List<Condition>> paths, double[][] points) {
    boolean[] all = new boolean[points.length];
    for (List<Condition> p : paths) {
      boolean[] h = hits(p, points);
      for (int u = 0; u < all.length; u++) {
        all[u] |= h[u];
      }
    }
    return all;
  }

  private static boolean[] hits(List<Condition> path, double[][] points) {
    boolean[] h = new boolean[points.length];
    for (int u = 0; u < points.length; u++) {
      boolean all = true;
      for (Condition c : path) {
        double v = points[u][c.input()];
        all &= c.above() ? v > c.threshold() : v <= c.threshold();
      }
      h[u] = all;
    }
    return h;
  }

  /** Users a rule matches, and of them those in the persona. */
  private record Counts(long matched, long hits) {
    static Counts of(boolean[] matches, int[] groups, int group) {
      long matched = 0;
      long hits = 0;
      for (int u = 0; u < matches.length; u++) {
        if (matches[u]) {
          matched++;
          hits += groups[u] == group ? 1 : 0;
        }
      }
      return new Counts(matched, hits);
    }

    double precision() {
      return matched == 0 ? 0 : (double) hits / matched;
    }

    double f1(long positives) {
      return hits == 0 ? 0 : 2.0 * hits / (matched + positives);
    }
  }

  private static boolean[] integral(double[][] points) {
    int d = points.length == 0 ? 0 : points[0].length;
    boolean[] whole = new boolean[d];
    for (int j = 0; j < d; j++) {
      whole[j] = true;
      for (double[] p : points) {
        if (p[j] != Math.rint(p[j])) {
          whole[j] = false;
          break;
        }
      }
    }
    return whole;
  }

  private String render(List<List<Condition>> paths, boolean[] integral, double[][] sortedColumns) {
    StringJoiner or = new StringJoiner(" OR ");
    for (List<Condition> p : paths) {
      StringJoiner and = new StringJoiner(" AND ");
      for (int i = 0; i < p.size(); i++) {
        Condition c = p.get(i);
        String x = inputs.get(c.input()).sql();
        boolean whole = integral[c.input()];
        // Conditions are sorted by input, lower bound first: "> 1 AND <= 2" on whole numbers is "= 2".
        if (whole && c.above() && i + 1 < p.size() && p.get(i + 1).input() == c.input()
            && p.get(i + 1).threshold() == c.threshold() + 1) {
          and.add(x + " = " + number(c.threshold() + 1));
          i++;
          continue;
        }
        // A count at most 0 is "= 0", and a 0/1 flag above 0 is "= 1". Only there: the sample's
        // least or greatest value need not be every user's.
        double[] values = sortedColumns[c.input()];
        boolean flag = whole && values.length > 0 && values[0] == 0 && values[values.length - 1] == 1;
        if (whole && values.length > 0 && values[0] == 0 && !c.above() && c.threshold() == 0
            || flag && c.above() && c.threshold() == 0) {
          and.add(x + " = " + number(c.above() ? 1 : 0));
          continue;
        }
        // For whole numbers "> 5" is ">= 6", which reads as the marketer counts.
        and.add(c.above() && whole ? x + " >= " + number(c.threshold() + 1)
            : x + (c.above() ? " > " : " <= ") + number(c.threshold()));
      }
      String text = p.isEmpty() ? "true" : and.toString();
      or.add(paths.size() > 1 && p.size() > 1 ? "(" + text + ")" : text);
    }
    return or.toString();
  }

  /** A threshold as SQL: {@code 6}, {@code 0.25}, {@code 2100}. */
  static String number(double x) {
    if (x == Math.rint(x) && Math.abs(x) < 1e15) {
      return String.format(Locale.ROOT, "%d", (long) x);
    }
    return new java.math.BigDecimal(Double.toString(x)).stripTrailingZeros().toPlainString();
  }
}
