package io.github.personas.pipeline.run;

import io.github.personas.pipeline.config.ConfigLoader;
import io.github.personas.pipeline.config.PersonasConfig;
import io.github.personas.pipeline.generate.SyntheticData;
import io.github.personas.pipeline.testing.SparkTestSession;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;

/**
 * Generated events and profiles (with repeated and late events) and a configuration with a small
 * k range, for the stage tests: a real run's inputs, small enough for seconds.
 */
final class RunFixture {

  static final LocalDate D = LocalDate.parse("2024-03-10");

  private RunFixture() {}

  /** Writes {@code users} generated users under {@code dir}/events, /profiles and /truth. */
  static Path generate(Path dir, long users) {
    new SyntheticData(users, 30, 7, D).write(SparkTestSession.get(), dir.toString(), 1);
    return dir;
  }

  /**
   * The configuration of a run over {@code data} into {@code out}, with {@code extra} HOCON lines.
   * k is chosen among 3 and 4 only: these tests are not about choosing k.
   */
  static PersonasConfig config(Path data, Path out, String... extra) {
    try {
      Path conf = Files.createTempFile(out.getParent(), "run", ".conf");
      Files.writeString(conf, String.join("\n", "personas.personas.k_min = 3", "personas.personas.k_max = 4",
          String.join("\n", extra)) + "\n");
      return ConfigLoader.load(conf.toFile()).withPaths(data.resolve("events").toString(),
          data.resolve("profiles").toString(), out.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A run's context for {@link #D}, staging its output under the date's lock, which {@code locks}
   * receives to release it.
   */
  static RunContext staged(PersonasConfig config, java.util.List<AutoCloseable> locks) {
    RunContext ctx = RunContext.open(SparkTestSession.get(), config, D);
    io.github.personas.pipeline.io.RunLock lock = ctx.out().lock();
    locks.add(lock);
    ctx.out().beginStaging(lock);
    return ctx;
  }
}
