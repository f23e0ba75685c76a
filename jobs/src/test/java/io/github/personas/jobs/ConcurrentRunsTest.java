package io.github.personas.jobs;

import static io.github.personas.jobs.CliTesting.cli;
import static io.github.personas.jobs.CliTesting.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two runs of one date into one output started at once, as two scheduler tasks would: one
 * publishes, the other is refused with a message naming the first, and the date is the first
 * run's whole.
 */
class ConcurrentRunsTest {

  @TempDir
  Path dir;

  private static List<String> names(Path folder) throws Exception {
    if (!Files.isDirectory(folder)) {
      return List.of();
    }
    try (Stream<Path> files = Files.list(folder)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void ofTwoRunsOfOneDateStartedAtOnceOnePublishesAndTheOtherIsRefusedNamingIt() throws Exception {
    SparkTestSession.get();
    String gen = dir.resolve("gen").toString();
    assertEquals(0, cli("generate", "--users", "300", "--days", "30", "--end-date", "2024-03-10", "--seed", "5",
        "--out", gen));
    Path out = dir.resolve("out");
    String[] run = {"run", "--config", CliTesting.fewKConfig(dir).toString(), "--events", gen + "/events",
        "--profiles", gen + "/profiles", "--date", "2024-03-10", "--output", out.toString()};
    List<Process> runs = new ArrayList<>();
    for (String name : List.of("a", "b")) {
      runs.add(CliTesting.startChild(List.of("-Xmx1g"), dir.resolve(name + ".log"), run));
    }
    List<Integer> codes = new ArrayList<>();
    for (Process p : runs) {
      assertTrue(p.waitFor(300, TimeUnit.SECONDS), "run ended");
      codes.add(p.exitValue());
    }
    assertEquals(List.of(0, 2), codes.stream().sorted().toList(), "one run published, the other was refused: " + codes);
    int winner = codes.indexOf(0);
    String refused = Files.readString(dir.resolve((winner == 0 ? "b" : "a") + ".log"));
    long winnerPid = runs.get(winner).pid();
    assertTrue(refused.contains("personas: Another run of 2024-03-10 into " + out + " is in progress: run ")
        && refused.contains(", pid " + winnerPid + ", started "), "names the run holding the date: " + refused);

    // The published date is one run's whole: every table the summary names holds the rows it counts.
    JsonNode summary = new ObjectMapper().readTree(out.resolve("runs/dt=2024-03-10/summary.json").toFile());
    assertEquals("succeeded", summary.get("status").asText());
    Map<String, Long> counted = new TreeMap<>();
    Map<String, Long> present = new TreeMap<>();
    summary.get("table_rows").fields().forEachRemaining(e -> counted.put(e.getKey(), e.getValue().asLong()));
    for (String table : counted.keySet()) {
      Path partition = out.resolve(table).resolve("dt=2024-03-10");
      assertTrue(Files.exists(partition.resolve("_SUCCESS")), table + " is published");
      present.put(table, count("SELECT count(*) FROM read_parquet('" + partition + "/*.parquet')"));
    }
    assertEquals(counted, present, "the summary's row counts are the published tables'");
    assertEquals(List.of(), names(out.resolve("_staging")), "no staging left");
    assertEquals(List.of(), names(out.resolve("_locks")), "the lock is released");
  }
}
