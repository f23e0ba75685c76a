package io.github.personas.pipeline.features;

import io.github.personas.pipeline.engine.Caches;
import static io.github.personas.pipeline.testing.ContractRows.event;
import static io.github.personas.pipeline.testing.ContractRows.profile;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.io.Contract;
import io.github.personas.pipeline.testing.ContractRows;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.sql.Timestamp;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;

/** Hand-computed features for small inline event tables; run date D = 2024-03-10 (a Sunday). */
class FeatureBuilderTest {

  private final Caches caches = new Caches();

  @org.junit.jupiter.api.AfterEach
  void releaseCaches() {
    caches.close();
  }

  private static final LocalDate D = LocalDate.parse("2024-03-10");

  private final SparkSession spark = SparkTestSession.get();

  private Map<String, Row> features(List<ContractRows> events, List<ContractRows> profiles, String tz) {
    Dataset<Row> e = ContractRows.frame(spark, Contract.EVENTS, events);
    Dataset<Row> p = ContractRows.frame(spark, Contract.PROFILES, profiles);
    return new FeatureBuilder(D, tz).apply(e, p, caches).collectAsList().stream()
        .collect(Collectors.toMap(r -> r.getAs("user_id"), Function.identity()));
  }

  private Map<String, Row> features(List<ContractRows> events, List<ContractRows> profiles) {
    return features(events, profiles, "UTC");
  }

  private Row one(ContractRows... events) {
    return features(List.of(events), List.of()).get("u1");
  }

  private static double d(Row r, String c) {
    return ((Number) r.getAs(c)).doubleValue();
  }

  private static long l(Row r, String c) {
    return ((Number) r.getAs(c)).longValue();
  }

  @Test
  void rfmCountsOrdersNotLinesAndSubtractsRefunds() {
    Map<String, Row> f = features(List.of(
        // u1: order o1 has two lines (one order), o2 one line, then a refund of 5 on o2
        event("u1", "2024-03-01 10:00:00", "purchase").order("o1", 10),
        event("u1", "2024-03-01 10:00:00", "purchase").order("o1", 20),
        event("u1", "2024-03-05 12:00:00", "purchase").order("o2", 15),
        event("u1", "2024-03-06 12:00:00", "refund").order("o2", 5),
        // u2: purchases without order ids are one order each; a negative purchase is a refund
        event("u2", "2024-03-10 23:59:59", "purchase").with("revenue", 7.0),
        event("u2", "2024-03-10 08:00:00", "purchase").with("revenue", 3.0),
        event("u2", "2024-03-09 08:00:00", "purchase").order("x", -4)), List.of());
    Row u1 = f.get("u1");
    assertEquals(2, l(u1, "frequency"));
    assertEquals(40.0, d(u1, "monetary"), 1e-9);
    assertEquals(22.5, d(u1, "avg_order_value"), 1e-9);
    assertEquals(5, l(u1, "recency_days"), "last purchase 2024-03-05, run date 2024-03-10");
    assertEquals(5, l(u1, "days_inactive"), "no session: the last purchase row (the refund of 03-06 is no purchase)");
    assertEquals(1, l(u1, "refund_count"));
    assertEquals(5.0, d(u1, "refund_amount"), 1e-9);
    assertEquals("2024-03-01", u1.getAs("first_purchase_date").toString());
    assertEquals("2024-03-05", u1.getAs("last_purchase_date").toString());
    Row u2 = f.get("u2");
    assertEquals(2, l(u2, "frequency"));
    assertEquals(6.0, d(u2, "monetary"), 1e-9);
    assertEquals(0, l(u2, "recency_days"));
    assertTrue((boolean) u2.getAs("is_buyer"));
  }

  @Test
  void aSingleEventGivesOneRowWithZerosAndNullRates() {
    Row u = one(event("u1", "2024-03-08 10:00:00", "screen_view"));
    assertEquals(0, l(u, "frequency"));
    assertEquals(0.0, d(u, "monetary"));
    assertEquals(2, l(u, "tenure_days"));
    assertEquals(0, l(u, "sessions_30d"));
    assertNull(u.getAs("recency_days"));
    assertNull(u.getAs("days_since_last_session"));
    assertEquals(2, l(u, "days_inactive"), "neither a session nor a purchase: since first seen");
    assertNull(u.getAs("median_session_gap_days"));
    assertNull(u.getAs("cart_to_purchase_rate"));
    assertNull(u.getAs("message_open_rate"));
    assertNull(u.getAs("night_purchase_share"));
    assertEquals(0.0, d(u, "weekend_share"), 1e-9, "2024-03-08 is a Friday");
  }

