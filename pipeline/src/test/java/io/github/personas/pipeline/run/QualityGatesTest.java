package io.github.personas.pipeline.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.validate.SourceCounts;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class QualityGatesTest {

  private static final PersonasConfig.Quality LIMITS = new PersonasConfig.Quality(0.10, 0.05, 100, 10, 0.2);
  private final QualityGates gates = new QualityGates(LIMITS);

  private static SourceCounts events(long read, long accepted, Map<String, Long> reasons) {
    long quarantined = reasons.values().stream().mapToLong(Long::longValue).sum();
    return new SourceCounts("events", read, 0, accepted, quarantined, read - accepted - quarantined, reasons);
  }

  private static Map<String, QualityGates.Status> statuses(List<QualityGates.Result> results) {
    return results.stream().collect(Collectors.toMap(QualityGates.Result::gate, QualityGates.Result::status));
  }

  @Test
  void cleanInputPassesEveryGate() {
    List<QualityGates.Result> r = gates.onEvents(events(1000, 1000, Map.of()), "in/events");
    assertEquals(Map.of(QualityGates.MAX_QUARANTINE_SHARE, QualityGates.Status.PASSED,
        QualityGates.MAX_FUTURE_SHARE, QualityGates.Status.PASSED,
        QualityGates.MIN_ACCEPTED_EVENTS, QualityGates.Status.PASSED), statuses(r));
    assertEquals(QualityGates.Status.PASSED, gates.onUsers(100).status());
  }

  @Test
  void rowsAfterTheRunDateCountForTheFutureGateNotTheQuarantineGate() {
    // 60 of 1000 rows are after the run date: 6 % > 5 %; 50 invalid rows: 5 % of 10 % passes.
    List<QualityGates.Result> r = gates.onEvents(events(1000, 890,
        Map.of("event_after_run_date", 60L, "invalid_revenue", 50L)), "in/events");
    QualityGates.Result future = r.get(1);
    assertEquals(QualityGates.MAX_FUTURE_SHARE, future.gate());
    assertEquals(QualityGates.Status.FAILED, future.status());
    assertEquals(0.06, future.measured(), 1e-12);
    assertTrue(future.message().contains("personas.quality.max_future_share failed: 6.00%")
        && future.message().contains("limit 5.00%"), future.message());
    assertEquals(QualityGates.Status.PASSED, r.get(0).status());
    assertEquals(0.05, r.get(0).measured(), 1e-12);
  }

  @Test
  void aValueWithinTheMarginOfItsLimitIsANearMiss() {
    // 9 % invalid against 10 % (warns above 8 %); 110 events against at least 100 (warns below 120).
    List<QualityGates.Result> r = gates.onEvents(events(121, 110, Map.of("missing_user_id", 11L)), "in/events");
    assertEquals(QualityGates.Status.WARNING, r.get(0).status(), r.get(0).message());
    assertTrue(r.get(0).message().contains("nearly failed: 9.09%"), r.get(0).message());
    assertEquals(QualityGates.Status.WARNING, r.get(2).status());
    assertEquals(QualityGates.Status.WARNING, gates.onUsers(11).status());
    assertEquals(QualityGates.Status.PASSED, gates.onUsers(12).status());
  }

  @Test
  void exceedingALimitFailsNamingGateValueAndLimit() {
    List<QualityGates.Result> r = gates.onEvents(events(4, 1, Map.of("missing_user_id", 3L)), "in/events");
    assertEquals(QualityGates.Status.FAILED, r.get(0).status());
    assertEquals(QualityGates.Status.FAILED, r.get(2).status());
    assertTrue(r.get(2).message().contains("min_accepted_events failed: 1 events accepted of 4 read from in/events"
        + " (at least 100 needed)"), r.get(2).message());
    QualityGates.Result users = gates.onUsers(9);
    assertEquals(QualityGates.Status.FAILED, users.status());
    assertEquals(Map.of("gate", "personas.quality.min_users", "bound", "min", "limit", 10.0, "measured", 9.0,
        "status", "failed"), users.toMap());
  }

  @Test
  void emptyInputFailsTheAcceptedEventsGateButNoShareGate() {
    List<QualityGates.Result> r = new QualityGates(new PersonasConfig.Quality(0.5, 0.05, 1, 1, 0.2))
        .onEvents(events(0, 0, Map.of()), "in/events");
    assertEquals(List.of(QualityGates.Status.PASSED, QualityGates.Status.PASSED, QualityGates.Status.FAILED),
        r.stream().map(QualityGates.Result::status).toList());
  }

  @Test
  void laterDaysASourceHoldsOnPurposeAreLeftOutOfEveryShare() {
    // 1,000 rows read of which 900 are later days: 10 invalid and 6 future rows are 10 % and 6 %
    // of the run date's 100 rows, not 1 % and 0.6 % of everything read.
    SourceCounts c = new SourceCounts("events", 1000, 0, 84, 16, 0,
        Map.of("event_after_run_date", 6L, "invalid_revenue", 10L), 0, 900);
    assertTrue(c.reconciles(), c.toString());
    List<QualityGates.Result> r = gates.onEvents(c, "in/events");
    assertEquals(0.10, r.get(0).measured(), 1e-12);
    assertEquals(0.06, r.get(1).measured(), 1e-12);
    assertEquals(QualityGates.Status.FAILED, r.get(1).status());
    assertTrue(r.get(1).message().contains("of 100 event rows (900 of later days aside)"), r.get(1).message());
    assertTrue(r.get(1).message().contains("holds_later_days"), "the message names the setting: " + r.get(1).message());
  }
}
