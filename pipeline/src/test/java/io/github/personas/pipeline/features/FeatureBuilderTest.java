package io.github.personas.pipeline.features;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.sql.Timestamp;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

class FeatureBuilderTest {

  private static final LocalDate D = LocalDate.parse("2024-03-10");
  private static final StructType EVENTS = StructType.fromDDL(
      "user_id string, event_time timestamp, event_name string, order_id string, revenue double,"
          + " platform string, country string");
  private static final StructType PROFILES = StructType.fromDDL(
      "user_id string, install_time timestamp, country string");

  private final SparkSession spark = SparkTestSession.get();

  private static Row ev(String user, String time, String name, String order, Double revenue) {
    return RowFactory.create(user, Timestamp.valueOf(time), name, order, revenue, "ios", "GB");
  }

  private Map<String, Row> features(List<Row> events, List<Row> profiles) {
    Dataset<Row> e = spark.createDataFrame(events, EVENTS);
    Dataset<Row> p = spark.createDataFrame(profiles, PROFILES);
    return new FeatureBuilder(D, "UTC").apply(e, p).collectAsList().stream()
        .collect(Collectors.toMap(r -> r.getAs("user_id"), Function.identity()));
  }

  @Test
  void rfmCountsOrdersNotLinesAndSubtractsRefunds() {
    Map<String, Row> f = features(Arrays.asList(
        // u1: order o1 has two lines (one order), o2 one line, then a refund of 5 on o2
        ev("u1", "2024-03-01 10:00:00", "purchase", "o1", 10.0),
        ev("u1", "2024-03-01 10:00:00", "purchase", "o1", 20.0),
        ev("u1", "2024-03-05 12:00:00", "purchase", "o2", 15.0),
        ev("u1", "2024-03-06 12:00:00", "refund", "o2", 5.0),
        // u2: purchases without order ids are one order each; a negative purchase is a refund
        ev("u2", "2024-03-10 23:59:59", "purchase", null, 7.0),
        ev("u2", "2024-03-10 08:00:00", "purchase", null, 3.0),
        ev("u2", "2024-03-09 08:00:00", "purchase", "x", -4.0)), List.of());
    Row u1 = f.get("u1");
    assertEquals(2L, (long) u1.getAs("frequency"));
    assertEquals(40.0, (double) u1.getAs("monetary"), 1e-9);
    assertEquals(22.5, (double) u1.getAs("avg_order_value"), 1e-9);
    assertEquals(5, (int) u1.getAs("recency_days"), "last purchase 2024-03-05, run date 2024-03-10");
    assertEquals(1L, (long) u1.getAs("refund_count"));
    assertEquals(5.0, (double) u1.getAs("refund_amount"), 1e-9);
    Row u2 = f.get("u2");
    assertEquals(2L, (long) u2.getAs("frequency"));
    assertEquals(6.0, (double) u2.getAs("monetary"), 1e-9);
    assertEquals(0, (int) u2.getAs("recency_days"));
    assertTrue((boolean) u2.getAs("is_buyer"));
  }

  @Test
  void onlyRefundsMeansNoRecencyAndNegativeMonetary() {
    Row u = features(List.of(ev("u1", "2024-03-02 10:00:00", "refund", "o9", 12.0)), List.of()).get("u1");
    assertEquals(0L, (long) u.getAs("frequency"));
    assertNull(u.getAs("recency_days"), "never purchased: recency is null, not 0");
    assertNull(u.getAs("avg_order_value"));
    assertEquals(-12.0, (double) u.getAs("monetary"), 1e-9);
    assertFalse((boolean) u.getAs("is_buyer"));
  }

  @Test
  void usersOnlyInProfilesStillGetARow() {
    Map<String, Row> f = features(List.of(ev("u1", "2024-03-02 10:00:00", "session_start", null, null)),
        List.of(RowFactory.create("u9", Timestamp.valueOf("2024-03-08 09:00:00"), "DE")));
    assertEquals(2, f.size());
    Row u9 = f.get("u9");
    assertEquals(0L, (long) u9.getAs("frequency"));
    assertEquals(2, (int) u9.getAs("days_since_install"));
    assertEquals("DE", u9.getAs("country"));
    assertEquals(0L, (long) u9.getAs("sessions_30d"));
  }

  @Test
  void nightPurchaseShareUsesTheConfiguredTimeZone() {
    List<Row> events = List.of(
        ev("u1", "2024-03-01 21:30:00", "purchase", "o1", 1.0), // 22:30 in Berlin (UTC+1)
        ev("u1", "2024-03-02 12:00:00", "purchase", "o2", 1.0));
    Dataset<Row> e = spark.createDataFrame(events, EVENTS);
    Dataset<Row> p = spark.createDataFrame(List.of(), PROFILES);
    Row utc = new FeatureBuilder(D, "UTC").apply(e, p).first();
    Row berlin = new FeatureBuilder(D, "Europe/Berlin").apply(e, p).first();
    assertEquals(0.0, (double) utc.getAs("night_purchase_share"), 1e-9);
    assertEquals(0.5, (double) berlin.getAs("night_purchase_share"), 1e-9);
  }
}
