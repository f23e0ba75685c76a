package io.github.personas.jobs;

import static io.github.personas.jobs.CliTesting.cli;
import static io.github.personas.jobs.CliTesting.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Logger;
import org.apache.logging.log4j.core.appender.WriterAppender;
import org.apache.logging.log4j.core.config.Configurator;
import org.apache.logging.log4j.core.layout.PatternLayout;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code personas forget}: users published on two dates, in features, segments and quarantined
 * raw rows, are gone from every output file afterwards, the log never names them, and the
 * receipt counts what was removed.
 */
class ForgetTest {

  private static final List<String> FORGOTTEN = List.of("u0000007", "u0000123", "u0000250");

  @TempDir
  Path dir;

  /** Rows naming a forgotten user in every Parquet file under {@code out}, by table and date. */
  private static Map<String, Long> rowsNamingThem(Path out) throws Exception {
    Map<String, Long> rows = new TreeMap<>();
    List<Path> files;
    try (Stream<Path> all = Files.walk(out)) {
      files = all.filter(p -> p.toString().endsWith(".parquet")).toList();
    }
    for (Path file : files) {
      String key = out.relativize(file.getParent()).toString();
      // Every column of every row as text, as a search over the whole file would see it.
      long n = count("SELECT count(*) FROM read_parquet('" + file + "') t WHERE "
          + FORGOTTEN.stream().map(id -> "contains(CAST(t AS VARCHAR), '" + id + "')")
              .reduce((a, b) -> a + " OR " + b).orElseThrow());
      rows.merge(key, n, Long::sum);
    }
    rows.values().removeIf(n -> n == 0);
    return rows;
  }

  /** Text files (summaries, reports, receipts, model metadata) under {@code out} that name a forgotten user. */
  private static List<String> textNamingThem(Path out) throws Exception {
    List<String> found = new ArrayList<>();
    try (Stream<Path> all = Files.walk(out)) {
      for (Path p : all.filter(Files::isRegularFile).filter(p -> !p.toString().endsWith(".parquet")).toList()) {
        String text = new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1);
        FORGOTTEN.stream().filter(text::contains).forEach(id -> found.add(out.relativize(p) + " names " + id));
      }
    }
    return found;
  }

  private static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void forgottenUsersLeaveNoTraceInAnyOutputFileNorTheLogAndTheReceiptCountsWhatWasRemoved() throws Exception {
    SparkSession spark = SparkTestSession.get();
    Path gen = dir.resolve("gen");
    assertEquals(0, cli("generate", "--users", "300", "--days", "30", "--end-date", "2024-03-10", "--seed", "3",
        "--out", gen.toString()));
    // Plant rows of the users that the contract rejects, so their raw rows are in the quarantine too.
    Dataset<Row> events = spark.read().parquet(gen.resolve("events").toString());
    events.where(functions.col("user_id").isin(FORGOTTEN.toArray())).limit(6)
        .withColumn("event_time", functions.lit(null).cast("timestamp"))
        .write().mode(SaveMode.Append).parquet(gen.resolve("events").toString());
    Path out = dir.resolve("out");
    // The folder holds both days: the first run reads a day after its date on purpose.
    String conf = Files.writeString(dir.resolve("forget.conf"), Files.readString(CliTesting.fewKConfig(dir))
        + "personas.quality.max_future_share = 1\n").toString();
    for (String date : List.of("2024-03-09", "2024-03-10")) {
      assertEquals(0, cli("run", "--config", conf, "--events", gen + "/events", "--profiles", gen + "/profiles",
          "--date", date, "--output", out.toString()));
    }
    Map<String, Long> before = rowsNamingThem(out);
    for (String table : List.of("features", "segments", "quarantine")) {
      for (String date : List.of("2024-03-09", "2024-03-10")) {
        assertTrue(before.getOrDefault(table + "/dt=" + date, 0L) > 0, table + " " + date + " names them: " + before);
      }
    }
    long segmentsBefore = count("SELECT count(*) FROM read_parquet('" + out + "/segments/*/*.parquet')");

    // The request file as people send them: one id per line, with stray spaces, one id twice.
    Path request = Files.writeString(dir.resolve("requests.txt"),
        " u0000007\nu0000123\t\nu0000250\nu0000007\nu9999999\n");
    StringWriter log = new StringWriter();
    Logger root = (Logger) LogManager.getRootLogger();
    WriterAppender capture = WriterAppender.newBuilder().setName("forget-log").setTarget(log)
        .setLayout(PatternLayout.createDefaultLayout()).build();
    capture.start();
    root.addAppender(capture);
    Level level = LogManager.getLogger("io.github.personas").getLevel();
    Configurator.setLevel("io.github.personas", Level.INFO);
    CliTesting.Result forgot;
    try {
      forgot = CliTesting.call("forget", "--users", request.toString(), "--output", out.toString());
    } finally {
      root.removeAppender(capture);
      Configurator.setLevel("io.github.personas", level);
    }
    assertEquals(0, forgot.code(), forgot.err());
    assertTrue(log.toString().contains("Forget: removed"), "the forget logged its progress: " + log);
    for (String id : FORGOTTEN) {
      assertFalse(log.toString().contains(id) || forgot.out().contains(id) || forgot.err().contains(id),
          id + " in the log or output");
    }

    assertEquals(Map.of(), rowsNamingThem(out), "no Parquet row names them");
    assertEquals(List.of(), textNamingThem(out), "no other file names them");
    assertEquals(segmentsBefore - before.get("segments/dt=2024-03-09") - before.get("segments/dt=2024-03-10"),
        count("SELECT count(*) FROM read_parquet('" + out + "/segments/*/*.parquet')"), "everyone else stays");

    Path receipt;
    try (Stream<Path> receipts = Files.list(out.resolve("runs/erasures"))) {
      receipt = receipts.filter(p -> p.toString().endsWith(".json")).findFirst().orElseThrow();
    }
    assertTrue(forgot.out().contains("receipt: " + receipt), forgot.out());
    JsonNode r = new ObjectMapper().readTree(receipt.toFile());
    assertEquals(4, r.get("listed_ids").asLong(), "four distinct ids, one of them nobody's");
    Map<String, Long> removed = new TreeMap<>();
    r.get("removed").forEach(e -> removed.put(e.get("table").asText() + "/dt=" + e.get("dt").asText(),
        e.get("rows_removed").asLong()));
    assertEquals(before, removed, "the receipt counts exactly the rows that named them");
    assertEquals(before.values().stream().mapToLong(Long::longValue).sum(), r.get("rows_removed").asLong());
    List<String> hashes = new ArrayList<>();
    r.get("id_hashes").forEach(h -> hashes.add(h.asText()));
    List<String> expected = new ArrayList<>();
    String salt = r.get("receipt_salt").asText();
    for (String id : List.of("u0000007", "u0000123", "u0000250", "u9999999")) {
      expected.add(sha256(salt + id));
    }
    assertEquals(expected.stream().sorted().toList(), hashes, "the ids, hashed with the receipt's own salt");
    assertEquals("complete", r.get("status").asText());
    for (String left : List.of("_staging", "_trash", "_locks")) {
      try (Stream<Path> files = Files.list(out.resolve(left))) {
        assertEquals(List.of(), files.toList(), left + " is empty");
      }
    }
    assertTrue(Files.exists(out.resolve("segments/dt=2024-03-10/_SUCCESS")), "republished with its marker");
  }
}
