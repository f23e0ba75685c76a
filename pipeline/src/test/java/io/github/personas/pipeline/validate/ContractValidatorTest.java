package io.github.personas.pipeline.validate;

import io.github.personas.pipeline.engine.Caches;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.config.ConfigException;
import io.github.personas.pipeline.config.SourceConfig;
import io.github.personas.pipeline.testing.Files;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContractValidatorTest {

  private final Caches caches = new Caches();

  @org.junit.jupiter.api.AfterEach
  void releaseCaches() {
    caches.close();
  }

  private static final LocalDate D = LocalDate.parse("2024-03-10");
  private static final String HEADER = "event_id,user_id,event_time,event_name,order_id,revenue";

  private final SparkSession spark = SparkTestSession.get();

  @TempDir
  Path dir;

  private static SourceConfig csv(Path path, Map<String, String> columns, String filter) {
    return new SourceConfig("events", path.toString(), "csv", Map.of(), filter, columns, "personas.input.events");
  }

  private ValidationResult events(String... rows) {
    String[] lines = new String[rows.length + 1];
    lines[0] = HEADER;
    System.arraycopy(rows, 0, lines, 1, rows.length);
    Path p = Files.write(dir, "events.csv", lines);
    return new ContractValidator(spark, D, caches).events(csv(p, Map.of(), ""));
  }

  /** The single quarantined row's reason, after checking nothing vanished. */
  private static String onlyReason(ValidationResult r) {
    assertTrue(r.counts().reconciles(), "read = accepted + quarantined + duplicates + filtered: " + r.counts());
    List<Row> q = r.quarantine().collectAsList();
    assertEquals(1, q.size(), "one quarantined row expected, got " + q);
    assertTrue(q.get(0).getAs("source_file").toString().endsWith("events.csv"), "source file is recorded");
    assertEquals(1L, r.counts().quarantined());
    return q.get(0).getAs("reason");
  }

  @Test
  void validRowsAreAcceptedWithContractTypes() {
    ValidationResult r = events(
        "e1,u1,2024-03-09 10:00:00,purchase,o1,12.50",
        "e2,u1,2024-03-09T11:00:00Z,session_start,,",
        "e3,u2,1709978400000,Purchase,,3");
    assertEquals(3, r.counts().accepted());
    assertEquals(0, r.counts().quarantined());
    Row first = r.accepted().orderBy("event_id").first();
    assertEquals(12.5, (double) first.getAs("revenue"));
    assertEquals("timestamp", r.accepted().schema().apply("event_time").dataType().typeName());
    Row millis = r.accepted().where("event_id = 'e3'").first();
    assertEquals("2024-03-09 10:00:00.0", millis.getAs("event_time").toString(), "epoch millis are UTC");
    assertEquals("purchase", millis.getAs("event_name"), "event names are lower-cased");
  }

  @Test
  void csvFollowsRfc4180WithQuotedNewlinesDoubledQuotesAndALiteralBackslash() {
    // Spark's CSV defaults escape quotes with a backslash and read one line per record: the
    // newline split e1 in two, e2 kept its quotes doubled, and e3's closing quote was escaped,
    // swallowing the rest of its row.
    ValidationResult r = events(
        "e1,u1,2024-03-09 10:00:00,\"level\nup\",,",
        "e2,u1,2024-03-09 10:00:00,\"say \"\"hi\"\"\",,",
        "e3,u1,2024-03-09 10:00:00,\"C:\\dir\\\",o3,5",
        "e4,u1,2024-03-09 10:00:00,session_start,,");
    assertEquals(4, r.counts().read(), r.counts().toString());
    assertEquals(4, r.counts().accepted(), r.counts().toString());
    Map<String, String> names = new java.util.TreeMap<>();
    r.accepted().collectAsList().forEach(row -> names.put(row.getAs("event_id"), row.getAs("event_name")));
    assertEquals(Map.of("e1", "level\nup", "e2", "say \"hi\"", "e3", "c:\\dir\\", "e4", "session_start"), names);
  }

  @Test
  void csvDefaultsGiveWayToTheSourcesOptions() {
    Path p = Files.write(dir, "events.csv", HEADER, "e1,u1,2024-03-09 10:00:00,\"level\nup\",,");
    SourceConfig oneLinePerRow = new SourceConfig("events", p.toString(), "csv", Map.of("multiLine", "false"), "",
        Map.of(), "personas.input.events");
    assertEquals(2, new ContractValidator(spark, D, caches).events(oneLinePerRow).counts().read(),
        "with multiLine = false a quoted newline ends the row, as the source asked");
  }

  @Test
  void blankUserIdIsQuarantinedAsMissing() {
    assertEquals("missing_user_id", onlyReason(events("e1,u1,2024-03-09 10:00:00,session_start,,", "e2,  ,2024-03-09 10:00:00,session_start,,")));
  }

  @Test
  void emptyEventTimeIsQuarantinedAsMissing() {
    assertEquals("missing_event_time", onlyReason(events("e1,u1,,session_start,,")));
  }

  @Test
  void textThatIsNoTimestampIsQuarantinedAsUnparseable() {
    ValidationResult r = events("e1,u1,yesterday,session_start,,", "e2,u1,2024-03-09 10:00:00,session_start,,");
    assertEquals("unparseable_event_time", onlyReason(r));
    assertEquals("event_time=yesterday", r.quarantine().first().getAs("detail"));
  }

  @Test
  void missingEventNameIsQuarantined() {
    assertEquals("missing_event_name", onlyReason(events("e1,u1,2024-03-09 10:00:00,,,")));
  }

  @Test
  void revenueThatIsNoNumberIsQuarantinedAsInvalid() {
    ValidationResult r = events("e1,u1,2024-03-09 10:00:00,purchase,o1,\"12,50€\"");
    assertEquals("invalid_revenue", onlyReason(r));
    assertEquals("revenue=12,50€", r.quarantine().first().getAs("detail"));
  }

  @Test
  void nanAndInfiniteRevenueAreQuarantined() {
    ValidationResult r = events("e1,u1,2024-03-09 10:00:00,purchase,o1,NaN", "e2,u1,2024-03-09 10:00:00,purchase,o2,Infinity",
        "e3,u1,2024-03-09 10:00:00,purchase,o3,-Infinity");
    assertTrue(r.counts().reconciles());
    assertEquals(Map.of("non_finite_revenue", 3L), r.counts().byReason());
  }

  @Test
  void purchaseWithoutRevenueIsQuarantined() {
    assertEquals("purchase_without_revenue", onlyReason(events("e1,u1,2024-03-09 10:00:00,purchase,o1,")));
  }

  @Test
  void eventsAfterTheEndOfTheRunDateAreQuarantinedAndTheLastSecondIsKept() {
    ValidationResult r = events("e1,u1,2024-03-10 23:59:59,session_start,,", "e2,u1,2024-03-11 00:00:00,session_start,,");
    assertEquals(ContractValidator.EVENT_AFTER_RUN_DATE, onlyReason(r));
    assertEquals(1, r.counts().accepted());
  }

  /** A source of every day (holds_later_days), or a day's own file ({@code ${date}} resolved). */
  private static SourceConfig holdingLaterDays(Path path, boolean datedPath) {
    return new SourceConfig("events", path.toString(), "csv", Map.of(), "", Map.of(), "personas.input.events", Map.of(),
        datedPath, true);
  }

  @Test
  void rowsAfterTheRunDateInASourceHoldingLaterDaysAreSkippedAndCountedNotQuarantined() {
    Path p = Files.write(dir, "all-days/events.csv", HEADER, "e1,u1,2024-03-10 23:59:59,session_start,,",
        "e2,u1,2024-03-11 00:00:00,session_start,,", "e3,u2,2024-03-12 10:00:00,purchase,o1,5",
        // A later day's broken row is that day's run's to quarantine, not this one's.
        "e4,,2024-03-12 10:00:00,session_start,,",
        // The same event delivered again on a later day does not displace the accepted copy.
        "e1,u1,2024-03-11 08:00:00,session_start,,");
    ValidationResult r = new ContractValidator(spark, D, caches).events(holdingLaterDays(p, false));
    SourceCounts c = r.counts();
    assertTrue(c.reconciles(), c.toString());
    assertEquals(5, c.read());
    assertEquals(4, c.laterDays());
    assertEquals(1, c.accepted());
    assertEquals(0, c.quarantined(), "later days are not quarantined: " + c);
    assertEquals(0, c.duplicates());
    assertEquals(0, r.quarantine().count());
    assertEquals(1, c.inScope(), "the gates' shares are of the run date's rows");
  }

  @Test
  void aRowAfterTheRunDateInAFileOfAKnownDayIsStillAClockProblemWhenTheSourceHoldsLaterDays() {
    // dt= partitions: the later partition is not read at all; a row after D inside the run date's
    // partition has a clock ahead.
    Files.write(dir, "parts/dt=2024-03-10/a.csv", HEADER, "e1,u1,2024-03-10 10:00:00,session_start,,",
        "e2,u1,2024-03-11 09:00:00,session_start,,");
    Files.write(dir, "parts/dt=2024-03-11/a.csv", HEADER, "e3,u1,2024-03-11 10:00:00,session_start,,");
    ValidationResult parts = new ContractValidator(spark, D, caches).events(holdingLaterDays(dir.resolve("parts"), false));
    assertEquals(2, parts.counts().read(), parts.counts().toString());
    assertEquals(0, parts.counts().laterDays());
    assertEquals(Map.of(ContractValidator.EVENT_AFTER_RUN_DATE, 1L), parts.counts().byReason());

    // A ${date} path: every row is the run date's file's.
    Path day = Files.write(dir, "day/events.csv", HEADER, "e1,u1,2024-03-10 10:00:00,session_start,,",
        "e2,u1,2024-03-11 09:00:00,session_start,,");
    ValidationResult dated = new ContractValidator(spark, D, caches).events(holdingLaterDays(day, true));
    assertEquals(0, dated.counts().laterDays());
    assertEquals(ContractValidator.EVENT_AFTER_RUN_DATE, onlyReason(dated));
  }

  @Test
  void repeatedEventIdsAreDroppedAndCounted() {
    ValidationResult r = events("e1,u1,2024-03-09 10:00:00,session_start,,", "e1,u1,2024-03-09 10:00:00,session_start,,",
        "e1,u1,2024-03-09 10:00:00,session_start,,", ",u1,2024-03-09 10:00:00,session_start,,",
        ",u1,2024-03-09 10:00:00,session_start,,");
    assertEquals(5, r.counts().read());
    assertEquals(2, r.counts().duplicates());
    assertEquals(3, r.counts().accepted(), "rows without an event_id are never duplicates");
    assertTrue(r.counts().reconciles());
  }

  @Test
  void missingRequiredColumnIsAConfigErrorNamingColumnAndKey() {
    Path p = Files.write(dir, "events.csv", "user_id,event_name", "u1,purchase");
    ConfigException e = assertThrows(ConfigException.class,
        () -> new ContractValidator(spark, D, caches).events(csv(p, Map.of(), "")));
    assertTrue(e.getMessage().contains("'event_time'"), e.getMessage());
    assertTrue(e.getMessage().contains("personas.input.events.columns.event_time"), e.getMessage());
  }

  @Test
  void missingPathIsAConfigErrorNamingPathAndKey() {
    SourceConfig s = csv(dir.resolve("nope.csv"), Map.of(), "");
    ConfigException e = assertThrows(ConfigException.class, () -> new ContractValidator(spark, D, caches).events(s));
    assertTrue(e.getMessage().contains("nope.csv") && e.getMessage().contains("personas.input.events.path"), e.getMessage());
  }

  @Test
  void mappingOverAMissingSourceColumnIsAConfigErrorNamingTheKey() {
    Path p = Files.write(dir, "events.csv", HEADER, "e1,u1,2024-03-09 10:00:00,purchase,o1,1");
    ConfigException e = assertThrows(ConfigException.class, () -> new ContractValidator(spark, D, caches)
        .events(csv(p, Map.of("revenue", "Quantity * UnitPrice"), "")));
    assertTrue(e.getMessage().contains("personas.input.events.columns.revenue"), e.getMessage());
  }

  @Test
  void parquetFilesWithDifferentColumnsInOneFolderKeepEveryFilesValues() throws Exception {
    // One file has no revenue column, the other has it and one more: Spark took one file's schema
    // and silently dropped the other's revenue. The schemas are merged instead.
    Path folder = dir.resolve("pq");
    java.nio.file.Files.createDirectories(folder);
    Dataset<Row> a = spark.sql("SELECT 'e1' AS event_id, 'u1' AS user_id, TIMESTAMP'2024-03-09 10:00:00' AS event_time,"
        + " 'session_start' AS event_name");
    Dataset<Row> b = spark.sql("SELECT 'e2' AS event_id, 'u2' AS user_id, TIMESTAMP'2024-03-09 11:00:00' AS event_time,"
        + " 'purchase' AS event_name, 'o2' AS order_id, 12.5D AS revenue, 'web' AS channel");
    int i = 0;
    for (Dataset<Row> d : List.of(a, b)) {
      Path tmp = dir.resolve("pq-tmp-" + i);
      d.coalesce(1).write().parquet(tmp.toString());
      try (java.util.stream.Stream<Path> parts = java.nio.file.Files.list(tmp)) {
        Path part = parts.filter(f -> f.getFileName().toString().endsWith(".parquet")).findFirst().orElseThrow();
        java.nio.file.Files.move(part, folder.resolve((i == 0 ? "a" : "b") + ".parquet"));
      }
      i++;
    }
    SourceConfig s = new SourceConfig("events", folder.toString(), "parquet", Map.of(), "", Map.of(),
        "personas.input.events");
    ValidationResult r = new ContractValidator(spark, D, caches).events(s);
    assertEquals(2, r.counts().accepted(), r.counts().toString());
    Row purchase = r.accepted().where("event_id = 'e2'").first();
    assertEquals(12.5, (double) purchase.getAs("revenue"), "b.parquet's revenue is kept");
    assertEquals("o2", purchase.getAs("order_id"));
  }

  @Test
  void mappingToAColumnOutsideTheContractIsAConfigError() {
    Path p = Files.write(dir, "events.csv", HEADER, "e1,u1,2024-03-09 10:00:00,purchase,o1,1");
    ConfigException e = assertThrows(ConfigException.class, () -> new ContractValidator(spark, D, caches)
        .events(csv(p, Map.of("usr_id", "user_id"), "")));
    assertTrue(e.getMessage().contains("columns.usr_id") && e.getMessage().contains("not a column"), e.getMessage());
  }

  @Test
  void mappedExportWithFilterIsReadFromGzipCsv() {
    Path p = Files.writeGzip(dir, "retail.csv.gz", "InvoiceNo,Quantity,UnitPrice,CustomerID,InvoiceDate",
        "536365,6,2.55,17850,2010-12-01 08:26:00", "C536379,-1,27.50,14527,2010-12-01 09:41:00",
        "536366,2,1.85,,2010-12-01 08:28:00", "TOTAL,,,,");
    Map<String, String> cols = Map.of(
        "user_id", "CustomerID",
        "event_time", "InvoiceDate",
        "event_name", "CASE WHEN InvoiceNo LIKE 'C%' THEN 'refund' ELSE 'purchase' END",
        "order_id", "InvoiceNo",
        "revenue", "abs(try_cast(Quantity AS DOUBLE) * try_cast(UnitPrice AS DOUBLE))");
    ValidationResult r = new ContractValidator(spark, LocalDate.parse("2010-12-01"), caches)
        .events(csv(p, cols, "InvoiceNo <> 'TOTAL'"));
    assertEquals(4, r.counts().read());
    assertEquals(1, r.counts().filtered());
    assertEquals(2, r.counts().accepted());
    assertEquals(Map.of("missing_user_id", 1L), r.counts().byReason());
    assertTrue(r.counts().reconciles());
    Row refund = r.accepted().where("event_name = 'refund'").first();
    assertEquals(27.5, (double) refund.getAs("revenue"), 1e-9);
  }

  @Test
  void hivePartitionedJsonLinesSkipLaterPartitions() {
    Files.write(dir, "ev/dt=2024-03-09/part.json", "{\"user_id\":\"u1\",\"event_time\":\"2024-03-09T10:00:00Z\",\"event_name\":\"session_start\"}");
    Files.write(dir, "ev/dt=2024-03-10/part.json", "{\"user_id\":\"u1\",\"event_time\":\"2024-03-10T10:00:00Z\",\"event_name\":\"session_start\"}");
    Files.write(dir, "ev/dt=2024-03-11/part.json", "{\"user_id\":\"u1\",\"event_time\":\"2024-03-11T10:00:00Z\",\"event_name\":\"session_start\"}");
    SourceConfig s = new SourceConfig("events", dir.resolve("ev").toString(), "json", Map.of(), "", Map.of(), "personas.input.events");
    ValidationResult r = new ContractValidator(spark, D, caches).events(s);
    assertEquals(2, r.counts().read(), "dt=2024-03-11 belongs to a later run");
    assertEquals(2, r.counts().accepted());
  }

  private static String jsonEvent(String user, String extra) {
    return "{\"user_id\":\"" + user + "\",\"event_time\":\"2024-03-09 10:00:00\",\"event_name\":\"session_start\"" + extra + "}";
  }

  private static SourceConfig json(Path path, String filter, Map<String, String> columns, Map<String, String> personal) {
    return new SourceConfig("events", path.toString(), "json", Map.of(), filter, columns, "personas.input.events",
        personal);
  }

  @Test
  void jsonLinesAreValidAsSparkReadsThemAndKeysRepeatedAtAnyDepthAreQuarantined() {
    Path p = Files.write(dir, "nested/events.json",
        "{'user_id':'u1','event_time':'2024-03-09 10:00:00','event_name':'session_start','revenue':NaN}",
        jsonEvent("u2", ",\"props\":{\"items\":[{\"sku\":1,\"sku\":2}]}"),
        jsonEvent("u3", ",\"props\":{\"Color\":\"red\",\"color\":\"blue\"}"),
        jsonEvent("u4", ",\"props\":{\"items\":[{\"sku\":3}]}"));
    ValidationResult r = new ContractValidator(spark, D, caches).events(json(p, "", Map.of(), Map.of()));
    assertTrue(r.counts().reconciles(), r.counts().toString());
    // Spark reads single quotes and NaN by default: the first line is an event (its NaN revenue is not).
    assertEquals(Map.of("non_finite_revenue", 1L, "duplicate_json_key", 1L, "ambiguous_json_key", 1L),
        r.counts().byReason());
    Map<String, String> details = new java.util.TreeMap<>();
    r.quarantine().collectAsList().forEach(q -> details.put(q.getAs("reason"), q.getAs("detail")));
    assertEquals("key 'sku' appears twice in object /props/items/0", details.get("duplicate_json_key"));
    assertEquals("keys 'Color' and 'color' in object /props differ only in case", details.get("ambiguous_json_key"));
    assertEquals(1, r.counts().accepted());
  }

  @Test
  void ofTwoSpellingsOfATopLevelKeyTheOneMostLinesUseIsReadAndTheOthersQuarantined() {
    String upper = "{\"USER_ID\":\"%s\",\"event_time\":\"2024-03-09 10:00:00\",\"event_name\":\"session_start\"}";
    Path p = Files.write(dir, "spellings/events.json", String.format(upper, "u1"), String.format(upper, "u2"),
        jsonEvent("u3", ""));
    ValidationResult r = new ContractValidator(spark, D, caches)
        .events(json(p, "", Map.of("user_id", "USER_ID"), Map.of()));
    assertEquals(2, r.counts().accepted(), r.counts().toString());
    Row q = r.quarantine().first();
    assertEquals("ambiguous_json_key", q.getAs("reason"));
    assertEquals("key 'user_id' differs only in case from 'USER_ID', which more lines of the source use",
        q.getAs("detail"));
  }

  @Test
  void aBadJsonLineIsQuarantinedEvenWhereTheFilterWouldLeaveItsRowOut() {
    Path p = Files.write(dir, "filtered/events.json", jsonEvent("u1", ",\"env\":\"prod\""),
        jsonEvent("u2", ",\"env\":\"test\""), "{\"user_id\":\"u3\",\"env\":\"pr");
    ValidationResult r = new ContractValidator(spark, D, caches).events(json(p, "env = 'prod'", Map.of(), Map.of()));
    assertEquals(1, r.counts().filtered(), r.counts().toString());
    assertEquals(Map.of("malformed_json", 1L), r.counts().byReason());
    assertEquals("{\"user_id\":\"u3\",\"env\":\"pr", r.quarantine().first().getAs("raw"), "its text is its raw row");
  }

  @Test
  void theTextOfABadJsonLineIsKeptOutOfTheQuarantineWhenTheSourceHasPersonalColumns() {
    Path p = Files.write(dir, "personal/events.json", jsonEvent("u1", ",\"email\":\"a@example.com\""),
        "{\"user_id\":\"u2\",\"email\":\"secret@example.com\",\"email\":\"x\"}");
    ValidationResult r = new ContractValidator(spark, D, caches)
        .events(json(p, "", Map.of(), Map.of("email", "drop")));
    Row q = r.quarantine().first();
    assertEquals("duplicate_json_key", q.getAs("reason"));
    assertTrue(!q.<String>getAs("raw").contains("secret"), "raw: " + q);
    assertTrue(q.<String>getAs("detail").contains("not kept in raw"), "the detail says why: " + q);
  }

  @Test
  void epochSecondsAsNumbersAndEventsBeforeAConfiguredEarliestDateGetReasonsOfTheirOwn() {
    Path p = Files.write(dir, "dates/events.json",
        "{\"user_id\":\"u1\",\"event_time\":1709978400000,\"event_name\":\"session_start\"}",
        "{\"user_id\":\"u2\",\"event_time\":1709978400,\"event_name\":\"session_start\"}",
        "{\"user_id\":\"u3\",\"event_time\":\"2023-12-31T23:00:00Z\",\"event_name\":\"session_start\"}");
    ValidationResult r = new ContractValidator(spark, D, io.github.personas.pipeline.config.PersonasConfig.Privacy.NONE,
        1e12, LocalDate.parse("2024-01-01"), caches).events(json(p, "", Map.of(), Map.of()));
    assertEquals(Map.of("epoch_seconds_not_millis", 1L, "event_before_earliest_date", 1L), r.counts().byReason());
    Map<String, String> details = new java.util.TreeMap<>();
    r.quarantine().collectAsList().forEach(q -> details.put(q.getAs("reason"), q.getAs("detail")));
    assertTrue(details.get("epoch_seconds_not_millis").startsWith("event_time=1709978400 is 1970-01-20")
        && details.get("epoch_seconds_not_millis").contains("as seconds it is 2024-03-09 10:00:00"), details.toString());
    assertEquals("event_time=2023-12-31T23:00:00Z is before personas.quality.earliest_event_date 2024-01-01",
        details.get("event_before_earliest_date"));
  }

  @Test
  void anEarliestEventDateAfterTheRunDateIsAnErrorNamingTheKey() {
    ConfigException e = assertThrows(ConfigException.class, () -> new ContractValidator(spark, D,
        io.github.personas.pipeline.config.PersonasConfig.Privacy.NONE, 1e12, LocalDate.parse("2024-03-11"), caches));
    assertTrue(e.getMessage().contains("personas.quality.earliest_event_date 2024-03-11 is after the run date 2024-03-10"),
        e.getMessage());
  }

  @Test
  void profilesWithBadTypesAreQuarantinedAndRepeatedUsersCountedAsDuplicates() {
    Path p = Files.write(dir, "profiles.csv", "user_id,birth_year,push_opt_in,interests,install_time",
        "u1,1990,true,cooking|travel,2024-01-01 00:00:00", "u1,1990,true,,2024-02-01 00:00:00",
        "u2,nineteen,false,,", "u3,1985,maybe,,", ",1980,true,,");
    SourceConfig s = new SourceConfig("profiles", p.toString(), "csv", Map.of(), "", Map.of(), "personas.input.profiles");
    ValidationResult r = new ContractValidator(spark, D, caches).profiles(s);
    assertTrue(r.counts().reconciles(), r.counts().toString());
    assertEquals(Map.of("invalid_birth_year", 1L, "invalid_push_opt_in", 1L, "missing_user_id", 1L), r.counts().byReason());
    assertEquals(1, r.counts().duplicates());
    Row u1 = r.accepted().first();
    assertEquals("2024-01-01 00:00:00.0", u1.getAs("install_time").toString(), "the earliest install is kept");
    assertEquals(List.of("cooking", "travel"), u1.getList(u1.fieldIndex("interests")));
  }
}
