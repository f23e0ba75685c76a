package io.github.personas.jobs;

import static io.github.personas.jobs.CliTesting.cli;
import static io.github.personas.jobs.CliTesting.differingRows;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.personas.pipeline.testing.SparkTestSession;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The thin application jar under spark-submit on a real standalone cluster (a master and two
 * workers on loopback) gives the same segments and personas as a local run, also when a worker
 * is killed in the middle of the run. Runs in {@code verify}, after the jar is packaged.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SparkClusterIT {

  private static final String DATE = "2024-03-10";

  @TempDir
  static Path dir;

  private static LoopbackSparkCluster cluster;
  private static Path jar;
  private static Path conf;
  private static String gen;
  private static Path local;

  @BeforeAll
  static void clusterAndLocalRun() throws Exception {
    try (Stream<Path> jars = Files.list(Path.of("target"))) {
      jar = jars.filter(p -> p.getFileName().toString().matches("personas-jobs-.*-spark\\.jar")).findFirst()
          .orElseThrow(() -> new IllegalStateException("no thin jar in target/: run mvn verify, not test"));
    }
    SparkTestSession.get();
    gen = dir.resolve("gen").toString();
    assertEquals(0, cli("generate", "--users", "300", "--days", "30", "--end-date", DATE, "--seed", "3",
        "--out", gen));
    conf = CliTesting.fewKConfig(dir);
    local = dir.resolve("local");
    assertEquals(0, cli(run(local)));

    cluster = new LoopbackSparkCluster(dir, Path.of("target/spark-classpath.txt"));
    cluster.start(2, "2g");
  }

  @AfterAll
  static void stopEveryProcess() {
    if (cluster != null) {
      cluster.close();
    }
  }

  private static String[] run(Path out) {
    return new String[] {"run", "--config", conf.toString(), "--events", gen + "/events", "--profiles",
        gen + "/profiles", "--date", DATE, "--output", out.toString()};
  }

  private static Process submit(String name, Path out) throws Exception {
    List<String> args = new ArrayList<>(List.of("--master", cluster.masterUrl(),
        "--conf", "spark.executor.memory=1g", "--conf", "spark.ui.enabled=false",
        "--conf", "spark.driver.host=127.0.0.1",
        // Chosen here, so it must win over the CLI's local-mode defaults.
        "--conf", "spark.sql.shuffle.partitions=3",
        "--class", PersonasCli.class.getName(), jar.toAbsolutePath().toString()));
    args.addAll(List.of(run(out)));
    return cluster.submit(name, args);
  }

  private static void assertSucceeded(Process p, String name) throws Exception {
    assertTrue(p.waitFor(8, TimeUnit.MINUTES), "spark-submit finishes: " + LoopbackSparkCluster.tail(cluster.log(name)));
    assertEquals(0, p.exitValue(), LoopbackSparkCluster.tail(cluster.log(name)));
    // The CLI's closing lines (tables, rows, stage seconds), for the build log.
    List<String> lines = Files.readAllLines(cluster.log(name));
    System.out.println(name + ":\n" + String.join("\n", lines.subList(Math.max(0, lines.size() - 16), lines.size())));
  }

  private static void assertSameAsLocal(Path out) throws Exception {
    assertEquals(0, differingRows(local, out, "segments", "*"), "segments differ from the local run");
    assertEquals(0, differingRows(local, out, "personas", CliTesting.PERSONA_COLUMNS), "personas differ");
    assertEquals(300, CliTesting.count("SELECT count(*) FROM read_parquet('" + out + "/segments/*/*.parquet')"));
  }

  @Test
  @Order(1)
  void submittedToTheClusterTheRunEqualsALocalRun() throws Exception {
    Path out = dir.resolve("cluster");
    assertSucceeded(submit("submit-1", out), "submit-1");
    String summary = Files.readString(out.resolve("runs/dt=" + DATE + "/summary.json"));
    assertTrue(summary.contains("\"master\" : \"" + cluster.masterUrl() + "\""), summary);
    assertTrue(summary.contains("\"shuffle_partitions\" : \"3\""), "--conf wins over code: " + summary);
    assertTrue(summary.contains("\"default_parallelism\" : 2"), "both workers' executors: " + summary);
    assertTrue(Files.exists(out.resolve("segments/dt=" + DATE + "/_SUCCESS")));
    assertSameAsLocal(out);
  }

  @Test
  @Order(2)
  void aWorkerKilledDuringTheRunDoesNotChangeTheResult() throws Exception {
    Path out = dir.resolve("cluster-kill");
    Process p = submit("submit-2", out);
    // Killed once validation is done: the validated events cached on its executor are lost.
    LoopbackSparkCluster.waitFor(cluster.log("submit-2"), s -> s.contains("Stage FEATURES for " + DATE + " started"),
        Duration.ofMinutes(4), p);
    cluster.kill(cluster.workers().get(1));
    assertSucceeded(p, "submit-2");
    String log = Files.readString(cluster.log("submit-2"));
    assertTrue(log.contains("Lost executor") || log.contains("Executor lost") || log.contains("removed:"),
        "the driver saw the executor go: " + LoopbackSparkCluster.tail(cluster.log("submit-2")));
    assertSameAsLocal(out);
  }
}
