package io.github.personas.pipeline.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine's one pass, on inline rows: counts, rows set aside, the rule for repeated keys, the fold. */
class KeyedPassTest {

  private final SparkSession spark = SparkTestSession.get();
  private final Caches caches = new Caches();

  @AfterEach
  void release() {
    caches.close();
  }

  private static final StructType INPUT = StructType.fromDDL(
      "id string, grp string, t bigint, amount double, file string, pos bigint, status string");

  /**
   * Rows as (id, group, time, amount, file, status), each its own "block" of its file (the row
   * number), so that the first row of a file keeps its place however the rows are spread over
   * {@code partitions} partitions.
   */
  private Dataset<Row> input(int partitions, Object[]... rows) {
    List<Row> r = new ArrayList<>();
    for (int i = 0; i < rows.length; i++) {
      Object[] x = rows[i];
      r.add(RowFactory.create(x[0], x[1], ((Number) x[2]).longValue(), x[3] == null ? null : ((Number) x[3]).doubleValue(),
          x[4], (long) i, x[5]));
    }
    return spark.createDataFrame(r, INPUT).repartition(partitions);
  }

  private static KeyedPass.Spec spec(String group) {
    return new KeyedPass.Spec("CASE WHEN status = 'ok' THEN 'ok' ELSE status END", "ok", "status = 'bad'",
        List.of("id AS bad_id", "status AS why"), "id", List.of("t"), "file", "pos", group, List.of("id", "grp", "t",
        "amount"));
  }

  /** Per group: rows and the sum of amounts. */
  private static AggregateFold<FoldRow> fold() {
    Input amount = Input.column("amount");
    Input selector = Input.of("sel", "1");
    return new AggregateFold<>(List.of(
        Aggregates.count("rows", Aggregate.EVERY_ROW, r -> true),
        Aggregates.sum("total", Aggregate.EVERY_ROW, r -> !r.isNull(amount), r -> r.getDouble(amount)),
        Aggregates.distinctCount("distinct_ids", Aggregate.EVERY_ROW, r -> true, Input.column("id"))),
        selector, List.of(amount), FoldRow::new);
  }

  private static Map<String, String> rows(Dataset<Row> d) {
    Map<String, String> m = new TreeMap<>();
    for (Row r : d.collectAsList()) {
      List<Object> v = new ArrayList<>();
      for (int i = 1; i < r.length(); i++) {
        v.add(r.get(i));
      }
      m.merge(String.valueOf(r.get(0)), v.toString(), (a, b) -> a + " " + b);
    }
    return m;
  }

  private final Object[][] data = {
      // id, group, time, amount, file, status
      {"e1", "g1", 10, 1.0, "f1", "ok"},
      {"e1", "g1", 10, 1.0, "f2", "ok"},      // a copy in a later file: dropped
      {"e1", "g1", 10, 1.0, "f1", "ok"},      // a copy later in the same file: dropped
      {"e2", "g1", 20, 2.0, "f1", "ok"},
      {"e2", "g2", 15, 5.0, "f2", "ok"},      // the same id, earlier, in another group: it wins
      {"e3", "g2", 30, 3.0, "f1", "bad"},     // set aside
      {"e4", "g2", 40, 4.0, "f1", "skip"},    // counted only
      {null, "g3", 50, 6.0, "f1", "ok"},      // no key: never repeated
      {null, "g3", 50, 6.0, "f1", "ok"},
  };

  @Test
  void repeatedKeysKeepTheEarliestThenTheFirstFileThenTheFirstRowAndTheFoldNeverSeesTheOthers() {
    for (int partitions : new int[] {1, 3}) {
      KeyedPass.Result r = KeyedPass.run(input(partitions, data), spec("grp"), fold(), caches);
      assertEquals(Map.of("ok", 7L, "bad", 1L, "skip", 1L), r.classes());
      assertEquals(3, r.duplicates(), "two copies of e1, one of e2");
      assertEquals(2, r.repeatedKeys());
      assertEquals(Map.of("g1", "[1, 1.0, 1]", "g2", "[1, 5.0, 1]", "g3", "[2, 12.0, 0]"), rows(r.rows()),
          partitions + " partitions");
      assertEquals(Map.of("e3", "[bad]"), rows(r.side()));
    }
  }

