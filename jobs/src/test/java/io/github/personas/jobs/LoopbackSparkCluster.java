package io.github.personas.jobs;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A Spark standalone master and workers on 127.0.0.1, started from the Maven jars, for tests.
 *
 * <p>The Spark home is a folder whose {@code jars/} links to the jars listed in
 * {@code target/spark-classpath.txt} (Spark and its dependencies, nothing of ours), so the
 * application jar must really be shipped by spark-submit. Every process started here, and the
 * executors the workers start, is killed by {@link #close()}, also when a test fails.
 */
final class LoopbackSparkCluster implements AutoCloseable {

  private final Path home;
  private final Path logs;
  private final List<String> jvmFlags;
  private final List<ProcessHandle> started = new ArrayList<>();
  private final List<Process> workers = new ArrayList<>();
  private final int port;
  private Process master;

  /**
   * @param dir       scratch folder for the Spark home, work folders and logs
   * @param classpath file with Spark's jars, ':'-separated (target/spark-classpath.txt)
   */
  LoopbackSparkCluster(Path dir, Path classpath) throws IOException {
    this.home = dir.resolve("spark-home");
    this.logs = dir.resolve("logs");
    Files.createDirectories(home.resolve("jars"));
    Files.createDirectories(logs);
    for (String jar : Files.readString(classpath).trim().split(":")) {
      Path p = Path.of(jar);
      Files.createSymbolicLink(home.resolve("jars").resolve(p.getFileName()), p);
    }
    // The launcher that builds executor commands looks for a RELEASE file (a distribution) and
    // SPARK_SCALA_VERSION, else for a source build's target folders.
    Files.writeString(home.resolve("RELEASE"), "Spark from Maven jars, for tests\n");
    this.jvmFlags = List.of(Files.readString(Path.of("../bin/spark-jvm-flags")).trim().split("\\s+"));
    this.port = freePort();
  }

  /** spark://127.0.0.1:port */
  String masterUrl() {
    return "spark://127.0.0.1:" + port;
  }

  /** The log of a process started here, by name (master, worker-1, submit-...). */
  Path log(String name) {
    return logs.resolve(name + ".log");
  }

  /** Starts the master and {@code n} workers with one core each, and waits until all registered. */
  void start(int n, String workerMemory) throws Exception {
    master = java("master", List.of("-Xmx512m"), "org.apache.spark.deploy.master.Master",
        "--host", "127.0.0.1", "--port", String.valueOf(port), "--webui-port", String.valueOf(freePort()));
    waitFor(log("master"), s -> s.contains("I have been elected leader"), Duration.ofSeconds(60), master);
    for (int i = 1; i <= n; i++) {
      Path work = logs.resolve("work-" + i);
      Files.createDirectories(work);
      workers.add(java("worker-" + i, List.of("-Xmx512m"), "org.apache.spark.deploy.worker.Worker",
          "--host", "127.0.0.1", "--cores", "1", "--memory", workerMemory, "--webui-port", String.valueOf(freePort()),
          "--work-dir", work.toString(), masterUrl()));
    }
    waitFor(log("master"), s -> s.split("Registering worker", -1).length - 1 >= n, Duration.ofSeconds(90), master);
  }

  /** The worker processes, in start order. */
  List<Process> workers() {
    return workers;
  }

  /**
   * Starts {@code org.apache.spark.deploy.SparkSubmit} (what the spark-submit script runs).
   *
   * @param name log name
   * @param args spark-submit arguments, from --master on
   */
  Process submit(String name, List<String> args) throws IOException {
    return java(name, List.of("-Xmx1g"), "org.apache.spark.deploy.SparkSubmit", args.toArray(String[]::new));
  }

  /** Kills a worker with SIGKILL, as a lost machine would go; its executors notice and exit. */
  void kill(Process worker) throws InterruptedException {
    worker.descendants().forEach(started::add);
    worker.destroyForcibly();
    worker.waitFor();
  }

  private Process java(String name, List<String> jvmOptions, String mainClass, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    cmd.addAll(jvmFlags);
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", home.resolve("jars") + "/*", mainClass));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log(name).toFile());
    pb.environment().putAll(Map.of("SPARK_HOME", home.toString(), "SPARK_LOCAL_IP", "127.0.0.1",
        "SPARK_SCALA_VERSION", "2.13", "JAVA_HOME", System.getProperty("java.home")));
    Process p = pb.start();
    started.add(p.toHandle());
    return p;
  }

  /** Waits until {@code log} satisfies {@code ready}; fails early when {@code process} dies. */
  static void waitFor(Path log, Predicate<String> ready, Duration timeout, Process process) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      if (Files.exists(log) && ready.test(Files.readString(log))) {
        return;
      }
      if (!process.isAlive()) {
        throw new IllegalStateException(log + ": the process ended (" + process.exitValue() + ") before it was ready:\n"
            + tail(log));
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException(log + " not ready after " + timeout + ":\n" + tail(log));
  }

  static String tail(Path log) throws IOException {
    if (!Files.exists(log)) {
      return "(no log)";
    }
    List<String> lines = Files.readAllLines(log);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    List<ProcessHandle> all = new ArrayList<>();
    for (ProcessHandle p : started) {
      p.descendants().forEach(all::add);
      all.add(p);
    }
    all.forEach(ProcessHandle::destroyForcibly);
    for (ProcessHandle p : all) {
      p.onExit().orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).exceptionally(e -> p).join();
    }
  }
}
