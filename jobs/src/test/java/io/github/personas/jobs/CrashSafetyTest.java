package io.github.personas.jobs;

import static io.github.personas.jobs.CliTesting.cli;
import static io.github.personas.jobs.CliTesting.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run killed with SIGKILL in the middle of writing leaves the published outputs as they were,
 * and a rerun of the same date completes and equals an uninterrupted run; reruns replace only
 * their own date.
 */
class CrashSafetyTest {

  @TempDir
  Path dir;

  private static String parquet(Path p) {
    return "read_parquet('" + p + "/*.parquet')";
  }

  /** Rows in one partition and not the other, both ways. */
  private static long difference(Path a, Path b) throws Exception {
    String cols = "user_id, r_score, f_score, m_score, rfm_segment, lifecycle_stage, persona_id, persona_name, holdout";
    return count("SELECT count(*) FROM ((SELECT " + cols + " FROM " + parquet(a) + " EXCEPT SELECT " + cols + " FROM "
        + parquet(b) + ") UNION ALL (SELECT " + cols + " FROM " + parquet(b) + " EXCEPT SELECT " + cols + " FROM "
        + parquet(a) + "))");
  }

  private static void copy(Path from, Path to) throws Exception {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : files.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
  }

  /** File names and modification times in a folder. */
  private static List<String> files(Path folder) throws Exception {
    try (Stream<Path> files = Files.list(folder)) {
      List<String> out = new ArrayList<>();
      for (Path p : files.sorted().toList()) {
        out.add(p.getFileName() + "@" + Files.getLastModifiedTime(p).toMillis());
      }
      return out;
    }
  }

  @Test
  void aRunKilledWhileWritingLeavesPublishedOutputsIntactAndARerunCompletes() throws Exception {
    SparkTestSession.get();
    String gen = dir.resolve("gen").toString();
    assertEquals(0, cli("generate", "--users", "300", "--days", "30", "--end-date", "2024-03-10", "--seed", "11",
        "--out", gen));
    Path out = dir.resolve("out");
    String conf = CliTesting.fewKConfig(dir).toString();
    String[] day1 = {"run", "--config", conf, "--events", gen + "/events", "--profiles", gen + "/profiles", "--date", "2024-03-09",
        "--output", out.toString()};
    String[] day2 = {"run", "--config", conf, "--events", gen + "/events", "--profiles", gen + "/profiles", "--date", "2024-03-10",
        "--output", out.toString()};
    assertEquals(0, cli(day1));
    assertEquals(0, cli(day2));
    Path segments1 = out.resolve("segments/dt=2024-03-09");
    Path segments2 = out.resolve("segments/dt=2024-03-10");
    Path baseline = dir.resolve("baseline-segments");
    copy(segments2, baseline);
    long day1Modified = Files.getLastModifiedTime(segments1).toMillis();
    Path features2 = out.resolve("features/dt=2024-03-10");
    List<String> featureFiles = files(features2);

    // Rerun day 2 in another JVM and kill it once it has staged its features, mid-run.
    Process child = CliTesting.startChild(List.of("-Xmx1g"), dir.resolve("child.log"), day2);
    Path staging = out.resolve("_staging");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
    boolean staged = false;
    while (!staged && child.isAlive() && System.nanoTime() < deadline) {
      if (Files.isDirectory(staging)) {
        try (Stream<Path> runs = Files.list(staging)) {
          staged = runs.anyMatch(r -> Files.exists(r.resolve("features/_SUCCESS")));
        }
      }
      Thread.sleep(50);
    }
    try {
      assertTrue(staged, "the child run staged its features before being killed; log: "
          + Files.readString(dir.resolve("child.log")).lines().filter(l -> l.contains("ERROR")).toList());
      assertTrue(child.isAlive(), "the child was still running");
    } finally {
      child.destroyForcibly(); // SIGKILL: no shutdown hook, no cleanup
      child.waitFor(30, TimeUnit.SECONDS);
    }
    assertEquals(137, child.exitValue(), "killed by SIGKILL");

    // The published partitions are the complete ones from before, readable by a client.
    assertEquals(featureFiles, files(features2), "day 2's features are the published ones, not the killed run's");
    assertEquals(0, difference(baseline, segments2), "day 2 is still the complete earlier result");
    assertTrue(Files.exists(segments2.resolve("_SUCCESS")));
    assertEquals(300, count("SELECT count(*) FROM " + parquet(segments2)));
    assertTrue(Files.list(staging).findAny().isPresent(), "the killed run left its staging behind");

    // A rerun of the same date completes, cleans up, equals the uninterrupted run, and leaves day 1 alone.
    assertEquals(0, cli(day2));
    assertEquals(0, difference(baseline, segments2), "rerun equals the uninterrupted run");
    try (Stream<Path> left = Files.list(staging)) {
      assertEquals(List.of(), left.toList(), "no staging left");
    }
    assertEquals(day1Modified, Files.getLastModifiedTime(segments1).toMillis(), "day 1 untouched by the rerun");
    for (String table : List.of("features", "segments", "personas", "segment_kpis", "runs", "models")) {
      assertTrue(Files.exists(out.resolve(table).resolve("dt=2024-03-10").resolve("_SUCCESS")),
          table + " has its _SUCCESS marker");
    }
    assertTrue(new File(out.resolve("runs/dt=2024-03-10").toFile(), "report.html").isFile());
  }
}