  @Test
  void thePassReportsTheRangeOfTheFirstOrderColumnOverTheKeptRowsOnly() {
    for (int partitions : new int[] {1, 3}) {
      KeyedPass.Result r = KeyedPass.run(input(partitions, data), spec("grp"), fold(), caches);
      // 30 is set aside and 40 counted only; 50 is kept, 10 too, though two copies of it are dropped.
      assertEquals(new KeyedPass.OrderRange(10, 50), r.orderRange(), partitions + " partitions");
    }
    KeyedPass.Result none = KeyedPass.run(input(2, new Object[] {"a", "g", 1, 1.0, "f", "bad"}), spec("grp"), fold(),
        caches);
    assertEquals(null, none.orderRange(), "no kept row, no range");
  }

  @Test
  void withoutAFoldTheKeptRowsComeBackWithTheirTypes() {
    KeyedPass.Result r = KeyedPass.run(input(2, data), spec(null), null, caches);
    assertEquals(List.of("id", "grp", "t", "amount"), List.of(r.rows().columns()));
    assertEquals("bigint", r.rows().schema().apply("t").dataType().simpleString());
    assertEquals(Map.of("e1", "[g1, 10, 1.0]", "e2", "[g2, 15, 5.0]", "null", "[g3, 50, 6.0] [g3, 50, 6.0]"),
        rows(r.rows()));
  }

  @Test
  void cleanInputHasNoDuplicatesAndNothingAside() {
    KeyedPass.Result r = KeyedPass.run(input(2, new Object[] {"a", "g", 1, 1.0, "f", "ok"},
        new Object[] {"b", "g", 2, null, "f", "ok"}), spec("grp"), fold(), caches);
    assertEquals(0, r.duplicates());
    assertEquals(Map.of("g", "[2, 1.0, 2]"), rows(r.rows()));
    assertEquals(0, r.side().count());
  }

  @Test
  void rowsWithoutAFileOrBlockNeverTieAcrossPartitionsSoEveryCopyIsDroppedOnce() {
    // Four copies of each of 50 keys, spread round-robin over three partitions: copies at the same
    // place of their partition must still rank apart, or two would be kept and one counted dropped.
    List<Row> rows = new ArrayList<>();
    for (int copy = 0; copy < 4; copy++) {
      for (int k = 0; k < 50; k++) {
        rows.add(RowFactory.create("k" + k, "g" + (k % 5), 7L, 1.0, null, null, "ok"));
      }
    }
    Dataset<Row> in = spark.createDataFrame(rows, INPUT).repartition(3);
    KeyedPass.Spec spec = new KeyedPass.Spec("status", "ok", null, List.of(), "id", List.of("t"), "file", "pos", "grp",
        List.of());
    KeyedPass.Result r = KeyedPass.run(in, spec, fold(), caches);
    assertEquals(150, r.duplicates());
    assertEquals(Map.of("g0", "[10, 10.0, 10]", "g1", "[10, 10.0, 10]", "g2", "[10, 10.0, 10]", "g3", "[10, 10.0, 10]",
        "g4", "[10, 10.0, 10]"), rows(r.rows()), "each key once: 10 keys of 1.0 per group");
    KeyedPass.Result kept = KeyedPass.run(in, spec.foldingBy(null), null, caches);
    assertEquals(50, kept.rows().count(), "and 50 rows returned, as counted");
  }

  @Test
  void aFoldWithMoreGroupsThanItHoldsSpillsAndGivesTheSameRows() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      rows.add(RowFactory.create("e" + (i % 500), "g" + (i % 37), (long) i, (double) (i % 11), "f" + (i % 2),
          (long) (i / 200), "ok"));
    }
    Dataset<Row> in = spark.createDataFrame(rows, INPUT).repartition(2);
    Map<String, String> inMemory = rows(KeyedPass.run(in, spec("grp"), fold(), caches).rows());
    Map<String, String> spilled = rows(KeyedPass.run(in, spec("grp").withMaxGroups(3), fold(), caches).rows());
    assertEquals(37, inMemory.size());
    assertEquals(inMemory, spilled);
  }

  @Test
  void everyKeyRepeatedAsWhenADayIsDeliveredTwiceKeepsOneOfEach() {
    List<Row> rows = new ArrayList<>();
    for (String file : List.of("day-1", "day-1-again")) {
      for (int k = 0; k < 300; k++) {
        rows.add(RowFactory.create("e" + k, "g" + (k % 7), (long) k, 2.0, file, 0L, "ok"));
      }
    }
    KeyedPass.Result r = KeyedPass.run(spark.createDataFrame(rows, INPUT).repartition(4), spec("grp"), fold(), caches);
    assertEquals(300, r.duplicates());
    assertEquals(300, r.repeatedKeys());
    long total = r.rows().collectAsList().stream().mapToLong(x -> x.getLong(1)).sum();
    assertEquals(300, total, "every key once");
  }
}
