package io.github.personas.pipeline.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class SegmentTransitionsTest {

  private static Dataset<Row> users(String... idSegment) {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < idSegment.length; i += 2) {
      rows.add(RowFactory.create(idSegment[i], idSegment[i + 1]));
    }
    return SparkTestSession.get().createDataFrame(rows, StructType.fromDDL("user_id string, persona_id string"));
  }

  private static Map<String, Long> sums(List<Row> rows, int column) {
    Map<String, Long> m = new TreeMap<>();
    rows.forEach(r -> m.merge(r.getString(column), r.getLong(3), Long::sum));
    return m;
  }

  @Test
  void rowSumsAreYesterdaysSizesAndColumnSumsTodaysIncludingNewAndGoneUsers() {
    Dataset<Row> yesterday = users("u1", "P01", "u2", "P01", "u3", "P02", "u4", "P02", "u5", null);
    Dataset<Row> today = users("u1", "P01", "u2", "P02", "u3", "P02", "u6", "P01", "u5", "P03");
    List<Row> rows = new SegmentTransitions(List.of("persona_id")).apply(today, yesterday, "2024-03-09").collectAsList();
    assertEquals(Map.of("P01", 2L, "P02", 2L, "(none)", 1L, "(new)", 1L), sums(rows, 1),
        "from: yesterday's sizes, plus the user who appeared");
    assertEquals(Map.of("P01", 2L, "P02", 2L, "P03", 1L, "(gone)", 1L), sums(rows, 2),
        "to: today's sizes, plus the user who disappeared");
    assertEquals("2024-03-09", rows.get(0).getString(4));
    assertEquals(1L, rows.stream().filter(r -> r.getString(1).equals("P01") && r.getString(2).equals("P02"))
        .findFirst().orElseThrow().getLong(3));
  }

  @Test
  void aFirstRunHasEveryoneComingFromNew() {
    List<Row> rows = new SegmentTransitions(List.of("persona_id")).apply(users("u1", "P01", "u2", "P02"), null, null)
        .collectAsList();
    assertEquals(Map.of("(new)", 2L), sums(rows, 1));
  }

  @Test
  void aPreviousRunFromTheSamePlanAsTodaysIsStillJoinedUserByUser() {
    // Both sides one Dataset: to Spark both user_id columns are the same one unless renamed (it
    // warns of a trivially true join condition), and every user must still meet only itself.
    Dataset<Row> same = users("u1", "P01", "u2", "P01", "u3", "P02", "u4", null);
    List<Row> rows = new SegmentTransitions(List.of("persona_id")).apply(same, same, "2024-03-09").collectAsList();
    Map<String, Long> moves = new TreeMap<>();
    rows.forEach(r -> moves.put(r.getString(1) + " -> " + r.getString(2), r.getLong(3)));
    assertEquals(Map.of("P01 -> P01", 2L, "P02 -> P02", 1L, "(none) -> (none)", 1L), moves);
  }
}