  @Test
  void onlyRefundsMeansNoRecencyAndNegativeMonetary() {
    Row u = one(event("u1", "2024-03-02 10:00:00", "refund").order("o9", 12));
    assertEquals(0, l(u, "frequency"));
    assertNull(u.getAs("recency_days"), "never purchased: recency is null, not 0");
    assertNull(u.getAs("avg_order_value"));
    assertEquals(-12.0, d(u, "monetary"), 1e-9);
    assertFalse((boolean) u.getAs("is_buyer"));
  }

  @Test
  void moneyIsSummedExactlyToTheCent() {
    // Summed as doubles, 2,000 orders of 9.99 were 19979.999999999658 and 100.10 less a 0.30
    // refund 99.79999999999998: exact sums give the decimal amounts, to the last bit.
    List<ContractRows> ev = new java.util.ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      ev.add(event("u1", "2024-03-02 10:00:00", "purchase").order("o" + i, 9.99));
    }
    ev.add(event("u2", "2024-03-02 10:00:00", "purchase").order("p1", 100.10));
    ev.add(event("u2", "2024-03-03 10:00:00", "refund").order("p1", 0.30));
    // Beyond what units of 10^-4 hold in a long, the sum carries on as a double.
    ev.add(event("u3", "2024-03-02 10:00:00", "purchase").order("q1", 1e15));
    ev.add(event("u3", "2024-03-02 11:00:00", "purchase").order("q2", 1.5));
    Map<String, Row> f = features(ev, List.of());
    assertEquals(1e15 + 1.5, d(f.get("u3"), "monetary"), 0.0);
    assertEquals(19980.0, d(f.get("u1"), "monetary"), 0.0);
    assertEquals(19980.0, d(f.get("u1"), "revenue_30d"), 0.0);
    assertEquals(9.99, d(f.get("u1"), "avg_order_value"), 0.0);
    assertEquals(99.8, d(f.get("u2"), "monetary"), 0.0);
    assertEquals(0.3, d(f.get("u2"), "refund_amount"), 0.0);
  }

  @Test
  void aRefundLargerThanThePurchasesMakesMonetaryNegativeButKeepsTheOrder() {
    Row u = one(event("u1", "2024-03-02 10:00:00", "purchase").order("o1", 10),
        event("u1", "2024-03-03 10:00:00", "refund").order("o1", 25));
    assertEquals(1, l(u, "frequency"));
    assertEquals(-15.0, d(u, "monetary"), 1e-9);
    assertEquals(10.0, d(u, "avg_order_value"), 1e-9, "order value is what was bought");
    assertEquals(8, l(u, "recency_days"));
  }

  @Test
  void midnightOfTheRunDateCountsAndMidnightOfTheNextDayDoesNot() {
    Row u = one(event("u1", "2024-03-10 00:00:00", "session_start"),
        event("u1", "2024-03-10 00:00:00", "purchase").order("o1", 5),
        event("u1", "2024-03-11 00:00:00", "purchase").order("o2", 500),
        event("u1", "2024-03-11 00:00:00", "session_start"));
    assertEquals(1, l(u, "frequency"), "the D+1 purchase is look-ahead");
    assertEquals(5.0, d(u, "monetary"), 1e-9);
    assertEquals(0, l(u, "recency_days"));
    assertEquals(1, l(u, "sessions_7d"));
    assertEquals("2024-03-10 00:00:00.0", u.getAs("last_seen").toString());
  }

  @Test
  void sessionWindowsEndAtTheRunDateInclusive() {
    Row u = one(event("u1", "2024-03-04 09:00:00", "session_start"), // D-6: inside 7 days
        event("u1", "2024-03-03 09:00:00", "session_start"),         // D-7: outside 7 days
        event("u1", "2024-02-10 09:00:00", "session_start"),         // D-29: inside 30 days
        event("u1", "2024-02-09 09:00:00", "session_start"),         // D-30: outside 30 days
        event("u1", "2023-12-12 09:00:00", "session_start"));        // D-89: inside 90 days
    assertEquals(1, l(u, "sessions_7d"));
    assertEquals(3, l(u, "sessions_30d"));
    assertEquals(5, l(u, "sessions_90d"));
    assertEquals(3, l(u, "active_days_30d"));
    assertEquals(1, l(u, "active_days_prev_30d"), "D-30 is in the 30 days before; D-89 is not");
    assertEquals(6, l(u, "days_since_last_session"));
    assertEquals(6, l(u, "days_inactive"), "the last session, when there is one");
    assertEquals(0.4, d(u, "weekend_share"), 1e-9, "Sunday 03-03 and Saturday 02-10 of five sessions");
  }

  @Test
  void medianSessionGapIsTheUsualIntervalBetweenSessions() {
    Row odd = one(event("u1", "2024-03-01 12:00:00", "session_start").with("duration_s", 60.0),
        event("u1", "2024-03-02 12:00:00", "session_start").with("duration_s", 120.0),
        event("u1", "2024-03-04 12:00:00", "session_start"),
        event("u1", "2024-03-08 12:00:00", "session_start").with("duration_s", 30.0));
    assertEquals(2.0, d(odd, "median_session_gap_days"), 1e-9, "gaps 1, 2, 4 days");
    assertEquals(70.0, d(odd, "avg_session_duration_s"), 1e-9, "sessions without a duration are left out");
    assertEquals(210.0, d(odd, "total_session_duration_s_30d"), 1e-9);
    Row even = one(event("u1", "2024-03-01 12:00:00", "session_start"),
        event("u1", "2024-03-01 18:00:00", "session_start"),
        event("u1", "2024-03-03 18:00:00", "session_start"));
    assertEquals(1.125, d(even, "median_session_gap_days"), 1e-9, "gaps 0.25 and 2 days");
  }

  @Test
  void funnelRatesUseTheLast30Days() {
    Row u = one(event("u1", "2024-03-01 10:00:00", "product_view").with("category", "food"),
        event("u1", "2024-03-01 10:01:00", "product_view").with("category", "food"),
        event("u1", "2024-03-01 10:02:00", "add_to_cart").with("category", "food"),
        event("u1", "2024-03-01 10:03:00", "add_to_cart").with("category", "toys"),
        event("u1", "2024-03-01 10:04:00", "purchase").order("o1", 30).with("category", "food"),
        event("u1", "2024-01-01 10:04:00", "purchase").order("o0", 100).with("category", "toys"),
        event("u1", "2024-03-02 10:04:00", "refund").order("o1", 10));
    assertEquals(2, l(u, "product_views_30d"));
    assertEquals(2, l(u, "add_to_cart_30d"));
    assertEquals(1, l(u, "purchases_30d"));
    assertEquals(20.0, d(u, "revenue_30d"), 1e-9);
    assertEquals(0.5, d(u, "cart_to_purchase_rate"), 1e-9);
    assertEquals(2, l(u, "frequency"));
  }

  @Test
  void topCategoryIsTheMostFrequentWithTiesToTheFirstName() {
    Row u = one(event("u1", "2024-03-01 10:00:00", "product_view").with("category", "toys"),
        event("u1", "2024-03-01 10:01:00", "product_view").with("category", "food"),
        event("u1", "2024-03-01 10:02:00", "add_to_cart").with("category", "books"),
        event("u1", "2024-03-01 10:02:00", "screen_view").with("category", "ignored"),
        event("u1", "2024-03-01 10:03:00", "purchase").order("o1", 5).with("category", "food"),
        event("u1", "2024-03-01 10:04:00", "purchase").order("o2", 5).with("category", "toys"));
    assertEquals("food", u.getAs("top_category"), "food and toys both 2: food comes first");
    assertEquals(0.4, d(u, "top_category_share"), 1e-9);
    assertEquals(3, l(u, "distinct_categories"), "screen views do not count");
  }

  @Test
  void distinctProductsCountShoppingEventsOfTheLast90Days() {
    Map<String, Row> f = features(List.of(
        event("u1", "2024-03-01 10:00:00", "product_view").with("product_id", "p1"),
        event("u1", "2024-03-02 10:00:00", "product_view").with("product_id", "p1"),
        event("u1", "2024-03-02 10:01:00", "add_to_cart").with("product_id", "p2"),
        event("u1", "2024-03-02 10:02:00", "purchase").order("o1", 9).with("product_id", "p3"),
        // 90 days before D is the first day out of the window; a screen view is no shopping.
        event("u1", "2023-12-11 10:00:00", "product_view").with("product_id", "p4"),
        event("u1", "2023-12-12 10:00:00", "product_view").with("product_id", "p5"),
        event("u1", "2024-03-03 10:00:00", "screen_view").with("product_id", "p6"),
        event("u1", "2024-03-03 10:00:00", "product_view")),
        List.of(ContractRows.profile("u2")));
    assertEquals(4, l(f.get("u1"), "distinct_products_90d"), "p1, p2, p3 and p5");
    assertEquals(0, l(f.get("u2"), "distinct_products_90d"), "users only in profiles have 0");
  }

  @Test
  void purchaseDaysMergeSameDayOrdersAndTheFirstDaysRevenueIsKeptApart() {
    Map<String, Row> f = features(List.of(
        //            user  time (UTC)              event       order  revenue
        event("u1", "2024-03-01 09:00:00", "purchase").order("o1", 10),   // day 1
        event("u1", "2024-03-01 23:59:59", "purchase").order("o2", 5),    // day 1 again: one purchase day
        event("u1", "2024-03-03 00:00:00", "purchase").order("o3", 7),    // day 3
        event("u1", "2024-03-04 10:00:00", "refund").order("o3", 7),      // a refund is no purchase day
        event("u1", "2024-02-29 10:00:00", "product_view")),              // before, but no purchase
        List.of(ContractRows.profile("u2")));
    assertEquals(2, l(f.get("u1"), "purchase_days"), "March 1 and March 3");
    assertEquals(15.0, d(f.get("u1"), "first_purchase_day_revenue"), 0.0, "both orders of March 1");
    assertEquals(0, l(f.get("u2"), "purchase_days"), "users only in profiles never bought");
    assertTrue(f.get("u2").isNullAt(f.get("u2").fieldIndex("first_purchase_day_revenue")), "and have no first day");
  }

  @Test
  void nightPurchaseShareUsesTheConfiguredTimeZone() {
    List<ContractRows> events = List.of(
        event("u1", "2024-03-01 21:30:00", "purchase").order("o1", 1), // 22:30 in Berlin (UTC+1)
        event("u1", "2024-03-02 12:00:00", "purchase").order("o2", 1),
        event("u1", "2024-03-02 03:30:00", "purchase").order("o3", 1), // 03:30 UTC, 04:30 Berlin
        event("u1", "2024-03-02 04:00:00", "purchase").order("o4", 1)); // 04:00 UTC: day
    assertEquals(0.25, d(features(events, List.of(), "UTC").get("u1"), "night_purchase_share"), 1e-9);
    assertEquals(0.25, d(features(events, List.of(), "Europe/Berlin").get("u1"), "night_purchase_share"), 1e-9);
    List<ContractRows> border = List.of(event("u1", "2024-03-01 21:30:00", "purchase").order("o1", 1));
    assertEquals(0.0, d(features(border, List.of(), "UTC").get("u1"), "night_purchase_share"), 1e-9);
    assertEquals(1.0, d(features(border, List.of(), "Europe/Berlin").get("u1"), "night_purchase_share"), 1e-9);
  }

  @Test
  void messageRatesAndOptOut() {
    Map<String, Row> f = features(List.of(
        event("u1", "2024-03-01 10:00:00", "message_received").with("channel", "push"),
        event("u1", "2024-03-02 10:00:00", "message_received").with("channel", "email"),
        event("u1", "2024-03-02 10:05:00", "message_open").with("channel", "email"),
        event("u1", "2024-03-02 10:06:00", "message_click").with("channel", "email"),
        event("u1", "2024-01-02 10:00:00", "message_received").with("channel", "email"),
        event("u2", "2024-03-02 10:00:00", "opt_out").with("channel", "sms")),
        List.of(profile("u1").with("push_opt_in", true).with("email_opt_in", true).with("sms_opt_in", false),
            profile("u3").with("push_opt_in", false).with("email_opt_in", false).with("sms_opt_in", false)));
    Row u1 = f.get("u1");
    assertEquals(2, l(u1, "messages_received_30d"));
    assertEquals(0.5, d(u1, "message_open_rate"), 1e-9);
    assertEquals(0.5, d(u1, "message_click_rate"), 1e-9);
    assertTrue((boolean) u1.getAs("push_opt_in"));
    assertFalse((boolean) u1.getAs("opted_out"));
    assertTrue((boolean) f.get("u2").getAs("opted_out"), "an opt_out event");
    assertTrue((boolean) f.get("u3").getAs("opted_out"), "no channel opted in");
    assertNull(f.get("u2").getAs("message_open_rate"), "no messages received: null, not 0");
  }

  @Test
  void technographicsAreTheMostRecentAndLatestVersionIsPerPlatform() {
    Map<String, Row> f = features(List.of(
        event("u1", "2024-03-01 10:00:00", "session_start").with("platform", "ios").with("app_version", "5.9.0")
            .with("device_model", "iPhone12").with("os_version", "17.1"),
        event("u1", "2024-03-05 10:00:00", "session_start").with("platform", "ios").with("app_version", "5.10.0")
            .with("device_model", "iPhone15"),
        event("u2", "2024-03-05 10:00:00", "session_start").with("platform", "ios").with("app_version", "5.9.0"),
        event("u3", "2024-03-05 10:00:00", "session_start").with("platform", "android").with("app_version", "4.0"),
        event("u3", "2024-03-06 10:00:00", "uninstall"),
        event("u4", "2024-03-03 10:00:00", "uninstall"),
        event("u4", "2024-03-05 10:00:00", "session_start"),
        // Without a platform: compared with the others without one.
        event("u5", "2024-03-05 10:00:00", "session_start").with("app_version", "3.0"),
        event("u6", "2024-03-05 10:00:00", "session_start").with("app_version", "2.0")), List.of());
    Row u1 = f.get("u1");
    assertEquals("5.10.0", u1.getAs("app_version"));
    assertEquals("iPhone15", u1.getAs("device_model"));
    assertEquals("17.1", u1.getAs("os_version"), "the most recent event that has a value");
    assertTrue((boolean) u1.getAs("on_latest_app_version"), "5.10.0 is newer than 5.9.0");
    assertFalse((boolean) f.get("u2").getAs("on_latest_app_version"));
    assertTrue((boolean) f.get("u3").getAs("on_latest_app_version"), "latest of android");
    assertTrue((boolean) f.get("u3").getAs("uninstalled"));
    assertFalse((boolean) f.get("u4").getAs("uninstalled"), "came back after uninstalling");
    assertNull(f.get("u4").getAs("on_latest_app_version"));
    assertTrue((boolean) f.get("u5").getAs("on_latest_app_version"), "newest of the users without a platform");
    assertFalse((boolean) f.get("u6").getAs("on_latest_app_version"));
  }

  @Test
  void demographicsComeFromProfilesAndGeographyFallsBackToEvents() {
    Map<String, Row> f = features(List.of(
        event("u1", "2024-03-01 10:00:00", "session_start").with("country", "FR").with("city", "Paris"),
        event("u2", "2024-03-01 10:00:00", "session_start").with("country", "FR").with("city", "Lyon")),
        List.of(profile("u1").with("birth_year", 1990).with("gender", "female").with("country", "DE")
            .with("language", "de").with("income_band", "high")
            .with("interests", scala.jdk.javaapi.CollectionConverters.asScala(List.of("cooking")).toSeq())));
    Row u1 = f.get("u1");
    assertEquals(34, l(u1, "age"));
    assertEquals("female", u1.getAs("gender"));
    assertEquals("DE", u1.getAs("country"), "the profile wins");
    assertEquals("Paris", u1.getAs("city"), "profile has no city: the most recent event's");
    assertEquals(List.of("cooking"), u1.getList(u1.fieldIndex("interests")));
    assertEquals("Lyon", f.get("u2").getAs("city"));
    assertNull(f.get("u2").getAs("age"));
  }

  @Test
  void usersOnlyInProfilesStillGetARow() {
    Map<String, Row> f = features(List.of(event("u1", "2024-03-02 10:00:00", "session_start")),
        List.of(profile("u9").with("install_time", Timestamp.valueOf("2024-03-08 09:00:00")).with("country", "DE")));
    assertEquals(2, f.size());
    Row u9 = f.get("u9");
    assertEquals(0, l(u9, "frequency"));
    assertEquals(2, l(u9, "days_since_install"));
    assertEquals(2, l(u9, "tenure_days"));
    assertEquals("DE", u9.getAs("country"));
    assertEquals(0, l(u9, "sessions_30d"));
    assertNull(u9.getAs("last_seen"));
  }

  @Test
  void inputWithoutContractColumnsIsRejectedWithTheirNames() {
    Dataset<Row> bad = spark.sql("SELECT 'u1' AS user_id");
    Dataset<Row> p = ContractRows.frame(spark, Contract.PROFILES, List.of());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new FeatureBuilder(D, "UTC").apply(bad, p, caches));
    assertTrue(e.getMessage().contains("event_time") && e.getMessage().contains("ContractValidator"), e.getMessage());
  }
}
